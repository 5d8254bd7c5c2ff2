"""Python source helpers for the beacon: parse a module and add one import line to it."""

from __future__ import annotations

import ast
import io
import sys
import warnings

from chitty_cicd.errors import ChittyError

BOM = "\ufeff"
_PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def parse_module(text: str, relpath: str) -> ast.Module:
    """Parse and compile a module's text, raising ChittyError on a syntax error.

    Compiling the tree also catches what the parser accepts but Python rejects at import,
    such as a `from __future__` import below other statements.
    """
    source = text.removeprefix(BOM)
    try:
        with warnings.catch_warnings():
            # The user's own warnings (e.g. invalid escape sequences) are not ours to print.
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=relpath)
            compile(tree, relpath, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ChittyError(
            f"is not valid Python {_PYTHON_VERSION} ({error.msg}); fix the syntax error, "
            "run Copier with the Python version the project uses, "
            "or set beacon_entry to another module",
            path=relpath,
            line=error.lineno,
        ) from error
    return tree


def parse_quietly(text: str) -> ast.Module | None:
    """Parse text as a module, or return None when it is not valid Python."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text.removeprefix(BOM))
    except (SyntaxError, ValueError):
        return None


def imports_module(tree: ast.Module, name: str) -> bool:
    """Tell whether any import statement in tree names the module `name`.

    Matches `import name`, `import pkg.name`, `from name import x`, `from .name import x`
    and `from . import name`, at any depth in the module.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(name in alias.name.split(".") for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom):
            if name in (node.module or "").split("."):
                return True
            if any(alias.name == name for alias in node.names):
                return True
    return False


def top_level_imports(tree: ast.Module) -> set[str]:
    """Return the first component of every absolute import in tree, e.g. `os` for `os.path`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def insert_import(text: str, statement: str, module: str, relpath: str) -> str | None:
    """Add `statement` as one line below what must stay first in the module.

    What stays first is the shebang, the encoding cookie and other leading comments, the
    module docstring and the `from __future__` imports. The new line goes before the first
    non-blank line after them. The file's line endings and every other character stay as
    they are. Returns None when the module already imports `module`.
    """
    tree = parse_module(text, relpath)
    if imports_module(tree, module):
        return None

    lines = io.StringIO(text, newline="").readlines()
    index = _insertion_index(tree, lines)
    ending = _line_ending(lines, index)
    new_line = statement + ending
    if index > 0 and not lines[index - 1].endswith(("\n", "\r")):
        lines[index - 1] += ending
    if index == 0 and lines and lines[0].startswith(BOM):
        lines[0] = lines[0].removeprefix(BOM)
        new_line = BOM + new_line
    lines.insert(index, new_line)
    result = "".join(lines)

    try:
        parse_module(result, relpath)
    except ChittyError as error:
        message = f"inserting {statement!r} into {relpath} produced invalid Python: {error}"
        raise RuntimeError(message) from error
    return result


def _insertion_index(tree: ast.Module, lines: list[str]) -> int:
    # Everything above the first statement is shebang, cookie, comments or blank lines.
    body = tree.body
    end = _first_line(body[0]) - 1 if body else len(lines)

    prefix = body[:1] if body and _is_docstring(body[0]) else []
    for node in body[len(prefix) :]:
        if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            break
        prefix.append(node)
    for node in prefix:
        end = max(end, node.end_lineno or node.lineno)

    index = end
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _first_line(node: ast.stmt) -> int:
    # A decorated definition starts at its first decorator, not at `def` or `class`.
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _line_ending(lines: list[str], index: int) -> str:
    # The line above the insertion point decides; a file with mixed endings keeps its mix.
    for line in lines[max(index - 1, 0) : index] + lines:
        for ending in ("\r\n", "\n", "\r"):
            if line.endswith(ending):
                return ending
    return "\n"
