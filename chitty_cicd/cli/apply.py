"""`chitty-cicd apply`: apply or update the standard in many repositories, one pull request each."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chitty_cicd import __version__
from chitty_cicd.cli import options
from chitty_cicd.cli.pipeline import TEMPLATE_CHECKOUTS, RunState, process
from chitty_cicd.cli.targets import Target
from chitty_cicd.ledger import Ledger
from chitty_cicd.report import RepoResult, Reporter, log_through

EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Apply the ChittyOS CI/CD standard to many repositories, or update them to a new template
version, with one pull request per repository (SOP-001).

Each repository is cloned, rendered with Copier (copy when it has no .copier-answers.yml,
update when it has one), committed on ci/initial-setup or ci/template-update-VERSION,
pushed without force, and given a pull request titled "Add CI/CD Workflows" (updates:
"Update CI/CD Workflows to VERSION"). Archived repositories, forks and empty repositories
are skipped with a reason.
"""

EPILOG = """\
The ledger records each repository's outcome: running the same command again skips the
repositories already done and continues with the rest, and --only-failed retries only
those that failed or were interrupted. An update takes the template from the source
recorded in the repository's answers file, as `copier update` does.

exit status:
  0    every repository succeeded, is up to date or was skipped
  1    at least one repository failed; the others were still processed
  2    usage or setup error (bad option, no token, template or organization not found)
  3    a bug in chitty-cicd; the traceback is saved and its path printed
  130  interrupted; run the same command again to continue where it stopped

The token comes from GITHUB_TOKEN, else GH_TOKEN, else `gh auth token`. It is never
printed. NO_COLOR turns colour off.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "repos",
        nargs="*",
        metavar="PATH_OR_CLONE_URL",
        help="a local repository, a clone URL, or OWNER/REPO on GitHub",
    )
    parser.add_argument(
        "--org", action="append", default=[], help="every repository of this organization (repeatable)"
    )
    parser.add_argument(
        "--repos-file", type=Path, help="file with one PATH_OR_CLONE_URL per line; # starts a comment"
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="only repositories whose name or OWNER/NAME matches (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip repositories whose name or OWNER/NAME matches (repeatable)",
    )
    parser.add_argument(
        "--type",
        action="append",
        default=[],
        dest="types",
        metavar="TYPE",
        help="only repositories whose detected project_type is TYPE (repeatable, or comma-separated)",
    )
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="answer a template question for every repository (repeatable)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="stop before the first push or pull request and show the files each repository would get",
    )
    parser.add_argument(
        "--update-existing",
        action="store_true",
        help="refresh an open pull request from the same branch instead of skipping the repository",
    )
    parser.add_argument(
        "--jobs",
        type=options.positive_int,
        default=os.cpu_count() or 1,
        help="repositories rendered at the same time (default: number of CPUs)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument(
        "--only-failed",
        action="store_true",
        help="process only the repositories that failed or were interrupted in the last run",
    )
    options.add_ledger_arguments(parser)
    options.add_common_arguments(parser)
    options.add_clone_arguments(parser)


def run(args: argparse.Namespace) -> int:
    reporter = Reporter()
    with log_through(reporter):
        return _run(args, reporter)


def _run(args: argparse.Namespace, reporter: Reporter) -> int:
    state, targets, data = _start(args, reporter)
    started = time.monotonic()
    if args.only_failed:
        targets = [t for t in targets if state.ledger.needs_retry(t.key)]

    reporter.start(len(targets), _heading(state, len(targets)))
    interrupted = False
    try:
        process(state, _select(state, targets), data)
    except KeyboardInterrupt:
        interrupted = True

    seconds = time.monotonic() - started
    ok = reporter.summary(dry_run=args.dry_run, interrupted=interrupted, seconds=seconds)
    if args.json:
        reporter.write_json(args.json, _json_header(state, interrupted))
    _clean_workdir(state)
    if interrupted:
        return EXIT_INTERRUPTED
    return 0 if ok else 1


def _start(args: argparse.Namespace, reporter: Reporter) -> tuple[RunState, list[Target], dict[str, str]]:
    """Check the command line, resolve the template and the repositories; raise UsageError."""
    data = options.parse_data(args.data)
    options.check_data_keys(data)
    options.check_types(args.types)
    specs = list(args.repos) + (options.read_specs(args.repos_file) if args.repos_file else [])
    if not specs and not args.org:
        raise options.UsageError("name at least one repository or --org")
    if args.only_failed and args.no_ledger:
        raise options.UsageError("--only-failed reads the ledger; drop --no-ledger")

    setup = options.prepare_setup(args, needs_api=options.needs_api(args.org, specs, args.api_url))
    reporter.add_secret(setup.token)
    targets = options.resolve_targets(setup, args.org, specs, args.include, args.exclude)
    ledger = Ledger(None if args.no_ledger else args.ledger)
    workdir = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="chitty-cicd-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run_key = options.run_key(setup, data, args.types)
    return RunState(args, setup, ledger, run_key, workdir.resolve(), reporter), targets, data


def _select(state: RunState, targets: list[Target]) -> list[Target]:
    """Report the targets left out before any work; return the ones to process."""
    runnable = []
    for target in targets:
        last = state.ledger.last(target.key)
        if target.skip_reason:
            state.reporter.finish(RepoResult(target.name, "skipped", reason=target.skip_reason))
        elif last and state.ledger.is_done(target.key, state.run_key):
            earlier = last.get("pr_url") or last.get("outcome", "")
            state.reporter.finish(RepoResult(target.name, "done_before", reason=earlier))
        else:
            runnable.append(target)
    return runnable


def _heading(state: RunState, count: int) -> str:
    noun = "repository" if count == 1 else "repositories"
    mode = " (dry run)" if state.args.dry_run else ""
    return f"Running on {count} {noun} with template {state.setup.template} {state.setup.version_label}{mode}"


def _json_header(state: RunState, interrupted: bool) -> dict[str, Any]:
    return {
        "tool": f"chitty-cicd {__version__}",
        "template": state.setup.template,
        "template_ref": state.setup.vcs_ref,
        "dry_run": state.args.dry_run,
        "interrupted": interrupted,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _clean_workdir(state: RunState) -> None:
    """Remove a temporary working directory unless failed repositories left clones to inspect."""
    shutil.rmtree(state.workdir / TEMPLATE_CHECKOUTS, ignore_errors=True)
    if state.args.work_dir:
        return
    if any(r.outcome == "failed" for r in state.reporter.results) and any(state.workdir.iterdir()):
        state.reporter.warn(f"Kept the clones of failed repositories in {state.workdir}")
        return
    shutil.rmtree(state.workdir, ignore_errors=True)
