"""Tests of the Wrangler merge: BEACON_ENDPOINT in vars and the heartbeat Cron Trigger."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import json5
import pytest

from chitty_cicd.beacon.workers import beacon_cron
from chitty_cicd.edits import Plan, apply_plan
from chitty_cicd.errors import ChittyError
from chitty_cicd.merge.wrangler import merge_wrangler_json, merge_wrangler_toml, plan_wrangler

FIXTURES = Path(__file__).parent / "fixtures"
ENDPOINT = "https://beacon.cloudeto.com"
CRON = beacon_cron(300000)
ANSWERS = {
    "project_name": "edge-router",
    "project_type": "node",
    "deploy_target": "cloudflare",
    "package_manager": "npm",
    "beacon_enabled": True,
    "beacon_endpoint": ENDPOINT,
    "beacon_interval_ms": 300000,
    "beacon_entry": "",
}

TOML_FIXTURE_MERGED = """\
#:schema node_modules/wrangler/config-schema.json
name = "edge-router"
main = "src/index.ts"
compatibility_date = "2024-11-06" # bump after testing a newer runtime
compatibility_flags = ["nodejs_compat"]

# Cache for upstream responses
[[kv_namespaces]]
binding = "CACHE"
id = "7f3c1a6e2b9d4c0e8a5f1b2c3d4e5f60"

[observability]
enabled = true

[env.staging]
name = "edge-router-staging"
route = { pattern = "staging.example.com/*", zone_name = "example.com" }

[env.staging.vars]
LOG_LEVEL = "debug" # verbose while testing
BEACON_ENDPOINT = "https://beacon.cloudeto.com"

[env.production]
name = "edge-router-production"

[vars]
BEACON_ENDPOINT = "https://beacon.cloudeto.com"

[triggers]
crons = ["*/5 * * */1 *"]
"""

JSONC_FIXTURE_MERGED = """\
/**
 * Wrangler configuration for the nightly report Worker.
 */
{
\t"$schema": "node_modules/wrangler/config-schema.json",
\t"name": "report-cron",
\t"main": "src/worker.js",
\t"compatibility_date": "2024-12-01",
\t// Shared settings; each environment repeats its own vars.
\t"vars": {
\t\t"REPORT_BUCKET": "reports", // R2 bucket name
\t\t"BEACON_ENDPOINT": "https://beacon.cloudeto.com",
\t},
\t"triggers": {
\t\t"crons": ["0 3 * * *", "*/5 * * */1 *"], // nightly report
\t},
\t"env": {
\t\t"staging": {
\t\t\t"name": "report-cron-staging",
\t\t\t"vars": { "REPORT_BUCKET": "reports-staging", "BEACON_ENDPOINT": "https://beacon.cloudeto.com" },
\t\t},
\t},
}
"""


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def run_step(root: Path, **overrides: object) -> tuple[Plan, list[str]]:
    plan = Plan()
    plan_wrangler(root, {**ANSWERS, **overrides}, plan)
    return plan, apply_plan(root, plan)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_plan_wrangler_toml_fixture(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)

    _, written = run_step(root)

    assert written == ["wrangler.toml"]
    assert (root / "wrangler.toml").read_text() == TOML_FIXTURE_MERGED


def test_plan_wrangler_toml_fixture_parses_as_intended(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)

    run_step(root)

    config = tomllib.loads((root / "wrangler.toml").read_text())
    assert config["vars"] == {"BEACON_ENDPOINT": ENDPOINT}
    assert config["triggers"] == {"crons": [CRON]}
    assert config["env"]["staging"]["vars"] == {"LOG_LEVEL": "debug", "BEACON_ENDPOINT": ENDPOINT}
    assert "vars" not in config["env"]["production"]
    assert config["observability"] == {"enabled": True}
    assert config["kv_namespaces"] == [{"binding": "CACHE", "id": "7f3c1a6e2b9d4c0e8a5f1b2c3d4e5f60"}]


def test_plan_wrangler_jsonc_fixture(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_jsonc", tmp_path)

    _, written = run_step(root)

    assert written == ["wrangler.jsonc"]
    text = (root / "wrangler.jsonc").read_text()
    assert text == JSONC_FIXTURE_MERGED
    config = json5.loads(text)
    assert config["vars"]["BEACON_ENDPOINT"] == ENDPOINT
    assert config["triggers"]["crons"] == ["0 3 * * *", CRON]


@pytest.mark.parametrize("fixture", ["node_worker_toml", "node_worker_jsonc"])
def test_plan_wrangler_second_run_same_bytes(tmp_path: Path, fixture: str) -> None:
    root = copy_fixture(fixture, tmp_path)
    run_step(root)
    first = snapshot(root)

    _, written = run_step(root)

    assert written == []
    assert snapshot(root) == first


def test_merge_wrangler_toml_keeps_existing_endpoint() -> None:
    text = '[vars]\nBEACON_ENDPOINT = "https://beacon.internal" # staging relay\n'

    assert merge_wrangler_toml(text, "wrangler.toml", ENDPOINT, None) == text


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            'name = "w"\nvars = { A = "1" }\n',
            f'name = "w"\nvars = {{ A = "1", BEACON_ENDPOINT = "{ENDPOINT}"}}\n',
            id="inline-table",
        ),
        pytest.param(
            'name = "w"\nvars.A = "1"\n\n[observability]\nenabled = true\n',
            f'name = "w"\nvars.A = "1"\nvars.BEACON_ENDPOINT = "{ENDPOINT}"\n\n'
            "[observability]\nenabled = true\n",
            id="dotted-keys",
        ),
        pytest.param(
            'name = "w"\r\n\r\n[vars]\r\nA = "1"\r\n',
            f'name = "w"\r\n\r\n[vars]\r\nA = "1"\r\nBEACON_ENDPOINT = "{ENDPOINT}"\r\n',
            id="crlf",
        ),
        pytest.param(
            'name = "w"\n[env.prod]\nvars = { A = "1" }\n[env.dev]\nname = "d"\n',
            f'name = "w"\n[env.prod]\nvars = {{ A = "1", BEACON_ENDPOINT = "{ENDPOINT}"}}\n'
            f'[env.dev]\nname = "d"\n\n[vars]\nBEACON_ENDPOINT = "{ENDPOINT}"\n',
            id="environment-inline-vars",
        ),
    ],
)
def test_merge_wrangler_toml_layouts(before: str, after: str) -> None:
    assert merge_wrangler_toml(before, "wrangler.toml", ENDPOINT, None) == after


def test_merge_wrangler_toml_appends_cron_to_own_triggers() -> None:
    text = '[triggers]\ncrons = ["0 3 * * *"] # nightly\n\n[env.staging.triggers]\ncrons = []\n'

    merged = merge_wrangler_toml(text, "wrangler.toml", ENDPOINT, CRON)

    config = tomllib.loads(merged)
    assert config["triggers"]["crons"] == ["0 3 * * *", CRON]
    assert config["env"]["staging"]["triggers"]["crons"] == [CRON]
    assert "# nightly" in merged


def test_merge_wrangler_toml_rejects_vars_string() -> None:
    with pytest.raises(ChittyError, match="vars is a string, not a table") as error:
        merge_wrangler_toml('vars = "x"\n', "wrangler.toml", ENDPOINT, None)

    assert str(error.value).startswith("wrangler.toml: ")


def test_merge_wrangler_json_plain_file() -> None:
    text = '{\n  "name": "w",\n  "main": "src/index.js"\n}\n'

    merged = merge_wrangler_json(text, "wrangler.json", ENDPOINT, CRON)

    assert merged == (
        '{\n  "name": "w",\n  "main": "src/index.js",\n'
        f'  "vars": {{\n    "BEACON_ENDPOINT": "{ENDPOINT}"\n  }},\n'
        f'  "triggers": {{\n    "crons": [\n      "{CRON}"\n    ]\n  }}\n}}\n'
    )
    assert json.loads(merged)["triggers"]["crons"] == [CRON]


def test_merge_wrangler_json_keeps_existing_endpoint() -> None:
    text = '{\n  "vars": { "BEACON_ENDPOINT": "https://relay.example" }\n}\n'

    assert merge_wrangler_json(text, "wrangler.json", ENDPOINT, None) == text


def test_merge_wrangler_json_environment_without_vars_untouched() -> None:
    text = '{\n  "vars": {},\n  "env": {\n    "dev": { "name": "w-dev" }\n  }\n}\n'

    merged = merge_wrangler_json(text, "wrangler.json", ENDPOINT, None)

    assert json.loads(merged)["env"] == {"dev": {"name": "w-dev"}}


def test_plan_wrangler_prefers_wrangler_json(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text('{\n  "name": "w"\n}\n')
    (tmp_path / "wrangler.toml").write_text('name = "w"\n')

    plan, written = run_step(tmp_path, project_type="python")

    assert written == ["wrangler.json"]
    assert (tmp_path / "wrangler.toml").read_text() == 'name = "w"\n'
    assert any("ignores wrangler.toml" in note for note in plan.notes)


def test_plan_wrangler_python_project_no_cron(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "w"\nmain = "src/entry.py"\n')

    run_step(tmp_path, project_type="python")

    config = tomllib.loads((tmp_path / "wrangler.toml").read_text())
    assert config["vars"] == {"BEACON_ENDPOINT": ENDPOINT}
    assert "triggers" not in config


def test_plan_wrangler_next_app_no_cron(tmp_path: Path) -> None:
    root = copy_fixture("node_next_app", tmp_path)
    (root / "wrangler.jsonc").write_text('{\n  "main": ".open-next/worker.js"\n}\n')

    run_step(root)

    config = json5.loads((root / "wrangler.jsonc").read_text())
    assert config["vars"] == {"BEACON_ENDPOINT": ENDPOINT}
    assert "triggers" not in config


def test_plan_wrangler_missing_config_notes(tmp_path: Path) -> None:
    plan, written = run_step(tmp_path)

    assert written == []
    assert any("wrangler.toml found" in note for note in plan.notes)


@pytest.mark.parametrize(
    "overrides",
    [{"deploy_target": "vercel"}, {"beacon_enabled": False}],
    ids=["vercel-target", "beacon-disabled"],
)
def test_plan_wrangler_skipped(tmp_path: Path, overrides: dict[str, object]) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)
    before = snapshot(root)

    run_step(root, **overrides)

    assert snapshot(root) == before


def test_plan_wrangler_malformed_toml_changes_nothing(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)
    text = (root / "wrangler.toml").read_text().replace("enabled = true", "enabled = ")
    (root / "wrangler.toml").write_text(text)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_step(root)

    assert str(error.value).startswith("wrangler.toml:13: invalid TOML at line 13")
    assert str(error.value).endswith("fix the file and run again")
    assert snapshot(root) == before


def test_plan_wrangler_malformed_jsonc_changes_nothing(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_jsonc", tmp_path)
    text = (root / "wrangler.jsonc").read_text().replace('"name": "report-cron",', '"name" "report-cron",')
    (root / "wrangler.jsonc").write_text(text)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_step(root)

    assert str(error.value).startswith("wrangler.jsonc:6: invalid JSONC at line 6, column 9")
    assert error.value.line == 6
    assert snapshot(root) == before
