"""Why a database path cannot be used, said before the store opens it.

Opening a store creates the missing folders and appends to the write-ahead log, and a snapshot is later written
beside the file and renamed over it: so the path's folder must be (or be creatable as) a writable folder. The
operating system's own error for a path that goes through a file is "File exists" or "Not a directory", which
names neither the file in the way nor what to do; `check` names both.
"""

from __future__ import annotations

import os
from pathlib import Path

from mockserver.settings import MEMORY


class DatabasePathError(ValueError):
    """The database path is unusable; the message names the path, the part in the way and why."""


def check(db: str) -> None:
    """Raise DatabasePathError if the mock could not keep its database at `db` (":memory:" always works)."""
    if db == MEMORY:
        return
    path = Path(db)
    try:
        problem = _problem(path)
    except PermissionError:
        problem = _unreachable(path)
    if problem:
        raise DatabasePathError(f"cannot keep the database at {db}: {problem}")


def _problem(path: Path) -> str | None:
    if path.is_dir():
        return f"{path} is a folder; give a file in it, e.g. --db {path / 'collect.json'}"
    if path.exists() and not path.is_file():
        return f"{path} is not a regular file"
    folder = path.parent
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if _read_only(folder):
        return f"{folder} is on a read-only file system"
    if not os.access(folder, os.W_OK | os.X_OK):
        if missing:
            return f"no permission to create {missing[-1]} in {folder} ({_owner(folder)})"
        return f"no permission to write in {folder}, where the database and its log live ({_owner(folder)})"
    for file in (path, path.with_name(path.name + ".wal")):
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            return f"no permission to read and write {file} ({_owner(file)})"
    return None


def _unreachable(path: Path) -> str:
    """The first folder on the way that may not be searched (a stat below it fails with EACCES)."""
    for folder in reversed(path.absolute().parents):
        if not os.access(folder, os.X_OK):
            return f"no permission to enter {folder} ({_owner(folder)})"
    return f"no permission to reach {path}"


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _owner(path: Path) -> str:
    """`owned by uid 0, mode 0555; you are uid 1000`: what a user needs to see to fix a permission."""
    stat = path.stat()
    return f"owned by uid {stat.st_uid}, mode {stat.st_mode & 0o7777:04o}; you are uid {os.geteuid()}"
