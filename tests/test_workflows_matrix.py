"""Every combination of answers renders workflows that validate, pass zizmor and follow the conventions.

The module renders each combination once, then runs check-jsonschema and zizmor once over
all rendered repositories together; the tests read those shared results.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from chitty_cicd.managed import GENERATED_MARKER
from chitty_cicd.pins import ACTION_PINS
from tests.conftest import FIXTURES, REPO_ROOT
from tests.validators import _tool, check_schema, workflow_files

SAMPLE_FOR_TYPE = {"node": "sample_node", "python": "sample_python", "rust": "sample_rust", "go": "sample_go"}
DEPLOY_TARGETS = {
    "node": ["none", "cloudflare", "vercel"],
    "python": ["none"],
    "rust": ["none"],
    "go": ["none"],
}
BOOLEANS = ("security_scanning", "dependency_updates", "ci_metrics")
OPTIONAL_WORKFLOWS = {
    "security_scanning": "security.yml",
    "dependency_updates": "dependency-update.yml",
    "ci_metrics": "ci-metrics.yml",
}
BASE_ANSWERS = {
    "project_name": "sample-app",
    "github_org": "ChittyOS",
    "default_branch": "main",
    "beacon_enabled": False,
    "node_version": "22",
    "package_manager": "npm",
    "python_version": "3.12",
}
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
_PINNED = re.compile(
    r"(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+\.\d+\.\d+)"
)
_TEMPLATE_SNAPSHOT_SKIPS = shutil.ignore_patterns(
    ".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules", "tests", "bench"
)


@dataclass(frozen=True)
class Combination:
    project_type: str
    deploy_target: str
    package_manager: str
    flags: tuple[bool, bool, bool]

    @property
    def id(self) -> str:
        switched_off = [name for name, on in zip(BOOLEANS, self.flags, strict=True) if not on]
        parts = [self.project_type]
        if self.project_type == "node":
            parts += [self.package_manager, self.deploy_target]
        parts.append("without-" + "-".join(switched_off) if switched_off else "all")
        return "-".join(parts)

    def answers(self) -> dict[str, Any]:
        return {
            **BASE_ANSWERS,
            "project_type": self.project_type,
            "deploy_target": self.deploy_target,
            "package_manager": self.package_manager,
            **dict(zip(BOOLEANS, self.flags, strict=True)),
        }

    def expected_workflows(self) -> set[str]:
        expected = {"ci.yml", "template-update.yml"}
        if self.deploy_target != "none":
            expected.add("deploy.yml")
        for name, on in zip(BOOLEANS, self.flags, strict=True):
            if on:
                expected.add(OPTIONAL_WORKFLOWS[name])
        return expected


def _combinations() -> list[Combination]:
    combinations = [
        Combination(project_type, target, "npm", flags)
        for project_type, targets in DEPLOY_TARGETS.items()
        for target in targets
        for flags in itertools.product([True, False], repeat=len(BOOLEANS))
    ]
    # pnpm and yarn change the Node steps, not which files exist: each deploy target once.
    combinations += [
        Combination("node", target, manager, (True, True, True))
        for manager in ("pnpm", "yarn")
        for target in DEPLOY_TARGETS["node"]
    ]
    return combinations


COMBINATIONS = _combinations()


def _render_one(template: str, destination: str, sample: str, answers: dict[str, Any]) -> None:
    import copier

    warnings.simplefilter("ignore")
    shutil.copytree(FIXTURES / sample, destination)
    # The post-render steps merge files that no workflow depends on.
    copier.run_copy(
        template, destination, data=answers, defaults=True, unsafe=True, quiet=True, skip_tasks=True
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Render every combination from a plain copy of the working tree, two at a time.

    A plain directory, unlike the git working tree, spares Copier a clone per render.
    """
    template = tmp_path_factory.mktemp("template") / "cicd-templates"
    shutil.copytree(REPO_ROOT, template, ignore=_TEMPLATE_SNAPSHOT_SKIPS)
    root = tmp_path_factory.mktemp("matrix")
    repos = {combination.id: root / combination.id for combination in COMBINATIONS}

    with ProcessPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = [
            pool.submit(
                _render_one,
                str(template),
                str(repos[combination.id]),
                SAMPLE_FOR_TYPE[combination.project_type],
                combination.answers(),
            )
            for combination in COMBINATIONS
        ]
        for future in futures:
            future.result()
    return repos


@pytest.fixture(scope="module")
def schema_output(rendered: dict[str, Path]) -> str:
    """Run check-jsonschema once over every rendered workflow; return its output on failure."""
    files = [path for repo in rendered.values() for path in workflow_files(repo)]
    return check_schema("vendor.github-workflows", files)


@pytest.fixture(scope="module")
def dependabot_schema_output(rendered: dict[str, Path]) -> str:
    return check_schema("vendor.dependabot", [repo / ".github/dependabot.yml" for repo in rendered.values()])


@pytest.fixture(scope="module")
def zizmor_findings(rendered: dict[str, Path]) -> dict[str, list[str]]:
    """Run zizmor once over every rendered repository; return its findings per combination."""
    result = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-progress",
            "--persona",
            "regular",
            "--format",
            "json-v1",
            *map(str, rendered.values()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # zizmor exits 0 without findings and 10 to 14 (by highest severity) with some.
    if result.returncode != 0 and not 10 <= result.returncode <= 14:
        pytest.fail(f"zizmor failed with exit code {result.returncode}:\n{result.stderr}")

    matrix_root = next(iter(rendered.values())).parent
    findings: dict[str, list[str]] = {combination_id: [] for combination_id in rendered}
    for finding in json.loads(result.stdout or "[]"):
        primary = next(
            location for location in finding["locations"] if location["symbolic"]["kind"] == "Primary"
        )
        path = Path(primary["symbolic"]["key"]["Local"]["verbatim_path"]).resolve()
        row = primary["concrete"]["location"]["start_point"]["row"] + 1
        combination_id = path.relative_to(matrix_root).parts[0]
        findings[combination_id].append(f"{finding['ident']}: {path.name}:{row}")
    return findings


def _workflows(repo: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in workflow_files(repo):
        yield path, yaml.safe_load(path.read_text(encoding="utf-8"))


def _steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def _header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in itertools.takewhile(lambda line: line.startswith("#"), lines))


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_matrix_renders_expected_workflows(rendered: dict[str, Path], combination: Combination) -> None:
    repo = rendered[combination.id]

    present = {path.name for path in workflow_files(repo)}

    assert present == combination.expected_workflows()


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_matrix_workflows_pass_zizmor(
    zizmor_findings: dict[str, list[str]], combination: Combination
) -> None:
    assert zizmor_findings[combination.id] == []


def test_matrix_workflows_pass_schema(schema_output: str) -> None:
    assert schema_output == ""


def test_matrix_dependabot_passes_schema(dependabot_schema_output: str) -> None:
    assert dependabot_schema_output == ""


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_matrix_headers_name_marker_and_needs(rendered: dict[str, Path], combination: Combination) -> None:
    for path in workflow_files(rendered[combination.id]):
        header = _header(path)

        assert GENERATED_MARKER in header, path.name
        assert re.search(r"\bNeeds\b", header), path.name


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_matrix_actions_pinned_from_table(rendered: dict[str, Path], combination: Combination) -> None:
    for path in workflow_files(rendered[combination.id]):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _USES.match(line)
            if match is None or match.group(1).startswith("$/"):
                continue
            pinned = _PINNED.fullmatch(match.group(1) + match.group(2))
            assert pinned is not None, f"{path.name}: {line.strip()}"
            repository = "/".join(pinned["action"].split("/")[:2])
            pin = ACTION_PINS[repository]
            assert (pinned["sha"], pinned["version"]) == (pin.sha, pin.version), line


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_matrix_dependabot_covers_actions(rendered: dict[str, Path], combination: Combination) -> None:
    dependabot = yaml.safe_load((rendered[combination.id] / ".github/dependabot.yml").read_text())

    directories = {
        update["directory"]
        for update in dependabot["updates"]
        if update["package-ecosystem"] == "github-actions"
    }

    assert "/" in directories


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_matrix_permissions_read_at_top(rendered: dict[str, Path], combination: Combination) -> None:
    for path, workflow in _workflows(rendered[combination.id]):
        assert workflow["permissions"] in ({}, {"contents": "read"}), path.name


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_matrix_steps_follow_conventions(rendered: dict[str, Path], combination: Combination) -> None:
    for path, workflow in _workflows(rendered[combination.id]):
        for job_id, step in _steps(workflow):
            where = f"{path.name} {job_id} {step.get('name') or step}"
            assert step.get("name", "")[:1].isupper(), where
            assert "${{" not in step.get("run", ""), where
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, where


@pytest.mark.parametrize(
    "combination",
    [combination for combination in COMBINATIONS if combination.deploy_target != "none"],
    ids=lambda combination: combination.id,
)
def test_deploy_calls_reusable_ci(rendered: dict[str, Path], combination: Combination) -> None:
    repo = rendered[combination.id]
    deploy = yaml.safe_load((repo / ".github/workflows/deploy.yml").read_text())
    ci = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())

    called = deploy["jobs"]["ci"]["uses"]
    ci_triggers = ci[True]

    assert called == "$/.github/workflows/ci.yml"
    assert deploy["jobs"]["deploy"]["needs"] == "ci"
    assert "workflow_call" in ci_triggers


def test_deploy_with_kept_ci_names_workflow_call(render, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "sample_worker", repo)
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / ".github/workflows/ci.yml").write_text("name: Our own CI\non: push\njobs: {}\n")

    render({**BASE_ANSWERS, "project_type": "node", "deploy_target": "cloudflare"}, dst=repo)

    header = _header(repo / ".github/workflows/deploy.yml")
    assert (repo / ".github/workflows/ci.yml").read_text().startswith("name: Our own CI")
    assert "Your own .github/workflows/ci.yml runs first, so it needs a `workflow_call:` trigger." in header
