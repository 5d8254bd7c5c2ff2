"""Release notes of the template between two versions, and the Markdown summary of an update."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from chitty_cicd.update_checks import git_succeeds, git_url, is_url, run_git

if TYPE_CHECKING:
    from chitty_cicd.update import UpdateResult

CHANGELOG_FILE = "CHANGELOG.md"
_RELEASE_HEADING = re.compile(r"^## \[?v?(?P<version>[0-9][^\]\s]*)\]?", re.MULTILINE)


def fetch_changelog(src: str, commit: str) -> str:
    """Return the template's CHANGELOG.md at commit, or "" when it cannot be read."""
    url = git_url(src)
    if not is_url(src):
        return run_git(Path(url).expanduser(), "show", f"{commit}:{CHANGELOG_FILE}", check=False)

    # One shallow clone without file contents, then one file from it.
    with tempfile.TemporaryDirectory(prefix="chitty-changelog.") as scratch:
        clone = ["clone", "--quiet", "--depth=1", "--no-checkout", "--filter=blob:none"]
        if not git_succeeds(Path(scratch), *clone, "--branch", commit, url, "template"):
            return ""
        return run_git(Path(scratch) / "template", "show", f"HEAD:{CHANGELOG_FILE}", check=False)


def changelog_between(text: str, old_version: str, new_version: str) -> str:
    """Return the `## [X.Y.Z]` sections of a Keep a Changelog text with old < X.Y.Z <= new."""
    from packaging.version import InvalidVersion, Version

    try:
        low, high = Version(old_version), Version(new_version)
    except InvalidVersion:
        return ""
    headings = list(_RELEASE_HEADING.finditer(text))
    sections = []
    for number, heading in enumerate(headings):
        try:
            version = Version(heading.group("version"))
        except InvalidVersion:
            continue
        if low < version <= high:
            end = headings[number + 1].start() if number + 1 < len(headings) else _links_start(text)
            sections.append(text[heading.start() : max(end, heading.end())].strip())
    return "\n\n".join(sections)


def _links_start(text: str) -> int:
    # Keep a Changelog ends with link definitions such as `[1.0.0]: https://...`.
    links = re.search(r"^\[[^\]]+\]: \S+", text, re.MULTILINE)
    return links.start() if links else len(text)


def summary_markdown(result: UpdateResult) -> str:
    """Describe an update in Markdown, as the body of its pull request."""
    lines = [
        f"Updates the CI/CD templates from {result.old_commit} to {result.new_commit} "
        f"(template: `{result.template}`).",
        "",
        "## What changed in the template",
        "",
    ]
    if result.changelog:
        # One level down, so each release sits under the heading above.
        lines.append(re.sub(r"^(#+) ", r"#\1 ", result.changelog, flags=re.MULTILINE))
    else:
        lines.append(f"The template has no {CHANGELOG_FILE} entry for these releases.")
    lines += ["", "## Files changed in this repository", ""]
    lines += [f"- `{path}`" for path in result.changed_files] or ["- none"]
    if result.restored_files:
        lines += ["", "Kept as this repository's own, as committed:", ""]
        lines += [f"- `{path}`" for path in result.restored_files]
    return "\n".join(lines) + "\n"
