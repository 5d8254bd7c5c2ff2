"""Run the checks every generated workflow must pass: SchemaStore schemas and zizmor."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed; run `pip install -e '.[test]'`")
    return found


def workflow_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml"))


def check_schema(schema: str, files: list[Path]) -> str:
    """Return check-jsonschema's output when a file fails the built-in schema, else ""."""
    if not files:
        return ""
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def check_zizmor(root: Path) -> str:
    """Return zizmor's findings on the repository's workflows and Dependabot config, else ""."""
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--persona", "regular", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def validation_errors(root: Path) -> str:
    """Return every schema and zizmor complaint about root's GitHub files, or ""."""
    problems = [
        check_schema("vendor.github-workflows", workflow_files(root)),
        check_zizmor(root),
    ]
    dependabot = root / ".github" / "dependabot.yml"
    if dependabot.exists():
        problems.append(check_schema("vendor.dependabot", [dependabot]))
    return "\n".join(problem for problem in problems if problem)
