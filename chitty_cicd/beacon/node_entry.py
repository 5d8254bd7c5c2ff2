"""Find a Node.js project's entry point and wire the ChittyBeacon into it.

Each of three kinds of entry point is wired its own way. A server module (Express and
other plain Node.js servers) gets a side-effect import at the top. A Next.js app gets the
import inside its instrumentation hook. A Cloudflare Worker gets a helper module that
wraps its default export.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chitty_cicd.beacon import js_source, nextjs, workers
from chitty_cicd.beacon.node_project import (
    BEACON_PACKAGE,
    WRANGLER_CONFIGS,
    Reader,
    file_reader,
    find_wrangler_config,
    is_application,
    is_next_app,
    load_tsconfig,
    load_wrangler_config,
    nearest_package_json,
    normalize_relpath,
    read_package_json,
    script_target,
    symlink_out_of_repository,
    uses_workers_runtime,
    workspace_manifest,
)
from chitty_cicd.detection import Detection
from chitty_cicd.edits import Plan
from chitty_cicd.errors import ChittyError

MODULE, NEXTJS, WORKER = "module", "nextjs", "worker"

_CONVENTIONAL_FILES = tuple(
    f"{directory}{name}{extension}"
    for directory in ("", "src/")
    for name in ("index", "app", "server")
    for extension in (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
)
_EDITABLE_EXTENSIONS = {"", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"}
_BUILD_DIRS = ("dist", "build", "out")
_SOURCE_EXTENSIONS = {
    "": (".ts", ".tsx", ".js", ".jsx"),
    ".js": (".ts", ".tsx", ".js", ".jsx"),
    ".mjs": (".mts", ".mjs"),
    ".cjs": (".cts", ".cjs"),
}
_SET_ENTRY = "set beacon_entry to the file that starts the application"
_SET_ENTRY_COMMAND = "copier update --trust --defaults --data beacon_entry="
_LIBRARY_REASON = (
    "package.json looks like a library: it is not private, has no deploy target, and no "
    "start, dev or serve script runs node, nodemon, tsx, ts-node or bun. A beacon in a "
    "library would start in every app that uses it; if this is an application, "
    "set beacon_entry to the file that starts it"
)


@dataclass(frozen=True)
class EntryPoint:
    """The file to wire the beacon into and the kind of wiring; path None if undetermined.

    package_dir is the directory of the package.json the file belongs to ("" for the
    root), which differs from the root for an app in a workspace of a monorepo.
    """

    kind: str
    path: str | None
    reason: str
    package_dir: str = ""


def detect_node_entry(root: Path, deploy_target: str) -> Detection:
    """Detect the file the beacon import belongs in, or None with the reason to set it."""
    root = Path(root)
    try:
        entry = find_entry_point(root, file_reader(root), deploy_target)
    except ChittyError as error:
        return Detection(None, f"{error}; or {_SET_ENTRY}")
    return Detection(entry.path, entry.reason)


def find_entry_point(root: Path, read: Reader, deploy_target: str | None) -> EntryPoint:
    """Detect the entry point from the repository's files.

    The path is None, with the reason, when no single file fits. Raise ChittyError for a
    malformed package.json or wrangler config.
    """
    package = read_package_json(read)
    if is_next_app(package):
        return _next_entry(root, read)
    if uses_workers_runtime(deploy_target, package):
        return _worker_entry(read)
    if package is None:
        return EntryPoint(MODULE, None, f"package.json not found; create one (`npm init`), then {_SET_ENTRY}")
    return _module_entry(read, package, deploy_target)


def resolve_entry(root: Path, read: Reader, answers: Mapping[str, Any]) -> EntryPoint:
    """Return the entry point that beacon_entry names, or the detected one when it is empty.

    With beacon_entry empty the path is None when detection finds no single entry point.
    A file that beacon_entry names but that cannot be wired raises ChittyError.
    """
    deploy_target = answers.get("deploy_target")
    configured = str(answers.get("beacon_entry") or "").strip()
    if not configured:
        return find_entry_point(root, read, deploy_target)
    return _configured_entry(root, read, configured, deploy_target)


def not_wired_note(entry: EntryPoint) -> str:
    example = "path/to/worker.ts" if entry.kind == WORKER else "path/to/server.js"
    return f"ChittyBeacon not wired: {entry.reason} ({_SET_ENTRY_COMMAND}{example})"


def plan_node_beacon(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    """Plan the beacon wiring at the entry point named by beacon_entry or detected.

    When beacon_entry is empty and detection finds no single entry point, nothing is
    planned and a note explains why and how to set beacon_entry.
    """
    if answers.get("project_type") != "node" or not answers.get("beacon_enabled"):
        return
    read = file_reader(root, plan)

    entry = resolve_entry(root, read, answers)
    if entry.path is None:
        plan.notes.append(not_wired_note(entry))
        return
    if entry.kind == NEXTJS:
        package = read_package_json(read, posixpath.join(entry.package_dir, "package.json"))
        nextjs.plan_instrumentation(root, entry.path, read, plan, package, entry.package_dir)
    elif entry.kind == WORKER:
        workers.plan_worker_beacon(entry.path, answers, read, plan)
    else:
        _plan_module_import(entry.path, read, plan)


def _configured_entry(root: Path, read: Reader, configured: str, deploy_target: str | None) -> EntryPoint:
    """Check the file that beacon_entry names and choose its wiring.

    The package.json closest to the file decides whether it belongs to a Next.js app, so
    an app in a workspace of a monorepo is wired as one at the root would be.
    """
    path = normalize_relpath(configured)
    link = symlink_out_of_repository(root, path)
    if link is not None:
        raise ChittyError(
            f"is a symlink that points outside the repository, and beacon_entry {configured!r} "
            'goes through it; set beacon_entry to a file inside the repository, or to "" to detect it',
            path=link,
        )
    if (root / path).is_dir():
        raise ChittyError(_directory_problem(read, path), path=path or ".")

    package_path = nearest_package_json(read, path) or "package.json"
    package = read_package_json(read, package_path)
    if is_next_app(package):
        return _configured_next_entry(root, path, configured, posixpath.dirname(package_path))

    if read(path) is None:
        raise ChittyError(
            'not found; set beacon_entry to an existing file, or to "" to detect it',
            path=path,
        )
    if posixpath.splitext(path)[1].lower() not in _EDITABLE_EXTENSIONS:
        raise ChittyError("is not a JavaScript or TypeScript module; set beacon_entry to one", path=path)
    kind = WORKER if uses_workers_runtime(deploy_target, package) else MODULE
    return EntryPoint(kind, path, "set by beacon_entry")


def _configured_next_entry(root: Path, path: str, configured: str, package_dir: str) -> EntryPoint:
    local_path = posixpath.relpath(path, package_dir) if package_dir else path
    if not nextjs.is_instrumentation_path(local_path):
        root_hook = posixpath.join(package_dir, "instrumentation.ts")
        src_hook = posixpath.join(package_dir, "src", "instrumentation.ts")
        raise ChittyError(
            f"beacon_entry is {configured!r}, but in a Next.js app the beacon starts from "
            "the server-only instrumentation hook, because other modules may be bundled "
            f'for the browser; set beacon_entry to "{root_hook}" (or '
            f'"{src_hook}") or to "" to detect it'
        )
    expected = nextjs.instrumentation_dir(root / package_dir)
    if posixpath.dirname(local_path) != expected:
        expected_dir = posixpath.join(package_dir, expected)
        where = f"{expected_dir}/" if expected_dir else "the repository root"
        suggestion = posixpath.join(expected_dir, "instrumentation.ts")
        raise ChittyError(
            f"beacon_entry is {configured!r}, but Next.js reads instrumentation from "
            f"{where} in this app; set beacon_entry to {suggestion!r}, or to '' to detect it"
        )
    return EntryPoint(NEXTJS, path, "set by beacon_entry", package_dir)


def _directory_problem(read: Reader, path: str) -> str:
    names = dict.fromkeys(posixpath.basename(name) for name in _CONVENTIONAL_FILES)
    found = [posixpath.join(path, name) for name in names if read(posixpath.join(path, name)) is not None]
    problem = "is a directory; set beacon_entry to the file in it that starts the application"
    return f"{problem}, such as {found[0]}" if found else problem


def _plan_module_import(path: str, read: Reader, plan: Plan) -> None:
    text = read(path)
    assert text is not None, f"{path} was checked to exist"
    system = js_source.detect_module_system(path, text, _nearest_package_type(read, path))
    new_text = js_source.add_side_effect_import(text, BEACON_PACKAGE, system)
    if new_text != text:
        plan.write(path, new_text)


def _nearest_package_type(read: Reader, path: str) -> str | None:
    package_path = nearest_package_json(read, path)
    package = read_package_json(read, package_path) if package_path else None
    value = (package or {}).get("type")
    return value if isinstance(value, str) else None


def _next_entry(root: Path, read: Reader) -> EntryPoint:
    directory = nextjs.instrumentation_dir(root)
    existing = nextjs.find_instrumentation(read, directory)
    if existing is not None:
        return EntryPoint(NEXTJS, existing, "Next.js app: its instrumentation hook")
    extension = ".ts" if read("tsconfig.json") is not None else ".js"
    path = posixpath.join(directory, "instrumentation" + extension)
    return EntryPoint(NEXTJS, path, "Next.js app: a new instrumentation hook")


def _worker_entry(read: Reader) -> EntryPoint:
    config_path = find_wrangler_config(read)
    if config_path is None:
        return EntryPoint(
            WORKER,
            None,
            f"none of {', '.join(WRANGLER_CONFIGS)} found, so the Worker's main module is "
            "unknown; set beacon_entry to the module that exports the Worker's handlers",
        )
    config = load_wrangler_config(read(config_path) or "", config_path)
    main = config.get("main")
    if not isinstance(main, str) or not main.strip():
        return EntryPoint(
            WORKER,
            None,
            f'{config_path} has no "main" (a Pages project, or a Worker a framework builds?); '
            "set beacon_entry to the module that exports the Worker's handlers",
        )
    path, problem = _resolve_script(read, main, load_tsconfig(read))
    if path is None:
        return EntryPoint(WORKER, None, f'{config_path} "main": {problem}; {_SET_ENTRY}')
    return EntryPoint(WORKER, path, f'the "main" module of {config_path}')


def _module_entry(read: Reader, package: Mapping[str, Any], deploy_target: str | None) -> EntryPoint:
    """Detect a server module: the file the start script runs, else main, else the only
    conventional entry file. Only the start script counts in a library or a monorepo root,
    because their main file and conventional files are not what starts an app."""
    tsconfig = load_tsconfig(read)
    problems = []
    start = script_target(package, "start")
    if start is not None:
        path, problem = _resolve_script(read, start, tsconfig)
        if path is not None:
            return EntryPoint(MODULE, path, _named_by("scripts.start", start, path))
        problems.append(f"package.json scripts.start: {problem}")

    manifest = workspace_manifest(read, package)
    if manifest is not None:
        problems.append(
            f"{manifest} declares workspaces, so each app in them has its own entry file; set "
            "beacon_entry to the entry file of the app that should report, by its path from the "
            "repository root"
        )
        return EntryPoint(MODULE, None, "; ".join(problems))
    if not is_application(package, deploy_target):
        return EntryPoint(MODULE, None, _LIBRARY_REASON)

    main = package.get("main")
    if isinstance(main, str) and main.strip():
        path, problem = _resolve_script(read, main, tsconfig)
        if path is not None:
            return EntryPoint(MODULE, path, _named_by("main", main, path))
        problems.append(f"package.json main: {problem}")

    found = [path for path in _CONVENTIONAL_FILES if read(path) is not None]
    if len(found) == 1:
        return EntryPoint(MODULE, found[0], f"{found[0]} is the only conventional entry file")
    if found:
        problems.append(f"several entry files found ({', '.join(found)})")
    else:
        problems.append("none of index.js, app.js or server.js (or .ts, or in src/) found")
    return EntryPoint(MODULE, None, "; ".join(problems) + f"; {_SET_ENTRY}")


def _named_by(field: str, target: str, path: str) -> str:
    built = "" if path == normalize_relpath(target) else f", built from {path}"
    return f"package.json {field} names {target}{built}"


def _resolve_script(read: Reader, target: str, tsconfig: Mapping[str, Any]) -> tuple[str | None, str]:
    """Return the source file for a script path, or None and what went wrong."""
    path = normalize_relpath(target)
    is_build_output, source = _source_of_build_output(read, path, tsconfig)
    if is_build_output:
        if source is None:
            return None, f"{path} is build output and no source file for it was found"
        return source, ""
    for candidate in (
        path,
        *(path + ext for ext in (".js", ".ts", ".mjs", ".cjs")),
        posixpath.join(path, "index.js"),
        posixpath.join(path, "index.ts"),
    ):
        if candidate and read(candidate) is not None:
            return candidate, ""
    return None, f"{path} does not exist"


def _source_of_build_output(read: Reader, path: str, tsconfig: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Tell whether path is compiler output and return its source file if one exists.

    tsconfig's outDir and rootDir decide when set; otherwise dist/, build/ and out/ count
    as output with the sources in src/ or at the root.
    """
    out_dir = normalize_relpath(str(tsconfig.get("outDir") or ""))
    first, _, rest = path.partition("/")
    if out_dir and path.startswith(out_dir + "/"):
        rest = path[len(out_dir) + 1 :]
        root_dir = tsconfig.get("rootDir")
        source_dirs = [normalize_relpath(str(root_dir))] if root_dir else ["src", ""]
    elif first in _BUILD_DIRS and rest:
        source_dirs = ["src", ""]
    else:
        return False, None

    stem, extension = posixpath.splitext(rest)
    for directory in source_dirs:
        for source_extension in _SOURCE_EXTENSIONS.get(extension, ()):
            candidate = posixpath.join(directory, stem + source_extension)
            if candidate != path and read(candidate) is not None:
                return True, candidate
    return True, None
