"""The generated paths: those the template renders and those it merges into the user's files."""

from __future__ import annotations

import re
from pathlib import Path

# Every file the template may render. A destination that already has one of these,
# written by someone else, keeps it as its own (the `kept_files` answer).
RENDERED_PATHS = (
    ".github/workflows/ci.yml",
    ".github/workflows/deploy.yml",
    ".github/workflows/security.yml",
    ".github/workflows/dependency-update.yml",
    ".github/workflows/ci-metrics.yml",
    ".github/workflows/template-update.yml",
    ".github/dependabot.yml",
)

# Files the post-render steps merge into instead of rendering; copier.yml lists the
# same paths in `_skip_if_exists` so Copier's update diff leaves them to the steps.
MERGED_PATHS = (
    ".env.example",
    ".github/CODEOWNERS",
    "package.json",
    "wrangler.toml",
    "wrangler.json",
    "wrangler.jsonc",
    "vercel.json",
)

# Every rendered file carries this text in its header comment.
GENERATED_MARKER = "Generated from cicd-templates"
_MARKER_SEARCH_BYTES = 2048


def is_generated(path: Path) -> bool:
    """Tell whether a file was rendered by this template, by its header marker."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_MARKER_SEARCH_BYTES)
    except OSError:
        return False
    return GENERATED_MARKER.encode() in head


def _variants(relpath: str) -> tuple[str, ...]:
    # GitHub reads both .yml and .yaml: a user's ci.yaml is their CI as much as ci.yml.
    if relpath.endswith(".yml"):
        return (relpath, relpath[: -len(".yml")] + ".yaml")
    return (relpath,)


def user_owned_paths(root: Path) -> list[str]:
    """List rendered paths whose file, or its .yaml twin, exists in root and is not ours."""
    owned = []
    for relpath in RENDERED_PATHS:
        existing = [root / variant for variant in _variants(relpath) if (root / variant).exists()]
        if existing and not all(is_generated(path) for path in existing):
            owned.append(relpath)
    return owned


_GITIGNORE_SPECIAL = re.compile(r"([\\*?\[\]!# ])")


def literal_pattern(relpath: str) -> str:
    """Return a gitignore pattern that matches exactly this repository-relative path."""
    return "/" + _GITIGNORE_SPECIAL.sub(r"\\\1", relpath.strip("/"))
