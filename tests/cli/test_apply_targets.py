"""Choosing repositories: filters, paths, OWNER/REPO, a repositories file; setup errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import NODE_APP, PYTHON_APP, REPO_ROOT, Remotes
from fake_github import TOKEN, FakeGitHub

from chitty_cicd.cli.main import main


def test_apply_include_exclude_and_type(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", NODE_APP)
    remotes.add("acme", "web-admin", PYTHON_APP)
    remotes.add("acme", "worker", PYTHON_APP)
    remotes.add("acme", "docs", PYTHON_APP)

    code, out = apply_cli("--org", "acme", "--include", "w*", "--exclude", "worker", "--type", "python")

    assert code == 0, out
    assert "[acme/docs] skipped: not matched by --include" in out
    assert "[acme/worker] skipped: excluded by --exclude worker" in out
    assert "[acme/web] skipped: project type node is not in --type python" in out
    assert "[acme/web-admin] pull request opened" in out
    assert pull_paths(fake_api) == ["/repos/acme/web-admin/pulls"]


def test_apply_data_overrides_an_answer(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "tool", PYTHON_APP)

    code, out = apply_cli("--org", "acme", "--data", "python_version=3.12")

    assert code == 0, out
    assert "| `python_version` | `3.12` |" in fake_api.open_pulls("acme/tool")[0]["body"]


def test_apply_owner_repo_argument(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", PYTHON_APP)
    remotes.add("acme", "other", PYTHON_APP)

    code, out = apply_cli("acme/web")

    assert code == 0, out
    assert out.splitlines()[0].startswith("Running on 1 repository ")
    assert pull_paths(fake_api) == ["/repos/acme/web/pulls"]


def test_apply_local_paths_push_without_token(
    apply_cli, remotes: Remotes, fake_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PATH", git_only_path(tmp_path))
    first = remotes.add("local", "one", PYTHON_APP)
    second = remotes.add("local", "two", PYTHON_APP)
    repos_file = tmp_path / "repos.txt"
    repos_file.write_text(f"# the second repository\n\n{second}\n")

    code, out = apply_cli(str(first), "--repos-file", str(repos_file))

    assert code == 0, out
    assert "[local/one] pushed branch ci/initial-setup (not a GitHub repository, so no pull request)" in out
    assert "Branches pushed without a pull request (2):" in out
    assert remotes.branches("local", "two") == ["ci/initial-setup", "main"]
    assert fake_api.requests == []


def test_apply_cache_dir_refreshes_mirror(apply_cli, remotes: Remotes, tmp_path: Path):
    remotes.add("acme", "web", PYTHON_APP)
    cache = tmp_path / "cache"
    apply_cli("--org", "acme", "--cache-dir", str(cache))
    remotes.commit_on_main("acme", "web", {"notes.txt": "added after the first run\n"})

    code, out = apply_cli("--org", "acme", "--cache-dir", str(cache), "--no-ledger", "--update-existing")

    assert code == 0, out
    assert "[acme/web] pull request updated" in out
    assert len(list(cache.iterdir())) == 1
    assert remotes.show("acme", "web", "ci/initial-setup", "notes.txt") == "added after the first run\n"


def test_apply_rate_limits_and_server_errors_are_retried(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", PYTHON_APP)
    remotes.add("acme", "tool", PYTHON_APP)
    remotes.add("acme", "docs", PYTHON_APP)
    fake_api.fail("GET", "/orgs/acme/repos", 429, headers={"Retry-After": "1"})
    fake_api.fail("GET", "/pulls$", 502)
    fake_api.fail(
        "POST",
        "/pulls$",
        403,
        headers={"Retry-After": "0"},
        message="You have exceeded a secondary rate limit",
    )

    code, out = apply_cli("--org", "acme")

    assert code == 0, out
    assert len(fake_api.calls("GET", "/orgs/acme/repos")) == 3  # the 429, then two pages
    assert "rate limit on GET /orgs/acme/repos (HTTP 429); retrying in 1.0 s" in apply_cli.stderr
    assert (
        "GET /repos/acme/" in apply_cli.stderr and "returned HTTP 502; retrying in 0.0 s" in apply_cli.stderr
    )
    assert len(fake_api.calls("POST", "/pulls$")) == 4
    assert sorted(pull_paths_opened(fake_api)) == ["acme/docs", "acme/tool", "acme/web"]


def test_apply_lost_pull_response_opens_one_pull(apply_cli, remotes: Remotes, fake_api: FakeGitHub):
    remotes.add("acme", "web", PYTHON_APP)
    fake_api.fail("POST", "/pulls$", 502, after_handling=True)

    code, out = apply_cli("--org", "acme")

    assert code == 0, out
    assert "[acme/web] pull request opened: https://github.test/acme/web/pull/1" in out
    assert len(fake_api.calls("POST", "/pulls$")) == 2
    assert len(fake_api.pulls["acme/web"]) == 1


def test_apply_without_token_exits_2(
    remotes: Remotes, fake_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
):
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PATH", git_only_path(tmp_path))

    code = main(["apply", "--org", "acme", "--api-url", fake_api.url, "--template", str(REPO_ROOT)])

    assert code == 2
    assert capsys.readouterr().err == (
        "error: no GitHub token: GITHUB_TOKEN and GH_TOKEN are unset and the gh CLI is not installed; "
        "set GITHUB_TOKEN or run gh auth login\n"
    )


def test_apply_unknown_org_exits_2(apply_cli, fake_api: FakeGitHub):
    code, _ = apply_cli("--org", "nobody")

    assert code == 2
    assert apply_cli.stderr.startswith(
        "error: cannot list the repositories of nobody: GET /users/nobody/repos failed with HTTP 404"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: name at least one repository or --org"),
        (["--org", "acme", "--data", "novalue"], "error: --data 'novalue' is not KEY=VALUE"),
        (["--org", "acme", "--only-failed", "--no-ledger"], "error: --only-failed reads the ledger"),
        (["--org", "acme", "--type", "cobol"], "error: --type 'cobol' is not one of node, python, rust, go"),
        (["--org", "acme", "--data", "project_tpye=node"], "error: --data project_tpye is not a question"),
        (["--org", "acme", "--vcs-ref", "v9.9.9"], "error: --vcs-ref 'v9.9.9' is not a tag or branch"),
        (["--org", "acme", "--api-url", "notaurl"], "error: --api-url 'notaurl' is not an http(s) URL"),
    ],
)
def test_apply_usage_errors_exit_2(apply_cli, args: list[str], message: str):
    code, _ = apply_cli(*args)

    assert code == 2
    assert apply_cli.stderr.startswith(message)


def test_apply_help_documents_exit_codes(capsys):
    code = main(["apply", "--help"])

    out = capsys.readouterr().out
    assert code == 0
    assert "exit status:\n  0    every repository succeeded" in out
    assert "  1    at least one repository failed" in out
    assert "  2    usage or setup error" in out
    assert "--update-existing" in out


def test_console_script_runs_apply(
    remotes: Remotes, fake_api: FakeGitHub, template_repo: Path, tmp_path: Path
):
    remotes.add("acme", "web", PYTHON_APP)
    script = Path(sys.executable).with_name("chitty-cicd")

    result = subprocess.run(
        [
            str(script),
            "apply",
            "--org",
            "acme",
            "--api-url",
            fake_api.url,
            "--template",
            str(template_repo),
            "--ledger",
            str(tmp_path / "ledger.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "[acme/web] pull request opened: https://github.test/acme/web/pull/1" in result.stdout
    assert "\033[" not in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1] == "CI/CD setup complete!"


def test_setup_script_applies_each_org(
    remotes: Remotes, fake_api: FakeGitHub, template_repo: Path, tmp_path: Path
):
    remotes.add("acme", "web", PYTHON_APP)
    remotes.add("beta", "tool", PYTHON_APP)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    result = subprocess.run(
        [
            str(REPO_ROOT / "setup-org-workflows.sh"),
            "acme",
            "beta",
            "--",
            "--api-url",
            fake_api.url,
            "--template",
            str(template_repo),
            "--ledger",
            str(tmp_path / "ledger.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "[acme/web] pull request opened" in result.stdout
    assert "[beta/tool] pull request opened" in result.stdout
    assert "CI/CD setup complete!" in result.stdout


def pull_paths(fake_api: FakeGitHub) -> list[str]:
    return [call.path for call in fake_api.calls("POST", "/pulls$")]


def pull_paths_opened(fake_api: FakeGitHub) -> list[str]:
    return [name for name, pulls in fake_api.pulls.items() if pulls]


def git_only_path(tmp_path: Path) -> str:
    """A PATH with git and nothing else, so gh is not found."""
    bin_dir = tmp_path / "git-only-bin"
    bin_dir.mkdir(exist_ok=True)
    git_path = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    (bin_dir / "git").symlink_to(git_path)
    return str(bin_dir)


def test_repos_file_trailing_comment(tmp_path: Path):
    from chitty_cicd.cli.targets import read_repos_file

    repos_file = tmp_path / "repos.txt"
    repos_file.write_text("# the services\nlocal/rust-cli  # our CLI\nhttps://example.test/a.git#main\n\n")

    assert read_repos_file(repos_file) == ["local/rust-cli", "https://example.test/a.git#main"]
