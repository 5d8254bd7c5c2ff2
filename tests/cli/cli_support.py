"""Repository contents and git helpers shared by the bulk tool's tests and fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fake_github import FakeGitHub

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PARTS = ("copier.yml", "template", "extensions", "chitty_cicd")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}

NODE_APP = {
    "package.json": json.dumps(
        {
            "name": "svc",
            "version": "1.0.0",
            "main": "index.js",
            "scripts": {"start": "node index.js", "test": "node --test"},
            "dependencies": {"express": "^4.19.2"},
        },
        indent=2,
    )
    + "\n",
    "index.js": "const express = require('express');\nexpress().listen(3000);\n",
}
PYTHON_APP = {
    "pyproject.toml": '[project]\nname = "pysvc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n',
    "app.py": "print('hello')\n",
}
OWN_CI = "name: Our own CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_IDENTITY},
    )
    return result.stdout


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def release_template(root: Path, tag: str, line: str = "# next template version") -> None:
    """Commit a template change (a line appended to the Dependabot config) and tag it."""
    dependabot = root / "template/.github/dependabot.yml.jinja"
    dependabot.write_text(dependabot.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    git(root, "commit", "--quiet", "--all", "--message", f"Template {tag}")
    git(root, "tag", tag)


@dataclass
class Remotes:
    """Creates bare repositories under root and lists them in the fake organization."""

    root: Path
    api: FakeGitHub

    def add(
        self,
        org: str,
        name: str,
        files: Mapping[str, str] | None,
        *,
        reject_push: bool = False,
        **repo_fields: object,
    ) -> Path:
        bare = self.root / org / f"{name}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        git(bare.parent, "init", "--quiet", "--bare", "--initial-branch=main", bare.name)
        if files is not None:
            seed = self.root / "seed" / org / name
            seed.mkdir(parents=True)
            git(seed, "init", "--quiet", "--initial-branch=main")
            write_files(seed, files)
            git(seed, "add", "--all")
            git(seed, "commit", "--quiet", "--message", "Initial commit")
            git(seed, "push", "--quiet", str(bare), "main")
        if reject_push:
            hook = bare / "hooks" / "pre-receive"
            hook.write_text("#!/bin/sh\necho 'pushes are frozen for this repository' >&2\nexit 1\n")
            hook.chmod(0o755)
        self.api.add_repo(org, name, bare.as_uri(), **repo_fields)
        return bare

    def branches(self, org: str, name: str) -> list[str]:
        output = git(
            self.root / org / f"{name}.git", "for-each-ref", "--format=%(refname:short)", "refs/heads"
        )
        return output.split()

    def show(self, org: str, name: str, rev: str, path: str) -> str:
        return git(self.root / org / f"{name}.git", "show", f"{rev}:{path}")

    def merge(self, org: str, name: str, branch: str) -> None:
        """Fast-forward main to branch and close its pull request, as a reviewer's merge would."""
        bare = self.root / org / f"{name}.git"
        git(bare, "update-ref", "refs/heads/main", f"refs/heads/{branch}")
        for pull in self.api.open_pulls(f"{org}/{name}"):
            if pull["head"]["ref"] == branch:
                pull["state"] = "closed"

    def commit_on_main(self, org: str, name: str, files: Mapping[str, str]) -> None:
        """Commit files on main, as a developer pushing to the repository would."""
        work = self.root / "work" / org / name
        shutil.rmtree(work, ignore_errors=True)
        git(self.root, "clone", "--quiet", str(self.root / org / f"{name}.git"), str(work))
        write_files(work, files)
        git(work, "add", "--all")
        git(work, "commit", "--quiet", "--message", "Local change")
        git(work, "push", "--quiet", "origin", "main")

    def is_ancestor(self, org: str, name: str, older: str, newer: str) -> bool:
        bare = self.root / org / f"{name}.git"
        result = subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=bare, check=False)
        return result.returncode == 0

    def rev(self, org: str, name: str, ref: str) -> str:
        return git(self.root / org / f"{name}.git", "rev-parse", ref).strip()

    def subject(self, org: str, name: str, rev: str) -> str:
        return git(self.root / org / f"{name}.git", "log", "-1", "--format=%s", rev).strip()
