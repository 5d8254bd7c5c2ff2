"""A small GitHub REST API client: pagination, rate limits, retries and pacing of writes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from chitty_cicd import __version__
from chitty_cicd.errors import ChittyError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
REQUEST_TIMEOUT_SECONDS = 30.0

# GitHub's "Best practices for using the REST API" recommends requests one at a time,
# at least one second between POST, PATCH, PUT and DELETE requests, and, after a rate-limit
# error, waiting for retry-after, then x-ratelimit-reset, otherwise at least one minute with
# exponential growth. "Rate limits for the REST API" caps content-creating requests at
# 80 a minute and 500 an hour.
MUTATION_INTERVAL_SECONDS = 1.0
CONTENT_CREATION_LIMITS = ((60.0, 80), (3600.0, 500))
SECONDARY_LIMIT_WAIT_SECONDS = 60.0
MAX_RATE_LIMIT_RETRIES = 5
MAX_WAIT_SECONDS = 3600.0

# 5xx responses and refused connections: retried with exponential backoff from this base.
SERVER_ERROR_BACKOFF_SECONDS = 1.0
MAX_SERVER_ERROR_RETRIES = 4

MUTATING_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

log = logging.getLogger(__name__)


class GitHubError(ChittyError):
    """A GitHub API request that failed after every retry."""

    def __init__(self, message: str, *, status: int | None = None):
        self.status = status
        super().__init__(message)


@dataclass
class Response:
    status: int
    headers: Message
    data: Any

    @property
    def message(self) -> str:
        if isinstance(self.data, dict):
            return str(self.data.get("message", ""))
        return ""


@dataclass
class GitHubClient:
    """Send requests to one GitHub REST API, one at a time, honouring its rate limits."""

    api_url: str
    token: str = field(repr=False)
    sleep: Callable[[float], None] = time.sleep
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last_mutation: float = field(default=float("-inf"), repr=False)
    _creations: deque[float] = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")
        self._opener = urllib.request.build_opener(_SameHostRedirectHandler())

    @property
    def web_host(self) -> str:
        return web_host_for(self.api_url)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        allow: tuple[int, ...] = (),
    ) -> Response:
        """Send one request, retrying rate limits and server errors.

        Raise GitHubError when it fails, unless its status is listed in `allow`.
        """
        url = self._url(path, params)
        data = json.dumps(body).encode() if body is not None else None

        with self._lock:
            response = self._send_with_retries(method, url, data)

        if response.status < 300 or response.status in allow:
            return response
        raise GitHubError(_describe_failure(method, url, response), status=response.status)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Yield every item of a list endpoint, following the Link header's rel="next"."""
        url: str | None = self._url(path, {"per_page": 100, **(params or {})})
        while url is not None:
            response = self.request("GET", url)
            items = response.data
            if isinstance(items, dict):
                # A few list endpoints wrap the items, e.g. {"total_count": 2, "secrets": [...]}.
                items = next((value for value in items.values() if isinstance(value, list)), [])
            yield from items
            url = _next_link(response.headers.get("Link"))
            if url is not None and not self._is_own_url(url):
                raise GitHubError(f"the API sent a next-page link to another host: {url}")

    def list_org_repositories(self, org: str) -> list[dict[str, Any]]:
        """List every repository of an organization, or of a user account of that name."""
        owner = urllib.parse.quote(org)
        try:
            return list(self.paginate(f"/orgs/{owner}/repos", {"type": "all"}))
        except GitHubError as error:
            if error.status != 404:
                raise
        return list(self.paginate(f"/users/{owner}/repos", {"type": "owner"}))

    def get_repository(self, full_name: str) -> dict[str, Any]:
        return self.request("GET", f"/repos/{full_name}").data

    def find_open_pull(self, full_name: str, branch: str) -> dict[str, Any] | None:
        """Return the open pull request whose head is `branch` of the same repository, if any."""
        owner = full_name.split("/", 1)[0]
        params = {"state": "open", "head": f"{owner}:{branch}"}
        pulls = list(self.paginate(f"/repos/{full_name}/pulls", params))
        return pulls[0] if pulls else None

    def create_pull(self, full_name: str, *, title: str, head: str, base: str, body: str) -> dict[str, Any]:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return self.request("POST", f"/repos/{full_name}/pulls", body=payload).data

    def update_pull(self, full_name: str, number: int, *, title: str, body: str) -> dict[str, Any]:
        payload = {"title": title, "body": body}
        return self.request("PATCH", f"/repos/{full_name}/pulls/{number}", body=payload).data

    def _send_with_retries(self, method: str, url: str, data: bytes | None) -> Response:
        rate_limit_retries = 0
        server_error_retries = 0
        while True:
            if method in MUTATING_METHODS:
                self._pace(method)
            response = self._send(method, url, data)

            wait = _rate_limit_wait(response, rate_limit_retries)
            if wait is not None and rate_limit_retries < MAX_RATE_LIMIT_RETRIES:
                rate_limit_retries += 1
                self._wait(wait, f"rate limit on {method} {_path_of(url)} (HTTP {response.status})")
                continue

            if response.status >= 500 and server_error_retries < MAX_SERVER_ERROR_RETRIES:
                wait = SERVER_ERROR_BACKOFF_SECONDS * 2**server_error_retries
                server_error_retries += 1
                self._wait(wait, f"{method} {_path_of(url)} returned HTTP {response.status}")
                continue

            return response

    def _send(self, method: str, url: str, data: bytes | None) -> Response:
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", API_VERSION)
        request.add_header("User-Agent", f"chitty-cicd/{__version__}")
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")

        try:
            with self._opener.open(request, timeout=REQUEST_TIMEOUT_SECONDS) as reply:
                return Response(reply.status, reply.headers, _parse_json(reply.read()))
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, _parse_json(error.read()))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            # A refused or dropped connection is retried like a 5xx response.
            reason = getattr(error, "reason", error)
            return Response(599, Message(), {"message": f"could not reach {url}: {reason}"})

    def _pace(self, method: str) -> None:
        now = time.monotonic()
        wait = self._last_mutation + MUTATION_INTERVAL_SECONDS - now
        if method == "POST":
            for window, limit in CONTENT_CREATION_LIMITS:
                recent = [t for t in self._creations if t > now - window]
                if len(recent) >= limit:
                    wait = max(wait, recent[-limit] + window - now)
        if wait > 0:
            if wait > MUTATION_INTERVAL_SECONDS:
                log.info("pacing GitHub writes: waiting %.0f s", wait)
            self.sleep(wait)

        now = time.monotonic()
        self._last_mutation = now
        if method == "POST":
            self._creations.append(now)
            while len(self._creations) > max(limit for _, limit in CONTENT_CREATION_LIMITS):
                self._creations.popleft()

    def _wait(self, seconds: float, reason: str) -> None:
        if seconds > MAX_WAIT_SECONDS:
            raise GitHubError(
                f"{reason}: GitHub asks to wait {seconds:.0f} s, longer than "
                f"{MAX_WAIT_SECONDS:.0f} s; run again later"
            )
        log.warning("%s; retrying in %.1f s", reason, seconds)
        self.sleep(seconds)

    def _url(self, path: str, params: Mapping[str, Any] | None) -> str:
        url = path if path.startswith(("http://", "https://")) else f"{self.api_url}/{path.lstrip('/')}"
        if params:
            separator = "&" if "?" in url else "?"
            url = f"{url}{separator}{urllib.parse.urlencode(params)}"
        return url

    def _is_own_url(self, url: str) -> bool:
        own = urllib.parse.urlsplit(self.api_url)
        other = urllib.parse.urlsplit(url)
        return (own.scheme, own.netloc) == (other.scheme, other.netloc)


class _SameHostRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but send the token only to the host it was meant for."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            old_host = urllib.parse.urlsplit(req.full_url).netloc
            if urllib.parse.urlsplit(newurl).netloc != old_host:
                new.remove_header("Authorization")
        return new


def _rate_limit_wait(response: Response, retries: int) -> float | None:
    """Return how long to wait before retrying a rate-limited response, or None if it is not one."""
    if response.status not in (403, 429):
        return None

    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        return _parse_retry_after(retry_after)

    if response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset")
        if reset is not None and reset.isdigit():
            # One extra second covers clock skew between GitHub and this machine.
            return max(0.0, int(reset) - time.time()) + 1.0
        return SECONDARY_LIMIT_WAIT_SECONDS * 2**retries

    if response.status == 429 or "rate limit" in response.message.lower():
        return SECONDARY_LIMIT_WAIT_SECONDS * 2**retries
    return None


def _parse_retry_after(value: str) -> float:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return SECONDARY_LIMIT_WAIT_SECONDS


def _next_link(header: str | None) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        url_part, _, rest = part.partition(";")
        if 'rel="next"' in rest.replace(" ", ""):
            return url_part.strip().strip("<>")
    return None


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"message": raw[:200].decode("utf-8", "replace")}


def _path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def _describe_failure(method: str, url: str, response: Response) -> str:
    detail = response.message or "no message"
    text = f"{method} {_path_of(url)} failed with HTTP {response.status}: {detail}"
    if response.status == 401:
        text += "; the token is invalid or expired: create a new one and set GITHUB_TOKEN"
    elif response.status == 403:
        text += "; the token lacks a permission this request needs"
    elif response.status == 404:
        text += "; it does not exist or the token cannot see it"
    return text


def web_host_for(api_url: str) -> str:
    """Return the web host that serves an API: github.com for api.github.com, else the API's host."""
    host = urllib.parse.urlsplit(api_url).netloc
    return "github.com" if host == "api.github.com" else host


def resolve_token(host: str) -> tuple[str | None, str]:
    """Find a token in GITHUB_TOKEN, then GH_TOKEN, then `gh auth token`; return it and its source."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return value, name

    gh = shutil.which("gh")
    if gh is None:
        return None, "GITHUB_TOKEN and GH_TOKEN are unset and the gh CLI is not installed"
    probe = subprocess.run(
        [gh, "auth", "token", "--hostname", host],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    token = probe.stdout.strip()
    if probe.returncode != 0 or not token:
        return None, f"GITHUB_TOKEN and GH_TOKEN are unset and gh is not logged in to {host}"
    return token, "gh auth token"
