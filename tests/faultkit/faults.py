"""The faults, each injected into a real loop process (tests/faultkit/loop_child.py) busy at
5,000 signals/s, and counted into a :class:`FaultResult` (tests/faultkit/story.py).
tests/test_faults.py asserts the targets; bench/faults.py runs the same functions, more often,
and writes RELIABILITY.md."""

from faultkit.clock_faults import DST, clock_back, dst
from faultkit.store_faults import (
    deleted,
    disk_full,
    locked,
    read_only,
    replaced_by_empty,
    replaced_by_garbage,
    sigkill,
    sigkill_series,
    small_disk,
)
from faultkit.story import Unavailable
from faultkit.webhook_fault import webhook_down

__all__ = [
    "DST",
    "Unavailable",
    "clock_back",
    "deleted",
    "disk_full",
    "dst",
    "locked",
    "read_only",
    "replaced_by_empty",
    "replaced_by_garbage",
    "sigkill",
    "sigkill_series",
    "small_disk",
    "webhook_down",
]
