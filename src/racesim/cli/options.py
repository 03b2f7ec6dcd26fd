"""The options several ``racesim`` commands share, and the argparse types behind them.

Every numeric option is bounds-checked by its type here, while arguments are parsed, so a
bad value is refused with one line naming the option before any work starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

from racesim.errors import shorten
from racesim.policy.kinds import BUFFER_KINDS

if TYPE_CHECKING:
    from racesim.study.budget import Budget

    Commands: TypeAlias = argparse._SubParsersAction[Any]  # of racesim's own parser class
    """What ``add_subparsers`` returns: each command module adds its parser(s) to it."""

__all__ = [
    "DEBUG_HELP",
    "FORCE_HELP",
    "JOBS_HELP",
    "MAX_COUNT",
    "MAX_DIGITS",
    "MAX_JOBS",
    "MAX_SEED",
    "POLICY_FAMILIES",
    "Limits",
    "add_force",
    "add_jobs",
    "add_json",
    "add_out",
    "add_seed",
    "add_simulation_options",
    "add_target_options",
    "confidence_level",
    "fraction",
    "job_count",
    "limits",
    "positive_count",
    "seed_value",
    "target_or_none",
    "target_rate",
    "whole",
    "whole_at_least",
]

MAX_DIGITS = 19
"""Longest whole number an option takes, in digits: a seed fits a signed 64-bit column."""
MAX_SEED = 2**63 - 1
MAX_JOBS = 256
MAX_COUNT = 10**6
"""Upper bound of the counting options (replications, orders, seeds, tries)."""

POLICY_FAMILIES = list(BUFFER_KINDS)
JOBS_HELP = f"worker processes, at most {MAX_JOBS} (default 1; results do not depend on it)"
FORCE_HELP = ("write into an --out folder that holds files racesim did not write (they "
              "are left alone; only files at the paths racesim writes are replaced)")
DEBUG_HELP = "on an unexpected error, print the traceback (not only its one line)"


def whole(minimum: int, maximum: int = MAX_COUNT) -> Callable[[str], int]:
    """An argparse type: a whole number from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        digits = text.strip().lstrip("+-")
        try:
            if len(digits) > MAX_DIGITS:  # refused before int() spends time on it
                raise ValueError
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of at most "
                                             f"{MAX_DIGITS} digits, got {shorten(text)}") \
                from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum} (got {value})")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} (got {value:,})")
        return value

    return parse


def whole_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``minimum`` (and of at most 19 digits)."""
    return whole(minimum, MAX_SEED)


def fraction(example: str, note: str = "") -> Callable[[str], float]:
    """An argparse type: a number strictly between 0 and 1 (``example`` shows one)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {example}, got {shorten(text)}") \
                from None
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(f"must be between 0 and 1 (got {value:g}{note})")
        return value

    return parse


positive_count = whole(1)
seed_value = whole(0, MAX_SEED)
job_count = whole(1, MAX_JOBS)
target_rate = fraction("a fraction such as 0.003", "; 0.003 means 0.3 % of orders")
confidence_level = fraction("a level such as 0.95")


def _event_count(text: str) -> float:
    """``--max-events``: a positive number such as 2e9."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 2e9, got {text[:40]!r}") \
            from None
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number ≥ 1 (got {text[:40]})")
    return value


def _memory_size(text: str) -> float:
    """``--max-memory``: bytes, from a size such as 8GiB."""
    from racesim.study.budget import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_seed(parser: argparse.ArgumentParser, default: int | None = 0,
             help_text: str | None = None) -> None:
    """``--seed``: the seed everything random is drawn from (0 to 2⁶³ − 1).

    ``default=None`` leaves it to the scenario: its own ``seed``, else 0.
    """
    parser.add_argument("--seed", type=seed_value, default=default,
                        help=help_text or f"random seed (default {default})")


def add_jobs(parser: argparse.ArgumentParser, help_text: str = JOBS_HELP) -> None:
    """``--jobs J``: worker processes (results never depend on their number)."""
    parser.add_argument("--jobs", type=job_count, default=1, metavar="J", help=help_text)


def add_out(parser: argparse.ArgumentParser, help_text: str, metavar: str | None = None) -> None:
    """``--out DIR``: the folder a command writes its files to (none by default)."""
    parser.add_argument("--out", type=Path, default=None, metavar=metavar, help=help_text)


def add_force(parser: argparse.ArgumentParser) -> None:
    """``--force``: write into an ``--out`` folder holding files racesim did not write."""
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


def add_json(parser: argparse.ArgumentParser,
             help_text: str = "print one JSON object") -> None:
    """``--json``: print one JSON object instead of the readable text."""
    parser.add_argument("--json", action="store_true", help=help_text)


def add_simulation_options(parser: argparse.ArgumentParser, replications: int,
                           replications_help: str, jobs_help: str = JOBS_HELP) -> None:
    """The scenario argument and the options every simulating command shares."""
    parser.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    add_seed(parser, None, "random seed (default: the scenario file's seed, else 0)")
    parser.add_argument("--replications", type=positive_count, default=replications,
                        metavar="R", help=replications_help)
    add_jobs(parser, jobs_help)
    parser.add_argument("--max-events", type=_event_count, default=None, metavar="N",
                        help="refuse, before it starts, a job estimated to simulate more "
                             "SimPy events (default 5e8)")
    parser.add_argument("--max-memory", type=_memory_size, default=None, metavar="SIZE",
                        help="refuse, before it starts, a job estimated to need more memory, "
                             "e.g. 8GiB (default 4GiB)")


def target_or_none(text: str) -> float | None:
    """``--target`` of ``tune``: a fraction such as 0.003, or ``none`` (no target)."""
    return None if text.strip().lower() == "none" else target_rate(text)


def add_target_options(parser: argparse.ArgumentParser, policy_help: str, *,
                       none: bool = False) -> None:
    """The buffer family to tune and the oversell target it must meet (``none`` allowed
    when ``none``: the per-channel tuner's least-cost search without a target)."""
    parser.add_argument("--policy", default="fixed", choices=POLICY_FAMILIES, help=policy_help)
    parser.add_argument("--target", type=target_or_none if none else target_rate,
                        default=0.003, metavar="RATE",
                        help="oversell-rate target as a fraction of orders (default 0.003)"
                             + ("; none: no target (with --per-channel --objective cost)"
                                if none else ""))


class Limits(TypedDict):
    """The keyword arguments of the pre-flight budget, as the simulating calls take them."""

    budget: Budget
    source: str


def limits(args: argparse.Namespace) -> Limits:
    """The budget of ``--max-events``/``--max-memory`` and the file it names in refusals."""
    from racesim.study.budget import DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY, Budget

    budget = Budget(args.max_events or DEFAULT_MAX_EVENTS, args.max_memory or DEFAULT_MAX_MEMORY)
    return {"budget": budget, "source": args.scenario.name}
