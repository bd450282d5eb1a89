"""The cyclic garbage collector held off during a batch of pure work.

A report over a period builds tens of thousands of small frozen records (each day's inputs,
judgements and report) while it holds the period's rows: every full collection on the way
walks all of them, to find no cycle — the records hold none, and reference counting frees
them as before. A year's range spent a fifth of its cadence learning in one such collection.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic collection inside; the collector as it was afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
