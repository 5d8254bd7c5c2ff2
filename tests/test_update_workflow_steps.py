"""The shell steps of the generated template-update workflow, run locally against the test releases.

Each step's `run:` script runs with bash as GitHub runs it (`bash -e`), with RUNNER_TEMP and
GITHUB_OUTPUT set. The template is a local repository named by a `git+file://` URL, so no
network is used. `python -m pip install` is stubbed out: the update step imports the
update tool from the release it cloned, which is what that install would provide.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from tests.update_releases import (
    Releases,
    commit_all,
    generate_repository,
    read,
    releases_fixture,  # noqa: F401 (pytest finds the `releases` fixture through it)
)

WORKFLOW = ".github/workflows/template-update.yml"
DEPENDABOT = ".github/dependabot.yml"
PYTHON_STUB = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  exit 0
fi
exec {python} "$@"
"""


class Runner:
    """A runner of one repository's workflow steps, with its own RUNNER_TEMP and GITHUB_OUTPUT files."""

    def __init__(self, repo: Path, scratch: Path):
        self.repo = repo
        self.temp = scratch / "runner-temp"
        self.temp.mkdir(parents=True)
        self.bin = scratch / "bin"
        self.bin.mkdir()
        stub = self.bin / "python"
        stub.write_text(PYTHON_STUB.format(python=sys.executable), encoding="utf-8")
        stub.chmod(0o755)
        workflow = yaml.safe_load(read(repo, WORKFLOW))
        self.steps = {step["name"]: step for step in workflow["jobs"]["update"]["steps"]}

    def run(
        self, name: str, env: Mapping[str, str] | None = None
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        """Run one step's script; return the process and the outputs it wrote."""
        output = self.temp / f"output-{len(list(self.temp.glob('output-*')))}"
        output.touch()
        script = self.temp / "step.sh"
        script.write_text(self.steps[name]["run"], encoding="utf-8")
        full_env = {
            **os.environ,
            "PATH": os.pathsep.join([str(self.bin), str(Path(sys.executable).parent), os.environ["PATH"]]),
            "PYTHONPATH": str(self.temp / "cicd-templates"),
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(output),
            **(env or {}),
        }
        process = subprocess.run(
            ["bash", "-e", str(script)], cwd=self.repo, env=full_env,
            capture_output=True, text=True, check=False,
        )
        lines = output.read_text(encoding="utf-8").splitlines()
        return process, dict(line.split("=", 1) for line in lines if "=" in line)


def check_and_install(runner: Runner) -> dict[str, str]:
    """Run the check step and the install step; return the check step's outputs."""
    check, outputs = runner.run("Check for a newer template release")
    assert check.returncode == 0, check.stderr
    install, _ = runner.run(
        "Install the new release's update tool",
        {"TEMPLATE_SRC": outputs["src"], "LATEST": outputs["latest"]},
    )
    assert install.returncode == 0, install.stderr
    return outputs


@pytest.fixture
def url_repo(releases: Releases, tmp_path: Path) -> Path:
    """A Go repository generated at v1.0.0 from the releases named by a git+file:// URL."""
    return generate_repository(
        releases, tmp_path / "repo", "go", src=f"git+file://{releases.path}"
    )


def test_token_step_without_secrets_fails(url_repo: Path, tmp_path: Path) -> None:
    runner = Runner(url_repo, tmp_path)

    process, outputs = runner.run(
        "Check for the update token", {"APP_CLIENT_ID": "", "APP_PRIVATE_KEY": "", "UPDATE_TOKEN": ""}
    )

    assert process.returncode == 1
    assert process.stdout.startswith("::error title=Template update token missing::")
    assert "save it as the Actions secret TEMPLATE_UPDATE_TOKEN" in process.stdout
    assert outputs == {}


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({"APP_CLIENT_ID": "Iv1.abc", "APP_PRIVATE_KEY": "key", "UPDATE_TOKEN": ""}, "app"),
        ({"APP_CLIENT_ID": "", "APP_PRIVATE_KEY": "", "UPDATE_TOKEN": "github_pat_x"}, "token"),
    ],
)
def test_token_step_names_credential_kind(
    url_repo: Path, tmp_path: Path, env: dict[str, str], kind: str
) -> None:
    runner = Runner(url_repo, tmp_path)

    process, outputs = runner.run("Check for the update token", env)

    assert process.returncode == 0
    assert outputs == {"kind": kind}


def test_steps_update_and_write_pull_request_body(
    releases: Releases, url_repo: Path, tmp_path: Path
) -> None:
    runner = Runner(url_repo, tmp_path)

    checked = check_and_install(runner)
    process, outputs = runner.run("Update the templates")

    assert checked == {"src": f"git+file://{releases.path}", "available": "true", "latest": "3.0.0"}
    assert process.returncode == 0, process.stderr
    assert outputs == {"version": "v3.0.0"}
    body = (runner.temp / "pull-request.md").read_text(encoding="utf-8")
    assert body.startswith("Updates the CI/CD templates from v1.0.0 to v3.0.0 (template: `git+file://")
    assert "### [3.0.0] - 2026-03-02" in body
    assert "### [2.0.0] - 2026-02-02" in body
    assert "- `.github/workflows/build.yml`" in body


def test_steps_fail_on_conflict_naming_file(url_repo: Path, tmp_path: Path) -> None:
    text = read(url_repo, DEPENDABOT).replace("open-pull-requests-limit: 10", "open-pull-requests-limit: 3")
    (url_repo / DEPENDABOT).write_text(text, encoding="utf-8")
    commit_all(url_repo, "Lower the Dependabot limit")
    runner = Runner(url_repo, tmp_path)

    check_and_install(runner)
    process, outputs = runner.run("Update the templates")

    assert process.returncode == 1
    assert f"conflicts with local edits in {DEPENDABOT}." in process.stderr
    assert outputs == {}


def test_check_step_rejects_local_src_path(tmp_path: Path, url_repo: Path) -> None:
    answers = read(url_repo, ".copier-answers.yml").replace("git+file://", "")
    (url_repo / ".copier-answers.yml").write_text(answers, encoding="utf-8")
    runner = Runner(url_repo, tmp_path)

    process, outputs = runner.run("Check for a newer template release")

    assert process.returncode == 1
    assert process.stdout.startswith("::error file=.copier-answers.yml,title=Template not reachable::")
    assert outputs == {}
