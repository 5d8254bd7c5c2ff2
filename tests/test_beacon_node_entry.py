"""Tests of detect_node_entry: where the beacon belongs in Express, Next.js and Workers repos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chitty_cicd.beacon.node_entry import detect_node_entry

FIXTURES = Path(__file__).parent / "fixtures"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def write_files(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def package(**fields: object) -> str:
    """Return an application's package.json, with "private": true unless fields override it."""
    return json.dumps({"name": "app", "version": "1.0.0", "private": True, **fields}, indent=2) + "\n"


@pytest.mark.parametrize(
    ("fixture", "deploy_target", "expected"),
    [
        ("node_express_cjs", "none", "bin/www"),
        ("node_esm_module", "none", "src/server.js"),
        ("node_ts_dist", "none", "src/index.ts"),
        ("node_vercel", "vercel", "api/index.js"),
        ("node_next_app", "vercel", "instrumentation.ts"),
        ("node_next_app", "cloudflare", "instrumentation.ts"),
        ("node_next_pages_src", "none", "src/instrumentation.js"),
        ("node_next_instrumentation", "none", "src/instrumentation.ts"),
        ("node_worker_toml", "cloudflare", "src/index.ts"),
        ("node_worker_jsonc", "cloudflare", "src/worker.js"),
    ],
)
def test_detect_node_entry_fixtures(tmp_path: Path, fixture: str, deploy_target: str, expected: str) -> None:
    root = copy_fixture(fixture, tmp_path)

    detection = detect_node_entry(root, deploy_target)

    assert detection.value == expected, detection.reason


def test_detect_node_entry_library_fixture(tmp_path: Path) -> None:
    root = copy_fixture("node_library", tmp_path)

    detection = detect_node_entry(root, "none")

    assert detection.value is None
    assert detection.reason.startswith("package.json looks like a library")
    assert "set beacon_entry to the file that starts it" in detection.reason


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"main": "index.js"}, id="main-only"),
        pytest.param({"main": "index.js", "bin": {"tool": "cli.js"}}, id="command-line-package"),
        pytest.param({"main": "dist/index.js", "scripts": {"start": "tsdx watch"}}, id="watch-build"),
        pytest.param({"main": "index.js", "scripts": {"dev": "tsup --watch"}}, id="dev-build"),
        pytest.param({"main": "index.js", "private": False}, id="private-false"),
    ],
)
def test_detect_node_entry_library_skipped(tmp_path: Path, fields: dict[str, object]) -> None:
    write_files(
        tmp_path,
        {
            "package.json": json.dumps({"name": "lib", "version": "1.0.0", **fields}),
            "index.js": "\n",
            "src/index.ts": "\n",
        },
    )

    detection = detect_node_entry(tmp_path, "none")

    assert detection.value is None
    assert detection.reason.startswith("package.json looks like a library")


@pytest.mark.parametrize(
    ("fields", "deploy_target"),
    [
        pytest.param({"private": True}, "none", id="private"),
        pytest.param({"scripts": {"dev": "nodemon --watch lib index.js"}}, "none", id="dev-runs-nodemon"),
        pytest.param({"scripts": {"serve": "cross-env PORT=80 node ."}}, "none", id="serve-runs-node"),
        pytest.param({"scripts": {"start": "tsx watch index.js"}}, "none", id="start-runs-tsx-watch"),
        pytest.param({}, "vercel", id="deploy-target"),
    ],
)
def test_detect_node_entry_application_signals(
    tmp_path: Path, fields: dict[str, object], deploy_target: str
) -> None:
    write_files(
        tmp_path,
        {"package.json": json.dumps({"name": "app", "main": "index.js", **fields}), "index.js": "\n"},
    )

    assert detect_node_entry(tmp_path, deploy_target).value == "index.js"


@pytest.mark.parametrize(
    ("start", "expected"),
    [("bun run src/main.ts", "src/main.ts"), ("tsx watch --clear-screen=false src/main.ts", "src/main.ts")],
)
def test_detect_node_entry_start_subcommand(tmp_path: Path, start: str, expected: str) -> None:
    write_files(tmp_path, {"package.json": package(scripts={"start": start}), "src/main.ts": "\n"})

    assert detect_node_entry(tmp_path, "none").value == expected


def test_detect_node_entry_library_start_script_used(tmp_path: Path) -> None:
    # A library's start script runs an app of its own (axios runs a sandbox server).
    write_files(
        tmp_path,
        {
            "package.json": json.dumps(
                {"name": "lib", "main": "index.js", "scripts": {"start": "node sandbox/server.js"}}
            ),
            "index.js": "\n",
            "sandbox/server.js": "\n",
        },
    )

    assert detect_node_entry(tmp_path, "none").value == "sandbox/server.js"


def test_detect_node_entry_pnpm_monorepo(tmp_path: Path) -> None:
    root = copy_fixture("node_monorepo_turbo", tmp_path)

    detection = detect_node_entry(root, "none")

    assert detection.value is None
    assert detection.reason.startswith("pnpm-workspace.yaml declares workspaces")
    assert "set beacon_entry to the entry file of the app that should report" in detection.reason


def test_detect_node_entry_npm_workspaces_root(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"package.json": package(workspaces=["apps/*"]), "index.js": "\n", "apps/api/index.js": "\n"},
    )

    detection = detect_node_entry(tmp_path, "none")

    assert detection.value is None
    assert detection.reason.startswith("package.json declares workspaces")


def test_detect_node_entry_skips_existing_build_output(tmp_path: Path) -> None:
    root = copy_fixture("node_ts_dist", tmp_path)
    write_files(root, {"dist/index.js": '"use strict";\nrequire("fastify");\n'})

    detection = detect_node_entry(root, "none")

    assert detection.value == "src/index.ts"


def test_detect_node_entry_uses_tsconfig_root_dir(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": package(main="build/server.js"),
            "tsconfig.json": '{\n  // output\n  "compilerOptions": { "outDir": "build", "rootDir": "app" }\n}\n',
            "app/server.ts": "export {};\n",
            "src/server.ts": "export {};\n",
        },
    )

    assert detect_node_entry(tmp_path, "none").value == "app/server.ts"


def test_detect_node_entry_maps_mjs_output(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"package.json": package(main="dist/main.mjs"), "src/main.mts": "export {};\n"},
    )

    assert detect_node_entry(tmp_path, "none").value == "src/main.mts"


def test_detect_node_entry_build_output_without_source(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": package(main="dist/index.js")})

    detection = detect_node_entry(tmp_path, "none")

    assert detection.value is None
    assert "dist/index.js is build output and no source file for it was found" in detection.reason
    assert "set beacon_entry" in detection.reason


def test_detect_node_entry_lib_is_source(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": package(main="lib/index.js"), "lib/index.js": "\n"})

    assert detect_node_entry(tmp_path, "none").value == "lib/index.js"


def test_detect_node_entry_npm_init_main_missing(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": package(main="index.js"), "server.js": "\n"})

    assert detect_node_entry(tmp_path, "none").value == "server.js"


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("node server.js", "server.js"),
        ("NODE_ENV=production node --require dotenv/config ./src/app.js", "src/app.js"),
        ("cross-env PORT=8080 node -r ./tracing.js server", "server.js"),
        ("tsx src/main.ts", "src/main.ts"),
        ("npm run build && node dist/main.js", "src/main.ts"),
        ("node --enable-source-maps dist/main", "src/main.ts"),
        ("nodemon --watch src src/app.js", "src/app.js"),
    ],
)
def test_detect_node_entry_start_script(tmp_path: Path, start: str, expected: str) -> None:
    write_files(
        tmp_path,
        {
            "package.json": package(scripts={"start": start}),
            "server.js": "\n",
            "src/app.js": "\n",
            "src/main.ts": "\n",
            "tracing.js": "\n",
        },
    )

    assert detect_node_entry(tmp_path, "none").value == expected


def test_detect_node_entry_start_script_wins_over_main(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": package(main="index.js", scripts={"start": "node server.js"}),
            "index.js": "\n",
            "server.js": "\n",
        },
    )

    assert detect_node_entry(tmp_path, "none").value == "server.js"


def test_detect_node_entry_ambiguous_conventional_files(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": package(), "app.js": "\n", "server.js": "\n"})

    detection = detect_node_entry(tmp_path, "none")

    assert detection.value is None
    assert "several entry files found (app.js, server.js)" in detection.reason
    assert "set beacon_entry" in detection.reason


def test_detect_node_entry_no_candidates(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": package(scripts={"start": "react-scripts start"})})

    detection = detect_node_entry(tmp_path, "none")

    assert detection.value is None
    assert "none of index.js, app.js or server.js" in detection.reason


def test_detect_node_entry_no_package_json(tmp_path: Path) -> None:
    write_files(tmp_path, {"index.js": "\n"})

    detection = detect_node_entry(tmp_path, "none")

    assert detection.value is None
    assert detection.reason.startswith("package.json not found")


def test_detect_node_entry_malformed_package_json(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": '{\n  "name": "a",\n}\n'})

    detection = detect_node_entry(tmp_path, "none")

    assert detection.value is None
    assert detection.reason.startswith("package.json:3: invalid JSON at line 3")
    assert detection.reason.endswith("set beacon_entry to the file that starts the application")


def test_detect_node_entry_root_app_beats_src(tmp_path: Path) -> None:
    root = copy_fixture("node_next_instrumentation", tmp_path)
    write_files(root, {"app/page.tsx": "export default function P() { return null; }\n"})

    assert detect_node_entry(root, "none").value == "instrumentation.ts"


def test_detect_node_entry_worker_prefers_wrangler_json(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)
    write_files(root, {"wrangler.json": '{ "main": "src/other.ts" }\n', "src/other.ts": "\n"})

    assert detect_node_entry(root, "cloudflare").value == "src/other.ts"


def test_detect_node_entry_worker_without_main(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"package.json": package(), "wrangler.toml": 'name = "site"\npages_build_output_dir = "dist"\n'},
    )

    detection = detect_node_entry(tmp_path, "cloudflare")

    assert detection.value is None
    assert 'wrangler.toml has no "main"' in detection.reason


def test_detect_node_entry_worker_without_config(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": package(), "src/index.ts": "\n"})

    detection = detect_node_entry(tmp_path, "cloudflare")

    assert detection.value is None
    assert "none of wrangler.json, wrangler.jsonc, wrangler.toml found" in detection.reason


def test_detect_node_entry_worker_malformed_toml(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": package(), "wrangler.toml": 'name = "w"\nmain =\n'})

    detection = detect_node_entry(tmp_path, "cloudflare")

    assert detection.value is None
    assert detection.reason.startswith("wrangler.toml:2: invalid TOML at line 2")


def test_detect_node_entry_symlink_out_of_repository(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"server.js": "\n"})
    root = write_files(tmp_path / "repo", {"package.json": package(main="server.js")})
    (root / "server.js").symlink_to(outside / "server.js")

    detection = detect_node_entry(root, "none")

    assert detection.value is None
    assert detection.reason.startswith("server.js: points outside the repository")
