"""Facts about a Node.js repository that the beacon wiring and the merges share."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError

from chitty_cicd import jsonc
from chitty_cicd.edits import Plan, read_text
from chitty_cicd.errors import ChittyError

BEACON_PACKAGE = "@chittycorp/app-beacon"
# NOTE: the package is served from the organization's npm registry, not from the public
# one (it is not published there), so installs need the `@chittycorp` scope mapped to
# that registry in .npmrc.
BEACON_VERSION_RANGE = "^1.0.0"
# Defaults of the beacon, used when BEACON_ENDPOINT and BEACON_INTERVAL are unset.
DEFAULT_ENDPOINT = "https://beacon.cloudeto.com"
DEFAULT_INTERVAL_MS = 300_000

# Wrangler reads the first of these that exists (workers-sdk, config-helpers.ts).
WRANGLER_CONFIGS = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")

# Programs that run a JavaScript or TypeScript file named on their command line.
NODE_RUNNERS = ("node", "nodemon", "ts-node", "ts-node-dev", "ts-node-esm", "tsx", "bun")
# Scripts that start an application. A library has none that runs one of NODE_RUNNERS.
APP_SCRIPTS = ("start", "dev", "serve")
_OPTIONS_WITH_VALUE = {
    "-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file",
    "-C", "--conditions", "-e", "--eval", "-p", "--print",
}  # fmt: skip
_NODEMON_OPTIONS_WITH_VALUE = {
    "-w", "--watch", "-i", "--ignore", "-x", "--exec", "--ext", "-d", "--delay",
    "--signal", "--config",
}  # fmt: skip
# `tsx watch FILE` and `bun run FILE` name the file after a subcommand.
_SUBCOMMANDS = {"tsx": ("watch",), "bun": ("run",)}

Reader = Callable[[str], "str | None"]


def file_reader(root: Path, plan: Plan | None = None) -> Reader:
    """Return a Reader of the repository's files (as planned so far, when plan is given).

    A directory reads as a missing file, so probing a candidate path that is a directory
    returns None instead of raising.
    """

    def read(relpath: str) -> str | None:
        if not relpath or (root / relpath).is_dir():
            return None
        return plan.current(root, relpath) if plan is not None else read_text(root, relpath)

    return read


def read_package_json(read: Reader, relpath: str = "package.json") -> dict[str, Any] | None:
    """Return the parsed package.json at relpath, None when absent; raise if invalid."""
    text = read(relpath)
    if text is None:
        return None
    value = jsonc.load(text, relpath, comments=False)
    if not isinstance(value, dict):
        raise ChittyError(
            "does not contain a JSON object at the top level; fix the JSON and run again",
            path=relpath,
        )
    return value


def nearest_package_json(read: Reader, path: str) -> str | None:
    """Return the package.json that governs path: in its directory or the closest above."""
    directory = posixpath.dirname(normalize_relpath(path))
    while True:
        candidate = posixpath.join(directory, "package.json")
        if read(candidate) is not None:
            return candidate
        if not directory:
            return None
        directory = posixpath.dirname(directory)


def declared_dependencies(package: Mapping[str, Any] | None) -> dict[str, str]:
    """Return the dependencies and devDependencies of package.json, merged."""
    merged: dict[str, str] = {}
    for field in ("devDependencies", "dependencies"):
        value = (package or {}).get(field)
        if isinstance(value, dict):
            merged.update({str(name): str(version) for name, version in value.items()})
    return merged


def is_next_app(package: Mapping[str, Any] | None) -> bool:
    return "next" in declared_dependencies(package)


def uses_workers_runtime(deploy_target: str | None, package: Mapping[str, Any] | None) -> bool:
    """Tell whether the Node.js code runs in the Cloudflare Workers runtime.

    A Next.js app deployed to Cloudflare keeps the Next.js wiring, because Next.js calls
    the instrumentation hook there too.
    """
    return deploy_target == "cloudflare" and not is_next_app(package)


def find_wrangler_config(read: Reader) -> str | None:
    for name in WRANGLER_CONFIGS:
        if read(name) is not None:
            return name
    return None


def is_application(package: Mapping[str, Any], deploy_target: str | None) -> bool:
    """Tell whether package.json describes an application rather than a library.

    An application is `"private": true` (npm refuses to publish it), has a start, dev or
    serve script that runs a file with one of NODE_RUNNERS, or deploys to Vercel or
    Cloudflare. A `bin` field does not count, because a command-line package's `main` is
    usually its library API, imported by other programs.
    """
    if package.get("private") is True or deploy_target in ("vercel", "cloudflare"):
        return True
    for name in APP_SCRIPTS:
        for _command in _runner_commands(package, name):
            return True
    return False


def script_target(package: Mapping[str, Any], name: str) -> str | None:
    """Return the file that package.json's script `name` runs with node (or tsx...)."""
    for tokens in _runner_commands(package, name):
        with_value = _OPTIONS_WITH_VALUE
        if posixpath.basename(tokens[0]) == "nodemon":
            with_value = _OPTIONS_WITH_VALUE | _NODEMON_OPTIONS_WITH_VALUE
        index = _skip_options(tokens, 1, with_value)
        if index < len(tokens) and tokens[index] in _SUBCOMMANDS.get(posixpath.basename(tokens[0]), ()):
            index = _skip_options(tokens, index + 1, with_value)
        if index < len(tokens):
            return tokens[index]
    return None


def _skip_options(tokens: list[str], index: int, with_value: set[str]) -> int:
    while index < len(tokens) and tokens[index].startswith("-"):
        index += 2 if tokens[index] in with_value else 1
    return index


def _runner_commands(package: Mapping[str, Any], name: str) -> Iterator[list[str]]:
    """Yield each command of a script that runs one of NODE_RUNNERS, from the runner on."""
    scripts = package.get("scripts")
    script = scripts.get(name) if isinstance(scripts, dict) else None
    if not isinstance(script, str):
        return
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
        if index < len(tokens) and posixpath.basename(tokens[index]) in NODE_RUNNERS:
            yield tokens[index:]


def workspace_manifest(read: Reader, package: Mapping[str, Any] | None) -> str | None:
    """Return the file that declares workspaces (a monorepo root), or None."""
    if package is not None and package.get("workspaces"):
        return "package.json"
    if read("pnpm-workspace.yaml") is not None:
        return "pnpm-workspace.yaml"
    return None


def load_wrangler_config(text: str, relpath: str) -> dict[str, Any]:
    """Parse a Wrangler configuration (TOML, or JSON with comments); raise if invalid."""
    if relpath.endswith(".toml"):
        return parse_toml(text, relpath).unwrap()
    value = jsonc.load(text, relpath, comments=True)
    if not isinstance(value, dict):
        raise ChittyError(
            "does not contain a JSON object at the top level; fix the file and run again",
            path=relpath,
        )
    return value


def parse_toml(text: str, relpath: str) -> tomlkit.TOMLDocument:
    """Parse TOML keeping comments and layout; raise ChittyError naming the line if invalid."""
    try:
        return tomlkit.parse(text)
    except ParseError as error:
        reason = re.sub(r" at line \d+ col \d+$", "", str(error))
        raise ChittyError(
            f"invalid TOML at line {error.line}, column {error.col}: {reason}; fix the file and run again",
            path=relpath,
            line=error.line,
        ) from error


def load_tsconfig(read: Reader) -> dict[str, Any]:
    """Return tsconfig.json's compilerOptions, or {} when there is none.

    NOTE: options inherited through "extends" are not followed.
    """
    text = read("tsconfig.json")
    if text is None:
        return {}
    value = jsonc.load(text, "tsconfig.json", comments=True)
    options = value.get("compilerOptions") if isinstance(value, dict) else None
    return options if isinstance(options, dict) else {}


def symlink_out_of_repository(root: Path, relpath: str) -> str | None:
    """Return the first part of relpath that is a symlink leading out of root, or None.

    Naming that part (such as `src` for `src/index.js`) shows the user which link to fix,
    where the path that happened to be read through it would not.
    """
    resolved_root = root.resolve()
    parts = [part for part in relpath.split("/") if part]
    for count in range(1, len(parts) + 1):
        prefix = "/".join(parts[:count])
        path = root / prefix
        if not path.is_symlink():
            continue
        target = path.resolve()
        if target != resolved_root and resolved_root not in target.parents:
            return prefix
    return None


def normalize_relpath(path: str) -> str:
    """Return path relative to the repository root in POSIX form, without "./"."""
    normalized = posixpath.normpath(path.replace("\\", "/"))
    return "" if normalized == "." else normalized.removeprefix("./")
