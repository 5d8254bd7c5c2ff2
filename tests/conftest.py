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


@pytest.fixture(scope="session")
def template_path() -> str:
    """The template as Copier sees it: this working tree, uncommitted changes included."""
    return str(REPO_ROOT)


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
