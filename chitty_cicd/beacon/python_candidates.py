"""Evidence for a Python web app's entry point: FLASK_APP, Django projects, app objects."""

from __future__ import annotations

import ast
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chitty_cicd.beacon.python_source import parse_quietly
from chitty_cicd.edits import resolve_inside
from chitty_cicd.errors import ChittyError

# Directories that hold no application code of the repository itself.
SKIPPED_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "site-packages",
        "build",
        "dist",
        "chittybeacon",
        "tests",
        "test",
        "docs",
        "doc",
        "examples",
        "example",
        "migrations",
    }
)
MAX_SOURCE_BYTES = 1_000_000
APP_CLASSES = {"flask": "Flask", "fastapi": "FastAPI"}


@dataclass(frozen=True)
class Candidate:
    """A module that may be the entry point, with the evidence for it."""

    path: str
    reason: str


def python_files(root: Path) -> list[str]:
    """List the repository's own .py files, skipping virtualenvs, dependencies, tests and docs."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            name
            for name in dirnames
            if not name.startswith(".")
            and name not in SKIPPED_DIRS
            and not os.path.islink(os.path.join(dirpath, name))
            and not os.path.exists(os.path.join(dirpath, name, "pyvenv.cfg"))
        )
        relative_dir = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(filenames):
            if not name.endswith(".py") or _is_test_file(name):
                continue
            if os.path.islink(os.path.join(dirpath, name)):
                continue
            found.append(name if relative_dir == "." else f"{relative_dir}/{name}")
    return found


def read_quietly(root: Path, relpath: str) -> str | None:
    """Read a repository file as UTF-8, or return None when it cannot be source text.

    That is a file that is missing, outside the repository, large, binary or not UTF-8.
    """
    if not _is_file_inside(root, relpath):
        return None
    path = root / relpath
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def module_file(root: Path, target: str, bases: list[str]) -> str | None:
    """Find the file of an import target such as `pkg.mod`, `pkg.mod:app` or `src/mod.py`.

    Each base directory is tried in order. Returns the repository-relative path of `mod.py`
    or `mod/__init__.py`, or None.
    """
    module = target.split(":", 1)[0]
    if "/" in module or module.endswith(".py"):
        parts = module.removesuffix(".py").split("/")
        if module.startswith("/") or ".." in parts:
            return None
    else:
        parts = module.split(".")
        if not all(part.isidentifier() for part in parts):
            return None
    for base in bases:
        stem = posixpath.normpath(posixpath.join(base, *parts))
        for relpath in (f"{stem}.py", f"{stem}/__init__.py"):
            if _is_file_inside(root, relpath):
                return relpath
    return None


def flask_app_candidates(root: Path) -> list[Candidate]:
    """Find the module that FLASK_APP in .env or .flaskenv names (.env wins, as in Flask)."""
    for name in (".env", ".flaskenv"):
        value = _dotenv_value(read_quietly(root, name) or "", "FLASK_APP")
        if value:
            relpath = module_file(root, value, ["", "src"])
            if relpath is None:
                return []
            return [Candidate(relpath, f"FLASK_APP in {name} is {value}")]
    return []


def django_candidates(root: Path, files: list[str]) -> list[Candidate]:
    """Find the WSGI or ASGI module of each Django project (a manage.py with its settings)."""
    found = []
    for manage in files:
        if posixpath.basename(manage) != "manage.py":
            continue
        settings = _settings_module(read_quietly(root, manage) or "")
        if settings is None:
            continue
        base = posixpath.dirname(manage)
        candidate = _django_server_module(root, base, settings)
        if candidate is not None:
            found.append(candidate)
    return found


def app_object_candidates(root: Path, files: list[str]) -> list[Candidate]:
    """Find the modules that construct a Flask or FastAPI app, at module level or in a factory."""
    found = []
    for relpath in files:
        text = read_quietly(root, relpath)
        if text is None or not any(name in text for name in APP_CLASSES.values()):
            continue
        tree = parse_quietly(text)
        construction = _app_construction(tree) if tree is not None else None
        if construction is None:
            continue
        app_class, function = construction
        where = f" in {function}()" if function else ""
        found.append(Candidate(relpath, f"{relpath} creates the {app_class} app{where}"))
    return found


def _is_file_inside(root: Path, relpath: str) -> bool:
    # A symlink may lead out of the repository, and its target is not the repository's code.
    try:
        return resolve_inside(root, relpath).is_file()
    except ChittyError:
        return False


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _dotenv_value(text: str, key: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if not sep or name.strip() != key:
            continue
        value = value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) > 1:
            return value[1:-1]
        return value.split(" #", 1)[0].strip()
    return None


def _settings_module(text: str) -> str | None:
    # Finds os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x") or os.environ[...] = "x".
    if "DJANGO_SETTINGS_MODULE" not in text:
        return None
    tree = parse_quietly(text)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            key, value = node.args[0], node.args[1]
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            key, value = node.targets[0].slice, node.value
        else:
            continue
        if _constant(key) == "DJANGO_SETTINGS_MODULE" and _constant(value):
            return _constant(value)
    return None


def _django_server_module(root: Path, base: str, settings: str) -> Candidate | None:
    """Pick the module that Django's servers import at start.

    ASGI_APPLICATION wins because only projects that serve ASGI (Channels, Daphne) set it.
    WSGI_APPLICATION, which `runserver` and WSGI servers import, comes next. Last come the
    `<project>/wsgi.py` and `<project>/asgi.py` that `startproject` creates.
    """
    settings_file = module_file(root, settings, [base])
    assignments = _settings_assignments(root, settings_file) if settings_file else {}
    manage = posixpath.join(base, "manage.py")
    for name in ("ASGI_APPLICATION", "WSGI_APPLICATION"):
        values = assignments.get(name, set())
        if len(values) != 1:
            continue
        value = next(iter(values))
        relpath = module_file(root, value.rpartition(".")[0], [base])
        if relpath is not None:
            return Candidate(relpath, f"{manage} uses settings {settings}, whose {name} is {value}")
    project = settings.split(".")[0]
    for name in ("wsgi", "asgi"):
        relpath = module_file(root, f"{project}.{name}", [base])
        if relpath is not None:
            return Candidate(relpath, f"{relpath} serves the Django project of {manage}")
    return None


def _settings_assignments(root: Path, settings_file: str) -> dict[str, set[str]]:
    # Split settings (base.py, local.py, production.py) sit beside each other, so read them all.
    directory = posixpath.dirname(settings_file)
    found: dict[str, set[str]] = {}
    for path in sorted((root / directory).glob("*.py")):
        tree = parse_quietly(read_quietly(root, f"{directory}/{path.name}".lstrip("/")) or "")
        for node in tree.body if tree is not None else ():
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                value = _constant(node.value)
                if value:
                    found.setdefault(node.targets[0].id, set()).add(value)
    return found


def _constant(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _app_construction(tree: ast.Module) -> tuple[str, str | None] | None:
    # Returns the app class and the enclosing function (None at module level) of the
    # first call that constructs a Flask or FastAPI app, honouring import aliases.
    class_names: dict[str, str] = {}
    module_names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in APP_CLASSES:
            for alias in node.names:
                if alias.name == APP_CLASSES[node.module]:
                    class_names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in APP_CLASSES:
                    module_names[alias.asname or alias.name] = alias.name

    for node, function in _walk_with_function(tree, None):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in class_names:
            return class_names[func.id], function
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = module_names.get(func.value.id)
            if module is not None and func.attr == APP_CLASSES[module]:
                return func.attr, function
    return None


def _walk_with_function(node: ast.AST, function: str | None) -> Iterator[tuple[ast.AST, str | None]]:
    for child in ast.iter_child_nodes(node):
        name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
        yield child, function
        yield from _walk_with_function(child, name)
