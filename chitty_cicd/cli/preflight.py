"""`chitty-cicd preflight`: check what each repository needs before its CI/CD can run.

Per repository it reports the missing secrets that the detected deploy target and the
template update workflow need, whether the token may push workflow files, whether GitHub
Actions may create pull requests, and whether the default branch requires the CI check.
`--protect` adds that check. Only secret names are read, never their values.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chitty_cicd import gitops, render
from chitty_cicd.cli import options
from chitty_cicd.cli.preflight_checks import CI_CHECK_NAME, Finding, check_repository
from chitty_cicd.cli.prepare import init_worker
from chitty_cicd.cli.targets import Target
from chitty_cicd.errors import ChittyError
from chitty_cicd.report import RepoResult, Reporter, log_through

# The reason apply gives for a repository without commits, which it skips.


@dataclass
class Skipped:
    """A repository that preflight leaves out, as apply does."""

    reason: str


EPILOG = """\
exit status:
  0  every repository is ready
  1  at least one repository misses a secret, a permission or the CI check, or could not be checked
  2  usage or setup error (bad option, no token, organization not found)
  3  a bug in chitty-cicd; the traceback is saved and its path printed
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("repos", nargs="*", metavar="OWNER/REPO", help="a repository on GitHub")
    parser.add_argument(
        "--org", action="append", default=[], help="every repository of this organization (repeatable)"
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="only repositories whose name matches (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip repositories whose name matches (repeatable)",
    )
    parser.add_argument(
        "--protect",
        action="store_true",
        help=f'make the default branch require the "{CI_CHECK_NAME}" check where it does not',
    )
    parser.add_argument(
        "--jobs",
        type=options.positive_int,
        default=1,
        help="repositories cloned and detected at the same time",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the findings as JSON to FILE")
    options.add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if not args.repos and not args.org:
        raise options.UsageError("name at least one OWNER/REPO or --org")
    reporter = Reporter()
    with log_through(reporter):
        return _run(args, reporter)


def _run(args: argparse.Namespace, reporter: Reporter) -> int:
    setup = options.prepare_setup(args, needs_api=True)
    assert setup.client is not None
    reporter.add_secret(setup.token)
    resolved = options.resolve_targets(setup, args.org, args.repos, args.include, args.exclude)
    targets = [target for target in resolved if not target.skip_reason]
    noun = "repository" if len(targets) == 1 else "repositories"
    reporter.start(len(targets), f"Checking {len(targets)} {noun}")

    # Archived repositories and forks carry the skip reason apply reports for them.
    skipped = [RepoResult(target.name, "skipped", reason=target.skip_reason or "") for target in resolved]
    skipped = [result for result in skipped if result.reason]
    answers = _detect_all(setup, targets, args)
    findings = []
    for target in targets:
        detected = answers.get(target.key)
        if isinstance(detected, Skipped):
            skipped.append(RepoResult(target.name, "skipped", reason=detected.reason))
            continue
        repo = target.full_name or target.name
        findings.append(check_repository(setup.client, repo, detected, args.protect))

    for result in skipped:
        reporter.finish(result)
    for finding in findings:
        _print_finding(reporter, finding)

    not_ready = [f for f in findings if f.problems]
    reporter.say("")
    reporter.say(f"{len(findings) - len(not_ready)} of {len(findings)} repositories are ready.")
    if args.json:
        document = {
            "ci_check": CI_CHECK_NAME,
            "repositories": [asdict(f) for f in findings],
            "skipped": [{"repo": result.repo, "reason": result.reason} for result in skipped],
        }
        args.json.write_text(reporter.mask(json.dumps(document, indent=2)) + "\n", encoding="utf-8")
    return 1 if not_ready else 0


def _detect_all(
    setup: options.Setup, targets: list[Target], args: argparse.Namespace
) -> dict[str, dict[str, Any] | str | Skipped]:
    """Clone each repository and read or detect its answers, in worker processes."""
    workdir = Path(tempfile.mkdtemp(prefix="chitty-preflight-"))
    try:
        with ProcessPoolExecutor(
            max_workers=args.jobs,
            mp_context=options.process_context(),
            initializer=init_worker,
            initargs=(workdir / ".template-checkouts",),
        ) as pool:
            jobs = [
                (
                    t.key,
                    t.clone_url,
                    t.default_branch,
                    workdir / str(i),
                    setup.template,
                    setup.vcs_ref,
                    setup.git_env,
                )
                for i, t in enumerate(targets)
            ]
            return dict(zip([t.key for t in targets], pool.map(detect_answers, jobs), strict=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def detect_answers(job: tuple[Any, ...]) -> dict[str, Any] | str | Skipped:
    """Return a repository's answers (recorded, else detected), the reason they are unknown,
    or Skipped for an empty repository, which has no branch to check or protect."""
    _key, clone_url, branch, repo_dir, template, vcs_ref, git_env = job
    try:
        try:
            gitops.clone(clone_url, repo_dir, branch=branch, env=git_env)
        except gitops.GitError:
            if gitops.remote_is_empty(clone_url, git_env):
                return Skipped(gitops.EMPTY_REPOSITORY)
            raise
        if gitops.head_commit(repo_dir) is None:
            return Skipped(gitops.EMPTY_REPOSITORY)
        return render.read_answers(repo_dir) or render.detect_answers(template, repo_dir, vcs_ref=vcs_ref)
    except ChittyError as error:
        return str(error)
    except Exception as error:  # Copier raises plain exceptions for invalid answers
        return f"detection failed: {type(error).__name__}: {error}"


def _print_finding(reporter: Reporter, finding: Finding) -> None:
    line = (
        f"deploy target {finding.deploy_target or 'unknown'}; "
        f"token may push workflows: {finding.can_push_workflows}; "
        f"Actions may create pull requests: {finding.actions_can_create_prs}; "
        f'requires "{CI_CHECK_NAME}": {finding.requires_ci_check}'
    )
    reporter.repo_line(finding.repo, line)
    if finding.missing_recommended_secrets:
        recommended = ", ".join(finding.missing_recommended_secrets)
        reporter.repo_line(finding.repo, f"  recommended secret not set: {recommended}")
    for note in finding.notes:
        reporter.repo_line(finding.repo, f"  {note}", "yellow")
    for problem in finding.problems:
        reporter.repo_line(finding.repo, f"  {problem}", "yellow")
    if not finding.problems:
        reporter.repo_line(finding.repo, "  ready", "green")
