"""Fixtures for the bulk tool: a tagged template repository, bare remotes and a fake GitHub API."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import fake_github
import pytest
from cli_support import GIT_IDENTITY, REPO_ROOT, TEMPLATE_PARTS, Remotes, git
from fake_github import TOKEN, FakeGitHub

from chitty_cicd import github_api
from chitty_cicd.cli.main import main


@pytest.fixture(autouse=True)
def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A token, a git identity, no colour settings, and GitHub pacing shrunk to test speed."""
    for name, value in GIT_IDENTITY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(github_api, "MUTATION_INTERVAL_SECONDS", 0.0)
    monkeypatch.setattr(github_api, "SERVER_ERROR_BACKOFF_SECONDS", 0.01)


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's template, committed in its own repository and tagged v1.0.0."""
    root = tmp_path_factory.mktemp("template") / "cicd-templates"
    root.mkdir()
    for part in TEMPLATE_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__", "cli"))
        else:
            shutil.copy2(source, root / part)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "Template v1.0.0")
    git(root, "tag", "v1.0.0")
    return root


@pytest.fixture
def own_template(template_repo: Path, tmp_path: Path) -> Path:
    """A clone of the template repository, with tag v1.0.0, that a test may release versions in."""
    root = tmp_path / "own-template"
    git(tmp_path, "clone", "--quiet", str(template_repo), str(root))
    return root


@pytest.fixture
def fake_api() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    server = fake_github.start(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def remotes(tmp_path: Path, fake_api: FakeGitHub) -> Remotes:
    return Remotes(tmp_path / "remotes", fake_api)


@pytest.fixture
def apply_cli(
    fake_api: FakeGitHub, template_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    """Run `chitty-cicd apply` in-process against the fake API; return the exit code and stdout.

    The run's standard error is left in the function's `stderr` attribute.
    """

    def _run(*args: str, template: Path | None = None, jobs: str = "2") -> tuple[int, str]:
        argv = [
            "apply",
            "--api-url",
            fake_api.url,
            "--template",
            str(template or template_repo),
            "--ledger",
            str(tmp_path / "ledger.jsonl"),
            "--jobs",
            jobs,
            *args,
        ]
        capsys.readouterr()
        code = main(argv)
        captured = capsys.readouterr()
        _run.stderr = captured.err  # type: ignore[attr-defined]
        return code, captured.out

    return _run
