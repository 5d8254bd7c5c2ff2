"""A new user's first run over a mixed organization of 30 repositories, then a second run."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import NODE_APP, OWN_CI, PYTHON_APP, Remotes
from fake_github import FakeGitHub

RUST_APP = {
    "Cargo.toml": '[package]\nname = "crate"\nversion = "0.1.0"\nedition = "2021"\n',
    "src/lib.rs": "",
}
GO_APP = {
    "go.mod": "module github.com/acme/gosvc\n\ngo 1.22\n",
    "main.go": "package main\n\nfunc main() {}\n",
}


def build_org(remotes: Remotes) -> dict[str, str]:
    """Create the organization; return the expected outcome per repository name."""
    expected = {}
    kinds = [("node", NODE_APP), ("python", PYTHON_APP), ("rust", RUST_APP), ("go", GO_APP)]
    for index in range(16):
        kind, files = kinds[index % len(kinds)]
        remotes.add("acme", f"{kind}-{index}", files)
        expected[f"{kind}-{index}"] = "pr_opened"
    for index in range(6):
        remotes.add("acme", f"own-ci-{index}", {**NODE_APP, ".github/workflows/ci.yml": OWN_CI})
        expected[f"own-ci-{index}"] = "pr_opened"
    for index in range(4):
        remotes.add("acme", f"done-{index}", PYTHON_APP)
        expected[f"done-{index}"] = "up_to_date"
    remotes.add("acme", "archived", NODE_APP, archived=True)
    remotes.add("acme", "forked", NODE_APP, fork=True)
    remotes.add("acme", "empty", None)
    expected.update(archived="skipped", forked="skipped", empty="skipped")
    remotes.add("acme", "broken", {**NODE_APP, "package.json": "{ not json"})
    expected["broken"] = "failed"
    return expected


def test_story_thirty_repositories(apply_cli, remotes: Remotes, fake_api: FakeGitHub, tmp_path: Path):
    expected = build_org(remotes)
    assert len(expected) == 30
    apply_cli("--org", "acme", "--include", "done-*", "--no-ledger")
    for index in range(4):
        remotes.merge("acme", f"done-{index}", "ci/initial-setup")
    fake_api.requests.clear()

    code, out = apply_cli("--org", "acme", "--json", str(tmp_path / "first.json"))
    again_code, again_out = apply_cli("--org", "acme", "--json", str(tmp_path / "second.json"))

    first = {
        r["repo"].split("/")[1]: r for r in json.loads((tmp_path / "first.json").read_text())["repositories"]
    }
    assert code == 1
    assert {name: r["outcome"] for name, r in first.items()} == expected
    assert out.splitlines()[0].startswith("Running on 30 repositories ")
    assert "Failed (1):\n  [acme/broken] " in out
    assert "Pull requests opened (22):" in out
    assert "Up to date (4):" in out
    assert "Skipped (3):\n  [acme/archived] archived\n  [acme/empty] empty repository (no commits)\n" in out
    assert first["own-ci-0"]["kept_files"] == [".github/workflows/ci.yml"]
    assert {
        first[f"{k}-{i}"]["answers"]["project_type"] for k, i in [("node", 0), ("rust", 2), ("go", 3)]
    } == {"node", "rust", "go"}
    assert len(fake_api.calls("POST", "/pulls$")) == 22

    second = json.loads((tmp_path / "second.json").read_text())
    assert again_code == 1
    assert second["counts"] == {"done_before": 26, "skipped": 3, "failed": 1}
    assert "[acme/broken] failed: " in again_out
    assert len(fake_api.calls("POST", "/pulls$")) == 22
