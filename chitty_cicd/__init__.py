"""The ChittyOS CI/CD standard: detection rules, repository edits and the bulk-apply tool."""

from __future__ import annotations

__version__ = "1.0.0"
