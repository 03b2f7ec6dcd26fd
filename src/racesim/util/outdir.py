"""Output folders (``--out``): refused early when unusable, and never a user's file lost.

Every command that writes a folder — ``racesim run``, ``sweep``, ``report``, ``chaos``
and ``demo`` — calls :func:`prepare_out` before it simulates anything, and writes inside
:meth:`OutputFolder.staged`::

    folder = prepare_out("out/run", force=False)   # RacesimError now, not after the work
    ...                                            # simulate
    with folder.staged() as stage:                 # a hidden folder inside out/run
        frame.to_csv(stage.path("tables/x.csv"))   # write under stage.root
        stage.manifest.update(what="racesim run")
    stage.files                                    # what was written, relative to out/run

The rules:

* ``--out`` must be a folder, or a path where one can be created, and writable; a file,
  ``/proc/x`` or a read-only place is refused with one line.
* An existing folder must be empty or hold a ``manifest.json`` that racesim wrote (a JSON
  object with ``"racesim_manifest": 1`` — or, from earlier versions, ``"what": "racesim
  …"`` — and a ``"files"`` list). Anything else is refused unless ``force``.
* Files are written to a staging folder first and moved into place when the run is done,
  so a run that fails or is interrupted changes nothing. Before anything moves, every
  path about to be replaced must be a file the old manifest lists (or ``force`` must be
  given); otherwise nothing moves and the error names the file in the way.
* Files the old manifest lists that this run did not write again are removed (they are
  the previous run's); every other file is left alone. The new ``manifest.json`` lists
  every file written, as relative POSIX paths.
* Below the folder, paths are opened one component at a time without following links
  (``O_NOFOLLOW`` and directory file descriptors), so no link can lead a write or a
  removal outside it; a linked folder or a link in place of a file is left as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from racesim.errors import RacesimError

__all__ = ["MANIFEST", "MANIFEST_FORMAT", "OutputFolder", "Staging", "as_folder", "prepare_out"]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
"""The value of ``"racesim_manifest"`` in every manifest racesim writes."""

_STAGING_PREFIX = ".racesim-staging-"
_STAGING_MARK = ".racesim-staging"
_MAX_MANIFEST_BYTES = 64 * 2**20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _relative(name: object) -> PurePosixPath | None:
    """``name`` as a plain relative path below the folder, or None (absolute, ``..``, …)."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        return None
    return path


def _racesim_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest racesim wrote in ``root``, or None (none, unreadable, someone else's)."""
    manifest = root / MANIFEST
    try:
        info = manifest.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_MANIFEST_BYTES:
            return None
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    what = data.get("what")
    ours = data.get("racesim_manifest") == MANIFEST_FORMAT or \
        (isinstance(what, str) and what.startswith("racesim "))
    return data if ours and isinstance(data.get("files"), list) else None


def _listed_files(root: Path) -> frozenset[str] | None:
    """The files the racesim manifest in ``root`` lists, or None without such a manifest."""
    data = _racesim_manifest(root)
    if data is None:
        return None
    listed = (_relative(name) for name in data["files"])
    return frozenset(str(path) for path in listed if path is not None) | {MANIFEST}


def _is_leftover_staging(entry: os.DirEntry[str]) -> bool:
    """A staging folder an interrupted racesim run left behind (a real folder, marked)."""
    return entry.name.startswith(_STAGING_PREFIX) and entry.is_dir(follow_symlinks=False) \
        and os.path.isfile(os.path.join(entry.path, _STAGING_MARK))


def _others(root: Path) -> list[str]:
    """Names in ``root`` other than racesim's own leftover staging folders."""
    with os.scandir(root) as entries:
        return sorted(e.name for e in entries if not _is_leftover_staging(e))


@dataclass(frozen=True)
class OutputFolder:
    """An ``--out`` folder that :func:`prepare_out` accepted; write it with :meth:`staged`."""

    path: Path
    """As given (for messages)."""
    force: bool = False
    label: str = "--out"

    @property
    def root(self) -> Path:
        return Path(os.path.abspath(self.path))

    def _error(self, problem: str) -> RacesimError:
        return RacesimError(f"{self.label} {self.path}: {problem}")

    def _check(self) -> frozenset[str]:
        """Refuse the folder as it is now; the files its racesim manifest lists."""
        root = self.root
        if not root.exists():
            return frozenset()
        if not root.is_dir():
            raise self._error("is a file, not a folder")
        listed = _listed_files(root)
        if listed is None:
            others = _others(root)
            if others and not self.force:
                raise self._error(
                    f"the folder holds {len(others)} file(s) racesim did not write (e.g. "
                    f"{others[0][:80]!r}) and no racesim manifest.json; give an empty or "
                    "new folder, or --force to write beside them")
            return frozenset()
        return listed

    @contextmanager
    def staged(self, *, keep_others: bool = False) -> Iterator[Staging]:
        """Write under ``stage.root``; on success the files move into the folder.

        On an exception nothing in the folder changes. ``keep_others`` keeps (and lists
        again) the files of the previous run that this one does not write, instead of
        removing them, and keeps the old manifest's entries under the new ones: for a
        command that adds to a folder (``chaos --replay``).
        """
        self._check()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _remove_leftover_staging(self.root)
            staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))
            (staging / _STAGING_MARK).write_text(f"{os.getpid()}\n", encoding="ascii")
        except OSError as exc:
            raise self._error(f"cannot write there ({exc.strerror or exc})") from None
        stage = Staging(staging)
        try:
            yield stage
            stage.files = _Commit(self, stage, keep_others).run()
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _writer_is_gone(staging: str) -> bool:
    """Did the process that made this staging folder (its pid is in the mark) end?"""
    try:
        pid = int(Path(staging, _STAGING_MARK).read_text(encoding="ascii").strip())
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):  # unreadable, or alive under another user
        return False
    return False  # alive: that run may be writing there right now


def _remove_leftover_staging(root: Path) -> None:
    """Remove staging folders that interrupted runs left (not those of running ones)."""
    with os.scandir(root) as entries:
        leftovers = [e.path for e in entries if _is_leftover_staging(e)]
    for path in leftovers:
        if _writer_is_gone(path):
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class Staging:
    """Where a run writes before its files move into the output folder."""

    root: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    """Written as ``manifest.json``, with ``racesim_manifest`` and ``files`` added."""
    files: tuple[str, ...] = ()
    """After the ``with`` block: every file written, relative to the output folder."""

    def path(self, name: str) -> Path:
        """``stage.root / name``, its parent folders created."""
        if _relative(name) is None or name == MANIFEST:
            raise ValueError(f"not a file name racesim may write: {name!r}")
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


def _staged_files(staging: Path) -> list[str]:
    found = []
    for folder, _dirs, names in os.walk(staging):
        for name in names:
            relative = PurePosixPath(Path(folder, name).relative_to(staging).as_posix())
            if str(relative) not in (_STAGING_MARK, MANIFEST):
                found.append(str(relative))
    return sorted(found)


class _Commit:
    """Move a staging folder's files into the output folder, by the module's rules."""

    def __init__(self, folder: OutputFolder, stage: Staging, keep_others: bool) -> None:
        self.folder, self.stage, self.keep_others = folder, stage, keep_others
        self.fds: dict[PurePosixPath, int | None] = {}

    def run(self) -> tuple[str, ...]:
        listed = self.folder._check()  # again: the folder may have changed meanwhile
        written = _staged_files(self.stage.root)
        if self.keep_others:
            self.stage.manifest = {**(_racesim_manifest(self.folder.root) or {}),
                                   **self.stage.manifest}
        try:
            self.fds[PurePosixPath()] = os.open(self.folder.root, os.O_RDONLY | os.O_DIRECTORY)
            in_the_way = [problem for name in [*written, MANIFEST]
                          if (problem := self._obstacle(name, listed))]
            if in_the_way:
                more = f" (and {len(in_the_way) - 1} more)" if len(in_the_way) > 1 else ""
                forcible = not self.folder.force and in_the_way[0].endswith("wrote here")
                raise self.folder._error(f"{in_the_way[0]}{more}; nothing was written — "
                                         "move it away" + (" or use --force" if forcible
                                                           else ""))
            stale = sorted(listed - set(written) - {MANIFEST})
            kept = [n for n in stale if self._is_file(n)] if self.keep_others else []
            final = sorted({*written, *kept, MANIFEST})
            # First a manifest listing old and new files alike, so that a crash while
            # moving leaves no file of ours unlisted; then the files; then the real one.
            self._write_manifest(sorted({*final, *(n for n in stale if self._is_file(n))}))
            for name in written:
                self._move(name)
            if not self.keep_others:
                for name in stale:
                    self._remove(name)
            self._write_manifest(final)
            return tuple(final)
        except OSError as exc:
            raise self.folder._error(f"cannot write there ({exc.strerror or exc})") from None
        finally:
            for fd in self.fds.values():
                if fd is not None:
                    os.close(fd)

    def _dir(self, folder: PurePosixPath, create: bool = False) -> int | None:
        """A descriptor of ``folder`` below the root, reached without following links.

        None when it does not exist (or is not a real folder) and ``create`` is false.
        """
        fd = self.fds.get(folder)
        if fd is not None or (folder in self.fds and not create):
            return fd
        parent = self._dir(folder.parent, create)  # the root is always in self.fds
        if parent is not None:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(folder.name, dir_fd=parent)
            try:
                fd = os.open(folder.name, _DIR_FLAGS, dir_fd=parent)
            except OSError:
                if create:
                    raise
        self.fds[folder] = fd
        return fd

    def _lstat(self, name: str) -> os.stat_result | None:
        path = PurePosixPath(name)
        fd = self._dir(path.parent)
        if fd is None:
            return None
        try:
            return os.stat(path.name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _is_file(self, name: str) -> bool:
        info = self._lstat(name)
        return info is not None and stat.S_ISREG(info.st_mode)

    def _obstacle(self, name: str, listed: frozenset[str]) -> str | None:
        """Why ``name`` cannot be written, or None."""
        path = PurePosixPath(name)
        for folder in reversed(path.parents[:-1]):  # the root's sub-folders, outermost first
            info = self._lstat(str(folder))
            if info is None:
                break
            if not stat.S_ISDIR(info.st_mode):
                return f"{folder} is in the way (a file or link where racesim writes a folder)"
        info = self._lstat(name)
        if info is None:
            return None
        if stat.S_ISDIR(info.st_mode):
            return f"{name} is a folder where racesim writes a file"
        if name in listed or self.folder.force:
            return None
        return f"{name} is not a file racesim wrote here"

    def _move(self, name: str) -> None:
        path = PurePosixPath(name)
        os.replace(self.stage.root / name, path.name, dst_dir_fd=self._dir(path.parent, True))

    def _remove(self, name: str) -> None:
        """Remove a previous run's file (a regular file only) and folders it leaves empty."""
        if not self._is_file(name):
            return
        path = PurePosixPath(name)
        os.unlink(path.name, dir_fd=self._dir(path.parent))
        for folder in path.parents[:-1]:
            try:
                os.rmdir(folder.name, dir_fd=self._dir(folder.parent))
            except OSError:
                break
            fd = self.fds.pop(folder, None)
            if fd is not None:
                os.close(fd)

    def _write_manifest(self, files: list[str]) -> None:
        data = {**self.stage.manifest, "racesim_manifest": MANIFEST_FORMAT, "files": files}
        staged = self.stage.root / MANIFEST
        staged.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(staged, MANIFEST, dst_dir_fd=self.fds[PurePosixPath()])


def _probe(root: Path, label: str, path: Path) -> None:
    """Is the output folder writable, or creatable? Try it, and leave nothing behind."""
    if root.is_dir():
        try:
            Path(tempfile.mkdtemp(prefix=".racesim-probe-", dir=root)).rmdir()
        except OSError as exc:
            raise RacesimError(f"{label} {path}: cannot write there "
                               f"({exc.strerror or exc})") from None
        return
    created: list[Path] = []
    try:
        for folder in [*reversed(root.parents), root]:
            if folder.exists() and not folder.is_dir():
                raise RacesimError(f"{label} {path}: cannot create it ({folder} is a file)")
            if not folder.is_dir():
                folder.mkdir()
                created.append(folder)
    except OSError as exc:
        raise RacesimError(f"{label} {path}: cannot create it "
                           f"({exc.strerror or exc})") from None
    finally:
        for folder in reversed(created):
            folder.rmdir()


def prepare_out(path: str | os.PathLike[str], force: bool = False,
                label: str = "--out") -> OutputFolder:
    """Check an output folder before any work starts; a one-line RacesimError if unusable.

    Refused: a file, a path that cannot be created or written, and a non-empty folder
    without a racesim manifest (unless ``force``). Nothing is written when refused, and
    an accepted folder is left as it is until :meth:`OutputFolder.staged` writes it.
    """
    folder = OutputFolder(Path(path), force=force, label=label)
    folder._check()
    _probe(folder.root, label, folder.path)
    return folder


def as_folder(out: OutputFolder | str | os.PathLike[str], force: bool = False) -> OutputFolder:
    """``out`` itself when already prepared, else :func:`prepare_out` of it."""
    return out if isinstance(out, OutputFolder) else prepare_out(out, force=force)
