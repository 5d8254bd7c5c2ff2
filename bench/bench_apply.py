"""Throughput of `chitty-cicd apply` against a plain shell loop of `copier copy` plus git.

Both apply the template to the same number of freshly generated local repositories (half
Node.js, half Python), each with its own bare remote: clone, render, commit on
ci/initial-setup, push. With --with-api the tool also opens a pull request per repository
on a local fake GitHub API, paced as on GitHub (one write per second).

Run from the repository root:  python bench/bench_apply.py --repos 100 200 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cli"))

import fake_github  # noqa: E402

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
NODE_APP = {
    "package.json": '{\n  "name": "svc",\n  "main": "index.js",\n  "scripts": {"start": "node index.js"},\n'
    '  "dependencies": {"express": "^4.19.2"}\n}\n',
    "index.js": "const express = require('express');\nexpress().listen(3000);\n",
}
PYTHON_APP = {
    "pyproject.toml": '[project]\nname = "pysvc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n',
    "app.py": "print('hello')\n",
}
LOOP_SCRIPT = """\
#!/usr/bin/env bash
# The baseline: one `copier copy` process and plain git per repository, one after another.
set -euo pipefail
template=$1 work=$2 repos_file=$3
while read -r url; do
  dir="$work/$(basename "$url" .git)"
  git clone --quiet "$url" "$dir"
  cd "$dir"
  copier copy --trust --defaults --quiet --vcs-ref v1.0.0 "$template" .
  git switch --quiet --create ci/initial-setup
  git add --all
  git commit --quiet --message "ci: add CI/CD workflows and ChittyBeacon integration"
  git push --quiet origin ci/initial-setup
  cd - >/dev/null
done < "$repos_file"
"""


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_template(work: Path) -> Path:
    """Commit this checkout's template into its own repository, tagged v1.0.0."""
    template = work / "template"
    template.mkdir()
    for part in ("copier.yml", "template", "extensions", "chitty_cicd"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, template / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, template / part)
    git(template, "init", "--quiet", "--initial-branch=main")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "--message", "Template")
    git(template, "tag", "v1.0.0")
    return template


def make_remotes(work: Path, count: int, label: str) -> list[Path]:
    """Create count bare repositories under work/label, half Node.js and half Python."""
    seeds = work / "seeds"
    remotes = []
    for index in range(count):
        kind, files = ("node", NODE_APP) if index % 2 == 0 else ("python", PYTHON_APP)
        seed = seeds / f"{kind}-{index}"
        if not seed.exists():
            seed.mkdir(parents=True)
            for relpath, text in files.items():
                (seed / relpath).write_text(text, encoding="utf-8")
            git(seed, "init", "--quiet", "--initial-branch=main")
            git(seed, "add", "--all")
            git(seed, "commit", "--quiet", "--message", "Initial commit")
        bare = work / label / "bench" / f"{kind}-{index}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        git(work, "clone", "--quiet", "--bare", str(seed), str(bare))
        remotes.append(bare)
    return remotes


def count_pushed(remotes: list[Path]) -> int:
    return sum(
        "ci/initial-setup" in git(remote, "branch", "--list", "ci/initial-setup") for remote in remotes
    )


def run_loop(work: Path, template: Path, remotes: list[Path]) -> float:
    script = work / "loop.sh"
    script.write_text(LOOP_SCRIPT, encoding="utf-8")
    repos_file = work / "loop-repos.txt"
    repos_file.write_text("".join(f"{remote}\n" for remote in remotes), encoding="utf-8")
    clones = work / "loop-clones"
    clones.mkdir()
    started = time.monotonic()
    subprocess.run(
        ["bash", str(script), str(template), str(clones), str(repos_file)],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def run_tool(work: Path, template: Path, remotes: list[Path], jobs: int, label: str) -> float:
    repos_file = work / f"{label}-repos.txt"
    repos_file.write_text("".join(f"{remote}\n" for remote in remotes), encoding="utf-8")
    command = [
        str(Path(sys.executable).with_name("chitty-cicd")),
        "apply",
        "--repos-file",
        str(repos_file),
        "--template",
        str(template),
        "--vcs-ref",
        "v1.0.0",
        "--jobs",
        str(jobs),
        "--no-ledger",
        "--work-dir",
        str(work / f"{label}-clones"),
        "--json",
        str(work / f"{label}.json"),
    ]
    started = time.monotonic()
    subprocess.run(command, check=True, env=_env(), stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def run_tool_with_api(work: Path, template: Path, count: int, jobs: int) -> float:
    """Apply through `--org` on the fake API: clone, render, push and open one pull request each."""
    fake = fake_github.FakeGitHub(page_size=100)
    server = fake_github.start(fake)
    try:
        for remote in make_remotes(work, count, "api"):
            fake.add_repo("bench", remote.name.removesuffix(".git"), str(remote))
        command = [
            str(Path(sys.executable).with_name("chitty-cicd")),
            "apply",
            "--org",
            "bench",
            "--api-url",
            fake.url,
            "--template",
            str(template),
            "--vcs-ref",
            "v1.0.0",
            "--jobs",
            str(jobs),
            "--no-ledger",
            "--work-dir",
            str(work / "api-clones"),
        ]
        env = {**_env(), "GITHUB_TOKEN": fake_github.TOKEN}
        started = time.monotonic()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        opened = sum(len(pulls) for pulls in fake.pulls.values())
        if opened != count:
            raise SystemExit(f"expected {count} pull requests, the fake API has {opened}")
        return elapsed
    finally:
        server.shutdown()


def _env() -> dict[str, str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, **GIT_IDENTITY, "PATH": path}


def machine_facts() -> list[str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    copier = subprocess.run(
        ["copier", "--version"], capture_output=True, text=True, env=_env()
    ).stdout.strip()
    return [
        f"- nproc: {os.cpu_count()}; CPU: {cpu}",
        f"- Python {platform.python_version()}, {copier}, {git(ROOT, '--version').strip()}",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def bench_size(work: Path, template: Path, count: int, jobs: int, with_api: bool) -> str:
    loop_remotes = make_remotes(work, count, "loop")
    tool_remotes = make_remotes(work, count, "tool")

    loop_seconds = run_loop(work, template, loop_remotes)
    tool_seconds = run_tool(work, template, tool_remotes, jobs, "tool")
    api_seconds = run_tool_with_api(work, template, count, jobs) if with_api else None

    for label, remotes in (("loop", loop_remotes), ("tool", tool_remotes)):
        if count_pushed(remotes) != count:
            raise SystemExit(f"{label}: not every repository got ci/initial-setup")
    outcomes = json.loads((work / "tool.json").read_text(encoding="utf-8"))["counts"]
    row = (
        f"| {count} | {loop_seconds:.1f} | {count / loop_seconds:.2f} | {tool_seconds:.1f} | "
        f"{count / tool_seconds:.2f} | {loop_seconds / tool_seconds:.1f}x |"
    )
    if api_seconds is not None:
        row += f" {api_seconds:.1f} |"
    print(f"{count} repositories: tool outcomes {outcomes}", file=sys.stderr)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repos", type=int, nargs="+", default=[100, 200], help="repository counts to run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="chitty-cicd --jobs")
    parser.add_argument(
        "--with-api", action="store_true", help="also time --org runs that open pull requests"
    )
    parser.add_argument(
        "--work", type=Path, default=ROOT / "bench" / "work", help="scratch directory, emptied first"
    )
    args = parser.parse_args()

    facts = machine_facts()
    rows = []
    for count in args.repos:
        shutil.rmtree(args.work, ignore_errors=True)
        args.work.mkdir(parents=True)
        rows.append(bench_size(args.work, make_template(args.work), count, args.jobs, args.with_api))
    shutil.rmtree(args.work, ignore_errors=True)

    header = "| repositories | loop s | loop repos/s | chitty-cicd s | chitty-cicd repos/s | speed-up |"
    rule = "| --- | --- | --- | --- | --- | --- |"
    if args.with_api:
        header += " chitty-cicd with pull requests s |"
        rule += " --- |"
    print(
        "\n".join(
            [
                *facts,
                f"- load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                f"- command: python bench/bench_apply.py {' '.join(sys.argv[1:])}",
                "",
                header,
                rule,
                *rows,
            ]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
