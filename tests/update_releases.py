"""Three releases of the template, v1.0.0 to v3.0.0, as a git repository built from this working tree.

v1.0.0 is the working tree plus a test-only NOTICE.md and its `notice_owner` question.
v2.0.0 renames that question to `notice_team` and ci.yml to build.yml (each with a
migration entry), adds the `notice_license` question, changes dependabot.yml and NOTICE.md.
v3.0.0 changes build.yml. Each release has a CHANGELOG section.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest

from tests.conftest import REPO_ROOT, git

BEACON_OFF = {"beacon_enabled": False}
# Each type's manifest, the files detection reads on copy.
MANIFESTS = {
    "node": {"package.json": '{\n  "name": "demo-node",\n  "scripts": {"test": "node --test"}\n}\n'},
    "python": {"pyproject.toml": '[project]\nname = "demo-python"\nrequires-python = ">=3.11"\n'},
    "rust": {"Cargo.toml": '[package]\nname = "demo-rust"\nversion = "0.1.0"\nedition = "2021"\n'},
    "go": {"go.mod": "module example.com/demo-go\n\ngo 1.22\n"},
}
ANSWERS = {
    "node": {"project_type": "node", **BEACON_OFF},
    "python": {"project_type": "python", **BEACON_OFF},
    "rust": {"project_type": "rust"},
    "go": {"project_type": "go"},
}

NOTICE_QUESTION_V1 = """
notice_owner:
  type: str
  help: "Team named in NOTICE.md"
  default: DevOps
"""
NOTICE_QUESTIONS_V2 = """
notice_team:
  type: str
  help: "Team named in NOTICE.md"
  default: DevOps

notice_license:
  type: str
  help: "License named in NOTICE.md"
  default: MIT
"""
# Runs the post-render steps and records where Copier ran them and whether they acted.
# Copier hands tasks its own copy of the environment, so the trace path is written in.
TRACE_SHIM = '''\
import json, os, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from chitty_cicd import tasks
root = Path.cwd()
with open({trace!r}, "a") as trace:
    trace.write(json.dumps({"root": str(root), "operation": os.environ.get("COPIER_OPERATION"),
                            "skipped": tasks.is_update_scratch_copy(root)}) + "\\n")
sys.exit(tasks.main())
'''
CHANGELOG_V1 = """# Changelog

## [1.0.0] - 2026-01-05

### Added
- NOTICE.md names the owning team.
"""
CHANGELOG_V2 = """# Changelog

## [2.0.0] - 2026-02-02

### Changed
- The CI workflow is now .github/workflows/build.yml.
- The question `notice_owner` is now `notice_team`.

## [1.0.0] - 2026-01-05

### Added
- NOTICE.md names the owning team.
"""
CHANGELOG_V3 = """# Changelog

## [3.0.0] - 2026-03-02

### Changed
- CI jobs may run for 30 minutes.

## [2.0.0] - 2026-02-02

### Changed
- The CI workflow is now .github/workflows/build.yml.
- The question `notice_owner` is now `notice_team`.

## [1.0.0] - 2026-01-05

### Added
- NOTICE.md names the owning team.
"""


@dataclass(frozen=True)
class Releases:
    """The template repository with tags v1.0.0, v2.0.0 and v3.0.0, and the task trace file."""

    path: Path
    trace: Path


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _copy_working_tree(dst: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout
    for relpath in filter(None, listed.split("\0")):
        source = REPO_ROOT / relpath
        if source.is_file():
            (dst / relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dst / relpath)


def _release_v1(root: Path, trace: Path) -> None:
    _copy_working_tree(root)
    shim = TRACE_SHIM.replace("{trace!r}", repr(str(trace)))
    (root / "chitty_cicd" / "trace_tasks.py").write_text(shim, encoding="utf-8")
    _replace(root / "copier.yml", "/chitty_cicd/tasks.py", "/chitty_cicd/trace_tasks.py")
    with (root / "copier.yml").open("a", encoding="utf-8") as handle:
        handle.write(NOTICE_QUESTION_V1)
    (root / "template" / "NOTICE.md.jinja").write_text(
        "# Notice\n\nOwned by [[ notice_owner ]].\n", encoding="utf-8"
    )
    (root / "CHANGELOG.md").write_text(CHANGELOG_V1, encoding="utf-8")


def _release_v2(root: Path) -> None:
    _replace(root / "copier.yml", NOTICE_QUESTION_V1, NOTICE_QUESTIONS_V2)
    (root / "template" / "NOTICE.md.jinja").write_text(
        "# Notice\n\nOwned by [[ notice_team ]].\nLicensed under [[ notice_license ]].\n",
        encoding="utf-8",
    )
    workflows = root / "template" / ".github" / "workflows"
    (workflows / "ci.yml.jinja").rename(workflows / "build.yml.jinja")
    _replace(root / "template" / ".github" / "dependabot.yml.jinja",
             "open-pull-requests-limit: 10", "open-pull-requests-limit: 5")
    _replace(
        root / "chitty_cicd" / "migrations.py",
        "RENAMED_QUESTIONS: tuple[Rename, ...] = ()",
        'RENAMED_QUESTIONS: tuple[Rename, ...] = (Rename("2.0.0", "notice_owner", "notice_team"),)',
    )
    _replace(
        root / "chitty_cicd" / "migrations.py",
        "RENAMED_FILES: tuple[Rename, ...] = ()",
        "RENAMED_FILES: tuple[Rename, ...] = (\n"
        '    Rename("2.0.0", ".github/workflows/ci.yml", ".github/workflows/build.yml"),\n)',
    )
    _replace(root / "chitty_cicd" / "managed.py",
             '".github/workflows/ci.yml",', '".github/workflows/build.yml",')
    (root / "CHANGELOG.md").write_text(CHANGELOG_V2, encoding="utf-8")


def _release_v3(root: Path) -> None:
    _replace(root / "template" / ".github" / "workflows" / "build.yml.jinja",
             "timeout-minutes: 20", "timeout-minutes: 30")
    (root / "CHANGELOG.md").write_text(CHANGELOG_V3, encoding="utf-8")


def build_releases(root: Path, trace: Path) -> Path:
    """Create the template repository at root with one commit and tag per release."""
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    _release_v1(root, trace)
    for tag, make in (("v1.0.0", None), ("v2.0.0", _release_v2), ("v3.0.0", _release_v3)):
        if make is not None:
            make(root)
        git(root, "add", "--all")
        git(root, "commit", "--quiet", "--message", f"Release {tag}")
        git(root, "tag", tag)
    return root


@pytest.fixture(scope="session", name="releases")
def releases_fixture(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    """The three releases, shared by every update test; tasks append to the trace file."""
    base = tmp_path_factory.mktemp("releases")
    trace = base / "task-trace.jsonl"
    trace.touch()
    return Releases(build_releases(base / "cicd-templates", trace), trace)


def generate_repository(
    releases: Releases,
    dst: Path,
    project_type: str,
    *,
    files: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
    vcs_ref: str = "v1.0.0",
    src: str | None = None,
) -> Path:
    """Create a repository of the given type, copy the template into it and commit.

    src names the template as Copier records it in `_src_path`; it defaults to the path.
    """
    dst.mkdir(parents=True)
    for relpath, text in {**MANIFESTS[project_type], **(files or {})}.items():
        (dst / relpath).parent.mkdir(parents=True, exist_ok=True)
        (dst / relpath).write_text(text, encoding="utf-8")
    git(dst, "init", "--quiet", "--initial-branch=main")
    commit_all(dst, "Initial commit")
    copier.run_copy(
        src or str(releases.path),
        dst,
        data={**ANSWERS[project_type], **(data or {})},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref=vcs_ref,
    )
    commit_all(dst, "Add CI/CD")
    return dst


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "--message", message)


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


def read(repo: Path, relpath: str) -> str:
    return (repo / relpath).read_text(encoding="utf-8")
