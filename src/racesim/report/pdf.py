"""The report as PDF: the HTML page printed by headless Chromium (``--print-to-pdf``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from racesim.report.browser import BrowserError, chromium_flags, find_chromium

__all__ = ["chromium_version", "print_pdf"]


def print_pdf(page: str | os.PathLike[str], pdf: str | os.PathLike[str], *,
              chromium: str | os.PathLike[str] | None = None, timeout: float = 180.0) -> Path:
    """Print the HTML file ``page`` to ``pdf`` (A4, the page's print styles, no header).

    Raises :class:`~racesim.report.browser.BrowserError` (a ``RacesimError``) when
    Chromium is missing, fails, or writes no PDF within ``timeout`` seconds.
    """
    source, target = Path(page).resolve(), Path(pdf).resolve()
    executable = find_chromium(chromium)
    target.unlink(missing_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="racesim-chromium-"))
    command = [str(executable), *chromium_flags(profile), "--no-pdf-header-footer",
               f"--print-to-pdf={target}", source.as_uri()]
    try:
        finished = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BrowserError(f"Chromium did not print {source.name} to PDF within "
                           f"{timeout:g} s") from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if finished.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        said = finished.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise BrowserError(f"Chromium could not print {source.name} to PDF (exit status "
                           f"{finished.returncode}): {' | '.join(said) or 'no message'}")
    return target


def chromium_version(chromium: str | os.PathLike[str] | None = None) -> str | None:
    """``Chromium 156.0…`` as the browser reports it, or None when it cannot say."""
    try:
        executable = find_chromium(chromium)
        finished = subprocess.run([str(executable), "--version"], capture_output=True,
                                  timeout=30, check=False, stdin=subprocess.DEVNULL)
    except (BrowserError, OSError, subprocess.TimeoutExpired):
        return None
    text = finished.stdout.decode(errors="replace").strip()
    return text.splitlines()[0] if text else None
