"""The live view's incremental reads (health/day_tail.py) give exactly what a full re-read
gives: after random sequences of real writes, the snapshot a long-lived ``DayTail`` serves
equals ``take_snapshot`` reading the whole day again, on the same connection.

The writes go through the real recorder (``ProductionMonitor`` on injected clocks) and the
watchdog's real ``AlertLog``: signals fresh, stale, future, whole hours off and from the
previous session; gate decisions across buckets (5-minute ones and the hourly "closed" one),
heartbeats with silences that start new spans; clean and unclean restarts, thresholds that
change with a new run; a second loop, a loop whose clock is ahead of the console's or goes
back into an older bucket; watchdog alerts; the console's clock behind, ahead, going back;
a day rollover. Hypothesis shrinks a failure to the shortest sequence that shows it.
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import tempfile
import tracemalloc
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health import MonitorConfig, ProductionMonitor
from health.calendar import get_calendar
from health.day_tail import DayTail
from health.live import take_snapshot
from health.simulation import SimClock, at
from store import increments
from store.alert_log import AlertLog
from store.reader import StoreReader

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
CAL = get_calendar("XNYS")
DAY = date(2025, 12, 10)
NEXT_DAY = date(2025, 12, 11)
PREV_CLOSE = at(date(2025, 12, 9), 16, 0)
LOOPS = ("alpha", "beta")

# What the loop's data is, relative to its clock: fresh, stale, a little in the future,
# whole hours behind or ahead (a time-zone label error), the previous session's last bar.
AGES = [1.0, 2.5, 4000.0, -30.0, 3600.0, -3600.0, 18000.0, "prev"]
STEPS = [0.05, 1.0, 20.0, 290.0, 310.0, 1900.0, 3700.0]  # within a bucket, across, a gap, an hour

loop_op = st.tuples(
    st.just("loop"),
    st.sampled_from(LOOPS),
    st.sampled_from(STEPS),
    st.sampled_from(AGES),
    st.booleans(),  # ask the gate
    st.integers(0, 3),  # signals
)
ops = st.one_of(
    loop_op,
    loop_op,
    loop_op,
    st.tuples(st.just("back"), st.sampled_from(LOOPS), st.sampled_from([2.0, 400.0, 4000.0])),
    st.tuples(st.just("restart"), st.sampled_from(LOOPS), st.booleans(), st.sampled_from([1.0, 0.5])),
    st.tuples(st.just("watchdog"), st.sampled_from(["NO_ACTIVITY", "STALE_DATA"]), st.booleans()),
    st.tuples(st.just("dropped"), st.sampled_from(LOOPS), st.integers(1, 50)),
    st.tuples(st.just("console"), st.sampled_from([-10.0, 0.0, 0.5, 30.0, 900.0])),
    st.tuples(st.just("rollover")),
)


class World:
    """The store, its loops on their own clocks, the watchdog's alert log, the console's clock."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.clocks = {name: SimClock(at(DAY, 9, 20) + i * 7) for i, name in enumerate(LOOPS)}
        self.monitors: dict[str, ProductionMonitor] = {}
        self.limits = dict.fromkeys(LOOPS, 1.0)
        for name in LOOPS:
            self.start(name)
        self.console_lag = 0.5
        self.console_now = self.newest() + self.console_lag
        self.alert_log = AlertLog(store)

    def start(self, name: str) -> None:
        self.monitors[name] = ProductionMonitor(
            MonitorConfig(
                store_path=str(self.store),
                clock=self.clocks[name],
                source=name,
                check_interval_seconds=5,
                max_data_age_hours=self.limits[name],
                max_uptime_gap_minutes=10,
                flush_interval_seconds=0.01,
            )
        )

    def newest(self) -> float:
        return max(c.now for c in self.clocks.values())

    def apply(self, op: tuple) -> None:
        kind = op[0]
        if kind == "loop":
            _, name, step, age, gate, signals = op
            clock, mon = self.clocks[name], self.monitors[name]
            clock.advance(step)
            data_ts = PREV_CLOSE - 60 if age == "prev" else clock.now - age
            if gate:
                mon.should_generate_signals(data_ts)
            mon.record_activity()
            for i in range(signals):
                mon.record_signal(("AAPL", "MSFT", "SPY")[i % 3], data_ts)
        elif kind == "back":
            self.clocks[op[1]].now -= op[2]
            self.monitors[op[1]].should_generate_signals(self.clocks[op[1]].now - 1)
        elif kind == "restart":
            _, name, clean, limit = op
            mon = self.monitors[name]
            mon.close() if clean else mon.abandon()
            self.limits[name] = limit
            self.clocks[name].advance(3)
            self.start(name)
        elif kind == "watchdog":
            _, code, resolved = op
            self.alert_log.record_alert("alpha", code, "CRITICAL", f"{code} seen", self.console_now, resolved)
        elif kind == "dropped":  # what a recorder writes after an outage that overflowed its buffer
            _, name, count = op
            with sqlite3.connect(self.store) as conn:
                conn.execute(
                    "INSERT INTO events (source, run_id, at, kind, detail) VALUES (?, ?, ?, 'dropped_events', ?)",
                    (
                        name,
                        self.monitors[name].recorder.run.run_id,
                        self.clocks[name].now,
                        f'{{"count": {count}}}',
                    ),
                )
            conn.close()
        elif kind == "console":
            self.console_lag = op[1]
        elif kind == "rollover":  # everyone wakes up on the next day, before the open
            for i, clock in enumerate(self.clocks.values()):
                clock.now = max(clock.now, at(NEXT_DAY, 9, 25) + i * 3)
        for mon in self.monitors.values():
            assert mon.flush()
        self.console_now = self.newest() + self.console_lag

    def close(self) -> None:
        for mon in self.monitors.values():
            mon.close()
        self.alert_log.close()


def compare(reader: StoreReader, tails: dict, now: float) -> int:
    """Every tail's snapshot equals a full re-read's; returns how many loops were seen."""
    seen = 0
    for source, tail in tails.items():
        with increments.consistent(
            reader
        ):  # both at one commit: the recorder writes its calendar after a flush
            full = take_snapshot(reader, CAL, now, source, alive=lambda run: None)
            incremental = take_snapshot(reader, CAL, now, source, alive=lambda run: None, tail=tail)
        assert incremental == full, (source, now)
        if full.report is not None:
            seen += len(full.report.sources)
            assert full.report.to_json() == incremental.report.to_json()
    return seen


@settings(max_examples=400 if LONG else 40, deadline=None, database=None)
@given(st.lists(ops, min_size=1, max_size=45 if LONG else 30))
def test_incremental_snapshot_equals_a_full_re_read(sequence: list[tuple]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="day-tail-"))
    world = World(tmp / "health.db")
    reader = StoreReader(world.store)
    tails = {None: DayTail(), "alpha": DayTail()}
    try:
        compare(reader, tails, world.console_now)
        for op in sequence:
            world.apply(op)
            compare(reader, tails, world.console_now)
        # The console's clock runs on with nothing written: rows stamped ahead of it come in.
        compare(reader, tails, world.console_now + 3600)
    finally:
        reader.close()
        world.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_busy_sequence_reads_only_what_is_new(tmp_path: Path) -> None:
    """One seeded long run: thousands of signals, looks in between; the tail reads the day
    from scratch once (and once more after the day rolls over), yet agrees every time."""
    world = World(tmp_path / "health.db")
    reader = StoreReader(world.store)
    tail = DayTail()
    try:
        for i in range(120):
            world.apply(("loop", LOOPS[i % 2], 20.0, 2.5 if i % 17 else 4000.0, True, 3))
            if i % 10 == 0:
                assert compare(reader, {None: tail}, world.console_now) == 2
        assert tail.full_reads == 1
        world.apply(("rollover",))
        world.apply(("loop", "alpha", 400.0, 2.5, True, 2))
        compare(reader, {None: tail}, world.console_now)
        assert tail.full_reads == 2
    finally:
        reader.close()
        world.close()


def test_a_loop_whose_clock_went_back_is_seen_by_the_gate_fingerprint(tmp_path: Path) -> None:
    """A decision lands in a bucket the tail had already put away as settled: the fingerprint
    of the settled buckets no longer matches, and they are read again."""
    world = World(tmp_path / "health.db")
    reader = StoreReader(world.store)
    tail = DayTail()
    try:
        for _ in range(12):
            world.apply(("loop", "alpha", 1000.0, 2.5, True, 1))
        compare(reader, {None: tail}, world.console_now)
        before = tail.gate(reader, at(DAY, 0, 0), world.console_now, "alpha")
        world.clocks["alpha"].now -= 3 * 3600  # into a bucket far behind the recent ones
        world.monitors["alpha"].should_generate_signals(world.clocks["alpha"].now - 1)
        assert world.monitors["alpha"].flush()
        compare(reader, {None: tail}, world.console_now)
        after = tail.gate(reader, at(DAY, 0, 0), world.console_now, "alpha")
        assert sum(g.count for g in after) == sum(g.count for g in before) + 1
    finally:
        reader.close()
        world.close()


def test_a_replaced_store_or_a_new_schema_is_read_from_scratch(tmp_path: Path) -> None:
    world = World(tmp_path / "health.db")
    try:
        world.apply(("loop", "alpha", 20.0, 2.5, True, 2))
        tail = DayTail()
        with StoreReader(world.store) as reader:
            compare(reader, {None: tail}, world.console_now)
        copy = tmp_path / "copy.db"
        with sqlite3.connect(world.store) as src, sqlite3.connect(copy) as dest:
            src.backup(dest)  # the WAL's part too: the loop still has the store open
        with StoreReader(copy) as other:  # another connection: another file, maybe
            compare(other, {None: tail}, world.console_now)
        assert tail.full_reads == 2
        with StoreReader(world.store) as reader:
            compare(reader, {None: tail}, world.console_now)
            reads = tail.full_reads
            conn = sqlite3.connect(world.store)
            conn.execute("CREATE TABLE later_migration (x)")  # what a migration does
            conn.commit()
            conn.close()
            compare(reader, {None: tail}, world.console_now)
            assert tail.full_reads == reads + 1
    finally:
        world.close()


@pytest.mark.parametrize("lag", [-120.0, 0.0, 0.5])
def test_rows_stamped_after_now_wait_for_their_time(tmp_path: Path, lag: float) -> None:
    world = World(tmp_path / "health.db")
    reader = StoreReader(world.store)
    tail = DayTail()
    try:
        compare(reader, {None: tail}, world.console_now)  # both loops' tallies exist: the rest is new
        assert set(tail._tallies) == set(LOOPS)
        world.apply(("console", lag))
        for _ in range(5):
            world.apply(("loop", "beta", 30.0, 2.5, True, 2))
        now = world.console_now
        fresh = DayTail()  # a first look with rows at and after now
        compare(reader, {None: fresh}, now)
        snap = take_snapshot(reader, CAL, now, alive=lambda run: None, tail=tail)
        assert snap == replace(
            take_snapshot(reader, CAL, now, alive=lambda run: None), data_version=snap.data_version
        )
        for later in (now + 60, now + 121, now + 3600):
            assert take_snapshot(reader, CAL, later, alive=lambda run: None, tail=tail) == replace(
                take_snapshot(reader, CAL, later, alive=lambda run: None), data_version=snap.data_version
            )
            compare(reader, {None: fresh}, later)
    finally:
        reader.close()
        world.close()


def test_a_read_that_fails_half_way_is_not_counted_twice(tmp_path: Path, monkeypatch) -> None:
    """The store fails after the tail took in part of what was new: the next look reads the
    day again rather than adding the same signals a second time."""
    from store.reader import StoreUnavailable

    world = World(tmp_path / "health.db")
    reader = StoreReader(world.store)
    tail = DayTail()
    try:
        compare(reader, {None: tail}, world.console_now)
        for _ in range(30):
            world.apply(("loop", "alpha", 1.0, 2.5, True, 2))
        real = increments.signals_after

        def failing(*a, **kw):
            batches = real(*a, **{**kw, "batch": 10})
            yield next(batches)
            raise StoreUnavailable("disk I/O error")

        monkeypatch.setattr(increments, "signals_after", failing)
        with pytest.raises(StoreUnavailable):
            take_snapshot(reader, CAL, world.console_now, alive=lambda run: None, tail=tail)
        monkeypatch.setattr(increments, "signals_after", real)
        compare(reader, {None: tail}, world.console_now)
    finally:
        reader.close()
        world.close()


def test_what_the_tail_keeps_grows_by_a_data_age_per_signal_and_not_with_beats(tmp_path: Path) -> None:
    """Memory stays flat however busy the loop (docs/ARCHITECTURE.md, "The live view costs the
    same on a busy day"): heartbeats and gate decisions, however many, add nothing the tail
    keeps but the day's few gate buckets; a signal adds its data age (8 bytes, for the exact
    median), not a record. Measured as what is still allocated from the tail's code after
    5,000 loop iterations of each kind, looked at every 500 as the console does."""
    clock = SimClock(at(DAY, 9, 35))
    mon = ProductionMonitor(
        MonitorConfig(
            store_path=str(tmp_path / "health.db"), clock=clock, source="alpha", check_interval_seconds=5
        )
    )
    reader = StoreReader(tmp_path / "health.db")
    tail = DayTail()

    def loop(iterations: int, signal: bool) -> None:
        for i in range(iterations):
            clock.advance(0.05)
            mon.should_generate_signals(clock.now - 2.5)
            mon.record_activity()
            if signal:
                mon.record_signal("AAPL", clock.now - 2.5)
            if i % 500 == 499:
                assert mon.flush()
                take_snapshot(reader, CAL, clock.now + 0.5, alive=lambda run: None, tail=tail)

    def kept() -> int:
        gc.collect()
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, "*/health/day_tail.py", all_frames=True)]
        )
        return sum(stat.size for stat in snap.statistics("filename"))

    try:
        loop(2000, True)  # the loop's tally and today's buckets exist
        tracemalloc.start(30)
        try:
            loop(5_000, False)
            beats = kept()
            loop(5_000, True)
            signals = kept() - beats
        finally:
            tracemalloc.stop()
        assert beats < 8_000  # ~2 new 5-minute gate buckets in 250 s; nothing per beat
        assert 8 * 5_000 <= signals <= 16 * 5_000
        assert tail.full_reads == 1
    finally:
        reader.close()
        mon.close()
