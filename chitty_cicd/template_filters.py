"""The filters and globals the Jinja plugin gives the template, one thin call each."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from chitty_cicd import detect, ecosystems, managed
from chitty_cicd.detection import Detection
from chitty_cicd.errors import ChittyError


def _rules() -> dict[str, Callable[..., Detection]]:
    return {
        "project_name": detect.detect_project_name,
        "project_type": detect.detect_project_type,
        "deploy_target": detect.detect_deploy_target,
        "package_manager": detect.detect_package_manager,
        "node_version": detect.detect_node_version,
        "python_version": detect.detect_python_version,
        "default_branch": detect.detect_default_branch,
        "github_org": detect.detect_github_org,
        "beacon_entry": _detect_beacon_entry,
    }


def _detect_beacon_entry(root: Path, project_type: str = "", deploy_target: str = "none") -> Detection:
    from chitty_cicd.beacon import node_entry, python_entry

    if project_type == "python":
        return python_entry.detect_python_entry(root)
    if project_type == "node":
        return node_entry.detect_node_entry(root, deploy_target)
    return Detection(None, f"the beacon has no entry point for {project_type or 'this'} projects")


def _detect(dst_path: Any, rule: str, *args: Any) -> Detection:
    root = Path(str(dst_path)).resolve()
    if not root.is_dir():
        return Detection(None, "the destination does not exist yet")
    return _rules()[rule](root, *args)


def detected(dst_path: Any, rule: str, *args: Any) -> str:
    """Return the detected value for a question default, or "" when there is none."""
    return _detect(dst_path, rule, *args).value or ""


def detection_reason(dst_path: Any, rule: str, *args: Any) -> str:
    """Return why detection gave its value, for the question's help."""
    return _detect(dst_path, rule, *args).reason


def existing_generated_files(dst_path: Any) -> list[str]:
    """List generated paths the destination already has as its own files."""
    root = Path(str(dst_path)).resolve()
    if not root.is_dir():
        return []
    return managed.user_owned_paths(root)


def exclude_patterns(paths: Iterable[str]) -> str:
    """Turn kept file paths into anchored, escaped gitignore patterns, one per line."""
    return "\n".join(managed.literal_pattern(path) for path in paths)


def with_absolute_src_path(answers: dict[str, Any]) -> dict[str, Any]:
    """Make a local `_src_path` absolute, so `copier update` works from any directory."""
    src = str(answers.get("_src_path") or "")
    is_url = "://" in src or src.startswith(("git@", "gh:", "gl:"))
    if not src or is_url or Path(src).is_absolute():
        return answers
    return {**answers, "_src_path": str(Path(src).resolve())}


@pass_context
def post_render_problem(context: Context, dst_path: Any) -> str:
    """Return why the post-render steps would fail on dst_path with these answers, or "".

    A question validator calls this, so bad input stops the copy before Copier writes
    any file. It plans the edits and writes nothing.
    """
    from chitty_cicd.tasks import plan_post_render

    root = Path(str(dst_path)).resolve()
    if not root.is_dir() or _copier_operation() == "update":
        # An update also renders into scratch copies without the repository's files, and
        # chitty_cicd.update restores the repository when the steps fail there.
        return ""
    answers = {
        name: value
        for name, value in context.get_all().items()
        if not name.startswith("_") and isinstance(value, (str, int, float, bool, list, dict))
    }
    try:
        plan_post_render(root, answers)
    except ChittyError as error:
        return f"{error} (nothing was written)"
    return ""


def _copier_operation() -> str | None:
    # NOTE: Copier 9.19 keeps the operation in this internal context variable and does not
    # give it to validators; re-check when upgrading Copier.
    try:
        from copier._main import _operation
    except ImportError:
        return None
    return _operation.get(None)


def kept_files_problem(kept_files: Any) -> str:
    """Return why kept_files is not a list of paths to keep, or "".

    Membership in this release's rendered paths is not checked: a later release may
    rename them, and its migration renames the entries before Copier validates them.
    """
    if not isinstance(kept_files, list):
        return "kept_files must be a YAML list of paths, e.g. [.github/workflows/ci.yml]"
    for path in kept_files:
        if not isinstance(path, str) or not path.strip("/"):
            return f"kept_files entry {path!r} is not a path; write paths such as .github/workflows/ci.yml"
        if path.strip("/") == ".copier-answers.yml":
            return "kept_files cannot list .copier-answers.yml: Copier needs it to update the repository"
    return ""


def action(name: str) -> str:
    """Return the pinned `uses:` value of an action, with its version comment."""
    from chitty_cicd.pins import action_ref

    return action_ref(name)


def python_beacon_package(beacon_entry: str) -> str:
    """Return the path of the Python beacon package that beacon_entry imports."""
    from chitty_cicd.beacon.python_entry import beacon_package_path

    return beacon_package_path(beacon_entry)


def python_entry_problem(beacon_entry: str) -> str:
    """Return why beacon_entry cannot be a Python entry module, or ""."""
    from chitty_cicd.beacon.python_entry import beacon_entry_problem

    return beacon_entry_problem(beacon_entry)


FILTERS: dict[str, Callable[..., Any]] = {
    "detected": detected,
    "detection_reason": detection_reason,
    "existing_generated_files": existing_generated_files,
    "exclude_patterns": exclude_patterns,
    "with_absolute_src_path": with_absolute_src_path,
    "post_render_problem": post_render_problem,
    "kept_files_problem": kept_files_problem,
    "python_beacon_package": python_beacon_package,
    "python_entry_problem": python_entry_problem,
}
GLOBALS: dict[str, Any] = {
    "action": action,
    "ci_check_name": ecosystems.CI_CHECK_NAME,
    "corepack_version": ecosystems.COREPACK_VERSION,
    "dependabot_ecosystem": ecosystems.DEPENDABOT_ECOSYSTEM,
    "lockfile_names": ecosystems.LOCKFILE_NAMES,
}
