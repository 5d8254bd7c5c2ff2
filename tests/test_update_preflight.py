"""Bad input to `update_repository`: each case fails with the fix in its message and writes nothing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chitty_cicd.cli import update as update_cli
from chitty_cicd.errors import ChittyError
from chitty_cicd.update import ANSWERS_FILE, check_destination, update_repository
from tests.conftest import git
from tests.update_releases import (
    Releases,
    commit_all,
    generate_repository,
    read,
    releases_fixture,  # noqa: F401 (pytest finds the `releases` fixture through it)
    status,
)


@pytest.fixture
def generated_repo(releases: Releases, tmp_path: Path) -> Path:
    """A Rust repository generated at v1.0.0 and committed."""
    return generate_repository(releases, tmp_path / "repo", "rust")


def snapshot(repo: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(repo)): path.read_bytes()
        for path in sorted(repo.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(repo).parts
    }


def update_fails(repo: Path, **kwargs: object) -> str:
    """Run the update, expect ChittyError, check no file changed and return the message."""
    before = snapshot(repo)
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(ChittyError) as excinfo:
        update_repository(repo, **kwargs)  # type: ignore[arg-type]

    assert snapshot(repo) == before
    assert git(repo, "rev-parse", "HEAD") == head
    return str(excinfo.value)


def set_answer(repo: Path, key: str, value: str) -> None:
    lines = read(repo, ANSWERS_FILE).splitlines(keepends=True)
    lines = [f"{key}: {value}\n" if line.startswith(f"{key}:") else line for line in lines]
    (repo / ANSWERS_FILE).write_text("".join(lines), encoding="utf-8")
    commit_all(repo, f"Set {key} by hand")


def test_update_dirty_tree_rejected(generated_repo: Path) -> None:
    ci = generated_repo / ".github/workflows/ci.yml"
    ci.write_text(read(generated_repo, ".github/workflows/ci.yml") + "# draft\n", encoding="utf-8")

    message = update_fails(generated_repo, vcs_ref="v2.0.0")

    assert "has uncommitted changes (.github/workflows/ci.yml)" in message
    assert "git stash --include-untracked" in message


def test_update_untracked_file_rejected(generated_repo: Path) -> None:
    (generated_repo / "notes.txt").write_text("todo\n", encoding="utf-8")

    message = update_fails(generated_repo, vcs_ref="v2.0.0")

    assert "has uncommitted changes (notes.txt)" in message


def test_update_missing_answers_file_rejected(releases: Releases, tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    (repo / "go.mod").write_text("module example.com/plain\n", encoding="utf-8")
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "Initial commit")

    message = update_fails(repo)

    assert f"{ANSWERS_FILE}: not found" in message
    assert "run `copier copy --trust TEMPLATE_URL .`" in message


def test_update_deleted_answers_file_names_restore_command(generated_repo: Path) -> None:
    (generated_repo / ANSWERS_FILE).unlink()
    commit_all(generated_repo, "Remove the answers file")
    deleted_in = git(generated_repo, "rev-parse", "--short", "HEAD").strip()

    message = update_fails(generated_repo)

    assert f"it was deleted in commit {deleted_in}" in message
    assert f"`git checkout {deleted_in}^ -- {ANSWERS_FILE}`" in message


def test_update_broken_answers_yaml_names_good_commit(generated_repo: Path) -> None:
    good = git(generated_repo, "rev-parse", "--short", "HEAD").strip()
    text = read(generated_repo, ANSWERS_FILE).replace("project_type: rust", "project_type: [rust")
    (generated_repo / ANSWERS_FILE).write_text(text, encoding="utf-8")
    commit_all(generated_repo, "Edit the answers by hand")

    message = update_fails(generated_repo)

    assert "is not valid YAML at line" in message
    assert f"`git checkout {good} -- {ANSWERS_FILE}`" in message


def test_update_answers_without_commit_rejected(generated_repo: Path) -> None:
    text = "".join(
        line for line in read(generated_repo, ANSWERS_FILE).splitlines(keepends=True)
        if not line.startswith("_commit:")
    )
    (generated_repo / ANSWERS_FILE).write_text(text, encoding="utf-8")
    commit_all(generated_repo, "Drop _commit")

    message = update_fails(generated_repo)

    assert "has no `_commit` value" in message


def test_update_relative_src_path_rejected(generated_repo: Path) -> None:
    set_answer(generated_repo, "_src_path", "../cicd-templates")

    message = update_fails(generated_repo)

    assert "`_src_path` is the relative path '../cicd-templates'" in message
    assert "set it to the template's URL or absolute path" in message


def test_update_missing_template_path_rejected(generated_repo: Path, tmp_path: Path) -> None:
    set_answer(generated_repo, "_src_path", str(tmp_path / "moved-away"))

    message = update_fails(generated_repo)

    assert f"the template '{tmp_path / 'moved-away'}' recorded as `_src_path`" in message
    assert "does not exist" in message


def test_update_unreachable_template_url_rejected(generated_repo: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below, so connections are refused
    url = f"http://127.0.0.1:{port}/cicd-templates.git"
    set_answer(generated_repo, "_src_path", url)

    message = update_fails(generated_repo)

    assert f"the template '{url}' recorded as `_src_path` in {ANSWERS_FILE} cannot be reached" in message
    assert f"`git ls-remote {url}`" in message


def test_update_committed_conflict_markers_rejected(generated_repo: Path) -> None:
    ci = generated_repo / ".github/workflows/ci.yml"
    ci.write_text("<<<<<<< before updating\nname: CI\n=======\nname: Build\n>>>>>>> after updating\n")
    commit_all(generated_repo, "Commit an unresolved update")

    message = update_fails(generated_repo)

    assert "has conflict markers from an earlier update committed in .github/workflows/ci.yml" in message


def test_update_not_a_repository_rejected(tmp_path: Path) -> None:
    with pytest.raises(ChittyError) as excinfo:
        update_repository(tmp_path)

    assert "is not a git repository" in str(excinfo.value)


def test_update_copier_failure_puts_files_back(generated_repo: Path) -> None:
    message = update_fails(generated_repo, data={"project_type": "cobol"}, vcs_ref="v2.0.0")

    assert message.startswith(f"{generated_repo}: copier update failed:")
    assert "every file was put back as it was committed" in message
    assert status(generated_repo) == ""


def test_cli_update_preflight_failure_exits_2(
    generated_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (generated_repo / "notes.txt").write_text("todo\n", encoding="utf-8")

    exit_code = update_cli.main([str(generated_repo)])

    assert exit_code == 2
    captured = capsys.readouterr()
    assert "has uncommitted changes (notes.txt)" in captured.err
    assert captured.err.endswith("Nothing was updated.\n")


def test_cli_update_bad_data_exits_2(generated_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = update_cli.main([str(generated_repo), "--data", "template_updates"])

    assert exit_code == 2
    assert "--data 'template_updates' is not KEY=VALUE" in capsys.readouterr().err


def test_cli_update_writes_summary(
    generated_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "pull-request.md"

    exit_code = update_cli.main(
        [str(generated_repo), "--vcs-ref", "v2.0.0", "--summary", str(summary),
         "--data", "template_updates=false"]
    )

    assert exit_code == 0
    assert f"{generated_repo}: updated from v1.0.0 to v2.0.0." in capsys.readouterr().out
    assert not (generated_repo / ".github/workflows/template-update.yml").exists()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("Updates the CI/CD templates from v1.0.0 to v2.0.0 (template: `")
    assert "### [2.0.0] - 2026-02-02\n\n#### Changed\n" in text
    assert "- `.github/workflows/template-update.yml`\n" in text



def test_check_destination_ignores_quoted_marker(generated_repo: Path) -> None:
    (generated_repo / "UPDATING.md").write_text(
        "Resolve each `<<<<<<< before updating` block, then commit.\n", encoding="utf-8"
    )
    commit_all(generated_repo, "Document conflict resolution")

    answers = check_destination(generated_repo)

    assert answers["_commit"] == "v1.0.0"
