"""Shared fixtures: render the template into temporary repositories."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import copier
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


_SNAPSHOT_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", ".*_cache", "example", "work"
)


@pytest.fixture(scope="session")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The working tree committed once into a scratch git repository.

    Copier would otherwise make a new commit of the uncommitted changes on every render,
    so `_commit` in the answers file would differ between two renders of one test.
    """
    snapshot = tmp_path_factory.mktemp("template") / "cicd-templates"
    shutil.copytree(REPO_ROOT, snapshot, ignore=_SNAPSHOT_IGNORED)
    git(snapshot, "init", "--quiet", "--initial-branch=main")
    git(snapshot, "add", "--all")
    git(snapshot, "commit", "--quiet", "--message", "Snapshot of the working tree")
    return str(snapshot)


def git(cwd: Path, *args: str) -> str:
    """Run git in cwd with a fixed identity and return its output."""
    result = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def copy_fixture(name: str, dst: Path) -> Path:
    """Copy tests/fixtures/<name> to dst and return dst."""
    shutil.copytree(FIXTURES / name, dst, symlinks=True, dirs_exist_ok=True)
    return dst


@pytest.fixture
def render(tmp_path: Path, template_path: str) -> Callable[..., Path]:
    """Run `copier copy` non-interactively into a directory, a fixture repo or an empty one."""

    def _render(
        data: Mapping[str, Any] | None = None,
        *,
        fixture: str | None = None,
        dst: Path | None = None,
    ) -> Path:
        target = dst or tmp_path / "repo"
        if fixture:
            copy_fixture(fixture, target)
        target.mkdir(parents=True, exist_ok=True)
        copier.run_copy(
            template_path,
            target,
            data=dict(data or {}),
            defaults=True,
            unsafe=True,
            quiet=True,
            vcs_ref="HEAD",
        )
        return target

    return _render
