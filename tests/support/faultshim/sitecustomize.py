"""A disk that refuses, for a server process: with this folder on PYTHONPATH, `os.write`, `os.fsync`,
`os.ftruncate` and `os.replace` fail with EIO for files under `$COLLECT_TEST_FAULT_PATH` while their names are
listed in the file `$COLLECT_TEST_FAULTS` (one a line: write, fsync, ftruncate, replace). The test writes that file
to make the disk fail and empties it to make it sound again, while the server runs."""

import errno
import os

_CONTROL = os.environ.get("COLLECT_TEST_FAULTS", "")
_UNDER = os.environ.get("COLLECT_TEST_FAULT_PATH", "")
_real = {name: getattr(os, name) for name in ("write", "fsync", "ftruncate", "replace")}


def _failing(operation):
    try:
        with open(_CONTROL) as control:
            return operation in control.read().split()
    except OSError:
        return False


def _ours(fd):
    try:
        return bool(_UNDER) and os.readlink(f"/proc/self/fd/{fd}").startswith(_UNDER)
    except OSError:
        return False


def _refuse(name, operation, check):
    real = _real[name]

    def refusing(*args, **kwargs):
        if check(args) and _failing(operation):
            raise OSError(errno.EIO, f"Input/output error (injected: {operation})")
        return real(*args, **kwargs)

    return refusing


if _CONTROL and _UNDER:
    os.write = _refuse("write", "write", lambda a: _ours(a[0]))
    os.fsync = _refuse("fsync", "fsync", lambda a: _ours(a[0]))
    os.ftruncate = _refuse("ftruncate", "ftruncate", lambda a: _ours(a[0]))
    os.replace = _refuse("replace", "replace", lambda a: str(a[1]).startswith(_UNDER))
