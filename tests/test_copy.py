"""`copier copy` into empty and existing repositories: generated files, kept files, re-runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.validators import validation_errors

BEACON_OFF = {"beacon_enabled": False}
TYPES = {
    "node": {"project_type": "node", **BEACON_OFF},
    "python": {"project_type": "python", **BEACON_OFF},
    "rust": {"project_type": "rust"},
    "go": {"project_type": "go"},
}


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


def load_answers(root: Path) -> dict:
    return yaml.safe_load((root / ".copier-answers.yml").read_text())


@pytest.mark.parametrize("project_type", list(TYPES))
def test_copy_each_type_renders_ci_and_dependabot(render: Callable[..., Path], project_type: str) -> None:
    repo = render(TYPES[project_type])

    workflow = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())
    dependabot = yaml.safe_load((repo / ".github/dependabot.yml").read_text())
    ecosystems = [update["package-ecosystem"] for update in dependabot["updates"]]
    assert workflow["permissions"] == {"contents": "read"}
    assert ecosystems == [{"node": "npm", "python": "pip", "rust": "cargo", "go": "gomod"}[project_type],
                          "github-actions"]
    assert load_answers(repo)["project_type"] == project_type


def test_copy_every_type_passes_schemas_and_zizmor(render: Callable[..., Path], tmp_path: Path) -> None:
    repos = [render(data, dst=tmp_path / name) for name, data in TYPES.items()]

    errors = {repo.name: validation_errors(repo) for repo in repos}

    assert errors == {name: "" for name in TYPES}


def test_copy_pins_every_action_with_version_comment(render: Callable[..., Path]) -> None:
    repo = render(TYPES["python"])

    uses = [line.split("uses:", 1)[1].strip()
            for line in (repo / ".github/workflows/ci.yml").read_text().splitlines()
            if "uses:" in line]
    assert uses
    for ref in uses:
        _action, _, rest = ref.partition("@")
        sha, _, comment = rest.partition(" # ")
        assert len(sha) == 40, ref
        assert comment.startswith("v"), ref


def test_copy_checkout_does_not_persist_credentials(render: Callable[..., Path]) -> None:
    repo = render(TYPES["go"])

    steps = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())["jobs"]["build"]["steps"]
    checkout = [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]
    assert checkout[0]["with"]["persist-credentials"] is False


def test_copy_node_runs_only_defined_scripts(render: Callable[..., Path]) -> None:
    repo = render(TYPES["node"])

    text = (repo / ".github/workflows/ci.yml").read_text()
    assert "run: npm run --if-present lint" in text
    assert "run: npm run --if-present test" in text
    assert "run: npm run --if-present build" in text
    assert "cache: ${{ hashFiles('package-lock.json', 'npm-shrinkwrap.json') != '' && 'npm' || '' }}" in text
    assert "Enable Corepack" not in text


def test_copy_yarn_checks_scripts_and_enables_corepack(render: Callable[..., Path]) -> None:
    repo = render({**TYPES["node"], "package_manager": "yarn"})

    text = (repo / ".github/workflows/ci.yml").read_text()
    assert "Enable Corepack" in text
    assert "scripts?.lint ? 0 : 1" in text
    assert "yarn install --immutable" in text


def test_copy_python_uses_answered_version(render: Callable[..., Path]) -> None:
    repo = render({**TYPES["python"], "python_version": "3.12"})

    steps = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())["jobs"]["build"]["steps"]
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "3.12"


def test_copy_env_example_present_with_beacon(render: Callable[..., Path]) -> None:
    repo = render({"project_type": "python", "beacon_enabled": True, "beacon_entry": "",
                   "beacon_endpoint": "https://beacon.example.com", "beacon_interval_ms": 60000})

    assert (repo / ".env.example").read_text() == (
        "# ChittyBeacon monitoring (SOP-003); BEACON_INTERVAL is in milliseconds.\n"
        "BEACON_ENDPOINT=https://beacon.example.com\n"
        "BEACON_INTERVAL=60000\n"
        "BEACON_DISABLED=false\n"
        "BEACON_VERBOSE=false\n"
    )


def test_copy_env_example_absent_without_beacon(render: Callable[..., Path]) -> None:
    repo = render(TYPES["rust"])

    assert not (repo / ".env.example").exists()


def test_copy_env_example_merged_keeping_user_lines(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".env.example").write_text("DATABASE_URL=postgres://localhost/app\nBEACON_VERBOSE=true")

    render({"project_type": "python", "beacon_enabled": True, "beacon_entry": ""}, dst=repo)

    assert (repo / ".env.example").read_text() == (
        "DATABASE_URL=postgres://localhost/app\n"
        "BEACON_VERBOSE=true\n"
        "\n"
        "# ChittyBeacon monitoring (SOP-003); BEACON_INTERVAL is in milliseconds.\n"
        "BEACON_ENDPOINT=https://beacon.cloudeto.com\n"
        "BEACON_INTERVAL=300000\n"
        "BEACON_DISABLED=false\n"
    )


def test_copy_codeowners_routes_dependabot_files(render: Callable[..., Path]) -> None:
    repo = render({**TYPES["rust"], "github_org": "ChittyCorp"})

    assert (repo / ".github/CODEOWNERS").read_text() == (
        "# Dependabot pull requests: review by the DevOps team (cicd-templates).\n"
        "/Cargo.toml @ChittyCorp/DevOps-team\n"
        "/Cargo.lock @ChittyCorp/DevOps-team\n"
        "/.github/workflows/ @ChittyCorp/DevOps-team\n"
    )


def test_copy_codeowners_merge_keeps_existing_owners(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github/CODEOWNERS").write_text("* @ChittyOS/owners\n/go.sum @alice\n")

    render(TYPES["go"], dst=repo)

    assert (repo / ".github/CODEOWNERS").read_text() == (
        "* @ChittyOS/owners\n"
        "/go.sum @alice\n"
        "\n"
        "# Dependabot pull requests: review by the DevOps team (cicd-templates).\n"
        "/go.mod @ChittyOS/owners @ChittyOS/DevOps-team\n"
        "/go.sum @alice @ChittyOS/DevOps-team\n"
        "/.github/workflows/ @ChittyOS/owners @ChittyOS/DevOps-team\n"
    )


def test_copy_keeps_existing_ci_workflow(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github/workflows").mkdir(parents=True)
    own_ci = "name: Our CI\non: push\njobs: {}\n"
    (repo / ".github/workflows/ci.yml").write_text(own_ci)
    (repo / "go.mod").write_text("module example.com/svc\n\ngo 1.23\n")

    render({}, dst=repo)

    assert (repo / ".github/workflows/ci.yml").read_text() == own_ci
    assert load_answers(repo)["kept_files"] == [".github/workflows/ci.yml"]
    assert (repo / ".github/dependabot.yml").exists()


def test_copy_keeps_yaml_twin_of_dependabot(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github/dependabot.yaml").write_text("version: 2\nupdates: []\n")

    render(TYPES["rust"], dst=repo)

    assert not (repo / ".github/dependabot.yml").exists()
    assert load_answers(repo)["kept_files"] == [".github/dependabot.yml"]


def test_copy_twice_changes_nothing(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").write_text(json.dumps({"name": "svc", "scripts": {"test": "node -e 1"}}))
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / ".github/workflows/ci.yml").write_text("name: Ours\n")
    render(BEACON_OFF, dst=repo)
    first = snapshot(repo)

    render({}, dst=repo)

    assert snapshot(repo) == first


def test_copy_answers_file_records_absolute_source(render: Callable[..., Path]) -> None:
    repo = render(TYPES["go"])

    text = (repo / ".copier-answers.yml").read_text()
    assert text.startswith("# Generated by Copier from cicd-templates. Do not edit this file by hand")
    assert Path(load_answers(repo)["_src_path"]).is_absolute()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"project_type": "java"}, "project_type 'java' is not node, python, rust or go"),
        ({**TYPES["node"], "deploy_target": "heroku"}, "deploy_target 'heroku' is not none, cloudflare or vercel"),
        ({**TYPES["node"], "package_manager": "bun"}, "package_manager 'bun' is not npm, pnpm or yarn"),
        ({**TYPES["node"], "node_version": "twenty"}, "node_version 'twenty' is not a version"),
        ({**TYPES["python"], "python_version": "2.7"}, "python_version '2.7' is not a version"),
        ({"project_type": "python", "beacon_endpoint": "ftp://beacon"}, "beacon_endpoint 'ftp://beacon' is not an http(s) URL"),
        ({"project_type": "python", "beacon_interval_ms": 10}, "beacon_interval_ms is 10; use at least 1000"),
        ({"project_type": "python", "beacon_entry": "../outside.py"}, "beacon_entry '../outside.py' must be a path inside the repository"),
        ({**TYPES["go"], "dependabot_reviewers": "devops team"}, "dependabot_reviewers 'devops team' is not a team slug"),
        ({**TYPES["go"], "github_org": "-bad-"}, "github_org '-bad-' is not a GitHub organization name"),
        ({**TYPES["go"], "default_branch": "has space"}, "default_branch 'has space' is not a branch name"),
        ({**TYPES["go"], "kept_files": [3]}, "kept_files entry 3 is not a path"),
        ({**TYPES["go"], "kept_files": [".copier-answers.yml"]}, "kept_files cannot list .copier-answers.yml"),
    ],
    ids=["project-type", "deploy-target", "package-manager", "node-version", "python-version",
         "beacon-endpoint", "beacon-interval", "beacon-entry", "reviewers", "org", "branch",
         "kept-number", "kept-answers-file"],
)
def test_copy_rejects_bad_answer(render: Callable[..., Path], tmp_path: Path, data: dict, message: str) -> None:
    with pytest.raises(ValueError, match="Validation error") as error:
        render(data)

    assert message in str(error.value)


def test_copy_ambiguous_type_explains_why(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Cargo.toml").write_text('[package]\nname = "x"\n')
    (repo / "go.mod").write_text("module a/b\n")

    with pytest.raises(ValueError) as error:
        render({}, dst=repo)

    assert "manifests of several project types at the root (rust: Cargo.toml; go: go.mod)" in str(error.value)
    assert sorted(path.name for path in repo.iterdir()) == ["Cargo.toml", "go.mod"]


def test_copy_bad_package_json_writes_nothing(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").write_text('{"name": "svc",\n  "main": "index.js",\n')
    (repo / "index.js").write_text("console.log('hi');\n")
    before = snapshot(repo)

    with pytest.raises(ValueError) as error:
        render({"beacon_entry": "index.js"}, dst=repo)

    assert "package.json:3: invalid JSON" in str(error.value)
    assert "(nothing was written)" in str(error.value)
    assert snapshot(repo) == before


def test_copy_missing_beacon_entry_writes_nothing(render: Callable[..., Path], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("flask\n")
    before = snapshot(repo)

    with pytest.raises(ValueError) as error:
        render({"beacon_entry": "nope.py"}, dst=repo)

    assert "nope.py" in str(error.value)
    assert snapshot(repo) == before


@pytest.mark.parametrize("deploy_target", ["cloudflare", "vercel"])
def test_copy_deploy_reads_listed_secrets(render: Callable[..., Path], deploy_target: str) -> None:
    from chitty_cicd.ecosystems import DEPLOY_SECRETS, TEMPLATE_UPDATE_SECRETS

    repo = render({**TYPES["node"], "deploy_target": deploy_target})

    deploy = (repo / ".github/workflows/deploy.yml").read_text()
    template_update = (repo / ".github/workflows/template-update.yml").read_text()
    for secret in DEPLOY_SECRETS[deploy_target]:
        assert f"secrets.{secret}" in deploy
    for secret in TEMPLATE_UPDATE_SECRETS:
        assert f"secrets.{secret}" in template_update


def test_copy_ci_job_name_is_required_check(render: Callable[..., Path]) -> None:
    from chitty_cicd.ecosystems import CI_CHECK_NAME

    repo = render(TYPES["go"])

    workflow = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())
    assert workflow["jobs"]["build"]["name"] == CI_CHECK_NAME
