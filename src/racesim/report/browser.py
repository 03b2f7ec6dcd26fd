"""Headless Chromium: find it, print a page to PDF, and check a page as a reader sees it.

:func:`check_page` opens a file in Debian's ``chromium`` and drives it over the DevTools
protocol on a pipe (``--remote-debugging-pipe``: no port, no network, no extra
package): it records console errors, uncaught exceptions and failed loads, reports
every ``<img>`` with its natural size, and takes a PNG screenshot. The browser runs
with a fresh, temporary profile and everything that would reach the network off.

``python -m racesim.report.browser PAGE.html SHOT.png`` checks a page from the shell,
saves its screenshot and exits 1 when the page has a problem.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from racesim.errors import RacesimError

__all__ = ["BrowserError", "PageCheck", "check_page", "chromium_flags", "find_chromium",
           "main"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Program names tried, in order, when no path is given (Debian's is ``chromium``)."""

SAFE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio")
"""Flags for a headless, offline Chromium that runs as root in a container."""


class BrowserError(RacesimError, RuntimeError):
    """Chromium is missing, failed to start, or did not answer in time."""


def find_chromium(path: str | os.PathLike[str] | None = None) -> Path:
    """The Chromium executable: ``path``, ``$RACESIM_CHROMIUM``, or one on ``PATH``.

    Raises :class:`BrowserError` saying how to install it when there is none.
    """
    wanted = path or os.environ.get("RACESIM_CHROMIUM")
    if wanted:
        found = shutil.which(str(wanted))
        if found is None:
            raise BrowserError(f"Chromium not found at {wanted!r}")
        return Path(found)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return Path(found)
    raise BrowserError("Chromium is needed for this (PDF and page checks) but none was found "
                       f"on PATH (tried {', '.join(CANDIDATES)}); on Debian or Ubuntu: "
                       "apt-get install chromium")


def chromium_flags(profile: Path) -> list[str]:
    """The command-line flags for a headless run with ``profile`` as its fresh profile."""
    return [*SAFE_FLAGS, f"--user-data-dir={profile}"]


@dataclass(frozen=True)
class Image:
    """One ``<img>`` of a checked page: its alt text and size once loaded (pixels)."""

    alt: str
    complete: bool
    natural_width: int
    natural_height: int


@dataclass(frozen=True)
class PageCheck:
    """What a browser made of a page: problems it logged, its images and a screenshot."""

    url: str
    title: str
    text_length: int
    """Characters of visible text in the body."""
    images: tuple[Image, ...]
    errors: tuple[str, ...]
    """Console errors, uncaught exceptions, failed loads and dialogs, one line each."""
    screenshot: bytes = field(repr=False)
    """PNG of the page (``full_page``) or its first screen."""
    width: int = 0
    height: int = 0
    """Size of the laid-out page in CSS pixels."""

    @property
    def broken_images(self) -> tuple[Image, ...]:
        """Images that did not load (``naturalWidth`` 0)."""
        return tuple(image for image in self.images
                     if not image.complete or image.natural_width <= 0)

    @property
    def ok(self) -> bool:
        """No logged errors, every image loaded and some text on the page."""
        return not self.errors and not self.broken_images and self.text_length > 0


class _Pipe:
    """DevTools protocol messages over Chromium's ``--remote-debugging-pipe`` (fds 3, 4).

    Each message is one JSON object followed by a NUL byte, in both directions.
    """

    def __init__(self, process: subprocess.Popen[bytes], to_browser: int,
                 from_browser: int) -> None:
        self.process, self.to_browser, self.from_browser = process, to_browser, from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.replies: dict[int, dict[str, Any]] = {}

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> int:
        """Send one command; return its id."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self.to_browser, data):]
        except OSError as error:
            raise BrowserError(f"Chromium stopped listening on its DevTools pipe ({error}; "
                               f"exit status {self.process.poll()})") from None
        return self.next_id

    def _read(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError("Chromium did not answer in time")
        ready, _, _ = select.select([self.from_browser], [], [], remaining)
        if not ready:
            raise BrowserError("Chromium did not answer in time")
        chunk = os.read(self.from_browser, 1 << 20)
        if not chunk:
            raise BrowserError(f"Chromium closed its DevTools pipe (exit status "
                               f"{self.process.poll()})")
        self.buffer += chunk
        *messages, self.buffer = self.buffer.split(b"\0")
        for raw in messages:
            message = json.loads(raw)
            if "id" in message:
                self.replies[message["id"]] = message
            else:
                self.events.append(message)

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Send a command and wait for its result; a protocol error raises."""
        number = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while number not in self.replies:
            self._read(deadline)
        reply = self.replies.pop(number)
        if "error" in reply:
            raise BrowserError(f"Chromium refused {method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_for(self, accept: Callable[[dict[str, Any]], bool], what: str,
                 timeout: float = 30.0, start: int = 0) -> int:
        """Wait for the first event from index ``start`` on that ``accept`` takes.

        Returns the event's index in :attr:`events`.
        """
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            for index in range(seen, len(self.events)):
                if accept(self.events[index]):
                    return index
            seen = len(self.events)
            try:
                self._read(deadline)
            except BrowserError as error:
                raise BrowserError(f"{error} (waiting for {what})") from None


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are numbered 10 or above, clear of the fds 3 and 4 Chromium wants."""
    read, write = os.pipe()
    try:
        return fcntl.fcntl(read, fcntl.F_DUPFD_CLOEXEC, 10), \
            fcntl.fcntl(write, fcntl.F_DUPFD_CLOEXEC, 10)
    finally:
        os.close(read)
        os.close(write)


@contextmanager
def _browser(chromium: Path, timeout: float) -> Iterator[_Pipe]:
    """A headless Chromium on a fresh profile with a DevTools pipe; closed afterwards."""
    commands_read, commands_write = _high_pipe()
    replies_read, replies_write = _high_pipe()
    profile = Path(tempfile.mkdtemp(prefix="racesim-chromium-"))
    # bash moves our pipe ends to fds 3 (commands) and 4 (replies), where
    # --remote-debugging-pipe expects them, and execs the browser (dash cannot name
    # fds above 9).
    script = f'exec "$0" "$@" 3<&{commands_read} 4>&{replies_write} ' \
             f'{commands_read}<&- {replies_write}>&-'
    command = [shutil.which("bash") or "/bin/bash", "-c", script, str(chromium),
               *chromium_flags(profile), "--remote-debugging-pipe", "about:blank"]
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   pass_fds=(commands_read, replies_write))
    except OSError as error:
        raise BrowserError(f"could not start Chromium ({chromium}): {error}") from error
    finally:
        os.close(commands_read)
        os.close(replies_write)
    pipe = _Pipe(process, commands_write, replies_read)
    try:
        yield pipe
        with suppress(BrowserError):
            pipe.call("Browser.close", timeout=timeout)
    except BrowserError as error:
        process.kill()
        stderr = process.communicate(timeout=10)[1].decode(errors="replace")
        tail = " | ".join(line for line in stderr.splitlines()[-5:] if line.strip())
        raise BrowserError(f"{error}; Chromium said: {tail or '(nothing)'}") from None
    finally:
        os.close(commands_write)
        os.close(replies_read)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(profile, ignore_errors=True)


_PROBE = """JSON.stringify({
  title: document.title,
  text: (document.body ? document.body.innerText : "").length,
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  images: Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,
      w: i.naturalWidth, h: i.naturalHeight}))
})"""


def _problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, exceptions and failed loads among the page's events."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(arg.get("value", arg.get("description", "")))
                            for arg in params.get("args", []))
            problems.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"uncaught exception: {text}")
        elif method == "Page.javascriptDialogOpening":
            problems.append(f"{params.get('type', 'dialog')} dialog: {params.get('message')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(f"{entry.get('source', 'log')}: {entry.get('text')} "
                            f"{entry.get('url', '')}".rstrip())
    return problems


def check_page(page: str | os.PathLike[str], *, chromium: str | os.PathLike[str] | None = None,
               width: int = 1280, height: int = 1600, full_page: bool = False,
               timeout: float = 60.0) -> PageCheck:
    """Open ``page`` (a file) in headless Chromium and report what a reader would get.

    The window is ``width`` × ``height`` CSS pixels; the screenshot covers that first
    screen, or the whole page with ``full_page``. Raises :class:`BrowserError` when
    Chromium is missing or does not load the page within ``timeout`` seconds.
    """
    path = Path(page).resolve()
    if not path.is_file():
        raise BrowserError(f"no page to check at {path}")
    url = path.as_uri()
    with _browser(find_chromium(chromium), timeout) as pipe:
        target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)
        session = pipe.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                      "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session)
        first = len(pipe.events)
        pipe.call("Page.navigate", {"url": url}, session=session, timeout=timeout)
        index = first
        while True:  # a dialog (alert, confirm) holds the load back: dismiss it, note it
            index = pipe.wait_for(lambda e: e.get("sessionId") == session and e.get("method")
                                  in ("Page.loadEventFired", "Page.javascriptDialogOpening"),
                                  "the page to load", timeout, start=index)
            if pipe.events[index]["method"] == "Page.loadEventFired":
                break
            pipe.call("Page.handleJavaScriptDialog", {"accept": False}, session=session)
            index += 1
        probe = json.loads(pipe.call("Runtime.evaluate", {
            "expression": _PROBE, "returnByValue": True}, session=session)["result"]["value"])
        shot: dict[str, Any] = {"format": "png"}
        if full_page:
            shot.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": probe["width"], "height": probe["height"],
                "scale": 1})
        screenshot = base64.b64decode(pipe.call("Page.captureScreenshot", shot,
                                                session=session, timeout=timeout)["data"])
        events = [e for e in pipe.events[first:] if e.get("sessionId") == session]
    images = tuple(Image(str(i["alt"]), bool(i["complete"]), int(i["w"]), int(i["h"]))
                   for i in probe["images"])
    return PageCheck(url=url, title=str(probe["title"]), text_length=int(probe["text"]),
                     images=images, errors=tuple(_problems(events)), screenshot=screenshot,
                     width=int(probe["width"]), height=int(probe["height"]))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m racesim.report.browser PAGE.html [SHOT.png]``: check, save a screenshot.

    Exits 0 when the page is fine, 1 when it has a problem, 2 when it cannot be checked.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m racesim.report.browser",
        description="Open PAGE in headless Chromium, list console errors and images that "
                    "did not load, and save a screenshot.")
    parser.add_argument("page", type=Path, metavar="PAGE.html")
    parser.add_argument("screenshot", type=Path, nargs="?", metavar="SHOT.png")
    parser.add_argument("--width", type=int, default=1280, help="window width (CSS px)")
    parser.add_argument("--height", type=int, default=1600, help="window height (CSS px)")
    parser.add_argument("--full-page", action="store_true", help="screenshot the whole page")
    args = parser.parse_args(argv)
    try:
        check = check_page(args.page, width=args.width, height=args.height,
                           full_page=args.full_page)
    except BrowserError as error:
        print(f"racesim: error: {error}", file=sys.stderr)
        return 2
    if args.screenshot is not None:
        args.screenshot.write_bytes(check.screenshot)
    print(f"{check.url}: {len(check.images)} image(s), {len(check.broken_images)} broken, "
          f"{len(check.errors)} error(s), page {check.width}×{check.height} px")
    for line in check.errors:
        print(f"  {line}")
    return 0 if check.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
