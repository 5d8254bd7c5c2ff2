"""Entry point of `chitty-cicd`: parse the subcommand and hand over to its module."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from chitty_cicd import __version__
from chitty_cicd.cli import apply, preflight, update
from chitty_cicd.errors import ChittyError
from chitty_cicd.ledger import default_ledger_path

EXIT_INTERRUPTED = 130
EXIT_USAGE = 2
EXIT_BUG = 3

Command = Callable[[argparse.Namespace], int]


# Each subcommand module has add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "apply": (apply, "apply or update the standard across repositories, one pull request each"),
    "preflight": (preflight, "check secrets, token permissions and branch protection per repository"),
    "update": (update, "update one generated repository to the template's latest release"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chitty-cicd",
        description="Apply the ChittyOS CI/CD standard across GitHub organizations.",
        epilog="Run `chitty-cicd COMMAND --help` for a command's options and exit codes. "
        "Exit 3 means a bug: the traceback is saved and its path printed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        command = commands.add_parser(name, help=summary)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on a bad command line, 0 after --help
        return int(exit_.code or 0)

    logging.basicConfig(format="%(message)s", level=logging.INFO, stream=sys.stderr)
    handler: Command = args.handler
    try:
        return handler(args)
    except ChittyError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        log_path = _save_traceback()
        print(
            f"error: unexpected failure, a bug in chitty-cicd; the traceback is in {log_path}",
            file=sys.stderr,
        )
        return EXIT_BUG


def _save_traceback() -> Path:
    path = default_ledger_path().with_name("crash.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
