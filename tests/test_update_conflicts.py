"""Updates that meet local edits: overlapping edits fail loudly, kept files stay the repository's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chitty_cicd.cli import update as update_cli
from chitty_cicd.update import UpdateConflictError, find_conflicts, update_repository
from tests.update_releases import (
    Releases,
    commit_all,
    generate_repository,
    read,
    releases_fixture,  # noqa: F401 (pytest finds the `releases` fixture through it)
    status,
)

DEPENDABOT = ".github/dependabot.yml"
CI = ".github/workflows/ci.yml"
BUILD = ".github/workflows/build.yml"
OWN_CI = "# Our own CI, older than the standard.\nname: CI\non: push\njobs: {}\n"
OWN_DEPENDABOT = "version: 2\nupdates: []\n"
CONFLICT_BLOCK = (
    "<<<<<<< before updating\n"
    "    open-pull-requests-limit: 3\n"
    "=======\n"
    "    open-pull-requests-limit: 5\n"
    ">>>>>>> after updating\n"
)


def make_edited_limit_repo(releases: Releases, dst: Path) -> Path:
    """Generate a Python repository at v1.0.0 and edit its Dependabot limit, which v2.0.0 changes."""
    repo = generate_repository(releases, dst, "python")
    text = read(repo, DEPENDABOT).replace("open-pull-requests-limit: 10", "open-pull-requests-limit: 3")
    (repo / DEPENDABOT).write_text(text, encoding="utf-8")
    commit_all(repo, "Lower the Dependabot limit")
    return repo


@pytest.fixture
def edited_limit_repo(releases: Releases, tmp_path: Path) -> Path:
    return make_edited_limit_repo(releases, tmp_path / "repo")


@pytest.fixture(scope="module")
def conflicted(releases: Releases, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The outcome of updating the edited repository to v2.0.0, which conflicts."""
    repo = make_edited_limit_repo(releases, tmp_path_factory.mktemp("conflict") / "repo")
    with pytest.raises(UpdateConflictError) as excinfo:
        update_repository(repo, vcs_ref="v2.0.0")
    return {
        "error": excinfo.value,
        "dependabot": read(repo, DEPENDABOT),
        "conflicts": find_conflicts(repo),
    }


def test_update_overlapping_edit_raises_naming_file(conflicted: dict[str, object]) -> None:
    error = conflicted["error"]

    assert isinstance(error, UpdateConflictError)
    assert error.conflicts == [DEPENDABOT]
    assert f"conflicts with local edits in {DEPENDABOT}." in str(error)
    assert error.result.new_commit == "v2.0.0"


def test_update_overlapping_edit_leaves_markers(conflicted: dict[str, object]) -> None:
    text = conflicted["dependabot"]

    assert isinstance(text, str)
    assert text.count(CONFLICT_BLOCK) == 2
    assert "open-pull-requests-limit: 10" not in text
    assert conflicted["conflicts"] == [DEPENDABOT]


def test_find_conflicts_lists_rej_files(releases: Releases, tmp_path: Path) -> None:
    repo = generate_repository(releases, tmp_path / "repo", "go")
    (repo / "build").mkdir()
    (repo / "build" / "ci.yml.rej").write_text("@@ -1 +1 @@\n", encoding="utf-8")
    (repo / ".gitignore").write_text("*.rej\n", encoding="utf-8")
    commit_all(repo, "Ignore .rej files")
    (repo / "top.yml.rej").write_text("@@ -1 +1 @@\n", encoding="utf-8")

    assert find_conflicts(repo) == ["build/ci.yml.rej", "top.yml.rej"]


def test_cli_update_conflict_exits_1_naming_file(
    edited_limit_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = update_cli.main([str(edited_limit_repo), "--vcs-ref", "v2.0.0"])

    assert exit_code == 1
    assert f"conflicts with local edits in {DEPENDABOT}." in capsys.readouterr().err


@pytest.fixture(scope="module")
def kept_ci_story(releases: Releases, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A Go repository that had its own ci.yml at copy time, updated to v2.0.0 and v3.0.0."""
    dst = tmp_path_factory.mktemp("kept") / "repo"
    repo = generate_repository(releases, dst, "go", files={CI: OWN_CI})
    story: dict[str, object] = {"kept_at_copy": yaml.safe_load(read(repo, ".copier-answers.yml"))["kept_files"]}

    story["v2"] = update_repository(repo, vcs_ref="v2.0.0")
    story["ci_after_v2"] = read(repo, CI)
    story["build_after_v2"] = (repo / BUILD).exists()
    commit_all(repo, "Update to v2.0.0")
    story["v3"] = update_repository(repo)
    story["ci_after_v3"] = read(repo, CI)
    story["build_after_v3"] = (repo / BUILD).exists()
    story["kept_after_v3"] = yaml.safe_load(read(repo, ".copier-answers.yml"))["kept_files"]
    story["conflicts"] = find_conflicts(repo)
    return story


def test_update_keeps_kept_file_across_releases(kept_ci_story: dict[str, object]) -> None:
    assert kept_ci_story["kept_at_copy"] == [CI]
    assert kept_ci_story["ci_after_v2"] == OWN_CI
    assert kept_ci_story["ci_after_v3"] == OWN_CI
    assert kept_ci_story["conflicts"] == []


def test_update_renames_kept_entry_with_file(kept_ci_story: dict[str, object]) -> None:
    assert kept_ci_story["kept_after_v3"] == [BUILD]
    assert kept_ci_story["build_after_v2"] is False
    assert kept_ci_story["build_after_v3"] is False


def test_cli_update_new_kept_file_stays_as_committed(
    releases: Releases, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = generate_repository(releases, tmp_path / "repo", "rust")
    (repo / DEPENDABOT).write_text(OWN_DEPENDABOT, encoding="utf-8")
    commit_all(repo, "Write our own Dependabot config")

    exit_code = update_cli.main(
        [str(repo), "--vcs-ref", "v2.0.0", "--data", f'kept_files=["{DEPENDABOT}"]']
    )

    assert exit_code == 0
    assert f"  kept as your own {DEPENDABOT}\n" in capsys.readouterr().out
    assert read(repo, DEPENDABOT) == OWN_DEPENDABOT
    assert yaml.safe_load(read(repo, ".copier-answers.yml"))["kept_files"] == [DEPENDABOT]
    assert DEPENDABOT not in status(repo)
    assert find_conflicts(repo) == []
