"""Options and setup shared by the subcommands: token, API client, template version, targets."""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from chitty_cicd import gitops
from chitty_cicd.cli import targets as targets_module
from chitty_cicd.cli.targets import Target
from chitty_cicd.errors import ChittyError
from chitty_cicd.github_api import DEFAULT_API_URL, GitHubClient, resolve_token, web_host_for
from chitty_cicd.ledger import default_ledger_path

DEFAULT_TEMPLATE = "gh:ChittyOS/cicd-templates"
_SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}


class UsageError(ChittyError):
    """A bad command line or setup, for which the command exits with status 2."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-url",
        default=os.environ.get("GITHUB_API_URL", DEFAULT_API_URL),
        help="GitHub REST API root; set it for GitHub Enterprise "
        f"(default: $GITHUB_API_URL or {DEFAULT_API_URL})",
    )
    parser.add_argument(
        "--template",
        default=os.environ.get("CHITTY_CICD_TEMPLATE", DEFAULT_TEMPLATE),
        help="Copier template source, recorded in each answers file "
        f"(default: $CHITTY_CICD_TEMPLATE or {DEFAULT_TEMPLATE})",
    )
    parser.add_argument(
        "--vcs-ref", help="template tag, branch or commit to use (default: the latest version tag)"
    )
    parser.add_argument(
        "--git-protocol",
        choices=("https", "ssh"),
        default="https",
        help="how to clone organization repositories (default: https, with the token)",
    )


def add_clone_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="keep a bare mirror of each repository here and clone from it; without it clones are shallow",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="directory for the clones (default: a temporary directory, removed afterwards)",
    )


def add_ledger_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        type=Path,
        default=default_ledger_path(),
        help="file recording each repository's last outcome (default: %(default)s)",
    )
    parser.add_argument("--no-ledger", action="store_true", help="neither read nor write the ledger")


def parse_data(pairs: Sequence[str]) -> dict[str, str]:
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data {pair!r} is not KEY=VALUE; write e.g. --data project_type=node")
        data[key.strip()] = value
    return data


PROJECT_TYPES = ("node", "python", "rust", "go")
_COPIER_YML = Path(__file__).resolve().parents[2] / "copier.yml"


def check_types(values: Sequence[str]) -> None:
    """Raise UsageError for a --type value that is not a project type."""
    for value in values:
        for project_type in filter(None, value.split(",")):
            if project_type not in PROJECT_TYPES:
                raise UsageError(f"--type {project_type!r} is not one of {', '.join(PROJECT_TYPES)}")


def check_data_keys(data: Mapping[str, Any]) -> None:
    """Raise UsageError for a --data key that is not a question of this checkout's copier.yml.

    Copier itself accepts an unknown key silently, so a typo would change nothing.
    """
    if not _COPIER_YML.is_file():
        return
    questions = {
        key
        for key in (yaml.safe_load(_COPIER_YML.read_text(encoding="utf-8")) or {})
        if not key.startswith("_")
    }
    unknown = sorted(set(data) - questions)
    if unknown:
        raise UsageError(
            f"--data {unknown[0]} is not a question of the template; known: {', '.join(sorted(questions))}"
        )


def read_specs(path: Path) -> list[str]:
    return targets_module.read_repos_file(path)


@dataclass
class Setup:
    """The template, version, token and API client that every repository of a run shares."""

    template: str
    vcs_ref: str | None
    version_label: str
    template_commit: str | None
    web_host: str
    protocol: str
    token: str | None = field(default=None, repr=False)
    client: GitHubClient | None = None
    git_env: dict[str, str] = field(default_factory=dict, repr=False)


def needs_api(orgs: Sequence[str], specs: Sequence[str], api_url: str) -> bool:
    web_host = web_host_for(api_url)
    return bool(orgs) or any(targets_module.github_full_name(s, web_host) for s in specs)


def prepare_setup(args: argparse.Namespace, *, needs_api: bool) -> Setup:
    """Check git, then resolve the template version and the token. Raise UsageError when one is missing."""
    _check_git_identity()
    if not re.match(r"^https?://[^/\s]+", args.api_url):
        raise UsageError(
            f"--api-url {args.api_url!r} is not an http(s) URL; e.g. https://github.example.com/api/v3"
        )
    vcs_ref, label, commit = resolve_template_ref(args.template, args.vcs_ref)
    web_host = web_host_for(args.api_url)
    setup = Setup(args.template, vcs_ref, label, commit, web_host, args.git_protocol)
    if not needs_api:
        return setup

    token, source = resolve_token(web_host)
    if token is None:
        raise UsageError(f"no GitHub token: {source}; set GITHUB_TOKEN or run gh auth login")
    setup.token = token
    setup.client = GitHubClient(args.api_url, token)
    if args.git_protocol == "https":
        setup.git_env = gitops.auth_env(token, web_host)
    return setup


def resolve_targets(
    setup: Setup, orgs: Sequence[str], specs: Sequence[str], include: Sequence[str], exclude: Sequence[str]
) -> list[Target]:
    found: list[Target] = []
    for org in orgs:
        assert setup.client is not None
        found += targets_module.targets_from_org(setup.client, org, setup.protocol)
    found += targets_module.targets_from_args(specs, setup.client, setup.web_host, setup.protocol)
    return targets_module.apply_filters(found, include, exclude)


def run_key(setup: Setup, data: dict[str, str], types: Sequence[str]) -> str:
    """Identify what a run applies, so the ledger only counts earlier runs that did the same."""
    material = json.dumps([setup.template, setup.vcs_ref, setup.template_commit, data, sorted(types)])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def resolve_template_ref(template: str, vcs_ref: str | None) -> tuple[str | None, str, str | None]:
    """Return the ref to render, a label for it and its commit, as `copier copy` would choose.

    Without vcs_ref the ref is the highest PEP 440 version tag that is not a pre-release,
    or HEAD when the template has none. A directory that is not a git repository has no ref.
    """
    url = expand_template(template)
    if Path(url).is_dir() and not (Path(url) / ".git").exists() and not _is_bare_repo(Path(url)):
        return None, "(a directory without git: no version)", None

    listing = subprocess.run(["git", "ls-remote", url], capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        detail = listing.stderr.strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"template {template} not found or not a git repository: {detail[0]}")
    pairs = (line.split("\t", 1) for line in listing.stdout.splitlines() if "\t" in line)
    refs = {ref: commit for commit, ref in pairs}

    if vcs_ref is not None:
        commit = (
            refs.get(f"refs/tags/{vcs_ref}^{{}}")
            or refs.get(f"refs/tags/{vcs_ref}")
            or refs.get(f"refs/heads/{vcs_ref}")
        )
        if commit is None and not re.fullmatch(r"[0-9a-f]{7,40}", vcs_ref):
            raise UsageError(f"--vcs-ref {vcs_ref!r} is not a tag or branch of the template {template}")
        return vcs_ref, vcs_ref, commit or vcs_ref

    versions = []
    for ref in refs:
        if ref.startswith("refs/tags/") and not ref.endswith("^{}"):
            tag = ref.removeprefix("refs/tags/")
            try:
                version = Version(tag)
            except InvalidVersion:
                continue
            if not version.is_prerelease:
                versions.append((version, tag))
    if not versions:
        return "HEAD", "HEAD (no version tags)", refs.get("HEAD")
    tag = max(versions)[1]
    return tag, tag, refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")


def expand_template(template: str) -> str:
    for prefix, base in _SHORTHANDS.items():
        if template.startswith(prefix):
            return base + template.removeprefix(prefix).removesuffix(".git") + ".git"
    return template


def process_context() -> BaseContext:
    """Return a forkserver context that imports Copier once, so each worker process starts quickly."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["chitty_cicd.cli.prepare", "copier"])
    return context


def _is_bare_repo(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _check_git_identity() -> None:
    probe = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise UsageError(
            "git has no commit identity; set one with git config --global user.name NAME "
            "and git config --global user.email EMAIL"
        )
