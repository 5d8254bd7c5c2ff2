"""Run output: per-repository lines, colour rules, the grouped summary and the JSON report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chitty_cicd.report import RepoResult, Reporter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def sample_results() -> list[RepoResult]:
    return [
        RepoResult(
            "acme/web", "pr_opened", pr_url="https://github.test/acme/web/pull/1", branch="ci/initial-setup"
        ),
        RepoResult("acme/api", "failed", reason="push to ci/initial-setup was rejected: hook declined"),
        RepoResult("acme/old", "skipped", reason="archived"),
        RepoResult("acme/lib", "up_to_date"),
    ]


def test_summary_groups_by_outcome_failures_first():
    out = io.StringIO()
    reporter = Reporter(out, io.StringIO())
    for result in sample_results():
        reporter.finish(result)

    ok = reporter.summary(dry_run=False)

    assert ok is False
    assert out.getvalue() == (
        "[acme/web] pull request opened: https://github.test/acme/web/pull/1\n"
        "[acme/api] failed: push to ci/initial-setup was rejected: hook declined\n"
        "[acme/old] skipped: archived\n"
        "[acme/lib] up to date\n"
        "\n"
        "Summary of 4 repositories\n"
        "Failed (1):\n"
        "  [acme/api] push to ci/initial-setup was rejected: hook declined\n"
        "Pull requests opened (1):\n"
        "  [acme/web] https://github.test/acme/web/pull/1\n"
        "Up to date (1):\n"
        "  [acme/lib]\n"
        "Skipped (1):\n"
        "  [acme/old] archived\n"
        "\n"
        "CI/CD setup failed for 1 repository; fix the reasons above and run again with --only-failed.\n"
    )


def test_summary_ends_with_success_line():
    out = io.StringIO()
    reporter = Reporter(out, io.StringIO())
    reporter.finish(sample_results()[0])

    assert reporter.summary(dry_run=False) is True
    assert out.getvalue().splitlines()[-1] == "CI/CD setup complete!"


def test_colour_only_on_terminal(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal, pipe = Terminal(), io.StringIO()

    Reporter(terminal, io.StringIO()).finish(sample_results()[1])
    Reporter(pipe, io.StringIO()).finish(sample_results()[1])

    assert "\033[31mfailed: push" in terminal.getvalue()
    assert "\033[" not in pipe.getvalue()


def test_no_color_turns_colour_off(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()

    Reporter(terminal, io.StringIO()).finish(sample_results()[1])

    assert terminal.getvalue() == "[acme/api] failed: push to ci/initial-setup was rejected: hook declined\n"


def test_progress_bar_on_terminal_for_long_runs():
    err = Terminal()
    reporter = Reporter(io.StringIO(), err)
    reporter.start(10, "Running on 10 repositories")

    for index in range(10):
        reporter.finish(RepoResult(f"acme/r{index}", "up_to_date"))

    assert err.getvalue().endswith("\r[" + "#" * 30 + "] 10/10 repositories")


def test_secrets_are_masked_everywhere(tmp_path: Path):
    out = io.StringIO()
    reporter = Reporter(out, io.StringIO(), secrets=["s3cr3t"])
    reporter.finish(RepoResult("acme/web", "failed", reason="could not reach https://x:s3cr3t@host/"))

    reporter.write_json(tmp_path / "report.json", {"tool": "test"})

    assert "s3cr3t" not in out.getvalue()
    assert "https://x:***@host/" in out.getvalue()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["repositories"][0]["reason"] == "could not reach https://x:***@host/"
    assert report["counts"] == {"failed": 1}
