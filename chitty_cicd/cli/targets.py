"""The repositories a bulk run works on: from organizations, paths, clone URLs or a file."""

from __future__ import annotations

import fnmatch
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chitty_cicd.errors import ChittyError
from chitty_cicd.github_api import GitHubClient, GitHubError

_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SCP_URL = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):(?P<path>.+)$")


@dataclass
class Target:
    """One repository to work on.

    `full_name` is set when the repository is on the GitHub server of the API in use, so a
    pull request can be opened. `skip_reason` is set when the repository must be left alone.
    """

    key: str
    name: str
    clone_url: str
    full_name: str | None = None
    default_branch: str | None = None
    skip_reason: str | None = None


def targets_from_org(client: GitHubClient, org: str, protocol: str) -> list[Target]:
    try:
        repos = client.list_org_repositories(org)
    except GitHubError as error:
        raise ChittyError(f"cannot list the repositories of {org}: {error}") from error
    return [_target_from_api(repo, protocol) for repo in repos]


def targets_from_args(
    specs: Sequence[str], client: GitHubClient | None, web_host: str, protocol: str
) -> list[Target]:
    """Resolve each PATH, CLONE_URL or OWNER/REPO, looking GitHub repositories up through the API."""
    targets = []
    for spec in specs:
        full_name = github_full_name(spec, web_host)
        if full_name is None:
            targets.append(_local_target(spec))
            continue
        if client is None:
            raise ChittyError(f"{spec} is a GitHub repository, which needs a token to open a pull request")
        try:
            repo = client.get_repository(full_name)
        except GitHubError as error:
            raise ChittyError(f"cannot look up {spec}: {error}") from error
        target = _target_from_api(repo, protocol)
        if not _SLUG.match(spec):
            target.clone_url = spec  # keep the clone URL the user gave (SSH or HTTPS)
        targets.append(target)
    return targets


def read_repos_file(path: Path) -> list[str]:
    """Read one path or clone URL per line, ignoring blank lines and # comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ChittyError(f"cannot read the repositories file: {error.strerror}", path=path) from error
    # "#" starts a comment at the start of a line or after whitespace; URLs may contain "#" otherwise.
    specs = (re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip() for line in text.splitlines())
    return [spec for spec in specs if spec]


def github_full_name(spec: str, web_host: str) -> str | None:
    """Return OWNER/REPO when spec names a repository on web_host, else None."""
    if Path(spec).exists():
        return None
    if _SLUG.match(spec):
        return spec

    scp = _SCP_URL.match(spec)
    if scp:
        host, path = scp["host"], scp["path"]
    else:
        parts = urllib.parse.urlsplit(spec)
        host, path = parts.netloc.rsplit("@", 1)[-1], parts.path
    if host != web_host:
        return None
    path = path.strip("/").removesuffix(".git")
    return path if _SLUG.match(path) else None


def apply_filters(targets: Iterable[Target], include: Sequence[str], exclude: Sequence[str]) -> list[Target]:
    """Set skip_reason on targets left out by --include or --exclude, and drop duplicates."""
    seen: set[str] = set()
    result = []
    for target in targets:
        if target.key in seen:
            continue
        seen.add(target.key)
        names = {target.name, target.name.rsplit("/", 1)[-1]}
        if include and not any(fnmatch.fnmatchcase(n, p) for n in names for p in include):
            target.skip_reason = target.skip_reason or "not matched by --include"
        for pattern in exclude:
            if any(fnmatch.fnmatchcase(n, pattern) for n in names):
                target.skip_reason = target.skip_reason or f"excluded by --exclude {pattern}"
        result.append(target)
    return result


def _target_from_api(repo: dict[str, Any], protocol: str) -> Target:
    full_name = repo["full_name"]
    clone_url = repo.get("ssh_url") if protocol == "ssh" else repo.get("clone_url")
    target = Target(
        key=full_name,
        name=full_name,
        clone_url=clone_url or "",
        full_name=full_name,
        default_branch=repo.get("default_branch"),
    )
    if repo.get("archived"):
        target.skip_reason = "archived"
    elif repo.get("fork"):
        target.skip_reason = "fork"
    elif repo.get("disabled"):
        target.skip_reason = "disabled"
    return target


def _local_target(spec: str) -> Target:
    path = Path(spec)
    if path.exists():
        clone_url = str(path.resolve())
        parts = path.resolve().parts
    else:
        clone_url = spec
        parts = tuple(re.split(r"[/:]", spec.rstrip("/")))
    name = "/".join(part.removesuffix(".git") for part in parts[-2:])
    return Target(key=clone_url, name=name, clone_url=clone_url)
