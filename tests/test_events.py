"""The monitor → recorder events follow their one declared layout (store/events.py), and the
store aggregates gate decisions by the rule the domain hands it."""

from __future__ import annotations

import collections
import types
from pathlib import Path
from typing import Literal, get_args, get_origin

from conftest import FakeClock, count, ny, query

from health.gate import REASON_CODES
from health.monitor import gate_bucket_seconds
from store import events
from store.schema import MAX_GATE_BUCKET_SECONDS


def _conforms(event: tuple) -> bool:
    layout = get_args(events.LAYOUTS[event[0]])
    if len(event) != len(layout):
        return False
    for value, expected in zip(event, layout, strict=True):
        if get_origin(expected) is Literal:
            ok = value in get_args(expected)
        elif isinstance(expected, types.UnionType):
            ok = isinstance(value, get_args(expected))
        elif expected is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int)
        else:
            ok = isinstance(value, expected)
        if not ok:
            return False
    return True


def test_every_event_the_monitor_puts_has_its_declared_layout(make_monitor, store_path: Path) -> None:
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    mon = make_monitor(clock=clock, check_interval_seconds=10)
    put: list[tuple] = []
    real_put = mon._put
    mon._put = lambda ev: (put.append(ev), real_put(ev))  # what the loop's calls hand over
    assert mon.should_generate_signals(clock.epoch - 5)[0]
    mon.record_activity()
    mon.record_signal("AAPL", clock.epoch - 5, side="buy")
    clock.advance(60)
    assert not mon.should_generate_signals(clock.epoch - 7200)[0]  # STALE_DATA fires: an alert
    clock.set(ny(2025, 12, 10, 17, 0))
    mon.record_signal("MSFT", clock.epoch - 5)  # after hours: an alert, no details
    kinds = [ev[0] for ev in put]
    assert kinds.count(events.GATE) == 2 and kinds.count(events.SIGNAL) == 2
    assert kinds.count(events.ALERT) == 2
    assert all(_conforms(ev) for ev in put), [ev for ev in put if not _conforms(ev)]
    # and the recorder's own (span, stop, mark) as they reach the queue
    queued: list[tuple] = []

    class Spy(collections.deque):
        def append(self, ev: tuple) -> None:
            queued.append(ev)
            super().append(ev)

    assert mon.flush()  # the queue is empty: swapping it loses nothing
    mon.recorder._queue = Spy(mon.recorder._queue)
    clock.advance(3600)  # a beat far from the last closes its span
    mon.record_activity()
    assert mon.flush()
    mon.close()
    assert {ev[0] for ev in queued} >= {events.SPAN, events.MARK, events.STOP}
    assert all(_conforms(ev) for ev in queued), queued
    assert count(store_path, "signals") == 2 and count(store_path, "alerts") == 2


def test_the_gate_buckets_follow_the_rule_the_monitor_hands_the_store(make_monitor, store_path: Path) -> None:
    clock = FakeClock(ny(2025, 12, 10, 7, 0))  # pre-market: "closed", then open: "ok"
    mon = make_monitor(clock=clock)
    for minute in range(0, 180, 7):
        clock.set(ny(2025, 12, 10, 7 + minute // 60, minute % 60))
        mon.should_generate_signals(clock.epoch - 5)
    assert mon.flush()
    rows = query(store_path, "SELECT code, bucket FROM gate ORDER BY bucket")
    for code, bucket in rows:
        assert bucket % gate_bucket_seconds(code) == 0
    assert {code for code, _ in rows} == {"closed", "ok"}
    assert {gate_bucket_seconds("closed"), gate_bucket_seconds("ok")} == {3600, 300}
    # the reader looks back far enough for every bucket the rule makes
    assert max(gate_bucket_seconds(code) for code in REASON_CODES) <= MAX_GATE_BUCKET_SECONDS
