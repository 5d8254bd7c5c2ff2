"""Tests of the package.json merge: the beacon dependency added with the file's own layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chitty_cicd.beacon.node_project import BEACON_PACKAGE, BEACON_VERSION_RANGE
from chitty_cicd.edits import Plan, apply_plan
from chitty_cicd.errors import ChittyError
from chitty_cicd.merge.package_json import add_beacon_dependency, plan_package_json

FIXTURES = Path(__file__).parent / "fixtures"
DEPENDENCY = f'"{BEACON_PACKAGE}": "{BEACON_VERSION_RANGE}"'
ANSWERS = {
    "project_name": "orders-api",
    "project_type": "node",
    "deploy_target": "none",
    "package_manager": "npm",
    "beacon_enabled": True,
    "beacon_endpoint": "https://beacon.cloudeto.com",
    "beacon_interval_ms": 300000,
    "beacon_entry": "",
}


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def run_step(root: Path, **overrides: object) -> tuple[Plan, list[str]]:
    plan = Plan()
    plan_package_json(root, {**ANSWERS, **overrides}, plan)
    return plan, apply_plan(root, plan)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '{\n  "name": "a",\n  "dependencies": {\n    "express": "^4.18.2"\n  }\n}\n',
            '{\n  "name": "a",\n  "dependencies": {\n    "express": "^4.18.2",\n'
            f"    {DEPENDENCY}\n  }}\n}}\n",
            id="two-spaces",
        ),
        pytest.param(
            '{\n    "name": "a",\n    "dependencies": {\n        "express": "^4.18.2"\n    }\n}',
            '{\n    "name": "a",\n    "dependencies": {\n        "express": "^4.18.2",\n'
            f"        {DEPENDENCY}\n    }}\n}}",
            id="four-spaces-no-final-newline",
        ),
        pytest.param(
            '{\n\t"name": "a",\n\t"dependencies": {\n\t\t"express": "^4.18.2"\n\t}\n}\n',
            '{\n\t"name": "a",\n\t"dependencies": {\n\t\t"express": "^4.18.2",\n'
            f"\t\t{DEPENDENCY}\n\t}}\n}}\n",
            id="tabs",
        ),
        pytest.param(
            '{\r\n  "name": "a",\r\n  "dependencies": {\r\n    "express": "^4.18.2"\r\n  }\r\n}\r\n',
            '{\r\n  "name": "a",\r\n  "dependencies": {\r\n    "express": "^4.18.2",\r\n'
            f"    {DEPENDENCY}\r\n  }}\r\n}}\r\n",
            id="crlf",
        ),
        pytest.param(
            '{\n  "name": "a",\n  "dependencies": {}\n}\n',
            f'{{\n  "name": "a",\n  "dependencies": {{\n    {DEPENDENCY}\n  }}\n}}\n',
            id="empty-dependencies",
        ),
        pytest.param(
            '{\n  "name": "a",\n  "scripts": {\n    "start": "node index.js"\n  }\n}\n',
            '{\n  "name": "a",\n  "scripts": {\n    "start": "node index.js"\n  },\n'
            f'  "dependencies": {{\n    {DEPENDENCY}\n  }}\n}}\n',
            id="missing-dependencies-added-last",
        ),
        pytest.param(
            '{"name":"a","dependencies":{"express":"4"}}',
            f'{{"name":"a","dependencies":{{"express":"4","{BEACON_PACKAGE}":"{BEACON_VERSION_RANGE}"}}}}',
            id="compact-one-line",
        ),
        pytest.param(
            '\ufeff{\n  "name": "a"\n}\n',
            f'\ufeff{{\n  "name": "a",\n  "dependencies": {{\n    {DEPENDENCY}\n  }}\n}}\n',
            id="byte-order-mark",
        ),
    ],
)
def test_add_beacon_dependency_keeps_layout(before: str, after: str) -> None:
    assert add_beacon_dependency(before) == after


@pytest.mark.parametrize("field", ["dependencies", "devDependencies", "optionalDependencies"])
def test_add_beacon_dependency_keeps_declared_version(field: str) -> None:
    text = f'{{\n  "name": "a",\n  "{field}": {{\n    "{BEACON_PACKAGE}": "1.2.0"\n  }}\n}}\n'

    assert add_beacon_dependency(text) == text


def test_add_beacon_dependency_rejects_dependencies_array() -> None:
    with pytest.raises(ChittyError) as error:
        add_beacon_dependency('{\n  "dependencies": ["express"]\n}\n')

    assert str(error.value).startswith("package.json: ")
    assert '"dependencies" is an array, not an object' in str(error.value)


def test_add_beacon_dependency_rejects_null_dependencies() -> None:
    with pytest.raises(ChittyError, match='"dependencies" is null, not an object'):
        add_beacon_dependency('{\n  "dependencies": null\n}\n')


def test_add_beacon_dependency_rejects_top_level_array() -> None:
    with pytest.raises(ChittyError, match="top level"):
        add_beacon_dependency("[]\n")


def test_plan_package_json_express_fixture(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    before = (root / "package.json").read_text()

    plan, written = run_step(root)

    assert written == ["package.json"]
    expected = before.replace(
        '    "morgan": "~1.9.1"\n  },',
        f'    "morgan": "~1.9.1",\n    {DEPENDENCY}\n  }},',
    )
    assert (root / "package.json").read_text() == expected
    assert any("run `npm install`" in note for note in plan.notes)


def test_plan_package_json_esm_fixture_keeps_missing_newline(tmp_path: Path) -> None:
    root = copy_fixture("node_esm_module", tmp_path)
    before = (root / "package.json").read_text()

    run_step(root, package_manager="pnpm")

    after = (root / "package.json").read_text()
    assert after == before.replace(
        '"express": "^4.21.1"\n    }\n}',
        f'"express": "^4.21.1",\n        {DEPENDENCY}\n    }}\n}}',
    )
    assert not after.endswith("\n")


def test_plan_package_json_second_run_same_bytes(tmp_path: Path) -> None:
    root = copy_fixture("node_ts_dist", tmp_path)
    run_step(root)
    first = snapshot(root)

    plan, written = run_step(root)

    assert written == []
    assert plan.writes == {}
    assert snapshot(root) == first


def test_plan_package_json_notes_dev_dependency(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(
        f'{{\n  "private": true,\n  "devDependencies": {{\n    "{BEACON_PACKAGE}": "^1.0.0"\n  }}\n}}\n'
    )
    (tmp_path / "index.js").write_text("require('http');\n")

    plan, written = run_step(tmp_path)

    assert written == []
    assert any("devDependencies" in note and "move it" in note for note in plan.notes)


@pytest.mark.parametrize(
    "overrides",
    [{"project_type": "python"}, {"beacon_enabled": False}],
    ids=["python-project", "beacon-disabled"],
)
def test_plan_package_json_skipped(tmp_path: Path, overrides: dict[str, object]) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    before = snapshot(root)

    plan, written = run_step(root, **overrides)

    assert written == []
    assert plan.notes == []
    assert snapshot(root) == before


def test_plan_package_json_worker_not_added(tmp_path: Path) -> None:
    root = copy_fixture("node_worker_toml", tmp_path)
    before = snapshot(root)

    plan, written = run_step(root, deploy_target="cloudflare")

    assert written == []
    assert snapshot(root) == before
    assert any("not added for a Cloudflare Worker" in note for note in plan.notes)


@pytest.mark.parametrize("fixture", ["node_library", "node_monorepo_turbo"])
def test_plan_package_json_undetected_entry_not_added(tmp_path: Path, fixture: str) -> None:
    root = copy_fixture(fixture, tmp_path)
    before = snapshot(root)

    plan, written = run_step(root)

    assert written == []
    assert plan.notes == []
    assert snapshot(root) == before


def test_plan_package_json_next_on_cloudflare_added(tmp_path: Path) -> None:
    root = copy_fixture("node_next_app", tmp_path)

    run_step(root, deploy_target="cloudflare")

    assert DEPENDENCY in (root / "package.json").read_text()


def test_plan_package_json_workspace_package(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{\n  "private": true,\n  "workspaces": ["apps/*"]\n}\n')
    (tmp_path / "apps" / "api" / "src").mkdir(parents=True)
    (tmp_path / "apps" / "api" / "package.json").write_text('{\n  "name": "api"\n}\n')
    (tmp_path / "apps" / "api" / "src" / "index.js").write_text("require('http');\n")

    plan, written = run_step(tmp_path, beacon_entry="apps/api/src/index.js")

    assert written == ["apps/api/package.json"]
    assert (tmp_path / "apps" / "api" / "package.json").read_text() == (
        f'{{\n  "name": "api",\n  "dependencies": {{\n    {DEPENDENCY}\n  }}\n}}\n'
    )
    assert (tmp_path / "package.json").read_text() == '{\n  "private": true,\n  "workspaces": ["apps/*"]\n}\n'
    assert any("to apps/api/package.json" in note for note in plan.notes)


def test_plan_package_json_missing_file(tmp_path: Path) -> None:
    (tmp_path / "server.js").write_text("require('http');\n")

    with pytest.raises(ChittyError) as error:
        run_step(tmp_path, beacon_entry="server.js")

    assert str(error.value).startswith("package.json: not found")
    assert "beacon_enabled" in str(error.value)


def test_plan_package_json_malformed_changes_nothing(tmp_path: Path) -> None:
    root = copy_fixture("node_express_cjs", tmp_path)
    text = (root / "package.json").read_text().replace('"debug": "~2.6.9",', '"debug": "~2.6.9"')
    (root / "package.json").write_text(text)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_step(root)

    message = str(error.value)
    assert message.startswith("package.json:12: invalid JSON at line 12, column 5")
    assert message.endswith("fix the JSON and run again")
    assert error.value.line == 12
    assert snapshot(root) == before
