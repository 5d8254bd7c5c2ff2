"""Planned file edits: computed in full first, written only when every step succeeded."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from chitty_cicd.errors import ChittyError


@dataclass
class Plan:
    """The files the post-render steps will write, the files they keep, and notes for the user."""

    writes: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def current(self, root: Path, relpath: str) -> str | None:
        """Return the text an earlier step planned for relpath, else the file's text."""
        if relpath in self.writes:
            return self.writes[relpath]
        return read_text(root, relpath)

    def write(self, relpath: str, text: str) -> None:
        self.writes[relpath] = text

    def keep(self, relpath: str, reason: str) -> None:
        self.kept.append(relpath)
        self.notes.append(f"kept {relpath}: {reason}")


def resolve_inside(root: Path, relpath: str) -> Path:
    """Return root/relpath, rejecting a path or symlink that leads out of root."""
    root = root.resolve()
    target = (root / relpath).resolve()
    if target != root and root not in target.parents:
        raise ChittyError(
            "points outside the repository; replace the symlink with a regular file "
            "or name a file inside the repository",
            path=relpath,
        )
    return target


def read_text(root: Path, relpath: str) -> str | None:
    """Read a UTF-8 text file of the repository, or None when it does not exist."""
    path = resolve_inside(root, relpath)
    if not path.exists():
        return None
    if not path.is_file():
        raise ChittyError("is not a regular file; name a file, not a directory", path=relpath)
    data = path.read_bytes()
    if b"\0" in data:
        raise ChittyError(
            "is a binary file, not text; point the answer that names it at a text file",
            path=relpath,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ChittyError(
            f"is not valid UTF-8 (byte {error.start}); re-save it as UTF-8", path=relpath
        ) from error


def _check_writable(root: Path, relpath: str) -> None:
    # Files are replaced through a temporary file beside them, so the directory needs write
    # access too; a read-only file is respected as the user's choice.
    path = resolve_inside(root, relpath)
    directory = next((parent for parent in path.parents if parent.exists()), root)
    blocked = [target for target in (path, directory)
               if target.exists() and not os.access(target, os.W_OK)]
    if blocked:
        raise ChittyError(
            f"cannot be written because {blocked[0]} is read-only; make it writable and run again",
            path=relpath,
        )


def apply_plan(root: Path, plan: Plan) -> list[str]:
    """Write every planned file that changes; return the paths written.

    Every target is checked for write access first, so a read-only file or directory
    stops the run before the first write rather than halfway through.
    """
    pending = {
        relpath: text
        for relpath, text in sorted(plan.writes.items())
        if read_text(root, relpath) != text
    }
    for relpath in pending:
        _check_writable(root, relpath)

    changed = []
    for relpath, text in pending.items():
        path = resolve_inside(root, relpath)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.chitty-tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        if path.exists():
            os.chmod(tmp, path.stat().st_mode)
        os.replace(tmp, path)
        changed.append(relpath)
    return changed
