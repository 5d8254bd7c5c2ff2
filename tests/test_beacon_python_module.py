"""The rendered chittybeacon package, run in a subprocess against a local HTTP server."""

from __future__ import annotations

import itertools
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import copier
import jinja2
import pytest
from pytest_httpserver import HTTPServer

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIR = (
    "[% if beacon_enabled and project_type == 'python' and beacon_entry %]"
    "[[ beacon_entry | python_beacon_package ]][% endif %]"
)
MODULE_TEMPLATE = REPO / "template" / PACKAGE_DIR / "__init__.py.jinja"
ANSWERS = {
    "project_name": 'shop "north" \\ é',
    "project_type": "python",
    "beacon_enabled": True,
    "beacon_endpoint": "https://beacon.cloudeto.com",
    "beacon_interval_ms": 300000,
    "beacon_entry": "app.py",
}
# Variables of the parent's environment that would change what the beacon does or where
# urllib sends its requests.
CLEARED_VARIABLES = (
    "BEACON_ENDPOINT",
    "BEACON_INTERVAL",
    "BEACON_DISABLED",
    "BEACON_VERBOSE",
    "BEACON_APP",
    "WERKZEUG_RUN_MAIN",
    "RUN_MAIN",
    "FLASK_DEBUG",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)
# The first event waits 1 s outside a reloader child, and 5 s leaves room on a slow machine.
STARTUP_WAIT_SECONDS = 5.0
QUIET_WAIT_SECONDS = 1.6


def render_module(directory: Path, **answers: object) -> Path:
    """Render the package template into directory/chittybeacon with Copier's delimiters."""
    environment = jinja2.Environment(
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    text = environment.from_string(MODULE_TEMPLATE.read_text(encoding="utf-8"))
    package = directory / "chittybeacon"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(text.render({**ANSWERS, **answers}), encoding="utf-8")
    return package


class BeaconProcess:
    """A Python process that imports chittybeacon from a directory and then sleeps."""

    def __init__(self, directory: Path, script: str, env: dict[str, str], argv: list[str]):
        env_all = {k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES}
        env_all.update(env)
        env_all["PYTHONPATH"] = str(directory)
        script_path = directory / argv[0]
        script_path.write_text(textwrap.dedent(script), encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, str(script_path), *argv[1:]],
            cwd=directory,
            env=env_all,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def stop(self) -> tuple[str, str]:
        """Stop the process and everything it started, and return its stdout and stderr."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.communicate(timeout=10)


@pytest.fixture(scope="module")
def server():
    beacon_server = HTTPServer(host="127.0.0.1", port=0)
    beacon_server.start()
    yield beacon_server
    beacon_server.clear()
    beacon_server.stop()


@pytest.fixture
def beacon_server(server: HTTPServer) -> HTTPServer:
    server.clear()
    server.expect_request("/track", method="POST").respond_with_data("ok")
    return server


@pytest.fixture
def start_beacon(tmp_path: Path):
    processes: list[BeaconProcess] = []
    render_module(tmp_path)

    def start(env: dict[str, str], script: str = "", argv: list[str] | None = None):
        body = script or "import time\nimport chittybeacon\ntime.sleep(60)\n"
        process = BeaconProcess(tmp_path, body, env, argv or ["main.py"])
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.stop()


def endpoint(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def wait_for_requests(server: HTTPServer, count: int, seconds: float) -> list[dict]:
    deadline = time.monotonic() + seconds
    while len(server.log) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return [json.loads(request.get_data()) for request, _ in server.log]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_module_startup_payload(beacon_server: HTTPServer, start_beacon):
    before_ms = int(time.time() * 1000)

    start_beacon({"BEACON_ENDPOINT": endpoint(beacon_server)})
    payloads = wait_for_requests(beacon_server, 1, STARTUP_WAIT_SECONDS)

    assert len(payloads) == 1
    request = beacon_server.log[0][0]
    assert request.path == "/track"
    assert request.headers["Content-Type"] == "application/json"
    payload = payloads[0]
    assert sorted(payload) == ["app", "event", "platform", "timestamp"]
    assert payload["event"] == "startup"
    assert payload["app"] == ANSWERS["project_name"]
    assert payload["platform"] == platform.system()
    assert isinstance(payload["timestamp"], int)
    assert before_ms <= payload["timestamp"] <= int(time.time() * 1000)


def test_module_app_name_from_environment(beacon_server: HTTPServer, start_beacon):
    start_beacon({"BEACON_ENDPOINT": endpoint(beacon_server), "BEACON_APP": "shop-eu"})
    payloads = wait_for_requests(beacon_server, 1, STARTUP_WAIT_SECONDS)

    assert [payload["app"] for payload in payloads] == ["shop-eu"]


def test_module_heartbeats_at_interval(beacon_server: HTTPServer, start_beacon):
    start_beacon({"BEACON_ENDPOINT": endpoint(beacon_server), "BEACON_INTERVAL": "50"})
    payloads = wait_for_requests(beacon_server, 5, STARTUP_WAIT_SECONDS)[:5]

    assert [payload["event"] for payload in payloads] == ["startup"] + ["heartbeat"] * 4
    gaps = [b["timestamp"] - a["timestamp"] for a, b in itertools.pairwise(payloads)]
    assert min(gaps) >= 45
    assert max(gaps) < 1000


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE"])
def test_module_disabled_sends_nothing(beacon_server: HTTPServer, start_beacon, value: str):
    process = start_beacon(
        {
            "BEACON_ENDPOINT": endpoint(beacon_server),
            "BEACON_DISABLED": value,
            "BEACON_VERBOSE": "true",
            "BEACON_INTERVAL": "50",
        }
    )
    time.sleep(QUIET_WAIT_SECONDS)
    stdout, _ = process.stop()

    assert beacon_server.log == []
    assert stdout == "ChittyBeacon: Disabled by BEACON_DISABLED\n"


def test_module_verbose_prints_events(beacon_server: HTTPServer, start_beacon):
    process = start_beacon(
        {
            "BEACON_ENDPOINT": endpoint(beacon_server),
            "BEACON_INTERVAL": "50",
            "BEACON_VERBOSE": "true",
        }
    )
    wait_for_requests(beacon_server, 2, STARTUP_WAIT_SECONDS)
    stdout, stderr = process.stop()

    lines = stdout.splitlines()
    assert lines[:2] == [
        "ChittyBeacon: Sending startup event",
        "ChittyBeacon: Sending heartbeat event",
    ]
    assert set(lines) == set(lines[:2])
    assert stderr == ""


def test_module_quiet_without_verbose(beacon_server: HTTPServer, start_beacon):
    process = start_beacon({"BEACON_ENDPOINT": endpoint(beacon_server), "BEACON_INTERVAL": "50"})
    wait_for_requests(beacon_server, 2, STARTUP_WAIT_SECONDS)
    stdout, stderr = process.stop()

    assert len(beacon_server.log) >= 2
    assert stdout == ""
    assert stderr == ""


def test_module_unreachable_endpoint_import_is_fast(start_beacon):
    script = """
        import time
        started = time.perf_counter()
        import chittybeacon
        print(f"import took {time.perf_counter() - started:.4f}", flush=True)
        time.sleep(60)
    """
    env = {
        "BEACON_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
        "BEACON_VERBOSE": "1",
        "WERKZEUG_RUN_MAIN": "true",
    }

    process = start_beacon(env, script)
    time.sleep(QUIET_WAIT_SECONDS)
    stdout, stderr = process.stop()

    first_line = stdout.splitlines()[0]
    assert first_line.startswith("import took ")
    assert float(first_line.removeprefix("import took ")) < 0.05
    assert "ChittyBeacon: Sending startup event" in stdout
    assert "ChittyBeacon: Failed to send startup event to http://127.0.0.1:" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("variable", "value", "warning"),
    [
        (
            "BEACON_INTERVAL",
            "soon",
            "ChittyBeacon: Invalid BEACON_INTERVAL 'soon': expected a positive whole number "
            "of milliseconds; using 300000",
        ),
        (
            "BEACON_INTERVAL",
            "-5",
            "ChittyBeacon: Invalid BEACON_INTERVAL '-5': expected a positive whole number "
            "of milliseconds; using 300000",
        ),
    ],
)
def test_module_invalid_interval_falls_back(
    beacon_server: HTTPServer, start_beacon, variable: str, value: str, warning: str
):
    process = start_beacon(
        {
            "BEACON_ENDPOINT": endpoint(beacon_server),
            "BEACON_VERBOSE": "true",
            "WERKZEUG_RUN_MAIN": "true",
            variable: value,
        }
    )
    payloads = wait_for_requests(beacon_server, 1, STARTUP_WAIT_SECONDS)
    time.sleep(0.5)
    _, stderr = process.stop()

    assert stderr.splitlines() == [warning]
    assert [payload["event"] for payload in payloads] == ["startup"]


def test_module_invalid_endpoint_falls_back(start_beacon):
    script = """
        import time
        import chittybeacon
        print(chittybeacon.DEFAULT_ENDPOINT, flush=True)
        time.sleep(60)
    """
    env = {"BEACON_ENDPOINT": "ftp://files.example", "BEACON_VERBOSE": "true", "BEACON_DISABLED": "1"}

    process = start_beacon(env, script)
    time.sleep(0.5)
    stdout, stderr = process.stop()

    assert stderr.splitlines() == [
        "ChittyBeacon: Invalid BEACON_ENDPOINT 'ftp://files.example': expected an http:// "
        "or https:// URL; using https://beacon.cloudeto.com"
    ]
    assert stdout.splitlines()[-1] == "https://beacon.cloudeto.com"


def test_module_import_never_raises(start_beacon):
    script = """
        import threading, time

        def fail_to_start(self):
            raise RuntimeError("can't start new thread")

        threading.Thread.start = fail_to_start
        import chittybeacon
        print("imported", flush=True)
        time.sleep(60)
    """

    process = start_beacon({"BEACON_VERBOSE": "true"}, script)
    time.sleep(0.5)
    stdout, stderr = process.stop()

    assert stdout == "imported\n"
    assert stderr == "ChittyBeacon: Not started: can't start new thread\n"


def test_module_starts_once_under_two_names(beacon_server: HTTPServer, start_beacon, tmp_path):
    render_module(tmp_path / "shop")
    (tmp_path / "shop" / "__init__.py").write_text("", encoding="utf-8")
    script = """
        import importlib, sys, threading, time
        import chittybeacon
        import shop.chittybeacon
        importlib.reload(chittybeacon)
        del sys.modules["chittybeacon"]
        import chittybeacon
        assert chittybeacon is not shop.chittybeacon
        names = [thread.name for thread in threading.enumerate()]
        print(names.count("ChittyBeacon"), flush=True)
        time.sleep(60)
    """
    env = {"BEACON_ENDPOINT": endpoint(beacon_server), "WERKZEUG_RUN_MAIN": "true"}

    process = start_beacon(env, script)
    wait_for_requests(beacon_server, 1, STARTUP_WAIT_SECONDS)
    time.sleep(0.5)
    stdout, stderr = process.stop()

    assert stdout == "1\n"
    assert stderr == ""
    assert len(beacon_server.log) == 1


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["manage.py", "runserver"], {}),
        (["manage.py", "runserver", "0.0.0.0:8000"], {}),
        (["flask", "run", "--debug"], {}),
        (["flask", "--debug", "run"], {}),
        (["flask", "run", "--reload"], {}),
        (["flask", "run"], {"FLASK_DEBUG": "1"}),
    ],
)
def test_module_reloader_parent_does_not_start(
    beacon_server: HTTPServer, start_beacon, argv: list[str], env: dict[str, str]
):
    env = {**env, "BEACON_ENDPOINT": endpoint(beacon_server), "BEACON_VERBOSE": "true"}

    process = start_beacon(env, argv=argv)
    time.sleep(QUIET_WAIT_SECONDS)
    stdout, _ = process.stop()

    assert beacon_server.log == []
    assert stdout == "ChittyBeacon: Not started in the autoreloader's parent process\n"


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}),
        (["manage.py", "runserver", "--noreload"], {}),
        (["flask", "run", "--debug"], {"WERKZEUG_RUN_MAIN": "true"}),
        (["flask", "run", "--debug", "--no-reload"], {}),
        (["flask", "run"], {}),
        (["manage.py", "migrate"], {}),
    ],
)
def test_module_serving_process_starts(
    beacon_server: HTTPServer, start_beacon, argv: list[str], env: dict[str, str]
):
    start_beacon({**env, "BEACON_ENDPOINT": endpoint(beacon_server)}, argv=argv)
    payloads = wait_for_requests(beacon_server, 1, STARTUP_WAIT_SECONDS)

    assert [payload["event"] for payload in payloads] == ["startup"]


def test_module_werkzeug_reloader_reports_once(beacon_server: HTTPServer, start_beacon):
    script = """
        import chittybeacon
        from werkzeug.serving import run_simple

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b""]

        run_simple("127.0.0.1", 0, app, use_reloader=True, reloader_type="stat")
    """
    env = {"BEACON_ENDPOINT": endpoint(beacon_server), "BEACON_VERBOSE": "true"}

    process = start_beacon(env, script, argv=["serve.py"])
    wait_for_requests(beacon_server, 1, STARTUP_WAIT_SECONDS)
    time.sleep(QUIET_WAIT_SECONDS)
    stdout, _ = process.stop()

    assert len(beacon_server.log) == 1
    assert stdout.count("ChittyBeacon: Sending startup event") == 1
    assert stdout.count("ChittyBeacon: Stopped in the autoreloader's parent process") == 1


def make_throwaway_template(directory: Path) -> Path:
    """Build a template holding only the beacon package, with the filter the plugin exposes."""
    template = directory / "template-source"
    package = template / "template" / PACKAGE_DIR
    package.mkdir(parents=True)
    (package / "__init__.py.jinja").write_bytes(MODULE_TEMPLATE.read_bytes())
    (template / "template" / "README.md").write_text("rendered\n", encoding="utf-8")
    (template / "extensions").mkdir()
    (template / "extensions" / "beacon.py").write_text(
        textwrap.dedent(
            """
            from jinja2.ext import Extension

            from chitty_cicd.beacon.python_entry import beacon_package_path


            class BeaconFilters(Extension):
                def __init__(self, environment):
                    super().__init__(environment)
                    environment.filters["python_beacon_package"] = beacon_package_path
            """
        ),
        encoding="utf-8",
    )
    (template / "copier.yml").write_text(
        textwrap.dedent(
            """
            _subdirectory: template
            _envops:
              block_start_string: "[%"
              block_end_string: "%]"
              variable_start_string: "[["
              variable_end_string: "]]"
              comment_start_string: "[#"
              comment_end_string: "#]"
            _jinja_extensions:
              - copier_template_extensions.TemplateExtensionLoader
              - extensions/beacon.py:BeaconFilters
            project_name: {type: str, default: shop}
            project_type: {type: str, default: python}
            beacon_enabled: {type: bool, default: true}
            beacon_endpoint: {type: str, default: "https://beacon.cloudeto.com"}
            beacon_interval_ms: {type: int, default: 300000}
            beacon_entry: {type: str, default: ""}
            """
        ),
        encoding="utf-8",
    )
    return template


def copier_render(tmp_path: Path, **answers: object) -> Path:
    destination = tmp_path / "rendered"
    copier.run_copy(
        str(make_throwaway_template(tmp_path)),
        str(destination),
        data=answers,
        defaults=True,
        unsafe=True,
        quiet=True,
    )
    return destination


def rendered_files(destination: Path) -> list[str]:
    return sorted(p.relative_to(destination).as_posix() for p in destination.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("entry", "package_file"),
    [
        ("app.py", "chittybeacon/__init__.py"),
        ("shop/__init__.py", "shop/chittybeacon/__init__.py"),
        ("config/wsgi.py", "config/chittybeacon/__init__.py"),
        ("src/shop/main.py", "src/shop/chittybeacon/__init__.py"),
    ],
)
def test_template_renders_package_beside_entry(tmp_path: Path, entry: str, package_file: str):
    destination = copier_render(tmp_path, beacon_entry=entry)

    assert rendered_files(destination) == sorted(["README.md", package_file])
    expected = render_module(tmp_path / "expected", project_name="shop", beacon_entry=entry)
    rendered_text = (destination / package_file).read_text(encoding="utf-8")
    assert rendered_text == (expected / "__init__.py").read_text(encoding="utf-8")
    compile(rendered_text, package_file, "exec", dont_inherit=True)


@pytest.mark.parametrize(
    "answers",
    [
        {"beacon_entry": "app.py", "beacon_enabled": False},
        {"beacon_entry": "app.py", "project_type": "node"},
        {"beacon_entry": ""},
    ],
)
def test_template_skips_package_when_not_wired(tmp_path: Path, answers: dict):
    destination = copier_render(tmp_path, **answers)

    assert rendered_files(destination) == ["README.md"]
