"""Git commands of the bulk tool: clone, branch, commit and push. Nothing is force-pushed."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from chitty_cicd.errors import ChittyError

# The reason apply and preflight give for skipping a repository without commits.
EMPTY_REPOSITORY = "empty repository (no commits)"

GIT_TIMEOUT_SECONDS = 600


class GitError(ChittyError):
    """A git command that failed, with git's own last lines of output in the message."""


def auth_env(token: str | None, web_host: str) -> dict[str, str]:
    """Return environment variables that send the token with HTTPS git requests to web_host.

    The header goes through GIT_CONFIG_* variables rather than the command line, so the
    token does not show in process listings or in any command echoed in an error.
    """
    env = {"GIT_TERMINAL_PROMPT": "0"}
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.https://{web_host}/.extraheader",
            GIT_CONFIG_VALUE_0=f"AUTHORIZATION: basic {basic}",
        )
    return env


def run_git(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run git with args in cwd, and raise GitError with git's message if it fails and check is set."""
    full_env = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise GitError(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS} s") from error
    if check and result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {_last_lines(result.stderr or result.stdout)}")
    return result


def clone(
    url: str,
    dest: Path,
    *,
    branch: str | None = None,
    cache_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Clone url into dest, shallow or from a bare mirror under cache_dir that is kept up to date."""
    branch_args = ["--branch", branch] if branch else []
    if cache_dir is not None:
        mirror = _refresh_mirror(url, cache_dir, env)
        run_git(["clone", "--shared", "--no-tags", *branch_args, str(mirror), str(dest)], dest.parent)
        run_git(["remote", "set-url", "origin", url], dest)
        return

    if Path(url).is_dir():
        # A local path: git ignores --depth there and hard-links the objects instead.
        run_git(["clone", "--no-tags", *branch_args, url, str(dest)], dest.parent, env)
        return
    run_git(["clone", "--depth", "1", "--no-tags", *branch_args, url, str(dest)], dest.parent, env)


def _refresh_mirror(url: str, cache_dir: Path, env: Mapping[str, str] | None) -> Path:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", re.split(r"[/:]", url.rstrip("/"))[-1])
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    mirror = cache_dir / f"{name}-{digest}"
    if mirror.exists():
        run_git(["fetch", "--prune", "origin", "+refs/heads/*:refs/heads/*"], mirror, env)
    else:
        cache_dir.mkdir(parents=True, exist_ok=True)
        run_git(["clone", "--bare", "--no-tags", url, str(mirror)], cache_dir, env)
    return mirror


def remote_is_empty(url: str, env: Mapping[str, str] | None = None) -> bool:
    """Tell whether the repository at url has no branches. An unreachable one counts as not empty."""
    result = run_git(["ls-remote", "--heads", url], Path(tempfile.gettempdir()), env, check=False)
    return result.returncode == 0 and not result.stdout.strip()


def head_commit(repo: Path) -> str | None:
    """Return the commit HEAD points to, or None in a repository without commits."""
    result = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], repo, check=False)
    return result.stdout.strip() or None


def current_branch(repo: Path) -> str:
    return run_git(["symbolic-ref", "--short", "HEAD"], repo).stdout.strip()


def status_paths(repo: Path) -> list[str]:
    """List the paths under repo that `git status` reports as changed or untracked, relative to repo."""
    # Porcelain output names paths from the top of the work tree, which repo may be below.
    prefix = run_git(["rev-parse", "--show-prefix"], repo).stdout.strip()
    output = run_git(["status", "--porcelain", "-z", "--untracked-files=all", "--", "."], repo).stdout
    entries = output.split("\0")
    paths = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if not entry:
            continue
        paths.append(entry[3:].removeprefix(prefix))
        if entry[0] in "RC":
            index += 1  # a rename or copy is followed by its source path
    return paths


def commit_all(repo: Path, branch: str, message: str) -> str:
    """Switch to a new branch, commit every change on it and return the commit."""
    run_git(["switch", "--create", branch], repo)
    run_git(["add", "--all"], repo)
    run_git(["commit", "--quiet", "--no-verify", "--message", message], repo)
    return run_git(["rev-parse", "HEAD"], repo).stdout.strip()


def changed_files(repo: Path, base: str, head: str) -> list[tuple[str, str]]:
    """Return (status letter, path) for each file that differs between two commits."""
    output = run_git(["diff", "--name-status", "--no-renames", "-z", base, head], repo).stdout
    fields = [field for field in output.split("\0") if field]
    return list(zip(fields[0::2], fields[1::2], strict=True))


def remote_branch_tip(repo: Path, branch: str, env: Mapping[str, str] | None = None) -> str | None:
    """Return the commit of branch on origin, or None when origin has no such branch."""
    output = run_git(["ls-remote", "--heads", "origin", f"refs/heads/{branch}"], repo, env).stdout
    return output.split()[0] if output.strip() else None


def fetch_commit(repo: Path, branch: str, env: Mapping[str, str] | None = None) -> None:
    run_git(["fetch", "--depth", "1", "--no-tags", "origin", f"refs/heads/{branch}"], repo, env)


def tree_of(repo: Path, commit: str) -> str:
    return run_git(["rev-parse", f"{commit}^{{tree}}"], repo).stdout.strip()


def commit_on_top(repo: Path, commit: str, parents: list[str], message: str) -> str:
    """Create and return a commit with the tree of `commit` and the given parents.

    Publishing on top of an existing remote branch this way keeps the push a fast-forward.
    """
    tree = tree_of(repo, commit)
    parent_args = [arg for parent in parents for arg in ("-p", parent)]
    result = run_git(["commit-tree", tree, *parent_args, "-m", message], repo)
    return result.stdout.strip()


def push_branch(repo: Path, commit: str, branch: str, env: Mapping[str, str] | None = None) -> None:
    """Push commit to branch on origin as a fast-forward; git rejects anything else."""
    result = run_git(
        ["push", "--porcelain", "origin", f"{commit}:refs/heads/{branch}"], repo, env, check=False
    )
    if result.returncode != 0:
        # --porcelain puts the reason on a "!" line of stdout; hooks speak on "remote:" lines.
        rejected = [line.split("\t")[-1] for line in result.stdout.splitlines() if line.startswith("!")]
        remote = [line.strip() for line in result.stderr.splitlines() if line.startswith("remote:")]
        detail = " | ".join(rejected + remote[-3:]) or _last_lines(result.stderr)
        raise GitError(f"push to {branch} was rejected: {detail}")


def _last_lines(text: str, count: int = 3) -> str:
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Cloning into")
    ]
    return " | ".join(lines[-count:]) if lines else "no output"
