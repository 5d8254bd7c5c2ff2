"""The concurrent part of `chitty-cicd apply`: renders in worker processes, publishing in threads."""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chitty_cicd.cli import options
from chitty_cicd.cli.prepare import Job, Prepared, init_worker, prepare_repository, repo_dir_for
from chitty_cicd.cli.publish import PublishOptions, publish, result_from_prepared
from chitty_cicd.cli.targets import Target
from chitty_cicd.ledger import Ledger
from chitty_cicd.report import RepoResult, Reporter

PUBLISH_THREADS = 4
TEMPLATE_CHECKOUTS = ".template-checkouts"


@dataclass
class RunState:
    """The settings shared by every repository of one run."""

    args: argparse.Namespace
    setup: options.Setup
    ledger: Ledger
    run_key: str
    workdir: Path
    reporter: Reporter


def process(state: RunState, targets: list[Target], data: dict[str, Any]) -> None:
    """Prepare every target in worker processes, publish the changed ones in threads, and
    record and report each repository as it finishes."""
    setup = state.setup
    publish_options = PublishOptions(
        client=setup.client,
        dry_run=state.args.dry_run,
        update_existing=state.args.update_existing,
        git_env=setup.git_env,
    )
    jobs = min(state.args.jobs, max(len(targets), 1))
    with (
        ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=options.process_context(),
            initializer=init_worker,
            initargs=(state.workdir / TEMPLATE_CHECKOUTS,),
        ) as pool,
        ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as publishers,
    ):
        futures: dict[Future[Prepared], Target] = {}
        for target in targets:
            if not state.args.dry_run:
                state.ledger.record_start(target.key, state.run_key)
            futures[pool.submit(prepare_repository, _job(state, target, data))] = target

        try:
            published = []
            for future in as_completed(futures):
                target = futures[future]
                prepared = _prepared_or_failure(future, target)
                if prepared.outcome == "changed":
                    published.append(
                        publishers.submit(_publish_and_finish, state, target, prepared, publish_options)
                    )
                else:
                    _finish(state, target, result_from_prepared(target, prepared, prepared.outcome))
            for publishing in published:
                publishing.result()
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


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
    _finish(state, target, publish(target, prepared, publish_options))


def _finish(state: RunState, target: Target, result: RepoResult) -> None:
    if not state.args.dry_run:
        state.ledger.record_finish(
            target.key, state.run_key, result.outcome, reason=result.reason, pr_url=result.pr_url
        )
    state.reporter.finish(result)
    if result.outcome != "failed":
        shutil.rmtree(repo_dir_for(state.workdir, target.name), ignore_errors=True)
