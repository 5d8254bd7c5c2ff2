"""The GitHub settings `chitty-cicd preflight` checks per repository, and the --protect fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chitty_cicd.cli.publish import kept_files
from chitty_cicd.ecosystems import (
    CI_CHECK_NAME,
    DEPLOY_ENVIRONMENTS,
    DEPLOY_SECRETS,
    SCANNING_SECRET,
    TEMPLATE_UPDATE_SECRETS,
)
from chitty_cicd.github_api import GitHubClient, GitHubError

# The template's workflow that reports the CI check. A repository that keeps its own
# version of this file reports its own checks instead.
CI_WORKFLOW = ".github/workflows/ci.yml"


@dataclass
class Finding:
    """The findings for one repository. An empty `problems` list means it is ready."""

    repo: str
    deploy_target: str | None = None
    missing_secrets: list[str] = field(default_factory=list)
    missing_recommended_secrets: list[str] = field(default_factory=list)
    can_push_workflows: str = "unknown"
    actions_can_create_prs: str = "unknown"
    requires_ci_check: str = "unknown"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_repository(
    client: GitHubClient, repo: str, answers: dict[str, Any] | str | None, protect: bool
) -> Finding:
    """Check one repository, given its recorded or detected answers or the reason they are unknown."""
    finding = Finding(repo)
    try:
        response = client.request("GET", f"/repos/{repo}")
        _check_push(finding, response.data, response.headers.get("X-OAuth-Scopes"))
        if isinstance(answers, dict):
            _check_secrets(client, finding, repo, answers)
        else:
            finding.problems.append(f"cannot tell which secrets it needs: {answers}")
        _check_actions(client, finding, repo, answers)
        branch = response.data.get("default_branch") or "main"
        own_ci = isinstance(answers, dict) and CI_WORKFLOW in kept_files(answers)
        _check_protection(client, finding, repo, branch, protect=protect, own_ci=own_ci)
    except GitHubError as error:
        finding.problems.append(str(error))
    return finding


def _check_push(finding: Finding, repo: dict[str, Any], scopes_header: str | None) -> None:
    can_push = bool(repo.get("permissions", {}).get("push"))
    if scopes_header is None:
        # Fine-grained and app tokens send no scopes, so their Workflows permission is not visible.
        finding.can_push_workflows = "yes" if can_push else "no"
        if not can_push:
            finding.problems.append("the token cannot push to this repository")
        return

    scopes = {scope.strip() for scope in scopes_header.split(",")}
    ok = can_push and "workflow" in scopes
    finding.can_push_workflows = "yes" if ok else "no"
    if not ok:
        missing = "push access" if not can_push else "the workflow scope"
        finding.problems.append(f"the token cannot push workflow files: it lacks {missing}")


def _check_secrets(client: GitHubClient, finding: Finding, repo: str, answers: dict[str, Any]) -> None:
    """List the missing secrets. A deploy secret also counts when both deploy environments set it."""
    finding.deploy_target = str(answers.get("deploy_target") or "none")
    shared = _secret_names(client, f"/repos/{repo}/actions/secrets")
    shared |= _secret_names(client, f"/repos/{repo}/actions/organization-secrets")

    deploy_secrets = DEPLOY_SECRETS.get(finding.deploy_target, ())
    in_environments = _environment_secrets(client, repo) if deploy_secrets else set()
    finding.missing_secrets = [s for s in deploy_secrets if s not in shared | in_environments]
    if answers.get("template_updates") and not shared.intersection(TEMPLATE_UPDATE_SECRETS):
        finding.missing_secrets.append(" or ".join(TEMPLATE_UPDATE_SECRETS))
    if finding.missing_secrets:
        finding.problems.append("missing secrets: " + ", ".join(finding.missing_secrets))

    # The security workflow skips Snyk without its token, and has no Snyk step for Rust.
    wants_snyk = answers.get("security_scanning") and answers.get("project_type") != "rust"
    if wants_snyk and SCANNING_SECRET not in shared:
        finding.missing_recommended_secrets = [SCANNING_SECRET]


def _secret_names(client: GitHubClient, path: str) -> set[str]:
    return {secret["name"] for secret in client.paginate(path)}


def _environment_secrets(client: GitHubClient, repo: str) -> set[str]:
    """Return the secret names set in every deploy environment; a missing environment has none."""
    found: set[str] | None = None
    for environment in DEPLOY_ENVIRONMENTS:
        try:
            names = _secret_names(client, f"/repos/{repo}/environments/{environment}/secrets")
        except GitHubError as error:
            if error.status != 404:
                raise
            names = set()
        found = names if found is None else found & names
    return found or set()


def _check_actions(client: GitHubClient, finding: Finding, repo: str, answers: Any) -> None:
    settings = client.request("GET", f"/repos/{repo}/actions/permissions/workflow").data
    allowed = bool(settings.get("can_approve_pull_request_reviews"))
    finding.actions_can_create_prs = "yes" if allowed else "no"
    # The dependency update workflow is the one that opens pull requests with GITHUB_TOKEN.
    needed = not isinstance(answers, dict) or bool(answers.get("dependency_updates"))
    if needed and not allowed:
        finding.problems.append(
            "GitHub Actions may not create pull requests, which the dependency update workflow "
            "needs (Settings > Actions > General > Workflow permissions)"
        )


def _check_protection(
    client: GitHubClient, finding: Finding, repo: str, branch: str, *, protect: bool, own_ci: bool
) -> None:
    """Check that the branch requires the CI check, and add it with protect.

    A repository with its own CI never reports that check, so requiring it would block every
    merge: such a repository gets a note instead, and its branch is left unchanged.
    """
    base = f"/repos/{repo}/branches/{branch}/protection"
    checks = client.request("GET", f"{base}/required_status_checks", allow=(404,))
    required = checks.status == 200 and CI_CHECK_NAME in _check_names(checks.data)
    if not required and own_ci:
        finding.requires_ci_check = "no (own CI)"
        finding.notes.append(
            f'keeps its own CI ({CI_WORKFLOW}), which does not report the "{CI_CHECK_NAME}" check, '
            f"so {branch} was left unchanged; require its own check by hand"
        )
        return
    if not required and protect:
        _require_check(client, base, checks.status == 200)
        required = True

    finding.requires_ci_check = "yes" if required else "no"
    if not required:
        finding.problems.append(
            f'{branch} does not require the "{CI_CHECK_NAME}" check; run with --protect to add it'
        )


def _require_check(client: GitHubClient, base: str, has_checks: bool) -> None:
    """Add the CI check to the branch's required checks, keeping every other protection rule."""
    if has_checks:
        client.request("POST", f"{base}/required_status_checks/contexts", body={"contexts": [CI_CHECK_NAME]})
        return

    protection = client.request("GET", base, allow=(404,))
    if protection.status == 200:
        body = {"strict": True, "contexts": [CI_CHECK_NAME]}
        client.request("PATCH", f"{base}/required_status_checks", body=body)
        return

    # An unprotected branch: PUT needs every rule, and null turns the others off.
    body = {
        "required_status_checks": {"strict": True, "contexts": [CI_CHECK_NAME]},
        "enforce_admins": None,
        "required_pull_request_reviews": None,
        "restrictions": None,
    }
    client.request("PUT", base, body=body)


def _check_names(data: Any) -> set[str]:
    if not isinstance(data, dict):
        return set()
    names = set(data.get("contexts") or [])
    names |= {check.get("context") for check in data.get("checks") or [] if isinstance(check, dict)}
    return names
