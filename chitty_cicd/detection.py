"""The result type every detection rule returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detection:
    """A detected value, or None when the evidence is missing or ambiguous, with the reason."""

    value: str | None
    reason: str

    @property
    def found(self) -> bool:
        return self.value is not None
