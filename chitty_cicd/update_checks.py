"""Preflight checks of a repository before `copier update`: each failure names its fix.

Every check only reads, so a repository that fails one is left exactly as it was.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from chitty_cicd.errors import ChittyError
from chitty_cicd.gitops import status_paths

ANSWERS_FILE = ".copier-answers.yml"
# Copier labels the two sides of an inline conflict with these lines (copier 9.19.1, _main.py).
CONFLICT_START = "<<<<<<< before updating"
CONFLICT_END = ">>>>>>> after updating"
REACH_TIMEOUT_SECONDS = 60
_LISTED_PATHS = 5
_URL_PREFIXES = ("gh:", "gl:", "git@", "git+", "ssh://", "http://", "https://", "git://", "file://")


def check_destination(root: Path) -> dict[str, Any]:
    """Check that root can be updated and return its recorded answers.

    The checks: a git work tree with a commit, no uncommitted or untracked files, no
    conflict markers committed from an earlier update, and an answers file that records
    where the template lives (an absolute path or a URL) and which release made it.
    """
    if not root.is_dir():
        raise ChittyError("is not a directory; give the path of a generated repository", path=root)
    probe = run_git(root, "rev-parse", "--is-inside-work-tree", check=False)
    if probe.strip() != "true":
        raise ChittyError(
            "is not a git repository, and `copier update` merges through git history: "
            "run `git init && git add --all && git commit -m 'Add CI/CD'` first",
            path=root,
        )
    if not git_succeeds(root, "rev-parse", "--verify", "--quiet", "HEAD"):
        raise ChittyError("has no commit yet; commit the generated files, then run again", path=root)

    _check_clean(root)
    _check_no_committed_conflicts(root)
    answers = _load_answers_file(root)
    _check_src_path(root, answers)
    return answers


def _check_clean(root: Path) -> None:
    dirty = changed_paths(root)
    if dirty:
        raise ChittyError(
            f"has uncommitted changes ({_first_paths(dirty)}), and an update must start from "
            "a clean tree so that `git diff` shows exactly what it changed: commit them, or "
            "stash them with `git stash --include-untracked`, then run again",
            path=root,
        )


def _check_no_committed_conflicts(root: Path) -> None:
    # Only whole marker lines count, so a document that quotes the marker is no conflict.
    pattern = f"^{CONFLICT_START}[[:space:]]*$"
    found = run_git(root, "grep", "-l", "-E", "-e", pattern, "HEAD", "--", ".", check=False)
    paths = [line.split(":", 1)[1] for line in found.splitlines() if ":" in line]
    if paths:
        raise ChittyError(
            f"has conflict markers from an earlier update committed in {_first_paths(paths)}; "
            f"resolve each `{CONFLICT_START}` block, commit, then run again",
            path=root,
        )


def _load_answers_file(root: Path) -> dict[str, Any]:
    path = root / ANSWERS_FILE
    if not path.is_file():
        deleted_in = run_git(
            root, "log", "-1", "--format=%h", "--diff-filter=D", "--", ANSWERS_FILE, check=False
        ).strip()
        if deleted_in:
            fix = (
                f"it was deleted in commit {deleted_in}: restore it with "
                f"`git checkout {deleted_in}^ -- {ANSWERS_FILE}`, commit, then run again"
            )
        else:
            fix = (
                "this repository was not generated from cicd-templates: run "
                "`copier copy --trust TEMPLATE_URL .` to generate it first"
            )
        raise ChittyError(f"not found, so Copier cannot tell which template made it; {fix}", path=path)

    problem = answers_problem(path.read_text(encoding="utf-8"))
    if problem:
        raise ChittyError(f"{problem}, which Copier needs for the update; {_answers_fix(root)}", path=path)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def answers_problem(text: str) -> str | None:
    """Return what is wrong with the text of an answers file, or None when it is usable."""
    try:
        answers = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return f"is not valid YAML{where} ({getattr(error, 'problem', None) or error})"
    if not isinstance(answers, dict):
        return "does not contain a YAML mapping of answers"
    for key in ("_src_path", "_commit"):
        if not isinstance(answers.get(key), str) or not answers[key].strip():
            return f"has no `{key}` value"
    return None


def _answers_fix(root: Path) -> str:
    # The newest committed version that still parses is the usual undo of a hand edit.
    history = run_git(root, "log", "-20", "--format=%h", "--", ANSWERS_FILE, check=False).split()
    for commit in history:
        old_text = run_git(root, "show", f"{commit}:./{ANSWERS_FILE}", check=False)
        if old_text and answers_problem(old_text) is None:
            return (
                f"undo the hand edit with `git checkout {commit} -- {ANSWERS_FILE}`, commit, "
                "and change answers only with `--data KEY=VALUE` on the update"
            )
    return (
        f"restore the file from the commit that generated it (`git log -- {ANSWERS_FILE}`) "
        "and change answers only with `--data KEY=VALUE` on the update"
    )


def _check_src_path(root: Path, answers: Mapping[str, Any]) -> None:
    src = str(answers["_src_path"])
    if is_url(src) or Path(src).expanduser().is_absolute():
        return

    # Copier resolves a relative path from the directory it runs in, not from the answers
    # file, so the same repository updates from one directory and fails from another.
    candidate = (root / src).resolve()
    example = str(candidate) if candidate.is_dir() else "/path/to/cicd-templates"
    raise ChittyError(
        f"`_src_path` is the relative path '{src}', which Copier resolves from whatever "
        f"directory it runs in; set it to the template's URL or absolute path (e.g. "
        f"`_src_path: {example}`), commit, then run again",
        path=root / ANSWERS_FILE,
    )


def is_url(src: str) -> bool:
    """Tell whether a `_src_path` value is a URL or Copier shorthand rather than a path."""
    return src.startswith(_URL_PREFIXES) or "://" in src


def git_url(src: str) -> str:
    """Expand Copier's `gh:` and `gl:` shorthands into URLs that git accepts."""
    for prefix, host in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/")):
        if src.startswith(prefix):
            url = host + src[len(prefix) :].lstrip("/")
            return url if url.endswith(".git") else url + ".git"
    return src.removeprefix("git+")


def check_template_reachable(src: str) -> None:
    """Raise ChittyError when git cannot list the template repository's tags."""
    url = git_url(src)
    if not is_url(src) and not Path(url).expanduser().exists():
        raise ChittyError(
            f"the template '{src}' recorded as `_src_path` in {ANSWERS_FILE} does not exist; "
            "clone the template there, or set `_src_path` to its URL, commit, then run again"
        )
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
    try:
        probe = subprocess.run(
            ["git", "ls-remote", "--tags", url],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=REACH_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise ChittyError(
            f"listing the tags of the template '{src}' timed out after {REACH_TIMEOUT_SECONDS} s; "
            "check your network and access, then run again"
        ) from error
    if probe.returncode != 0:
        raise ChittyError(
            f"the template '{src}' recorded as `_src_path` in {ANSWERS_FILE} cannot be reached "
            f"({last_line(probe.stderr)}); check the URL and your access with "
            f"`git ls-remote {url}`, or set `_src_path` to where the template lives now, "
            "commit, then run again"
        )


def run_git(root: Path, *args: str, check: bool = True) -> str:
    """Run git in root and return its output; raise ChittyError on failure when check is set."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise ChittyError(f"git {args[0]} failed: {last_line(result.stderr)}", path=root)
    return result.stdout


def git_succeeds(root: Path, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False).returncode == 0


def _first_paths(paths: list[str]) -> str:
    shown = ", ".join(paths[:_LISTED_PATHS])
    more = len(paths) - _LISTED_PATHS
    return f"{shown} and {more} more" if more > 0 else shown


def last_line(text: str) -> str:
    """Return the last non-blank line of a command's output, for an error message."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def changed_paths(root: Path) -> list[str]:
    """List paths under root that differ from HEAD, untracked files included, relative to root."""
    return status_paths(root)
