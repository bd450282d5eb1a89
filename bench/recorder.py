"""Recorder benchmark: what the health hook costs a trading loop, and what it stores.

    python bench/recorder.py            # full run (~40 s), prints a table, updates BENCHMARKS.md
    python bench/recorder.py --quick    # smaller smoke run, prints only (unless --write)

What it measures, all in one process run, while a second process polls the
store read-only the way the console does (``file:...?mode=ro``, ``PRAGMA data_version`` and
row counts every 75 ms):

1. Per-call latency of ``record_activity()`` and ``should_generate_signals(data_ts)``
   (``time.perf_counter_ns`` around every call): median, p99, p99.9, max, beside naive
   baselines measured in the same run: one ``INSERT`` + ``COMMIT`` per heartbeat into a WAL
   SQLite file (``synchronous=NORMAL``), and ``exchange_calendars``' ``is_open_on_minute``
   per gate call.
   Beside them, interleaved in the same run, prometheus_client's ``Counter.inc()``:
   ``record_activity``, the gate's allowed path and ``record_signal`` without details as
   multiples of it, the metric a loop would otherwise keep.
2. Sustained throughput: N ``record_signal`` calls as fast as possible, then ``flush()``;
   events/s from the first call to the end of the flush, and the row count in the store.
   Then the commit lag of a loop busy in Python recording 1k and 10k signals/s (what a SIGKILL
   would lose; docs/CONTRACT.md §2 allows the last second).
3. Storage: a year of 1 Hz heartbeats with 1,000 restarts, driven through the public API with
   an injected clock; gate decisions at 1 Hz (a real week, and a real year sampled at one call
   per 5 simulated minutes, which fills exactly the same aggregate rows).

Only the public API (``ProductionMonitor``, ``MonitorConfig``) drives the recorder; the store
is read back with plain sqlite3, and the recorder's ``written_events``/``dropped_events``
counters are only read.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import itertools
import json
import operator
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(REPO))

from bench._common import (  # noqa: E402
    BENCH_MD,
    BUSY_WARNING,
    load_average,
    load_before_after,
    machine_info,
    ro_uri,
    run_line,
    say,
    store_bytes,
    table_rows,
    verdict,
    write_section,
)
from bench._writer_trigger import trigger_cost  # noqa: E402

POLL_INTERVAL = 0.075  # the console polls every 50-100 ms
YEAR_SECONDS = 365 * 86400
RESTARTS = 1000
RESTART_DOWNTIME = 10.0  # seconds between a run's last beat and the next run's first

# Targets (docs/ARCHITECTURE.md, "Speed"; 2-core machine).
TARGET_ACT_MEDIAN_US = 2.0
TARGET_ACT_P999_US = 50.0
TARGET_ACT_MAX_US = 2000.0
TARGET_GATE_MEDIAN_US = 5.0
TARGET_EVENTS_PER_S = 100_000
# Our calls as multiples of prometheus_client's Counter.inc(), measured interleaved in the
# same run: what a loop pays for the hook beside the metric it would otherwise keep.
TARGET_VS_COUNTER = {
    "record_activity": 1.0,  # below 1x
    "should_generate_signals (allowed)": 3.0,
    "record_signal (no details)": 3.0,
}
VS_COUNTER_CHUNKS = 20
TARGET_YEAR_BYTES = 5_000_000


# ------------------------------------------------------------------------------------------
# the second process: a read-only poller, like the console
# ------------------------------------------------------------------------------------------
def poller_main(paths: list[str], stop_file: str) -> int:
    stats: dict[str, dict] = {
        p: {"polls": 0, "changes": 0, "errors": 0, "max_poll_ms": 0.0, "rows": {}, "last_error": None}
        for p in paths
    }
    conns: dict[str, sqlite3.Connection] = {}
    versions: dict[str, int] = {}
    tables: dict[str, list[str]] = {}
    print("ready", flush=True)
    while not os.path.exists(stop_file):
        for path in paths:
            st = stats[path]
            t0 = time.perf_counter()
            try:
                conn = conns.get(path)
                if conn is None:
                    if not os.path.exists(path):
                        continue
                    conn = sqlite3.connect(ro_uri(path), uri=True, timeout=1.0, isolation_level=None)
                    conns[path] = conn
                dv = conn.execute("PRAGMA data_version").fetchone()[0]
                if versions.get(path) != dv:
                    if path in versions:
                        st["changes"] += 1
                    versions[path] = dv
                    if path not in tables or not tables[path]:
                        tables[path] = [
                            r[0]
                            for r in conn.execute(
                                "SELECT name FROM sqlite_master WHERE type='table' "
                                "AND name NOT LIKE 'sqlite_%'"
                            )
                        ]
                    for name in tables[path]:
                        st["rows"][name] = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                st["polls"] += 1
            except sqlite3.Error as exc:
                st["errors"] += 1
                st["last_error"] = str(exc)
            st["max_poll_ms"] = max(st["max_poll_ms"], (time.perf_counter() - t0) * 1e3)
        time.sleep(POLL_INTERVAL)
    for conn in conns.values():
        conn.close()
    print(json.dumps(stats), flush=True)
    return 0


class Poller:
    """Runs ``poller_main`` in a separate interpreter for the whole measured run."""

    def __init__(self, paths: list[Path], workdir: Path) -> None:
        self.stop_file = workdir / "poller.stop"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--poller", str(self.stop_file), *map(str, paths)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"poller did not start: {line!r}")

    def stop(self) -> dict:
        self.stop_file.touch()
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------
# measurement helpers
# ------------------------------------------------------------------------------------------
class GcWatch:
    """Pauses of the cyclic garbage collector: the usual cause of rare multi-ms calls."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._t0 = 0.0
        self._gen = 0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gen = info["generation"]
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((self._gen, time.perf_counter() - self._t0))

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> str:
        if not self.pauses:
            return "no GC"
        gen2 = [p for g, p in self.pauses if g == 2]
        worst = max(p for _, p in self.pauses)
        return f"{len(self.pauses)} GC runs ({len(gen2)} full), longest {worst * 1e3:.1f} ms"


@dataclass
class Latency:
    name: str
    n: int
    median: float  # all in microseconds
    p99: float
    p999: float
    max: float
    note: str = ""
    over_1ms: int = 0
    gc: str = ""

    @classmethod
    def of(cls, name: str, ns: list[int], note: str = "", gc_text: str = "") -> Latency:
        s = sorted(ns)
        n = len(s)

        def rank(q: float) -> float:  # nearest-rank percentile
            return s[min(n - 1, max(0, int(q * n + 0.999999) - 1))] / 1e3

        return cls(
            name,
            n,
            rank(0.5),
            rank(0.99),
            rank(0.999),
            s[-1] / 1e3,
            note,
            sum(1 for v in s if v > 1_000_000),
            gc_text,
        )

    def stats(self) -> tuple[float, float, float, float]:
        return self.median, self.p99, self.p999, self.max


def time_calls0(fn, n: int) -> list[int]:
    pc = time.perf_counter_ns
    lat = [0] * n
    for i in range(n):
        t0 = pc()
        fn()
        lat[i] = pc() - t0
    return lat


def time_calls1(fn, arg, n: int) -> list[int]:
    pc = time.perf_counter_ns
    lat = [0] * n
    for i in range(n):
        t0 = pc()
        fn(arg)
        lat[i] = pc() - t0
    return lat


def measure(name: str, fn, n: int, *args, note: str = "") -> Latency:
    runner = time_calls0 if not args else functools.partial(time_calls1, arg=args[0])
    runner(fn, n=min(n, 2000))  # warm up (caches, first bucket, allocator)
    with GcWatch() as watch:
        ns = runner(fn, n=n)
    return Latency.of(name, ns, note, watch.summary())


def _noop() -> None:
    return None


def time_calls2(fn, a, b, n: int) -> list[int]:
    pc = time.perf_counter_ns
    lat = [0] * n
    for i in range(n):
        t0 = pc()
        fn(a, b)
        lat[i] = pc() - t0
    return lat


def phase_vs_counter(res: Results, store: Path, n: int) -> None:
    """prometheus_client's Counter.inc() and our three calls, interleaved in chunks so that
    each meets the same machine, every call timed like the others (perf_counter_ns around it:
    the timer floor is measured with them)."""
    from prometheus_client import CollectorRegistry, Counter

    from health import MonitorConfig, ProductionMonitor
    from health.calendar import get_calendar

    sim_start, _ = rth_instant(get_calendar("XNYS"))
    counter = Counter("bench_loop_iterations", "Loop iterations", registry=CollectorRegistry())
    with (
        ProductionMonitor(MonitorConfig(store_path=str(store), source="bench-vs-counter")) as mon,
        ProductionMonitor(
            MonitorConfig(
                store_path=str(store), source="bench-vs-counter-rth", clock=realtime_clock(sim_start)
            )
        ) as mon_rth,
    ):
        data_ts = sim_start - 5.0
        allowed, reason = mon_rth.should_generate_signals(data_ts)
        if not allowed:
            raise RuntimeError(f"gate refused on the simulated RTH instant: {reason}")
        runs = {
            "Counter.inc()": lambda k: time_calls0(counter.inc, k),
            "timer floor (empty call)": lambda k: time_calls0(_noop, k),
            "record_activity": lambda k: time_calls0(mon.record_activity, k),
            "should_generate_signals (allowed)": lambda k: time_calls1(
                mon_rth.should_generate_signals, data_ts, k
            ),
            "record_signal (no details)": lambda k: time_calls2(mon_rth.record_signal, "AAPL", data_ts, k),
        }
        for run in runs.values():
            run(2000)  # warm up
        ns: dict[str, list[int]] = {k: [] for k in runs}
        chunk = max(1, n // VS_COUNTER_CHUNKS)
        with GcWatch() as watch:
            for i in range(VS_COUNTER_CHUNKS):
                order = list(runs.items())
                if i % 2:
                    order.reverse()
                for name, run in order:
                    ns[name] += run(chunk)
        mon_rth.flush(60)
    notes = {
        "Counter.inc()": f"prometheus_client {_version('prometheus_client')}, a Counter in its own registry",
        "record_activity": "system clock (the production path)",
        "should_generate_signals (allowed)": f"injected clock inside RTH, data 5 s old: {reason!r}",
        "record_signal (no details)": "record_signal('AAPL', data_ts), injected clock inside RTH",
    }
    res.vs_counter = [Latency.of(k, v, notes.get(k, ""), watch.summary()) for k, v in ns.items()]


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def store_breakdown(path: Path) -> dict:
    """Rows per table, and bytes per table and per index (dbstat, when compiled in)."""
    with contextlib.closing(sqlite3.connect(ro_uri(path), uri=True)) as conn:
        rows = table_rows(conn)
        sizes: dict[str, int] = {}
        with contextlib.suppress(sqlite3.Error):  # dbstat is a compile-time option
            sizes = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    return {"rows": rows, "bytes": sizes, "free_bytes": free * page}


def fmt_bytes(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def fmt_us(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:.2f} ms"
    if v >= 100:
        return f"{v:.0f} µs"
    return f"{v:.2f} µs"


# ------------------------------------------------------------------------------------------
# simulated time
# ------------------------------------------------------------------------------------------
def rth_instant(cal) -> tuple[float, str]:
    """An instant one hour after the open of the latest regular (full-day) session before
    today, so an injected clock lands inside RTH on a real trading day."""
    today = datetime.now(cal.tz).date()
    for sess in reversed(cal.sessions_between(today - timedelta(days=30), today - timedelta(days=1))):
        if not sess.early_close and sess.break_start_ts is None:
            t = sess.open_ts + 3600 + 0.123456
            return t, cal.fmt(t, "%a %Y-%m-%d %H:%M %Z")
    raise RuntimeError("no regular session in the last 30 days")


def realtime_clock(start: float):
    """Simulated 'now' that advances with the real elapsed time (what a live loop sees)."""
    t0 = time.perf_counter()
    pc = time.perf_counter
    return lambda: start + (pc() - t0)


def settable_clock():
    """A C-level callable returning cell[0]: the driver sets the time before each call."""
    cell = [0.0]
    return cell, functools.partial(operator.getitem, cell, 0)


# ------------------------------------------------------------------------------------------
# benchmark phases
# ------------------------------------------------------------------------------------------
@dataclass
class Results:
    quick: bool
    latencies: list[Latency] = field(default_factory=list)
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (label, naive, ours)
    throughput: dict = field(default_factory=dict)
    storage: list[dict] = field(default_factory=list)
    lag: list[dict] = field(default_factory=list)
    poller: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timer_floor: Latency | None = None
    sim_instant: str = ""
    real_gate_path: str = ""
    elapsed: float = 0.0
    vs_counter: list[Latency] = field(default_factory=list)

    def lat(self, name: str) -> Latency:
        return next(x for x in self.latencies if x.name == name)


def last_holiday(cal) -> date:
    """The latest weekday before today on which the exchange did not trade."""
    day = datetime.now(cal.tz).date() - timedelta(days=1)
    while day.weekday() >= 5 or cal.is_trading_day(day):
        day -= timedelta(days=1)
    return day


def holiday_gate_latency(store: Path, n: int) -> Latency:
    """should_generate_signals on a weekday holiday, one call per simulated minute: the path
    a loop left running over a holiday takes once a minute (the refusal sentence is cached
    per minute)."""
    from health import MonitorConfig, ProductionMonitor
    from health.calendar import get_calendar

    cal = get_calendar("XNYS")
    day = last_holiday(cal)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=cal.tz).timestamp() + 0.123456
    cell, clock = settable_clock()
    cell[0] = noon - 60
    pc = time.perf_counter_ns
    lat = [0] * n
    with ProductionMonitor(MonitorConfig(store_path=str(store), source="bench-holiday", clock=clock)) as mon:
        gate = mon.should_generate_signals
        _, reason = gate(noon - 62)
        with GcWatch() as watch:
            for i in range(n):
                t = noon + 60 * i
                cell[0] = t
                t0 = pc()
                gate(t - 2.0)
                lat[i] = pc() - t0
    return Latency.of(
        "should_generate_signals (holiday, new minute)",
        lat,
        f"{day} ({cal.holiday_name(day)}), 1 call per simulated minute; refused: {reason!r}",
        watch.summary(),
    )


def sd_notify_latency(store: Path, n: int) -> Latency:
    """record_activity in a loop run by a Type=notify unit with WatchdogSec= (health/sdnotify.py):
    each call adds a monotonic-time comparison; a WATCHDOG=1 datagram leaves every half
    WATCHDOG_USEC, to a real AF_UNIX socket bound here as systemd's would be."""
    import socket

    from health import MonitorConfig, ProductionMonitor

    path = store.parent / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.setblocking(False)
    env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with ProductionMonitor(MonitorConfig(store_path=str(store), source="bench-sd-notify")) as mon:
            lat = measure("record_activity (systemd watchdog)", mon.record_activity, n)
        pings = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                pings += receiver.recv(4096).startswith(b"WATCHDOG=1")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        receiver.close()
    lat.note = f"NOTIFY_SOCKET + WATCHDOG_USEC=0.2 s: {pings} WATCHDOG=1 datagrams received"
    return lat


def phase_latency(res: Results, store: Path, naive_db: Path, n: int, n_slow: int) -> None:
    import exchange_calendars as xcals
    import pandas as pd

    from health import MonitorConfig, ProductionMonitor
    from health.calendar import get_calendar

    cal = get_calendar("XNYS")
    sim_start, res.sim_instant = rth_instant(cal)
    res.timer_floor = measure("timer floor (empty call)", _noop, n)

    # -- record_activity ---------------------------------------------------------------
    with ProductionMonitor(MonitorConfig(store_path=str(store), source="bench-system-clock")) as mon:
        res.latencies.append(
            measure("record_activity (system clock)", mon.record_activity, n, note="production path")
        )
        res.latencies.append(sd_notify_latency(store, n))
        sim = realtime_clock(sim_start)
        with ProductionMonitor(
            MonitorConfig(store_path=str(store), source="bench-injected-clock", clock=sim)
        ) as mon_sim:
            res.latencies.append(
                measure(
                    "record_activity (injected clock)", mon_sim.record_activity, n, note="clock=lambda, RTH"
                )
            )
            # -- the gate, allowed path: injected clock inside RTH, fresh data -----------
            data_ts = sim_start - 5.0
            allowed, reason = mon_sim.should_generate_signals(data_ts)
            if not allowed:
                raise RuntimeError(f"gate refused on the simulated RTH instant: {reason}")
            res.latencies.append(
                measure(
                    "should_generate_signals (injected, allowed)",
                    mon_sim.should_generate_signals,
                    n,
                    data_ts,
                    note=f"allowed: {reason!r}",
                )
            )
            aware = datetime.fromtimestamp(data_ts, UTC)
            res.latencies.append(
                measure(
                    "should_generate_signals (aware datetime)",
                    mon_sim.should_generate_signals,
                    n,
                    aware,
                    note="allowed, datetime arg",
                )
            )
        # -- the gate on a market holiday: the first call of each minute builds the reason --
        res.latencies.append(holiday_gate_latency(store, max(20, n // 2000)))
        # -- the gate with the system clock: whatever the market is doing now ---------------
        now_data = time.time() - 5.0
        allowed, reason = mon.should_generate_signals(now_data)
        res.real_gate_path = ("allowed" if allowed else "refused") + f": {reason}"
        res.latencies.append(
            measure(
                "should_generate_signals (system clock)",
                mon.should_generate_signals,
                n,
                now_data,
                note=("allowed" if allowed else "refused") + " path",
            )
        )
        mon.flush(30)

    # -- naive heartbeat: one INSERT + COMMIT per call ---------------------------------------
    conn = sqlite3.connect(naive_db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS heartbeats (at REAL NOT NULL)")
    conn.commit()
    now = time.time

    def naive_beat() -> None:
        conn.execute("INSERT INTO heartbeats (at) VALUES (?)", (now(),))
        conn.commit()

    res.latencies.append(
        measure("naive heartbeat (INSERT+COMMIT)", naive_beat, n, note="WAL, synchronous=NORMAL")
    )
    conn.close()

    # -- naive gate: exchange_calendars per call ------------------------------------------------
    xcal = xcals.get_calendar("XNYS")
    sim = realtime_clock(sim_start)
    max_age = 3600.0

    def naive_gate(data_ts: float) -> tuple[bool, str]:
        t = sim()
        if t - data_ts > max_age:
            return False, "stale"
        if not xcal.is_open_on_minute(pd.Timestamp(t, unit="s", tz="UTC")):
            return False, "closed"
        return True, "ok"

    if not naive_gate(sim_start - 5.0)[0]:
        raise RuntimeError("naive gate refused on the simulated RTH instant")
    res.latencies.append(
        measure(
            "naive gate (is_open_on_minute)",
            naive_gate,
            n_slow,
            sim_start - 5.0,
            note=f"{n_slow:,} calls; pd.Timestamp + is_open_on_minute + age check",
        )
    )
    res.pairs = [
        (
            "record_activity vs INSERT+COMMIT",
            "naive heartbeat (INSERT+COMMIT)",
            "record_activity (system clock)",
        ),
        (
            "should_generate_signals (allowed path) vs is_open_on_minute",
            "naive gate (is_open_on_minute)",
            "should_generate_signals (injected, allowed)",
        ),
    ]


def phase_throughput(res: Results, store: Path, n: int) -> None:
    from health import MonitorConfig, ProductionMonitor
    from health.calendar import get_calendar

    sim_start, _ = rth_instant(get_calendar("XNYS"))
    source = "bench-throughput"
    mon = ProductionMonitor(
        MonitorConfig(store_path=str(store), source=source, clock=realtime_clock(sim_start))
    )
    mon.flush(30)  # connected, run row written: measure the steady state
    data_ts = sim_start - 5.0
    record = mon.record_signal
    recorder = mon.recorder
    progress: list[tuple[float, int]] = []  # (time, rows the writer reports committed)
    pc = time.perf_counter
    with GcWatch() as watch:
        t0 = pc()
        for i in range(n):
            record("AAPL", data_ts)
            if i % 5000 == 0:
                progress.append((pc(), getattr(recorder, "written_events", -1)))
        t_calls = pc()
        progress.append((t_calls, getattr(recorder, "written_events", -1)))
        flushed = mon.flush(120)
        t_done = time.perf_counter()
    dropped = getattr(recorder, "dropped_events", None)
    # the longest stretch of the burst during which no new row was committed
    stall, since, last = 0.0, t0, 0
    for t, written in progress:
        if written != last:
            since, last = t, written
        stall = max(stall, t - since)
    mon.close()
    with contextlib.closing(sqlite3.connect(ro_uri(store), uri=True)) as conn:
        rows = conn.execute("SELECT count(*) FROM signals WHERE source=?", (source,)).fetchone()[0]
        drop_rows = conn.execute(
            "SELECT coalesce(sum(json_extract(detail, '$.count')), 0) FROM events "
            "WHERE kind='dropped_events' AND source=?",
            (source,),
        ).fetchone()[0]
    res.throughput = {
        "n": n,
        "rows": rows,
        "lost": n - rows,
        "flushed": flushed,
        "dropped_reported": dropped,
        "dropped_in_store": drop_rows,
        "call_seconds": t_calls - t0,
        "flush_seconds": t_done - t_calls,
        "total_seconds": t_done - t0,
        "events_per_s": n / (t_done - t0),
        "calls_per_s": n / (t_calls - t0),
        "gc": watch.summary(),
        "committed_during_burst": progress[-1][1],
        "longest_no_commit": stall,
    }


def _busy(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def phase_commit_lag(res: Results, store: Path, rates: tuple[int, ...], seconds: float) -> None:
    """A loop that is busy in Python between its calls (as most are) and records ``rate``
    signals per second: how far do the writer's commits fall behind? A SIGKILL loses what is
    not committed, and the contract allows only the last second."""
    from health import MonitorConfig, ProductionMonitor
    from health.calendar import get_calendar

    sim_start, _ = rth_instant(get_calendar("XNYS"))
    pc = time.perf_counter
    for rate in rates:
        source = f"bench-cpu-bound-{rate}"
        mon = ProductionMonitor(
            MonitorConfig(store_path=str(store), source=source, clock=realtime_clock(sim_start))
        )
        mon.flush(30)
        recorder, record = mon.recorder, mon.record_signal
        sent, worst, next_sample = 0, 0.0, 0.0
        t0 = pc()
        while (now := pc() - t0) < seconds:
            _busy(200)  # the loop's own work, pure Python (holds the GIL)
            due = int(now * rate)
            while sent < due:
                record("AAPL", sim_start - 5.0)
                sent += 1
            if now >= next_sample:
                behind = sent - getattr(recorder, "written_events", sent)
                worst = max(worst, behind / rate)
                next_sample = now + 0.01
        flushed = mon.flush(60)
        mon.close()
        with contextlib.closing(sqlite3.connect(ro_uri(store), uri=True)) as conn:
            rows = conn.execute("SELECT count(*) FROM signals WHERE source=?", (source,)).fetchone()[0]
        res.lag.append(
            {"rate": rate, "seconds": seconds, "sent": sent, "rows": rows, "worst": worst, "flushed": flushed}
        )


def _year_start(cal) -> float:
    """Local midnight 366 days ago (+ a fraction, so stored times are not integral)."""
    today = datetime.now(cal.tz).date()
    first = today - timedelta(days=366)
    return datetime(first.year, first.month, first.day, tzinfo=cal.tz).timestamp() + 0.123456


def phase_storage(res: Results, workdir: Path, quick: bool) -> None:
    from health import MonitorConfig, ProductionMonitor
    from health.calendar import get_calendar

    cal = get_calendar("XNYS")
    start = _year_start(cal)

    # -- a year of 1 Hz heartbeats, 1,000 restarts, through record_activity() --------------
    path = workdir / "year-heartbeats.db"
    segment = YEAR_SECONDS / RESTARTS
    beats_per_run = 30 if quick else int(segment - RESTART_DOWNTIME)
    t0 = time.perf_counter()
    total_beats = 0
    for k in range(RESTARTS):
        # itertools.count: a C-level clock advancing exactly 1 s per call. The constructor
        # reads it once (started_at), every record_activity once, close() once (stopped_at).
        clock = functools.partial(next, itertools.count(start + k * segment, 1.0))
        mon = ProductionMonitor(
            MonitorConfig(
                store_path=str(path),
                source="loop",
                clock=clock,
                check_interval_seconds=1,
                max_uptime_gap_minutes=1,
            )
        )
        act = mon.record_activity
        for _ in itertools.repeat(None, beats_per_run):
            act()
        total_beats += beats_per_run
        mon.close()
    took = time.perf_counter() - t0
    how = (
        f"real: {RESTARTS:,} ProductionMonitor runs x {beats_per_run:,} record_activity() at 1 Hz "
        f"(injected clock) = {total_beats:,} heartbeats over 365 days"
        if not quick
        else f"quick: {RESTARTS:,} runs x {beats_per_run} beats (same 1,000 spans as a year; the "
        f"beats column is 1 byte/row smaller than a real year's)"
    )
    res.storage.append(
        {
            "what": "heartbeats, 1 year at 1 Hz, 1,000 restarts",
            "bytes": store_bytes(path),
            "how": how,
            "seconds": took,
            "detail": store_breakdown(path),
            "target": True,
        }
    )

    # -- one day at 1 Hz, one run: the per-day cost without restarts ---------------------
    path = workdir / "day-heartbeats.db"
    clock = functools.partial(next, itertools.count(start, 1.0))
    with ProductionMonitor(
        MonitorConfig(store_path=str(path), source="loop", clock=clock, check_interval_seconds=1)
    ) as mon:
        act = mon.record_activity
        for _ in itertools.repeat(None, 86_400):
            act()
    res.storage.append(
        {
            "what": "heartbeats, 1 day at 1 Hz, 1 run",
            "bytes": store_bytes(path),
            "how": "real: 86,400 record_activity() calls",
            "detail": store_breakdown(path),
        }
    )

    # -- gate decisions at 1 Hz -----------------------------------------------------------------
    def drive_gate(path: Path, t_from: float, seconds: float, step: float) -> tuple[int, float, float]:
        """``seconds`` of a loop gating every ``step`` s on fresh data; returns (calls, wall
        seconds, slowest call in ms)."""
        cell, clock = settable_clock()
        cell[0] = t_from
        n = int(seconds // step)
        pc = time.perf_counter_ns
        worst = 0
        t0 = time.perf_counter()
        # Each gate call is also a heartbeat: the check interval follows the step, so the
        # calls coalesce into one uptime span as a 1 Hz loop's do.
        with ProductionMonitor(
            MonitorConfig(store_path=str(path), source="loop", clock=clock, check_interval_seconds=step)
        ) as mon:
            gate = mon.should_generate_signals
            t = t_from
            for _ in itertools.repeat(None, n):
                cell[0] = t
                c0 = pc()
                gate(t - 2.0)  # fresh data: 2 s old
                c1 = pc() - c0
                if c1 > worst:
                    worst = c1
                t += step
        return n, time.perf_counter() - t0, worst / 1e6

    # an empty store (one run, no calls): the fixed cost an extrapolation must not multiply
    path = workdir / "empty.db"
    with ProductionMonitor(MonitorConfig(store_path=str(path), source="loop", clock=lambda: start)):
        pass
    empty = store_bytes(path)

    # a real week at 1 Hz: the last full Mon-Sun week before today with five sessions
    monday = datetime.now(cal.tz).date() - timedelta(days=datetime.now(cal.tz).weekday() + 7)
    while len(cal.sessions_between(monday, monday + timedelta(days=6))) < 5:
        monday -= timedelta(days=7)
    week_from = datetime(monday.year, monday.month, monday.day, tzinfo=cal.tz).timestamp() + 0.123456
    days = 1 if quick else 7
    path = workdir / "week-gate.db"
    n, took, worst = drive_gate(path, week_from, days * 86400.0, 1.0)
    week_bytes = store_bytes(path)
    res.storage.append(
        {
            "what": f"gate decisions, {days} day{'s' if days > 1 else ''} at 1 Hz",
            "bytes": week_bytes,
            "how": f"real: {n:,} should_generate_signals() calls from Mon {monday} (a week without "
            f"holidays), slowest call {worst:.2f} ms",
            "seconds": took,
            "detail": store_breakdown(path),
        }
    )
    res.storage.append(
        {
            "what": "gate decisions, 1 year at 1 Hz (extrapolated)",
            "bytes": empty + (week_bytes - empty) * 365 / days,
            "how": f"extrapolation: empty store {fmt_bytes(empty)} + ({days}-day store - empty) x "
            f"{365 / days:.1f}; a week without holidays, so slightly high (holidays write "
            f"hourly rows)",
        }
    )
    if quick:
        return
    # a real year, one call per 5 simulated minutes: the same aggregate rows as 1 Hz (bucket
    # bounds and XNYS open/close times are all multiples of 5 minutes)
    step = 300.0
    path = workdir / "year-gate.db"
    n, took, worst = drive_gate(path, start, float(YEAR_SECONDS), step)
    res.storage.append(
        {
            "what": "gate decisions, 1 year (1 Hz-equivalent rows)",
            "bytes": store_bytes(path),
            "how": f"real: {n:,} should_generate_signals() calls, one per {step:.0f} simulated s: "
            f"every 5-min/hourly bucket row a 1 Hz loop writes, only the count column differs "
            f"(<= 1 byte/row); slowest call {worst:.1f} ms",
            "seconds": took,
            "detail": store_breakdown(path),
        }
    )


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def targets(res: Results) -> list[tuple[str, str, str, bool]]:
    act = res.lat("record_activity (system clock)")
    act_inj = res.lat("record_activity (injected clock)")
    gate = res.lat("should_generate_signals (injected, allowed)")
    tp = res.throughput
    year = next(s for s in res.storage if s.get("target"))
    return [
        (
            "record_activity median",
            f"<= {TARGET_ACT_MEDIAN_US:g} µs",
            f"{fmt_us(act.median)} (injected clock: {fmt_us(act_inj.median)})",
            max(act.median, act_inj.median) <= TARGET_ACT_MEDIAN_US,
        ),
        (
            "record_activity p99.9",
            f"<= {TARGET_ACT_P999_US:g} µs",
            f"{fmt_us(act.p999)} (injected clock: {fmt_us(act_inj.p999)})",
            max(act.p999, act_inj.p999) <= TARGET_ACT_P999_US,
        ),
        (
            "record_activity max",
            f"<= {TARGET_ACT_MAX_US / 1000:g} ms",
            f"{fmt_us(act.max)} (injected clock: {fmt_us(act_inj.max)})",
            max(act.max, act_inj.max) <= TARGET_ACT_MAX_US,
        ),
        (
            "should_generate_signals median",
            f"<= {TARGET_GATE_MEDIAN_US:g} µs",
            f"{fmt_us(gate.median)} (allowed path, RTH)",
            gate.median <= TARGET_GATE_MEDIAN_US,
        ),
        (
            "sustained record_signal into the store",
            f">= {TARGET_EVENTS_PER_S:,} events/s, none lost",
            f"{tp['events_per_s']:,.0f} events/s, {tp['rows']:,}/{tp['n']:,} rows ({tp['lost']:,} lost)",
            tp["events_per_s"] >= TARGET_EVENTS_PER_S and tp["lost"] == 0,
        ),
        *vs_counter_targets(res),
        (
            "store, 1 year of 1 Hz heartbeats, 1,000 restarts",
            f"<= {TARGET_YEAR_BYTES / 1e6:g} MB",
            fmt_bytes(year["bytes"]),
            year["bytes"] <= TARGET_YEAR_BYTES,
        ),
    ]


def vs_counter_targets(res: Results) -> list[tuple[str, str, str, bool]]:
    if not res.vs_counter:
        return []
    by = {x.name: x for x in res.vs_counter}
    inc = by["Counter.inc()"].median
    out = []
    for name, limit in TARGET_VS_COUNTER.items():
        ratio = by[name].median / inc
        goal = f"< {limit:g}x Counter.inc()" if limit == 1.0 else f"<= {limit:g}x Counter.inc()"
        ok = ratio < limit if limit == 1.0 else ratio <= limit
        out.append((f"{name} median", goal, f"{ratio:.2f}x ({fmt_us(by[name].median)} vs {fmt_us(inc)})", ok))
    return out


def render_vs_counter(res: Results) -> list[str]:
    by = {x.name: x for x in res.vs_counter}
    inc, floor = by["Counter.inc()"], by["timer floor (empty call)"]
    out = [
        "### Beside prometheus_client's `Counter.inc()` (same run, interleaved)",
        "",
        f"{VS_COUNTER_CHUNKS} rounds, each call timed like the others with `perf_counter_ns` around it; "
        f"{inc.n:,} calls each. The last column takes the timer floor out of both sides.",
        "",
        "| call | median | p99 | p99.9 | × Counter.inc() | × Counter.inc(), floor subtracted | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for x in res.vs_counter:
        if x.name == floor.name:
            out.append(f"| {x.name} | {fmt_us(x.median)} | {fmt_us(x.p99)} | {fmt_us(x.p999)} | | | |")
            continue
        net = (x.median - floor.median) / max(1e-9, inc.median - floor.median)
        out.append(
            f"| {x.name} | {fmt_us(x.median)} | {fmt_us(x.p99)} | {fmt_us(x.p999)} | "
            f"{x.median / inc.median:.2f}x | {net:.2f}x | {x.note} |"
        )
    out.append("")
    return out


def render(res: Results, info: dict) -> str:
    out: list[str] = []
    w = out.append
    w(
        f"{run_line(info, 'recorder.py', res.quick)} took {res.elapsed:.0f} s; "
        + load_before_after(info["load"], load_average())
    )
    if info["load"] > 0.8:
        w("")
        w(BUSY_WARNING)
    w("")
    w("### Targets (2-core machine)")
    w("")
    w("| target | goal | measured | |")
    w("|---|---|---|---|")
    for name, goal, measured, ok in targets(res):
        w(f"| {name} | {goal} | {measured} | {verdict(ok)} |")
    w("")
    w("### Per-call latency")
    w("")
    w(
        f"`time.perf_counter_ns()` around every call; a second process polled the store "
        f"read-only every {POLL_INTERVAL * 1e3:.0f} ms throughout. Injected clock: simulated time "
        f"advancing in real time from {res.sim_instant} (inside RTH), data 5 s old. The system "
        f"clock gate took the *{res.real_gate_path}* path."
    )
    w("")
    w("| call | n | median | p99 | p99.9 | max | calls > 1 ms | GC during the run | note |")
    w("|---|---:|---:|---:|---:|---:|---:|---|---|")
    rows = ([res.timer_floor] if res.timer_floor else []) + res.latencies
    for x in rows:
        w(
            f"| {x.name} | {x.n:,} | {fmt_us(x.median)} | {fmt_us(x.p99)} | {fmt_us(x.p999)} | "
            f"{fmt_us(x.max)} | {x.over_1ms} | {x.gc} | {x.note} |"
        )
    w("")
    w("Ratios, naive / ours (higher is better for ours):")
    w("")
    w("| call | median | p99 | p99.9 | max |")
    w("|---|---:|---:|---:|---:|")
    for label, naive, ours in res.pairs:
        a, b = res.lat(naive), res.lat(ours)
        ratios = " | ".join(
            f"{x / y:,.1f}x" if x >= y else f"{x / y:.3f}x" for x, y in zip(a.stats(), b.stats(), strict=True)
        )
        w(f"| {label} | {ratios} |")
    w("")
    if res.vs_counter:
        out.extend(render_vs_counter(res))
    tp = res.throughput
    w("### Sustained throughput into the store")
    w("")
    w(
        "| record_signal calls | calls/s (loop side) | events/s (first call to flush done) | "
        "flush wait | rows in store | lost | dropped (recorder / store) | "
        "committed while the loop was still calling | longest stretch without a commit | GC |"
    )
    w("|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    w(
        f"| {tp['n']:,} | {tp['calls_per_s']:,.0f} | {tp['events_per_s']:,.0f} | "
        f"{tp['flush_seconds']:.2f} s | {tp['rows']:,} | {tp['lost']:,} | "
        f"{tp['dropped_reported']} / {tp['dropped_in_store']} | "
        f"{tp['committed_during_burst']:,} | {tp['longest_no_commit']:.2f} s | {tp['gc']} |"
    )
    w("")
    w(
        "The last two columns sample the recorder's `written_events` every 5,000 calls: a SIGKILL "
        "during such a burst loses what was not committed (the contract allows the last second)."
    )
    w("")
    if res.lag:
        w("### Commit lag while the loop is busy (docs/CONTRACT.md §2 SIGKILL promise; not a target)")
        w("")
        w(
            "A loop doing pure-Python work between its calls, recording signals at a steady rate. "
            "`behind` = events recorded but not yet committed, sampled every 10 ms, in seconds of "
            "events: what a SIGKILL at the worst moment would lose (the contract allows 1 s)."
        )
        w("")
        w("| signals/s | duration | recorded | rows in store | worst behind | <= 1 s |")
        w("|---:|---:|---:|---:|---:|---|")
        for lag in res.lag:
            w(
                f"| {lag['rate']:,} | {lag['seconds']:.0f} s | {lag['sent']:,} | {lag['rows']:,} | "
                f"{lag['worst']:.2f} s | {verdict(lag['worst'] <= 1.0 and lag['rows'] == lag['sent'])} |"
            )
        w("")
    w("### Storage")
    w("")
    w("| store content | bytes (db + wal) | rows | how it was obtained |")
    w("|---|---:|---|---|")
    for s in res.storage:
        detail = s.get("detail") or {}
        rows = ", ".join(f"{t} {c:,}" for t, c in detail.get("rows", {}).items() if c)
        took = f" ({s['seconds']:.0f} s)" if "seconds" in s else ""
        w(f"| {s['what']} | {fmt_bytes(s['bytes'])} | {rows or '-'} | {s['how']}{took} |")
    w("")
    w("Where the bytes go (dbstat; tables and indexes over one 4 kB page):")
    w("")
    for s in res.storage:
        detail = s.get("detail") or {}
        sizes = {k: v for k, v in detail.get("bytes", {}).items() if v > 4096}
        if "year" in s["what"] and sizes:
            parts = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]))
            w(f"- {s['what']}: {parts}; free pages {fmt_bytes(detail.get('free_bytes', 0))}.")
    w("")
    w("### The second process (read-only poller)")
    w("")
    w("| store | polls | data_version changes seen | errors | slowest poll | last row counts |")
    w("|---|---:|---:|---:|---:|---|")
    for path, st in res.poller.items():
        rows = ", ".join(f"{t} {c:,}" for t, c in st["rows"].items())
        err = f" ({st['last_error']})" if st["errors"] else ""
        w(
            f"| {Path(path).name} | {st['polls']:,} | {st['changes']:,} | {st['errors']}{err} | "
            f"{st['max_poll_ms']:.1f} ms | {rows} |"
        )
    hol = next((x for x in res.latencies if x.name.startswith("should_generate_signals (holiday")), None)
    if hol is not None and hol.median > 1000:
        res.notes.append(
            f"On a weekday holiday the first gate call of each minute took {fmt_us(hol.median)} "
            f"(median; max {fmt_us(hol.max)}), against {fmt_us(res.lat('naive gate (is_open_on_minute)').median)} "
            f"for the naive gate: a loop left running over a holiday sees this once a minute. "
            f"The issue sets no target on the gate's tail."
        )
    floor = res.timer_floor
    if floor is not None:
        res.notes.append(
            f"Every latency includes the timer floor (two perf_counter_ns calls and a Python "
            f"call: {fmt_us(floor.median)} median). Rare calls of tens of µs coincide with "
            f"generation-0 GC runs (see the GC column) and GIL hand-offs to the writer thread."
        )
    if res.notes:
        w("")
        for note in res.notes:
            w(f"- {note}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller smoke run; prints only")
    parser.add_argument("--write", action="store_true", help="with --quick: update BENCHMARKS.md anyway")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--poller", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.poller:
        return poller_main(args.poller[1:], args.poller[0])

    n = 20_000 if args.quick else 200_000
    n_slow = 2_000 if args.quick else 20_000
    n_signals = 50_000 if args.quick else 500_000
    res = Results(quick=args.quick)
    t_start = time.perf_counter()
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        work = Path(tmp)
        store, naive_db = work / "health.db", work / "naive.db"
        from health import MonitorConfig, ProductionMonitor

        with ProductionMonitor(MonitorConfig(store_path=str(store), source="bench-setup")) as mon:
            mon.record_activity()
            mon.flush(30)  # the store exists before the poller starts
        poller = Poller([store, naive_db], work)
        try:
            say(f"latency: {n:,} calls each ...")
            phase_latency(res, store, naive_db, n, n_slow)
            say(f"beside Counter.inc(): {n:,} calls each, interleaved ...")
            phase_vs_counter(res, store, n)
            say(f"throughput: {n_signals:,} signals ...")
            phase_throughput(res, store, n_signals)
            say("commit lag under a CPU-bound loop ...")
            phase_commit_lag(res, store, (1_000, 10_000), 1.0 if args.quick else 3.0)
            time.sleep(3 * POLL_INTERVAL)  # let the poller see the final commit
        finally:
            res.poller = poller.stop()
        say("storage ...")
        phase_storage(res, work, args.quick)
        say("the signal sums' triggers on the writer ...")
        trigger = trigger_cost(work, args.quick)
    res.elapsed = time.perf_counter() - t_start
    if args.quick:
        res.notes.append("--quick smoke run: smaller counts; not the reference figures.")
    body = render(res, info).rstrip("\n") + "\n\n" + "\n".join(trigger)
    print(body)
    if (not args.quick or args.write) and not args.no_write:
        write_section("recorder", "Recorder (bench/recorder.py)", body)
        say(f"updated {BENCH_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
