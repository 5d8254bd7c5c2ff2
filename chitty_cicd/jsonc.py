"""Read JSON and JSONC (JSON with comments) text and add entries without reformatting it.

Every edit is a text insertion: the rest of the file, its comments, indentation, key
order, line endings and final newline stay byte for byte. `json` validates the text first
(after JSONC comments and trailing commas are blanked out), so its line and column numbers
point into the original file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chitty_cicd.errors import ChittyError

BOM = "\ufeff"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_SPACE = " \t\r\n"


@dataclass
class Node:
    """One JSON value: its kind ("object", "array" or "scalar") and its span in the text."""

    kind: str
    start: int
    end: int
    entries: list[Entry] = field(default_factory=list)
    trailing_comma: int | None = None

    def get(self, key: str) -> Node | None:
        """Return the value of an object's member; the last one wins, as in JSON.parse."""
        found = None
        for entry in self.entries:
            if entry.key == key:
                found = entry.value
        return found

    @property
    def keys(self) -> list[str]:
        return [entry.key for entry in self.entries if entry.key is not None]


@dataclass
class Entry:
    """An object member (with its key) or an array item (key None)."""

    key: str | None
    start: int
    value: Node


def load(text: str, relpath: str, *, comments: bool) -> Any:
    """Parse text as JSON, or as JSONC when comments is true; raise ChittyError if invalid."""
    source = text[1:] if text.startswith(BOM) else text
    if comments:
        source = _blank_comments_and_trailing_commas(source)
    try:
        return json.loads(source)
    except json.JSONDecodeError as error:
        kind = "JSONC" if comments else "JSON"
        raise ChittyError(
            f"invalid {kind} at line {error.lineno}, column {error.colno}: {error.msg}; "
            "fix the JSON and run again",
            path=relpath,
            line=error.lineno,
        ) from error


def parse_tree(text: str, relpath: str, *, comments: bool) -> tuple[Any, Node]:
    """Validate text, then return its value and the tree of spans used for insertions."""
    value = load(text, relpath, comments=comments)
    scanner = _Scanner(text)
    return value, scanner.read_value()


def add_member(text: str, obj: Node, key: str, value: Any) -> str:
    """Return text with `"key": value` added as the last member of the object obj."""
    colon = _colon_style(text, obj)
    return _insert_entry(text, obj, json.dumps(key) + colon, value, colon)


def add_item(text: str, array: Node, value: Any) -> str:
    """Return text with value added as the last item of the array."""
    return _insert_entry(text, array, "", value, _colon_style(text, array))


def type_name(value: Any) -> str:
    """Return the JSON name of a parsed value's type: object, array, string, number..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def detect_newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def detect_indent_unit(text: str) -> str:
    """Return the indentation of the first indented line that starts a key or value."""
    match = re.search(r'^([ \t]+)["{\[\d\-tfn]', text, re.MULTILINE)
    return match.group(1) if match else "  "


def _insert_entry(text: str, container: Node, prefix: str, value: Any, colon: str) -> str:
    newline = detect_newline(text)
    unit = detect_indent_unit(text)
    multiline = "\n" in text[container.start : container.end] or (not container.entries and "\n" in text)
    if multiline:
        indent = _entry_indent(text, container, unit)
        body = prefix + _render(value, indent, unit, newline, colon)
        return _insert_on_new_line(text, container, indent + body, newline)
    body = prefix + _render(value, None, unit, newline, colon)
    return _insert_inline(text, container, body)


def _insert_on_new_line(text: str, container: Node, line: str, newline: str) -> str:
    close = container.end - 1
    if not container.entries:
        inner = text[container.start + 1 : close]
        outer_indent = _line_indent(text, container.start)
        if not inner.strip(" \t\r\n"):
            return text[: container.start + 1] + newline + line + newline + outer_indent + text[close:]
        return _insert_before_close(text, close, line, newline)

    if container.trailing_comma is not None:
        anchor = _end_of_line_trivia(text, container.trailing_comma + 1)
        return text[:anchor] + newline + line + "," + text[anchor:]

    last_end = container.entries[-1].value.end
    anchor = _end_of_line_trivia(text, last_end)
    return text[:last_end] + "," + text[last_end:anchor] + newline + line + text[anchor:]


def _insert_before_close(text: str, close: int, line: str, newline: str) -> str:
    line_start = text.rfind("\n", 0, close) + 1
    if not text[line_start:close].strip(" \t"):
        return text[:line_start] + line + newline + text[line_start:]
    return text[:close] + newline + line + newline + text[close:]


def _insert_inline(text: str, container: Node, body: str) -> str:
    close = container.end - 1
    if not container.entries:
        return text[: container.start + 1] + body + text[container.start + 1 :]
    space = " " if _separator_has_space(text, container) else ""
    if container.trailing_comma is not None:
        at = container.trailing_comma + 1
        return text[:at] + space + body + "," + text[at:]
    at = container.entries[-1].value.end
    if at > close:
        at = close
    return text[:at] + "," + space + body + text[at:]


def _separator_has_space(text: str, container: Node) -> bool:
    """Tell whether entries on one line are separated by ", " rather than ","."""
    if len(container.entries) >= 2:
        between = text[container.entries[-2].value.end : container.entries[-1].start]
        return " " in between
    return ", " in text or ": " in text


def _entry_indent(text: str, container: Node, unit: str) -> str:
    for entry in container.entries:
        line_start = text.rfind("\n", 0, entry.start) + 1
        before = text[line_start : entry.start]
        if not before.strip(" \t"):
            return before
    return _line_indent(text, container.start) + unit


def _line_indent(text: str, position: int) -> str:
    line_start = text.rfind("\n", 0, position) + 1
    match = re.match(r"[ \t]*", text[line_start:])
    return match.group(0) if match else ""


def _end_of_line_trivia(text: str, position: int) -> int:
    """Return the offset where a new line may start after position: past spaces and
    comments on the same line, before the line break or before the next token."""
    while position < len(text):
        char = text[position]
        if char in " \t":
            position += 1
        elif text.startswith("//", position):
            end = text.find("\n", position)
            end = len(text) if end == -1 else end
            return end - 1 if text[end - 1 : end] == "\r" else end
        elif text.startswith("/*", position):
            end = text.find("*/", position + 2)
            if end == -1 or "\n" in text[position:end]:
                return position
            position = end + 2
        else:
            return position
    return position


def _colon_style(text: str, container: Node) -> str:
    """Return what separates a key from its value: the container's own, else the file's."""
    for entry in container.entries:
        if entry.key is None:
            continue
        key_end = _STRING.match(text, entry.start)
        if key_end:
            between = text[key_end.end() : entry.value.start]
            if "\n" not in between and "/" not in between:
                return between
    return ":" if '":' in text and not re.search(r'":\s', text) else ": "


def _render(value: Any, indent: str | None, unit: str, newline: str, colon: str) -> str:
    if indent is None:
        return json.dumps(value, ensure_ascii=False, separators=(", ", colon))
    rendered = json.dumps(value, ensure_ascii=False, indent=unit, separators=(",", colon))
    return rendered.replace("\n", newline + indent)


def _blank_comments_and_trailing_commas(text: str) -> str:
    """Replace comments and trailing commas by spaces, keeping every offset and newline."""
    chars = list(text)
    position = 0
    last_comma = None
    while position < len(text):
        char = text[position]
        if char == '"':
            string = _STRING.match(text, position)
            position = string.end() if string else len(text)
            last_comma = None
            continue
        if text.startswith("//", position) or text.startswith("/*", position):
            end = _comment_end(text, position)
            for index in range(position, end):
                if chars[index] not in "\r\n":
                    chars[index] = " "
            position = end
            continue
        if char == ",":
            last_comma = position
        elif char in "]}" and last_comma is not None:
            chars[last_comma] = " "
            last_comma = None
        elif char not in _SPACE:
            last_comma = None
        position += 1
    return "".join(chars)


def _comment_end(text: str, position: int) -> int:
    if text.startswith("//", position):
        end = text.find("\n", position)
        return len(text) if end == -1 else end
    end = text.find("*/", position + 2)
    return len(text) if end == -1 else end + 2


class _Scanner:
    """Build the span tree of text that `load` has already validated."""

    def __init__(self, text: str):
        self.text = text
        self.position = 1 if text.startswith(BOM) else 0

    def skip_trivia(self) -> None:
        text = self.text
        while self.position < len(text):
            if text[self.position] in _SPACE:
                self.position += 1
            elif text.startswith("//", self.position) or text.startswith("/*", self.position):
                self.position = _comment_end(text, self.position)
            else:
                return

    def read_value(self) -> Node:
        self.skip_trivia()
        char = self.text[self.position]
        if char == "{":
            return self.read_container("object", "}")
        if char == "[":
            return self.read_container("array", "]")
        start = self.position
        match = _STRING.match(self.text, start) or _SCALAR.match(self.text, start)
        assert match is not None, f"unexpected character at offset {start}"
        self.position = match.end()
        return Node("scalar", start, self.position)

    def read_container(self, kind: str, close: str) -> Node:
        node = Node(kind, self.position, -1)
        self.position += 1
        while True:
            self.skip_trivia()
            if self.text[self.position] == close:
                self.position += 1
                node.end = self.position
                return node
            node.trailing_comma = None
            start = self.position
            key = None
            if kind == "object":
                key_match = _STRING.match(self.text, start)
                assert key_match is not None
                key = json.loads(key_match.group(0))
                self.position = key_match.end()
                self.skip_trivia()
                self.position += 1  # the colon
            node.entries.append(Entry(key, start, self.read_value()))
            self.skip_trivia()
            if self.text[self.position] == ",":
                node.trailing_comma = self.position
                self.position += 1
