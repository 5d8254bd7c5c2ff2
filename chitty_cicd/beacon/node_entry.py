"""Find a Node.js project's entry point and wire the ChittyBeacon into it.

Each of three kinds of entry point is wired its own way. A server module (Express and
other plain Node.js servers) gets a side-effect import at the top. A Next.js app gets the
import inside its instrumentation hook. A Cloudflare Worker gets a helper module that
wraps its default export.
"""

from __future__ import annotations

import posixpath
import re
import shlex
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
    is_next_app,
    load_tsconfig,
    load_wrangler_config,
    nearest_package_json,
    normalize_relpath,
    read_package_json,
    uses_workers_runtime,
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
_RUNNERS = {"node", "nodemon", "ts-node", "ts-node-dev", "ts-node-esm", "tsx", "bun"}
_OPTIONS_WITH_VALUE = {
    "-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file",
    "-C", "--conditions", "-e", "--eval", "-p", "--print",
}  # fmt: skip
_NODEMON_OPTIONS_WITH_VALUE = {
    "-w", "--watch", "-i", "--ignore", "-x", "--exec", "--ext", "-d", "--delay",
    "--signal", "--config",
}  # fmt: skip
_SET_ENTRY = "set beacon_entry to the file that starts the application"


@dataclass(frozen=True)
class EntryPoint:
    """The file to wire the beacon into and the kind of wiring; path None if undetermined."""

    kind: str
    path: str | None
    reason: str


def detect_node_entry(root: Path, deploy_target: str) -> Detection:
    """Detect the file the beacon import belongs in, or None with the reason to set it."""
    root = Path(root)
    try:
        entry = find_entry_point(root, file_reader(root), deploy_target)
    except ChittyError as error:
        return Detection(None, f"{error}; or {_SET_ENTRY}")
    return Detection(entry.path, entry.reason)


def find_entry_point(root: Path, read: Reader, deploy_target: str | None) -> EntryPoint:
    package = read_package_json(read)
    if is_next_app(package):
        return _next_entry(root, read)
    if uses_workers_runtime(deploy_target, package):
        return _worker_entry(read)
    if package is None:
        return EntryPoint(MODULE, None, f"package.json not found; {_SET_ENTRY}")
    return _module_entry(read, package)


def plan_node_beacon(root: Path, answers: Mapping[str, Any], plan: Plan) -> None:
    """Plan the beacon wiring at the entry point named by beacon_entry or detected."""
    if answers.get("project_type") != "node" or not answers.get("beacon_enabled"):
        return
    read = file_reader(root, plan)

    entry = _entry_for_answers(root, read, answers)
    assert entry.path is not None
    if entry.kind == NEXTJS:
        nextjs.plan_instrumentation(root, entry.path, read, plan, read_package_json(read))
    elif entry.kind == WORKER:
        workers.plan_worker_beacon(entry.path, answers, read, plan)
    else:
        _plan_module_import(entry.path, read, plan)


def _entry_for_answers(root: Path, read: Reader, answers: Mapping[str, Any]) -> EntryPoint:
    deploy_target = answers.get("deploy_target")
    configured = str(answers.get("beacon_entry") or "").strip()
    if not configured:
        entry = find_entry_point(root, read, deploy_target)
        if entry.path is None:
            raise ChittyError(entry.reason)
        return entry

    path = normalize_relpath(configured)
    package = read_package_json(read)
    if is_next_app(package):
        if not nextjs.is_instrumentation_path(path):
            raise ChittyError(
                f"beacon_entry is {configured!r}, but in a Next.js app the beacon starts from "
                "the server-only instrumentation hook, because other modules may be bundled "
                'for the browser; set beacon_entry to "instrumentation.ts" (or '
                '"src/instrumentation.ts") or to "" to detect it'
            )
        expected = nextjs.instrumentation_dir(root)
        if posixpath.dirname(path) != expected:
            where = f"{expected}/" if expected else "the repository root"
            suggestion = posixpath.join(expected, "instrumentation.ts")
            raise ChittyError(
                f"beacon_entry is {configured!r}, but Next.js reads instrumentation from "
                f"{where} in this app; set beacon_entry to {suggestion!r}, or to '' to detect it"
            )
        return EntryPoint(NEXTJS, path, "set by beacon_entry")

    if read(path) is None:
        raise ChittyError(
            'not found; set beacon_entry to an existing file, or to "" to detect it',
            path=path,
        )
    if posixpath.splitext(path)[1].lower() not in _EDITABLE_EXTENSIONS:
        raise ChittyError("is not a JavaScript or TypeScript module; set beacon_entry to one", path=path)
    kind = WORKER if uses_workers_runtime(deploy_target, package) else MODULE
    return EntryPoint(kind, path, "set by beacon_entry")


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


def _module_entry(read: Reader, package: Mapping[str, Any]) -> EntryPoint:
    tsconfig = load_tsconfig(read)
    problems = []
    for field, target in (("scripts.start", _start_script_target(package)), ("main", package.get("main"))):
        if not isinstance(target, str) or not target.strip():
            continue
        path, problem = _resolve_script(read, target, tsconfig)
        if path is not None:
            built = "" if path == normalize_relpath(target) else f", built from {path}"
            return EntryPoint(MODULE, path, f"package.json {field} names {target}{built}")
        problems.append(f"package.json {field}: {problem}")

    found = [path for path in _CONVENTIONAL_FILES if read(path) is not None]
    if len(found) == 1:
        return EntryPoint(MODULE, found[0], f"{found[0]} is the only conventional entry file")
    if found:
        problems.append(f"several entry files found ({', '.join(found)})")
    else:
        problems.append("none of index.js, app.js or server.js (or .ts, or in src/) found")
    return EntryPoint(MODULE, None, "; ".join(problems) + f"; {_SET_ENTRY}")


def _start_script_target(package: Mapping[str, Any]) -> str | None:
    """Return the script file that package.json's start script runs with node (or tsx...)."""
    scripts = package.get("scripts")
    script = scripts.get("start") if isinstance(scripts, dict) else None
    if not isinstance(script, str):
        return None
    for segment in re.split(r"&&|\|\||;|\|", script):
        try:
            tokens = shlex.split(segment)
        except ValueError:
            continue
        index = 0
        while index < len(tokens) and (
            tokens[index] in ("cross-env", "env") or re.match(r"^[A-Za-z_]\w*=", tokens[index])
        ):
            index += 1
        if index >= len(tokens) or posixpath.basename(tokens[index]) not in _RUNNERS:
            continue
        with_value = _OPTIONS_WITH_VALUE
        if posixpath.basename(tokens[index]) == "nodemon":
            with_value = _OPTIONS_WITH_VALUE | _NODEMON_OPTIONS_WITH_VALUE
        index += 1
        while index < len(tokens) and tokens[index].startswith("-"):
            index += 2 if tokens[index] in with_value else 1
        if index < len(tokens):
            return tokens[index]
    return None


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
