"""Read the Procfile `web` command to find the module that a Python app server imports."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterator
from pathlib import Path

from chitty_cicd.beacon.python_candidates import Candidate, module_file, read_quietly

SERVERS = frozenset({"gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve", "fastapi"})
# Server options whose value is a directory to import the app from.
DIR_OPTIONS = frozenset({"--chdir", "--app-dir", "--pythonpath"})
# Server options that take a value which is not the app, so the value is never a target.
VALUE_OPTIONS = frozenset(
    {
        "-b",
        "--bind",
        "-c",
        "--config",
        "-k",
        "--worker-class",
        "-w",
        "--workers",
        "-t",
        "--timeout",
        "--threads",
        "-e",
        "--env",
        "--env-file",
        "--log-config",
        "--log-file",
        "--log-level",
        "--access-logfile",
        "--error-logfile",
        "-n",
        "--name",
        "--host",
        "--port",
        "-p",
        "--uds",
        "--root-path",
        "--ssl-keyfile",
        "--ssl-certfile",
        "--listen",
        "-u",
        "--user",
        "-g",
        "--group",
        "--loop",
        "--http",
        "--ws",
        "--lifespan",
    }
)


def procfile_candidates(root: Path) -> list[Candidate]:
    """Find the module the Procfile's `web` process serves with a Python app server."""
    text = read_quietly(root, "Procfile") or ""
    found = []
    for line in text.splitlines():
        kind, _, command = line.partition(":")
        if kind.strip() != "web":
            continue
        for target, bases in _server_targets(command):
            relpath = module_file(root, target, bases)
            if relpath is not None:
                found.append(Candidate(relpath, f"the Procfile web process serves {target}"))
    return found


def _server_targets(command: str) -> Iterator[tuple[str, list[str]]]:
    # Yields each argument that may be the app, with the directories to import it from.
    try:
        tokens = shlex.split(command)
    except ValueError:
        return
    base = ""
    for segment in _split_segments(tokens):
        if segment[:1] == ["cd"] and len(segment) > 1:
            base = posixpath.normpath(posixpath.join(base, segment[1]))
            continue
        names = [posixpath.basename(token) for token in segment]
        starts = [i for i, name in enumerate(names) if name in SERVERS]
        if not starts:
            continue
        arguments = segment[starts[0] + 1 :]
        if names[starts[0]] == "fastapi" and arguments[:1] in (["run"], ["dev"]):
            arguments = arguments[1:]
        yield from _app_arguments(arguments, base)


def _split_segments(tokens: list[str]) -> Iterator[list[str]]:
    segment: list[str] = []
    for token in tokens:
        if token in ("&&", "||", ";"):
            yield segment
            segment = []
        else:
            segment.append(token)
    yield segment


def _app_arguments(arguments: list[str], base: str) -> Iterator[tuple[str, list[str]]]:
    directories = []
    positionals = []
    skip_next = False
    for index, token in enumerate(arguments):
        if skip_next:
            skip_next = False
            continue
        option, has_value, value = token.partition("=")
        if option in DIR_OPTIONS and has_value:
            directories.append(value)
        elif option in DIR_OPTIONS and index + 1 < len(arguments):
            directories.append(arguments[index + 1])
            skip_next = True
        elif token.startswith("-"):
            skip_next = token in VALUE_OPTIONS
        else:
            positionals.append(token)
    bases = [posixpath.normpath(posixpath.join(base, d)) for d in directories]
    bases += [base or "", posixpath.join(base, "src") if base else "src"]
    for token in positionals:
        yield token, bases
