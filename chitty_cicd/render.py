"""Render the template into one repository in-process: Copier copy or update, then the post-render steps.

Copier changes the process-wide working directory while it renders. So one process may
render only one repository at a time, and the bulk tool runs renders in a process pool.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chitty_cicd.errors import ChittyError
from chitty_cicd.tasks import run_post_render
from chitty_cicd.update import UpdateConflictError, read_answers, update_repository

ANSWERS_FILE = ".copier-answers.yml"


@dataclass
class RenderResult:
    """What one render did: the operation, the answers it recorded and any update conflicts."""

    operation: str
    answers: dict[str, Any]
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def version(self) -> str | None:
        commit = self.answers.get("_commit")
        return str(commit) if commit is not None else None


def render_repository(
    template: str, repo_dir: Path, *, data: Mapping[str, Any], vcs_ref: str | None
) -> RenderResult:
    """Copy the template into repo_dir, or update it when repo_dir has an answers file.

    An update takes the template from the answers file's `_src_path`, as `copier update`
    does. Copier exits normally after an update that conflicts, so the conflicting paths
    are returned and the post-render steps are not run.
    """
    repo_dir = repo_dir.resolve()
    if (repo_dir / ANSWERS_FILE).is_file():
        return _update(repo_dir, data, vcs_ref)

    _run_copier("copy", template, repo_dir, dict(data), vcs_ref)
    answers = read_answers(repo_dir)
    plan, _written = run_post_render(repo_dir, answers)
    return RenderResult("copy", answers, notes=list(plan.notes))


def _update(repo_dir: Path, data: Mapping[str, Any], vcs_ref: str | None) -> RenderResult:
    """Update through chitty_cicd.update: its checks, kept-file restore and conflict report."""
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            update_repository(repo_dir, data, vcs_ref)
    except UpdateConflictError as error:
        return RenderResult("update", read_answers(repo_dir), conflicts=list(error.conflicts))
    return RenderResult("update", read_answers(repo_dir))


_checkouts: dict[tuple[str, str], str] = {}


def reuse_template_checkouts(cache_dir: Path) -> None:
    """Make Copier check out each template ref once per process, not once per render.

    Copier clones the template into a temporary directory for every copy or update, which
    costs more than the render itself when many repositories are rendered. This replaces
    the `clone` function Copier's template loader calls with one that keeps the first
    checkout of each (source, ref) under cache_dir and returns it again; Copier then deletes
    only the empty directory it had made for the clone.

    NOTE: this patches `copier._template.clone`, an internal of Copier 9.19 (pinned in
    pyproject.toml); re-check it, and the test that runs an update, when upgrading Copier.
    """
    from copier import _template

    real_clone = getattr(_template.clone, "real_clone", _template.clone)

    def clone_once(url: str, ref: str = "HEAD", location: str | None = None) -> str:
        key = (url, ref)
        if key not in _checkouts or not Path(_checkouts[key]).is_dir():
            target = cache_dir / f"template-{os.getpid()}-{len(_checkouts)}"
            target.mkdir(parents=True)
            _checkouts[key] = real_clone(url, ref, location=str(target))
        return _checkouts[key]

    clone_once.real_clone = real_clone  # type: ignore[attr-defined]
    _template.clone = clone_once


_compiled: dict[tuple[Any, ...], Any] = {}
MAX_COMPILED_TEMPLATES = 10_000


def reuse_compiled_templates() -> None:
    """Let every Jinja environment in this process reuse the code it compiled for a source.

    Copier builds a new Jinja environment per render and compiles every copier.yml
    expression and template file again, which took most of a render's CPU time in the
    benchmark under bench/. Compiled code depends only on the source and on the
    environment's syntax settings and extensions, which form the cache key. Filters,
    globals and the undefined type are looked up when the code runs.
    """
    import jinja2

    real_compile: Any = getattr(jinja2.Environment.compile, "real_compile", jinja2.Environment.compile)

    def compile_once(
        self: jinja2.Environment,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if not isinstance(source, str):
            return real_compile(self, source, name, filename, raw, defer_init)
        key = (source, name, filename, raw, defer_init, _syntax_of(self, name))
        code = _compiled.get(key)
        if code is None:
            code = real_compile(self, source, name, filename, raw, defer_init)
            if len(_compiled) < MAX_COMPILED_TEMPLATES:
                _compiled[key] = code
        return code

    compile_once.real_compile = real_compile  # type: ignore[attr-defined]
    jinja2.Environment.compile = compile_once  # type: ignore[method-assign]


def _syntax_of(environment: Any, name: str | None) -> tuple[Any, ...]:
    """Return the settings of a Jinja environment that change the code a source compiles to."""
    autoescape = environment.autoescape
    return (
        type(environment),
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        tuple(sorted(environment.extensions)),
        environment.optimized,
        autoescape(name) if callable(autoescape) else autoescape,
        environment.finalize is not None,
        environment.is_async,
    )


def detect_answers(
    template: str, repo_dir: Path, *, vcs_ref: str | None, data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the answers a copy would record for repo_dir, detected by the template; write nothing."""
    worker = _run_copier("pretend", template, repo_dir.resolve(), dict(data or {}), vcs_ref)
    combined = worker.answers.combined
    return {name: combined[name] for name in worker.template.questions_data if name in combined}


def _run_copier(
    operation: str, template: str, repo_dir: Path, data: dict[str, Any], vcs_ref: str | None
) -> Any:
    """Run Copier's copy ("pretend" writes nothing); return Copier's worker."""
    import copier

    # Copier prints progress and warns about trusted templates even when quiet; the bulk
    # tool reports each repository's outcome itself.
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        try:
            return _copier_copy(copier, template, repo_dir, data, vcs_ref, operation)
        except ValueError as error:
            raise _answer_error(error) from error


_VALIDATION_PREFIX = re.compile(r"^Validation error for question '[^']+': ")


def _answer_error(error: ValueError) -> Exception:
    """Turn Copier's error for a rejected answer into the message the validator wrote."""
    message = str(error)
    if _VALIDATION_PREFIX.match(message) or message.startswith("Invalid choice"):
        return ChittyError(_VALIDATION_PREFIX.sub("", message))
    return error


def _copier_copy(
    copier: Any, template: str, repo_dir: Path, data: dict[str, Any], vcs_ref: str | None, operation: str
) -> Any:
    return copier.run_copy(
        src_path=template,
        dst_path=repo_dir,
        data=data,
        defaults=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
        skip_tasks=True,
        pretend=operation == "pretend",
    )
