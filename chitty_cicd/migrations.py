"""Renames of questions and generated files between releases, applied during `copier update`.

copier.yml runs this file as a `_migrations` command on every update, once before Copier
renders the new release into the repository and once after. Copier sets STAGE
("before" or "after"), VERSION_FROM and VERSION_TO (the template commits, such as
v1.0.0) and VERSION_PEP440_FROM and VERSION_PEP440_TO in the environment. Each rename
applies when the release that made it lies in (from, to].
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chitty_cicd.managed import user_owned_paths

ANSWERS_FILE = ".copier-answers.yml"


@dataclass(frozen=True)
class Rename:
    """A question key or a generated path that the release `version` renamed from old to new."""

    version: str
    old: str
    new: str

    def applies(self, from_version: str, to_version: str) -> bool:
        from packaging.version import Version

        return Version(from_version) < Version(self.version) <= Version(to_version)


# Renamed answer keys in .copier-answers.yml. An answer given under the old key keeps its
# value under the new key; the old key is dropped.
RENAMED_QUESTIONS: tuple[Rename, ...] = ()

# Renamed generated files, as paths relative to the repository root. The repository's
# edits to the old file move into the new one by a three-way merge, a kept file's
# `kept_files` entry follows the rename, and a deleted old file keeps the new one deleted.
RENAMED_FILES: tuple[Rename, ...] = ()


def rename_answer_keys(text: str, renames: list[Rename]) -> str:
    """Rename top-level keys in answers file text. A key already present under its new name wins."""
    lines = text.splitlines(keepends=True)
    present = {line.split(":", 1)[0] for line in lines if line[:1].isalpha() or line[:1] == "_"}
    for rename in renames:
        if rename.old not in present or rename.new in present:
            continue
        lines = [
            rename.new + line[len(rename.old) :] if line.startswith(f"{rename.old}:") else line
            for line in lines
        ]
    return "".join(lines)


def rename_kept_files(text: str, renames: list[Rename]) -> str:
    """Rename the entries of the `kept_files` answer, so that a kept file stays the repository's own."""
    answers = yaml.safe_load(text) or {}
    kept = answers.get("kept_files")
    if not isinstance(kept, list):
        return text
    moves = {rename.old: rename.new for rename in renames}
    renamed = [moves.get(str(path).strip("/"), path) for path in kept]
    if renamed == kept:
        return text
    return _replace_kept_files(text, renamed)


def _replace_kept_files(text: str, kept: list[Any]) -> str:
    lines = text.splitlines(keepends=True)
    start = next(index for index, line in enumerate(lines) if line.startswith("kept_files:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith(("-", " ")):
        end += 1
    block = yaml.safe_dump({"kept_files": kept}, default_flow_style=False, sort_keys=False)
    return "".join(lines[:start]) + block + "".join(lines[end:])


def adopt_user_files(text: str, root: Path, renames: list[Rename]) -> str:
    """Add to `kept_files` every path the release renders that root has as its own file.

    A release that starts rendering a new path (a new workflow, say) would otherwise write
    conflict markers into a file of the same name that the repository wrote itself. The
    old names of renamed files are no longer rendered, so they are left out.
    """
    answers = yaml.safe_load(text) or {}
    kept = answers.get("kept_files")
    if not isinstance(kept, list):
        return text
    known = {str(path).strip("/") for path in kept} | {rename.old for rename in renames}
    adopted = [path for path in user_owned_paths(root) if path not in known]
    if not adopted:
        return text
    return _replace_kept_files(text, [*kept, *adopted])


def migrate_before(root: Path, from_version: str, to_version: str) -> None:
    """Rename answer keys and kept-file entries, and keep new paths the repository owns.

    Runs before the new release is rendered into the repository.
    """
    questions = [rename for rename in RENAMED_QUESTIONS if rename.applies(from_version, to_version)]
    files = [rename for rename in RENAMED_FILES if rename.applies(from_version, to_version)]
    path = root / ANSWERS_FILE
    if not path.is_file():
        return

    text = path.read_text(encoding="utf-8")
    new_text = adopt_user_files(rename_kept_files(rename_answer_keys(text, questions), files), root, files)
    if new_text != text:
        path.write_text(new_text, encoding="utf-8")


def migrate_after(root: Path, template: Path, from_commit: str, from_version: str, to_version: str) -> None:
    """Carry the repository's edits of each renamed file into its new name."""
    head_answers = yaml.safe_load(_git_show(root, ANSWERS_FILE) or "") or {}
    kept = {str(path).strip("/") for path in head_answers.get("kept_files") or []}
    files = [
        rename
        for rename in RENAMED_FILES
        if rename.applies(from_version, to_version)
        and rename.old not in kept
        and _git_show(root, rename.new) is None
    ]
    if not files:
        return

    with tempfile.TemporaryDirectory(prefix="chitty-old-release.") as scratch:
        old_release = Path(scratch) / "out"
        _render_old_release(template, from_commit, head_answers, old_release)
        for rename in files:
            _move_edits(root, old_release, rename)


def _render_old_release(template: Path, commit: str, answers: dict[str, Any], dst: Path) -> None:
    # The old release's output is the merge base: what the repository had before its edits.
    import copier

    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    copier.run_copy(
        str(template),
        dst,
        data=data,
        vcs_ref=commit,
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )


def _move_edits(root: Path, old_release: Path, rename: Rename) -> None:
    base_path = old_release / rename.old
    if not base_path.is_file():
        return  # the old release did not generate the file for these answers
    base = base_path.read_text(encoding="utf-8")
    edited = _git_show(root, rename.old)
    new_path = root / rename.new

    if edited is None:
        # The repository deleted the old file, so the new one stays deleted too.
        new_path.unlink(missing_ok=True)
        return
    if edited == base or not new_path.is_file():
        return

    with tempfile.TemporaryDirectory(prefix="chitty-merge.") as scratch:
        ours = Path(scratch) / "ours"
        base_file = Path(scratch) / "base"
        ours.write_text(edited, encoding="utf-8")
        base_file.write_text(base, encoding="utf-8")
        # The same labels as Copier's own conflicts, so every conflict check finds them.
        subprocess.run(
            [
                "git",
                "merge-file",
                "-L",
                "before updating",
                "-L",
                "last update",
                "-L",
                "after updating",
                str(ours),
                str(base_file),
                str(new_path),
            ],
            check=False,
            capture_output=True,
        )
        new_path.write_text(ours.read_text(encoding="utf-8"), encoding="utf-8")


def _git_show(root: Path, relpath: str) -> str | None:
    result = subprocess.run(
        ["git", "show", f"HEAD:./{relpath}"], cwd=root, capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: migrations.py TEMPLATE_CHECKOUT", file=sys.stderr)
        return 2

    root = Path.cwd()
    stage = os.environ.get("STAGE", "")
    from_version = os.environ.get("VERSION_PEP440_FROM", "")
    to_version = os.environ.get("VERSION_PEP440_TO", "")
    if not (from_version and to_version):
        return 0
    if stage == "before":
        migrate_before(root, from_version, to_version)
    elif stage == "after":
        migrate_after(root, Path(args[0]), os.environ.get("VERSION_FROM", ""), from_version, to_version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
