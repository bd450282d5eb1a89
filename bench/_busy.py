"""The console on a busy day (bench/console.py, the ``console-busy`` section of BENCHMARKS.md).

A trading loop in its own process (``ProductionMonitor``, public API) writes N iterations a
second (each: a gate decision, a heartbeat, a signal) into a store that already holds S
signals today; ``health-console`` runs on a pseudo-terminal at 100x32 (its controlling
terminal, as over SSH) with its clock inside that day's RTH. Measured per run:

- the console process's CPU (user+sys, psutil) and RSS over the measured seconds;
- write -> screen: for every write, from the loop's call (``time.monotonic()``, system-wide)
  until the terminal received the frame whose data-age panel shows a signal count that
  includes it (``signals N:``, read from the pty's output as a terminal emulator would);
- the loop's own CPU, for scale.

Baseline, in the same run and interleaved with ours (alternating which goes first): the same
app whose store watch re-opens the store and takes a full snapshot on a fixed 1 s timer, no
change detection and nothing kept between snapshots (``NaiveWatch``).

Then the memory run: ours and the naive app side by side for several minutes at 20 events/s
on the empty store, RSS sampled every 10 s; the growth per hour is the least-squares slope
after the first minute.
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

from bench._pty import PtyProc

SIZE = (100, 32)
SOURCE = "busy-loop"
LAG = 5.0  # the loop's clock runs this far behind the console's: its rows are never "ahead"
DATA_AGE = 3.0
COUNT = re.compile(rb"signals (\d+): ")
CSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


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
    from console.args import RunningClock
    from console.terminal import TerminalGuard

    spec = importlib.util.spec_from_file_location("bench_console", Path(__file__).with_name("console.py"))
    bc = importlib.util.module_from_spec(spec)
    sys.modules["bench_console"] = bc
    spec.loader.exec_module(bc)
    clock = RunningClock(datetime.fromisoformat(clock_start).timestamp())
    app = HealthConsole(store, clock=clock, guard=TerminalGuard.install(), store_label="bench store")
    app.store_watch = bc.NaiveWatch(app.store_watch)
    app.run()
    return app.return_code or 0


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
    latency: list[float] = field(default_factory=list)
    writes: int = 0  # writes measured
    missed: int = 0  # measured writes never shown
    started: bool = True


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


def one_run(
    variant: str,
    store_src: Path,
    signals: int,
    rate: float,
    seconds: float,
    warm: float,
    tmp: Path,
    cal,
    day: date,
    hc: str,
    env: dict,
) -> Run:
    import psutil

    res = Run(variant, signals, rate)
    work = tmp / f"{variant}-{signals}-{int(rate)}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    store = work / "health.db"
    shutil.copyfile(store_src, store)
    anchor = anchor_of(cal, day)
    start_iso = datetime.fromtimestamp(anchor, cal.tz).isoformat()
    t0 = time.time()
    if variant == "ours":
        argv = [hc, "--store", str(store), "--clock-start", start_iso]
    else:
        argv = [
            sys.executable,
            str(Path(__file__).with_name("console.py")),
            "--_app-naive",
            str(store),
            start_iso,
        ]
    con = PtyProc(argv, env, size=SIZE)
    con.recording = True
    ready = f"signals {signals}: ".encode() if signals else b"live: "
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not con.seen(ready) and not _shows(con, ready):
        time.sleep(0.1)
    res.started = con.seen(ready) or _shows(con, ready)
    log = work / "writer.json"
    writer = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("console.py")),
            "--_busy-writer",
            str(store),
            repr(anchor - t0 - LAG),
            repr(rate),
            repr(warm + seconds + 3.0),
            str(log),
        ],
        env=env,
    )
    time.sleep(warm)
    proc, wproc = psutil.Process(con.pid), psutil.Process(writer.pid)
    cpu0, wcpu0 = sum(proc.cpu_times()[:2]), sum(wproc.cpu_times()[:2])
    res.rss0 = proc.memory_info().rss / 1e6
    rss_max = res.rss0
    m0 = time.monotonic()
    while (now := time.monotonic()) - m0 < seconds:
        time.sleep(min(1.0, seconds - (now - m0)))
        rss_max = max(rss_max, proc.memory_info().rss / 1e6)
    m1 = time.monotonic()
    res.seconds = m1 - m0
    res.cpu = 100 * (sum(proc.cpu_times()[:2]) - cpu0) / res.seconds
    res.writer_cpu = 100 * (sum(wproc.cpu_times()[:2]) - wcpu0) / res.seconds
    res.rss1 = proc.memory_info().rss / 1e6
    res.rss_max = rss_max
    writer.wait(60)
    time.sleep(2.5 if variant == "ours" else 4.0)  # the last writes reach the screen
    con.stop()
    calls = json.loads(log.read_text())
    with con._lock:
        chunks = list(con.chunks)
    res.latency, res.missed = latencies(calls, signals, shown_counts(chunks), m0, m1)
    res.writes = len(res.latency) + res.missed
    shutil.rmtree(work, ignore_errors=True)
    return res


def _shows(con: PtyProc, needle: bytes) -> bool:
    with con._lock:
        recent = b"".join(c for _, c in con.chunks[-50:])
    return needle in CSI.sub(b"", recent)


def rss_run(store_src: Path, minutes: float, tmp: Path, cal, day: date, hc: str, env: dict) -> dict:
    """Ours and the naive app side by side, a writer at 20/s each: RSS every 10 s."""
    import psutil

    anchor = anchor_of(cal, day)
    start_iso = datetime.fromtimestamp(anchor, cal.tz).isoformat()
    procs, writers, series = {}, [], {}
    t0 = time.time()
    for variant in ("ours", "naive"):
        work = tmp / f"rss-{variant}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        store = work / "health.db"
        shutil.copyfile(store_src, store)
        if variant == "ours":
            argv = [hc, "--store", str(store), "--clock-start", start_iso]
        else:
            argv = [
                sys.executable,
                str(Path(__file__).with_name("console.py")),
                "--_app-naive",
                str(store),
                start_iso,
            ]
        procs[variant] = PtyProc(argv, env, size=SIZE)
        writers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("console.py")),
                    "--_busy-writer",
                    str(store),
                    repr(anchor - t0 - LAG),
                    "20",
                    repr(minutes * 60 + 30),
                    str(work / "writer.json"),
                ],
                env=env,
            )
        )
        series[variant] = []
    time.sleep(10)
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) <= minutes * 60:
        for variant, con in procs.items():
            series[variant].append((elapsed, psutil.Process(con.pid).memory_info().rss / 1e6))
        time.sleep(10)
    for con in procs.values():
        con.stop()
    for w in writers:
        w.terminate()
        w.wait(30)
    out = {}
    for variant, points in series.items():
        fit = [(t, r) for t, r in points if t >= 60] or points
        out[variant] = {
            "start": points[0][1],
            "end": points[-1][1],
            "per_hour": slope(fit) * 3600,
            "minutes": points[-1][0] / 60,
            "samples": len(points),
        }
    return out


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


def median_of(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


# ==========================================================================================
# the whole measurement, and its section
# ==========================================================================================
TARGET_CPU_20 = 5.0
TARGET_RATIO_1M = 1.5
TARGET_CPU_1000 = 15.0
TARGET_P95_1000 = 1.0
TARGET_RSS_HOUR = 10.0


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
    from health.calendar import get_calendar

    cal = get_calendar("XNYS")
    day = busy_day(cal)
    made = {}
    for n in sorted(set(stores) | {0}):
        t = time.perf_counter()
        made[n] = tmp / f"store-{n}" / "health.db"
        made[n].parent.mkdir(parents=True)
        make_store(made[n], n, day)
        say(f"busy: store with {n:,} signals on {day} made in {time.perf_counter() - t:.0f} s")
    runs: list[Run] = []
    for n in stores:
        for rate in rates:
            for r in range(rounds):
                for variant in ("ours", "naive") if r % 2 == 0 else ("naive", "ours"):
                    say(f"busy: {variant}, {n:,} signals today, writer at {rate:g}/s, round {r + 1}/{rounds}")
                    runs.append(one_run(variant, made[n], n, rate, seconds, 5.0, tmp, cal, day, hc, env))
    rss = None
    if rss_minutes > 0:
        say(f"busy: memory, ours and naive side by side for {rss_minutes:g} min at 20 events/s")
        rss = rss_run(made[0], rss_minutes, tmp, cal, day, hc, env)
    return {
        "day": day,
        "runs": runs,
        "rss": rss,
        "rounds": rounds,
        "seconds": seconds,
        "stores": stores,
        "rates": rates,
    }


def _group(runs: list[Run], variant: str, n: int, rate: float) -> list[Run]:
    return [r for r in runs if r.variant == variant and r.signals == n and r.rate == rate]


def _lat(runs: list[Run]) -> list[float]:
    return [x for r in runs for x in r.latency]


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:,.0f} ms"


def verdicts(res: dict) -> tuple[list[list[str]], bool]:
    """The targets table rows and whether every target passed."""
    runs, stores, rates = res["runs"], res["stores"], res["rates"]
    rows, ok_all = [], True

    def cpu(variant, n, rate):
        g = _group(runs, variant, n, rate)
        return statistics.median(r.cpu for r in g) if g else None

    def verdict(ok):
        return "PASS" if ok else "**FAIL**"

    for rate, target in ((20, TARGET_CPU_20), (1000, TARGET_CPU_1000)):
        if rate not in rates:
            continue
        ours = {n: cpu("ours", n, rate) for n in stores}
        naive = {n: cpu("naive", n, rate) for n in stores}
        worst = max(ours, key=lambda n: ours[n])
        ok = ours[worst] <= target
        ok_all &= ok
        rows.append(
            [
                f"console CPU, writer at {rate:,} events/s (median of {res['rounds']}; worst store)",
                f"<= {target:g}% of one core",
                ", ".join(f"{ours[n]:.1f}% ({n:,})" for n in stores),
                ", ".join(f"{naive[n]:.0f}% ({n:,})" for n in stores),
                f"{naive[worst] / max(ours[worst], 1e-3):.0f}x ({worst:,})",
                verdict(ok),
            ]
        )
        if rate == 20 and 0 in stores and max(stores) > 0:
            big = max(stores)
            ratio = ours[big] / max(ours[0], 1e-3)
            ok = ratio <= TARGET_RATIO_1M
            ok_all &= ok
            rows.append(
                [
                    f"{big:,}-signal store vs the empty one, writer at 20 events/s",
                    f"<= {TARGET_RATIO_1M:g}x",
                    f"{ratio:.2f}x ({ours[big]:.1f}% / {ours[0]:.1f}%)",
                    f"{naive[big] / max(naive[0], 1e-3):.1f}x",
                    "",
                    verdict(ok),
                ]
            )
        if rate == 1000:
            p95 = {n: pct(_lat(_group(runs, "ours", n, rate)), 95) for n in stores}
            p95n = {n: pct(_lat(_group(runs, "naive", n, rate)), 95) for n in stores}
            missed = sum(r.missed for r in runs if r.variant == "ours" and r.rate == rate)
            worst = max(p95, key=lambda n: p95[n])
            ok = p95[worst] <= TARGET_P95_1000 and missed == 0
            ok_all &= ok
            rows.append(
                [
                    "write -> screen p95, writer at 1,000 events/s (worst store)",
                    f"<= {TARGET_P95_1000:g} s",
                    ", ".join(f"{_ms(p95[n])} ({n:,})" for n in stores) + f"; {missed} never shown",
                    ", ".join(f"{_ms(p95n[n])} ({n:,})" for n in stores),
                    f"{p95n[worst] / max(p95[worst], 1e-3):.1f}x ({worst:,})",
                    verdict(ok),
                ]
            )
    if res["rss"]:
        ours, naive = res["rss"]["ours"], res["rss"]["naive"]
        ok = ours["per_hour"] <= TARGET_RSS_HOUR
        ok_all &= ok
        rows.append(
            [
                f"RSS growth over an hour, writer at 20 events/s ({ours['minutes']:.0f}-minute run, extrapolated)",
                f"<= {TARGET_RSS_HOUR:g} MB",
                f"{ours['per_hour']:+.1f} MB/h ({ours['start']:.0f} -> {ours['end']:.0f} MB)",
                f"{naive['per_hour']:+.1f} MB/h ({naive['start']:.0f} -> {naive['end']:.0f} MB)",
                "",
                verdict(ok),
            ]
        )
    return rows, ok_all


def render(res: dict, head: str, md_row) -> tuple[str, bool]:
    out: list[str] = []
    w = out.append
    rows, ok = verdicts(res)
    w(head)
    w("### Targets\n")
    w("| target | goal | measured (ours) | naive 1 s poller | naive / ours | |")
    w("|---|---|---|---|---:|---|")
    for row in rows:
        w(md_row(row))
    w("")
    w("### Per condition\n")
    w(
        f"A loop in its own process (`ProductionMonitor`, public API) writes N iterations a second "
        f"(a gate decision, a heartbeat and a signal each; data {DATA_AGE:g} s old) into a store that "
        f"holds S signals on {res['day']} (written the same way from 09:30 to 13:59); "
        f"`health-console --store S --clock-start {res['day']}T14:00` runs on a pseudo-terminal at "
        f"{SIZE[0]}x{SIZE[1]}. Each run: the console starts and shows the day, the loop starts, 5 s "
        f"later the console's CPU (user+sys) and RSS are measured over {res['seconds']:g} s. *Write -> "
        "screen*: from the loop's call until the terminal received the frame whose data-age panel "
        "counts that signal (`signals N:` in the console's output). The naive baseline is the same "
        "app with a store watch that re-opens the store and takes a full snapshot every second "
        f"(nothing kept between them). {res['rounds']} rounds per condition, ours and naive "
        "alternating which goes first; CPU is the median (min-max), latencies are pooled over the "
        "rounds.\n"
    )
    w(
        "| signals today | loop | console CPU, ours | naive | RSS ours (start -> end) | naive "
        "| write -> screen p50 / p95, ours | naive | writes measured (never shown), ours | the loop's CPU |"
    )
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    runs = res["runs"]
    for n in res["stores"]:
        for rate in res["rates"]:
            o, v = _group(runs, "ours", n, rate), _group(runs, "naive", n, rate)
            if not o or not v:
                continue

            def cpu(g):
                cs = [r.cpu for r in g]
                return f"{statistics.median(cs):.1f}% ({min(cs):.1f}-{max(cs):.1f})"

            def mem(g):
                return f"{statistics.median(r.rss0 for r in g):.0f} -> {statistics.median(r.rss1 for r in g):.0f} MB"

            def lat(g):
                xs = _lat(g)
                return f"{_ms(statistics.median(xs))} / {_ms(pct(xs, 95))}" if xs else "-"

            w(
                md_row(
                    [
                        f"{n:,}",
                        f"{rate:,g}/s",
                        cpu(o),
                        cpu(v),
                        mem(o),
                        mem(v),
                        lat(o),
                        lat(v),
                        f"{sum(r.writes for r in o):,} ({sum(r.missed for r in o)})",
                        f"{statistics.median(r.writer_cpu for r in o):.1f}%",
                    ]
                )
            )
    w("")
    if res["rss"]:
        r = res["rss"]
        w("### Memory over time\n")
        w(
            f"Ours and the naive app side by side on pseudo-terminals, each with its own loop at 20 "
            f"events/s on a store empty at the start, for {r['ours']['minutes']:.0f} minutes; RSS sampled "
            "every 10 s; growth per hour = the least-squares slope of the samples after the first "
            "minute, times 3600.\n"
        )
        w("| | RSS at the start | at the end | growth per hour |")
        w("|---|---:|---:|---:|")
        for variant in ("ours", "naive"):
            x = r[variant]
            w(f"| {variant} | {x['start']:.1f} MB | {x['end']:.1f} MB | {x['per_hour']:+.1f} MB |")
        w("")
    not_started = [r for r in runs if not r.started]
    if not_started:
        w(f"- {len(not_started)} run(s) never showed the day before the loop started.")
    return "\n".join(out) + "\n", ok
