"""The one error type whose message is shown to the user as it is."""

from __future__ import annotations

from pathlib import Path


class ChittyError(Exception):
    """A problem the user can fix; the message names the value, the file and the fix."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        self.path = Path(path) if path is not None else None
        self.line = line
        location = ""
        if path is not None:
            location = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(location + message)
