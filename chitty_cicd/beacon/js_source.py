"""Place a side-effect import at the top of a JavaScript or TypeScript module.

The import goes below what must stay first in the file: a shebang, the directive prologue
('use strict', "use client"), TypeScript triple-slash directives and pragma or licence
comments. A comment attached to the first statement (no blank line between them) stays
with that statement, so the import goes above it. Every other byte is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

BOM = "\ufeff"
_ESM_SUFFIXES = {".mjs", ".ts", ".tsx", ".mts", ".cts"}
_ESM_SYNTAX = re.compile(
    r"^[ \t]*(?:import[ \t]*(?:[\w*{$]|['\"])|export[ \t]+(?:default|const|let|var|function"
    r"|class|async|type|interface|enum|\{|\*))",
    re.MULTILINE,
)
_IMPORT_LINE = re.compile(r"^(?:import\b.*['\"]|(?:const|let|var)\s.*\brequire\s*\(.*\))\s*;?$")
_SIMPLE_STATEMENT_LINE = re.compile(
    r"^(?:(?:const|let|var)\s+[\w$]+\s*=\s*[^{\[(`]*[\w'\")]|['\"]use [\w ]+['\"])\s*;?$"
)
_TRIPLE_SLASH = re.compile(r"///[ \t]*<(?:reference|amd-module|amd-dependency)\b")
# Comments that tools read only while they lead the file, and licence headers.
_PRAGMA = re.compile(
    r"@license|@preserve|@copyright|copyright|\blicen[cs]e[ds]?\b|spdx-license-identifier"
    r"|@ts-(?:no)?check|@jsx\w*|@(?:no)?flow\b|\beslint\b|\bjshint\b|^/\*\s*globals?\s"
    r"|@(?:jest|vitest)-environment|@format\b|@prettier\b|@file(?:overview)?\b|@module\b"
    r"|@packageDocumentation|istanbul ignore file|c8 ignore|^/\*!",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Element:
    """A piece of the file's leading trivia: kind is "keep" (must stay first) or "comment"."""

    kind: str
    start: int
    end: int


def detect_module_system(relpath: str, text: str, package_type: str | None) -> str:
    """Return "esm" or "cjs": the syntax a new import in this file must use.

    TypeScript files get ESM syntax even when compiled to CommonJS, because the compiler
    turns `import 'x'` into `require('x')`.
    """
    suffix = PurePosixPath(relpath).suffix.lower()
    if suffix == ".cjs":
        return "cjs"
    if suffix in _ESM_SUFFIXES or package_type == "module" or _ESM_SYNTAX.search(text):
        return "esm"
    return "cjs"


def references_module(text: str, module: str) -> bool:
    """Tell whether the code imports or requires module (or a subpath of it).

    Lines that start as comments are ignored, so a commented-out import does not count.
    """
    pattern = re.compile(
        r"(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)([\"'`])" + re.escape(module) + r"(?:/[^\"'`]*)?\1"
    )
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("//", "*", "/*")):
            continue
        if pattern.search(line):
            return True
    return False


def add_side_effect_import(text: str, module: str, system: str) -> str:
    """Return text with `import 'module';` (or `require('module');`) added once at the top."""
    if references_module(text, module):
        return text
    statement = import_statement(text, module, system)
    return insert_line(text, find_insertion_offset(text), statement)


def import_statement(text: str, module: str, system: str) -> str:
    """Return the import in the file's own quote and semicolon style."""
    quote, semicolon = detect_style(text)
    literal = f"{quote}{module}{quote}"
    statement = f"import {literal}" if system == "esm" else f"require({literal})"
    return statement + (";" if semicolon else "")


def insert_line(text: str, offset: int, line: str) -> str:
    """Insert line and a line break at offset.

    At the end of a text without a final line break, the line break goes before the line,
    so the text still ends without one.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    if offset == len(text) and text and not text.endswith("\n"):
        return text + newline + line
    return text[:offset] + line + newline + text[offset:]


def find_insertion_offset(text: str) -> int:
    """Return the offset of the line where a new first import belongs."""
    elements, code_start = _scan_leading_trivia(text)
    kept_ends = [e.end for e in elements if e.kind == "keep"]
    keep_end = max(kept_ends, default=_start_offset(text))
    floor = _next_line_start(text, keep_end, code_start) if kept_ends else keep_end

    movable = [e for e in elements if e.kind == "comment" and e.start >= keep_end]
    attached_start = code_start
    for element in reversed(movable):
        if _has_blank_line(text[element.end : attached_start]):
            break
        attached_start = element.start
    if code_start == len(text):
        return len(text)
    return max(floor, _line_start(text, attached_start))


def _scan_leading_trivia(text: str) -> tuple[list[_Element], int]:
    """Split the text before the first statement into elements; return them and that offset."""
    elements: list[_Element] = []
    position = _start_offset(text)
    if text.startswith("#!", position):
        end = _line_end(text, position)
        elements.append(_Element("keep", position, end))
        position = end

    while True:
        position = _skip_space(text, position)
        if position >= len(text):
            return elements, len(text)
        if text.startswith("//", position):
            end = _line_end(text, position)
            comment = text[position:end]
            kind = "keep" if _TRIPLE_SLASH.match(comment) or _PRAGMA.search(comment) else "comment"
            elements.append(_Element(kind, position, end))
            position = end
        elif text.startswith("/*", position):
            close = text.find("*/", position + 2)
            end = len(text) if close == -1 else close + 2
            kind = "keep" if _PRAGMA.search(text[position:end]) else "comment"
            elements.append(_Element(kind, position, end))
            position = end
        elif text[position] in "'\"":
            directive_end = _directive_end(text, position)
            if directive_end is None:
                return elements, position
            elements.append(_Element("keep", position, directive_end))
            position = directive_end
        else:
            return elements, position


def _directive_end(text: str, position: int) -> int | None:
    """Return the end of a directive such as 'use strict'; at position, or None if the
    string literal there is part of a longer expression."""
    quote = text[position]
    match = re.compile(rf"{quote}(?:[^{quote}\\\n]|\\.)*{quote}").match(text, position)
    if match is None:
        return None
    after = match.end()
    rest = re.match(r"[ \t]*(?:/\*[^\n]*?\*/[ \t]*)*", text[after:])
    probe = after + (rest.end() if rest else 0)
    if probe >= len(text) or text[probe] in "\r\n" or text.startswith("//", probe):
        return after
    if text[probe] == ";":
        return probe + 1
    return None


def detect_style(text: str) -> tuple[str, bool]:
    """Return the quote character and whether statements end with semicolons.

    Import and require lines decide; without any, one-line declarations and directives do.
    The defaults are single quotes and semicolons.
    """
    quote = "'"
    match = re.search(r"(?:\bfrom\s*|^import\s*|\brequire\s*\(\s*)(['\"])", text, re.MULTILINE)
    if match:
        quote = match.group(1)
    lines = [re.sub(r"\s*//.*$", "", line).rstrip() for line in text.splitlines()[:200]]
    for pattern in (_IMPORT_LINE, _SIMPLE_STATEMENT_LINE):
        for line in lines:
            if pattern.match(line):
                return quote, line.endswith(";")
    return quote, True


def _start_offset(text: str) -> int:
    return 1 if text.startswith(BOM) else 0


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_end(text: str, position: int) -> int:
    """Return the offset of the line break ending the line at position, or the text's end."""
    end = text.find("\n", position)
    if end == -1:
        return len(text)
    return end - 1 if text[end - 1] == "\r" else end


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def _next_line_start(text: str, position: int, limit: int) -> int:
    """Return the start of the line after position, or limit when code follows on that line."""
    newline = text.find("\n", position)
    if newline == -1 or newline >= limit:
        return min(limit, len(text))
    return newline + 1


def _has_blank_line(gap: str) -> bool:
    return gap.replace("\r", "").count("\n") >= 2
