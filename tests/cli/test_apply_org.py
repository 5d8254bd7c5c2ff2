"""`chitty-cicd apply --org` against local bare repositories and the fake GitHub API."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import NODE_APP, OWN_CI, PYTHON_APP, Remotes
from fake_github import TOKEN, FakeGitHub


def test_apply_org_opens_pull_requests(apply_cli, remotes: Remotes, fake_api: FakeGitHub, tmp_path: Path):
    remotes.add("acme", "web", NODE_APP)
    remotes.add("acme", "tool", PYTHON_APP)
    remotes.add("acme", "site", {**NODE_APP, ".github/workflows/ci.yml": OWN_CI})

    code, out = apply_cli("--org", "acme", "--json", str(tmp_path / "report.json"))

    assert code == 0, out
    assert out.splitlines()[0].startswith("Running on 3 repositories with template ")
    assert out.rstrip().splitlines()[-1] == "CI/CD setup complete!"
    for name in ("web", "tool", "site"):
        assert f"[acme/{name}] pull request opened: https://github.test/acme/{name}/pull/" in out
        assert remotes.branches("acme", name) == ["ci/initial-setup", "main"]
        assert remotes.subject("acme", name, "ci/initial-setup") == (
            "ci: add CI/CD workflows and ChittyBeacon integration"
        )
        pulls = fake_api.open_pulls(f"acme/{name}")
        assert len(pulls) == 1
        assert pulls[0]["title"] == "Add CI/CD Workflows"
        assert pulls[0]["head"]["ref"] == "ci/initial-setup"
        assert pulls[0]["base"]["ref"] == "main"


def test_apply_pull_request_body(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "site", {**NODE_APP, ".github/workflows/ci.yml": OWN_CI})

    code, out = apply_cli("--org", "acme")

    assert code == 0, out
    body = fake_api.open_pulls("acme/site")[0]["body"]
    assert "### Files\n" in body
    assert "- added `.copier-answers.yml`" in body
    assert "- changed `package.json`" in body
    assert "| `project_type` | `node` |" in body
    assert "| `github_org` | `acme` |" in body
    assert "@acme/DevOps-team" in remotes.show("acme", "site", "ci/initial-setup", ".github/CODEOWNERS")
    assert "### Files kept as the repository's own\n- `.github/workflows/ci.yml`\n" in body
    assert body.endswith(
        "### Review checklist (SOP-001 step 4.2)\n"
        "- [ ] Correct workflow files added\n"
        "- [ ] ChittyBeacon dependency included\n"
        "- [ ] No unintended changes\n"
        "\nOpened by `chitty-cicd apply`.\n"
    )
    assert remotes.show("acme", "site", "ci/initial-setup", ".github/workflows/ci.yml") == OWN_CI


def test_apply_skips_archived_forks_and_empty(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", NODE_APP)
    remotes.add("acme", "old", NODE_APP, archived=True)
    remotes.add("acme", "copy", NODE_APP, fork=True)
    remotes.add("acme", "blank", None)

    code, out = apply_cli("--org", "acme")

    assert code == 0, out
    assert "[acme/old] skipped: archived" in out
    assert "[acme/copy] skipped: fork" in out
    assert "[acme/blank] skipped: empty repository (no commits)" in out
    assert "Skipped (3):" in out
    assert [c.path for c in fake_api.calls("POST")] == ["/repos/acme/web/pulls"]


def test_apply_failures_leave_other_repositories_succeeding(
    apply_cli, remotes: Remotes, fake_api: FakeGitHub, tmp_path: Path
):
    remotes.add("acme", "web", NODE_APP)
    remotes.add("acme", "frozen", NODE_APP, reject_push=True)
    remotes.add("acme", "broken", {**NODE_APP, "package.json": '{"name": "broken",\n'})
    fake_api.add_repo("acme", "gone", (tmp_path / "missing.git").as_uri())
    remotes.add("acme", "tool", PYTHON_APP)

    code, out = apply_cli("--org", "acme", "--json", str(tmp_path / "report.json"))

    assert code == 1
    assert "[acme/frozen] failed: push to ci/initial-setup was rejected: " in out
    assert "pushes are frozen for this repository" in out
    assert "[acme/gone] failed: git clone failed: fatal: " in out
    assert "[acme/broken] failed: " in out
    broken_reason = out.split("[acme/broken] failed: ")[1].splitlines()[0]
    assert broken_reason.startswith("package.json:2: invalid JSON")
    assert "Validation error" not in broken_reason
    assert "[acme/web] pull request opened" in out
    assert "[acme/tool] pull request opened" in out
    assert "Failed (3):" in out
    assert "CI/CD setup complete!" not in out
    assert out.rstrip().splitlines()[-1] == (
        "CI/CD setup failed for 3 repositories; fix the reasons above and run again with --only-failed."
    )
    assert remotes.branches("acme", "frozen") == ["main"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"] == {"failed": 3, "pr_opened": 2}


def test_apply_json_report_never_contains_token(apply_cli, remotes: Remotes, tmp_path: Path):
    remotes.add("acme", "web", NODE_APP)
    remotes.add("acme", "frozen", NODE_APP, reject_push=True)

    code, out = apply_cli("--org", "acme", "--json", str(tmp_path / "report.json"))

    assert code == 1
    assert TOKEN not in out
    assert TOKEN not in (tmp_path / "report.json").read_text()
    assert TOKEN not in (tmp_path / "ledger.jsonl").read_text()
