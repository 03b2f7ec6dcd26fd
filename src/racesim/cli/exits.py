"""How the ``racesim`` command ends: its exit statuses, signals and unexpected errors.

A command fails like a Unix tool: one line on stderr, never a traceback (``--debug``
shows one), and an exit status that says which kind of failure it was:

====== =====================================================================
status meaning
====== =====================================================================
0      done; every check passed
1      a check found a problem: an invariant broke (``chaos``), a replayed log
       left an unsound ledger (``replay``), the projection differs from a
       replay of the events (``demo``)
2      usage or bad input: a wrong option (argparse's convention), a bad
       scenario, store URL or log — any :class:`~racesim.errors.RacesimError`
3      internal error: an exception racesim did not expect (a bug; ``--debug``)
4      undecided: a check stopped at its bound before it could pass or fail
       (``chaos --check`` reached ``--max-states``)
130    interrupted by SIGINT (Ctrl-C): 128 + 2
141    standard output closed early (``racesim … | head``): 128 + SIGPIPE
143    stopped by SIGTERM: 128 + 15
====== =====================================================================

SIGTERM is turned into an exception in the main thread (:class:`Stopped`, a
:class:`KeyboardInterrupt`), so it unwinds exactly like Ctrl-C: ``with`` blocks close,
local worker processes are terminated (:meth:`racesim.study.executors.LocalExecutor.terminate`)
and the command exits at once instead of leaving workers running their tasks.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from racesim.errors import shorten

__all__ = [
    "BAD_INPUT",
    "BROKEN_PIPE",
    "INTERNAL_ERROR",
    "OK",
    "PROBLEM_FOUND",
    "UNDECIDED",
    "Stopped",
    "bounded_message",
    "internal_error",
    "interrupted",
    "stop_on_sigterm",
]

OK = 0
PROBLEM_FOUND = 1
BAD_INPUT = 2
INTERNAL_ERROR = 3
UNDECIDED = 4
BROKEN_PIPE = 128 + signal.SIGPIPE

MESSAGE_LINES = 25
"""At most this many lines of one error message are printed (a replay names 20 lines)."""
LINE_CHARS = 500
"""At most this many characters of each line of an error message are printed."""


class Stopped(KeyboardInterrupt):
    """A termination signal (SIGTERM), raised in the main thread to unwind like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Stopped` in the main thread.

    A second SIGTERM, while the first is being handled, gets the default action (the
    process ends at once). The previous handler is put back on exit. Outside the main
    thread, where Python cannot install handlers, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_DFL)
        raise Stopped(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(error: KeyboardInterrupt) -> tuple[int, str]:
    """The exit status and the one line for Ctrl-C or a :class:`Stopped` signal."""
    if isinstance(error, Stopped):
        name = signal.Signals(error.signum).name
        return 128 + error.signum, f"racesim: stopped by {name}"
    return 128 + signal.SIGINT, "racesim: interrupted (SIGINT)"


def internal_error(error: BaseException, *, debug: bool) -> str:
    """The one line for an exception racesim did not expect: its type and message."""
    message = " ".join(str(error).split())
    line = f"racesim: internal error: {type(error).__name__}"
    if message:
        line += f": {shorten(message, 200, as_text=True)}"
    return line if debug else f"{line} (run with --debug for the traceback)"


def bounded_message(message: str) -> str:
    """An error message cut to :data:`MESSAGE_LINES` lines of :data:`LINE_CHARS` chars.

    The backstop behind :func:`racesim.errors.shorten`: whatever a message interpolated,
    the terminal never receives megabytes of it.
    """
    lines = message.splitlines() or [""]
    shown = [shorten(line, LINE_CHARS, as_text=True) for line in lines[:MESSAGE_LINES]]
    if len(lines) > MESSAGE_LINES:
        shown.append(f"… and {len(lines) - MESSAGE_LINES} more line(s)")
    return "\n".join(shown)
