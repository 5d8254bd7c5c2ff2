"""Start the ChittyBeacon from a Next.js app's instrumentation hook, on the server only.

Next.js calls `register()` from `instrumentation.ts|js` once when a server starts, in
both its Node.js and its Edge runtime. The beacon is imported dynamically behind a
`process.env.NEXT_RUNTIME === 'nodejs'` check: Next.js replaces that variable at build
time, so the Edge bundle drops the import, and the file never reaches the browser.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chitty_cicd.beacon import js_source
from chitty_cicd.beacon.node_project import BEACON_PACKAGE, Reader, declared_dependencies
from chitty_cicd.edits import Plan
from chitty_cicd.errors import ChittyError

# The default pageExtensions of Next.js; a project that changes them needs another name.
INSTRUMENTATION_EXTENSIONS = (".ts", ".js", ".tsx", ".jsx")
_NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs")
_OPENING_TAIL = r"[ \t]*\{[ \t]*(?://[^\n]*)?(?:\r?\n|$)"
_REGISTER_FUNCTION = re.compile(
    r"^(?P<indent>[ \t]*)export[ \t]+(?:(?P<async>async)[ \t]+)?(?P<anchor>function)[ \t]+"
    r"register[ \t]*\([^)]*\)[ \t]*(?P<type>:[^{\n]*)?" + _OPENING_TAIL,
    re.MULTILINE,
)
_REGISTER_ARROW = re.compile(
    r"^(?P<indent>[ \t]*)export[ \t]+(?:const|let)[ \t]+register[ \t]*=[ \t]*"
    r"(?:(?P<async>async)[ \t]+)?(?P<anchor>\()[^)]*\)[ \t]*(?P<type>:[^=\n]*)?=>" + _OPENING_TAIL,
    re.MULTILINE,
)
_EMPTY_REGISTER = re.compile(
    r"^(?P<head>(?P<indent>[ \t]*)export[ \t]+(?:async[ \t]+)?function[ \t]+register[ \t]*"
    r"\([^)]*\)[ \t]*(?::[^{\n]*)?\{)[ \t]*\}",
    re.MULTILINE,
)


def instrumentation_dir(root: Path) -> str:
    """Return "src" when the Next.js app in directory root reads its pages from src/, else "".

    Next.js ignores src/app and src/pages when app/ or pages/ exists in the app's directory.
    """
    if (root / "app").is_dir() or (root / "pages").is_dir():
        return ""
    if (root / "src" / "app").is_dir() or (root / "src" / "pages").is_dir():
        return "src"
    return ""


def is_instrumentation_path(path: str) -> bool:
    directory, name = posixpath.split(path)
    stem, extension = posixpath.splitext(name)
    return (
        directory in ("", "src") and stem == "instrumentation" and (extension in INSTRUMENTATION_EXTENSIONS)
    )


def find_instrumentation(read: Reader, directory: str) -> str | None:
    for extension in INSTRUMENTATION_EXTENSIONS:
        path = posixpath.join(directory, "instrumentation" + extension)
        if read(path) is not None:
            return path
    return None


def plan_instrumentation(
    root: Path,
    path: str,
    read: Reader,
    plan: Plan,
    package: Mapping[str, Any] | None,
    package_dir: str = "",
) -> None:
    """Plan the beacon in the register() of path, creating the file when it is missing.

    package_dir is the app's directory, "" for the repository root.
    """
    text = read(path)
    new_text = new_instrumentation() if text is None else add_beacon_to_register(text, path)
    if new_text != text:
        plan.write(path, new_text)

    src_dir = posixpath.join(package_dir, "src")
    other_dir = package_dir if posixpath.dirname(path) == src_dir else src_dir
    ignored = find_instrumentation(read, other_dir)
    if ignored is not None:
        plan.notes.append(
            f"Next.js ignores {ignored} because it reads instrumentation from {path}; "
            "move its code there and delete it"
        )
    _note_next_version(read, package, plan, package_dir)


def new_instrumentation() -> str:
    return (
        "// Next.js calls register() once when a server starts. The beacon loads only in the\n"
        "// Node.js runtime, so it stays out of the Edge runtime and the browser.\n"
        "export async function register() {\n"
        "  if (process.env.NEXT_RUNTIME === 'nodejs') {\n"
        f"    await import('{BEACON_PACKAGE}');\n"
        "  }\n"
        "}\n"
    )


def add_beacon_to_register(text: str, relpath: str) -> str:
    """Return text with the guarded beacon import first in register(), or text if present."""
    if js_source.references_module(text, BEACON_PACKAGE):
        return text
    empty = _EMPTY_REGISTER.search(text)
    if empty is not None:
        newline = "\r\n" if "\r\n" in text else "\n"
        opened = empty.group("head") + newline + empty.group("indent") + "}"
        text = text[: empty.start()] + opened + text[empty.end() :]
    match = _REGISTER_FUNCTION.search(text) or _REGISTER_ARROW.search(text)
    if match is not None:
        return _insert_into_register(text, match)
    if re.search(r"\bregister\b", text):
        raise ChittyError(
            "exports register() in a form this tool cannot edit; add\n"
            + _guarded_import(text, "  ", "await")
            + "at the top of an async register() and run again",
            path=relpath,
        )

    if not text.strip():
        return new_instrumentation()
    newline = "\r\n" if "\r\n" in text else "\n"
    separator = newline if text.endswith("\n") else newline * 2
    return text + separator + new_instrumentation().replace("\n", newline)


def _insert_into_register(text: str, match: re.Match[str]) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    unit = _indent_unit(text)
    indent = _body_indent(text, match.end(), match.group("indent") + unit)
    can_await = match.group("async") is not None or match.group("type") is None
    block = _guarded_import(text, indent, "await" if can_await else "void", unit).replace("\n", newline)

    head = text[: match.end()]
    if match.group("async") is None and can_await:
        anchor = match.start("anchor")
        head = head[:anchor] + "async " + head[anchor:]
    if not head.endswith("\n"):
        head += newline
    return head + block + text[match.end() :]


def _guarded_import(text: str, indent: str, keyword: str, unit: str = "  ") -> str:
    quote, semicolon = js_source.detect_style(text)
    end = ";" if semicolon else ""
    return (
        f"{indent}if (process.env.NEXT_RUNTIME === {quote}nodejs{quote}) {{\n"
        f"{indent}{unit}{keyword} import({quote}{BEACON_PACKAGE}{quote}){end}\n"
        f"{indent}}}\n"
    )


def _body_indent(text: str, body_start: int, fallback: str) -> str:
    line_end = text.find("\n", body_start)
    line = text[body_start : len(text) if line_end == -1 else line_end].rstrip("\r")
    if line.strip() and not line.strip().startswith("}"):
        return line[: len(line) - len(line.lstrip(" \t"))]
    return fallback


def _indent_unit(text: str) -> str:
    match = re.search(r"^([ \t]+)\S", text, re.MULTILINE)
    return match.group(1) if match else "  "


def _note_next_version(read: Reader, package: Mapping[str, Any] | None, plan: Plan, package_dir: str) -> None:
    declared = declared_dependencies(package).get("next", "")
    match = re.search(r"(\d+)(?:\.(\d+))?", declared)
    if match is None:
        return
    version = (int(match.group(1)), int(match.group(2) or 0))
    if version < (13, 2):
        plan.notes.append(
            f"next {declared} has no instrumentation hook (it arrived in 13.2), so the beacon "
            "does not start; upgrade Next.js"
        )
    elif version < (15, 0):
        configs = [read(posixpath.join(package_dir, name)) for name in _NEXT_CONFIGS]
        if not any(config and "instrumentationHook" in config for config in configs):
            plan.notes.append(
                f"next {declared} calls instrumentation only with "
                "`experimental: { instrumentationHook: true }` in next.config; add it "
                "(Next.js 15 made the hook stable)"
            )
