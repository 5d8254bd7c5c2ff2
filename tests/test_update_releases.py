"""`update_repository` across template releases v1.0.0 -> v2.0.0 -> v3.0.0, for each project type.

Each type's story runs once: generate at v1.0.0, update with no template change, edit a
workflow and CODEOWNERS, delete NOTICE.md, then update to v2.0.0 (which renames ci.yml and
a question) and to v3.0.0. The tests assert on what each step left behind.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from chitty_cicd.update import UpdateResult, update_repository
from tests.update_releases import (
    ANSWERS,
    Releases,
    commit_all,
    generate_repository,
    read,
    releases_fixture,  # noqa: F401 (pytest finds the `releases` fixture through it)
    status,
)

CI = ".github/workflows/ci.yml"
BUILD = ".github/workflows/build.yml"
DEPENDABOT = ".github/dependabot.yml"
CODEOWNERS = ".github/CODEOWNERS"
USER_STEP = "\n      - name: Print the runner's disk space\n        run: df -h\n"
USER_OWNER_RULE = "/docs/ @ChittyOS/docs-team\n"


@dataclass
class Story:
    """Files and results recorded at each step of one repository's updates."""

    repo: Path
    generated: dict[str, str] = field(default_factory=dict)
    status_after_noop: str = ""
    v2: UpdateResult | None = None
    v3: UpdateResult | None = None
    files_after_v2: dict[str, str | None] = field(default_factory=dict)
    files_after_v3: dict[str, str | None] = field(default_factory=dict)
    answers_after_v3: dict[str, Any] = field(default_factory=dict)
    task_runs: list[dict[str, Any]] = field(default_factory=list)


def _files(repo: Path, *relpaths: str) -> dict[str, str | None]:
    return {path: read(repo, path) if (repo / path).exists() else None for path in relpaths}


def _trace_lines(releases: Releases) -> int:
    return len(releases.trace.read_text().splitlines())


def _trace_since(releases: Releases, start: int) -> list[dict[str, Any]]:
    return [json.loads(line) for line in releases.trace.read_text().splitlines()[start:]]


@pytest.fixture(scope="module", params=sorted(ANSWERS))
def story(request: pytest.FixtureRequest, releases: Releases, tmp_path_factory: pytest.TempPathFactory) -> Story:
    project_type = request.param
    repo = generate_repository(
        releases, tmp_path_factory.mktemp(project_type) / "repo", project_type,
        data={"notice_owner": "Platform"},
    )
    record = Story(repo, generated=_files(repo, CI, DEPENDABOT, CODEOWNERS, "NOTICE.md"))

    update_repository(repo, vcs_ref="v1.0.0")
    record.status_after_noop = status(repo)

    (repo / CI).write_text(read(repo, CI) + USER_STEP, encoding="utf-8")
    (repo / CODEOWNERS).write_text(read(repo, CODEOWNERS) + USER_OWNER_RULE, encoding="utf-8")
    (repo / "NOTICE.md").unlink()
    commit_all(repo, "Edit the CI workflow and CODEOWNERS, drop NOTICE.md")

    start = _trace_lines(releases)
    record.v2 = update_repository(repo, vcs_ref="v2.0.0")
    record.task_runs = _trace_since(releases, start)
    record.files_after_v2 = _files(repo, CI, BUILD, DEPENDABOT, CODEOWNERS, "NOTICE.md")
    commit_all(repo, "Update to v2.0.0")

    record.v3 = update_repository(repo)
    record.files_after_v3 = _files(repo, CI, BUILD, DEPENDABOT, CODEOWNERS, "NOTICE.md")
    record.answers_after_v3 = yaml.safe_load(read(repo, ".copier-answers.yml"))
    commit_all(repo, "Update to v3.0.0")
    return record


def test_update_without_template_change_changes_nothing(story: Story) -> None:
    assert story.status_after_noop == ""


def test_update_reports_versions(story: Story) -> None:
    assert (story.v2.old_commit, story.v2.new_commit) == ("v1.0.0", "v2.0.0")
    assert (story.v3.old_commit, story.v3.new_commit) == ("v2.0.0", "v3.0.0")
    assert (story.v3.old_version, story.v3.new_version) == ("2.0.0", "3.0.0")


def test_update_keeps_local_edit_through_rename(story: Story) -> None:
    expected_v2 = story.generated[CI] + USER_STEP
    expected_v3 = expected_v2.replace("timeout-minutes: 20", "timeout-minutes: 30")

    assert story.files_after_v2[CI] is None
    assert story.files_after_v2[BUILD] == expected_v2
    assert story.files_after_v3[BUILD] == expected_v3


def test_update_applies_release_change_to_untouched_file(story: Story) -> None:
    expected = story.generated[DEPENDABOT].replace(
        "open-pull-requests-limit: 10", "open-pull-requests-limit: 5"
    )

    assert story.files_after_v2[DEPENDABOT] == expected
    assert story.files_after_v3[DEPENDABOT] == expected


def test_update_leaves_deleted_file_deleted(story: Story) -> None:
    assert story.generated["NOTICE.md"] == "# Notice\n\nOwned by Platform.\n"
    assert story.files_after_v2["NOTICE.md"] is None
    assert story.files_after_v3["NOTICE.md"] is None


def test_update_migrates_renamed_question(story: Story) -> None:
    assert story.answers_after_v3["notice_team"] == "Platform"
    assert "notice_owner" not in story.answers_after_v3


def test_update_gives_new_question_its_default(story: Story) -> None:
    assert story.answers_after_v3["notice_license"] == "MIT"


def test_update_records_release_in_answers(story: Story) -> None:
    answers = story.answers_after_v3

    assert answers["_commit"] == "v3.0.0"
    assert Path(answers["_src_path"]).is_absolute()


def test_update_reruns_merge_idempotently(story: Story) -> None:
    expected = story.generated[CODEOWNERS] + USER_OWNER_RULE

    assert story.files_after_v2[CODEOWNERS] == expected
    assert story.files_after_v3[CODEOWNERS] == expected


def test_update_lists_release_notes_between_versions(story: Story) -> None:
    assert story.v2.changelog.startswith("## [2.0.0] - 2026-02-02\n")
    assert "[1.0.0]" not in story.v2.changelog
    assert story.v3.changelog == "## [3.0.0] - 2026-03-02\n\n### Changed\n- CI jobs may run for 30 minutes."


def test_update_lists_changed_files(story: Story) -> None:
    assert sorted(story.v2.changed_files) == sorted([".copier-answers.yml", BUILD, CI, DEPENDABOT])
    assert sorted(story.v3.changed_files) == sorted([".copier-answers.yml", BUILD])


def test_update_leaves_no_conflict_marker(story: Story) -> None:
    found = subprocess.run(
        ["git", "grep", "-l", "-e", "^<<<<<<<", "-e", "^>>>>>>>"],
        cwd=story.repo, capture_output=True, text=True, check=False,
    ).stdout

    assert found == ""


def test_update_tasks_skip_scratch_copies(story: Story) -> None:
    destination = [run for run in story.task_runs if run["root"] == str(story.repo)]
    scratch = [run for run in story.task_runs if run["root"] != str(story.repo)]

    assert [run["skipped"] for run in destination] == [False]
    assert len(scratch) == 2
    assert all(run["skipped"] for run in scratch)
    assert {run["operation"] for run in story.task_runs} == {"update"}


BEACON_APPS = {
    "node": {
        "package.json": '{\n  "name": "api",\n  "main": "index.js",\n'
                        '  "dependencies": {"express": "^4.19.2"}\n}\n',
        "index.js": "const express = require('express');\nconst app = express();\napp.listen(3000);\n",
    },
    "python": {
        "pyproject.toml": '[project]\nname = "api"\nrequires-python = ">=3.11"\n'
                          'dependencies = ["flask"]\n',
        "app.py": "from flask import Flask\n\napp = Flask(__name__)\n",
    },
}
BEACON_FILES = {
    "node": ("index.js", "package.json", ".env.example"),
    "python": ("app.py", "chittybeacon/__init__.py", ".env.example"),
}


@pytest.fixture(scope="module", params=sorted(BEACON_APPS))
def beacon_story(request: pytest.FixtureRequest, releases: Releases, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An app with the beacon wired in at v1.0.0, its BEACON_INTERVAL edited, updated to v3.0.0."""
    project_type = request.param
    repo = generate_repository(
        releases, tmp_path_factory.mktemp(f"beacon-{project_type}") / "repo", project_type,
        files=BEACON_APPS[project_type], data={"beacon_enabled": True},
    )
    env = read(repo, ".env.example").replace("BEACON_INTERVAL=300000", "BEACON_INTERVAL=60000")
    (repo / ".env.example").write_text(env, encoding="utf-8")
    commit_all(repo, "Send heartbeats every minute")
    before = _files(repo, *BEACON_FILES[project_type])

    result = update_repository(repo)
    return {"type": project_type, "before": before, "result": result,
            "after": _files(repo, *BEACON_FILES[project_type])}


def test_update_beacon_wiring_unchanged(beacon_story: dict[str, Any]) -> None:
    before, after = beacon_story["before"], beacon_story["after"]

    assert all(text is not None for text in before.values()), before
    assert after == before
    assert "BEACON_INTERVAL=60000\n" in after[".env.example"]


def test_update_beacon_app_has_no_conflicts(beacon_story: dict[str, Any]) -> None:
    result = beacon_story["result"]

    assert result.new_commit == "v3.0.0"
    assert sorted(result.changed_files) == sorted(
        [".copier-answers.yml", BUILD, CI, DEPENDABOT, "NOTICE.md"]
    )
