"""`chitty-cicd preflight`: secrets, token, Actions settings and branch protection per repository."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import NODE_APP, PYTHON_APP, Remotes
from fake_github import FakeGitHub

from chitty_cicd.cli.main import main

WORKER_APP = {
    **NODE_APP,
    "index.js": "export default {\n  async fetch(request, env, ctx) {\n    return new Response('ok');\n  },\n};\n",
    "wrangler.toml": 'name = "edge"\nmain = "index.js"\ncompatibility_date = "2024-09-01"\n',
}
VERCEL_APP = {**NODE_APP, "vercel.json": '{"git": {"deploymentEnabled": false}}\n'}
CI_CHECK = {"strict": True, "contexts": ["Build and test"], "checks": [{"context": "Build and test"}]}
ACTIONS_MAY_CREATE_PRS = {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": True}


@pytest.fixture
def preflight_cli(
    fake_api: FakeGitHub, template_repo: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    def _run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["preflight", "--api-url", fake_api.url, "--template", str(template_repo), *args])
        return code, capsys.readouterr().out

    return _run


def test_preflight_reports_what_is_missing(
    preflight_cli, remotes: Remotes, fake_api: FakeGitHub, tmp_path: Path
):
    remotes.add("acme", "edge", WORKER_APP)
    remotes.add("acme", "tool", PYTHON_APP)
    fake_api.secrets["acme/edge"] = ["CLOUDFLARE_ACCOUNT_ID"]
    fake_api.org_secrets["acme/tool"] = ["SNYK_TOKEN", "TEMPLATE_UPDATE_TOKEN"]
    fake_api.workflow_permissions["acme/tool"] = ACTIONS_MAY_CREATE_PRS
    fake_api.protection["acme/tool@main"] = {"required_status_checks": dict(CI_CHECK)}

    code, out = preflight_cli("--org", "acme", "--json", str(tmp_path / "preflight.json"))

    assert code == 1
    assert (
        "[acme/edge] deploy target cloudflare; token may push workflows: yes; "
        'Actions may create pull requests: no; requires "Build and test": no'
    ) in out
    assert "[acme/edge]   recommended secret not set: SNYK_TOKEN" in out
    assert (
        "[acme/edge]   missing secrets: CLOUDFLARE_API_TOKEN, TEMPLATE_UPDATE_TOKEN or TEMPLATE_UPDATE_APP_PRIVATE_KEY"
    ) in out
    assert "[acme/edge]   GitHub Actions may not create pull requests, which the dependency update" in out
    assert (
        '[acme/edge]   main does not require the "Build and test" check; run with --protect to add it' in out
    )
    assert "[acme/tool]   ready" in out
    assert out.rstrip().splitlines()[-1] == "1 of 2 repositories are ready."
    report = json.loads((tmp_path / "preflight.json").read_text())
    assert report["repositories"][0]["missing_secrets"] == [
        "CLOUDFLARE_API_TOKEN",
        "TEMPLATE_UPDATE_TOKEN or TEMPLATE_UPDATE_APP_PRIVATE_KEY",
    ]
    assert report["repositories"][0]["missing_recommended_secrets"] == ["SNYK_TOKEN"]
    assert fake_api.calls("PUT") == []


def test_preflight_counts_secrets_of_both_environments(preflight_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "site", VERCEL_APP)
    remotes.add("acme", "half", VERCEL_APP)
    vercel = ["VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID"]
    fake_api.environment_secrets["acme/site"] = {"production": vercel, "preview": vercel}
    fake_api.environment_secrets["acme/half"] = {"production": vercel, "preview": vercel[:2]}
    for repo in ("acme/site", "acme/half"):
        fake_api.secrets[repo] = ["TEMPLATE_UPDATE_APP_PRIVATE_KEY", "SNYK_TOKEN"]

    code, out = preflight_cli("--org", "acme")

    assert code == 1
    assert "[acme/site] deploy target vercel;" in out
    assert "[acme/site]   missing secrets" not in out
    assert "[acme/half]   missing secrets: VERCEL_PROJECT_ID" in out


def test_preflight_token_without_workflow_scope(preflight_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "tool", PYTHON_APP)
    fake_api.scopes = "repo"

    code, out = preflight_cli("acme/tool")

    assert code == 1
    assert "[acme/tool]   the token cannot push workflow files: it lacks the workflow scope" in out


def test_preflight_protect_requires_ci_check(preflight_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "bare", PYTHON_APP)
    remotes.add("acme", "reviewed", PYTHON_APP)
    remotes.add("acme", "checked", PYTHON_APP)
    fake_api.protection["acme/reviewed@main"] = {
        "required_pull_request_reviews": {"required_approving_review_count": 1}
    }
    fake_api.protection["acme/checked@main"] = {
        "required_status_checks": {"strict": True, "contexts": ["lint"]}
    }

    code, out = preflight_cli("--org", "acme", "--protect")

    assert code == 1  # secrets and Actions settings are still missing
    assert out.count('requires "Build and test": yes') == 3
    assert fake_api.protection["acme/bare@main"]["required_status_checks"]["contexts"] == ["Build and test"]
    assert fake_api.protection["acme/reviewed@main"]["required_status_checks"]["contexts"] == [
        "Build and test"
    ]
    assert fake_api.protection["acme/reviewed@main"]["required_pull_request_reviews"] == {
        "required_approving_review_count": 1
    }
    assert fake_api.protection["acme/checked@main"]["required_status_checks"]["contexts"] == [
        "lint",
        "Build and test",
    ]


def test_preflight_ready_repository_exits_0(preflight_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "tool", PYTHON_APP)
    fake_api.secrets["acme/tool"] = ["SNYK_TOKEN", "TEMPLATE_UPDATE_TOKEN"]
    fake_api.workflow_permissions["acme/tool"] = ACTIONS_MAY_CREATE_PRS
    fake_api.protection["acme/tool@main"] = {"required_status_checks": dict(CI_CHECK)}

    code, out = preflight_cli("acme/tool")

    assert code == 0, out
    assert "[acme/tool]   ready" in out
    assert out.rstrip().splitlines()[-1] == "1 of 1 repositories are ready."
