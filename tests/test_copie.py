"""The template through pytest-copie, as template authors usually test it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("project_type", ["node", "python", "rust", "go"])
def test_copie_renders_each_type(copie, project_type: str) -> None:
    result = copie.copy(extra_answers={"project_type": project_type, "beacon_enabled": False})

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    assert (result.project_dir / ".github/workflows/ci.yml").is_file()
    assert result.answers["project_type"] == project_type


def test_copie_reports_invalid_type(copie) -> None:
    result = copie.copy(extra_answers={"project_type": "java"})

    assert result.exit_code == -1
    assert "project_type 'java' is not node, python, rust or go" in str(result.exception)
