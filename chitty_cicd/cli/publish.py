"""The remote half of applying the standard to one repository: push the branch, open the PR."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chitty_cicd import gitops
from chitty_cicd.cli.prepare import KEPT_FILES_ANSWER, Prepared, describe_unexpected
from chitty_cicd.cli.targets import Target
from chitty_cicd.errors import ChittyError
from chitty_cicd.github_api import GitHubClient, GitHubError
from chitty_cicd.report import RepoResult

PR_TITLE = "Add CI/CD Workflows"
UPDATE_PR_TITLE = "Update CI/CD Workflows to {version}"

# The checks a reviewer makes on each pull request before merging it.
REVIEW_CHECKLIST = (
    "Correct workflow files added",
    "ChittyBeacon dependency included",
    "No unintended changes",
)
_FILE_STATUS = {"A": "added", "M": "changed", "D": "deleted", "T": "changed"}


@dataclass
class PublishOptions:
    client: GitHubClient | None
    dry_run: bool = False
    update_existing: bool = False
    git_env: Mapping[str, str] = field(default_factory=dict, repr=False)


def result_from_prepared(target: Target, prepared: Prepared, outcome: str, **changes: Any) -> RepoResult:
    result = RepoResult(
        repo=target.name,
        outcome=outcome,
        reason=prepared.reason,
        branch=prepared.branch,
        operation=prepared.operation,
        version=prepared.version,
        files=prepared.files,
        answers=detected_answers(prepared.answers),
        kept_files=kept_files(prepared.answers),
        notes=prepared.notes,
        seconds=prepared.seconds,
    )
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def publish(target: Target, prepared: Prepared, options: PublishOptions) -> RepoResult:
    """Push a prepared branch without force and open or refresh its pull request."""
    try:
        return _publish(target, prepared, options)
    except ChittyError as error:
        return result_from_prepared(target, prepared, "failed", reason=str(error))
    except Exception as error:  # a bug must not stop the other repositories
        assert prepared.repo_dir is not None
        reason = describe_unexpected(error, prepared.repo_dir)
        return result_from_prepared(target, prepared, "failed", reason=reason)


def _publish(target: Target, prepared: Prepared, options: PublishOptions) -> RepoResult:
    assert prepared.branch is not None
    client = options.client if target.full_name else None

    pull = client.find_open_pull(target.full_name, prepared.branch) if client and target.full_name else None
    if pull and not options.update_existing:
        reason = f"open pull request #{pull['number']} already exists; pass --update-existing to refresh it"
        return result_from_prepared(target, prepared, "skipped", reason=reason, pr_url=pull.get("html_url"))
    if options.dry_run:
        outcome = "would_update_pr" if pull else "would_open_pr"
        return result_from_prepared(target, prepared, outcome)

    pushed = _push(prepared, options)
    if client is None or target.full_name is None:
        reason = "not a GitHub repository, so no pull request"
        if not pushed:
            reason = f"already on the remote; {reason}"
        return result_from_prepared(target, prepared, "pushed", reason=reason)

    title, body = pull_request_text(prepared)
    if pull is None:
        created = _create_pull(
            client, target.full_name, prepared.branch, _base_branch(target, prepared), title, body
        )
        return result_from_prepared(target, prepared, "pr_opened", pr_url=created.get("html_url"))
    if not pushed and pull.get("body") == body and pull.get("title") == title:
        return result_from_prepared(
            target,
            prepared,
            "up_to_date",
            reason=f"pull request #{pull['number']} is current",
            pr_url=pull.get("html_url"),
        )
    updated = client.update_pull(target.full_name, pull["number"], title=title, body=body)
    return result_from_prepared(
        target, prepared, "pr_updated", pr_url=updated.get("html_url", pull.get("html_url"))
    )


def _create_pull(
    client: GitHubClient, repo: str, branch: str, base: str, title: str, body: str
) -> dict[str, Any]:
    """Open the pull request. A retried POST whose first attempt got through fails with 422
    because the pull request exists, so that one is looked up and returned."""
    try:
        return client.create_pull(repo, title=title, head=branch, base=base, body=body)
    except GitHubError as error:
        existing = client.find_open_pull(repo, branch) if error.status == 422 else None
        if existing is None:
            raise
        return existing


def _push(prepared: Prepared, options: PublishOptions) -> bool:
    """Push the branch; return False when the remote branch already has the same files.

    The branch may exist on the remote from an earlier run or an open pull request. Then the
    new files are committed on top of it, with the default branch as second parent. So the
    push is a fast-forward, and the pull request diff shows only the template's changes.
    """
    repo_dir, branch = prepared.repo_dir, prepared.branch
    assert repo_dir is not None
    assert branch is not None
    assert prepared.commit is not None
    assert prepared.base is not None
    commit = prepared.commit

    remote_tip = gitops.remote_branch_tip(repo_dir, branch, options.git_env)
    if remote_tip is not None:
        gitops.fetch_commit(repo_dir, branch, options.git_env)
        if gitops.tree_of(repo_dir, remote_tip) == gitops.tree_of(repo_dir, commit):
            return False
        parents = [remote_tip] if remote_tip == prepared.base else [remote_tip, prepared.base]
        commit = gitops.commit_on_top(repo_dir, commit, parents, prepared.commit_message or "")

    gitops.push_branch(repo_dir, commit, branch, options.git_env)
    return True


def _base_branch(target: Target, prepared: Prepared) -> str:
    if target.default_branch:
        return target.default_branch
    assert prepared.repo_dir
    return gitops.current_branch(prepared.repo_dir)


def detected_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers a reviewer should check: every answer except Copier's own and kept_files."""
    return {k: v for k, v in sorted(answers.items()) if not k.startswith("_") and k != KEPT_FILES_ANSWER}


def kept_files(answers: Mapping[str, Any]) -> list[str]:
    value = answers.get(KEPT_FILES_ANSWER) or []
    return [str(path) for path in value] if isinstance(value, list) else [str(value)]


def pull_request_text(prepared: Prepared) -> tuple[str, str]:
    """Return the title and Markdown body of the pull request for a prepared repository."""
    version = prepared.version or "unknown"
    if prepared.operation == "copy":
        title = PR_TITLE
        intro = f"Adds the ChittyOS CI/CD standard (cicd-templates {version})."
    else:
        title = UPDATE_PR_TITLE.format(version=version)
        intro = f"Updates this repository to cicd-templates {version}."

    lines = [intro, "", "### Files"]
    lines += [f"- {_FILE_STATUS.get(status, 'changed')} `{path}`" for status, path in prepared.files]
    heading = "Detected answers" if prepared.operation == "copy" else "Answers"
    lines += ["", f"### {heading}", "", "| answer | value |", "| --- | --- |"]
    lines += [f"| `{k}` | `{_show(v)}` |" for k, v in detected_answers(prepared.answers).items()]
    lines += ["", "### Files kept as the repository's own"]
    kept = kept_files(prepared.answers)
    lines += [f"- `{path}`" for path in kept] or ["None."]
    if kept:
        lines.append("")
        lines.append("The template does not render these files, now or on later updates.")
    if prepared.notes:
        lines += ["", "### Notes"] + [f"- {note}" for note in prepared.notes]
    lines += ["", "### Review checklist (SOP-001 step 4.2)"]
    checklist = [
        item
        for item in REVIEW_CHECKLIST
        if "ChittyBeacon" not in item or prepared.answers.get("beacon_enabled")
    ]
    lines += [f"- [ ] {item}" for item in checklist]
    lines += ["", "Opened by `chitty-cicd apply`."]
    return title, "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("`", "'")
