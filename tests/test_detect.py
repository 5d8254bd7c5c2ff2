"""Detection rules on repositories shaped like real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chitty_cicd import detect

EXPRESS_CJS = {
    "package.json": json.dumps(
        {"name": "express-api", "main": "index.js", "scripts": {"start": "node index.js"},
         "dependencies": {"express": "^4.21.0"}}
    ),
    "package-lock.json": "{}",
    "index.js": "const express = require('express');\n",
}
ESM_APP = {
    "package.json": json.dumps(
        {"name": "esm-app", "type": "module", "main": "src/server.js",
         "dependencies": {"fastify": "^5.0.0"}, "engines": {"node": ">=20"}}
    ),
    "yarn.lock": "",
    "src/server.js": "import Fastify from 'fastify';\n",
}
NEXT_APP_ROUTER = {
    "package.json": json.dumps(
        {"name": "web", "scripts": {"dev": "next dev", "build": "next build"},
         "dependencies": {"next": "15.0.0", "react": "19.0.0"}}
    ),
    "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    "app/layout.tsx": "export default function RootLayout() {}\n",
    ".nvmrc": "v22.11.0\n",
}
WORKER_TOML = {
    "package.json": json.dumps({"name": "edge", "devDependencies": {"wrangler": "^4.0.0"},
                                "scripts": {"dev": "wrangler dev"}}),
    "package-lock.json": "{}",
    "wrangler.toml": 'name = "edge"\nmain = "src/index.ts"\n',
    "src/index.ts": "export default { fetch() { return new Response('ok'); } };\n",
}
WORKER_JSONC = {
    "package.json": json.dumps({"name": "edge2", "scripts": {"deploy": "wrangler deploy"},
                                "dependencies": {"hono": "^4.0.0"}}),
    "wrangler.jsonc": '{\n  // Worker\n  "name": "edge2",\n  "main": "src/index.js"\n}\n',
}
VERCEL_APP = {
    "package.json": json.dumps({"name": "site", "dependencies": {"next": "15.0.0"},
                                "packageManager": "pnpm@9.12.0"}),
    "vercel.json": "{}\n",
}
FLASK_FACTORY = {
    "requirements.txt": "flask==3.1.0\n",
    "app/__init__.py": "from flask import Flask\n\ndef create_app():\n    return Flask(__name__)\n",
    ".python-version": "3.12\n",
}
DJANGO_SPLIT_SETTINGS = {
    "requirements.txt": "Django==5.1\n",
    "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.local')\n",
    "config/settings/base.py": "DEBUG = False\n",
    "config/settings/local.py": "from .base import *\n",
}
PYPROJECT_LIBRARY = {
    "pyproject.toml": '[project]\nname = "tidy"\nrequires-python = ">=3.10"\n',
    "src/tidy/__init__.py": "",
}
RUST_CRATE_WITH_SCRIPTS = {
    "Cargo.toml": '[package]\nname = "crabby"\nversion = "0.1.0"\nedition = "2021"\n',
    "src/main.rs": "fn main() {}\n",
    "scripts/release.py": "print('release')\n",
}
GO_MODULE = {
    "go.mod": "module github.com/ChittyOS/gopher\n\ngo 1.23\n",
    "cmd/server.go": "package main\n\nfunc main() {}\n",
}
PNPM_WORKSPACE = {
    "package.json": json.dumps({"name": "mono", "private": True,
                                "scripts": {"build": "pnpm -r build"}}),
    "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n",
    "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    "packages/ui/package.json": json.dumps({"name": "@mono/ui"}),
}
PYTHON_WITH_LINT_PACKAGE_JSON = {
    "pyproject.toml": '[project]\nname = "service"\n',
    "package.json": json.dumps({"private": True, "devDependencies": {"prettier": "^3.0.0"},
                                "scripts": {"format": "prettier --write ."}}),
}
NESTED_APPS = {
    "frontend/package.json": json.dumps({"name": "fe", "dependencies": {"react": "19.0.0"}}),
    "backend/pyproject.toml": '[project]\nname = "be"\n',
}
NODE_AND_PYTHON = {
    "package.json": json.dumps({"name": "both", "dependencies": {"express": "^4.0.0"}}),
    "requirements.txt": "flask\n",
}


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (EXPRESS_CJS, "node"),
        (ESM_APP, "node"),
        (NEXT_APP_ROUTER, "node"),
        (WORKER_TOML, "node"),
        (WORKER_JSONC, "node"),
        (FLASK_FACTORY, "python"),
        (DJANGO_SPLIT_SETTINGS, "python"),
        (PYPROJECT_LIBRARY, "python"),
        (RUST_CRATE_WITH_SCRIPTS, "rust"),
        (GO_MODULE, "go"),
        (PNPM_WORKSPACE, "node"),
        (PYTHON_WITH_LINT_PACKAGE_JSON, "python"),
    ],
    ids=["express-cjs", "esm-app", "next-app-router", "worker-toml", "worker-jsonc",
         "flask-factory", "django-split-settings", "pyproject-library", "rust-crate",
         "go-module", "pnpm-workspace", "python-lint-package-json"],
)
def test_project_type_real_layouts(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    detection = detect.detect_project_type(make_repo(tmp_path, files))

    assert detection.value == expected, detection.reason


def test_project_type_nested_apps_not_guessed(tmp_path: Path) -> None:
    detection = detect.detect_project_type(make_repo(tmp_path, NESTED_APPS))

    assert detection.value is None
    assert "backend/pyproject.toml" in detection.reason
    assert "frontend/package.json" in detection.reason


def test_project_type_two_real_manifests_not_guessed(tmp_path: Path) -> None:
    detection = detect.detect_project_type(make_repo(tmp_path, NODE_AND_PYTHON))

    assert detection.value is None
    assert "node: package.json" in detection.reason
    assert "python: requirements.txt" in detection.reason


def test_project_type_empty_directory(tmp_path: Path) -> None:
    detection = detect.detect_project_type(tmp_path)

    assert detection.value is None
    assert "Cargo.toml" in detection.reason


def test_tooling_package_json_with_app_script_counts() -> None:
    assert detect.is_tooling_package_json({"devDependencies": {"eslint": "9"}})
    assert not detect.is_tooling_package_json({"scripts": {"start": "node ."}})
    assert not detect.is_tooling_package_json({"dependencies": {"express": "4"}})
    assert not detect.is_tooling_package_json({"main": "index.js"})
    assert not detect.is_tooling_package_json({"workspaces": ["packages/*"]})


@pytest.mark.parametrize(
    ("files", "expected"),
    [(WORKER_TOML, "cloudflare"), (WORKER_JSONC, "cloudflare"), (VERCEL_APP, "vercel"),
     (EXPRESS_CJS, "none"), ({"vercel.json": "{}", "wrangler.toml": ""}, None)],
    ids=["wrangler-toml", "wrangler-jsonc", "vercel", "none", "both"],
)
def test_deploy_target_from_config(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    assert detect.detect_deploy_target(make_repo(tmp_path, files)).value == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (EXPRESS_CJS, "npm"),
        (ESM_APP, "yarn"),
        (NEXT_APP_ROUTER, "pnpm"),
        (VERCEL_APP, "pnpm"),
        (WORKER_JSONC, "npm"),
        ({"package.json": "{}", "package-lock.json": "{}", "yarn.lock": ""}, None),
        ({"package.json": '{"packageManager": "yarn@4.5.0"}', "package-lock.json": "{}"}, None),
        ({"package.json": '{"packageManager": "bun@1.1.0"}'}, None),
        ({"package.json": "{}", "bun.lockb": ""}, None),
    ],
    ids=["npm-lock", "yarn-lock", "pnpm-lock", "package-manager-field", "no-lockfile",
         "two-lockfiles", "field-disagrees", "bun-field", "bun-lockfile"],
)
def test_package_manager_from_lockfile(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    assert detect.detect_package_manager(make_repo(tmp_path, files)).value == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [(NEXT_APP_ROUTER, "22.11.0"), (ESM_APP, ">=20"), ({".node-version": "20\n"}, "20"),
     (EXPRESS_CJS, "lts/*")],
    ids=["nvmrc", "engines", "node-version-file", "none"],
)
def test_node_version_sources(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert detect.detect_node_version(make_repo(tmp_path, files)).value == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [(FLASK_FACTORY, "3.12"), (PYPROJECT_LIBRARY, "3.10"), (DJANGO_SPLIT_SETTINGS, "3.13")],
    ids=["python-version-file", "requires-python", "none"],
)
def test_python_version_sources(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert detect.detect_python_version(make_repo(tmp_path, files)).value == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [(EXPRESS_CJS, "express-api"), (PYPROJECT_LIBRARY, "tidy"),
     (RUST_CRATE_WITH_SCRIPTS, "crabby"), (GO_MODULE, "gopher")],
    ids=["package-json", "pyproject", "cargo", "go-mod"],
)
def test_project_name_from_manifest(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert detect.detect_project_name(make_repo(tmp_path, files)).value == expected


def test_github_org_from_origin_without_leaking_credentials(tmp_path: Path) -> None:
    make_repo(tmp_path, {".git/config": '[remote "origin"]\n\turl = '
                         "https://x-access-token:ghs_secret@github.com/ChittyCorp/api.git\n"})

    detection = detect.detect_github_org(tmp_path)

    assert detection.value == "ChittyCorp"
    assert "ghs_secret" not in detection.reason


def test_default_branch_keeps_slashes(tmp_path: Path) -> None:
    make_repo(tmp_path, {".git/HEAD": "ref: refs/heads/release/2026\n"})

    assert detect.detect_default_branch(tmp_path).value == "release/2026"
