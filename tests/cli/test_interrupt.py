"""Ctrl-C during `chitty-cicd apply`: nothing new is published, and a re-run finishes the rest."""

from __future__ import annotations

import json
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cli_support import PYTHON_APP, Remotes
from fake_github import TOKEN, FakeGitHub

from chitty_cicd.cli import pipeline
from chitty_cicd.cli import publish as publish_module
from chitty_cicd.github_api import GitHubClient
from chitty_cicd.ledger import Ledger

NAMES = ["a1", "a2", "a3", "a4", "a5"]


def pulls_opened(fake_api: FakeGitHub) -> list[str]:
    return [call.path.split("/")[3] for call in fake_api.calls("POST", "/pulls$")]


class CountingThreadPool(ThreadPoolExecutor):
    """A thread pool that sets `all_queued` once `expected` jobs were submitted."""

    expected = len(NAMES)
    all_queued = threading.Event()
    submitted = 0

    def submit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        future = super().submit(*args, **kwargs)
        CountingThreadPool.submitted += 1
        if CountingThreadPool.submitted >= self.expected:
            CountingThreadPool.all_queued.set()
        return future


@pytest.fixture
def one_publisher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish one repository at a time, so the others wait in the queue when Ctrl-C comes."""
    CountingThreadPool.all_queued = threading.Event()
    CountingThreadPool.submitted = 0
    monkeypatch.setattr(pipeline, "PUBLISH_THREADS", 1)
    monkeypatch.setattr(pipeline, "ThreadPoolExecutor", CountingThreadPool)


def interrupting_publish(fake_api: FakeGitHub, seen: dict[str, Any], presses: int = 1):
    """Return a publish step that opens the first repository's pull request, waits until every
    other repository is queued for publishing, then presses Ctrl-C `presses` times."""
    real_publish = publish_module.publish

    def publish(target, prepared, options):
        result = real_publish(target, prepared, options)
        if "first" in seen:
            return result
        seen["first"] = target.name.split("/")[1]
        assert CountingThreadPool.all_queued.wait(120), "the other repositories were never queued"
        seen["pulls_at_interrupt"] = len(pulls_opened(fake_api))
        for _ in range(presses):
            # Ctrl-C: the terminal's SIGINT reaches the main thread, which waits on a lock.
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            assert options.client.stop.wait(10), "the run did not stop its API client"
        return result

    return publish


def add_repositories(remotes: Remotes) -> None:
    for name in NAMES:
        remotes.add("acme", name, PYTHON_APP)


def test_interrupt_stops_queued_publishing(
    apply_cli,
    remotes: Remotes,
    fake_api: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    one_publisher: None,
):
    add_repositories(remotes)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(pipeline, "publish", interrupting_publish(fake_api, seen))

    code, out = apply_cli("--org", "acme", "--json", str(tmp_path / "report.json"), jobs="3")
    first = seen["first"]
    rest = [name for name in NAMES if name != first]

    assert code == 130, out
    assert seen["pulls_at_interrupt"] == 1
    assert pulls_opened(fake_api) == [first]
    for name in rest:
        assert remotes.branches("acme", name) == ["main"], f"{name} was pushed after Ctrl-C"
        assert f"[acme/{name}]" not in out
    assert f"[acme/{first}] pull request opened" in out
    last_line = out.rstrip().splitlines()[-1]
    assert last_line.startswith("Interrupted with 4 of 5 repositories not finished;")
    ledger = Ledger(tmp_path / "ledger.jsonl")
    assert ledger.last(f"acme/{first}")["outcome"] == "pr_opened"
    for name in rest:
        assert ledger.last(f"acme/{name}")["event"] == "started"
        assert ledger.needs_retry(f"acme/{name}")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["interrupted"] is True
    assert report["counts"] == {"pr_opened": 1}


def test_interrupt_rerun_finishes_the_rest(
    apply_cli,
    remotes: Remotes,
    fake_api: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    one_publisher: None,
):
    add_repositories(remotes)
    real_publish = publish_module.publish
    seen: dict[str, Any] = {}
    monkeypatch.setattr(pipeline, "publish", interrupting_publish(fake_api, seen))
    first_code, _ = apply_cli("--org", "acme", jobs="3")
    monkeypatch.setattr(pipeline, "publish", real_publish)

    code, out = apply_cli("--org", "acme", jobs="3")

    assert first_code == 130
    assert code == 0, out
    assert f"[acme/{seen['first']}] done in an earlier run" in out
    for name in NAMES:
        if name == seen["first"]:
            continue
        assert f"[acme/{name}] pull request opened" in out
    assert sorted(pulls_opened(fake_api)) == NAMES


def test_interrupt_twice_records_no_failure(
    apply_cli,
    remotes: Remotes,
    fake_api: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    one_publisher: None,
):
    add_repositories(remotes)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(pipeline, "publish", interrupting_publish(fake_api, seen, presses=2))

    code, out = apply_cli("--org", "acme", jobs="3")

    assert code == 130, out
    assert "failed" not in out
    assert pulls_opened(fake_api) == [seen["first"]]
    assert "Stopping: waiting for " in apply_cli.stderr
    ledger = Ledger(tmp_path / "ledger.jsonl")
    for name in NAMES:
        if name == seen["first"]:
            continue
        assert ledger.last(f"acme/{name}")["event"] == "started"
    assert "Interrupted with 4 of 5 repositories not finished;" in out


def test_stoppable_client_sends_nothing_once_stopped(fake_api: FakeGitHub):
    stop = threading.Event()
    client = pipeline.StoppableClient.wrapping(GitHubClient(fake_api.url, TOKEN), stop)
    fake_api.add_repo("acme", "web", "file:///nowhere")
    client.get_repository("acme/web")
    stop.set()

    with pytest.raises(pipeline.PublishInterrupted):
        client.create_pull("acme/web", title="t", head="ci/initial-setup", base="main", body="b")

    assert len(fake_api.calls("GET", "/repos/acme/web$")) == 1
    assert fake_api.calls("POST") == []
