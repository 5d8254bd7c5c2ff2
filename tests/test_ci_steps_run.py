"""The generated workflows' steps, run in order with bash on the sample projects.

A small local runner replaces GitHub Actions: it resolves `${{ }}` expressions for
one event, runs each `run:` step with bash as a hosted runner does, and replaces each
`uses:` step with what that action leaves behind (a Python virtual environment for
actions/setup-python, outputs for cloudflare/wrangler-action). Steps that would download
a toolchain run a check of the installed one instead. A test is skipped, with the reason,
when the machine lacks its toolchain.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import venv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

BASE_ANSWERS = {
    "project_name": "sample-app",
    "github_org": "ChittyOS",
    "default_branch": "main",
    "beacon_enabled": False,
    "security_scanning": False,
    "dependency_updates": False,
    "ci_metrics": False,
    "template_updates": False,
}
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
STEP_TIMEOUT_SECONDS = 600

# Steps that reach outside the package registries, with the local check that replaces them.
STAND_INS = {
    "Install the Rust toolchain": "cargo --version && cargo fmt --version && cargo clippy --version",
    "Install the Vercel CLI": "command -v vercel",
}


# ---------------------------------------------------------------------------------------
# GitHub expressions
# ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)"
    r"|'(?P<string>(?:[^']|'')*)'"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.])"
    r"|(?P<name>[A-Za-z_][\w-]*))"
)
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "")


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            return float("nan")
    return float("nan")


def _equal(left: Any, right: Any) -> bool:
    # GitHub compares strings without regard to case, and values of different types as
    # numbers, so null equals '' and 0.
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right):
        return bool(left == right)
    return _number(left) == _number(right)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class _Parser:
    """Evaluate one GitHub Actions expression by recursive descent."""

    def __init__(self, source: str, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]):
        self.tokens = self._tokenize(source)
        self.position = 0
        self.context = context
        self.functions = functions

    @staticmethod
    def _tokenize(source: str) -> list[tuple[str, Any]]:
        tokens: list[tuple[str, Any]] = []
        position = 0
        while source[position:].strip():
            match = _TOKEN.match(source, position)
            if match is None:
                raise ValueError(f"invalid expression at {source[position:]!r}")
            kind = match.lastgroup or ""
            value: Any = match.group(kind)
            if kind == "string":
                value = value.replace("''", "'")
            elif kind == "number":
                value = float(value) if "." in value else int(value)
            tokens.append((kind, value))
            position = match.end()
        return tokens

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, op: str | None = None) -> tuple[str, Any]:
        token = self._peek()
        if token is None or (op is not None and token != ("op", op)):
            raise ValueError(f"expected {op!r}, found {token!r}")
        self.position += 1
        return token

    def _at(self, op: str) -> bool:
        return self._peek() == ("op", op)

    def evaluate(self) -> Any:
        value = self._or()
        if self._peek() is not None:
            raise ValueError(f"unexpected {self._peek()!r}")
        return value

    def _or(self) -> Any:
        value = self._and()
        while self._at("||"):
            self._take()
            right = self._and()
            value = value if _truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._comparison()
        while self._at("&&"):
            self._take()
            right = self._comparison()
            value = right if _truthy(value) else value
        return value

    def _comparison(self) -> Any:
        value = self._unary()
        token = self._peek()
        if token is None or token[0] != "op" or token[1] not in ("==", "!=", "<", "<=", ">", ">="):
            return value
        op = self._take()[1]
        right = self._unary()
        if op in ("==", "!="):
            return _equal(value, right) == (op == "==")
        # NOTE: ordering compares numbers only; no generated workflow orders strings.
        left_number, right_number = _number(value), _number(right)
        return {
            "<": left_number < right_number,
            "<=": left_number <= right_number,
            ">": left_number > right_number,
            ">=": left_number >= right_number,
        }[op]

    def _unary(self) -> Any:
        if self._at("!"):
            self._take()
            return not _truthy(self._unary())
        return self._postfix()

    def _postfix(self) -> Any:
        value = self._primary()
        while self._at(".") or self._at("["):
            if self._take()[1] == ".":
                key = self._take()[1]
            else:
                key = self._or()
                self._take("]")
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    def _primary(self) -> Any:
        kind, value = self._take()
        if kind in ("number", "string"):
            return value
        if (kind, value) == ("op", "("):
            inner = self._or()
            self._take(")")
            return inner
        if kind != "name":
            raise ValueError(f"unexpected {value!r}")
        if value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[value]
        if self._at("("):
            self._take()
            arguments = []
            while not self._at(")"):
                arguments.append(self._or())
                if self._at(","):
                    self._take()
            self._take(")")
            return self.functions[value](*arguments)
        return self.context.get(value)


# ---------------------------------------------------------------------------------------
# The local runner
# ---------------------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure or skipped
    output: str = ""


@dataclass
class LocalRunner:
    """Run one job of a workflow on a checked-out workspace, as a push or pull_request event would."""

    workspace: Path
    temp: Path
    event_name: str = "push"
    ref: str = "refs/heads/main"
    event: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    actions: dict[str, Callable[[LocalRunner, dict[str, Any]], dict[str, str]]] = field(default_factory=dict)
    extra_path: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)
    summary: str = ""

    def __post_init__(self) -> None:
        self.env: dict[str, str] = {}
        self.actions = {**DEFAULT_ACTIONS, **self.actions}

    def _functions(self) -> dict[str, Callable[..., Any]]:
        failed = any(result.outcome == "failure" for result in self.results)
        return {
            "success": lambda: not failed,
            "failure": lambda: failed,
            "always": lambda: True,
            "cancelled": lambda: False,
            "hashFiles": self._hash_files,
            "startsWith": lambda text, prefix: _text(text).casefold().startswith(_text(prefix).casefold()),
            "endsWith": lambda text, suffix: _text(text).casefold().endswith(_text(suffix).casefold()),
            "contains": lambda haystack, needle: (
                any(_equal(item, needle) for item in haystack)
                if isinstance(haystack, list)
                else _text(needle).casefold() in _text(haystack).casefold()
            ),
            "format": lambda template, *args: re.sub(
                r"\{(\d+)\}", lambda match: _text(args[int(match.group(1))]), template
            ),
            "toJSON": lambda value: json.dumps(value, indent=2),
            "fromJSON": json.loads,
        }

    def _hash_files(self, *patterns: str) -> str:
        files = sorted(
            path
            for path in self.workspace.rglob("*")
            if path.is_file()
            and ".git" not in path.parts
            and any(fnmatch.fnmatch(str(path.relative_to(self.workspace)), pattern) for pattern in patterns)
        )
        if not files:
            return ""
        digest = hashlib.sha256()
        for path in files:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def context(self) -> dict[str, Any]:
        repository = "ChittyOS/sample-app"
        return {
            "github": {
                "event_name": self.event_name,
                "event": self.event,
                "ref": self.ref,
                "ref_name": self.ref.rsplit("/", 1)[-1],
                "sha": "0" * 40,
                "repository": repository,
                "workflow": "Local",
                "workspace": str(self.workspace),
                "token": "local-token",
                "actor": "octocat",
            },
            "runner": {"os": "Linux", "arch": "X64", "temp": str(self.temp)},
            "env": dict(self.env),
            "secrets": dict(self.secrets),
            "vars": dict(self.variables),
            "steps": self.steps,
            "needs": {},
            "matrix": {},
            "inputs": {},
        }

    def evaluate(self, source: str) -> Any:
        return _Parser(source, self.context(), self._functions()).evaluate()

    def interpolate(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return _EXPRESSION.sub(lambda match: _text(self.evaluate(match.group(1))), value)

    def condition(self, source: Any, default: str = "success()") -> bool:
        if source is None:
            source = default
        if isinstance(source, bool):
            return source
        text = str(source).strip()
        match = _EXPRESSION.fullmatch(text)
        expression = match.group(1) if match else text
        # Like GitHub, a condition without a status function implies success().
        if not re.search(r"\b(success|failure|always|cancelled)\(", expression):
            expression = f"success() && ({expression})"
        return _truthy(self.evaluate(expression))

    def _base_env(self) -> dict[str, str]:
        inherited_names = (
            "HOME",
            "LANG",
            "USER",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "GOPATH",
            "GOCACHE",
            "GOMODCACHE",
            "SSL_CERT_FILE",
            "PIP_CONFIG_FILE",
            "PIP_FIND_LINKS",
        )
        env = {name: os.environ[name] for name in inherited_names if name in os.environ}
        env["PATH"] = os.pathsep.join([*self.extra_path, os.environ.get("PATH", "")])
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": self.event_name,
                "GITHUB_REF": self.ref,
                "GITHUB_REF_NAME": self.ref.rsplit("/", 1)[-1],
                "GITHUB_REPOSITORY": "ChittyOS/sample-app",
                "GITHUB_WORKSPACE": str(self.workspace),
                "RUNNER_OS": "Linux",
                "RUNNER_TEMP": str(self.temp),
                # No audit requests and no toolchain or module downloads; pip still reaches the package index.
                "npm_config_audit": "false",
                "npm_config_fund": "false",
                "npm_config_update_notifier": "false",
                "GOTOOLCHAIN": "local",
                "GOPROXY": "off",
                "CARGO_NET_OFFLINE": "true",
            }
        )
        env.update(self.extra_env)
        return env

    def run_job(self, workflow: Mapping[str, Any], job_id: str) -> list[StepResult]:
        """Run the job's steps in order and return every step's result."""
        job = workflow["jobs"][job_id]
        self.env = {}
        for scope in (workflow.get("env") or {}, job.get("env") or {}):
            self.env.update({name: _text(self.interpolate(value)) for name, value in scope.items()})
        if not self.condition(job.get("if")):
            return [StepResult(job_id, "skipped", "the job's condition is false")]

        for index, step in enumerate(job["steps"]):
            name = step.get("name") or step.get("uses") or f"step {index}"
            self.results.append(self._run_step(step, name))
        return self.results

    def _run_step(self, step: Mapping[str, Any], name: str) -> StepResult:
        if not self.condition(step.get("if")):
            return StepResult(name, "skipped", "the step's condition is false")

        step_env = {key: _text(self.interpolate(value)) for key, value in (step.get("env") or {}).items()}
        if "uses" in step:
            action = step["uses"].split("@", 1)[0]
            handler = self.actions.get(action)
            if handler is None:
                pytest.fail(f"the local runner has no stand-in for the action {action!r} of step {name!r}")
            with_values = {key: self.interpolate(value) for key, value in (step.get("with") or {}).items()}
            self._record_outputs(step, handler(self, with_values))
            return StepResult(name, "success")
        return self._run_script(step, name, step_env)

    def _run_script(self, step: Mapping[str, Any], name: str, step_env: Mapping[str, str]) -> StepResult:
        script = STAND_INS.get(name) or step["run"]
        assert "${{" not in script, f"step {name!r} puts an expression into its script"
        files = {
            kind: self.temp / f"{kind}-{len(self.results)}" for kind in ("output", "env", "path", "summary")
        }
        for path in files.values():
            path.write_text("")
        env = {
            **self._base_env(),
            **self.env,
            **step_env,
            "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_ENV": str(files["env"]),
            "GITHUB_PATH": str(files["path"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]),
        }
        script_path = self.temp / f"step-{len(self.results)}.sh"
        script_path.write_text(script)
        shell = (
            ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
            if step.get("shell") == "bash"
            else ["bash", "-e"]
        )
        completed = subprocess.run(
            [*shell, str(script_path)],
            cwd=self.workspace / step.get("working-directory", "."),
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_SECONDS,
            check=False,
        )

        self._record_outputs(step, _read_key_values(files["output"].read_text()))
        self.extra_env.update(_read_key_values(files["env"].read_text()))
        self.extra_path[:0] = [line for line in files["path"].read_text().splitlines() if line]
        self.summary += files["summary"].read_text()
        outcome = "success" if completed.returncode == 0 else "failure"
        return StepResult(name, outcome, completed.stdout + completed.stderr)

    def _record_outputs(self, step: Mapping[str, Any], outputs: Mapping[str, str]) -> None:
        if "id" in step:
            self.steps[step["id"]] = {"outputs": dict(outputs), "outcome": "success"}


def _read_key_values(text: str) -> dict[str, str]:
    """Read `name=value` lines and `name<<DELIMITER` blocks, as GITHUB_OUTPUT and GITHUB_ENV hold them."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for block_line in lines:
                if block_line == delimiter:
                    break
                block.append(block_line)
            values[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def _setup_python(runner: LocalRunner, _with: dict[str, Any]) -> dict[str, str]:
    # The machine's own Python replaces the requested version, in a fresh virtual environment.
    environment = runner.temp / "python"
    venv.create(environment, with_pip=True, symlinks=True)
    runner.extra_path.insert(0, str(environment / "bin"))
    return {"python-version": PYTHON_VERSION}


def _no_effect(_runner: LocalRunner, _with: dict[str, Any]) -> dict[str, str]:
    return {}


DEFAULT_ACTIONS: dict[str, Callable[[LocalRunner, dict[str, Any]], dict[str, str]]] = {
    # The sample project is the workspace already; no credentials are stored anywhere.
    "actions/checkout": _no_effect,
    "actions/setup-python": _setup_python,
    # The machine's Node.js, Go and Rust replace the requested versions.
    "actions/setup-node": _no_effect,
    "actions/setup-go": _no_effect,
    "actions/cache": _no_effect,
    "actions/upload-artifact": _no_effect,
}


# ---------------------------------------------------------------------------------------
# Helpers of the tests
# ---------------------------------------------------------------------------------------


def _load(repo: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((repo / ".github/workflows" / name).read_text(encoding="utf-8"))


def _failures(results: list[StepResult]) -> list[str]:
    return [f"{result.name}:\n{result.output}" for result in results if result.outcome == "failure"]


def _require(*commands: str) -> None:
    missing = [command for command in commands if shutil.which(command) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed on this machine")


def _runner(repo: Path, tmp_path: Path, **options: Any) -> LocalRunner:
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    return LocalRunner(workspace=repo, temp=temp, **options)


def _fake_command(directory: Path, name: str, script: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/usr/bin/env bash\nset -e\n" + script)
    path.chmod(0o755)


# ---------------------------------------------------------------------------------------
# ci.yml on the sample projects
# ---------------------------------------------------------------------------------------


def test_ci_steps_pass_python_sample(render, tmp_path: Path) -> None:
    repo = render(
        {**BASE_ANSWERS, "project_type": "python", "python_version": PYTHON_VERSION}, fixture="sample_python"
    )

    results = _runner(repo, tmp_path).run_job(_load(repo, "ci.yml"), "build")

    assert _failures(results) == []
    assert [result.outcome for result in results] == ["success"] * len(results)
    assert "1 passed" in results[-1].output


def test_ci_steps_pass_node_sample(render, tmp_path: Path) -> None:
    _require("node", "npm")
    repo = render(
        {**BASE_ANSWERS, "project_type": "node", "node_version": "20", "package_manager": "npm"},
        fixture="sample_node",
    )

    results = _runner(repo, tmp_path).run_job(_load(repo, "ci.yml"), "build")

    test_step = next(result for result in results if result.name == "Run the test script")
    assert _failures(results) == []
    assert re.search(r"^# pass 1$", test_step.output, re.MULTILINE), test_step.output


def test_ci_steps_pass_rust_sample(render, tmp_path: Path) -> None:
    _require("cargo")
    for component in ("fmt", "clippy"):
        if subprocess.run(["cargo", component, "--version"], capture_output=True, check=False).returncode:
            pytest.skip(f"cargo {component} not installed on this machine")
    repo = render({**BASE_ANSWERS, "project_type": "rust"}, fixture="sample_rust")

    results = _runner(repo, tmp_path).run_job(_load(repo, "ci.yml"), "build")

    assert _failures(results) == []
    assert "test result: ok. 1 passed" in results[-1].output


def test_ci_steps_pass_go_sample(render, tmp_path: Path) -> None:
    _require("go")
    repo = render({**BASE_ANSWERS, "project_type": "go"}, fixture="sample_go")

    results = _runner(repo, tmp_path).run_job(_load(repo, "ci.yml"), "build")

    assert _failures(results) == []
    assert re.search(r"^ok\s+example.com/sampleapp", results[-1].output, re.MULTILINE), results[-1].output


# ---------------------------------------------------------------------------------------
# dependency-update.yml on samples that are already up to date
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project_type", "fixture", "commands"),
    [
        ("node", "sample_node", ("node", "npm")),
        ("rust", "sample_rust", ("cargo",)),
        ("go", "sample_go", ("go",)),
    ],
)
def test_dependency_update_finds_nothing_to_change(
    render, tmp_path: Path, project_type: str, fixture: str, commands: tuple[str, ...]
) -> None:
    _require(*commands)
    repo = render(
        {
            **BASE_ANSWERS,
            "project_type": project_type,
            "node_version": "20",
            "package_manager": "npm",
            "dependency_updates": True,
        },
        fixture=fixture,
    )
    _git_snapshot(repo)

    results = _runner(repo, tmp_path).run_job(_load(repo, "dependency-update.yml"), "update")

    outcomes = {result.name: result.outcome for result in results}
    assert _failures(results) == []
    assert outcomes["Check for changes"] == "success"
    assert outcomes["Open or update the pull request"] == "skipped"


def _git_snapshot(repo: Path) -> None:
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run(
            ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *command],
            cwd=repo,
            check=True,
            capture_output=True,
        )


# ---------------------------------------------------------------------------------------
# ci-metrics.yml with a stand-in `gh` and a local HTTP endpoint
# ---------------------------------------------------------------------------------------


def _workflow_run(run_id: int, name: str, conclusion: str, minutes: int) -> dict[str, Any]:
    return {
        "id": run_id,
        "run_attempt": 1,
        "name": name,
        "event": "push",
        "head_branch": "main",
        "conclusion": conclusion,
        "created_at": "2026-01-05T10:00:00Z",
        "run_started_at": "2026-01-05T10:00:00Z",
        "updated_at": f"2026-01-05T10:{minutes:02d}:00Z",
    }


@pytest.fixture
def metrics_repo(render, tmp_path: Path) -> tuple[Path, LocalRunner]:
    """A rendered repository with ci-metrics.yml and a runner whose `gh` prints two pages of runs."""
    repo = render({**BASE_ANSWERS, "project_type": "go", "ci_metrics": True}, fixture="sample_go")
    pages = [
        {
            "total_count": 3,
            "workflow_runs": [_workflow_run(1, "CI", "success", 2), _workflow_run(2, "CI", "failure", 4)],
        },
        {"total_count": 3, "workflow_runs": [_workflow_run(3, "Deploy", "success", 1)]},
    ]
    bin_dir = tmp_path / "bin"
    (tmp_path / "pages.json").write_text("".join(json.dumps(page) + "\n" for page in pages))
    _fake_command(
        bin_dir, "gh", f'printf "%s\\n" "$*" > {tmp_path / "gh-args"}\ncat {tmp_path / "pages.json"}\n'
    )
    runner = _runner(repo, tmp_path, event_name="schedule", extra_path=[str(bin_dir)])
    return repo, runner


def test_metrics_collects_runs_and_posts(metrics_repo, httpserver) -> None:
    repo, runner = metrics_repo
    httpserver.expect_oneshot_request("/ci", method="POST").respond_with_data("stored")
    runner.variables["METRICS_ENDPOINT"] = httpserver.url_for("/ci")
    runner.secrets["METRICS_TOKEN"] = "metrics-secret"

    results = runner.run_job(_load(repo, "ci-metrics.yml"), "collect")

    request, _response = httpserver.log[0]
    body = request.get_json()
    assert _failures(results) == []
    assert [run["id"] for run in body["runs"]] == [1, 2, 3]
    assert body["runs"][1] == {
        "id": 2,
        "run_attempt": 1,
        "workflow": "CI",
        "event": "push",
        "branch": "main",
        "conclusion": "failure",
        "created_at": "2026-01-05T10:00:00Z",
        "duration_ms": 240000,
    }
    assert request.headers["Authorization"] == "Bearer metrics-secret"
    assert "| CI | 2 | 1 | 1 | 180 |" in runner.summary
    assert "metrics-secret" not in "".join(result.output for result in results)


def test_metrics_asks_for_completed_recent_runs(metrics_repo) -> None:
    repo, runner = metrics_repo

    runner.run_job(_load(repo, "ci-metrics.yml"), "collect")

    arguments = (runner.temp.parent / "gh-args").read_text()
    assert "repos/ChittyOS/sample-app/actions/runs?status=completed&per_page=100&created=%3E%3D" in arguments
    assert "--paginate" in arguments


def test_metrics_warns_when_endpoint_down(metrics_repo) -> None:
    repo, runner = metrics_repo
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    runner.variables["METRICS_ENDPOINT"] = f"http://127.0.0.1:{closed_port}/ci"

    results = runner.run_job(_load(repo, "ci-metrics.yml"), "collect")

    send = next(result for result in results if result.name == "Send the metrics to METRICS_ENDPOINT")
    assert _failures(results) == []
    assert "::warning title=Metrics not sent::" in send.output


def test_metrics_skips_post_without_endpoint(metrics_repo) -> None:
    repo, runner = metrics_repo

    results = runner.run_job(_load(repo, "ci-metrics.yml"), "collect")

    outcomes = {result.name: result.outcome for result in results}
    assert outcomes["Send the metrics to METRICS_ENDPOINT"] == "skipped"
    assert json.loads((repo / "metrics.json").read_text())["runs"][2]["workflow"] == "Deploy"


# ---------------------------------------------------------------------------------------
# deploy.yml with stand-ins for Wrangler and the Vercel CLI
# ---------------------------------------------------------------------------------------

WRANGLER_VERSIONS_UPLOAD_OUTPUT = """\
Worker Version ID: 1f2e3d4c-0000-4000-8000-000000000000
Version Preview URL: https://1f2e3d4c-sample-worker.example.workers.dev
Version Preview Alias URL: https://pr-7-sample-worker.example.workers.dev
"""
PULL_REQUEST_EVENT = {
    "number": 7,
    "pull_request": {
        "number": 7,
        "head": {"repo": {"full_name": "ChittyOS/sample-app"}},
        "user": {"login": "octocat"},
    },
}
CLOUDFLARE_SECRETS = {"CLOUDFLARE_API_TOKEN": "cf-token", "CLOUDFLARE_ACCOUNT_ID": "cf-account"}
VERCEL_SECRETS = {"VERCEL_TOKEN": "vercel-token", "VERCEL_ORG_ID": "team_1", "VERCEL_PROJECT_ID": "prj_1"}


def _wrangler_stand_in(
    calls: list[dict[str, Any]],
) -> Callable[[LocalRunner, dict[str, Any]], dict[str, str]]:
    def run(_runner: LocalRunner, with_values: dict[str, Any]) -> dict[str, str]:
        calls.append(with_values)
        if with_values["command"].startswith("versions upload"):
            return {
                "command-output": WRANGLER_VERSIONS_UPLOAD_OUTPUT,
                "deployment-url": "https://1f2e3d4c-sample-worker.example.workers.dev",
            }
        return {
            "command-output": "Deployed sample-worker",
            "deployment-url": "https://sample-worker.example.workers.dev",
        }

    return run


@pytest.fixture
def worker_repo(render) -> Path:
    _require("node", "npm")
    return render(
        {
            **BASE_ANSWERS,
            "project_type": "node",
            "deploy_target": "cloudflare",
            "node_version": "20",
            "package_manager": "npm",
        },
        fixture="sample_worker",
    )


def test_cloudflare_pull_request_uploads_preview(worker_repo: Path, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    runner = _runner(
        worker_repo,
        tmp_path,
        event_name="pull_request",
        ref="refs/pull/7/merge",
        event=PULL_REQUEST_EVENT,
        secrets=dict(CLOUDFLARE_SECRETS),
        actions={"cloudflare/wrangler-action": _wrangler_stand_in(calls)},
    )

    results = runner.run_job(_load(worker_repo, "deploy.yml"), "deploy")

    outcomes = {result.name: result.outcome for result in results}
    assert _failures(results) == []
    assert outcomes["Deploy the Worker to production"] == "skipped"
    assert calls == [
        {
            "apiToken": "cf-token",
            "accountId": "cf-account",
            "packageManager": "npm",
            "command": "versions upload --preview-alias pr-7",
        }
    ]
    assert runner.steps["url"]["outputs"] == {"url": "https://pr-7-sample-worker.example.workers.dev"}
    assert runner.summary == "Deployed to preview: https://pr-7-sample-worker.example.workers.dev\n"


def test_cloudflare_push_deploys_production(worker_repo: Path, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    runner = _runner(
        worker_repo,
        tmp_path,
        secrets=dict(CLOUDFLARE_SECRETS),
        actions={"cloudflare/wrangler-action": _wrangler_stand_in(calls)},
    )

    results = runner.run_job(_load(worker_repo, "deploy.yml"), "deploy")

    assert _failures(results) == []
    assert [call["command"] for call in calls] == ["deploy"]
    assert runner.summary == "Deployed to production: https://sample-worker.example.workers.dev\n"


@pytest.mark.parametrize(
    ("event_name", "ref", "event"),
    [
        ("push", "refs/heads/feature", {}),
        (
            "pull_request",
            "refs/pull/7/merge",
            {
                **PULL_REQUEST_EVENT,
                "pull_request": {
                    **PULL_REQUEST_EVENT["pull_request"],
                    "head": {"repo": {"full_name": "someone/fork"}},
                },
            },
        ),
        (
            "pull_request",
            "refs/pull/7/merge",
            {
                **PULL_REQUEST_EVENT,
                "pull_request": {**PULL_REQUEST_EVENT["pull_request"], "user": {"login": "dependabot[bot]"}},
            },
        ),
    ],
    ids=["other-branch", "fork", "dependabot"],
)
def test_deploy_skips_untrusted_refs(
    worker_repo: Path, tmp_path: Path, event_name: str, ref: str, event: dict[str, Any]
) -> None:
    runner = _runner(worker_repo, tmp_path, event_name=event_name, ref=ref, event=event)

    results = runner.run_job(_load(worker_repo, "deploy.yml"), "deploy")

    assert [result.outcome for result in results] == ["skipped"]


def test_deploy_tag_deploys_production(worker_repo: Path, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    runner = _runner(
        worker_repo,
        tmp_path,
        ref="refs/tags/v1.2.0",
        secrets=dict(CLOUDFLARE_SECRETS),
        actions={"cloudflare/wrangler-action": _wrangler_stand_in(calls)},
    )

    results = runner.run_job(_load(worker_repo, "deploy.yml"), "deploy")

    assert _failures(results) == []
    assert [call["command"] for call in calls] == ["deploy"]


def test_cloudflare_missing_secrets_fail_first(worker_repo: Path, tmp_path: Path) -> None:
    runner = _runner(worker_repo, tmp_path, secrets={"CLOUDFLARE_ACCOUNT_ID": "cf-account"})

    results = runner.run_job(_load(worker_repo, "deploy.yml"), "deploy")

    assert results[0].name == "Check the Cloudflare secrets"
    assert results[0].outcome == "failure"
    assert (
        "::error title=Missing secrets::Add the secrets CLOUDFLARE_API_TOKEN under Settings > "
        "Secrets and variables > Actions, then re-run this workflow."
    ) in results[0].output
    assert {result.outcome for result in results[1:]} == {"skipped"}


@pytest.fixture
def vercel_repo(render) -> Path:
    _require("node", "npm")
    return render(
        {
            **BASE_ANSWERS,
            "project_type": "node",
            "deploy_target": "vercel",
            "node_version": "20",
            "package_manager": "npm",
        },
        fixture="sample_node",
    )


def _vercel_runner(repo: Path, tmp_path: Path, **options: Any) -> LocalRunner:
    bin_dir = tmp_path / "bin"
    log = tmp_path / "vercel-calls"
    _fake_command(
        bin_dir,
        "vercel",
        (
            f'printf "%s token=%s org=%s\\n" "$*" "${{VERCEL_TOKEN:-}}" "${{VERCEL_ORG_ID:-}}" >> {log}\n'
            'if [ "$1" = deploy ]; then echo "https://sample-app-abc123.vercel.app"; '
            'echo "Inspect: https://vercel.com/x" >&2; fi\n'
        ),
    )
    return _runner(repo, tmp_path, secrets=dict(VERCEL_SECRETS), extra_path=[str(bin_dir)], **options)


def test_vercel_push_deploys_prebuilt_production(vercel_repo: Path, tmp_path: Path) -> None:
    runner = _vercel_runner(vercel_repo, tmp_path)

    results = runner.run_job(_load(vercel_repo, "deploy.yml"), "deploy")

    calls = (tmp_path / "vercel-calls").read_text().splitlines()
    assert _failures(results) == []
    assert calls == [
        "pull --yes --environment=production token=vercel-token org=team_1",
        "build --prod token= org=team_1",
        "deploy --prebuilt --prod token=vercel-token org=team_1",
    ]
    assert runner.summary == "Deployed to production: https://sample-app-abc123.vercel.app\n"


def test_vercel_pull_request_deploys_preview(vercel_repo: Path, tmp_path: Path) -> None:
    runner = _vercel_runner(
        vercel_repo, tmp_path, event_name="pull_request", ref="refs/pull/7/merge", event=PULL_REQUEST_EVENT
    )

    results = runner.run_job(_load(vercel_repo, "deploy.yml"), "deploy")

    calls = (tmp_path / "vercel-calls").read_text().splitlines()
    assert _failures(results) == []
    assert calls == [
        "pull --yes --environment=preview token=vercel-token org=team_1",
        "build token= org=team_1",
        "deploy --prebuilt token=vercel-token org=team_1",
    ]
    assert runner.summary == "Deployed to preview: https://sample-app-abc123.vercel.app\n"


def test_vercel_missing_secrets_name_all(vercel_repo: Path, tmp_path: Path) -> None:
    runner = _runner(vercel_repo, tmp_path)

    results = runner.run_job(_load(vercel_repo, "deploy.yml"), "deploy")

    assert results[0].outcome == "failure"
    assert "Add the secrets VERCEL_TOKEN VERCEL_ORG_ID VERCEL_PROJECT_ID under Settings" in results[0].output


# ---------------------------------------------------------------------------------------
# The expression evaluator itself
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("github.event_name == 'pull_request' && 'preview' || 'production'", "production"),
        ("startsWith(github.ref, 'refs/tags/v')", False),
        ("!cancelled() && hashFiles('missing.sarif') != ''", False),
        ("secrets.UNSET || github.token", "local-token"),
        ("github.ref == 'REFS/HEADS/MAIN'", True),
        ("format('pr-{0}', 7)", "pr-7"),
        ("vars.METRICS_ENDPOINT != ''", False),
        ("github.event.number >= 7", False),
        ("1 < 2", True),
    ],
)
def test_local_runner_evaluates_expressions(tmp_path: Path, expression: str, expected: Any) -> None:
    runner = _runner(tmp_path, tmp_path)

    assert runner.evaluate(expression) == expected
