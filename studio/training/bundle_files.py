"""A bundle's files are untrusted input: what may be read from it and copied into the data folder.

A bundle comes back from another machine (or from anyone), so nothing in it is followed or
trusted: only plain folders and regular files whose names use a fixed alphabet are accepted,
each file is bounded in size, and every destination is checked to stay inside the folder it
is copied into. A symbolic link (to the user's SSH key, to ``/dev/zero``), a named pipe, a
device or a socket anywhere in the bundle refuses the whole bundle, naming the entry.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from studio.errors import StudioError, printable

# Every name a bundle gives (its fields, its files) is limited to these characters: no path
# separators, no "..", nothing a shell or a terminal treats specially.
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+=-]{0,199}")
MAX_FILE_BYTES = 64 * 2**30  # a whole 7B model's fp32 weights in one file fit; /dev/zero does not
MAX_JSON_BYTES = 4 * 2**20  # bundle.json, config.json: a few KB when written by the app
MAX_ENTRIES = 200_000
MAX_DEPTH = 16
SPARE_BYTES = 64 * 2**20  # left free after an import, for the database and the logs
_CHUNK = 2**20
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_BINARY", 0))


class BundleError(StudioError):
    """A bundle cannot be written or read; the message names the file and the fix."""


@dataclass(frozen=True)
class Entry:
    """A folder or a regular file of a bundle, by its path relative to the bundle's folder."""

    relative: PurePosixPath
    size: int
    is_dir: bool


def valid_name(text: object) -> bool:
    return isinstance(text, str) and NAME.fullmatch(text) is not None


def scan_tree(root: Path, where: str) -> list[Entry]:
    """Every entry under ``root`` without following anything; raises :class:`BundleError` for
    a link, a pipe, a device, an odd name, a file over the size limit or a tree too deep."""
    _require_dir(root, where)
    entries: list[Entry] = []
    pending = [(root, PurePosixPath())]
    while pending:
        folder, relative = pending.pop()
        if len(relative.parts) >= MAX_DEPTH:
            raise BundleError(f"{where}/{relative}: folders nested over {MAX_DEPTH} deep")
        with os.scandir(folder) as listing:
            for item in sorted(listing, key=lambda e: e.name):
                entry = _entry(item, relative / item.name, where)
                entries.append(entry)
                if entry.is_dir:
                    pending.append((Path(item.path), entry.relative))
        if len(entries) > MAX_ENTRIES:
            raise BundleError(f"{where}: more than {MAX_ENTRIES:,} files; not a run folder")
    return entries


def _entry(item: os.DirEntry[str], relative: PurePosixPath, where: str) -> Entry:
    shown = printable(f"{where}/{relative}")
    if not valid_name(item.name):
        raise BundleError(f"{shown}: a name a bundle may not hold (letters, digits and ._+=-"
                          " only); nothing was imported")
    mode = item.stat(follow_symlinks=False)
    if stat.S_ISDIR(mode.st_mode):
        return Entry(relative, 0, True)
    if not stat.S_ISREG(mode.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(mode.st_mode) else "not a regular file"
        raise BundleError(f"{shown} is {kind}: a bundle holds plain files and folders only;"
                          " nothing was imported")
    if mode.st_size > MAX_FILE_BYTES:
        raise BundleError(f"{shown} is {mode.st_size / 2**30:.1f} GB, over the"
                          f" {MAX_FILE_BYTES // 2**30} GB a bundle's file may have")
    return Entry(relative, mode.st_size, False)


def _require_dir(path: Path, where: str) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        raise BundleError(f"{where} is missing: the bundle is incomplete") from None
    if not stat.S_ISDIR(mode):
        raise BundleError(f"{where} is not a plain folder (a link or a file); nothing was"
                          " imported")


def check_space(target: Path, entries: list[Entry]) -> None:
    """Refuse before copying when the files would not fit with room to spare."""
    need = sum(e.size for e in entries) + SPARE_BYTES
    free = shutil.disk_usage(target).free
    if need > free:
        raise BundleError(f"the bundle needs {need / 2**20:,.0f} MB (with room to spare) and"
                          f" the disk of {target} has {free / 2**20:,.0f} MB free; free some"
                          " space and import again")


def copy_tree(root: Path, entries: list[Entry], dest: Path, where: str) -> None:
    """Copy the scanned ``entries`` of ``root`` into the new, empty folder ``dest``. Each file
    is opened without following links and checked again once open (it may have been swapped
    since the scan), and at most its scanned size is copied."""
    top = dest.resolve()
    for entry in entries:
        target = dest.joinpath(*entry.relative.parts)
        if not target.resolve().is_relative_to(top):
            raise BundleError(f"{where}/{entry.relative}: points outside {dest}")
        if entry.is_dir:
            target.mkdir()
        else:
            _copy_file(root.joinpath(*entry.relative.parts), target, entry.size, where)


def _copy_file(source: Path, target: Path, size: int, where: str) -> None:
    try:
        handle = os.open(source, _OPEN_FLAGS)
    except OSError as error:
        raise BundleError(f"{where}: {source.name} cannot be opened as a plain file"
                          f" ({error.strerror})") from None
    with os.fdopen(handle, "rb") as reader, target.open("xb") as writer:
        now = os.fstat(reader.fileno())
        if not stat.S_ISREG(now.st_mode) or now.st_size != size:
            raise BundleError(f"{where}: {source.name} changed while it was imported; import"
                              " again")
        left = size
        while left > 0:
            block = reader.read(min(_CHUNK, left))
            if not block:
                break
            writer.write(block)
            left -= len(block)


def read_small(path: Path, where: str) -> str:
    """A small text file of a bundle (bundle.json): a regular file, not a link, within
    :data:`MAX_JSON_BYTES`, UTF-8."""
    try:
        mode = path.lstat()
    except FileNotFoundError:
        raise BundleError(f"{where} is missing: the bundle is incomplete") from None
    if not stat.S_ISREG(mode.st_mode):
        raise BundleError(f"{where} is not a plain file (a link, a pipe or a device); nothing"
                          " was imported")
    if mode.st_size > MAX_JSON_BYTES:
        raise BundleError(f"{where} is {mode.st_size / 2**20:.1f} MB, over the"
                          f" {MAX_JSON_BYTES // 2**20} MB such a file may have")
    handle = os.open(path, _OPEN_FLAGS)
    with os.fdopen(handle, "rb") as reader:
        data = reader.read(MAX_JSON_BYTES + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{where}: not UTF-8 text") from None
