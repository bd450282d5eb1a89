"""Console benchmark: how fast the operations console shows what the loop writes, what it costs
while nothing happens, how fast the date browser steps back through a year, and what it costs
on a busy day.

    python bench/console.py            # full run (~70 min), prints tables, updates the
                                       # bench:console and bench:console-busy sections of
                                       # BENCHMARKS.md
    python bench/console.py --quick    # smoke run (~7 min: the month-long store; the busy day
                                       # with 0 and 200k signals, one round of 20 s, 2 minutes
                                       # of memory), prints only (unless --write)
    python bench/console.py --busy-only [--rounds 3 --busy-seconds 60 --rss-minutes 10
                                         --stores 0,200000,1000000 --rates 20,1000]
    python bench/console.py --no-busy  # sections 1-3 only (~3 min)
    python bench/console.py --targets  # section 4's targets only, ~10 min (side by side at
                                       # 20 events/s for 6 min, RSS growth included; the
                                       # rest 60 s each), updates bench:console-busy

What it measures, each beside a naive baseline measured in the same run:

1. *Write -> screen latency.* A trading loop in its own process (``ProductionMonitor``
   through the public API, a running clock inside RTH, 10 iterations/s: gate decision,
   heartbeat, signal) writes into a copy of the year store from ``bench/report.py``; the
   console (``HealthConsole``, headless via ``App.run_test()``, in this process) shows it.
   For every iteration: the loop's call time (``time.monotonic()``, system-wide on Linux),
   when the recorder committed it (the writer samples ``recorder.written_events`` every
   millisecond), when the app received the first ``SnapshotReady`` whose newest gate
   decision is that one or a later one, and when the compositor next rendered a screen update
   after it (``App._display``; headless, nothing is written). Baseline: the same app with
   the store re-read from scratch (open, full snapshot, close) on a fixed 1 s timer, no
   change detection.
2. *Idle CPU.* The real ``health-console --store S`` on a pseudo-terminal (``pty.fork()``,
   the pty its controlling terminal, as over SSH), the store idle (a copy of the year store,
   no writer): the process's user+sys CPU time (psutil) over 60 s of wall time (30 s with
   --quick), per thread too, and the bytes it wrote to the terminal. Cases: the real clock
   (market closed, no loop today), a clock inside a recorded RTH session (``--now``: the
   dashboard has a whole day to analyse and its clocks tick), and a store that does not
   exist. Baselines: the same app with change detection off (a full snapshot every 250 ms
   poll), and a poller re-reading the whole store every 250 ms (``bench/report.py``'s naive
   loader + ``analyze()``).
3. *Previous-trading-day navigation* in the date browser on the year store: from the key
   press (``p``, via Pilot) until the first screen update that rendered that day's report
   (the report widget's ``render_lines``, then ``App._display``), ~25 steps back from the
   store's last day across weekends and holidays; where the time goes (key, build, render;
   Textual's ``RichVisual`` calls). Baseline: the same screen building each report with the
   naive loader (every row of the store into Python each time). What-if (not applied): the
   report pre-rendered to plain lines.
4. *A busy day* (bench/_busy.py): the console on a pseudo-terminal at 100x32 while a loop
   writes 20 and 1,000 iterations a second into stores holding 0, 200k and 1M signals today:
   its CPU, RSS and write -> screen latency, interleaved with a naive 1 s poller; then its RSS
   over 10 minutes, extrapolated to an hour. ``--targets`` measures only what the targets need,
   in about ten minutes (bench/_busy.py, ``measure_targets``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import itertools
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path, where this very file would
# shadow the ``console`` package: drop it, and put the checkout first.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from bench._common import (  # noqa: E402
    BENCH_MD,
    BUSY_WARNING,
    compile_package,
    console_script,
    load_average,
    load_before_after,
    machine_info,
    md_row,
    ro_uri,
    run_line,
    say,
    verdict,
    write_section,
)
from bench._pty import PtyProc  # noqa: E402

# Targets (docs/ARCHITECTURE.md, "Speed").
TARGET_P95_S = 1.0
TARGET_IDLE_PCT = 2.0
TARGET_NAV_S = 0.200

RATE = 10.0  # writer iterations per second
SOURCE = "bench-loop"
SIZE = (120, 40)  # terminal size, headless and on the pty (columns, rows)
DATA_LAG = 3.0  # the writer's data is this old


def _bench_report():
    """bench/report.py as a module: its store generator, cache and naive loader are reused."""
    name = "bench_report"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "report.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def year_store(quick: bool, regen: bool = False) -> tuple[Path, object, bool]:
    """The one-year store of bench/report.py (the month-long one with --quick), made the
    way ``bench/report.py`` makes it, from its cache when there."""
    br = _bench_report()
    from health.run_identity import package_version
    from store.schema import SCHEMA_VERSION

    p = br.QUICK if quick else br.FULL
    oneday, _, _ = br.ensure_store(
        "oneday",
        p,
        lambda tmp, final: br.make_oneday_store(tmp, final, p),
        regen,
        {"schema": SCHEMA_VERSION, "version": package_version()},
    )
    template = br.recorded_config(oneday)
    year, _, cached = br.ensure_store(
        "year",
        p,
        lambda tmp, final: br.make_year_store(tmp, final, p, template),
        regen,
        {"schema": SCHEMA_VERSION, "config_keys": sorted(template)},
    )
    return year, p, cached


def copy_store(src: Path, dest: Path) -> Path:
    """A private copy (other sessions may regenerate the cache while this runs)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(ro_uri(src), uri=True)) as conn:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    shutil.copyfile(src, dest)
    if os.path.exists(f"{src}-wal") and os.path.getsize(f"{src}-wal"):
        shutil.copyfile(f"{src}-wal", f"{dest}-wal")
    return dest


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:,.0f} ms" if x >= 0.0995 else f"{x * 1e3:.1f} ms"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


# ==========================================================================================
# 1. write -> screen latency
# ==========================================================================================
class _Clock:
    """The writer's running clock inside RTH; remembers the last instant it gave out (the
    ``at`` the recorder stores for a gate decision)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.last = 0.0

    def __call__(self) -> float:
        self.last = time.time() + self.offset
        return self.last


def writer_main(store: str, offset: float, count: int, out: str) -> int:
    """The trading loop, in its own process: ``count`` iterations at RATE/s."""
    from health import MonitorConfig, ProductionMonitor
    from health.simulation import SYMBOLS

    clock = _Clock(offset)
    mon = ProductionMonitor(
        MonitorConfig(store_path=store, clock=clock, source=SOURCE, check_interval_seconds=1)
    )
    commits: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:  # when did the recorder commit each signal row?
        seen = 0
        while not stop.is_set():
            n = mon.recorder.written_events
            if n != seen:
                commits.append((n, time.monotonic()))
                seen = n
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    ticks: list[tuple[int, float, float, bool]] = []
    start = time.monotonic() + 0.05
    for i in range(count):
        delay = start + i / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        called = time.monotonic()
        data_ts = time.time() + offset - DATA_LAG
        ok, _ = mon.should_generate_signals(data_ts)
        at = clock.last  # the decision's time as stored (gate.last_at)
        mon.record_activity()
        mon.record_signal(SYMBOLS[i % len(SYMBOLS)], data_ts, seq=i)
        ticks.append((i, at, called, ok))
    mon.flush()
    time.sleep(0.05)
    stop.set()
    sampler.join()
    mon.close()
    Path(out).write_text(json.dumps({"ticks": ticks, "commits": commits}))
    return 0


class NaiveWatch:
    """Baseline watch: re-open the store and take a full snapshot on a fixed 1 s timer (no
    change detection)."""

    def __init__(self, watch, period: float = 1.0) -> None:
        self.w = watch
        self.period = period
        self._stop = threading.Event()
        self.state = watch.state

    def stop(self) -> None:
        self._stop.set()

    def refresh(self) -> None:
        pass

    def run(self, post, should_stop=lambda: False) -> None:
        from console import store_watch as sw
        from store.reader import StoreReader

        while not (self._stop.is_set() or should_stop()):
            started = time.monotonic()
            try:
                with contextlib.closing(StoreReader(self.w.path)) as reader:
                    snap = sw.take_snapshot(reader, self.w.calendar, float(self.w.clock()), self.w.source)
                post(sw.SnapshotReady(snap))
                if self.state.kind != sw.LIVE:  # the status line says so, as the real watch's
                    self.state = sw.StoreState(sw.LIVE, f"live: {self.w.label}")
                    post(sw.StoreStateChanged(self.state))
            except Exception:  # the store may not be there yet
                pass
            self._stop.wait(max(0.0, self.period - (time.monotonic() - started)))


def _latency_app_class():
    import console.app as app_module
    from console.app import HealthConsole

    class LatencyApp(HealthConsole):
        """The real app; a second SnapshotReady handler (Textual also runs the app's own,
        right after this one) notes when each snapshot arrived, and the next screen update
        written after it (``App._display``, called with what the compositor rendered; headless,
        it is not written anywhere) when it reached the screen."""

        # Textual resolves a relative CSS_PATH beside the subclass's module: point at the app's.
        CSS_PATH: ClassVar[list[str]] = [
            str(Path(app_module.__file__).parent / css) for css in HealthConsole.CSS_PATH
        ]

        def __init__(self, *a, naive: bool = False, **kw) -> None:
            super().__init__(*a, **kw)
            self.seen: list[list] = []
            self._unpainted: list[list] = []
            if naive:  # the app runs every watch in self.watches (one here)
                self.store_watch = self.watches[0] = NaiveWatch(self.store_watch)

        def on_snapshot_ready(self, message) -> None:
            got = time.monotonic()
            snap = message.snapshot
            last_at = None
            for s in snap.sources:
                if s.source == SOURCE and s.last_decision is not None:
                    last_at = s.last_decision.last_at
            entry = [got, last_at, None, snap.now]
            self.seen.append(entry)
            self._unpainted.append(entry)

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if renderable is not None and self._unpainted:
                painted = time.monotonic()
                for entry in self._unpainted:
                    entry[2] = painted
                self._unpainted.clear()

    return LatencyApp


@dataclass
class LatencyResult:
    name: str
    n: int = 0
    screen: list[float] = field(default_factory=list)  # call -> screen refreshed
    received: list[float] = field(default_factory=list)  # call -> snapshot in the app
    commit: list[float] = field(default_factory=list)  # call -> committed by the recorder
    detect: list[float] = field(default_factory=list)  # committed -> snapshot taking started
    take: list[float] = field(default_factory=list)  # per snapshot: take_snapshot duration
    snapshots: int = 0
    missed: int = 0  # writes never seen on screen
    cpu_pct: float = 0.0  # this process (the app) during the writes
    denied: int = 0  # gate refusals (should be 0: inside RTH)
    rows_committed: int = 0


def run_latency(name: str, base_store: Path, tmp: Path, anchor: float, n: int, warm: int, naive: bool):
    import psutil

    from console import store_watch as sw

    store = copy_store(base_store, tmp / f"latency-{name}" / "health.db")
    offset = anchor - time.time()
    log = tmp / f"writer-{name}.json"
    count = warm + n + int(RATE)  # a second of tail
    takes: dict[float, tuple[float, float]] = {}
    real_take = sw.take_snapshot

    def timed_take(reader, calendar, now, *a, **kw):
        t0 = time.monotonic()
        snap = real_take(reader, calendar, now, *a, **kw)
        takes[snap.now] = (t0, time.monotonic())
        return snap

    app_cls = _latency_app_class()
    app = app_cls(store, clock=lambda: time.time() + offset, store_label="bench store", naive=naive)
    res = LatencyResult(name)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 30
            while not app.seen and time.monotonic() < deadline:
                await pilot.pause(0.05)
            await pilot.pause(0.5)
            me = psutil.Process()
            cpu0, wall0 = sum(me.cpu_times()[:2]), time.monotonic()
            writer = subprocess.Popen(
                [sys.executable, __file__, "--_writer", str(store), repr(offset), str(count), str(log)],
                env=child_env(),
            )
            while writer.poll() is None:
                await asyncio.sleep(0.1)
            cpu1, wall1 = sum(me.cpu_times()[:2]), time.monotonic()
            res.cpu_pct = 100 * (cpu1 - cpu0) / (wall1 - wall0)
            await pilot.pause(2.5 if naive else 1.0)
            if writer.returncode:
                raise RuntimeError(f"writer exited {writer.returncode}")

    sw.take_snapshot = timed_take
    try:
        asyncio.run(drive())
    finally:
        sw.take_snapshot = real_take
    data = json.loads(log.read_text())
    ticks, commits = data["ticks"], data["commits"]
    seen = sorted((e for e in app.seen if e[1] is not None), key=lambda e: e[0])
    res.snapshots = len(app.seen)
    res.take = [b - a for a, b in takes.values()]
    res.rows_committed = commits[-1][0] if commits else 0
    rows0 = max(0, res.rows_committed - len(ticks))  # rows besides the signals (written first)
    for i, at, called, ok in ticks[warm : warm + n]:
        res.n += 1
        res.denied += not ok
        hit = next((e for e in seen if e[1] >= at), None)
        if hit is None or hit[2] is None:
            res.missed += 1
            continue
        res.screen.append(hit[2] - called)
        res.received.append(hit[0] - called)
        committed = next((t for c, t in commits if c - rows0 >= i + 1), None)
        if committed is not None:
            res.commit.append(committed - called)
            started = takes.get(hit[3], (None,))[0]
            if started is not None:
                res.detect.append(started - committed)
    return res


# ==========================================================================================
# 2. idle CPU on a pseudo-terminal
# ==========================================================================================
@dataclass
class IdleCase:
    key: str
    label: str
    argv: list[str]
    ready: bytes | None  # output that says the app is up (None: just wait the warm-up)
    target: bool = True  # held to the 2% target (baselines are not)
    pty: bool = True
    proc: object = None
    cpu0: float = 0.0
    bytes0: int = 0
    threads0: dict = field(default_factory=dict)
    pct: float = 0.0
    threads: list = field(default_factory=list)  # (tid, % of a core), busiest first
    out_rate: float = 0.0  # bytes/s written to the terminal
    frames: dict = field(default_factory=dict)  # what the redraws look like (frame_stats)
    exit: int | None = None
    started: bool = True


def _start_case(case: IdleCase) -> None:
    env = child_env(TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("NO_COLOR", None)
    if case.pty:
        case.proc = PtyProc(case.argv, env)
    else:
        case.proc = subprocess.Popen(case.argv, env=env, stdin=subprocess.DEVNULL)


def _pid(case: IdleCase) -> int:
    return case.proc.pid


def measure_idle(cases: list[IdleCase], seconds: float, warm: float) -> None:
    """Start the cases together, wait for each to be up plus ``warm`` seconds, then measure
    them over the same ``seconds`` of wall time."""
    import psutil

    for c in cases:
        _start_case(c)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        c.ready is None or c.proc.seen(c.ready) for c in cases if c.pty
    ):
        time.sleep(0.1)
    for c in cases:
        c.started = c.ready is None or not c.pty or c.proc.seen(c.ready)
    time.sleep(warm)
    procs = {c.key: psutil.Process(_pid(c)) for c in cases}
    t0 = time.monotonic()
    for c in cases:
        p = procs[c.key]
        c.cpu0 = sum(p.cpu_times()[:2])
        c.threads0 = {t.id: t.user_time + t.system_time for t in p.threads()}
        c.bytes0 = c.proc.bytes if c.pty else 0
        if c.pty:
            c.proc.recording = True
    time.sleep(seconds)
    wall = time.monotonic() - t0
    for c in cases:
        p = procs[c.key]
        c.pct = 100 * (sum(p.cpu_times()[:2]) - c.cpu0) / wall
        now = {t.id: t.user_time + t.system_time for t in p.threads()}
        c.threads = sorted(
            ((tid, 100 * (v - c.threads0.get(tid, 0.0)) / wall) for tid, v in now.items()),
            key=lambda x: -x[1],
        )
        c.threads = [("main" if tid == c.proc.pid else tid, v) for tid, v in c.threads]
        if c.pty:
            c.out_rate = (c.proc.bytes - c.bytes0) / wall
            c.proc.recording = False
            c.frames = frame_stats(c.proc.chunks, wall, SIZE[1])
    for c in cases:
        if c.pty:
            c.exit = c.proc.stop()
        else:
            c.proc.terminate()
            try:
                c.proc.wait(5)
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait()
            c.exit = c.proc.returncode


CURSOR_TO = re.compile(rb"\x1b\[(\d+);(\d+)H")


def frame_stats(chunks: list[tuple[float, bytes]], wall: float, rows: int) -> dict:
    """Group the terminal output into frames (writes less than 20 ms apart) and count the
    screen rows each frame rewrote (Textual moves the cursor to every line it redraws)."""
    frames: list[tuple[int, set[int]]] = []
    last = None
    for t, chunk in chunks:
        if last is None or t - last > 0.020:
            frames.append((0, set()))
        n, rws = frames[-1]
        rws.update(int(m.group(1)) for m in CURSOR_TO.finditer(chunk))
        frames[-1] = (n + len(chunk), rws)
        last = t
    if not frames:
        return {"per_s": 0.0, "rows": 0, "bytes": 0, "screen_rows": rows}
    return {
        "per_s": len(frames) / wall,
        "rows": statistics.median(len(r) for _, r in frames),
        "bytes": statistics.median(n for n, _ in frames),
        "screen_rows": rows,
    }


def app_no_cd_main(store: str, now_iso: str | None) -> int:
    """Baseline on the pty: the real app, change detection off (a snapshot every poll)."""
    from console.app import HealthConsole
    from console.terminal import TerminalGuard

    start = datetime.fromisoformat(now_iso).timestamp() if now_iso else None
    real = time.time()
    clock = time.time if start is None else (lambda: start + (time.time() - real))
    app = HealthConsole(store, clock=clock, refresh_seconds=0.0, guard=TerminalGuard.install())
    app.run()
    return app.return_code or 0


def naive_poller_main(store: str, day: str) -> int:
    """Baseline: re-read the whole store every 250 ms (bench/report.py's naive loader, every
    row into Python, then the same analysis)."""
    br = _bench_report()
    d = date.fromisoformat(day)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.is_set():
        br.naive_report(Path(store), d, "XNYS", time.time())
        stopping.wait(0.25)
    return 0


# ==========================================================================================
# 3. previous-trading-day navigation
# ==========================================================================================
def _nav_screen_classes():
    from textual import work

    from console.screens.browser import BrowserScreen

    class TimedBrowser(BrowserScreen):
        """The real date browser; a second ReportLoaded handler (the screen's own runs right
        after it) notes when the report arrived; ``rendered``/``displayed`` (hooked onto the
        report widget's ``render_lines`` and the app's ``_display`` by ``run_nav``) stamp the
        first screen update that rendered the new report."""

        painted: asyncio.Event | None = None
        painted_at = 0.0
        arrived_at = 0.0
        painted_day: date | None = None
        spans: list | None = None  # (start, end) of each report build, monotonic
        awaiting: date | None = None  # a report arrived and has not been painted yet
        rendered = False  # the report widget was rendered since it arrived

        def on_report_loaded(self, message) -> None:
            if message.seq != self._seq:
                return
            self.arrived_at = time.monotonic()
            self.awaiting = message.day
            self.rendered = False

        def on_mount(self) -> None:  # runs before the screen's own on_mount (loads the day)
            widget = self.query_one("#report")
            render_lines = widget.render_lines

            def hooked(crop):
                if self.awaiting is not None:
                    self.rendered = True
                return render_lines(crop)

            widget.render_lines = hooked

        def on_display(self) -> None:
            if self.awaiting is not None and self.rendered:
                self.painted_at = time.monotonic()
                self.painted_day = self.awaiting
                self.awaiting = None
                if self.painted is not None:
                    self.painted.set()

    class NaiveBrowser(TimedBrowser):
        """Baseline: each report built by loading every row of the store (bench/report.py)."""

        def _build(self, seq: int, day: date) -> None:
            self._naive_build(seq, day)

        @work(thread=True, group="report", exit_on_error=False)
        def _naive_build(self, seq: int, day: date) -> None:
            from console.screens.browser import ReportLoaded

            try:
                t0 = time.monotonic()
                report = _bench_report().naive_report(
                    self.ctx.store_path, day, self.ctx.calendar.code, self.ctx.now()
                )
                if self.spans is not None:
                    self.spans.append((t0, time.monotonic()))
                self.post_message(ReportLoaded(seq, day, report, None))
            except Exception as exc:
                self.post_message(ReportLoaded(seq, day, None, f"{type(exc).__name__}: {exc}"))

    return TimedBrowser, NaiveBrowser


NAV_PARTS = (
    ("key", "key press -> report build started in the worker"),
    ("build", "building the report in the worker"),
    ("deliver", "build done -> `ReportLoaded` handled"),
    ("render", "`ReportLoaded` -> screen refreshed (render the report text, layout, paint)"),
)


def part_median(nav: NavResult, key: str) -> float | None:
    vals = [p[key] for p in nav.parts]
    return statistics.median(vals) if vals else None


@dataclass
class NavResult:
    name: str
    steps: list[tuple[date, date, float]] = field(default_factory=list)  # from, to, seconds
    spans: list[tuple[float, float]] = field(default_factory=list)  # report builds (monotonic)
    # per step: key -> build started, the build, build done -> message handled, -> painted
    parts: list[dict[str, float]] = field(default_factory=list)
    rich_render: float | None = None  # one full Rich render of a report at the view's width
    # Textual's RichVisual calls on the UI thread during the steps: name -> [calls, seconds]
    rich_calls: dict = field(default_factory=dict)
    rich_lines: int = 0
    render_report: float | None = None  # console.report_text.render_report alone
    statuses: dict = field(default_factory=dict)
    errors: int = 0


def run_nav(name: str, store: Path, start: date, steps: int, naive: bool, whatif: bool = False) -> NavResult:
    """``whatif``: the report pre-rendered to one Rich ``Text`` of lines at the view's width
    (still on the UI thread, in ``render_report``), so Textual's measuring and painting see
    plain lines instead of tables; the app is not changed."""
    import console.report_text as report_text
    import health.loader as loader
    from console.app import HealthConsole

    timed, naive_cls = _nav_screen_classes()
    cls = naive_cls if naive else timed
    res = NavResult(name)
    real_build = loader.build_report

    def timed_build(*a, **kw):
        t0 = time.monotonic()
        try:
            return real_build(*a, **kw)
        finally:
            res.spans.append((t0, time.monotonic()))

    app = HealthConsole(store, store_label="year store")
    screen_report: list = [None]
    width = [SIZE[0]]

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            screen = cls(app.ctx, start)
            screen.painted = asyncio.Event()
            screen.spans = res.spans
            display = app._display

            def hooked_display(on_screen, renderable) -> None:
                display(on_screen, renderable)
                if renderable is not None:
                    screen.on_display()

            app._display = hooked_display
            await app.push_screen(screen)
            await asyncio.wait_for(screen.painted.wait(), 60)
            await pilot.pause(0.2)
            from console.screens.browser import ReportView

            width[0] = app.screen.query_one(ReportView).content_region.width
            counting[0] = True
            for _ in range(steps):
                screen.painted.clear()
                res.spans.clear()
                before = screen.day
                t0 = time.monotonic()
                await pilot.press("p")
                await asyncio.wait_for(screen.painted.wait(), 60)
                res.steps.append((before, screen.painted_day, screen.painted_at - t0))
                if res.spans:
                    b0, b1 = res.spans[-1]
                    res.parts.append(
                        {
                            "key": b0 - t0,
                            "build": b1 - b0,
                            "deliver": screen.arrived_at - b1,
                            "render": screen.painted_at - screen.arrived_at,
                        }
                    )
                screen_report[0] = screen.report
                if screen.report is None:
                    res.errors += 1
                else:
                    res.statuses[screen.report.status] = res.statuses.get(screen.report.status, 0) + 1
                await pilot.pause(0.05)

    import textual.visual as tv

    counting = [False]
    originals = {n: getattr(tv.RichVisual, n) for n in ("get_height", "render_strips")}

    def counted(name):
        original = originals[name]

        def call(self, *a, **kw):
            t0 = time.perf_counter()
            try:
                return original(self, *a, **kw)
            finally:
                if counting[0]:
                    c = res.rich_calls.setdefault(name, [0, 0.0])
                    c[0] += 1
                    c[1] += time.perf_counter() - t0

        return call

    real_render = report_text.render_report

    def prerendered(report):
        import io

        from rich.console import Console
        from rich.text import Text

        console = Console(width=width[0], file=io.StringIO(), force_terminal=True, color_system="truecolor")
        lines = console.render_lines(real_render(report), console.options.update_width(width[0]), pad=False)
        text = Text("\n").join(
            Text.assemble(*((seg.text, seg.style) for seg in line if not seg.control)) for line in lines
        )
        text.no_wrap = True
        return text

    loader.build_report = timed_build
    if whatif:
        report_text.render_report = prerendered
    for n in originals:
        setattr(tv.RichVisual, n, counted(n))
    try:
        asyncio.run(drive())
    finally:
        loader.build_report = real_build
        report_text.render_report = real_render
        for n, f in originals.items():
            setattr(tv.RichVisual, n, f)
    if not naive and not whatif and screen_report[0] is not None:
        res.render_report, res.rich_render, res.rich_lines = time_rich_render(screen_report[0], width[0])
    return res


def time_rich_render(report, width: int, n: int = 5) -> tuple[float, float, int]:
    """What the UI thread does with a new report, outside Textual: ``render_report`` (builds
    the Rich renderables), then one full Rich render of them to lines at the view's width;
    Textual does the latter at least twice per report (``RichVisual.get_height`` renders all
    of it to count the lines, ``render_strips`` renders it again to paint). Medians of n."""
    import io

    from rich.console import Console

    from console.report_text import render_report

    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    builds, renders, lines = [], [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        renderable = render_report(report)
        t1 = time.perf_counter()
        lines = len(console.render_lines(renderable, console.options.update_width(width)))
        renders.append(time.perf_counter() - t1)
        builds.append(t1 - t0)
    return statistics.median(builds), statistics.median(renders), lines


# ==========================================================================================
# output
# ==========================================================================================
def render(r: dict) -> str:
    out: list[str] = []
    w = out.append
    info = r["info"]
    w(
        f"{run_line(info, 'console.py', r['quick'], [('Textual', r['textual'])])} "
        f"took {r['elapsed']:.0f} s; {load_before_after(*r['load'])}\n"
    )
    if max(r["load"]) > 0.75 * (os.cpu_count() or 1):
        w(BUSY_WARNING + "\n")
    w("### Targets\n")
    w("| target | goal | measured | naive baseline | naive / ours | |")
    w("|---|---|---|---|---:|---|")
    for row in r["table"]:
        w(md_row(row))
    w("")

    lat, nl = r["latency"], r["latency_naive"]
    w("### 1. Write -> screen latency\n")
    w(
        f"A loop in its own process (`ProductionMonitor`, public API, source `{SOURCE}`, a running "
        f"clock from {r['anchor_text']}, inside RTH) writes {RATE:g} iterations/s (gate decision, "
        f"heartbeat, signal; data {DATA_LAG:g} s old) into a copy of the {r['store_kind']} store; "
        f"`HealthConsole` runs headless (`App.run_test()`, {SIZE[0]}x{SIZE[1]}) in the benchmark's "
        f"process. Measured over {lat.n} writes after {r['lat_warm']} warm-up writes; every time "
        "from the loop's call (`time.monotonic()`, the same clock in both processes). *On screen* "
        "= the first screen update the compositor rendered (`App._display`) after the app handled "
        "the first snapshot holding that decision (or a later one).\n"
    )
    w("| | ours (`PRAGMA data_version` every 250 ms) | naive (full re-read on a 1 s timer) |")
    w("|---|---:|---:|")

    def dist(vals: list[float]) -> str:
        if not vals:
            return "-"
        return f"{ms(statistics.median(vals))} / {ms(pct(vals, 95))} / {ms(max(vals))}"

    w(f"| call -> on screen, p50 / p95 / max | {dist(lat.screen)} | {dist(nl.screen)} |")
    w(f"| call -> snapshot in the app, p50 / p95 / max | {dist(lat.received)} | {dist(nl.received)} |")
    w(f"| call -> committed by the recorder (flush every 250 ms) | {dist(lat.commit)} | {dist(nl.commit)} |")
    w(f"| committed -> snapshot started (poll wait) | {dist(lat.detect)} | {dist(nl.detect)} |")
    w(f"| one snapshot (`take_snapshot`), p50 / p95 / max | {dist(lat.take)} | {dist(nl.take)} |")
    w(f"| snapshots shown | {lat.snapshots} | {nl.snapshots} |")
    w(f"| writes never shown | {lat.missed} | {nl.missed} |")
    w(f"| the app's CPU during the writes (% of one core; info) | {lat.cpu_pct:.1f}% | {nl.cpu_pct:.1f}% |")
    w("")

    w("### 2. Idle CPU\n")
    w(
        f"`health-console --store S` on a pseudo-terminal ({SIZE[0]}x{SIZE[1]}, `TERM=xterm-256color`, "
        "its controlling terminal, output read and discarded), started, then measured after a "
        f"{r['idle_warm']:g} s warm-up: user+sys CPU time (psutil) / wall time. S is an idle copy of "
        f"the {r['store_kind']} store (no writer). The first two cases ran together, then the next two, "
        "then the naive poller alone. Threads: `main` is the event loop; the other threads (Textual's "
        "input and output threads, the store watch, the terminal watch) are listed by share.\n"
    )
    w(
        "| case | wall | CPU (% of one core) | busiest threads (% of one core) | terminal output "
        "| redraws/s | rows rewritten per redraw (median) | target |"
    )
    w("|---|---:|---:|---|---:|---:|---:|---|")
    for c in r["idle"]:
        main_share = dict(c["threads"]).get("main", 0.0)
        others = [v for t, v in c["threads"] if t != "main"][:2]
        th = f"main: {main_share:.2f}%" + "".join(f", other: {v:.2f}%" for v in others)
        out_rate = f"{c['out_rate']:,.0f} B/s" if c["pty"] else "-"
        tgt = verdict(c["pct"] <= TARGET_IDLE_PCT) if c["target"] else "baseline"
        f = c["frames"]
        redraws = f"{f['per_s']:.1f}" if f else "-"
        rows = f"{f['rows']:.0f} of {f['screen_rows']} ({f['bytes'] / 1e3:.1f} kB)" if f else "-"
        w(
            f"| {c['label']} | {c['wall']:.0f} s | {c['pct']:.2f}% | {th} | {out_rate} | {redraws} "
            f"| {rows} | {tgt} |"
        )
    w("")

    nav, nn = r["nav"], r["nav_naive"]
    w("### 3. Previous-trading-day navigation\n")
    w(
        f"The date browser on the {r['store_kind']} store ({r['store_mb']:.1f} MB), {SIZE[0]}x{SIZE[1]} "
        "headless: `p` pressed through Pilot, timed until the first screen update that rendered the "
        "new day's report (the report widget's `render_lines`, then `App._display`). "
        f"Ours: {len(nav.steps)} steps back from {r['nav_start']} "
        f"({nav.steps[0][1]} .. {nav.steps[-1][1]}), crossing {r['nav_crossed']}; "
        f"naive: the first {len(nn.steps)} of those steps.\n"
    )
    wi = r["nav_whatif"]
    w(
        "| | ours | naive (every row of the store, each step) | what-if, not applied: the report "
        "pre-rendered to plain lines (one `Text`) |"
    )
    w("|---|---:|---:|---:|")
    nv = [s for _, _, s in nav.steps]
    nnv = [s for _, _, s in nn.steps]
    wv = [s for _, _, s in wi.steps]
    med = statistics.median
    w(f"| key -> report on screen, median | {ms(med(nv))} | {ms(med(nnv))} | {ms(med(wv))} |")
    w(f"| p95 | {ms(pct(nv, 95))} | {ms(pct(nnv, 95))} | {ms(pct(wv, 95))} |")
    w(f"| max | {ms(max(nv))} | {ms(max(nnv))} | {ms(max(wv))} |")
    for key, text in NAV_PARTS:
        w(
            f"| {text}, median | {ms(part_median(nav, key))} | {ms(part_median(nn, key))} "
            f"| {ms(part_median(wi, key))} |"
        )
    w(f"| reports (status: steps) | {r['nav_status']} | {r['nav_naive_status']} | |")
    w("")
    w(
        "Each step (ours): "
        + ", ".join(f"{b:%a %m-%d}→{a:%a %m-%d} {s * 1e3:.0f}" for b, a, s in nav.steps)
        + " ms.\n"
    )
    for note in r["notes"]:
        w(f"- {note}")
    return "\n".join(out) + "\n"


def crossed(cal, days: list[date]) -> str:
    """What the steps skipped: weekends and holidays."""
    weekends = holidays = 0
    names = []
    for a, b in itertools.pairwise(days):
        d = date.fromordinal(b.toordinal() + 1)
        while d < a:
            if d.weekday() >= 5:
                weekends += d.weekday() == 5
            else:
                holidays += 1
                names.append(d.isoformat())
            d = date.fromordinal(d.toordinal() + 1)
    text = f"{weekends} weekends"
    if holidays:
        text += f" and {holidays} holiday{'s' if holidays > 1 else ''} ({', '.join(names)})"
    return text


# ==========================================================================================
# main
# ==========================================================================================
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: month-long store, shorter phases")
    ap.add_argument("--regen", action="store_true", help="rebuild bench/report.py's cached stores")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md after a --quick run")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument("--busy-only", action="store_true", help="only section 4, the busy day")
    ap.add_argument("--no-busy", action="store_true", help="sections 1-3 only")
    ap.add_argument("--rounds", type=int, help="busy day: interleaved rounds per condition (3; --quick 1)")
    ap.add_argument("--busy-seconds", type=float, help="busy day: seconds measured per run (60; --quick 20)")
    ap.add_argument(
        "--rss-minutes", type=float, help="busy day: minutes of the memory run (10; --quick 2; 0: none)"
    )
    ap.add_argument(
        "--stores", help="busy day: signals today, comma-separated (0,200000,1000000; --quick 0,200000)"
    )
    ap.add_argument("--rates", help="busy day: loop iterations a second, comma-separated (20,1000)")
    ap.add_argument(
        "--targets",
        action="store_true",
        help="only the busy day's targets, in ~10 minutes (bench/_busy.py, measure_targets)",
    )
    ap.add_argument(
        "--memory-seconds",
        type=float,
        default=360.0,
        help="--targets: seconds of the 20 events/s lanes side by side, RSS growth included (360)",
    )
    ap.add_argument(
        "--big", type=int, default=1_000_000, help="--targets: signals in the big store (1000000)"
    )
    args = ap.parse_args(argv)
    compile_package()  # bench/_common.py: timed as installed, bytecode written
    if args.targets:
        return busy(args)
    code = 0
    if not args.busy_only:
        code |= classic(args)
    if not args.no_busy:
        code |= busy(args)
    return code


def busy(args) -> int:
    """Section 4: the busy day, in its own section of BENCHMARKS.md."""
    from bench import _busy, _busy_report

    quick = args.quick
    started = time.perf_counter()
    load = [load_average()]
    stores = [int(x) for x in (args.stores or ("0,200000" if quick else "0,200000,1000000")).split(",")]
    rates = [float(x) for x in (args.rates or "20,1000").split(",")]
    rounds = args.rounds or (1 if quick else 3)
    seconds = args.busy_seconds or (20.0 if quick else 60.0)
    rss_minutes = args.rss_minutes if args.rss_minutes is not None else (2.0 if quick else 10.0)
    tmp = Path(tempfile.mkdtemp(prefix="health-console-busy-"))
    hc, env = console_script("health-console"), _busy.busy_env(child_env)
    try:
        if args.targets:
            res = _busy.measure_targets(args.big, seconds, args.memory_seconds, tmp, hc, env, say)
        else:
            res = _busy.measure(stores, rates, rounds, seconds, rss_minutes, tmp, hc, env, say)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load.append(load_average())
    import textual

    info = machine_info()
    flags = " ".join(a for a in sys.argv[1:] if a not in ("--quick", "--write", "--no-write"))
    head = (
        f"{run_line(info, 'console.py', quick, [('Textual', getattr(textual, '__version__', '?'))])}"
        f"{' ' + flags if flags else ''} took {time.perf_counter() - started:.0f} s for this section; "
        f"{load_before_after(*load)}\n"
    )
    if max(load) > 0.75 * (os.cpu_count() or 1):
        head += "\n" + BUSY_WARNING + "\n"
    body, ok = _busy_report.render(res, head, md_row)
    print(body)
    if not args.no_write and (not quick or args.write):
        write_section("console-busy", "Console on a busy day (`bench/console.py`, section 4)", body)
        say(f"updated {BENCH_MD}")
    return 0 if ok else 1


def classic(args) -> int:
    """Sections 1-3, in the console section of BENCHMARKS.md."""
    started = time.perf_counter()
    load = [load_average()]
    quick = args.quick
    import textual

    from health.calendar import get_calendar
    from health.simulation import at

    say("the year store (bench/report.py's generator and cache)")
    base, p, cached = year_store(quick, args.regen)
    say(f"  {base} ({'cached' if cached else 'generated'})")
    cal = get_calendar(p.calendar)
    last = date.fromisoformat(p.end)
    if not cal.is_trading_day(last):
        last = cal.previous_trading_day(last)
    tmp = Path(tempfile.mkdtemp(prefix="health-console-bench-"))
    notes: list[str] = []
    try:
        store = copy_store(base, tmp / "idle" / "health.db")
        store_mb = os.path.getsize(store) / 1e6

        # -- 1. latency ------------------------------------------------------------------
        day = cal.next_trading_day(date.fromisoformat(p.end))
        anchor = at(day, 10, 30, 0, p.calendar)
        n_lat = 100 if quick else 200
        warm = 20
        say(f"latency: {n_lat} writes at {RATE:g}/s, ours")
        lat = run_latency("ours", base, tmp, anchor, n_lat, warm, naive=False)
        say(f"latency: {n_lat} writes at {RATE:g}/s, naive (1 s full re-read)")
        lat_naive = run_latency("naive", base, tmp, anchor, n_lat, warm, naive=True)

        # -- 2. idle CPU -----------------------------------------------------------------
        hc = console_script("health-console")
        now_iso = datetime.fromtimestamp(at(p.d, 11, 0, 0, p.calendar), cal.tz).isoformat()
        secs = 30.0 if quick else 60.0
        short = 10.0 if quick else 15.0
        idle_warm = 3.0 if quick else 5.0
        ready = b"live: "
        phase_a = [
            IdleCase(
                "real",
                f"idle store, real clock (market {'open' if cal.state(time.time()).is_open else 'closed'}, "
                "no loop today)",
                [hc, "--store", str(store)],
                ready,
            ),
            IdleCase(
                "rth",
                f"idle store, clock inside RTH of {p.d} (`--now {now_iso}`)",
                [hc, "--store", str(store), "--now", now_iso],
                ready,
            ),
        ]
        phase_b = [
            IdleCase(
                "missing",
                "missing store (waiting for it)",
                [hc, "--store", str(tmp / "none" / "health.db")],
                b"waiting",
            ),
            IdleCase(
                "nocd",
                f"baseline: the app, change detection off (snapshot every 250 ms), clock inside RTH of {p.d}",
                [sys.executable, __file__, "--_app-no-cd", str(store), now_iso],
                ready,
                target=False,
            ),
        ]
        phase_c = [
            IdleCase(
                "naive",
                "baseline: naive poller, whole store re-read every 250 ms (no terminal)",
                [sys.executable, __file__, "--_naive-poller", str(store), p.d.isoformat()],
                None,
                target=False,
                pty=False,
            )
        ]
        say(f"idle CPU: {secs:g} s, existing store (real clock and inside RTH, together)")
        measure_idle(phase_a, secs, idle_warm)
        say(f"idle CPU: {short:g} s, missing store and the no-change-detection baseline, together")
        measure_idle(phase_b, short, idle_warm)
        say(f"idle CPU: {short:g} s, naive poller")
        measure_idle(phase_c, short, 2.0)
        idle = []
        for c, wall in [*((c, secs) for c in phase_a), *((c, short) for c in phase_b + phase_c)]:
            idle.append(
                {
                    "key": c.key,
                    "label": c.label,
                    "pct": c.pct,
                    "threads": c.threads,
                    "out_rate": c.out_rate,
                    "frames": c.frames,
                    "pty": c.pty,
                    "target": c.target,
                    "wall": wall,
                    "exit": c.exit,
                    "started": c.started,
                }
            )
            if not c.started:
                notes.append(f"{c.label}: the app never printed {c.ready!r} before the measurement")
            if c.pty and c.exit not in (0, None) and c.key != "nocd":
                notes.append(f"{c.label}: exited {c.exit} on SIGTERM")

        # -- 3. navigation ---------------------------------------------------------------
        steps = 10 if quick else 25
        nsteps = 3 if quick else 8
        say(f"navigation: {steps} steps back from {last}, ours")
        nav = run_nav("ours", store, last, steps, naive=False)
        say(f"navigation: {nsteps} steps, naive")
        nav_naive = run_nav("naive", store, last, nsteps, naive=True)
        say(f"navigation: {steps} steps, what-if (report pre-rendered to lines)")
        nav_whatif = run_nav("what-if", store, last, steps, naive=False, whatif=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load.append(load_average())

    # -- verdicts ----------------------------------------------------------------------------
    p95 = pct(lat.screen, 95) if lat.screen else float("inf")
    p95_naive = pct(lat_naive.screen, 95) if lat_naive.screen else float("inf")
    ok_lat = p95 <= TARGET_P95_S and lat.missed == 0
    by = {c["key"]: c for c in idle}
    worst_idle = max(by["real"]["pct"], by["rth"]["pct"])
    ok_idle = worst_idle <= TARGET_IDLE_PCT
    ok_missing = by["missing"]["pct"] <= TARGET_IDLE_PCT
    nv = [s for _, _, s in nav.steps]
    nnv = [s for _, _, s in nav_naive.steps]
    nav_p95 = pct(nv, 95)
    ok_nav = nav_p95 <= TARGET_NAV_S and nav.errors == 0
    table = [
        [
            f"write -> screen latency p95, writer at {RATE:g} events/s",
            f"<= {TARGET_P95_S:g} s",
            f"p50 {ms(statistics.median(lat.screen))}, p95 {ms(p95)}, max {ms(max(lat.screen))} "
            f"({len(lat.screen)} writes, {lat.missed} never shown)",
            f"p50 {ms(statistics.median(lat_naive.screen))}, p95 {ms(p95_naive)}",
            f"{p95_naive / p95:.1f}x (p95)",
            verdict(ok_lat),
        ],
        [
            f"idle CPU, existing store, over {secs:g} s",
            f"<= {TARGET_IDLE_PCT:g}% of one core",
            f"{by['real']['pct']:.2f}% (real clock), {by['rth']['pct']:.2f}% (inside RTH)",
            f"{by['nocd']['pct']:.1f}% (no change detection), {by['naive']['pct']:.0f}% (naive poller)",
            f"{by['nocd']['pct'] / max(by['rth']['pct'], 1e-3):.0f}x / "
            f"{by['naive']['pct'] / max(worst_idle, 1e-3):,.0f}x",
            verdict(ok_idle),
        ],
        [
            f"idle CPU, missing store, over {short:g} s",
            f"<= {TARGET_IDLE_PCT:g}% of one core",
            f"{by['missing']['pct']:.2f}%",
            "",
            "",
            verdict(ok_missing),
        ],
        [
            f"previous trading day on the {'one-year' if not quick else 'month-long'} store, key -> screen",
            f"<= {TARGET_NAV_S * 1e3:g} ms (p95)",
            f"median {ms(statistics.median(nv))}, p95 {ms(nav_p95)} ({len(nv)} steps)",
            f"median {ms(statistics.median(nnv))} ({len(nnv)} steps)",
            f"{statistics.median(nnv) / statistics.median(nv):.0f}x (median)",
            verdict(ok_nav),
        ],
    ]
    if lat.denied or lat_naive.denied:
        notes.append(f"the gate refused {lat.denied + lat_naive.denied} of the writer's calls (expected 0)")
    notes.extend(diagnose(lat, by, nav, nav_whatif, ok_lat, ok_idle and ok_missing, ok_nav))
    res = {
        "info": machine_info(),
        "textual": textual.__version__ if hasattr(textual, "__version__") else "?",
        "quick": quick,
        "load": load,
        "elapsed": time.perf_counter() - started,
        "table": table,
        "latency": lat,
        "latency_naive": lat_naive,
        "lat_warm": warm,
        "anchor_text": datetime.fromtimestamp(anchor, cal.tz).strftime("%a %Y-%m-%d %H:%M %Z"),
        "store_kind": "month-long" if quick else "one-year",
        "store_mb": store_mb,
        "idle": idle,
        "idle_warm": idle_warm,
        "nav": nav,
        "nav_naive": nav_naive,
        "nav_whatif": nav_whatif,
        "nav_start": f"{last:%a %Y-%m-%d}",
        "nav_crossed": crossed(cal, [last] + [a for _, a, _ in nav.steps]),
        "nav_status": ", ".join(f"{k}: {v}" for k, v in sorted(nav.statuses.items()))
        + (f", errors: {nav.errors}" if nav.errors else ""),
        "nav_naive_status": ", ".join(f"{k}: {v}" for k, v in sorted(nav_naive.statuses.items())),
        "notes": notes,
    }
    body = render(res)
    print(body)
    if not args.no_write and (not quick or args.write):
        write_section("console", "Console (`bench/console.py`)", body)
        say(f"updated {BENCH_MD}")
    return 0 if ok_lat and ok_idle and ok_missing and ok_nav else 1


def diagnose(
    lat: LatencyResult,
    idle: dict,
    nav: NavResult,
    whatif: NavResult,
    ok_lat: bool,
    ok_idle: bool,
    ok_nav: bool,
) -> list[str]:
    """Where the time goes, in words (always for latency; more when a target is missed)."""
    notes = []
    if lat.screen:
        parts = [
            ("the recorder's commit", statistics.median(lat.commit) if lat.commit else 0.0),
            ("waiting for the next poll", statistics.median(lat.detect) if lat.detect else 0.0),
            ("taking the snapshot", statistics.median(lat.take) if lat.take else 0.0),
        ]
        rest = statistics.median(lat.screen) - sum(v for _, v in parts)
        notes.append(
            "Latency, where the median goes: "
            + ", ".join(f"{n} {ms(v)}" for n, v in parts)
            + f", posting the message and refreshing the screen {ms(max(0.0, rest))}. The recorder commits "
            "every 250 ms and the watch polls every 250 ms, so ~250 ms on average and ~500 ms at worst "
            "are by design; the rest is the snapshot and the redraw."
        )
    busiest = max(idle["real"]["pct"], idle["rth"]["pct"])
    rth = idle["rth"]
    main_pct = dict(rth["threads"]).get("main", 0.0)
    f = rth["frames"] or {}
    miss = f"**Idle CPU misses the target ({busiest:.2f}%).** " if not ok_idle else ""
    per_frame = f" ({main_pct * 10 / f['per_s']:.1f} ms of CPU per redraw)" if f.get("per_s") else ""
    notes.append(
        f"{miss}Idle, where the CPU goes: {main_pct:.2f}% of the {rth['pct']:.2f}% (inside RTH) is "
        "the main thread, Textual's event loop; the rest is spread over the input thread, the "
        "store watch (a `PRAGMA data_version` every 250 ms and a fresh snapshot every 5 s, "
        '`refresh_seconds`, for RTH coverage "so far") and the terminal watch. The main '
        f"thread's work is the dashboard's 1 s tick: {f.get('per_s', 0):.1f} redraws/s, each "
        f"rewriting {f.get('rows', 0):.0f} of {f.get('screen_rows', 0)} rows{per_frame}, because the "
        "ticking values (the RTH clock's countdown, the heartbeat and data ages) live inside "
        "the big panels and a changed reactive repaints the whole panel. With change detection "
        f"off the same app spends {idle['nocd']['pct']:.1f}% (a full snapshot and a full "
        "repaint four times a second). If this margin is needed: put each ticking value in its "
        "own one-line widget (a tick then repaints 3-4 rows, not ~half the screen), and show "
        "countdowns longer than an hour to the minute, so most ticks change nothing."
    )
    if not ok_lat:
        notes.append("**Latency misses the target**: see the split above.")
    if nav.parts:
        parts = ", ".join(f"{text} {ms(part_median(nav, key))}" for key, text in NAV_PARTS)
        miss = "**Navigation misses the target.** " if not ok_nav else ""
        text = f"{miss}Navigation, where the median step goes: {parts}."
        if nav.rich_render is not None:
            steps = max(1, len(nav.steps))
            rich_text = ", ".join(
                f"`{name}` {c[0] / steps:.1f} times per step ({ms(c[1] / steps)})"
                for name, c in sorted(nav.rich_calls.items())
            )
            text += (
                f" The report is a Rich renderable (rules, tables, padding; {nav.rich_lines} lines at "
                f"the view's width): `render_report` takes {ms(nav.render_report)}, one full Rich "
                f"render of it to lines {ms(nav.rich_render)}; Textual's `RichVisual` does that "
                f"full render on the UI thread: {rich_text} (`get_height` sizes the scroll view, "
                "again whenever a refresh clears the cached height; `render_strips` paints). "
                "So the time is Rich layout on the UI thread, not the store. The what-if column "
                "(measured, not applied) pre-renders the report to plain lines (one `Text`) in "
                "`render_report`, still on the UI thread: the step's render part goes from "
                f"{ms(part_median(nav, 'render'))} to {ms(part_median(whatif, 'render'))} and the "
                f"whole step from {ms(statistics.median(s for _, _, s in nav.steps))} to "
                f"{ms(statistics.median(s for _, _, s in whatif.steps))}. Doing that pre-render in the "
                "build worker (it is pure Rich, no Textual) would take the remaining full render "
                f"({ms(nav.rich_render)}) off the UI thread too; a line-API widget (`ScrollView` + "
                "`render_line`) over those lines would paint only the visible rows."
            )
        notes.append(text)
    return notes


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_busy-writer":
        from bench._busy import writer_main as busy_writer

        a = sys.argv[2:]
        sys.exit(busy_writer(a[0], float(a[1]), float(a[2]), float(a[3]), a[4]))
    if len(sys.argv) > 1 and sys.argv[1] == "--_app-naive":
        from bench._busy import naive_app_main

        sys.exit(naive_app_main(sys.argv[2], sys.argv[3]))
    if len(sys.argv) > 1 and sys.argv[1] == "--_writer":
        sys.exit(writer_main(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
    if len(sys.argv) > 1 and sys.argv[1] == "--_app-no-cd":
        sys.exit(app_no_cd_main(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
    if len(sys.argv) > 1 and sys.argv[1] == "--_naive-poller":
        sys.exit(naive_poller_main(sys.argv[2], sys.argv[3]))
    sys.exit(main())
