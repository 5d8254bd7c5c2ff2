"""Request the Dependabot team's review through .github/CODEOWNERS, merged with existing rules.

Dependabot's `reviewers` option was retired in 2025; GitHub now requests reviews from the
code owners of the files a pull request changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pathspec import PathSpec
from pathspec.patterns import GitWildMatchPattern

from chitty_cicd.ecosystems import DEPENDABOT_FILES, GITHUB_ACTIONS_FILES
from chitty_cicd.edits import Plan

CODEOWNERS = ".github/CODEOWNERS"
# GitHub reads the first CODEOWNERS it finds in .github/, the root, then docs/.
_OTHER_LOCATIONS = ("CODEOWNERS", "docs/CODEOWNERS")
_HEADER = "# Dependabot pull requests: review by the DevOps team (cicd-templates)."


def team_handle(answers: Mapping[str, Any]) -> str:
    """Return the reviewers answer as a CODEOWNERS handle: @org/team, or @user as given."""
    reviewers = str(answers.get("dependabot_reviewers") or "DevOps-team").strip()
    if reviewers.startswith("@"):
        return reviewers
    if "/" in reviewers:
        return "@" + reviewers
    return f"@{answers.get('github_org') or 'ChittyOS'}/{reviewers}"


def _rules(text: str) -> list[tuple[str, list[str]]]:
    rules = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pattern, *owners = stripped.split()
        rules.append((pattern, owners))
    return rules


def _sample_path(pattern: str) -> str:
    # A concrete file the pattern stands for, to find the rule GitHub would apply to it.
    path = pattern.strip("/").replace("*", "x")
    return path + "/x.yml" if pattern.endswith("/") else path


def _current_owners(rules: list[tuple[str, list[str]]], pattern: str) -> list[str]:
    sample = _sample_path(pattern)
    owners: list[str] = []
    for rule_pattern, rule_owners in rules:
        if PathSpec.from_lines(GitWildMatchPattern, [rule_pattern]).match_file(sample):
            owners = rule_owners
    return owners


def merge_codeowners_text(existing: str | None, patterns: list[str], handle: str) -> str:
    """Add a rule per pattern that lacks the handle, keeping the owners GitHub applies today.

    CODEOWNERS applies the last matching rule, so an appended rule repeats the owners of
    the rule it overrides and adds the handle.
    """
    text = existing or ""
    rules = _rules(text)
    additions = []
    for pattern in patterns:
        owners = _current_owners(rules, pattern)
        if handle in owners:
            continue
        additions.append(" ".join([pattern, *owners, handle]))
    if not additions:
        return text

    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith(("\n", "\r")):
        text += newline
    if text.strip():
        text += newline
    return text + newline.join([_HEADER, *additions]) + newline


def plan_codeowners(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    project_type = str(answers.get("project_type") or "")
    if project_type not in DEPENDABOT_FILES:
        return
    elsewhere = [path for path in _OTHER_LOCATIONS if (root / path).is_file()]
    if elsewhere and not (root / CODEOWNERS).exists():
        plan.notes.append(
            f"{CODEOWNERS} not created: GitHub would then ignore {elsewhere[0]}. Add the line "
            f"'{DEPENDABOT_FILES[project_type][0]} {team_handle(answers)}' to {elsewhere[0]} "
            "to route Dependabot reviews."
        )
        return

    patterns = [f"/{name}" for name in DEPENDABOT_FILES[project_type]] + GITHUB_ACTIONS_FILES
    existing = plan.current(root, CODEOWNERS)
    merged = merge_codeowners_text(existing, patterns, team_handle(answers))
    if merged != existing:
        plan.write(CODEOWNERS, merged)
