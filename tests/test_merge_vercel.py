"""Tests of the vercel.json merge: env.BEACON_ENDPOINT as a plain value, file never created."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chitty_cicd.edits import Plan, apply_plan
from chitty_cicd.errors import ChittyError
from chitty_cicd.merge.vercel import merge_vercel_json, plan_vercel

FIXTURES = Path(__file__).parent / "fixtures"
ENDPOINT = "https://beacon.cloudeto.com"
ANSWERS = {
    "project_name": "status-page",
    "project_type": "node",
    "deploy_target": "vercel",
    "package_manager": "npm",
    "beacon_enabled": True,
    "beacon_endpoint": ENDPOINT,
    "beacon_interval_ms": 300000,
    "beacon_entry": "",
}

FIXTURE_MERGED = """\
{
  "$schema": "https://openapi.vercel.sh/vercel.json",
  "regions": ["iad1"],
  "rewrites": [{ "source": "/(.*)", "destination": "/api" }],
  "headers": [
    {
      "source": "/(.*)",
      "headers": [{ "key": "X-Frame-Options", "value": "DENY" }]
    }
  ],
  "env": {
    "BEACON_ENDPOINT": "https://beacon.cloudeto.com"
  }
}
"""


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def run_step(root: Path, **overrides: object) -> tuple[Plan, list[str]]:
    plan = Plan()
    plan_vercel(root, {**ANSWERS, **overrides}, plan)
    return plan, apply_plan(root, plan)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_plan_vercel_fixture(tmp_path: Path) -> None:
    root = copy_fixture("node_vercel", tmp_path)

    _, written = run_step(root)

    assert written == ["vercel.json"]
    assert (root / "vercel.json").read_text() == FIXTURE_MERGED


def test_plan_vercel_second_run_same_bytes(tmp_path: Path) -> None:
    root = copy_fixture("node_vercel", tmp_path)
    run_step(root)
    first = snapshot(root)

    _, written = run_step(root)

    assert written == []
    assert snapshot(root) == first


def test_merge_vercel_json_appends_to_env() -> None:
    text = '{\n\t"env": {\n\t\t"API_URL": "https://api.example"\n\t}\n}'

    merged, current = merge_vercel_json(text, ENDPOINT)

    assert merged == (
        '{\n\t"env": {\n\t\t"API_URL": "https://api.example",\n'
        f'\t\t"BEACON_ENDPOINT": "{ENDPOINT}"\n\t}}\n}}'
    )
    assert current is None


def test_merge_vercel_json_keeps_existing_value() -> None:
    text = '{\r\n  "env": { "BEACON_ENDPOINT": "https://relay.example" }\r\n}\r\n'

    assert merge_vercel_json(text, ENDPOINT) == (text, "https://relay.example")


def test_plan_vercel_notes_secret_reference(tmp_path: Path) -> None:
    text = '{\n  "env": {\n    "BEACON_ENDPOINT": "@beacon-endpoint"\n  }\n}\n'
    (tmp_path / "vercel.json").write_text(text)

    plan, written = run_step(tmp_path)

    assert written == []
    assert (tmp_path / "vercel.json").read_text() == text
    assert any("'@beacon-endpoint'" in note and "retired" in note for note in plan.notes)


def test_plan_vercel_never_creates_file(tmp_path: Path) -> None:
    plan, written = run_step(tmp_path)

    assert written == []
    assert not (tmp_path / "vercel.json").exists()
    assert any("vercel env add BEACON_ENDPOINT" in note for note in plan.notes)


@pytest.mark.parametrize(
    "overrides",
    [{"deploy_target": "cloudflare"}, {"beacon_enabled": False}],
    ids=["cloudflare-target", "beacon-disabled"],
)
def test_plan_vercel_skipped(tmp_path: Path, overrides: dict[str, object]) -> None:
    root = copy_fixture("node_vercel", tmp_path)
    before = snapshot(root)

    plan, written = run_step(root, **overrides)

    assert written == []
    assert plan.notes == []
    assert snapshot(root) == before


def test_plan_vercel_python_project_merged(tmp_path: Path) -> None:
    (tmp_path / "vercel.json").write_text("{}\n")

    run_step(tmp_path, project_type="python")

    assert (tmp_path / "vercel.json").read_text() == (
        f'{{\n  "env": {{\n    "BEACON_ENDPOINT": "{ENDPOINT}"\n  }}\n}}\n'
    )


def test_merge_vercel_json_rejects_env_array() -> None:
    with pytest.raises(ChittyError, match='"env" is an array, not an object') as error:
        merge_vercel_json('{"env": []}', ENDPOINT)

    assert str(error.value).startswith("vercel.json: ")


def test_merge_vercel_json_rejects_env_null() -> None:
    with pytest.raises(ChittyError, match='"env" is null, not an object'):
        merge_vercel_json('{"env": null}', ENDPOINT)


def test_plan_vercel_malformed_changes_nothing(tmp_path: Path) -> None:
    root = copy_fixture("node_vercel", tmp_path)
    text = (root / "vercel.json").read_text().replace('"regions": ["iad1"],', '"regions": ["iad1"],,')
    (root / "vercel.json").write_text(text)
    before = snapshot(root)

    with pytest.raises(ChittyError) as error:
        run_step(root)

    assert str(error.value).startswith("vercel.json:3: invalid JSON at line 3, column 23")
    assert error.value.line == 3
    assert snapshot(root) == before


def test_plan_vercel_comment_is_malformed(tmp_path: Path) -> None:
    (tmp_path / "vercel.json").write_text('{\n  // regions\n  "regions": ["iad1"]\n}\n')

    with pytest.raises(ChittyError, match=r"vercel\.json:2: invalid JSON at line 2"):
        run_step(tmp_path)
