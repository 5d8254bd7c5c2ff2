"""Re-runs of `chitty-cicd apply`: nothing new twice, resuming, retries, refreshes and updates."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from cli_support import PYTHON_APP, Remotes, release_template
from fake_github import FakeGitHub

from chitty_cicd.cli import pipeline
from chitty_cicd.cli import publish as publish_module


def pull_creations(fake_api: FakeGitHub) -> list[str]:
    return [call.path for call in fake_api.calls("POST", "/pulls$")]


def test_apply_second_run_does_nothing_new(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", PYTHON_APP)
    remotes.add("acme", "tool", PYTHON_APP)
    first_code, _ = apply_cli("--org", "acme")
    tips = {name: remotes.rev("acme", name, "ci/initial-setup") for name in ("web", "tool")}

    code, out = apply_cli("--org", "acme")

    assert first_code == 0
    assert code == 0, out
    assert "[acme/web] done in an earlier run: https://github.test/acme/web/pull/" in out
    assert "Done in an earlier run (2):" in out
    assert len(pull_creations(fake_api)) == 2
    assert {name: remotes.rev("acme", name, "ci/initial-setup") for name in tips} == tips


def test_apply_second_run_without_ledger_skips_open_pulls(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", PYTHON_APP)
    apply_cli("--org", "acme")
    tip = remotes.rev("acme", "web", "ci/initial-setup")

    code, out = apply_cli("--org", "acme", "--no-ledger")

    assert code == 0, out
    assert (
        "[acme/web] skipped: open pull request #1 already exists; pass --update-existing to refresh it" in out
    )
    assert len(pull_creations(fake_api)) == 1
    assert remotes.rev("acme", "web", "ci/initial-setup") == tip
    assert "CI/CD setup complete!" in out


def test_apply_resumes_after_interrupt(
    apply_cli, remotes: Remotes, fake_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    names = ["a1", "a2", "a3", "a4", "a5"]
    for name in names:
        remotes.add("acme", name, PYTHON_APP)
    real_publish = publish_module.publish

    def publish_then_interrupt(target, prepared, options):
        result = real_publish(target, prepared, options)
        if target.name == "acme/a2":
            signal.raise_signal(signal.SIGINT)  # Ctrl-C, delivered to the main thread
        return result

    monkeypatch.setattr(pipeline, "publish", publish_then_interrupt)
    code, out = apply_cli("--org", "acme", jobs="1")
    monkeypatch.setattr(pipeline, "publish", real_publish)
    opened_first = {path.split("/")[3] for path in pull_creations(fake_api)}

    resumed_code, resumed_out = apply_cli("--org", "acme", jobs="1")

    assert code == 130, out
    assert out.rstrip().splitlines()[-1].startswith("Interrupted with ")
    assert (
        out.rstrip()
        .splitlines()[-1]
        .endswith(" of 5 repositories not finished; run the same command again to continue.")
    )
    assert "CI/CD setup complete!" not in out
    assert "a1" in opened_first
    assert "a2" in opened_first
    assert opened_first < set(names)
    assert resumed_code == 0, resumed_out
    for name in opened_first:
        assert f"[acme/{name}] done in an earlier run" in resumed_out
    for name in set(names) - opened_first:
        assert f"[acme/{name}] pull request opened" in resumed_out
    assert sorted(path.split("/")[3] for path in pull_creations(fake_api)) == names


def test_apply_only_failed_retries_just_those(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", PYTHON_APP)
    frozen = remotes.add("acme", "frozen", PYTHON_APP, reject_push=True)
    code, _ = apply_cli("--org", "acme")
    (frozen / "hooks" / "pre-receive").unlink()

    retry_code, out = apply_cli("--org", "acme", "--only-failed")

    assert code == 1
    assert retry_code == 0, out
    assert out.splitlines()[0].startswith("Running on 1 repository ")
    assert "[acme/frozen] pull request opened" in out
    assert "acme/web" not in out


def test_apply_dry_run_pushes_nothing(apply_cli, remotes: Remotes, fake_api: FakeGitHub, tmp_path: Path):
    remotes.add("acme", "web", PYTHON_APP)

    code, out = apply_cli("--org", "acme", "--dry-run", "--json", str(tmp_path / "report.json"))

    assert code == 0, out
    assert "[acme/web] would open a pull request from ci/initial-setup with " in out
    assert "[acme/web]   would add .github/workflows/ci.yml" in out
    assert "[acme/web]   would add .copier-answers.yml" in out
    assert (
        out.rstrip().splitlines()[-1]
        == "Dry run complete: nothing was pushed and no pull request was opened."
    )
    assert remotes.branches("acme", "web") == ["main"]
    assert [c.method for c in fake_api.requests if c.method != "GET"] == []
    assert not (tmp_path / "ledger.jsonl").exists()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["dry_run"] is True
    assert {"change": "added", "path": ".github/workflows/ci.yml"} in report["repositories"][0]["files"]


def test_apply_update_existing_refreshes_without_force(
    apply_cli, remotes: Remotes, fake_api: FakeGitHub, own_template: Path
):
    remotes.add("acme", "web", PYTHON_APP)
    apply_cli("--org", "acme", template=own_template)
    old_tip = remotes.rev("acme", "web", "ci/initial-setup")
    release_template(own_template, "v1.1.0", "# refreshed by v1.1.0")

    skipped_code, skipped_out = apply_cli("--org", "acme", template=own_template)
    code, out = apply_cli("--org", "acme", "--update-existing", template=own_template)

    assert skipped_code == 0
    assert "[acme/web] skipped: open pull request #1 already exists" in skipped_out
    assert code == 0, out
    assert "[acme/web] pull request updated: https://github.test/acme/web/pull/1" in out
    new_tip = remotes.rev("acme", "web", "ci/initial-setup")
    assert new_tip != old_tip
    assert remotes.is_ancestor("acme", "web", old_tip, new_tip)
    assert remotes.show("acme", "web", "ci/initial-setup", ".github/dependabot.yml").endswith(
        "# refreshed by v1.1.0\n"
    )
    assert "cicd-templates v1.1.0" in fake_api.open_pulls("acme/web")[0]["body"]
    assert len(pull_creations(fake_api)) == 1


def test_apply_updates_merged_repository_to_new_version(
    apply_cli, remotes: Remotes, fake_api: FakeGitHub, own_template: Path
):
    remotes.add("acme", "web", PYTHON_APP)
    apply_cli("--org", "acme", template=own_template)
    remotes.merge("acme", "web", "ci/initial-setup")
    release_template(own_template, "v1.1.0")

    code, out = apply_cli("--org", "acme", template=own_template)

    assert code == 0, out
    assert "[acme/web] pull request opened: https://github.test/acme/web/pull/2" in out
    assert (
        remotes.subject("acme", "web", "ci/template-update-v1.1.0") == "ci: update CI/CD templates to v1.1.0"
    )
    pull = fake_api.open_pulls("acme/web")[0]
    assert pull["title"] == "Update CI/CD Workflows to v1.1.0"
    assert pull["head"]["ref"] == "ci/template-update-v1.1.0"
    assert "- changed `.github/dependabot.yml`" in pull["body"]
    assert "- changed `.copier-answers.yml`" in pull["body"]


def test_apply_merged_repository_is_up_to_date(apply_cli, remotes: Remotes, own_template: Path):
    remotes.add("acme", "web", PYTHON_APP)
    apply_cli("--org", "acme", template=own_template)
    remotes.merge("acme", "web", "ci/initial-setup")

    code, out = apply_cli("--org", "acme", "--no-ledger", template=own_template)

    assert code == 0, out
    assert "[acme/web] up to date" in out
    assert "Up to date (1):" in out


def test_apply_update_conflict_fails_and_pushes_nothing(
    apply_cli, remotes: Remotes, fake_api: FakeGitHub, own_template: Path
):
    remotes.add("acme", "web", PYTHON_APP)
    apply_cli("--org", "acme", template=own_template)
    remotes.merge("acme", "web", "ci/initial-setup")
    dependabot = remotes.show("acme", "web", "main", ".github/dependabot.yml")
    remotes.commit_on_main("acme", "web", {".github/dependabot.yml": dependabot + "# our own line\n"})
    release_template(own_template, "v1.1.0", "# the template's line")

    code, out = apply_cli("--org", "acme", template=own_template)

    assert code == 1
    assert (
        "[acme/web] failed: the update to v1.1.0 left conflicts in .github/dependabot.yml; nothing was pushed"
        in out
    )
    assert "ci/template-update-v1.1.0" not in remotes.branches("acme", "web")
    assert len(pull_creations(fake_api)) == 1
