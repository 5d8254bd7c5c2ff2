"""A local stand-in for the GitHub REST API, with the endpoints the bulk tool uses.

It keeps repositories, pull requests, secrets and branch protection in memory, pages list
responses with a Link header, and can fail chosen requests with injected errors
(rate limits, 5xx) a set number of times.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghp_testtoken0123456789abcdef"

# A route's answer: HTTP status, JSON body and extra headers.
Response = tuple[int, Any, dict[str, str]]


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    headers: dict[str, str]
    message: str
    times: int
    after_handling: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float
    authorization: str | None


@dataclass
class FakeGitHub:
    """The state behind the fake API; `url` is its root once started."""

    page_size: int = 2
    scopes: str | None = "repo, workflow"
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    orgs: dict[str, list[str]] = field(default_factory=dict)
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    secrets: dict[str, list[str]] = field(default_factory=dict)
    org_secrets: dict[str, list[str]] = field(default_factory=dict)
    environment_secrets: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    workflow_permissions: dict[str, dict[str, Any]] = field(default_factory=dict)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_repo(self, org: str, name: str, clone_url: str, **fields: Any) -> dict[str, Any]:
        full_name = f"{org}/{name}"
        repo = {
            "name": name,
            "full_name": full_name,
            "clone_url": clone_url,
            "ssh_url": clone_url,
            "default_branch": "main",
            "archived": False,
            "fork": False,
            "disabled": False,
            "permissions": {"admin": True, "push": True, "pull": True},
            **fields,
        }
        self.repos[full_name] = repo
        self.orgs.setdefault(org, []).append(full_name)
        return repo

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        message: str = "injected failure",
        times: int = 1,
        after_handling: bool = False,
    ) -> None:
        """Fail the next `times` requests whose method and path match, with this status and headers.

        With after_handling the request takes effect first, as when a response is lost.
        """
        self.faults.append(Fault(method, pattern, status, headers or {}, message, times, after_handling))

    def calls(self, method: str, pattern: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def open_pulls(self, full_name: str) -> list[dict[str, Any]]:
        return [p for p in self.pulls.get(full_name, []) if p["state"] == "open"]

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Response:
        """Route one request; return status, JSON body and extra headers."""
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and re.search(fault.pattern, path):
                    fault.times -= 1
                    if fault.after_handling:
                        self._route(method, path, query, body)
                    return fault.status, {"message": fault.message}, fault.headers
            return self._route(method, path, query, body)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Response:
        for route_method, pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return handler(self, match, query, body)
        return 404, {"message": "Not Found"}, {}

    def _list_org(self, match: re.Match[str], query: dict[str, str], _body: Any) -> Response:
        org = match["org"]
        if org not in self.orgs:
            return 404, {"message": "Not Found"}, {}
        items = [self.repos[name] for name in self.orgs[org]]
        return self._page(items, f"/orgs/{org}/repos", query)

    def _page(self, items: list[Any], path: str, query: dict[str, str], wrap: str | None = None) -> Response:
        page = int(query.get("page", "1"))
        start = (page - 1) * self.page_size
        chunk = items[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(items):
            rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "page")
            headers["Link"] = f'<{self.url}{path}?{rest}&page={page + 1}>; rel="next"'
        data: Any = {"total_count": len(items), wrap: chunk} if wrap else chunk
        return 200, data, headers

    def _get_repo(self, match: re.Match[str], _query: dict[str, str], _body: Any) -> Response:
        repo = self.repos.get(match["repo"])
        return (200, repo, {}) if repo else (404, {"message": "Not Found"}, {})

    def _list_pulls(self, match: re.Match[str], query: dict[str, str], _body: Any) -> Response:
        full_name = match["repo"]
        pulls = self.pulls.get(full_name, [])
        if query.get("state", "open") == "open":
            pulls = [p for p in pulls if p["state"] == "open"]
        if "head" in query:
            owner, _, branch = query["head"].partition(":")
            pulls = [p for p in pulls if p["head"]["ref"] == branch and full_name.startswith(owner + "/")]
        return self._page(pulls, f"/repos/{full_name}/pulls", query)

    def _create_pull(self, match: re.Match[str], _query: dict[str, str], body: Any) -> Response:
        full_name = match["repo"]
        repo = self.repos.get(full_name)
        if repo is None:
            return 404, {"message": "Not Found"}, {}
        if not _branch_exists(repo["clone_url"], body["head"]):
            return 422, {"message": f"Validation Failed: no branch {body['head']}"}, {}
        if any(p["head"]["ref"] == body["head"] for p in self.open_pulls(full_name)):
            return 422, {"message": "A pull request already exists"}, {}
        pulls = self.pulls.setdefault(full_name, [])
        number = sum(len(v) for v in self.pulls.values()) + 1
        pull = {
            "number": number,
            "state": "open",
            "html_url": f"https://github.test/{full_name}/pull/{number}",
            "title": body["title"],
            "body": body["body"],
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
        }
        pulls.append(pull)
        return 201, pull, {}

    def _update_pull(self, match: re.Match[str], _query: dict[str, str], body: Any) -> Response:
        for pull in self.pulls.get(match["repo"], []):
            if pull["number"] == int(match["number"]):
                pull.update({k: v for k, v in body.items() if k in ("title", "body")})
                return 200, pull, {}
        return 404, {"message": "Not Found"}, {}

    def _list_secrets(self, match: re.Match[str], query: dict[str, str], _body: Any) -> Response:
        store = self.org_secrets if match["kind"] == "organization-secrets" else self.secrets
        names = store.get(match["repo"], [])
        path = f"/repos/{match['repo']}/actions/{match['kind']}"
        return self._page([{"name": n} for n in names], path, query, wrap="secrets")

    def _list_environment_secrets(self, match: re.Match[str], query: dict[str, str], _body: Any) -> Response:
        environments = self.environment_secrets.get(match["repo"], {})
        if match["environment"] not in environments:
            return 404, {"message": "Not Found"}, {}
        names = environments[match["environment"]]
        path = f"/repos/{match['repo']}/environments/{match['environment']}/secrets"
        return self._page([{"name": n} for n in names], path, query, wrap="secrets")

    def _workflow_permissions(self, match: re.Match[str], _query: dict[str, str], _body: Any) -> Response:
        default = {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False}
        return 200, self.workflow_permissions.get(match["repo"], default), {}

    def _get_protection(self, match: re.Match[str], _query: dict[str, str], _body: Any) -> Response:
        protection = self.protection.get(f"{match['repo']}@{match['branch']}")
        return (200, protection, {}) if protection else (404, {"message": "Branch not protected"}, {})

    def _get_checks(self, match: re.Match[str], _query: dict[str, str], _body: Any) -> Response:
        protection = self.protection.get(f"{match['repo']}@{match['branch']}")
        checks = (protection or {}).get("required_status_checks")
        return (200, checks, {}) if checks else (404, {"message": "Required status checks not enabled"}, {})

    def _put_protection(self, match: re.Match[str], _query: dict[str, str], body: Any) -> Response:
        self.protection[f"{match['repo']}@{match['branch']}"] = body
        return 200, body, {}

    def _patch_checks(self, match: re.Match[str], _query: dict[str, str], body: Any) -> Response:
        protection = self.protection.get(f"{match['repo']}@{match['branch']}")
        if protection is None:
            return 404, {"message": "Branch not protected"}, {}
        protection["required_status_checks"] = body
        return 200, body, {}

    def _add_contexts(self, match: re.Match[str], _query: dict[str, str], body: Any) -> Response:
        checks = (self.protection.get(f"{match['repo']}@{match['branch']}") or {}).get(
            "required_status_checks"
        )
        if checks is None:
            return 404, {"message": "Required status checks not enabled"}, {}
        checks["contexts"] = checks.get("contexts", []) + body["contexts"]
        return 200, checks["contexts"], {}


def _branch_exists(clone_url: str, branch: str) -> bool:
    result = subprocess.run(
        ["git", "ls-remote", "--heads", clone_url, f"refs/heads/{branch}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return bool(result.stdout.strip())


_REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
_BRANCH = _REPO + r"/branches/(?P<branch>[^/]+)/protection"
_ROUTES = [
    ("GET", r"/orgs/(?P<org>[^/]+)/repos", FakeGitHub._list_org),
    ("GET", _REPO, FakeGitHub._get_repo),
    ("GET", _REPO + r"/pulls", FakeGitHub._list_pulls),
    ("POST", _REPO + r"/pulls", FakeGitHub._create_pull),
    ("PATCH", _REPO + r"/pulls/(?P<number>\d+)", FakeGitHub._update_pull),
    ("GET", _REPO + r"/actions/(?P<kind>secrets|organization-secrets)", FakeGitHub._list_secrets),
    ("GET", _REPO + r"/environments/(?P<environment>[^/]+)/secrets", FakeGitHub._list_environment_secrets),
    ("GET", _REPO + r"/actions/permissions/workflow", FakeGitHub._workflow_permissions),
    ("GET", _BRANCH, FakeGitHub._get_protection),
    ("PUT", _BRANCH, FakeGitHub._put_protection),
    ("GET", _BRANCH + r"/required_status_checks", FakeGitHub._get_checks),
    ("PATCH", _BRANCH + r"/required_status_checks", FakeGitHub._patch_checks),
    ("POST", _BRANCH + r"/required_status_checks/contexts", FakeGitHub._add_contexts),
]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        authorization = self.headers.get("Authorization")
        fake.requests.append(Recorded(self.command, parts.path, query, body, time.monotonic(), authorization))

        if authorization != f"Bearer {TOKEN}":
            status, data, headers = 401, {"message": "Bad credentials"}, {}
        else:
            status, data, headers = fake.handle(self.command, parts.path, query, body)

        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        if fake.scopes is not None:
            self.send_header("X-OAuth-Scopes", fake.scopes)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGitHub):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


def start(fake: FakeGitHub) -> _Server:
    server = _Server(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server
