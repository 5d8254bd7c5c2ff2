"""Add the ChittyBeacon package to a Node.js project's package.json dependencies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chitty_cicd import jsonc
from chitty_cicd.beacon.node_entry import WORKER, resolve_entry
from chitty_cicd.beacon.node_project import (
    BEACON_PACKAGE,
    BEACON_VERSION_RANGE,
    file_reader,
    nearest_package_json,
)
from chitty_cicd.edits import Plan
from chitty_cicd.errors import ChittyError

PACKAGE_JSON = "package.json"
_DECLARING_FIELDS = ("dependencies", "devDependencies", "optionalDependencies")


def plan_package_json(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    """Plan `@chittycorp/app-beacon` in dependencies, keeping any version already declared.

    The dependency goes into the package.json closest to the entry point, so a workspace
    package of a monorepo declares what it imports. Nothing is added when no entry point
    is wired (the beacon step notes why), nor for a Cloudflare Worker.
    """
    if answers.get("project_type") != "node" or not answers.get("beacon_enabled"):
        return
    read = file_reader(root, plan)
    entry = resolve_entry(root, read, answers)
    if entry.path is None:
        return
    if entry.kind == WORKER:
        plan.notes.append(
            f"{BEACON_PACKAGE} is not added for a Cloudflare Worker: the Workers runtime "
            "rejects requests and timers while a module loads, which a side-effect import "
            "needs, so the Worker sends its beacon from a generated helper module instead"
        )
        return

    relpath = nearest_package_json(read, entry.path) or PACKAGE_JSON
    text = read(relpath)
    if text is None:
        raise ChittyError(
            f"not found, so {BEACON_PACKAGE} cannot be declared; run `npm init` (or your "
            "package manager's init) or set beacon_enabled to false",
            path=relpath,
        )
    new_text = add_beacon_dependency(text, relpath)
    if new_text == text:
        _note_dev_dependency(text, relpath, plan)
        return

    plan.write(relpath, new_text)
    manager = answers.get("package_manager") or "npm"
    plan.notes.append(
        f"added {BEACON_PACKAGE}@{BEACON_VERSION_RANGE} to {relpath}; run `{manager} install` "
        "to update the lockfile (CI installs from the lockfile), with the `@chittycorp` scope "
        "pointed at the organization's registry in .npmrc"
    )


def add_beacon_dependency(text: str, relpath: str = PACKAGE_JSON) -> str:
    """Return package.json text with the beacon in dependencies, or text itself if declared."""
    value, tree = jsonc.parse_tree(text, relpath, comments=False)
    if not isinstance(value, dict):
        raise ChittyError(
            "does not contain a JSON object at the top level; fix the JSON and run again",
            path=relpath,
        )
    for name in _DECLARING_FIELDS:
        declared = value.get(name)
        if name in value and not isinstance(declared, dict):
            raise ChittyError(
                f'"{name}" is {jsonc.type_name(declared)}, not an object of package names and '
                "versions; fix the JSON and run again",
                path=relpath,
            )
        if declared and BEACON_PACKAGE in declared:
            return text

    dependencies = tree.get("dependencies")
    if dependencies is None:
        return jsonc.add_member(text, tree, "dependencies", {BEACON_PACKAGE: BEACON_VERSION_RANGE})
    return jsonc.add_member(text, dependencies, BEACON_PACKAGE, BEACON_VERSION_RANGE)


def _note_dev_dependency(text: str, relpath: str, plan: Plan) -> None:
    value = jsonc.load(text, relpath, comments=False)
    if BEACON_PACKAGE in (value.get("devDependencies") or {}) and BEACON_PACKAGE not in (
        value.get("dependencies") or {}
    ):
        plan.notes.append(
            f"kept {BEACON_PACKAGE} in devDependencies; production installs that omit dev "
            "dependencies will not have it, so move it to dependencies"
        )
