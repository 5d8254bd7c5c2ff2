"""Output of a bulk run: one line per repository, a progress bar, a summary and a JSON report."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

# Outcomes in the order the summary lists them: failures first, then pull request links.
OUTCOME_TITLES = {
    "failed": "Failed",
    "pr_opened": "Pull requests opened",
    "pr_updated": "Pull requests updated",
    "pushed": "Branches pushed without a pull request",
    "would_open_pr": "Would open pull requests (dry run)",
    "would_update_pr": "Would update pull requests (dry run)",
    "up_to_date": "Up to date",
    "done_before": "Done in an earlier run",
    "skipped": "Skipped",
}
SUCCESS_LINE = "CI/CD setup complete!"

# Progress bars only for runs long enough to need one.
PROGRESS_MIN_REPOS = 10
PROGRESS_WIDTH = 30

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1"}
_OUTCOME_COLOURS = {
    "failed": "red",
    "pr_opened": "green",
    "pr_updated": "green",
    "pushed": "green",
    "would_open_pr": "cyan",
    "would_update_pr": "cyan",
    "skipped": "yellow",
}


@dataclass
class RepoResult:
    """The outcome of one repository, as printed and as written to the JSON report."""

    repo: str
    outcome: str
    reason: str = ""
    pr_url: str | None = None
    branch: str | None = None
    operation: str | None = None
    version: str | None = None
    files: list[tuple[str, str]] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    kept_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def headline(self) -> str:
        if self.outcome == "failed":
            return f"failed: {self.reason}"
        if self.outcome == "skipped":
            return f"skipped: {self.reason}"
        if self.outcome in ("pr_opened", "pr_updated"):
            verb = "opened" if self.outcome == "pr_opened" else "updated"
            return f"pull request {verb}: {self.pr_url}"
        if self.outcome == "pushed":
            return f"pushed branch {self.branch} ({self.reason})"
        if self.outcome in ("would_open_pr", "would_update_pr"):
            verb = "open" if self.outcome == "would_open_pr" else "update"
            return f"would {verb} a pull request from {self.branch} with {len(self.files)} files"
        if self.outcome == "done_before":
            return f"done in an earlier run: {self.reason}"
        return "up to date" + (f" ({self.reason})" if self.reason else "")


def colour_enabled(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to a non-empty value."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Reporter:
    """Print per-repository lines and the summary. Safe to call from several threads."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, secrets: Iterable[str] = ()):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.secrets = [secret for secret in secrets if secret]
        self.results: list[RepoResult] = []
        self._colour = colour_enabled(self.out)
        self._progress = False
        self._total = 0
        self._lock = threading.RLock()

    def start(self, total: int, heading: str) -> None:
        self._total = total
        self._progress = total >= PROGRESS_MIN_REPOS and self.err.isatty()
        self.say(heading)

    def say(self, text: str) -> None:
        with self._lock:
            self._clear_progress()
            print(self.mask(text), file=self.out, flush=True)
            self._draw_progress()

    def warn(self, text: str) -> None:
        with self._lock:
            self._clear_progress()
            print(self._paint(self.mask(text), "yellow"), file=self.err, flush=True)
            self._draw_progress()

    def repo_line(self, repo: str, text: str, tone: str | None = None) -> None:
        self.say(self._paint(f"[{repo}] ", "bold") + self._paint(text, tone))

    def finish(self, result: RepoResult) -> None:
        """Record a repository's result and print its lines."""
        with self._lock:
            self.results.append(result)
            self.repo_line(result.repo, result.headline(), _OUTCOME_COLOURS.get(result.outcome))
            if result.outcome in ("would_open_pr", "would_update_pr"):
                for status, path in result.files:
                    self.repo_line(result.repo, f"  would {_FILE_VERBS.get(status, 'change')} {path}")

    def summary(self, *, dry_run: bool, interrupted: bool = False, seconds: float | None = None) -> bool:
        """Print the results grouped by outcome and a closing line. Return True when none failed."""
        with self._lock:
            self._clear_progress()
            self._progress = False
            groups: dict[str, list[RepoResult]] = {outcome: [] for outcome in OUTCOME_TITLES}
            for result in sorted(self.results, key=lambda r: r.repo):
                groups.setdefault(result.outcome, []).append(result)

            timing = f" in {seconds:.1f} s" if seconds is not None else ""
            self.say("")
            self.say(self._paint(f"Summary of {len(self.results)} repositories{timing}", "bold"))
            for outcome, results in groups.items():
                if results:
                    self._print_group(outcome, results)

            failed = len(groups["failed"])
            self.say("")
            self.say(self._closing_line(failed, dry_run=dry_run, interrupted=interrupted))
            return failed == 0

    def _closing_line(self, failed: int, *, dry_run: bool, interrupted: bool) -> str:
        if interrupted:
            left = self._total - len(self.results)
            return self._paint(
                f"Interrupted with {left} of {self._total} repositories not finished; "
                "run the same command again to continue.",
                "yellow",
            )
        if failed:
            noun = "repository" if failed == 1 else "repositories"
            return self._paint(
                f"CI/CD setup failed for {failed} {noun}; fix the reasons above and run again "
                "with --only-failed.",
                "red",
            )
        if dry_run:
            return "Dry run complete: nothing was pushed and no pull request was opened."
        return self._paint(SUCCESS_LINE, "green")

    def _print_group(self, outcome: str, results: list[RepoResult]) -> None:
        title = OUTCOME_TITLES.get(outcome, outcome)
        self.say(self._paint(f"{title} ({len(results)}):", _OUTCOME_COLOURS.get(outcome)))
        for result in results:
            if outcome in ("pr_opened", "pr_updated"):
                detail = result.pr_url or ""
            elif outcome in ("would_open_pr", "would_update_pr"):
                detail = f"{len(result.files)} files on {result.branch}"
            else:
                detail = result.reason + (f" ({result.pr_url})" if result.pr_url else "")
            self.say(f"  [{result.repo}] {detail}".rstrip())

    def write_json(self, path: Path, header: dict[str, Any]) -> None:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        document = {
            **header,
            "counts": counts,
            "repositories": [_as_json(r) for r in sorted(self.results, key=lambda r: r.repo)],
        }
        text = self.mask(json.dumps(document, indent=2, sort_keys=True))
        path.write_text(text + "\n", encoding="utf-8")

    def add_secret(self, secret: str | None) -> None:
        """Mask secret in everything printed or written from now on."""
        if secret:
            self.secrets.append(secret)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def _paint(self, text: str, tone: str | None) -> str:
        if not self._colour or tone is None:
            return text
        return f"\033[{_COLOURS[tone]}m{text}\033[0m"

    def _clear_progress(self) -> None:
        if self._progress:
            self.err.write("\r\033[K")
            self.err.flush()

    def _draw_progress(self) -> None:
        if not self._progress:
            return
        done = len(self.results)
        filled = PROGRESS_WIDTH * done // max(self._total, 1)
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        self.err.write(f"\r[{bar}] {done}/{self._total} repositories")
        self.err.flush()


@contextlib.contextmanager
def log_through(reporter: Reporter) -> Iterator[None]:
    """Send the package's log records to reporter while the block runs."""
    logger = logging.getLogger("chitty_cicd")
    handler = ReporterLogHandler(reporter)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


class ReporterLogHandler(logging.Handler):
    """Send log records (rate-limit waits, retries) through a Reporter, so that they are
    masked and do not break the progress bar."""

    def __init__(self, reporter: Reporter):
        super().__init__(level=logging.INFO)
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        self.reporter.warn(self.format(record))


_FILE_VERBS = {"A": "add", "M": "change", "D": "delete", "T": "change"}
_FILE_CHANGES = {"A": "added", "M": "changed", "D": "deleted", "T": "changed"}


def _as_json(result: RepoResult) -> dict[str, Any]:
    document = asdict(result)
    document["files"] = [{"change": _FILE_CHANGES.get(s, "changed"), "path": p} for s, p in result.files]
    return document
