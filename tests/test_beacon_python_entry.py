"""Python entry point detection and the chittybeacon import, on fixture repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jinja2
import pytest

from chitty_cicd.beacon.python_entry import (
    beacon_entry_problem,
    beacon_package_dir,
    beacon_package_path,
    detect_python_entry,
    plan_python_beacon,
)
from chitty_cicd.beacon.python_source import insert_import
from chitty_cicd.edits import Plan, apply_plan
from chitty_cicd.errors import ChittyError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODULE_TEMPLATE = (
    REPO
    / "template"
    / "[% if beacon_enabled and project_type == 'python' and beacon_entry %][[ beacon_entry | python_beacon_package ]][% endif %]"
    / "__init__.py.jinja"
)
ABSOLUTE = "import chittybeacon  # noqa: F401"
RELATIVE = "from . import chittybeacon  # noqa: F401"
# Test suites construct apps too; the copies get one each, so detection must skip them.
# They are written at run time because pytest would collect them inside tests/fixtures.
TEST_FILES = {
    "tests/test_app.py": "from flask import Flask\n\n\ndef test_blank():\n    Flask('blank')\n",
    "tests/conftest.py": "from fastapi import FastAPI\n\ntest_app = FastAPI()\n",
}
# Just enough of each framework for the fixture apps to import without it installed.
STUBS = {
    "flask/__init__.py": """
        class Flask:
            def __init__(self, *args, **kwargs):
                self.config = {}
                self.instance_path = "instance"

            def route(self, *args, **kwargs):
                return lambda function: function

            def register_blueprint(self, *args, **kwargs):
                pass

        class Blueprint(Flask):
            pass

        def render_template(*args, **kwargs):
            return ""
    """,
    "fastapi/__init__.py": """
        class FastAPI:
            def __init__(self, *args, **kwargs):
                pass

            def include_router(self, *args, **kwargs):
                pass

        class APIRouter:
            def get(self, *args, **kwargs):
                return lambda function: function
    """,
    "django/__init__.py": "",
    "django/core/__init__.py": "",
    "django/core/wsgi.py": "def get_wsgi_application():\n    return object()\n",
    "django/core/asgi.py": "def get_asgi_application():\n    return object()\n",
}


def python_answers(**overrides: object) -> dict:
    answers = {
        "project_name": "shop",
        "project_type": "python",
        "beacon_enabled": True,
        "beacon_endpoint": "https://beacon.cloudeto.com",
        "beacon_interval_ms": 300000,
        "beacon_entry": "",
    }
    answers.update(overrides)
    return answers


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, symlinks=True)
    for relpath, text in TEST_FILES.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text, encoding="utf-8")
    return root


def render_package(root: Path, entry: str) -> None:
    """Put the rendered package where Copier renders it for this beacon_entry."""
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
    template = environment.from_string(MODULE_TEMPLATE.read_text(encoding="utf-8"))
    package = root / beacon_package_path(entry)
    package.mkdir(parents=True, exist_ok=True)
    text = template.render(python_answers(beacon_entry=entry))
    (package / "__init__.py").write_text(text, encoding="utf-8")


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def run_step(root: Path, entry: str) -> Plan:
    plan = Plan()
    plan_python_beacon(root, python_answers(beacon_entry=entry), plan)
    apply_plan(root, plan)
    return plan


def import_app(root: Path, base: str, module: str, tmp_path: Path) -> list[str]:
    """Import module as its server would and return the chittybeacon modules it loaded."""
    stubs = tmp_path / "stubs"
    for relpath, text in STUBS.items():
        (stubs / relpath).parent.mkdir(parents=True, exist_ok=True)
        (stubs / relpath).write_text(textwrap.dedent(text), encoding="utf-8")
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(sorted(name for name in sys.modules if name.endswith('chittybeacon')))\n"
    )
    env = {**os.environ, "BEACON_DISABLED": "true", "PYTHONPATH": str(stubs)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root / base,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stderr == ""
    return result.stdout.strip().strip("[]").replace("'", "").split(", ")


@pytest.mark.parametrize(
    ("fixture", "entry", "reason"),
    [
        ("py_flask_app", "app.py", "app.py creates the Flask app"),
        ("py_flask_factory_flaskenv", "flaskr/__init__.py", "FLASK_APP in .flaskenv is flaskr"),
        (
            "py_flask_factory_procfile",
            "src/shop/__init__.py",
            "the Procfile web process serves shop:create_app()",
        ),
        (
            "py_django_split",
            "config/wsgi.py",
            "manage.py uses settings config.settings.local, "
            "whose WSGI_APPLICATION is config.wsgi.application",
        ),
        ("py_fastapi", "backend/app/main.py", "backend/app/main.py creates the FastAPI app"),
        ("py_flask_script_header", "status.py", "status.py creates the Flask app"),
        ("py_flask_flat_dir", "backend/app.py", "backend/app.py creates the Flask app"),
    ],
)
def test_detect_python_entry_fixture(tmp_path: Path, fixture: str, entry: str, reason: str):
    detection = detect_python_entry(copy_fixture(fixture, tmp_path))

    assert detection.value == entry
    assert detection.reason == reason


def test_detect_python_entry_factory_function(tmp_path: Path):
    root = copy_fixture("py_flask_factory_flaskenv", tmp_path)
    (root / ".flaskenv").unlink()

    detection = detect_python_entry(root)

    assert detection.value == "flaskr/__init__.py"
    assert detection.reason == "flaskr/__init__.py creates the Flask app in create_app()"


def test_detect_python_entry_env_beats_flaskenv(tmp_path: Path):
    root = copy_fixture("py_flask_factory_flaskenv", tmp_path)
    (root / "flaskr" / "wsgi.py").write_text("from flaskr import create_app\n", encoding="utf-8")
    (root / ".env").write_text('export FLASK_APP="flaskr.wsgi"\n', encoding="utf-8")

    detection = detect_python_entry(root)

    assert detection.value == "flaskr/wsgi.py"
    assert detection.reason == "FLASK_APP in .env is flaskr.wsgi"


def test_detect_python_entry_django_asgi_setting(tmp_path: Path):
    root = copy_fixture("py_django_split", tmp_path)
    base = root / "config" / "settings" / "base.py"
    base.write_text(
        base.read_text(encoding="utf-8") + 'ASGI_APPLICATION = "config.asgi.application"\n',
        encoding="utf-8",
    )

    detection = detect_python_entry(root)

    assert detection.value == "config/asgi.py"


def test_detect_python_entry_django_procfile(tmp_path: Path):
    root = copy_fixture("py_django_split", tmp_path)
    (root / "Procfile").write_text(
        "release: python manage.py migrate\n"
        "web: gunicorn config.asgi:application -k uvicorn.workers.UvicornWorker\n",
        encoding="utf-8",
    )

    detection = detect_python_entry(root)

    assert detection.value == "config/asgi.py"
    assert detection.reason == "the Procfile web process serves config.asgi:application"


def test_detect_python_entry_django_default_wsgi(tmp_path: Path):
    root = copy_fixture("py_django_split", tmp_path)
    base = root / "config" / "settings" / "base.py"
    text = base.read_text(encoding="utf-8").replace('WSGI_APPLICATION = "config.wsgi.application"\n', "")
    base.write_text(text, encoding="utf-8")

    detection = detect_python_entry(root)

    assert detection.value == "config/wsgi.py"
    assert detection.reason == "config/wsgi.py serves the Django project of manage.py"


@pytest.mark.parametrize(
    ("command", "entry"),
    [
        ("newrelic-admin run-program gunicorn -c gunicorn.conf.py wsgi:app", "wsgi.py"),
        ("cd backend && gunicorn main:app --log-file -", "backend/main.py"),
        ("uvicorn --app-dir backend main:app --host 0.0.0.0 --port $PORT", "backend/main.py"),
        ("python -m gunicorn --chdir=backend main:app", "backend/main.py"),
        ("waitress-serve --port=$PORT --call shop:create_app", "shop/__init__.py"),
        ("fastapi run --workers 4 backend/main.py", "backend/main.py"),
    ],
)
def test_detect_python_entry_procfile_forms(tmp_path: Path, command: str, entry: str):
    for relpath in ("wsgi.py", "gunicorn.conf.py", "backend/main.py", "shop/__init__.py"):
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text("app = None\n", encoding="utf-8")
    (tmp_path / "Procfile").write_text(
        f"release: python manage.py migrate\nweb: {command}\n", encoding="utf-8"
    )

    detection = detect_python_entry(tmp_path)

    assert detection.value == entry


def test_detect_python_entry_ignores_env_outside(tmp_path: Path):
    root = copy_fixture("py_two_flask_apps", tmp_path)
    outside = tmp_path / "shared.env"
    outside.write_text("FLASK_APP=admin/app.py\n", encoding="utf-8")
    (root / ".env").symlink_to(outside)

    assert detect_python_entry(root).value is None


def test_detect_python_entry_two_apps_ambiguous(tmp_path: Path):
    detection = detect_python_entry(copy_fixture("py_two_flask_apps", tmp_path))

    assert detection.value is None
    assert detection.reason == (
        "found several possible entry points (admin/app.py, storefront/app.py); "
        "set beacon_entry to the module your server imports at start"
    )


def test_detect_python_entry_hints_disagree(tmp_path: Path):
    root = copy_fixture("py_two_flask_apps", tmp_path)
    (root / ".flaskenv").write_text("FLASK_APP=admin/app.py\n", encoding="utf-8")
    (root / "Procfile").write_text("web: gunicorn storefront.app:app\n", encoding="utf-8")

    detection = detect_python_entry(root)

    assert detection.value is None
    assert detection.reason == (
        "the server settings disagree (the Procfile web process serves storefront.app:app; "
        "FLASK_APP in .flaskenv is admin/app.py); "
        "set beacon_entry to the module your server imports at start"
    )


def test_detect_python_entry_nothing_found(tmp_path: Path):
    (tmp_path / "tool.py").write_text("print('no web app here')\n", encoding="utf-8")

    detection = detect_python_entry(tmp_path)

    assert detection.value is None
    assert detection.reason == (
        "found no Flask or FastAPI app and no Django wsgi.py or asgi.py; "
        "set beacon_entry to the module your server imports at start"
    )


def test_detect_python_entry_skips_virtualenv(tmp_path: Path):
    root = copy_fixture("py_flask_app", tmp_path)
    venv_app = root / "venv" / "lib" / "flask_demo.py"
    venv_app.parent.mkdir(parents=True)
    venv_app.write_text("from flask import Flask\napp = Flask('demo')\n", encoding="utf-8")
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")

    assert detect_python_entry(root).value == "app.py"


@pytest.mark.parametrize(
    ("entry", "directory", "package"),
    [
        ("app.py", "", "chittybeacon"),
        ("shop/__init__.py", "shop", "shop/chittybeacon"),
        ("src/shop/wsgi.py", "src/shop", "src/shop/chittybeacon"),
    ],
)
def test_beacon_package_path_beside_entry(entry: str, directory: str, package: str):
    assert beacon_package_dir(entry) == directory
    assert beacon_package_path(entry) == package


@pytest.mark.parametrize(
    "entry", ["", "/srv/app.py", "../app.py", "shop/../app.py", "shop\\app.py", "./app.py", "app.js"]
)
def test_beacon_entry_problem_rejects(entry: str):
    assert beacon_entry_problem(entry) != ""
    with pytest.raises(ChittyError):
        beacon_package_path(entry)


@pytest.mark.parametrize(
    ("fixture", "entry", "statement", "base", "module", "loaded"),
    [
        ("py_flask_app", "app.py", ABSOLUTE, "", "app", "chittybeacon"),
        (
            "py_flask_factory_flaskenv",
            "flaskr/__init__.py",
            RELATIVE,
            "",
            "flaskr",
            "flaskr.chittybeacon",
        ),
        (
            "py_django_split",
            "config/wsgi.py",
            RELATIVE,
            "",
            "config.wsgi",
            "config.chittybeacon",
        ),
        (
            "py_fastapi",
            "backend/app/main.py",
            RELATIVE,
            "backend",
            "app.main",
            "app.chittybeacon",
        ),
        ("py_flask_flat_dir", "backend/app.py", ABSOLUTE, "backend", "app", "chittybeacon"),
    ],
)
def test_plan_python_beacon_wires_fixture(
    tmp_path: Path, fixture: str, entry: str, statement: str, base: str, module: str, loaded: str
):
    root = copy_fixture(fixture, tmp_path)
    render_package(root, entry)
    original = (root / entry).read_text(encoding="utf-8")

    plan = run_step(root, entry)
    edited = (root / entry).read_text(encoding="utf-8")

    assert list(plan.writes) == [entry]
    assert plan.notes == []
    assert statement + "\n" in edited
    assert edited.replace(statement + "\n", "", 1) == original
    compiled = subprocess.run([sys.executable, "-m", "py_compile", str(root / entry)], check=False)
    assert compiled.returncode == 0
    assert import_app(root, base, module, tmp_path) == [loaded]


def test_plan_python_beacon_src_layout(tmp_path: Path):
    root = copy_fixture("py_flask_factory_procfile", tmp_path)
    entry = "src/shop/__init__.py"
    render_package(root, entry)

    run_step(root, entry)

    assert (root / entry).read_text(encoding="utf-8") == (
        '"""The shop web app."""\n'
        "\n"
        f"{RELATIVE}\n"
        "from flask import Flask\n"
        "\n"
        "from shop import views\n"
        "\n"
        "\n"
        "def create_app():\n"
        "    app = Flask(__name__)\n"
        "    app.register_blueprint(views.bp)\n"
        "    return app\n"
    )
    assert import_app(root, "src", "shop", tmp_path) == ["shop.chittybeacon"]


def test_plan_python_beacon_header_placement(tmp_path: Path):
    root = copy_fixture("py_flask_script_header", tmp_path)
    render_package(root, "status.py")

    run_step(root, "status.py")

    lines = (root / "status.py").read_text(encoding="utf-8").splitlines()
    assert lines[:12] == [
        "#!/usr/bin/env python3",
        "# -*- coding: utf-8 -*-",
        "# Copyright 2024 ChittyCorp. Licensed under the MIT license.",
        '"""Status page server.',
        "",
        "Run it with `python status.py`.",
        '"""',
        "from __future__ import annotations",
        "from __future__ import division",
        "",
        ABSOLUTE,
        "# Third-party",
    ]


def test_plan_python_beacon_second_run_identical(tmp_path: Path):
    root = copy_fixture("py_django_split", tmp_path)
    render_package(root, "config/wsgi.py")
    run_step(root, "config/wsgi.py")
    before = snapshot(root)

    plan = run_step(root, "config/wsgi.py")

    assert plan.writes == {}
    assert snapshot(root) == before


def test_plan_python_beacon_keeps_crlf(tmp_path: Path):
    source = '"""Status page."""\r\n\r\nfrom flask import Flask\r\n\r\napp = Flask(__name__)\r\n'
    (tmp_path / "app.py").write_bytes(source.encode("utf-8"))
    render_package(tmp_path, "app.py")

    run_step(tmp_path, "app.py")

    assert (tmp_path / "app.py").read_bytes() == (
        f'"""Status page."""\r\n\r\n{ABSOLUTE}\r\nfrom flask import Flask\r\n\r\napp = Flask(__name__)\r\n'
    ).encode()


def test_plan_python_beacon_already_imported(tmp_path: Path):
    root = copy_fixture("py_already_imported", tmp_path)
    render_package(root, "app.py")
    before = snapshot(root)

    plan = run_step(root, "app.py")

    assert plan.writes == {}
    assert plan.notes == []
    assert snapshot(root) == before


def test_plan_python_beacon_unset_entry_notes_detection(tmp_path: Path):
    root = copy_fixture("py_flask_app", tmp_path)
    before = snapshot(root)
    plan = Plan()

    plan_python_beacon(root, python_answers(beacon_entry=""), plan)

    assert plan.writes == {}
    assert plan.notes == [
        "ChittyBeacon not wired: beacon_entry is unset, and app.py creates the Flask app; "
        "to use it, run copier update --trust --defaults --data beacon_entry=app.py"
    ]
    assert snapshot(root) == before


def test_plan_python_beacon_unset_entry_nothing_detected(tmp_path: Path):
    root = copy_fixture("py_two_flask_apps", tmp_path)
    plan = Plan()

    plan_python_beacon(root, python_answers(), plan)

    assert plan.writes == {}
    assert plan.notes == [
        "ChittyBeacon not wired: found several possible entry points "
        "(admin/app.py, storefront/app.py); set beacon_entry to the module your server "
        "imports at start (copier update --trust --defaults --data beacon_entry=path/to/module.py)"
    ]


def test_plan_python_beacon_package_missing(tmp_path: Path):
    root = copy_fixture("py_flask_app", tmp_path)
    before = snapshot(root)
    plan = Plan()

    plan_python_beacon(root, python_answers(beacon_entry="app.py"), plan)

    assert plan.writes == {}
    assert plan.notes == [
        "ChittyBeacon not wired: chittybeacon/__init__.py is missing, so app.py was left "
        "as it is; run copier update to render it again"
    ]
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "answers",
    [
        {"project_type": "node", "beacon_entry": "app.py"},
        {"beacon_enabled": False, "beacon_entry": "app.py"},
    ],
)
def test_plan_python_beacon_not_requested(tmp_path: Path, answers: dict):
    root = copy_fixture("py_flask_app", tmp_path)
    render_package(root, "app.py")
    plan = Plan()

    plan_python_beacon(root, python_answers(**answers), plan)

    assert plan.writes == {}
    assert plan.notes == []


def test_plan_python_beacon_missing_entry_raises(tmp_path: Path):
    root = copy_fixture("py_flask_app", tmp_path)
    plan = Plan()

    with pytest.raises(ChittyError) as raised:
        plan_python_beacon(root, python_answers(beacon_entry="server.py"), plan)

    assert str(raised.value) == (
        "server.py: does not exist, but beacon_entry names it; set beacon_entry to the module "
        "your server imports at start (copier update --trust --defaults --data beacon_entry=path/to/module.py)"
    )
    assert plan.writes == {}


def test_plan_python_beacon_syntax_error_raises(tmp_path: Path):
    (tmp_path / "app.py").write_text("import os\n\ndef broken(:\n    pass\n", encoding="utf-8")
    render_package(tmp_path, "app.py")
    plan = Plan()

    with pytest.raises(ChittyError) as raised:
        plan_python_beacon(tmp_path, python_answers(beacon_entry="app.py"), plan)

    assert str(raised.value).startswith("app.py:3: is not valid Python 3.")
    assert plan.writes == {}


@pytest.mark.parametrize("kind", ["binary", "latin-1", "symlink out"])
def test_plan_python_beacon_unreadable_entry_raises(tmp_path: Path, kind: str):
    root = tmp_path / "repo"
    root.mkdir()
    render_package(root, "app.py")
    if kind == "binary":
        (root / "app.py").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    elif kind == "latin-1":
        (root / "app.py").write_bytes("# café\nfrom flask import Flask\n".encode("latin-1"))
    else:
        outside = tmp_path / "outside.py"
        outside.write_text("from flask import Flask\napp = Flask(__name__)\n", encoding="utf-8")
        (root / "app.py").symlink_to(outside)
    before = snapshot(tmp_path)
    plan = Plan()

    with pytest.raises(ChittyError) as raised:
        plan_python_beacon(root, python_answers(beacon_entry="app.py"), plan)

    assert str(raised.value).startswith("app.py: ")
    assert plan.writes == {}
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("", "import x\n"),
        ("# only a comment", "# only a comment\nimport x\n"),
        ('"""Doc."""\n', '"""Doc."""\nimport x\n'),
        ("import os\n", "import x\nimport os\n"),
        ("@decorate\ndef run():\n    pass\n", "import x\n@decorate\ndef run():\n    pass\n"),
        (
            "# header\n\n@decorate\nclass App:\n    pass\n",
            "# header\n\nimport x\n@decorate\nclass App:\n    pass\n",
        ),
        ("\ufeffimport os\n", "\ufeffimport x\nimport os\n"),
        ('"""Doc."""; import os\n', '"""Doc."""; import os\nimport x\n'),
        (
            "from __future__ import annotations\r\nimport os",
            "from __future__ import annotations\r\nimport x\r\nimport os",
        ),
        ("import os\rimport sys\r", "import x\rimport os\rimport sys\r"),
    ],
)
def test_insert_import_position(source: str, expected: str):
    assert insert_import(source, "import x", "x", "app.py") == expected


@pytest.mark.parametrize(
    "source",
    [
        "import chittybeacon\n",
        "import chittybeacon as beacon\n",
        "from . import chittybeacon\n",
        "from .chittybeacon import DEFAULT_APP\n",
        "from shop import chittybeacon\n",
        "try:\n    import chittybeacon\nexcept ImportError:\n    pass\n",
    ],
)
def test_insert_import_already_imported(source: str):
    assert insert_import(source, ABSOLUTE, "chittybeacon", "app.py") is None
