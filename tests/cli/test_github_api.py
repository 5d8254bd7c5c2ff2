"""The REST client against the fake API: pagination, rate limits, retries and pacing."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from fake_github import TOKEN, FakeGitHub

from chitty_cicd import github_api
from chitty_cicd.github_api import GitHubClient, GitHubError, resolve_token


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake_api: FakeGitHub, sleeps: list[float]) -> GitHubClient:
    return GitHubClient(fake_api.url, TOKEN, sleep=sleeps.append)


def add_repos(fake_api: FakeGitHub, count: int) -> None:
    for index in range(count):
        fake_api.add_repo("acme", f"repo{index}", f"file:///nowhere/repo{index}.git")


def test_paginate_follows_link_header(client: GitHubClient, fake_api: FakeGitHub):
    add_repos(fake_api, 5)

    names = [repo["name"] for repo in client.list_org_repositories("acme")]

    assert names == ["repo0", "repo1", "repo2", "repo3", "repo4"]
    assert [call.query.get("page") for call in fake_api.calls("GET", "/orgs/acme/repos")] == [None, "2", "3"]


def test_request_honours_retry_after_on_429(client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]):
    add_repos(fake_api, 1)
    fake_api.fail("GET", "/orgs/acme/repos", 429, headers={"Retry-After": "7"})

    assert len(client.list_org_repositories("acme")) == 1
    assert sleeps == [7.0]


def test_request_honours_retry_after_on_secondary_403(
    client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]
):
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    fake_api.fail(
        "GET",
        "/repos/acme/web$",
        403,
        headers={"Retry-After": "3"},
        message="You have exceeded a secondary rate limit",
    )

    assert client.get_repository("acme/web")["name"] == "web"
    assert sleeps == [3.0]


def test_request_waits_until_rate_limit_reset(
    client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]
):
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    reset = int(time.time()) + 30
    fake_api.fail(
        "GET",
        "/repos/acme/web$",
        403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        message="API rate limit exceeded",
    )

    client.get_repository("acme/web")

    assert len(sleeps) == 1
    assert 29.0 <= sleeps[0] <= 32.0


def test_secondary_limit_without_headers_waits_minutes_growing(
    client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]
):
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    fake_api.fail("GET", "/repos/acme/web$", 403, message="You have exceeded a secondary rate limit", times=2)

    client.get_repository("acme/web")

    assert sleeps == [60.0, 120.0]


def test_plain_403_is_not_retried(client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]):
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    fake_api.fail("GET", "/repos/acme/web$", 403, message="Resource not accessible by integration")

    with pytest.raises(GitHubError) as raised:
        client.get_repository("acme/web")

    assert raised.value.status == 403
    assert str(raised.value) == (
        "GET /repos/acme/web failed with HTTP 403: Resource not accessible by integration; "
        "the token lacks a permission this request needs"
    )
    assert sleeps == []


def test_server_errors_retried_with_backoff(client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]):
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    fake_api.fail("GET", "/repos/acme/web$", 502, times=2)

    assert client.get_repository("acme/web")["name"] == "web"
    assert sleeps == [0.01, 0.02]


def test_server_errors_give_up_after_retries(client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]):
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    fake_api.fail("GET", "/repos/acme/web$", 503, times=10)

    with pytest.raises(GitHubError) as raised:
        client.get_repository("acme/web")

    assert raised.value.status == 503
    assert len(fake_api.calls("GET", "/repos/acme/web$")) == github_api.MAX_SERVER_ERROR_RETRIES + 1


def test_wait_longer_than_limit_raises(client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float]):
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    fake_api.fail("GET", "/repos/acme/web$", 429, headers={"Retry-After": "86400"})

    with pytest.raises(GitHubError, match="GitHub asks to wait 86400 s"):
        client.get_repository("acme/web")
    assert sleeps == []


def test_mutating_requests_are_paced(fake_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(github_api, "MUTATION_INTERVAL_SECONDS", 0.2)
    client = GitHubClient(fake_api.url, TOKEN)
    fake_api.add_repo("acme", "web", "file:///nowhere/web.git")
    fake_api.pulls["acme/web"] = [
        {"number": 1, "state": "open", "head": {"ref": "x"}, "title": "", "body": ""}
    ]

    for index in range(3):
        client.update_pull("acme/web", 1, title=f"title {index}", body="")
        client.get_repository("acme/web")

    times = [call.at for call in fake_api.calls("PATCH")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 2
    assert all(gap >= 0.19 for gap in gaps), gaps


def test_content_creation_limit_waits_for_window(
    client: GitHubClient, fake_api: FakeGitHub, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(github_api, "CONTENT_CREATION_LIMITS", ((60.0, 2),))

    for _ in range(3):
        client.request("POST", "/repos/acme/web/pulls", body={}, allow=(404,))

    assert len(sleeps) == 1
    assert 59.0 <= sleeps[0] <= 60.0


def test_bad_token_error_names_the_fix(fake_api: FakeGitHub):
    client = GitHubClient(fake_api.url, "wrong-token")

    with pytest.raises(GitHubError) as raised:
        client.get_repository("acme/web")

    assert "HTTP 401: Bad credentials; the token is invalid or expired" in str(raised.value)
    assert "wrong-token" not in str(raised.value)


def test_resolve_token_prefers_github_token(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GITHUB_TOKEN", "from-github-token")
    monkeypatch.setenv("GH_TOKEN", "from-gh-token")

    assert resolve_token("github.com") == ("from-github-token", "GITHUB_TOKEN")


def test_resolve_token_asks_gh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text('#!/bin/sh\n[ "$1 $2 $3 $4" = "auth token --hostname github.com" ] && echo from-gh\n')
    gh.chmod(0o755)
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PATH", str(gh.parent))

    assert resolve_token("github.com") == ("from-gh", "gh auth token")


def test_resolve_token_without_gh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PATH", str(tmp_path))

    token, reason = resolve_token("github.com")

    assert token is None
    assert reason == "GITHUB_TOKEN and GH_TOKEN are unset and the gh CLI is not installed"
