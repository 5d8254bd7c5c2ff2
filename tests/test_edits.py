"""Planned edits: all or nothing, and only inside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chitty_cicd.edits import Plan, apply_plan, read_text
from chitty_cicd.errors import ChittyError


def test_apply_plan_read_only_file_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("old a\n")
    (tmp_path / "b.txt").write_text("old b\n")
    plan = Plan(writes={"a.txt": "new a\n", "b.txt": "new b\n"})
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path).name != "b.txt" and real_access(path, mode))

    with pytest.raises(ChittyError, match=r"^b.txt: cannot be written because .*b.txt is read-only"):
        apply_plan(tmp_path, plan)

    assert (tmp_path / "a.txt").read_text() == "old a\n"
    assert (tmp_path / "b.txt").read_text() == "old b\n"


def test_apply_plan_skips_unchanged_files(tmp_path: Path) -> None:
    (tmp_path / "same.txt").write_text("same\n")
    plan = Plan(writes={"same.txt": "same\n", "new/file.txt": "created\n"})

    written = apply_plan(tmp_path, plan)

    assert written == ["new/file.txt"]
    assert (tmp_path / "new/file.txt").read_text() == "created\n"


def test_read_text_symlink_outside_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.txt").symlink_to(outside)

    with pytest.raises(ChittyError, match=r"^link.txt: points outside the repository"):
        read_text(repo, "link.txt")


def test_read_text_directory_rejected(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()

    with pytest.raises(ChittyError, match=r"^src: is not a regular file"):
        read_text(tmp_path, "src")
