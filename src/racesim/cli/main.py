"""The ``racesim`` command line: the top parser, dispatch to a command, and how it ends.

Each command group lives in its own module, which adds its parser(s) and holds the
handler each one runs (:mod:`~racesim.cli.run`: run, report; :mod:`~racesim.cli.study`:
sweep, tune; :mod:`~racesim.cli.fit`; :mod:`~racesim.cli.chaos`;
:mod:`~racesim.cli.webhooks`: demo, replay, serve); the options they share are in
:mod:`~racesim.cli.options`. Errors that racesim raises on purpose (bad scenario, bad
store URL, …) print one line and exit with status 2, never a traceback; the other exit
statuses are listed in :mod:`racesim.cli.exits`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from racesim import __version__
from racesim.cli.chaos import add_chaos_parser
from racesim.cli.exits import (
    BAD_INPUT,
    BROKEN_PIPE,
    INTERNAL_ERROR,
    bounded_message,
    internal_error,
    interrupted,
    stop_on_sigterm,
)
from racesim.cli.fit import add_fit_parser
from racesim.cli.options import DEBUG_HELP
from racesim.cli.run import add_report_parser, add_run_parser
from racesim.cli.study import add_sweep_parser, add_tune_parser
from racesim.cli.webhooks import add_demo_parser, add_replay_parser, add_serve_parser
from racesim.errors import RacesimError
from racesim.ledger.store import check_store_url

if TYPE_CHECKING:
    from racesim.cli.options import Commands

__all__ = ["build_parser", "main"]

_COMMANDS: tuple[Callable[[Commands], None], ...] = (
    add_demo_parser,
    add_run_parser,
    add_sweep_parser,
    add_tune_parser,
    add_report_parser,
    add_fit_parser,
    add_chaos_parser,
    add_replay_parser,
    add_serve_parser,
)
"""Each command's parser, in the order ``racesim --help`` lists them."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error never echoes a huge argument whole."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and the (bounded) message; exit with status 2."""
        super().error(bounded_message(message))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``racesim`` and its subcommands."""
    parser = _Parser(
        prog="racesim",
        description="How much stock to hide from each marketplace so that you almost never "
                    "sell a unit you don't have — and what the hiding costs.")
    parser.add_argument("--version", action="version", version=f"racesim {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_parser in _COMMANDS:
        add_parser(commands)
    for command in commands.choices.values():  # also after the command: racesim run --debug
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=DEBUG_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``racesim`` console script; returns the exit status.

    The statuses are listed in :mod:`racesim.cli.exits`: 2 for usage and bad input, 1 when a
    check found a problem, 3 for an unexpected error (one line; ``--debug`` prints the
    traceback), 130 on Ctrl-C and 143 on SIGTERM — worker processes stopped either way.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments  # before parsing, in case parsing itself fails
    try:
        with stop_on_sigterm():
            parser = build_parser()
            args = parser.parse_args(arguments)
            debug = getattr(args, "debug", False)
            if args.command is None:
                parser.print_help(sys.stderr)
                return BAD_INPUT
            store = getattr(args, "store", None)
            if store is not None:  # a bad URL is refused before any work or progress bar
                check_store_url(store)
            status: int = args.handler(args)
            sys.stdout.flush()  # a closed pipe is found here, not at interpreter exit
            return status
    except RacesimError as exc:
        if debug:
            traceback.print_exc()
        print(f"racesim: error: {bounded_message(str(exc))}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        status, line = interrupted(exc)
        print(f"\n{line}", file=sys.stderr)
        return status
    except BrokenPipeError:
        # The reader went away (racesim … | head): stop quietly, and point stdout at
        # /dev/null so the interpreter's last flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(internal_error(exc, debug=debug), file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
