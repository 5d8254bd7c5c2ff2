"""`chitty-cicd update`: update one generated repository to the template's latest release, safely."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chitty_cicd.cli.options import check_data_keys, parse_data
from chitty_cicd.errors import ChittyError
from chitty_cicd.update import UpdateConflictError, summary_markdown, update_repository

EXIT_CONFLICT = 1
EXIT_NOT_UPDATED = 2

DESCRIPTION = """\
Update a repository generated from cicd-templates to the template's latest release (or to
--vcs-ref), like `copier update --trust --defaults`, with these safeguards:

- Before anything is written, the repository must be a git work tree without uncommitted
  or untracked files, and .copier-answers.yml must name the template by URL or absolute
  path and the release it came from. The template must be reachable.
- Local edits to generated files are merged with the release's changes. Edits that
  overlap become conflicts: the command then fails and names the files, and leaves the
  merged files with `<<<<<<< before updating` markers for you to resolve.
- A file listed in kept_files stays exactly as committed, also when it joins the list
  in this update.
- If Copier itself fails, every file is put back as it was committed.
"""

EPILOG = """\
exit status:
  0  updated, or already at the latest release; review with `git diff` and commit
  1  the update conflicts with local edits; resolve the files named, then commit
  2  not updated: the repository or its answers file needs a fix first (the message says
     which), or Copier failed and the files were put back
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("path", nargs="?", default=".", type=Path, help="the repository (default: .)")
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an answer, as `copier update --data` does (repeatable)",
    )
    parser.add_argument(
        "--vcs-ref", metavar="REF", help="update to this tag or commit instead of the latest release"
    )
    parser.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="write a Markdown summary of the update (release notes, files changed) to FILE",
    )


def run(args: argparse.Namespace) -> int:
    try:
        data = parse_data(args.data)
        check_data_keys(data)
        result = update_repository(args.path, data=data, vcs_ref=args.vcs_ref)
    except UpdateConflictError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFLICT
    except ChittyError as error:
        print(f"error: {error}", file=sys.stderr)
        print("Nothing was updated.", file=sys.stderr)
        return EXIT_NOT_UPDATED

    if args.summary is not None:
        args.summary.write_text(summary_markdown(result), encoding="utf-8")
    if not result.updated and not result.changed_files:
        print(f"{result.path}: already at {result.new_commit}; nothing changed.")
        return 0
    print(f"{result.path}: updated from {result.old_commit} to {result.new_commit}.")
    for relpath in result.changed_files:
        print(f"  changed {relpath}")
    for relpath in result.restored_files:
        print(f"  kept as your own {relpath}")
    print("Review the changes with `git diff`, then commit them.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chitty_cicd.cli.update")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
