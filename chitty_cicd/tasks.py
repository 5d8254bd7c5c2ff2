"""Post-render steps of the Copier template: merges and beacon wiring in the user's own files.

Copier runs this file as a task (`python chitty_cicd/tasks.py '<answers as JSON>'`) with the
destination as working directory; the bulk tool calls `run_post_render` in-process.
Every step only plans its edits; nothing is written unless all steps succeed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chitty_cicd.edits import Plan, apply_plan
from chitty_cicd.errors import ChittyError

Step = Callable[[Path, Mapping[str, Any], Plan], None]


def _steps() -> list[Step]:
    from chitty_cicd.beacon import node_entry, python_entry
    from chitty_cicd.merge import codeowners, envfile, package_json, vercel, wrangler

    # package.json goes first: the Node beacon step reads its planned text.
    return [
        envfile.plan_env_example,
        codeowners.plan_codeowners,
        package_json.plan_package_json,
        node_entry.plan_node_beacon,
        python_entry.plan_python_beacon,
        wrangler.plan_wrangler,
        vercel.plan_vercel,
    ]


def plan_post_render(root: Path, answers: Mapping[str, Any]) -> Plan:
    """Run every step against root and return the combined plan, writing nothing."""
    plan = Plan()
    for step in _steps():
        step(root, answers, plan)
    return plan


def run_post_render(root: Path, answers: Mapping[str, Any]) -> tuple[Plan, list[str]]:
    """Plan every step, then write the changed files; return the plan and the paths written."""
    plan = plan_post_render(root, answers)
    return plan, apply_plan(root, plan)


def is_update_scratch_copy(root: Path) -> bool:
    """Tell whether Copier is rendering one of its temporary copies during an update.

    `copier update` renders the old and the new template version into temporary
    directories outside any git work tree, and runs the tasks there too. The real
    destination of an update is always inside a git work tree.
    """
    if os.environ.get("COPIER_OPERATION") != "update":
        return False
    probe = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() != "true"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: tasks.py '<answers as JSON>'", file=sys.stderr)
        return 2

    root = Path.cwd()
    if is_update_scratch_copy(root):
        return 0

    answers = json.loads(args[0])
    try:
        plan, written = run_post_render(root, answers)
    except ChittyError as error:
        print(f"error: {error}", file=sys.stderr)
        print("No file was changed.", file=sys.stderr)
        return 1

    for relpath in written:
        print(f"  wrote {relpath}")
    for note in plan.notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
