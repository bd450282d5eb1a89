"""The console on a busy day (bench/console.py, the ``console-busy`` section of BENCHMARKS.md):
the measurement; bench/_busy_report.py judges and writes it.

A trading loop in its own process (``ProductionMonitor``, public API) writes N iterations a
second (each: a gate decision, a heartbeat, a signal) into a store that already holds S
signals today; ``health-console`` runs on a pseudo-terminal at 100x32 (its controlling
terminal, as over SSH) with its clock inside that day's RTH. A *lane* is one such console
with its own loop and its own copy of the store; lanes run alone or side by side (measured
over the same seconds). Measured per lane:

- the console process's CPU (user+sys, psutil) and RSS (sampled) over the measured seconds;
- write -> screen: for every write, from the loop's call (``time.monotonic()``, system-wide)
  until the terminal received the frame whose data-age panel shows a signal count that
  includes it (``signals N:``, read from the pty's output as a terminal emulator would);
- the loop's own CPU, for scale; the 1-min load average at the start and the end.

Baseline, in the same run: the same app whose store watch re-opens the store and takes a
full snapshot on a fixed 1 s timer, no change detection and nothing kept between snapshots
(``NaiveWatch`` in bench/console.py).

Two plans: :func:`measure` (every store at every rate, several rounds, ~1 h) and
:func:`measure_targets` (the targets in ~10 minutes: the 20 events/s lanes side by side for
6 minutes, which also gives the RSS growth; the rest alone for 60 s).
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from bench._common import load_average
from bench._pty import PtyProc

SIZE = (100, 32)
SOURCE = "busy-loop"
LAG = 5.0  # the loop's clock runs this far behind the console's: its rows are never "ahead"
DATA_AGE = 3.0
COUNT = re.compile(rb"signals (\d+): ")
CSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")
# RSS grows faster for the first minutes after a loop starts (on a pty at 20 events/s: +2.9 MB
# in ~3 minutes, then ~5 MB an hour in steps; the store reads alone stay flat): the growth
# rate is the slope of a run's last 3 minutes, the first ones are counted once.
LATE_SECONDS = 180.0


def busy_day(cal) -> date:
    """A past full-length session (no early close) of the calendar, within its range."""
    day = cal.previous_trading_day(date.today())
    while (s := cal.session(day)).early_close or s.close_ts - s.open_ts < 6 * 3600:
        day = cal.previous_trading_day(day)
    return day


def anchor_of(cal, day: date) -> float:
    """Where the console's clock starts: 14:00 in the exchange's zone (the store's signals
    fill 09:30-14:00; a 10-minute run stays inside RTH)."""
    return datetime(day.year, day.month, day.day, 14, 0, tzinfo=cal.tz).timestamp()


def make_store(path: Path, signals: int, day: date, calendar: str = "XNYS") -> None:
    """S signals today, written the way a loop writes them: one iteration (gate decision,
    heartbeat, signal) every (14:00 - open) / S seconds, through the real recorder."""
    from health.calendar import get_calendar
    from health.simulation import SYMBOLS, SimClock, monitor

    cal = get_calendar(calendar)
    open_ts, end = cal.session(day).open_ts, anchor_of(cal, day) - 60
    clock = SimClock(open_ts - 60)
    mon = monitor(path, clock, source=SOURCE, check_interval_seconds=1, calendar=calendar)
    mon.record_activity()
    if signals:
        step = (end - open_ts) / signals
        clock.now = open_ts
        for i in range(signals):
            data_ts = clock.now - DATA_AGE
            mon.should_generate_signals(data_ts)
            mon.record_activity()
            mon.record_signal(SYMBOLS[i % len(SYMBOLS)], data_ts)
            clock.now += step
            if i % 50_000 == 49_999:
                mon.flush(120)
    mon.flush(300)
    mon.close()


def writer_main(store: str, offset: float, rate: float, seconds: float, out: str) -> int:
    """The trading loop at ``rate`` iterations a second for ``seconds``; logs each call's
    ``time.monotonic()``."""
    from health import MonitorConfig, ProductionMonitor
    from health.simulation import SYMBOLS

    def clock() -> float:
        return time.time() + offset

    mon = ProductionMonitor(
        MonitorConfig(store_path=store, clock=clock, source=SOURCE, check_interval_seconds=1)
    )
    calls: list[float] = []
    start = time.monotonic()
    i = 0
    while (now := time.monotonic()) - start < seconds:
        delay = start + i / rate - now
        if delay > 0:
            time.sleep(delay)
        calls.append(time.monotonic())
        data_ts = clock() - DATA_AGE
        mon.should_generate_signals(data_ts)
        mon.record_activity()
        mon.record_signal(SYMBOLS[i % len(SYMBOLS)], data_ts)
        i += 1
    mon.close()
    Path(out).write_text(json.dumps(calls))
    return 0


def naive_app_main(store: str, clock_start: str) -> int:
    """Baseline on the pty: the real app, its store re-read from scratch every second."""
    import importlib.util

    from console.app import HealthConsole
    from console.arg_values import RunningClock
    from console.terminal import TerminalGuard

    spec = importlib.util.spec_from_file_location("bench_console", Path(__file__).with_name("console.py"))
    bc = importlib.util.module_from_spec(spec)
    sys.modules["bench_console"] = bc
    spec.loader.exec_module(bc)
    clock = RunningClock(datetime.fromisoformat(clock_start).timestamp())
    app = HealthConsole(store, clock=clock, guard=TerminalGuard.install(), store_label="bench store")
    app.store_watch = app.watches[0] = bc.NaiveWatch(app.store_watch)  # the app runs app.watches
    app.run()
    return app.return_code or 0


@dataclass(frozen=True)
class Lane:
    """One console with its own loop: which app, how many signals today, the loop's rate."""

    variant: str  # "ours" or "naive"
    signals: int
    rate: float


@dataclass
class Run:
    variant: str  # "ours" or "naive"
    signals: int  # in the store before the run
    rate: float
    seconds: float = 0.0
    cpu: float = 0.0  # % of one core
    writer_cpu: float = 0.0
    rss0: float = 0.0  # MB at the start of the measurement
    rss1: float = 0.0
    rss_max: float = 0.0
    rss_pre: float = 0.0  # MB when its loop started writing
    latency: list[float] = field(default_factory=list)
    writes: int = 0  # writes measured
    missed: int = 0  # measured writes never shown
    started: bool = True
    series: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, RSS MB)
    load: tuple[float, float] = (0.0, 0.0)  # 1-min load average at the start and the end
    beside: tuple[str, ...] = ()  # the other lanes measured at the same time
    for_cpu: bool = True  # counts for the CPU and latency figures
    for_memory: bool = False  # long enough for a growth slope

    def growth(self, late: float = LATE_SECONDS) -> tuple[float, float, float] | None:
        """RSS: (MB grown since the loop started, the MB-an-hour slope of the last ``late``
        seconds, MB over an hour projected: the growth so far plus that slope for the rest of
        the hour). None without a minute of samples before that stretch."""
        if not self.series or self.series[-1][0] < late + 60:
            return None
        end = self.series[-1][0]
        late_slope = slope([(t, r) for t, r in self.series if t >= end - late]) * 3600
        so_far = self.series[-1][1] - self.rss_pre
        return so_far, late_slope, so_far + max(0.0, late_slope) * max(0.0, 3600 - end) / 3600


def label(lane: Lane | Run) -> str:
    return f"{lane.variant} @ {lane.signals:,} signals, {lane.rate:,g}/s"


def shown_counts(chunks: list[tuple[float, bytes]]) -> list[tuple[float, int]]:
    """(when the terminal got it, N) for every ``signals N:`` the console wrote."""
    out: list[tuple[float, int]] = []
    carry = b""
    for t, chunk in chunks:
        text = CSI.sub(b"", carry + chunk)
        for m in COUNT.finditer(text):
            out.append((t, int(m.group(1))))
        carry = chunk[-200:]
    return out


def latencies(calls: list[float], first: int, shown: list[tuple[float, int]], lo: float, hi: float):
    """For each write called in [lo, hi): seconds until the terminal first showed a count that
    includes it (the store held ``first`` signals before the loop's first write)."""
    shown = sorted(shown)
    times = [t for t, _ in shown]
    best = list(itertools.accumulate((n for _, n in shown), max))  # the highest count so far
    lat, missed = [], 0
    for k, called in enumerate(calls):
        if not lo <= called < hi:
            continue
        i = max(bisect.bisect_left(times, called), bisect.bisect_left(best, first + k + 1))
        if i < len(times):
            lat.append(times[i] - called)
        else:
            missed += 1
    return lat, missed


def _console_argv(variant: str, store: Path, start_iso: str, hc: str) -> list[str]:
    if variant == "ours":
        return [hc, "--store", str(store), "--clock-start", start_iso]
    return [
        sys.executable,
        str(Path(__file__).with_name("console.py")),
        "--_app-naive",
        str(store),
        start_iso,
    ]


def _writer(store: Path, offset: float, rate: float, seconds: float, log: Path, env: dict):
    argv = [
        sys.executable,
        str(Path(__file__).with_name("console.py")),
        "--_busy-writer",
        str(store),
        repr(offset),
        repr(rate),
        repr(seconds),
        str(log),
    ]
    return subprocess.Popen(argv, env=env)


def lanes_run(
    lanes: list[Lane],
    made: dict[int, Path],
    seconds: float,
    tmp: Path,
    cal,
    day: date,
    hc: str,
    env: dict,
    *,
    warm: float = 5.0,
    sample_every: float = 1.0,
    for_cpu: bool = True,
    for_memory: bool = False,
) -> list[Run]:
    """The lanes side by side, each its console on a pty and its loop on its own copy of the
    store: every console shows the day, then every loop starts; after ``warm`` seconds each
    console's CPU and RSS (sampled every ``sample_every`` s) are measured over the same
    ``seconds``, and each write's way to its screen."""
    import psutil

    anchor = anchor_of(cal, day)
    start_iso = datetime.fromtimestamp(anchor, cal.tz).isoformat()
    t0 = time.time()
    stores, cons = [], []
    for k, lane in enumerate(lanes):
        work = tmp / f"lane{k}-{lane.variant}-{lane.signals}-{int(lane.rate)}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        stores.append(work / "health.db")
        shutil.copyfile(made[lane.signals], stores[-1])
        con = PtyProc(_console_argv(lane.variant, stores[-1], start_iso, hc), env, size=SIZE)
        con.recording = True
        cons.append(con)
    ready = [f"signals {lane.signals}: ".encode() if lane.signals else b"live: " for lane in lanes]

    def up(k: int) -> bool:
        return cons[k].seen(ready[k]) or _shows(cons[k], ready[k])

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not all(up(k) for k in range(len(lanes))):
        time.sleep(0.1)
    started = [up(k) for k in range(len(lanes))]
    procs = [psutil.Process(c.pid) for c in cons]
    rss_pre = [p.memory_info().rss / 1e6 for p in procs]
    writers = [
        _writer(
            stores[k],
            anchor - t0 - LAG,
            lane.rate,
            warm + seconds + 3.0,
            stores[k].with_name("writer.json"),
            env,
        )
        for k, lane in enumerate(lanes)
    ]
    time.sleep(warm)
    wprocs = [psutil.Process(w.pid) for w in writers]
    cpu0 = [sum(p.cpu_times()[:2]) for p in procs]
    wcpu0 = [sum(p.cpu_times()[:2]) for p in wprocs]
    load0 = load_average()
    series: list[list[tuple[float, float]]] = [[] for _ in lanes]
    m0 = time.monotonic()
    while True:
        elapsed = time.monotonic() - m0
        for k, p in enumerate(procs):
            series[k].append((elapsed, p.memory_info().rss / 1e6))
        if elapsed >= seconds:
            break
        time.sleep(min(sample_every, seconds - elapsed))
    m1 = time.monotonic()
    cpu1 = [sum(p.cpu_times()[:2]) for p in procs]
    wcpu1 = [sum(p.cpu_times()[:2]) for p in wprocs]
    load1 = load_average()
    for w in writers:
        w.wait(60)
    time.sleep(4.0 if any(lane.variant == "naive" for lane in lanes) else 2.5)  # the last writes show
    runs = []
    for k, lane in enumerate(lanes):
        cons[k].stop()
        res = Run(
            lane.variant, lane.signals, lane.rate, started=started[k], for_cpu=for_cpu, for_memory=for_memory
        )
        res.seconds = m1 - m0
        res.cpu = 100 * (cpu1[k] - cpu0[k]) / res.seconds
        res.writer_cpu = 100 * (wcpu1[k] - wcpu0[k]) / res.seconds
        res.series = series[k]
        res.rss0, res.rss1, res.rss_pre = series[k][0][1], series[k][-1][1], rss_pre[k]
        res.rss_max = max(r for _, r in series[k])
        res.load = (load0, load1)
        res.beside = tuple(label(other) for other in lanes if other is not lane)
        calls = json.loads(stores[k].with_name("writer.json").read_text())
        with cons[k]._lock:
            chunks = list(cons[k].chunks)
        res.latency, res.missed = latencies(calls, lane.signals, shown_counts(chunks), m0, m1)
        res.writes = len(res.latency) + res.missed
        runs.append(res)
        shutil.rmtree(stores[k].parent, ignore_errors=True)
    return runs


def _shows(con: PtyProc, needle: bytes) -> bool:
    with con._lock:
        recent = b"".join(c for _, c in con.chunks[-50:])
    return needle in CSI.sub(b"", recent)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def busy_env(child_env) -> dict:
    env = child_env(TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("NO_COLOR", None)
    return env


# ==========================================================================================
# the measurements: the full one, and the targets in ten minutes
# ==========================================================================================
def _stores(signals: list[int], tmp: Path, day: date, say) -> dict[int, Path]:
    made = {}
    for n in sorted(set(signals) | {0}):
        t = time.perf_counter()
        made[n] = tmp / f"store-{n}" / "health.db"
        made[n].parent.mkdir(parents=True)
        make_store(made[n], n, day)
        say(f"busy: store with {n:,} signals on {day} made in {time.perf_counter() - t:.0f} s")
    return made


def measure(
    stores: list[int],
    rates: list[float],
    rounds: int,
    seconds: float,
    rss_minutes: float,
    tmp: Path,
    hc: str,
    env: dict,
    say,
) -> dict:
    """Every store at every rate, ``rounds`` times, ours and naive one at a time (alternating
    which goes first); then both side by side for ``rss_minutes`` at 20 events/s, empty store."""
    from health.calendar import get_calendar

    cal = get_calendar("XNYS")
    day = busy_day(cal)
    made = _stores(stores, tmp, day, say)
    runs: list[Run] = []
    for n in stores:
        for rate in rates:
            for r in range(rounds):
                for variant in ("ours", "naive") if r % 2 == 0 else ("naive", "ours"):
                    say(f"busy: {variant}, {n:,} signals today, writer at {rate:g}/s, round {r + 1}/{rounds}")
                    runs += lanes_run([Lane(variant, n, rate)], made, seconds, tmp, cal, day, hc, env)
    if rss_minutes > 0:
        say(f"busy: memory, ours and naive side by side for {rss_minutes:g} min at 20 events/s")
        lanes = [Lane("ours", 0, 20), Lane("naive", 0, 20)]
        runs += lanes_run(
            lanes,
            made,
            rss_minutes * 60,
            tmp,
            cal,
            day,
            hc,
            env,
            warm=10,
            sample_every=10,
            for_cpu=False,
            for_memory=True,
        )
    return {"mode": "full", "day": day, "runs": runs, "rounds": rounds, "seconds": seconds}


def measure_targets(
    big: int, seconds: float, memory_seconds: float, tmp: Path, hc: str, env: dict, say
) -> dict:
    """The issue's targets in about ten minutes, every figure beside the naive app:

    1. at 20 events/s, side by side for ``memory_seconds``: ours on the empty store, ours on
       the ``big`` one (the ratio: same moments, same machine load) and the naive app on the
       empty store; RSS every 5 s, its growth over an hour projected from the last minutes;
    2. the naive app on the big store at 20 events/s, alone, ``seconds``;
    3. at 1,000 events/s on the big store: ours, then the naive app, alone, ``seconds`` each.
    """
    from health.calendar import get_calendar

    cal = get_calendar("XNYS")
    day = busy_day(cal)
    made = _stores([0, big], tmp, day, say)
    runs: list[Run] = []
    lanes = [Lane("ours", 0, 20), Lane("ours", big, 20), Lane("naive", 0, 20)]
    say(f"busy: {', '.join(map(label, lanes))}, side by side for {memory_seconds:g} s")
    runs += lanes_run(
        lanes, made, memory_seconds, tmp, cal, day, hc, env, warm=5, sample_every=5, for_memory=True
    )
    for lane in (Lane("naive", big, 20), Lane("ours", big, 1000), Lane("naive", big, 1000)):
        say(f"busy: {label(lane)}, {seconds:g} s")
        runs += lanes_run([lane], made, seconds, tmp, cal, day, hc, env)
    return {
        "mode": "targets",
        "day": day,
        "runs": runs,
        "rounds": 1,
        "seconds": seconds,
        "big": big,
        "memory_seconds": memory_seconds,
    }
