"""The Python entry point of ChittyBeacon: detect it, place the package beside it, import it."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chitty_cicd.beacon import python_candidates as candidates
from chitty_cicd.beacon.python_procfile import procfile_candidates
from chitty_cicd.beacon.python_source import insert_import, parse_quietly, top_level_imports
from chitty_cicd.detection import Detection
from chitty_cicd.edits import Plan
from chitty_cicd.errors import ChittyError

PACKAGE = "chittybeacon"
SET_ENTRY = "set beacon_entry to the module your server imports at start"
UPDATE_COMMAND = "copier update --trust --defaults --data beacon_entry=path/to/module.py"


def detect_python_entry(root: Path) -> Detection:
    """Detect the module that a Flask, Django or FastAPI app's server imports at start.

    The Procfile `web` command and FLASK_APP name the module outright, so they come first,
    and if they disagree nothing is detected. Otherwise exactly one Django project or one
    module constructing a Flask or FastAPI app must be found. For Django that is the WSGI
    or ASGI module, because servers and `runserver` import it only to serve. `manage.py
    migrate`, `manage.py test` and the reloader's parent process load the settings but not
    this module.
    """
    root = root.resolve()
    named = _distinct(procfile_candidates(root) + candidates.flask_app_candidates(root))
    if len(named) == 1:
        return Detection(named[0].path, named[0].reason)
    if named:
        reasons = "; ".join(candidate.reason for candidate in named)
        return Detection(None, f"the server settings disagree ({reasons}); {SET_ENTRY}")

    files = candidates.python_files(root)
    found = _distinct(
        candidates.django_candidates(root, files) + candidates.app_object_candidates(root, files)
    )
    if len(found) == 1:
        return Detection(found[0].path, found[0].reason)
    if found:
        paths = ", ".join(candidate.path for candidate in found)
        return Detection(None, f"found several possible entry points ({paths}); {SET_ENTRY}")
    return Detection(None, f"found no Flask or FastAPI app and no Django wsgi.py or asgi.py; {SET_ENTRY}")


def beacon_entry_problem(value: str) -> str:
    """Return why value cannot be the Python beacon_entry, or "" when it can."""
    parts = value.split("/")
    if "\\" in value or value.startswith("/") or any(part in ("", ".", "..") for part in parts):
        return (
            f"beacon_entry {value!r} must be a path relative to the repository root "
            "with / separators, such as app.py or myapp/wsgi.py"
        )
    if not value.endswith(".py"):
        return f"beacon_entry {value!r} is not a .py module; name one such as app.py or myapp/wsgi.py"
    return ""


def beacon_package_dir(beacon_entry: str) -> str:
    """Return the directory of the chittybeacon package: the entry's own, "" for the root.

    It depends on the answer alone, because Copier renders the package in scratch copies
    on update, where the repository's other files are absent.
    """
    return posixpath.dirname(beacon_entry)


def beacon_package_path(beacon_entry: str) -> str:
    """Return the chittybeacon package path for an entry, e.g. `myapp/chittybeacon`.

    The Jinja filter `python_beacon_package` calls this to name the template's directory.
    It never returns "", which Copier would read as "skip this path".
    """
    problem = beacon_entry_problem(beacon_entry)
    if problem:
        raise ChittyError(problem)
    return posixpath.join(beacon_package_dir(beacon_entry), PACKAGE)


def plan_python_beacon(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    """Plan the `chittybeacon` import at the top of the Python entry point, once."""
    if answers.get("project_type") != "python" or not answers.get("beacon_enabled"):
        return

    entry = str(answers.get("beacon_entry") or "")
    if not entry:
        plan.notes.append(_unset_entry_note(root))
        return
    problem = beacon_entry_problem(entry)
    if problem:
        raise ChittyError(f"{problem} ({UPDATE_COMMAND})")
    source = plan.current(root, entry)
    if source is None:
        raise ChittyError(
            f"does not exist, but beacon_entry names it; {SET_ENTRY} ({UPDATE_COMMAND})",
            path=entry,
        )

    package_file = f"{beacon_package_path(entry)}/__init__.py"
    if plan.current(root, package_file) is None:
        plan.notes.append(
            f"ChittyBeacon not wired: {package_file} is missing, so {entry} was left as it is; "
            "run copier update to render it again"
        )
        return

    statement = _import_statement(root, plan, entry, source)
    updated = insert_import(source, statement, PACKAGE, entry)
    if updated is not None:
        plan.write(entry, updated)


def _unset_entry_note(root: Path) -> str:
    # Without the answer the template rendered no package, so an import would fail at start.
    detection = detect_python_entry(root)
    if detection.value is None:
        return f"ChittyBeacon not wired: {detection.reason} ({UPDATE_COMMAND})"
    return (
        f"ChittyBeacon not wired: beacon_entry is unset, and {detection.reason}; "
        f"to use it, run copier update --trust --defaults --data beacon_entry={detection.value}"
    )


def _import_statement(root: Path, plan: Plan, entry: str, source: str) -> str:
    """Choose `from . import chittybeacon` inside a package, else `import chittybeacon`.

    The package sits in the entry's directory. When that directory is a package, the entry
    is imported as a member and only the relative form finds the package, whatever is on
    sys.path. The exception is an entry that imports its sibling modules by bare name:
    it runs with its own directory on sys.path, where only the absolute form works.
    """
    # NOTE: a package module run as a script (`python shop/app.py`) gets the relative form
    # unless it imports a sibling by bare name. That import fails, so pick another entry.
    directory = beacon_package_dir(entry)
    in_package = bool(directory) and plan.current(root, f"{directory}/__init__.py") is not None
    if in_package and not _imports_siblings(root, directory, source):
        return f"from . import {PACKAGE}  # noqa: F401"
    return f"import {PACKAGE}  # noqa: F401"


def _imports_siblings(root: Path, directory: str, source: str) -> bool:
    tree = parse_quietly(source)
    names = top_level_imports(tree) - {PACKAGE} if tree is not None else set()
    folder = root / directory
    return any((folder / f"{name}.py").is_file() or (folder / name).is_dir() for name in names)


def _distinct(found: list[candidates.Candidate]) -> list[candidates.Candidate]:
    by_path: dict[str, candidates.Candidate] = {}
    for candidate in found:
        by_path.setdefault(candidate.path, candidate)
    return list(by_path.values())
