"""Merge the BEACON_* variables into .env.example, keeping every line the user wrote."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chitty_cicd.edits import Plan

ENV_EXAMPLE = ".env.example"
_HEADER = "# ChittyBeacon monitoring (SOP-003); BEACON_INTERVAL is in milliseconds."
# A key counts as present when it is set, exported or commented out on purpose.
_KEY = re.compile(r"^\s*#?\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def beacon_variables(answers: Mapping[str, Any]) -> dict[str, str]:
    """Return the BEACON_* variables and their example values for these answers."""
    return {
        "BEACON_ENDPOINT": str(answers.get("beacon_endpoint", "https://beacon.cloudeto.com")),
        "BEACON_INTERVAL": str(answers.get("beacon_interval_ms", 300000)),
        "BEACON_DISABLED": "false",
        "BEACON_VERBOSE": "false",
    }


def merge_env_text(existing: str | None, variables: Mapping[str, str]) -> str:
    """Append the variables missing from existing, in the file's own newline style."""
    text = existing or ""
    newline = "\r\n" if "\r\n" in text else "\n"
    present = {match.group(1) for line in text.splitlines() if (match := _KEY.match(line))}
    missing = [f"{key}={value}" for key, value in variables.items() if key not in present]
    if not missing:
        return text

    block = [_HEADER, *missing]
    if text and not text.endswith(("\n", "\r")):
        text += newline
    if text.strip():
        text += newline
    return text + newline.join(block) + newline


def plan_env_example(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    if not answers.get("beacon_enabled"):
        return
    existing = plan.current(root, ENV_EXAMPLE)
    merged = merge_env_text(existing, beacon_variables(answers))
    if merged != existing:
        plan.write(ENV_EXAMPLE, merged)
