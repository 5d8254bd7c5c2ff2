"""Wrangler itself accepts the Wrangler configuration that a copy merged the beacon settings into.

The test setup installs Wrangler 4 from npm once into a cache directory. `wrangler deploy
--dry-run` bundles the Worker and prints its bindings without contacting Cloudflare.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

# The major version that cloudflare/wrangler-action installs when a project has no wrangler.
WRANGLER_SPEC = "wrangler@4"
ANSWERS = {
    "project_name": "sample-worker",
    "github_org": "ChittyOS",
    "default_branch": "main",
    "project_type": "node",
    "deploy_target": "cloudflare",
    "package_manager": "npm",
    "node_version": "20",
    "beacon_enabled": True,
    "beacon_endpoint": "https://beacon.example.com",
}
ENDPOINT_BINDING = 'env.BEACON_ENDPOINT ("https://beacon.example.com")'


@pytest.fixture(scope="session")
def wrangler() -> Path:
    """Install Wrangler into ~/.cache/chitty-cicd-tests once, and return its executable."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm and node are needed to install Wrangler; neither is on PATH")
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chitty-cicd-tests" / "wrangler-4"
    )
    executable = cache / "node_modules" / ".bin" / "wrangler"
    if executable.exists():
        return executable

    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(cache),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            WRANGLER_SPEC,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"npm could not install {WRANGLER_SPEC}: {last_line}")
    return executable


def _dry_run(wrangler: Path, repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "WRANGLER_LOG_PATH": str(tmp_path / "wrangler-logs"),
        # No telemetry and no account: the dry run must not reach Cloudflare.
        "WRANGLER_SEND_METRICS": "false",
        "CI": "true",
    }
    return subprocess.run(
        [str(wrangler), "deploy", "--dry-run", "--outdir", str(tmp_path / "bundle"), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_wrangler_accepts_merged_toml(wrangler: Path, render: Callable[..., Path], tmp_path: Path) -> None:
    repo = render(ANSWERS, fixture="sample_worker")

    result = _dry_run(wrangler, repo, tmp_path, "--env", "")

    assert result.returncode == 0, result.stdout + result.stderr
    assert ENDPOINT_BINDING in result.stdout
    assert 'env.GREETING ("hello")' in result.stdout


def test_wrangler_accepts_merged_toml_environment(
    wrangler: Path, render: Callable[..., Path], tmp_path: Path
) -> None:
    repo = render(ANSWERS, fixture="sample_worker")

    result = _dry_run(wrangler, repo, tmp_path, "--env", "staging")

    assert result.returncode == 0, result.stdout + result.stderr
    assert ENDPOINT_BINDING in result.stdout
    assert 'env.GREETING ("hello from staging")' in result.stdout


def test_wrangler_accepts_merged_jsonc(wrangler: Path, render: Callable[..., Path], tmp_path: Path) -> None:
    repo = render({**ANSWERS, "project_name": "sample-worker-jsonc"}, fixture="sample_worker_jsonc")

    result = _dry_run(wrangler, repo, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert ENDPOINT_BINDING in result.stdout
    assert 'env.GREETING ("hello")' in result.stdout
