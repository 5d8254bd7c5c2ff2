"""The generated template-update workflow, the release notes it lists, and the migration helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from chitty_cicd import migrations
from chitty_cicd.managed import GENERATED_MARKER
from chitty_cicd.pins import action_ref
from chitty_cicd.release_notes import changelog_between, summary_markdown
from chitty_cicd.update import UpdateResult
from tests.conftest import REPO_ROOT
from tests.validators import validation_errors

WORKFLOW = ".github/workflows/template-update.yml"
SECRETS = ("TEMPLATE_UPDATE_TOKEN", "TEMPLATE_UPDATE_APP_PRIVATE_KEY", "TEMPLATE_UPDATE_APP_CLIENT_ID")


@pytest.fixture(scope="module")
def workflow_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import copier

    repo = tmp_path_factory.mktemp("workflow") / "repo"
    repo.mkdir()
    (repo / "go.mod").write_text("module example.com/demo\n\ngo 1.22\n", encoding="utf-8")
    copier.run_copy(str(REPO_ROOT), repo, data={"project_type": "go"}, defaults=True,
                    unsafe=True, quiet=True, vcs_ref="HEAD")
    return repo


@pytest.fixture(scope="module")
def workflow(workflow_repo: Path) -> dict:
    return yaml.safe_load((workflow_repo / WORKFLOW).read_text(encoding="utf-8"))


def test_workflow_passes_schema_and_zizmor(workflow_repo: Path) -> None:
    assert validation_errors(workflow_repo) == ""


def test_workflow_absent_when_template_updates_off(render: Callable[..., Path]) -> None:
    repo = render({"project_type": "go", "template_updates": False})

    assert not (repo / WORKFLOW).exists()
    assert (repo / ".github/workflows/ci.yml").exists()


def test_workflow_header_names_marker_and_secrets(workflow_repo: Path) -> None:
    header = (workflow_repo / WORKFLOW).read_text(encoding="utf-8").split("\nname:", 1)[0]

    assert header.startswith(f"# {GENERATED_MARKER}.")
    for name in SECRETS:
        assert name in header


def test_workflow_runs_weekly_and_on_demand(workflow: dict) -> None:
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true

    assert triggers == {"schedule": [{"cron": "0 6 * * 1"}], "workflow_dispatch": None}
    assert workflow["permissions"] == {"contents": "read"}


def test_workflow_checks_token_first(workflow: dict) -> None:
    steps = workflow["jobs"]["update"]["steps"]

    assert steps[0]["name"] == "Check for the update token"
    assert "exit 1" in steps[0]["run"]
    assert "save it as the Actions secret TEMPLATE_UPDATE_TOKEN" in steps[0]["run"]


def test_workflow_pins_app_token_and_pull_request_actions(workflow: dict) -> None:
    uses = [step["uses"] for step in workflow["jobs"]["update"]["steps"] if "uses" in step]

    assert action_ref("actions/create-github-app-token").split(" #")[0] in uses
    assert action_ref("peter-evans/create-pull-request").split(" #")[0] in uses


def test_workflow_update_and_pull_request_steps(workflow: dict) -> None:
    steps = {step["name"]: step for step in workflow["jobs"]["update"]["steps"]}
    pull_request = steps["Open a pull request"]["with"]

    assert "copier check-update --output-format json" in steps["Check for a newer template release"]["run"]
    assert "python -m chitty_cicd.cli.update --summary" in steps["Update the templates"]["run"]
    assert pull_request["title"] == "chore: update CI/CD templates to ${{ steps.update.outputs.version }}"
    assert pull_request["body-path"] == "${{ runner.temp }}/pull-request.md"


CHANGELOG = """# Changelog

## [Unreleased]

## [1.2.0] - 2026-03-01
### Added
- C

## [1.1.0] - 2026-02-01
### Fixed
- B

## [1.0.0] - 2026-01-01
### Added
- A

[1.2.0]: https://example.com/compare/v1.1.0...v1.2.0
"""


def test_changelog_between_takes_newer_releases_only() -> None:
    text = changelog_between(CHANGELOG, "1.0.0", "1.2.0")

    assert text == "## [1.2.0] - 2026-03-01\n### Added\n- C\n\n## [1.1.0] - 2026-02-01\n### Fixed\n- B"


def test_changelog_between_same_version_is_empty() -> None:
    assert changelog_between(CHANGELOG, "1.2.0", "1.2.0") == ""


def test_repository_changelog_has_first_release() -> None:
    text = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")

    assert changelog_between(text, "0.0.0", "1.0.0").startswith("## [1.0.0]")


def test_summary_markdown_lists_notes_and_files() -> None:
    result = UpdateResult(
        path=Path("/repo"), template="https://example.com/cicd-templates.git",
        old_commit="v1.0.0", new_commit="v1.1.0", old_version="1.0.0", new_version="1.1.0",
        changed_files=[".github/workflows/ci.yml"], restored_files=[".github/dependabot.yml"],
        changelog="## [1.1.0] - 2026-02-01\n### Fixed\n- B",
    )

    assert summary_markdown(result) == (
        "Updates the CI/CD templates from v1.0.0 to v1.1.0 "
        "(template: `https://example.com/cicd-templates.git`).\n\n"
        "## What changed in the template\n\n"
        "### [1.1.0] - 2026-02-01\n#### Fixed\n- B\n\n"
        "## Files changed in this repository\n\n"
        "- `.github/workflows/ci.yml`\n\n"
        "Kept as this repository's own, as committed:\n\n"
        "- `.github/dependabot.yml`\n"
    )


def test_migrations_entry_in_copier_yml() -> None:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))

    [entry] = config["_migrations"]
    assert entry["command"][1] == "[[ _copier_conf.src_path ]]/chitty_cicd/migrations.py"


def test_migrations_tables_name_valid_versions() -> None:
    for rename in migrations.RENAMED_QUESTIONS + migrations.RENAMED_FILES:
        assert Version(rename.version) > Version("1.0.0"), rename
        assert rename.old != rename.new, rename


def test_rename_answer_keys_keeps_other_lines() -> None:
    text = "# comment\n_commit: v1.0.0\nnotice_owner: Platform\nproject_type: go\n"
    renames = [migrations.Rename("2.0.0", "notice_owner", "notice_team")]

    assert migrations.rename_answer_keys(text, renames) == (
        "# comment\n_commit: v1.0.0\nnotice_team: Platform\nproject_type: go\n"
    )


def test_rename_answer_keys_new_key_wins() -> None:
    text = "notice_owner: Old\nnotice_team: New\n"
    renames = [migrations.Rename("2.0.0", "notice_owner", "notice_team")]

    assert migrations.rename_answer_keys(text, renames) == text


def test_rename_kept_files_follows_rename() -> None:
    text = "kept_files:\n- .github/workflows/ci.yml\n- .github/dependabot.yml\nproject_type: go\n"
    renames = [migrations.Rename("2.0.0", ".github/workflows/ci.yml", ".github/workflows/build.yml")]

    assert migrations.rename_kept_files(text, renames) == (
        "kept_files:\n- .github/workflows/build.yml\n- .github/dependabot.yml\nproject_type: go\n"
    )


def test_rename_applies_only_inside_version_range() -> None:
    rename = migrations.Rename("2.0.0", "a", "b")

    assert rename.applies("1.0.0", "2.0.0")
    assert rename.applies("1.5.0", "3.0.0")
    assert not rename.applies("2.0.0", "3.0.0")
    assert not rename.applies("1.0.0", "1.9.0")


def test_workflow_installs_copier_versions_of_pyproject(workflow: dict) -> None:
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [dep for dep in project["dependencies"] if dep.startswith(("copier==", "copier-template-extensions=="))]
    steps = {step["name"]: step for step in workflow["jobs"]["update"]["steps"]}

    assert len(pins) == 2
    for pin in pins:
        assert f" {pin}" in steps["Install Copier"]["run"]
