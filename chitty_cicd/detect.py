"""Detection of a repository's project type, deploy target, package manager and versions.

The template's question defaults and the bulk tool both call these rules, so there is
one implementation. Only files at the repository root count as evidence, because the
generated CI runs at the root.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from chitty_cicd.detection import Detection

PYTHON_MANIFESTS = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile")
MANIFESTS = {
    "node": ("package.json",),
    "python": PYTHON_MANIFESTS,
    "rust": ("Cargo.toml",),
    "go": ("go.mod",),
}
WRANGLER_CONFIGS = ("wrangler.toml", "wrangler.json", "wrangler.jsonc")
VERCEL_CONFIGS = ("vercel.json", ".vercel/project.json")
LOCKFILES = {
    "package-lock.json": "npm",
    "npm-shrinkwrap.json": "npm",
    "pnpm-lock.yaml": "pnpm",
    "yarn.lock": "yarn",
}
UNSUPPORTED_LOCKFILES = ("bun.lockb", "bun.lock")

# Scripts that make a package.json an application or library rather than lint tooling.
_APP_SCRIPTS = ("start", "build", "dev", "serve", "test")
_SKIPPED_DIRS = {"node_modules", ".git", ".venv", "venv", "target", "dist", "build", "vendor"}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def is_tooling_package_json(package: dict[str, Any]) -> bool:
    """Tell whether a package.json only carries tooling (linters, hooks) for another language.

    It is tooling when it declares no runtime dependencies, no entry (`main`, `module`,
    `exports`, `bin`), no workspaces, and no start, build, dev, serve or test script.
    """
    if package.get("dependencies") or package.get("workspaces"):
        return False
    if any(key in package for key in ("main", "module", "exports", "bin")):
        return False
    scripts = package.get("scripts") or {}
    return not any(name in scripts for name in _APP_SCRIPTS)


def _root_manifests(root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for project_type, names in MANIFESTS.items():
        present = [name for name in names if (root / name).is_file()]
        if present:
            found[project_type] = present
    return found


def _nested_manifests(root: Path) -> list[str]:
    nested: list[str] = []
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name in _SKIPPED_DIRS or child.name.startswith("."):
            continue
        for names in MANIFESTS.values():
            nested.extend(f"{child.name}/{name}" for name in names if (child / name).is_file())
    return nested


def detect_project_type(root: Path) -> Detection:
    """Detect node, python, rust or go from the manifests at the repository root.

    A package.json that only carries tooling does not count when another language's
    manifest is present (a Python project with a lint-only package.json). Manifests of
    two languages that both look real give no default, so the user chooses.
    """
    found = _root_manifests(root)

    if "node" in found and len(found) > 1:
        package = _read_json(root / "package.json") or {}
        if is_tooling_package_json(package):
            del found["node"]

    if len(found) == 1:
        project_type, files = next(iter(found.items()))
        return Detection(project_type, f"found {', '.join(files)} at the repository root")

    if len(found) > 1:
        listed = "; ".join(f"{kind}: {', '.join(files)}" for kind, files in found.items())
        return Detection(
            None,
            f"manifests of several project types at the root ({listed}); "
            "choose the one CI should build",
        )

    nested = _nested_manifests(root)
    if nested:
        return Detection(
            None,
            f"no manifest at the repository root, only in subdirectories ({', '.join(nested)}); "
            "CI runs at the root, so choose the project type it should build",
        )
    return Detection(None, "no package.json, pyproject.toml, requirements.txt, setup.py, "
                     "Cargo.toml or go.mod at the repository root")


def detect_deploy_target(root: Path) -> Detection:
    """Detect cloudflare from a wrangler config, vercel from a Vercel config, else none."""
    wrangler = [name for name in WRANGLER_CONFIGS if (root / name).is_file()]
    vercel = [name for name in VERCEL_CONFIGS if (root / name).is_file()]

    if wrangler and vercel:
        return Detection(
            None,
            f"both {', '.join(wrangler)} and {', '.join(vercel)} exist; choose where to deploy",
        )
    if wrangler:
        return Detection("cloudflare", f"found {', '.join(wrangler)}")
    if vercel:
        return Detection("vercel", f"found {', '.join(vercel)}")
    return Detection("none", "no wrangler or Vercel config found")


def detect_package_manager(root: Path) -> Detection:
    """Detect npm, pnpm or yarn from package.json's packageManager field and the lockfiles."""
    package = _read_json(root / "package.json") or {}
    declared = str(package.get("packageManager") or "").split("@", 1)[0] or None
    locked = {LOCKFILES[name] for name in LOCKFILES if (root / name).is_file()}
    unsupported = [name for name in UNSUPPORTED_LOCKFILES if (root / name).is_file()]

    if declared and declared not in ("npm", "pnpm", "yarn"):
        return Detection(None, f"packageManager is {declared!r}, which CI does not support; "
                         "choose npm, pnpm or yarn")
    if declared and locked and locked != {declared}:
        return Detection(None, f"packageManager says {declared} but the lockfiles are for "
                         f"{', '.join(sorted(locked))}; choose one")
    if declared:
        return Detection(declared, f"package.json packageManager is {package['packageManager']}")
    if len(locked) > 1:
        return Detection(None, f"lockfiles of {', '.join(sorted(locked))} exist; choose one "
                         "and delete the others")
    if locked:
        manager = locked.pop()
        lockfile = next(name for name, owner in LOCKFILES.items()
                        if owner == manager and (root / name).is_file())
        return Detection(manager, f"found {lockfile}")
    if unsupported:
        return Detection(None, f"found {unsupported[0]}: Bun is not supported; choose npm, "
                         "pnpm or yarn")
    return Detection("npm", "no lockfile; npm is the package manager that ships with Node.js")


def _first_line(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return line
    return None


def detect_node_version(root: Path) -> Detection:
    """Detect the Node.js version from .nvmrc, .node-version or package.json engines.node."""
    for name in (".nvmrc", ".node-version"):
        version = _first_line(root / name)
        if version:
            return Detection(version.removeprefix("v"), f"found {version} in {name}")

    package = _read_json(root / "package.json") or {}
    engines = package.get("engines") if isinstance(package.get("engines"), dict) else {}
    engine = str((engines or {}).get("node") or "").strip()
    if engine:
        return Detection(engine, f"package.json engines.node is {engine}")
    return Detection("lts/*", "no .nvmrc, .node-version or engines.node; using the current LTS")


_REQUIRES_PYTHON_FLOOR = re.compile(r">=\s*(3\.\d+)")


def detect_python_version(root: Path) -> Detection:
    """Detect the Python version from .python-version or pyproject's requires-python floor."""
    version = _first_line(root / ".python-version")
    if version:
        return Detection(version, f"found {version} in .python-version")

    pyproject = _read_toml(root / "pyproject.toml") or {}
    requires = str(pyproject.get("project", {}).get("requires-python") or "")
    floor = _REQUIRES_PYTHON_FLOOR.search(requires)
    if floor:
        return Detection(floor.group(1), f"pyproject.toml requires-python is {requires!r}; "
                         "CI tests the oldest supported version")
    return Detection("3.13", "no .python-version or requires-python; using 3.13")


def detect_project_name(root: Path) -> Detection:
    """Take the name from the manifest, else from the directory."""
    package = _read_json(root / "package.json") or {}
    if isinstance(package.get("name"), str) and package["name"]:
        return Detection(package["name"], "package.json name")
    for name, keys in (("pyproject.toml", ("project", "name")), ("Cargo.toml", ("package", "name"))):
        data: Any = _read_toml(root / name) or {}
        for key in keys:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if isinstance(data, str) and data:
            return Detection(data, f"{name} name")
    module = _first_line(root / "go.mod")
    if module and module.startswith("module "):
        return Detection(module.split()[1].rsplit("/", 1)[-1], "go.mod module path")
    return Detection(root.resolve().name, "directory name")


def detect_default_branch(root: Path) -> Detection:
    """Read the default branch from git's origin/HEAD or the checked-out branch."""
    git_dir = root / ".git"
    for ref_file in (git_dir / "refs/remotes/origin/HEAD", git_dir / "HEAD"):
        line = _first_line(ref_file) if ref_file.is_file() else None
        if line and line.startswith("ref: "):
            ref = line.removeprefix("ref: ")
            branch = ref.removeprefix("refs/remotes/origin/").removeprefix("refs/heads/")
            return Detection(branch, f"git {ref_file.relative_to(root)}")
    return Detection("main", "not a git repository with a branch; using main")


_GITHUB_REMOTE = re.compile(r"github[^:/]*[:/]+([A-Za-z0-9-]+)/[^/\s]+?(?:\.git)?/?$")


def detect_github_org(root: Path) -> Detection:
    """Read the owner of the `origin` remote from .git/config."""
    try:
        config = (root / ".git" / "config").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        config = ""
    in_origin = False
    for raw in config.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_origin = line == '[remote "origin"]'
        elif in_origin and line.startswith("url"):
            url = line.split("=", 1)[1].strip()
            match = _GITHUB_REMOTE.search(url)
            if match:
                return Detection(match.group(1), "owner of the git origin remote")
    return Detection("ChittyOS", "no GitHub origin remote; using ChittyOS")
