"""The local half of applying the standard to one repository: clone, render and commit.

`prepare_repository` runs in a worker process of the bulk tool's process pool, because
Copier changes the process-wide working directory while it renders.
"""

from __future__ import annotations

import shutil
import signal
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chitty_cicd import gitops, render
from chitty_cicd.errors import ChittyError

INITIAL_BRANCH = "ci/initial-setup"
UPDATE_BRANCH = "ci/template-update-{version}"
INITIAL_COMMIT_MESSAGE = "ci: add CI/CD workflows and ChittyBeacon integration"
UPDATE_COMMIT_MESSAGE = "ci: update CI/CD templates to {version}"

# The answer that holds the detected project type, matched by --type.
PROJECT_TYPE_ANSWER = "project_type"
KEPT_FILES_ANSWER = "kept_files"


@dataclass
class Job:
    """Everything a worker process needs to prepare one repository."""

    key: str
    name: str
    clone_url: str
    default_branch: str | None
    workdir: Path
    template: str
    vcs_ref: str | None
    data: Mapping[str, Any]
    cache_dir: Path | None = None
    types: tuple[str, ...] = ()
    git_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    owner: str | None = None


@dataclass
class Prepared:
    """A prepared repository; outcome is "changed", "up_to_date", "skipped" or "failed"."""

    key: str
    outcome: str
    reason: str = ""
    repo_dir: Path | None = None
    operation: str | None = None
    version: str | None = None
    branch: str | None = None
    base: str | None = None
    commit: str | None = None
    commit_message: str | None = None
    files: list[tuple[str, str]] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def init_worker(checkouts_dir: Path) -> None:
    """Prepare a worker process: Ctrl-C is left to the parent, which stops the run and
    reports what finished, and template checkouts and compiled templates are reused."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    render.reuse_template_checkouts(checkouts_dir)
    render.reuse_compiled_templates()


def prepare_repository(job: Job) -> Prepared:
    """Clone, render and commit one repository; an Exception becomes a "failed" result, not a raise."""
    started = time.monotonic()
    try:
        prepared = _prepare(job)
    except ChittyError as error:
        prepared = Prepared(job.key, "failed", reason=str(error))
    except Exception as error:  # a bug, or a template error Copier raises as a plain exception
        reason = describe_unexpected(error, repo_dir_for(job.workdir, job.name))
        prepared = Prepared(job.key, "failed", reason=reason)
    prepared.seconds = round(time.monotonic() - started, 3)
    return prepared


def _prepare(job: Job) -> Prepared:
    repo_dir = repo_dir_for(job.workdir, job.name)
    if repo_dir.exists():
        shutil.rmtree(repo_dir)
    repo_dir.parent.mkdir(parents=True, exist_ok=True)

    try:
        gitops.clone(
            job.clone_url, repo_dir, branch=job.default_branch, cache_dir=job.cache_dir, env=job.git_env
        )
    except gitops.GitError as error:
        if gitops.remote_is_empty(job.clone_url, job.git_env):
            return Prepared(job.key, "skipped", reason=gitops.EMPTY_REPOSITORY)
        return Prepared(job.key, "failed", reason=str(error))
    base = gitops.head_commit(repo_dir)
    if base is None:
        return Prepared(job.key, "skipped", reason=gitops.EMPTY_REPOSITORY)

    data = dict(job.data)
    if job.owner and "github_org" not in data and not (repo_dir / render.ANSWERS_FILE).is_file():
        # The clone URL may not name GitHub (Enterprise, mirrors), but the API gave the owner.
        data["github_org"] = job.owner
    result = render.render_repository(job.template, repo_dir, data=data, vcs_ref=job.vcs_ref)
    prepared = Prepared(
        job.key,
        "changed",
        repo_dir=repo_dir,
        operation=result.operation,
        version=result.version,
        base=base,
        answers=result.answers,
        notes=result.notes,
    )
    if result.conflicts:
        prepared.outcome = "failed"
        prepared.reason = (
            f"the update to {result.version} left conflicts in {', '.join(result.conflicts)}; "
            "nothing was pushed: run chitty-cicd update in a clone, resolve them and push by hand"
        )
        return prepared

    project_type = result.answers.get(PROJECT_TYPE_ANSWER)
    if job.types and project_type not in job.types:
        prepared.outcome = "skipped"
        prepared.reason = f"project type {project_type} is not in --type {','.join(job.types)}"
        return prepared

    if not gitops.status_paths(repo_dir):
        prepared.outcome = "up_to_date"
        return prepared

    _commit(prepared, repo_dir)
    return prepared


def _commit(prepared: Prepared, repo_dir: Path) -> None:
    version = prepared.version or "unknown"
    if prepared.operation == "copy":
        prepared.branch = INITIAL_BRANCH
        prepared.commit_message = INITIAL_COMMIT_MESSAGE
    else:
        prepared.branch = UPDATE_BRANCH.format(version=version)
        prepared.commit_message = UPDATE_COMMIT_MESSAGE.format(version=version)

    prepared.commit = gitops.commit_all(repo_dir, prepared.branch, prepared.commit_message)
    prepared.files = gitops.changed_files(repo_dir, prepared.base or "HEAD", prepared.commit)


def describe_unexpected(error: Exception, repo_dir: Path) -> str:
    """Save the traceback being handled beside repo_dir and return a one-line reason naming it."""
    log_path = repo_dir.with_name(repo_dir.name + ".error.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(traceback.format_exc(), encoding="utf-8")
    return f"{type(error).__name__}: {error} (traceback in {log_path})"


def repo_dir_for(workdir: Path, name: str) -> Path:
    """Return where OWNER/REPO is cloned.

    The clone's directory is named after the repository, because the template's detection
    may take the project name from it.
    """
    return workdir.joinpath(*(_safe_name(part) for part in name.split("/")))


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return cleaned.lstrip(".") or "_"
