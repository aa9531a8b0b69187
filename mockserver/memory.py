"""Python's cycle collector, kept out of the way of a large in-memory database.

Loading 100,000 records creates millions of objects; the collector would walk all of them again and again while
they are created, and then on every full collection while the server runs (0.7 s pauses at 100k records).
Records hold no reference cycles, so the mock pauses collection while it loads and then moves what it loaded
out of the collector's sight (`gc.freeze`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def settle() -> None:
    """Exempt every object alive now from future collections: the loaded records are here to stay."""
    gc.freeze()
