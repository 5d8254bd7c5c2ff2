"""A per-repository record of bulk runs, so that a re-run continues where the last one stopped.

The ledger is a JSON Lines file: each line is one event ("started" or "finished") for one
repository. Lines are appended and flushed as they happen, so an interrupted run leaves
every finished repository recorded and the rest marked as started.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Outcomes after which the same run (same template ref and answers) has nothing left to do.
DONE_OUTCOMES = frozenset({"pr_opened", "pr_updated", "pushed", "up_to_date"})


def default_ledger_path() -> Path:
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "chitty-cicd" / "ledger.jsonl"


class Ledger:
    """The last recorded event per repository, loaded from and appended to one file.

    With path None the ledger keeps events in memory only.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._last: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interrupted write
            if isinstance(event, dict) and "repo" in event:
                self._last[event["repo"]] = event

    def last(self, repo: str) -> dict[str, Any] | None:
        return self._last.get(repo)

    def is_done(self, repo: str, run_key: str) -> bool:
        """Tell whether an earlier run with the same run key finished this repository."""
        event = self._last.get(repo)
        return (
            event is not None
            and event.get("event") == "finished"
            and event.get("run") == run_key
            and event.get("outcome") in DONE_OUTCOMES
        )

    def needs_retry(self, repo: str) -> bool:
        """Tell whether the last run failed on this repository or stopped before finishing it."""
        event = self._last.get(repo)
        if event is None:
            return False
        return event.get("event") == "started" or event.get("outcome") == "failed"

    def record_start(self, repo: str, run_key: str) -> None:
        self._append({"repo": repo, "run": run_key, "event": "started"})

    def record_finish(
        self, repo: str, run_key: str, outcome: str, *, reason: str = "", pr_url: str | None = None
    ) -> None:
        event = {"repo": repo, "run": run_key, "event": "finished", "outcome": outcome}
        if reason:
            event["reason"] = reason
        if pr_url:
            event["pr_url"] = pr_url
        self._append(event)

    def _append(self, event: dict[str, Any]) -> None:
        event = {"time": datetime.now(UTC).isoformat(timespec="seconds"), **event}
        with self._lock:
            self._last[event["repo"]] = event
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(event, sort_keys=True) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
