"""Oversell-risk reports: figures, race timelines and the HTML/PDF report.

``build_report(scenario, "out/NAME")`` simulates a scenario (today's buffer, the
tuner, a buffer sweep, race episodes) and writes a self-contained ``index.html`` with its
figures, tables, ``summary.json`` and ``manifest.json`` — the ``racesim report`` command.
``check_page("…/index.html")`` opens a page in headless Chromium and says what a reader
gets (console errors, images that did not load, a screenshot).

The names below are imported on first use, so ``python -m racesim.report.browser`` and
the CLI do not load matplotlib before they need it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from racesim.report.browser import BrowserError, PageCheck, check_page
    from racesim.report.build import Report, build_report
    from racesim.report.compute import ReportData, compute

__all__ = ["BrowserError", "PageCheck", "Report", "ReportData", "build_report", "check_page",
           "compute"]

_HOMES = {"BrowserError": "browser", "PageCheck": "browser", "check_page": "browser",
          "Report": "build", "build_report": "build", "ReportData": "compute",
          "compute": "compute"}


def __getattr__(name: str) -> Any:
    """Import a public name from the module that defines it, on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'racesim.report' has no attribute {name!r}")
    return getattr(import_module(f"racesim.report.{home}"), name)
