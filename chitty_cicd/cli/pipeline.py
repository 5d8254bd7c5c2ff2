"""The concurrent part of `chitty-cicd apply`: renders in worker processes, publishing in threads."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chitty_cicd.cli import options
from chitty_cicd.cli.prepare import Job, Prepared, init_worker, prepare_repository, repo_dir_for
from chitty_cicd.cli.publish import PublishOptions, publish, result_from_prepared
from chitty_cicd.cli.targets import Target
from chitty_cicd.github_api import GitHubClient, Response
from chitty_cicd.ledger import Ledger
from chitty_cicd.report import RepoResult, Reporter

PUBLISH_THREADS = 4
# The main thread waits in slices this long, because a SIGINT that arrives just before it
# blocks on a lock without a timeout is only handled when the lock is released.
SIGNAL_POLL_SECONDS = 0.2
TEMPLATE_CHECKOUTS = ".template-checkouts"


class PublishInterrupted(BaseException):
    """Raised in a publishing thread when the run is stopping, before its next API request.

    It derives from BaseException so that `publish`, which turns every Exception into a
    "failed" result, lets it through.
    """


@dataclass
class StoppableClient(GitHubClient):
    """A GitHubClient that sends no request once `stop` is set.

    It also raises after a read that was in flight when `stop` was set, because a push
    follows the pull request look-up. Waits for rate limits end early when `stop` is set.
    """

    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sleep = self._sleep_unless_stopped

    @classmethod
    def wrapping(cls, client: GitHubClient, stop: threading.Event) -> StoppableClient:
        """Return a client for the same API and token that shares client's pacing state."""
        values = {f.name: getattr(client, f.name) for f in dataclasses.fields(client) if f.init}
        return cls(**values, stop=stop)

    def _sleep_unless_stopped(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def _send(self, method: str, url: str, data: bytes | None) -> Response:
        if self.stop.is_set():
            raise PublishInterrupted
        response = super()._send(method, url, data)
        if method == "GET" and self.stop.is_set():
            raise PublishInterrupted
        return response


@dataclass
class RunState:
    """The settings shared by every repository of one run."""

    args: argparse.Namespace
    setup: options.Setup
    ledger: Ledger
    run_key: str
    workdir: Path
    reporter: Reporter
    # Set on Ctrl-C: publishing threads then start no new push or API request.
    stopping: threading.Event = field(default_factory=threading.Event)


def process(state: RunState, targets: list[Target], data: dict[str, Any]) -> None:
    """Prepare every target in worker processes, publish the changed ones in threads, and
    record and report each repository as it finishes.

    On Ctrl-C no new push or pull request starts, though a request already sent may
    finish. Repositories not finished keep their "started" ledger event, which marks them
    as interrupted, so a re-run continues them. KeyboardInterrupt is raised only after
    every worker process and publishing thread has stopped, so the caller may then remove
    the working directory.
    """
    jobs = min(state.args.jobs, max(len(targets), 1))
    work = _Work(
        pool=ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=options.process_context(),
            initializer=init_worker,
            initargs=(state.workdir / TEMPLATE_CHECKOUTS,),
        ),
        publishers=ThreadPoolExecutor(max_workers=PUBLISH_THREADS),
    )
    try:
        _prepare_and_publish(state, targets, data, work)
    except BaseException:
        _shut_down(state, work, stop=True)
        raise
    if _shut_down(state, work, stop=False):
        raise KeyboardInterrupt


@dataclass
class _Work:
    """The executors of one run and every future submitted to them."""

    pool: ProcessPoolExecutor
    publishers: ThreadPoolExecutor
    futures: list[Future[Any]] = field(default_factory=list)


def _prepare_and_publish(state: RunState, targets: list[Target], data: dict[str, Any], work: _Work) -> None:
    setup = state.setup
    publish_options = PublishOptions(
        client=StoppableClient.wrapping(setup.client, state.stopping) if setup.client else None,
        dry_run=state.args.dry_run,
        update_existing=state.args.update_existing,
        git_env=setup.git_env,
    )
    preparing: dict[Future[Prepared], Target] = {}
    for target in targets:
        if not state.args.dry_run:
            state.ledger.record_start(target.key, state.run_key)
        future = work.pool.submit(prepare_repository, _job(state, target, data))
        preparing[future] = target
        work.futures.append(future)

    published = []
    for future in _as_completed(preparing):
        target = preparing[future]
        prepared = _prepared_or_failure(future, target)
        if prepared.outcome == "changed":
            publishing = work.publishers.submit(_publish_and_finish, state, target, prepared, publish_options)
            published.append(publishing)
            work.futures.append(publishing)
        else:
            _finish(state, target, result_from_prepared(target, prepared, prepared.outcome))
    for publishing in _as_completed(published):
        publishing.result()


def _shut_down(state: RunState, work: _Work, *, stop: bool) -> bool:
    """Wait until every worker process and publishing thread has stopped, and return True when
    Ctrl-C was pressed while waiting. With stop, or after that Ctrl-C, cancel the queued work.

    It waits on the futures instead of calling Thread.join, because in CPython 3.11 a join
    that Ctrl-C interrupts marks the running thread as stopped, so a second join returns early.
    """
    interrupted = False
    while True:
        try:
            if stop or interrupted:
                state.stopping.set()
                work.publishers.shutdown(wait=False, cancel_futures=True)
                work.pool.shutdown(wait=False, cancel_futures=True)
            # A future cancelled before it started never counts as done for wait().
            for _ in _as_completed(future for future in work.futures if not future.cancelled()):
                pass
            work.publishers.shutdown(wait=True)
            work.pool.shutdown(wait=True)
            return interrupted
        except KeyboardInterrupt:
            interrupted = True
            state.reporter.warn(
                "Stopping: waiting for the requests and renders already running to finish, "
                "so that the ledger stays accurate"
            )


def _as_completed(futures: Iterable[Future[Any]]) -> Iterator[Future[Any]]:
    """Yield each future as it finishes, like concurrent.futures.as_completed, but wake up every
    SIGNAL_POLL_SECONDS so that Ctrl-C is handled promptly."""
    pending = set(futures)
    while pending:
        done, pending = futures_wait(pending, timeout=SIGNAL_POLL_SECONDS, return_when=FIRST_COMPLETED)
        yield from done


def _job(state: RunState, target: Target, data: dict[str, Any]) -> Job:
    setup = state.setup
    return Job(
        key=target.key,
        name=target.name,
        clone_url=target.clone_url,
        default_branch=target.default_branch,
        workdir=state.workdir,
        template=setup.template,
        vcs_ref=setup.vcs_ref,
        data=data,
        cache_dir=Path(state.args.cache_dir).resolve() if state.args.cache_dir else None,
        types=tuple(t for value in state.args.types for t in value.split(",") if t),
        git_env=setup.git_env,
        owner=target.full_name.split("/", 1)[0] if target.full_name else None,
    )


def _prepared_or_failure(future: Future[Prepared], target: Target) -> Prepared:
    try:
        return future.result()
    except Exception as error:  # the worker process died, e.g. killed by the OOM killer
        return Prepared(
            target.key, "failed", reason=f"worker process failed: {type(error).__name__}: {error}"
        )


def _publish_and_finish(
    state: RunState, target: Target, prepared: Prepared, publish_options: PublishOptions
) -> None:
    """Publish one repository and record it, unless the run is stopping.

    A repository the stop cuts short is left unrecorded, so it stays interrupted in the
    ledger. So does one that failed after Ctrl-C, because the terminal's SIGINT also stops a
    running `git push`.
    """
    if state.stopping.is_set():
        return
    # NOTE: only API requests check `stopping`. A push to a repository outside GitHub, or one
    # that starts in the moment between the pull request look-up and the push, still runs.
    try:
        result = publish(target, prepared, publish_options)
    except PublishInterrupted:
        return
    if result.outcome == "failed" and state.stopping.is_set():
        return
    _finish(state, target, result)


def _finish(state: RunState, target: Target, result: RepoResult) -> None:
    if not state.args.dry_run:
        state.ledger.record_finish(
            target.key, state.run_key, result.outcome, reason=result.reason, pr_url=result.pr_url
        )
    state.reporter.finish(result)
    if result.outcome != "failed":
        shutil.rmtree(repo_dir_for(state.workdir, target.name), ignore_errors=True)
