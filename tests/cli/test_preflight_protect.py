"""`chitty-cicd preflight --protect` on repositories it must leave alone: own CI, empty, archived, forks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import OWN_CI, PYTHON_APP, Remotes
from fake_github import FakeGitHub

from chitty_cicd.cli.main import main


@pytest.fixture
def preflight_cli(
    fake_api: FakeGitHub, template_repo: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    def _run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["preflight", "--api-url", fake_api.url, "--template", str(template_repo), *args])
        return code, capsys.readouterr().out

    return _run


def protection_writes(fake_api: FakeGitHub, repo: str) -> list[str]:
    return [
        f"{call.method} {call.path}"
        for method in ("PUT", "PATCH", "POST")
        for call in fake_api.calls(method, f"^/repos/{repo}/branches/")
    ]


def test_protect_leaves_own_ci_alone(preflight_cli, remotes: Remotes, fake_api: FakeGitHub, tmp_path: Path):
    remotes.add("acme", "own-ci", {**PYTHON_APP, ".github/workflows/ci.yml": OWN_CI})
    remotes.add("acme", "tool", PYTHON_APP)

    code, out = preflight_cli("--org", "acme", "--protect", "--json", str(tmp_path / "preflight.json"))

    assert code == 1  # secrets and Actions settings are still missing
    assert protection_writes(fake_api, "acme/own-ci") == []
    assert "acme/own-ci@main" not in fake_api.protection
    assert "[acme/own-ci] deploy target none; token may push workflows: yes; " in out
    assert 'requires "Build and test": no (own CI)' in out
    assert (
        "[acme/own-ci]   keeps its own CI (.github/workflows/ci.yml), which does not report the "
        '"Build and test" check, so main was left unchanged; require its own check by hand'
    ) in out
    assert "[acme/own-ci]   main does not require" not in out
    assert fake_api.protection["acme/tool@main"]["required_status_checks"]["contexts"] == ["Build and test"]
    report = json.loads((tmp_path / "preflight.json").read_text())
    own = next(r for r in report["repositories"] if r["repo"] == "acme/own-ci")
    assert own["requires_ci_check"] == "no (own CI)"
    assert not any("Build and test" in problem for problem in own["problems"])


def test_own_ci_with_check_required(preflight_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "own-ci", {**PYTHON_APP, ".github/workflows/ci.yml": OWN_CI})
    fake_api.protection["acme/own-ci@main"] = {
        "required_status_checks": {"strict": True, "contexts": ["Build and test"]}
    }

    code, out = preflight_cli("acme/own-ci", "--protect")

    assert code == 1
    assert 'requires "Build and test": yes' in out
    assert "keeps its own CI" not in out
    assert protection_writes(fake_api, "acme/own-ci") == []


def test_protect_skips_empty_archived_and_forks(
    preflight_cli, remotes: Remotes, fake_api: FakeGitHub, tmp_path: Path
):
    remotes.add("acme", "empty", None)
    remotes.add("acme", "old", PYTHON_APP, archived=True)
    remotes.add("acme", "copy", PYTHON_APP, fork=True)
    remotes.add("acme", "tool", PYTHON_APP)

    code, out = preflight_cli("--org", "acme", "--protect", "--json", str(tmp_path / "preflight.json"))

    assert code == 1
    assert "[acme/empty] skipped: empty repository (no commits)" in out
    assert "[acme/old] skipped: archived" in out
    assert "[acme/copy] skipped: fork" in out
    for name in ("empty", "old", "copy"):
        assert protection_writes(fake_api, f"acme/{name}") == []
        assert f"acme/{name}@main" not in fake_api.protection
        assert f"[acme/{name}] deploy target" not in out
    assert "cannot tell which secrets" not in out
    assert fake_api.protection["acme/tool@main"]["required_status_checks"]["contexts"] == ["Build and test"]
    assert out.rstrip().splitlines()[-1] == "0 of 1 repositories are ready."
    report = json.loads((tmp_path / "preflight.json").read_text())
    assert [r["repo"] for r in report["repositories"]] == ["acme/tool"]
    assert {s["repo"]: s["reason"] for s in report["skipped"]} == {
        "acme/empty": "empty repository (no commits)",
        "acme/old": "archived",
        "acme/copy": "fork",
    }
