"""A simulated trading loop driven through the public recorder API on an injected clock.

Used by the demo, the screenshots, the benchmarks and the scenario tests, so all of them
exercise exactly what a real loop does: gate, heartbeat, signal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from health.calendar import get_calendar
from health.config import MonitorConfig
from health.monitor import ProductionMonitor

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "SPY")


@dataclass
class SimClock:
    """A settable clock: ``MonitorConfig(clock=clock)``."""

    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def at(day: date, hh: int, mm: int = 0, ss: int = 0, calendar: str = "XNYS") -> float:
    tz = get_calendar(calendar).tz
    return datetime.combine(day, time(hh, mm, ss), tz).timestamp()


def monitor(store: str | Path, clock: SimClock, **config) -> ProductionMonitor:
    return ProductionMonitor(MonitorConfig(store_path=str(store), clock=clock, **config))


def run_loop(
    mon: ProductionMonitor,
    clock: SimClock,
    until: float,
    *,
    step: float = 60.0,
    data_lag: float = 5.0,
    data_ts_fn=None,
    gate: bool = True,
    signal_every: int = 1,
    symbols: tuple[str, ...] = SYMBOLS,
) -> int:
    """One iteration per ``step`` seconds until ``until``: the contract's loop. Returns the
    number of signals generated."""
    n = 0
    i = 0
    while clock.now < until:
        data_ts = data_ts_fn(clock.now) if data_ts_fn else clock.now - data_lag
        if gate:
            ok, _ = mon.should_generate_signals(data_ts)
        else:
            ok = True
        mon.record_activity()
        if ok and i % signal_every == 0:
            mon.record_signal(symbols[i % len(symbols)], data_ts)
            n += 1
        i += 1
        clock.advance(step)
    return n


def in_own_process(fn, *args) -> None:
    """Run a simulated loop in a process of its own that then exits, so that — as after a
    real crash — its pid is not running any more when the store is analysed."""
    import multiprocessing

    proc = multiprocessing.get_context("spawn").Process(target=fn, args=args)
    proc.start()
    proc.join(120)
    if proc.exitcode != 0:
        raise RuntimeError(f"simulated loop {fn.__name__} failed (exit {proc.exitcode})")


def seed_dec11_story(
    store: str | Path, own_process: bool = True, source: str = "default", config: dict | None = None
) -> None:
    """The Dec 11 story, the incident this project exists for: the loop ran overnight on the
    previous session's data, generated 105 signals after hours (no gate), and died at 02:35:48
    ET on 2025-12-11; nothing ran during RTH. By default it runs in a process of its own that is
    gone afterwards, as it would be. ``source`` names the loop and ``config`` adds to its
    MonitorConfig (the demo records the story as its own loop, with its thresholds)."""
    if own_process:
        in_own_process(seed_dec11_story, str(store), False, source, config)
        return
    d10, d11 = date(2025, 12, 10), date(2025, 12, 11)
    clock = SimClock(at(d10, 9, 25))
    mon = monitor(store, clock, **({"check_interval_seconds": 60} | (config or {}) | {"source": source}))
    # A healthy Dec 10 session, gated.
    run_loop(mon, clock, at(d10, 16, 0), step=60, signal_every=5)
    # After the close the feed stops at the last bar (15:59) and the loop, ungated, carries on.
    last_bar = at(d10, 15, 59)
    first_sig = at(d11, 0, 0)
    died = at(d11, 2, 35, 48)
    spacing = (died - first_sig) / 105
    next_sig = first_sig
    sent = 0
    while clock.now < died:
        mon.record_activity()
        if clock.now >= next_sig and sent < 105:
            mon.record_signal(SYMBOLS[sent % len(SYMBOLS)], last_bar, note="no gate")
            sent += 1
            next_sig += spacing
        clock.advance(min(60.0, max(1.0, next_sig - clock.now)) if sent < 105 else 60.0)
        if clock.now > died:
            clock.now = died
            mon.record_activity()
            break
    mon.abandon()  # the process died: no clean stop


def iter_days(start: date, end: date) -> Iterator[date]:
    from datetime import timedelta

    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)
