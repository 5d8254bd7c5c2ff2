"""Safe `copier update` of one repository: preflight checks, the update, then a conflict check.

Copier's own update exits normally when it leaves conflict markers, deletes a file that
joins `kept_files` on update, and fails with misleading messages on a hand-edited answers
file. `update_repository` checks the destination first and writes nothing when a check
fails, restores kept files after the update, and raises when any conflict remains.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chitty_cicd.errors import ChittyError
from chitty_cicd.release_notes import changelog_between, fetch_changelog, summary_markdown
from chitty_cicd.update_checks import (
    ANSWERS_FILE,
    CONFLICT_END,
    CONFLICT_START,
    changed_paths,
    check_destination,
    check_template_reachable,
    git_succeeds,
    last_line,
    run_git,
)

__all__ = [
    "ANSWERS_FILE",
    "UpdateConflictError",
    "UpdateResult",
    "changed_paths",
    "check_destination",
    "find_conflicts",
    "restore_kept_files",
    "summary_markdown",
    "update_repository",
]


@dataclass
class UpdateResult:
    """The outcome of one update: template versions before and after, and the files it changed."""

    path: Path
    template: str
    old_commit: str
    new_commit: str
    old_version: str
    new_version: str
    changed_files: list[str] = field(default_factory=list)
    restored_files: list[str] = field(default_factory=list)
    changelog: str = ""

    @property
    def updated(self) -> bool:
        return self.old_commit != self.new_commit


class UpdateConflictError(ChittyError):
    """An update that left conflict markers or `.rej` files, whose paths `conflicts` lists."""

    def __init__(self, root: Path, conflicts: list[str], result: UpdateResult):
        self.conflicts = conflicts
        self.result = result
        listing = ", ".join(conflicts)
        super().__init__(
            f"the update to {result.new_commit} conflicts with local edits in {listing}. "
            f"Resolve each `{CONFLICT_START}` ... `{CONFLICT_END}` block (and each .rej file) "
            "by hand, then `git add` and commit; or discard the whole update with "
            "`git reset --hard && git clean -fd`",
            path=root,
        )


def update_repository(
    path: Path | str, data: Mapping[str, Any] | None = None, vcs_ref: str | None = None
) -> UpdateResult:
    """Update the repository at path to the template's latest release, or to vcs_ref.

    data sets answers, as `copier update --data` does; new questions take their defaults.
    Raises ChittyError, with nothing written, when a preflight check fails or Copier
    fails, and UpdateConflictError, with the update left in place, when a conflict remains.
    """
    root = Path(path).resolve()
    answers = check_destination(root)
    template = str(answers["_src_path"])
    check_template_reachable(template)

    head = run_git(root, "rev-parse", "HEAD").strip()
    outcome = _run_copier_update(root, dict(data or {}), vcs_ref)
    new_answers = read_answers(root)
    restored = restore_kept_files(root, head, new_answers.get("kept_files") or [])
    result = UpdateResult(
        path=root,
        template=template,
        old_commit=str(answers["_commit"]),
        new_commit=str(new_answers.get("_commit", "")),
        old_version=outcome.old_version,
        new_version=outcome.new_version,
        changed_files=changed_paths(root),
        restored_files=restored,
    )
    result.changelog = changelog_between(
        fetch_changelog(template, result.new_commit), result.old_version, result.new_version
    )

    conflicts = find_conflicts(root)
    if conflicts:
        raise UpdateConflictError(root, conflicts, result)
    return result


@dataclass
class _Outcome:
    old_version: str
    new_version: str


def _run_copier_update(root: Path, data: dict[str, Any], vcs_ref: str | None) -> _Outcome:
    """Run `copier update`; on failure put every file back as committed and raise ChittyError."""
    import copier
    from copier.errors import CopierError
    from plumbum import ProcessExecutionError

    copier_errors = (CopierError, ProcessExecutionError, subprocess.CalledProcessError, ValueError, OSError)
    try:
        worker = copier.run_update(
            root,
            data=data,
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
            conflict="inline",
        )
    except copier_errors as error:
        _discard_changes(root)
        raise ChittyError(
            f"copier update failed: {last_line(str(error))}; every file was put back as it was committed",
            path=root,
        ) from error
    except BaseException:
        _discard_changes(root)
        raise
    # Copier worked out both versions during the update, so no clone is needed here.
    old_template = worker.subproject.template
    old_version = str(old_template.version) if old_template is not None else ""
    return _Outcome(old_version, str(worker.template.version))


def _discard_changes(root: Path) -> None:
    # The preflight found the tree clean, so everything changed under root is Copier's.
    run_git(root, "reset", "--quiet", "--", ".", check=False)
    run_git(root, "checkout", "--quiet", "--", ".", check=False)
    run_git(root, "clean", "-fdq", "--", ".", check=False)


def restore_kept_files(root: Path, head: str, kept_files: list[str]) -> list[str]:
    """Put kept files back as committed, and return their paths.

    A path that joins `kept_files` during an update was rendered by the old release, so
    Copier deletes it as a file the new release dropped. The repository's own version is
    the committed one.
    """
    restored = []
    for entry in kept_files:
        relpath = str(entry).strip("/")
        if not git_succeeds(root, "cat-file", "-e", f"{head}:./{relpath}"):
            continue
        unchanged = git_succeeds(root, "diff", "--quiet", head, "--", relpath)
        if unchanged and (root / relpath).exists():
            continue
        run_git(root, "checkout", head, "--", relpath)
        with contextlib.suppress(FileNotFoundError):
            (root / f"{relpath}.rej").unlink()
        restored.append(relpath)
    return restored


def find_conflicts(root: Path) -> list[str]:
    """List files an update left in conflict: unmerged, with conflict markers, or `.rej`."""
    unmerged = run_git(root, "diff", "--name-only", "--relative", "--diff-filter=U", "--", ".")
    conflicts = set(unmerged.splitlines())
    for relpath in changed_paths(root):
        if relpath.endswith(".rej") or _has_conflict_marker(root / relpath):
            conflicts.add(relpath)
    # `.rej` files may match an ignore rule, so ignored files are listed too.
    ignored = run_git(root, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", "*.rej")
    conflicts.update(ignored.split("\0"))
    return sorted(path for path in conflicts if path)


def _has_conflict_marker(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        return any(line.rstrip() == CONFLICT_START.encode() for line in handle)


def read_answers(root: Path) -> dict[str, Any]:
    path = root / ANSWERS_FILE
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return loaded if isinstance(loaded, dict) else {}
