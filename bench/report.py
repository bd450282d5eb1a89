"""Report benchmark: what the report of one date costs on a store holding a year.

    python bench/report.py            # full run (~45 s; ~65 s when the stores are made), updates
                                      # the bench:report section of BENCHMARKS.md
    python bench/report.py --quick    # a month-long store, fewer repetitions; prints only
                                      # (unless --write)
    python bench/report.py --regen    # rebuild the cached stores
    python bench/report.py --profile  # profile even when every target passes

What it does:

1. Two stores, cached under the temp dir keyed by their parameters (and the schema version,
   and the recorder's run-config keys):
   - the *one-day store*, real: ``health.simulation.run_loop`` driving ``ProductionMonitor``
     (public API, injected ``SimClock``) at 1 Hz through one date for 2 sources, with a restart
     at 08:00;
   - the *year store*, generated: a year of 1 Hz activity for 2 sources (a restart per trading
     day at 08:00, a few crashes with 40-minute outages), 1M signals and every gate decision,
     written directly with SQL into a store made by ``store.schema.migrate``, in the shape
     ``store.recorder`` writes (spans coalesce the beats, gate decisions aggregate into 300 s
     buckets, 3600 s for ``closed``, each bucket's code and last reason from the real
     ``health.gate.Gate``); on the chosen date it holds exactly the one-day store's signals.
   The generator is checked against the recorder: the date's gate rows, clipped spans and
   signals must be identical in both stores, and both reports must agree.
2. ``build_report(store, date)`` in-process (median of N warm runs) and the whole
   ``health-console --report --json --store S --date D`` process (median wall time), on the
   year store beside the one-day store, against the targets; where the time goes (the parts
   of build_report, the process phase by phase, cProfile / ``-X importtime`` on a miss).
3. A naive baseline in the same run: every row of the store loaded into Python records and
   filtered by the date's window in Python, then the same ``analyze()``.

The generated runs have pids above Linux's pid_max, so ``process_alive`` finds them gone.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import hashlib
import inspect
import json
import operator
import os
import pstats
import random
import re
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(REPO))

from bench._common import (  # noqa: E402
    BENCH_MD,
    compile_package,
    console_script,
    load_average,
    machine_info,
    md_row,
    ro_uri,
    run_line,
    say,
    store_bytes,
    table_rows,
    verdict,
    write_section,
)
from health.analysis import DayInputs, SourceInputs, analyze, window  # noqa: E402
from health.cadence import LOOKBACK_SESSIONS, Cadence, judge_hours, learn  # noqa: E402
from health.calendar import MarketCalendar, day_bounds, get_calendar  # noqa: E402
from health.calendar_record import header_of, rows_of  # noqa: E402
from health.config import MonitorConfig  # noqa: E402
from health.gate import CLOSED, OK, Gate  # noqa: E402
from health.liveness import up_intervals  # noqa: E402
from health.loader import LOOKBACK_DAYS, MAX_INTERVAL_SLACK, build_report, load_day, process_alive  # noqa: E402
from health.monitor import CLOSED_BUCKET_SECONDS, GATE_BUCKET_SECONDS  # noqa: E402
from health.report import Thresholds  # noqa: E402
from health.run_identity import package_version  # noqa: E402
from health.simulation import SYMBOLS, SimClock, at, monitor, run_loop  # noqa: E402
from store.calendars import write_calendar  # noqa: E402
from store.reader import StoreReader, _run  # noqa: E402
from store.records import AlertRecord, EventRecord, GateRecord, SpanRecord  # noqa: E402
from store.schema import SCHEMA_VERSION, migrate  # noqa: E402

GEN_VERSION = 1  # bump when the generator's output changes: invalidates the cache
SOURCES = ("alpha", "beta")
RESTART = (7, 59, 50)  # the nightly restart: clean stop at 07:59:50, next run at 08:00:00
RESTART_AT = (8, 0, 0)
CRASH_SECONDS = 40 * 60  # a crash's outage: longer than max_uptime_gap_minutes
LOOP_CONFIG = {
    "check_interval_seconds": 1,
    "max_data_age_hours": 1.0,
    "max_uptime_gap_minutes": 30,
    "calendar": "XNYS",
}

# Targets (docs/ARCHITECTURE.md, "Speed").
TARGET_ANALYSIS_MS = 100.0
TARGET_PROCESS_S = 1.0
TARGET_RATIO = 1.5


def lag(t: float) -> int:
    """Data age of the loop's feed at t: 2..8 s, deterministic (and summable per bucket)."""
    return 2 + int(t) % 7


def _lag_mod_sum(n: int) -> int:
    """sum(t % 7 for t in range(n))."""
    return (n // 7) * 21 + (n % 7) * (n % 7 - 1) // 2


def data_ts_of(t: float) -> float:
    return float(t - lag(t))


@dataclass(frozen=True)
class Params:
    start: str  # first local day of the year store
    end: str  # last local day (inclusive)
    day: str  # the date analysed
    signals: int
    crashes: int  # per source
    seed: int = 2025
    calendar: str = "XNYS"

    def key(self) -> str:
        blob = json.dumps({**asdict(self), "gen": GEN_VERSION, "schema": SCHEMA_VERSION}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]

    @property
    def d(self) -> date:
        return date.fromisoformat(self.day)


FULL = Params("2025-01-01", "2025-12-31", "2025-06-11", 1_000_000, 10)
QUICK = Params("2025-06-01", "2025-06-30", "2025-06-11", 84_000, 2)


# ------------------------------------------------------------------------------------------
# the year store: rows written directly, in the recorder's shape
# ------------------------------------------------------------------------------------------
@dataclass
class Run:
    run_id: str
    source: str
    pid: int
    start: int  # first beat; started_at
    end: int  # first second not up: last beat is end - 1
    clean: bool  # stopped with close() at ``end``


def plan_runs(cal: MarketCalendar, p: Params, rng: random.Random) -> dict[str, list[Run]]:
    first, last = date.fromisoformat(p.start), date.fromisoformat(p.end)
    y0 = int(day_bounds(first, cal.tz)[0])
    y1 = int(day_bounds(last, cal.tz)[1])
    sessions = cal.sessions_between(first, last)
    keep_clear = {p.d + timedelta(days=k) for k in (-1, 0, 1)}
    crash_days = [s for s in sessions if s.day not in keep_clear and not s.early_close]
    out: dict[str, list[Run]] = {}
    for src in SOURCES:
        downs = [
            (int(at(s.day, *RESTART)), int(at(s.day, *RESTART_AT)), True)
            for s in sessions
            if y0 < at(s.day, *RESTART)
        ]
        for s in rng.sample(crash_days, min(p.crashes, len(crash_days))):
            t0 = int(s.open_ts) + rng.randrange(3600, 5 * 3600)
            downs.append((t0, t0 + CRASH_SECONDS, False))
        downs.sort()
        runs = []
        cursor = y0
        for a, b, clean in [*downs, (y1, y1, True)]:
            runs.append(
                Run(
                    f"{rng.getrandbits(128):032x}", src, rng.randrange(5_000_000, 9_000_000), cursor, a, clean
                )
            )
            cursor = b
        out[src] = runs
    return out


def segments(runs: list[Run], rth: list[tuple[int, int]]) -> list[tuple[int, int, str, Run]]:
    """Split each run's up time into RTH ('ok' at the gate) and the rest ('closed')."""
    out = []
    i = 0
    for run in runs:
        cursor, end = run.start, run.end
        while i < len(rth) and rth[i][1] <= cursor:
            i += 1
        j = i
        while cursor < end:
            if j >= len(rth) or rth[j][0] >= end:
                out.append((cursor, end, CLOSED, run))
                break
            o, c = rth[j]
            if cursor < o:
                out.append((cursor, o, CLOSED, run))
                cursor = o
            nxt = min(c, end)
            out.append((cursor, nxt, OK, run))
            cursor = nxt
            j += 1
    return out


def gate_rows(cal: MarketCalendar, src: str, segs) -> list[tuple]:
    """The gate table's rows for 1 Hz decisions over ``segs``, as the recorder aggregates them;
    each row's code and last reason checked against the real Gate."""
    agg: dict[tuple[int, str], list] = {}
    for s, e, code, _ in segs:
        length = CLOSED_BUCKET_SECONDS if code == CLOSED else GATE_BUCKET_SECONDS
        while s < e:
            bucket = s // length * length
            pe = min(e, bucket + length)
            n = pe - s
            lag_sum = 2 * n + _lag_mod_sum(pe) - _lag_mod_sum(s)
            if n >= 7:
                lo, hi = 2, 8
            else:
                lags = [lag(t) for t in range(s, pe)]
                lo, hi = min(lags), max(lags)
            a = agg.get((bucket, code))
            if a is None:
                agg[(bucket, code)] = [n, s, pe - 1, lag_sum, lo, hi]
            else:
                a[0] += n
                a[1] = min(a[1], s)
                a[2] = max(a[2], pe - 1)
                a[3] += lag_sum
                a[4] = min(a[4], lo)
                a[5] = max(a[5], hi)
            s = pe
    gate = Gate(cal, LOOP_CONFIG["max_data_age_hours"] * 3600, 5.0)
    rows = []
    for (bucket, code), (n, first, last, lag_sum, lo, hi) in sorted(agg.items()):
        data_ts = data_ts_of(last)
        allowed, real_code, reason, _age = gate.evaluate(float(last), data_ts)
        if real_code != code:
            raise AssertionError(f"generator says {code!r} at {cal.fmt(last)}, the gate {real_code!r}")
        rows.append(
            (
                src,
                bucket,
                code,
                int(allowed),
                n,
                float(lo),
                float(hi),
                float(lag_sum),
                float(first),
                float(last),
                reason,
                data_ts,
            )
        )
    return rows


def signal_rows(src: str, ok_segs, n_signals: int) -> list[tuple]:
    """``n_signals`` signals evenly spread over ``ok_segs`` (up time in RTH), on 1 Hz ticks."""
    total = sum(e - s for s, e, _c, _r in ok_segs)
    spacing = total / n_signals
    out = []
    j = 0
    pos = 0.5 * spacing
    offset = 0
    for s, e, _code, run in ok_segs:
        n = e - s
        while pos < offset + n and j < n_signals:
            t = s + int(pos - offset)
            out.append((src, run.run_id, float(t), SYMBOLS[j % len(SYMBOLS)], data_ts_of(t), None))
            j += 1
            pos = (j + 0.5) * spacing
        offset += n
    return out


def run_loop_signals(src: str, ok_segs, loop_start: int, every: int) -> list[tuple]:
    """The signals ``run_loop(..., step=1, signal_every=every)`` started at ``loop_start``
    records over ``ok_segs``: every ``every``-th tick the gate allows."""
    out = []
    for s, e, _code, run in ok_segs:
        first = s + (-(s - loop_start)) % every
        for t in range(first, e, every):
            out.append(
                (src, run.run_id, float(t), SYMBOLS[(t - loop_start) % len(SYMBOLS)], data_ts_of(t), None)
            )
    return out


def run_config(template: dict, src: str, store_path: Path, started_at: float) -> str:
    """The run's config JSON: the one-day store's (the real monitor's keys), this run's values."""
    cfg = MonitorConfig(source=src, **LOOP_CONFIG).thresholds()
    cfg.update({k: v for k, v in template.items() if k not in cfg})
    cfg.update(
        store_path=str(store_path),
        cwd="/srv/trading",
        log_files=[f"/srv/trading/logs/{src}.log"],
        timezone=str(template.get("timezone", "America/New_York")),
    )
    if "wall_started_at" in cfg:  # the year's loops ran in real time
        cfg["wall_started_at"] = started_at
    return json.dumps(cfg, default=str)


def create_store(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn)
    return conn


def make_year_store(path: Path, final: Path, p: Params, template: dict) -> dict:
    cal = get_calendar(p.calendar)
    rng = random.Random(p.seed)
    t0 = time.perf_counter()
    plan = plan_runs(cal, p, rng)
    first, last = date.fromisoformat(p.start), date.fromisoformat(p.end)
    rth = [
        (int(a), int(b))
        for s in cal.sessions_between(first - timedelta(days=7), last + timedelta(days=7))
        for a, b in s.rth_intervals()
    ]
    host = socket.gethostname()
    version = package_version()
    runs, spans, gates, alerts = [], [], [], []
    ok_by_source = {}
    for src, src_runs in plan.items():
        argv = json.dumps(["/srv/trading/.venv/bin/python", "-m", "trading_loop", "--source", src])
        for k, r in enumerate(src_runs):
            config = run_config(template, src, final, float(r.start))
            runs.append(
                (
                    r.run_id,
                    src,
                    r.pid,
                    host,
                    argv,
                    version,
                    config,
                    float(r.start),
                    float(r.end) if r.clean else None,
                    float(r.end - 1),
                )
            )
            spans.append((r.run_id, 1, src, float(r.start), float(r.end - 1), r.end - r.start))
            if not r.clean:  # the watchdog's view of a crash
                nxt = src_runs[k + 1]
                alerts.append(
                    (
                        src,
                        "NO_ACTIVITY",
                        "CRITICAL",
                        f"{src}: no heartbeat since {cal.fmt(r.end - 1, '%H:%M:%S %Z')}",
                        float(r.end - 1 + 300),
                        0,
                        "watchdog",
                        json.dumps({"pid": r.pid, "host": host}),
                    )
                )
                alerts.append(
                    (
                        src,
                        "NO_ACTIVITY",
                        "CRITICAL",
                        f"{src}: heartbeats again",
                        float(nxt.start + 5),
                        1,
                        "watchdog",
                        None,
                    )
                )
        segs = segments(src_runs, rth)
        gates += gate_rows(cal, src, segs)
        ok_by_source[src] = [x for x in segs if x[2] == OK]
    # The chosen day gets exactly the signals run_loop records in the one-day store; the rest
    # of the 1M are spread evenly over every other day's RTH up time.
    ws, we = day_bounds(p.d, cal.tz)
    signals: list[tuple] = []
    others = {}
    for src, segs in ok_by_source.items():
        signals += run_loop_signals(
            src, [x for x in segs if ws <= x[0] < we], int(at(p.d, *RESTART_AT)), signal_every(p)
        )
        others[src] = [x for x in segs if not ws <= x[0] < we]
    rth_total = {src: sum(e - s for s, e, _c, _r in segs) for src, segs in others.items()}
    grand = sum(rth_total.values())
    left = p.signals - len(signals)
    budget = left
    for k, src in enumerate(SOURCES):
        n = left if k == len(SOURCES) - 1 else round(budget * rth_total[src] / grand)
        left -= n
        signals += signal_rows(src, others[src], n)
    signals.sort(key=operator.itemgetter(2))  # the recorders write in time order
    planned = time.perf_counter() - t0

    conn = create_store(path)
    # The calendar, as the loop records it on start (store/calendars.py): reports read it.
    write_calendar(conn, header_of(cal), lambda: rows_of(cal))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO runs (run_id, source, pid, host, argv, version, config, started_at, "
        "stopped_at, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?)",
        runs,
    )
    conn.executemany("INSERT INTO spans (run_id, seq, source, start, end, beats) VALUES (?,?,?,?,?,?)", spans)
    conn.executemany(
        "INSERT INTO gate (source, bucket, code, allowed, count, min_age, max_age, sum_age, "
        "first_at, last_at, last_reason, last_data_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        gates,
    )
    conn.executemany(
        "INSERT INTO signals (source, run_id, at, symbol, data_ts, details) VALUES (?,?,?,?,?,?)", signals
    )
    conn.executemany(
        "INSERT INTO alerts (source, code, severity, message, at, resolved, origin, detail) "
        "VALUES (?,?,?,?,?,?,?,?)",
        alerts,
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    beats = sum(s[5] for s in spans)
    return {
        "how": (
            f"generated: rows written directly with SQL (sqlite3 executemany into a store created by "
            f"store.schema.migrate, WAL), in the recorder's shape: {p.start}..{p.end}, "
            f"{len(SOURCES)} sources at 1 Hz ({beats:,} heartbeats coalesced into spans, as many "
            f"gate decisions aggregated into buckets, reasons from health.gate.Gate), a restart per "
            f"trading day at 08:00 ET, {p.crashes} crashes per source with a 40-min outage in RTH, "
            f"{p.signals:,} signals (on {p.day} exactly those run_loop records, the rest spread "
            f"evenly over every other day's RTH up time), data 2-8 s old; run config JSON in the "
            f"real monitor's shape (keys taken from the one-day store)"
        ),
        "heartbeats": beats,
        "plan_seconds": planned,
        "seconds": time.perf_counter() - t0,
    }


# ------------------------------------------------------------------------------------------
# the one-day store: the real recorder, driven through the public API
# ------------------------------------------------------------------------------------------
def signal_every(p: Params) -> int:
    """run_loop's signal_every giving the year store's density of signals in RTH."""
    cal = get_calendar(p.calendar)
    first, last = date.fromisoformat(p.start), date.fromisoformat(p.end)
    rth = sum(s.rth_seconds for s in cal.sessions_between(first, last)) * len(SOURCES)
    rth -= p.crashes * len(SOURCES) * CRASH_SECONDS
    return max(1, round(rth / p.signals))


def make_oneday_store(path: Path, final: Path, p: Params) -> dict:
    cal = get_calendar(p.calendar)
    d = p.d
    day_end = day_bounds(d, cal.tz)[1]
    every = signal_every(p)
    t0 = time.perf_counter()
    n = 0
    for src in SOURCES:
        clock = SimClock(at(d, 0, 0))
        for until in (at(d, *RESTART), day_end):
            mon = monitor(path, clock, source=src, **LOOP_CONFIG)
            n += run_loop(mon, clock, until, step=1.0, data_ts_fn=data_ts_of, signal_every=every)
            mon.close()  # clean stop at ``until``
            clock.now = at(d, *RESTART_AT)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "how": (
            f"real: health.simulation.run_loop driving ProductionMonitor (public API, injected "
            f"SimClock, 1 Hz, {len(SOURCES)} sources, data 2-8 s old, signal_every={every}) through "
            f"{d} 00:00-24:00 ET with the same 08:00 restart; {n:,} signals"
        ),
        "seconds": time.perf_counter() - t0,
    }


# ------------------------------------------------------------------------------------------
# cache
# ------------------------------------------------------------------------------------------
def cache_dir(p: Params) -> Path:
    return Path(tempfile.gettempdir()) / "production-health-bench" / f"report-{p.key()}"


def ensure_store(kind: str, p: Params, maker, regen: bool, stamp: dict) -> tuple[Path, dict, bool]:
    """The cached store ``kind`` if its meta matches ``stamp``, else a freshly made one."""
    d = cache_dir(p)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{kind}.db"
    meta_path = d / f"{kind}.json"
    if not regen and path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("stamp") == stamp:
            return path, meta, True
    for f in d.glob(f"{kind}.*"):
        f.unlink()
    tmp = d / f"{kind}.tmp-{os.getpid()}.db"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{tmp}{suffix}")
    meta = {**maker(tmp, path), "stamp": stamp}
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{tmp}{suffix}")
    os.replace(tmp, path)
    meta_path.write_text(json.dumps(meta))
    return path, meta, False


def recorded_config(path: Path) -> dict:
    """The config JSON the real monitor recorded with its run (the year store's template)."""
    with contextlib.closing(sqlite3.connect(ro_uri(path), uri=True)) as conn:
        row = conn.execute("SELECT config FROM runs ORDER BY started_at LIMIT 1").fetchone()
    return json.loads(row[0])


def store_facts(path: Path) -> dict:
    with contextlib.closing(sqlite3.connect(ro_uri(path), uri=True)) as conn:
        rows = table_rows(conn)
    return {"bytes": store_bytes(path), "rows": rows}


# ------------------------------------------------------------------------------------------
# validation: the generator against the recorder
# ------------------------------------------------------------------------------------------
def day_rows(path: Path, cal: MarketCalendar, d: date) -> dict:
    ws, we = (int(x) for x in day_bounds(d, cal.tz))
    out: dict = {}
    with contextlib.closing(sqlite3.connect(ro_uri(path), uri=True)) as conn:
        out["gate"] = conn.execute(
            "SELECT source, bucket, code, allowed, count, min_age, max_age, sum_age, first_at, "
            "last_at, last_reason, last_data_ts FROM gate WHERE bucket >= ? AND bucket < ? "
            "ORDER BY source, bucket, code",
            (ws, we),
        ).fetchall()
        spans = conn.execute(  # end is the last beat: clip to the window's last second
            "SELECT source, max(start, ?), min(end, ?) FROM spans "
            "WHERE end >= ? AND start < ? ORDER BY source, start",
            (ws, we - 1, ws, we),
        ).fetchall()
        out["spans"] = [(s, float(a), float(b)) for s, a, b in spans]
        out["signals"] = conn.execute(
            "SELECT source, at, symbol, data_ts, details FROM signals WHERE at >= ? AND at < ? "
            "ORDER BY source, at",
            (ws, we),
        ).fetchall()
        out["config"] = {
            src: json.loads(cfg)
            for src, cfg in conn.execute(
                "SELECT source, config FROM runs WHERE started_at < ? "
                "AND coalesce(stopped_at, last_seen) >= ? ORDER BY started_at",
                (we, ws),
            )
        }
        out["runs_in_window"] = conn.execute(
            "SELECT count(*) FROM runs WHERE started_at < ? AND coalesce(stopped_at, last_seen) >= ?",
            (we, ws),
        ).fetchone()[0]
    return out


def report_digest(rep: dict) -> dict:
    return {
        "status": rep["status"],
        "issues": sorted(i["code"] for i in rep["issues"]),
        "rth_coverage_pct": rep["uptime"]["rth_coverage_pct"],
        "uptime_pct": rep["uptime"]["uptime_pct"],
        "gaps": len(rep["uptime"]["gaps"]),
        "gate allowed/blocked": (rep["signals"]["allowed"], rep["signals"]["blocked"]),
        "signals total/rth/after hours/stale": (
            rep["signals"]["total"],
            rep["signals"]["rth"],
            rep["signals"]["after_hours"],
            rep["signals"]["stale"],
        ),
        "max data age": rep["freshness"]["max_data_age_seconds"],
    }


def validate(year: Path, oneday: Path, cal: MarketCalendar, p: Params, now: float) -> dict:
    y, o = day_rows(year, cal, p.d), day_rows(oneday, cal, p.d)
    checks = []
    same_gate = y["gate"] == o["gate"]
    diff = len(set(y["gate"]) ^ set(o["gate"]))
    checks.append(
        (
            "gate rows of the date (every column)",
            f"{len(y['gate'])} vs {len(o['gate'])}",
            "identical" if same_gate else f"{diff} rows differ",
            same_gate,
        )
    )
    same_spans = y["spans"] == o["spans"]
    checks.append(
        (
            "spans clipped to the date",
            f"{len(y['spans'])} vs {len(o['spans'])}",
            "identical" if same_spans else f"{y['spans']} vs {o['spans']}",
            same_spans,
        )
    )
    keys = (
        "check_interval_seconds",
        "max_data_age_hours",
        "max_uptime_gap_minutes",
        "calendar",
        "future_tolerance_seconds",
        "min_rth_coverage_pct",
    )
    cfg_same = all(
        set(y["config"][s]) == set(o["config"][s])
        and all(y["config"][s][k] == o["config"][s][k] for k in keys)
        for s in SOURCES
    )
    checks.append(("run config JSON (keys; thresholds)", "", "same" if cfg_same else "differ", cfg_same))
    checks.append(
        (
            "runs alive in the date's window",
            f"{y['runs_in_window']} vs {o['runs_in_window']}",
            "same" if y["runs_in_window"] == o["runs_in_window"] else "differ",
            y["runs_in_window"] == o["runs_in_window"],
        )
    )
    sig_ok = y["signals"] == o["signals"]
    diff = len(set(y["signals"]) ^ set(o["signals"]))
    checks.append(
        (
            "signals of the date (at, symbol, data_ts, details)",
            f"{len(y['signals']):,} vs {len(o['signals']):,}",
            "identical" if sig_ok else f"{diff} rows differ",
            sig_ok,
        )
    )
    ry = build_report(year, p.d, p.calendar, now=now).to_json()
    ro = build_report(oneday, p.d, p.calendar, now=now).to_json()
    dy, do = report_digest(ry), report_digest(ro)
    for k in dy:
        same = dy[k] == do[k]
        checks.append((f"report: {k}", f"{dy[k]} vs {do[k]}", "same" if dy[k] == do[k] else "differs", same))
    return {
        "checks": checks,
        "ok": all(c[3] for c in checks),
        "signals_day": (len(y["signals"]), len(o["signals"])),
    }


# ------------------------------------------------------------------------------------------
# the naive baseline: every row into Python, filtered by the window in Python
# ------------------------------------------------------------------------------------------
def naive_cadence(cal, d: date, name: str, runs, spans, gate, signals, config: dict):
    """The loop's signal cadence as the loader finds it (health/cadence.py), from the rows
    already in Python: its setting, else learned from its last sessions' rows, each filtered
    here, one signal at a time."""
    rate = Thresholds.from_config(config).min_signals_per_hour
    if rate is not None:
        return Cadence(rate, "config")
    sessions = cal.sessions_between(d - timedelta(days=LOOKBACK_DAYS), d - timedelta(days=1))[
        -LOOKBACK_SESSIONS:
    ]
    if not sessions:
        return None
    lo, hi = sessions[0].open_ts, sessions[-1].close_ts
    mine = {
        r.run_id: r for r in runs if r.started_at < hi and (r.stopped_at or r.last_seen or r.started_at) >= lo
    }
    if not mine:
        return None
    default = Thresholds.from_config(next(iter(mine.values())).config).check_interval_seconds
    sp = [s for s in spans if s.source == name and s.end >= lo - MAX_INTERVAL_SLACK and s.start < hi]
    up = up_intervals(sorted(sp, key=lambda s: s.start), mine, default, hi)
    g = [
        x
        for x in gate
        if x.source == name and lo - 3600 <= x.bucket < hi and x.last_at >= lo and x.first_at < hi
    ]
    sig = [(s[3], 1) for s in signals if s[1] == name and lo <= s[3] < hi]
    return learn([judge_hours(sess, sess.close_ts, sig, up, g, None) for sess in sessions])


def naive_report(path: Path, d: date, code: str, now: float):
    cal = get_calendar(code)
    win_start, win_end, _ = window(d, cal, now)
    with contextlib.closing(sqlite3.connect(ro_uri(path), uri=True)) as conn:
        runs = [
            _run(r)
            for r in conn.execute(
                "SELECT run_id, source, pid, host, argv, version, config, started_at, stopped_at, "
                "last_seen FROM runs"
            )
        ]
        spans = [
            SpanRecord(*r) for r in conn.execute("SELECT run_id, seq, source, start, end, beats FROM spans")
        ]
        gate = [
            GateRecord(r[0], r[1], r[2], bool(r[3]), *r[4:])
            for r in conn.execute(
                "SELECT source, bucket, code, allowed, count, min_age, max_age, sum_age, first_at, "
                "last_at, last_reason, last_data_ts FROM gate"
            )
        ]
        signals = conn.execute(
            "SELECT id, source, run_id, at, symbol, data_ts, details FROM signals"
        ).fetchall()
        events = [
            EventRecord(*r) for r in conn.execute("SELECT id, source, run_id, at, kind, detail FROM events")
        ]
        alerts = [
            AlertRecord(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8])
            for r in conn.execute(
                "SELECT id, source, code, severity, message, at, resolved, origin, detail FROM alerts"
            )
        ]
    runs.sort(key=lambda r: r.started_at)
    inputs = []
    for name in sorted({r.source for r in runs}):
        mine = [r for r in runs if r.source == name]
        alive = [
            r
            for r in mine
            if r.started_at < win_end and (r.stopped_at or r.last_seen or r.started_at) >= win_start
        ]
        before = [r for r in mine if r.started_at < win_end]
        if not before:
            continue
        sp = sorted(
            (
                s
                for s in spans
                if s.source == name and s.end >= win_start - MAX_INTERVAL_SLACK and s.start < win_end
            ),
            key=lambda s: s.start,
        )
        ends = [min(s.end, win_end) for s in spans if s.source == name and s.start < win_end]
        config_run = alive[-1] if alive else before[-1]
        inputs.append(
            SourceInputs(
                source=name,
                runs=tuple(alive),
                spans=tuple(sp),
                gate=tuple(
                    sorted(
                        (
                            g
                            for g in gate
                            if g.source == name
                            and win_start - 3600 <= g.bucket < win_end
                            and g.last_at >= win_start
                            and g.first_at < win_end
                        ),
                        key=lambda g: g.bucket,
                    )
                ),
                signals=tuple(
                    sorted((s[3], s[5]) for s in signals if s[1] == name and win_start <= s[3] < win_end)
                ),
                alerts=tuple(
                    sorted(
                        (a for a in alerts if a.source == name and win_start <= a.at < win_end),
                        key=lambda a: a.at,
                    )
                ),
                events=tuple(
                    sorted(
                        (e for e in events if e.source == name and win_start <= e.at < win_end),
                        key=lambda e: e.at,
                    )
                ),
                last_activity=max(ends) if ends else None,
                config=config_run.config,
                later_starts=tuple(r.started_at for r in mine if r.started_at >= win_end),
                latest_run=config_run,
                cadence=naive_cadence(cal, d, name, mine, spans, gate, signals, config_run.config),
            )
        )
    return analyze(
        DayInputs(
            day=d, calendar=cal, now=now, sources=tuple(inputs), store_path=str(path), alive=process_alive
        )
    )


# ------------------------------------------------------------------------------------------
# timing
# ------------------------------------------------------------------------------------------
@dataclass
class Samples:
    name: str
    values: list[float] = field(default_factory=list)  # wall seconds
    cpu: list[float] = field(default_factory=list)  # user + sys seconds (processes only)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def text(self) -> str:
        return f"{ms(self.median)} ({self.lo * 1e3:.1f}-{self.hi * 1e3:.1f})"


def time_inprocess(cases: dict[str, Callable[[], object]], n: int, warm: int = 3) -> dict[str, Samples]:
    """Median-ready samples of each case, the cases interleaved so that drift and the
    neighbours' load hit them alike."""
    out = {k: Samples(k) for k in cases}
    for _ in range(warm):
        for fn in cases.values():
            fn()
    for _ in range(n):
        for k, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            out[k].values.append(time.perf_counter() - t0)
    return out


def open_reader(path: Path) -> StoreReader:
    """Open the store as build_report does (a one-shot snapshot reader, where supported)."""
    if "snapshot" in inspect.signature(StoreReader.__init__).parameters:
        return StoreReader(path, snapshot=True)
    return StoreReader(path)


def analysis_breakdown(
    stores: dict[str, Path], cal: MarketCalendar, d: date, now: float, n: int
) -> dict[str, dict[str, float]]:
    """Medians of the parts of build_report: open the store, load_day (the queries), analyze."""
    parts: dict[str, dict[str, list[float]]] = {k: {} for k in stores}
    for i in range(n + 2):
        for k, path in stores.items():
            t0 = time.perf_counter()
            reader = open_reader(path)
            t1 = time.perf_counter()
            inputs = load_day(reader, cal, d, now)
            t2 = time.perf_counter()
            analyze(inputs)
            t3 = time.perf_counter()
            reader.close()
            if i >= 2:
                for part, v in (("open", t1 - t0), ("load_day", t2 - t1), ("analyze", t3 - t2)):
                    parts[k].setdefault(part, []).append(v)
    return {k: {part: statistics.median(v) for part, v in ps.items()} for k, ps in parts.items()}


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def time_processes(cmds: dict[str, list[str]], n: int, warm: int = 1) -> tuple[dict[str, Samples], dict]:
    out = {k: Samples(k) for k in cmds}
    last: dict[str, tuple[int, str, str]] = {}
    env = {k: v for k, v in os.environ.items() if k != "HEALTH_DEBUG"}
    for i in range(warm + n):
        for k, cmd in cmds.items():  # interleaved
            c0 = _child_cpu()
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
            took = time.perf_counter() - t0
            if i >= warm:
                out[k].values.append(took)
                out[k].cpu.append(_child_cpu() - c0)
            last[k] = (proc.returncode, proc.stdout, proc.stderr)
    return out, last


# What the report process does, phase by phase, in a fresh interpreter (same order as
# `health-console --report`: the CLI, the store reader, the loader, the calendar, the report).
PHASES_SCRIPT = r"""
import sys, time
t = [time.perf_counter()]
import console.cli; t.append(time.perf_counter())
import store.reader; t.append(time.perf_counter())
import health.loader; t.append(time.perf_counter())
from datetime import date
from health.calendar_record import calendar_for
day = date.fromisoformat(sys.argv[2])
reader = health.loader.open_store(sys.argv[1])
cal = calendar_for(reader, sys.argv[3], day); t.append(time.perf_counter())
rep = health.loader.report_of(reader, cal, day, time.time()); reader.close()
t.append(time.perf_counter())
import json; text = json.dumps(rep.to_json(), ensure_ascii=False, indent=2); t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
PHASES = (
    "import console.cli",
    "import store.reader",
    "import health.loader (analysis, report, rules)",
    "open the store; the calendar as the loop recorded it (exchange_calendars if not)",
    "the report: queries, analysis",
    "json.dumps of the report",
)


def time_phases(stores: dict[str, Path], d: date, code: str, n: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for k, path in stores.items():
        runs = []
        walls = []
        for _ in range(n):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", PHASES_SCRIPT, str(path), d.isoformat(), code],
                capture_output=True,
                text=True,
                cwd=tempfile.gettempdir(),
                check=True,
            )
            walls.append(time.perf_counter() - t0)
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        med = {name: statistics.median(r[i] for r in runs) for i, name in enumerate(PHASES)}
        wall = statistics.median(walls)
        med["interpreter start-up, site, exit (the rest of the wall time)"] = max(
            0.0, wall - sum(med.values())
        )
        med["total wall"] = wall
        out[k] = med
    return out


# ------------------------------------------------------------------------------------------
# profiling (on a miss, or --profile)
# ------------------------------------------------------------------------------------------
def profile_inprocess(path: Path, d: date, code: str, now: float, n: int = 20) -> list[tuple]:
    """Top functions by own time over n build_report() calls: (function, calls/run, ms/run)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        build_report(path, d, code, now=now)
    prof.disable()
    st = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():
        where = f"{Path(file).name}:{line}({func})" if line else func
        rows.append((where, nc / n, tt / n * 1e3, ct / n * 1e3))
    rows.sort(key=lambda r: -r[2])
    return rows[:12]


def import_chain(cmd: list[str], target: str = "pandas") -> tuple[list[tuple[str, float]], dict[str, float]]:
    """``python -X importtime`` of the report process: who first imports ``target`` (the chain
    from the top, cumulative ms), and the cumulative ms of a few heavy packages."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    lines = []  # (indent, module, cumulative ms), children before their parent
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            lines.append((len(m[3]), m[4], int(m[2]) / 1e3))

    def parent(i: int) -> int | None:
        return next((j for j in range(i + 1, len(lines)) if lines[j][0] < lines[i][0]), None)

    def in_pkg(mod: str, pkg: str) -> bool:
        return mod == pkg or mod.startswith(pkg + ".")

    heavy = {}
    for pkg in (
        "sqlite_utils",
        "pandas",
        "numpy",
        "exchange_calendars",
        "psutil",
        "health",
        "store",
        "console",
    ):
        total = 0.0
        for i, (_ind, mod, cum) in enumerate(lines):
            j = parent(i)
            if in_pkg(mod, pkg) and (j is None or not in_pkg(lines[j][1], pkg)):
                total += cum  # the package's outermost entries only
        heavy[pkg] = total
    chain: list[tuple[str, float]] = []
    i = next((k for k, (_ind, mod, _c) in enumerate(lines) if in_pkg(mod, target)), None)
    if i is not None:
        chain.append((target, heavy.get(target, 0.0)))
        j = parent(i)
        while j is not None:
            if not in_pkg(lines[j][1], target):
                chain.append((lines[j][1], lines[j][2]))
            j = parent(j)
        chain.reverse()
    return chain, heavy


# ------------------------------------------------------------------------------------------
# output
# ------------------------------------------------------------------------------------------
def ms(x: float) -> str:
    return f"{x * 1e3:.1f} ms"


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def render(r: dict) -> str:
    out: list[str] = []
    w = out.append
    info, p = r["info"], r["params"]
    load = ", ".join(f"{x:.1f}" for x in r["load"])
    w(
        f"{run_line(info, 'report.py', r['quick'])} took {r['elapsed']:.0f} s "
        f"({'stores reused from the cache' if r['cached'] else 'stores made in this run'}); "
        f"load average at the start and the end of the timings: {load}."
    )
    w("")
    w(f"### Targets: the report of {p.day}, a normal Wednesday session")
    w("")
    w("| measure | year store | one-day store | year / one-day | target | |")
    w("|---|---:|---:|---:|---|---|")
    for row in r["table"]:
        w(md_row(row))
    w("")
    w(
        f'Analysis: `build_report(store, date, "XNYS", now=...)` in-process, median of '
        f"{r['n_analysis']} warm runs per store, the stores interleaved (min-max in brackets). Process: "
        f"`health-console --report --json --store S --date {p.day}` as a subprocess, wall time, "
        f"median of {r['n_process']} interleaved runs after a warm-up (page cache warm); CPU is the "
        f"child's user + sys time, which other load on the machine inflates less than wall time. "
        f"Both stores hold the same date with the same rows (validated below), so the ratio "
        f"measures the store's size, not the day's. {r['wal_note']}"
    )
    w("")
    w("### Stores")
    w("")
    w("| store | size | rows | how it was made |")
    w("|---|---:|---|---|")
    for name in ("year", "one-day"):
        s = r["stores"][name]
        rows = ", ".join(f"{t} {c:,}" for t, c in s["rows"].items())
        took = s["meta"].get("seconds")
        w(f"| {name} | {mb(s['bytes'])} | {rows} | {s['meta']['how']}{f' ({took:.0f} s)' if took else ''} |")
    w("")
    w(
        "Validation of the generator against the recorder: the date's rows in the year store against "
        "the one-day store's:"
    )
    w("")
    w("| check | year vs one-day | result | |")
    w("|---|---|---|---|")
    for name, detail, result, ok in r["validation"]["checks"]:
        w(f"| {name} | {detail} | {result} | {'ok' if ok else '**MISMATCH**'} |")
    w("")
    w("### Naive baseline (same run)")
    w("")
    w(
        "Every row of every table loaded into Python records, filtered by the date's window in "
        "Python, then the same `analyze()`: what an implementation without windowed, indexed "
        "queries does. Its report is checked equal to ours."
    )
    w("")
    w("| | year store | one-day store | year / one-day |")
    w("|---|---:|---:|---:|")
    nv = r["naive"]
    a = r["analysis"]
    w(
        f"| naive, median of {nv['n']} | {ms(nv['year'])} | {ms(nv['oneday'])} | "
        f"{nv['year'] / nv['oneday']:.1f}x |"
    )
    w(f"| ours (above) | {ms(a['year'])} | {ms(a['oneday'])} | {a['year'] / a['oneday']:.2f}x |")
    w(f"| **naive / ours** | **{nv['year'] / a['year']:,.0f}x** | {nv['oneday'] / a['oneday']:.1f}x | |")
    w(f"| same report as ours | {nv['same_year']} | {nv['same_oneday']} | |")
    w("")
    w("### Where the time goes")
    w("")
    w("In-process, the parts of `build_report` (medians):")
    w("")
    w("| part | year store | one-day store | year - one-day |")
    w("|---|---:|---:|---:|")
    bd = r["breakdown"]
    for part in bd["year"]:
        y, o = bd["year"][part], bd["oneday"][part]
        w(f"| {part} | {ms(y)} | {ms(o)} | {(y - o) * 1e3:+.1f} ms |")
    w("")
    w(
        f"The report process, phase by phase (a fresh interpreter doing what `health-console --report` "
        f"does, median of {r['n_phases']}):"
    )
    w("")
    w("| phase | year store | one-day store |")
    w("|---|---:|---:|")
    ph = r["phases"]
    for name in ph["year"]:
        w(f"| {name} | {ms(ph['year'][name])} | {ms(ph['oneday'][name])} |")
    if r.get("chain"):
        chain, heavy = r["chain"]
        w("")
        w(
            (
                "`python -X importtime` of the report process, the chain that first imports pandas "
                "(cumulative ms): " + " → ".join(f"`{m}` {c:.0f}" for m, c in chain)
                if chain
                else "`python -X importtime` of the report process: pandas is not imported"
            )
            + ". Cumulative by package (nested ones overlap): "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in heavy.items() if v)
            + "."
        )
    if r.get("profile"):
        w("")
        w("cProfile of `build_report` on the year store (per report, by own time):")
        w("")
        w("| function | calls | own | cumulative |")
        w("|---|---:|---:|---:|")
        for where, calls, own, cum in r["profile"]:
            w(f"| `{where}` | {calls:,.0f} | {own:.2f} ms | {cum:.2f} ms |")
    if r.get("notes"):
        w("")
        for note in r["notes"]:
            w(f"- {note}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a month-long store, fewer repetitions")
    ap.add_argument("--regen", action="store_true", help="rebuild the cached stores")
    ap.add_argument("--runs", type=int, help="in-process runs per store (default 40; quick 10)")
    ap.add_argument("--proc-runs", type=int, help="process runs per store (default 7; quick 3)")
    ap.add_argument("--profile", action="store_true", help="profile even when every target passes")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md after a --quick run")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args(argv)
    compile_package()  # bench/_common.py: timed as installed, bytecode written
    started = time.perf_counter()
    p = QUICK if args.quick else FULL
    n_an = args.runs or (10 if args.quick else 40)
    n_proc = args.proc_runs or (3 if args.quick else 7)
    cal = get_calendar(p.calendar)
    d = p.d

    say(f"stores in {cache_dir(p)}")
    oneday, one_meta, c2 = ensure_store(
        "oneday",
        p,
        lambda tmp, final: make_oneday_store(tmp, final, p),
        args.regen,
        {"schema": SCHEMA_VERSION, "version": package_version()},
    )
    took = one_meta["seconds"]
    say(f"  one-day store: {'cached' if c2 else f'recorded in {took:.1f} s'}")
    template = recorded_config(oneday)
    year, year_meta, c1 = ensure_store(
        "year",
        p,
        lambda tmp, final: make_year_store(tmp, final, p, template),
        args.regen,
        {"schema": SCHEMA_VERSION, "config_keys": sorted(template)},
    )
    took = year_meta["seconds"]
    say(f"  year store: {'cached' if c1 else f'generated in {took:.1f} s'}")
    stores = {"year": year, "oneday": oneday}
    now = time.time()

    say("validating the generator against the recorder")
    val = validate(year, oneday, cal, p, now)
    for name, detail, result, ok in val["checks"]:
        if not ok:
            say(f"  MISMATCH {name}: {detail}: {result}")

    wal_note = (
        "The stores had a `-wal` file beside them (as while a loop has the store open), so the "
        "reader used its normal WAL path."
        if all(os.path.exists(f"{v}-wal") for v in stores.values())
        else "The stores had no `-wal` file beside them (no loop had them open), so a one-shot "
        "reader may open them as immutable snapshots."
        if not any(os.path.exists(f"{v}-wal") for v in stores.values())
        else "Only one of the stores had a `-wal` file beside it."
    )
    load = [load_average()]
    say(f"analysis in-process: {n_an} runs per store")
    an = time_inprocess(
        {k: functools.partial(build_report, v, d, p.calendar, now=now) for k, v in stores.items()}, n_an
    )
    breakdown = analysis_breakdown(stores, cal, d, now, max(5, n_an // 2))

    say(f"process: {n_proc} runs per store")
    hc = console_script("health-console")
    cmds = {
        k: [hc, "--report", "--json", "--store", str(v), "--date", d.isoformat()] for k, v in stores.items()
    }
    proc, last = time_processes({**cmds, "python -c pass": [sys.executable, "-c", "pass"]}, n_proc)
    n_phases = 3 if args.quick else 5
    phases = time_phases(stores, d, p.calendar, n_phases)
    load.append(load_average())
    notes = []
    for k in cmds:
        rc, out, err = last[k]
        try:
            status = json.loads(out)["status"]
        except ValueError:
            status = None
        if rc not in (0, 1, 2) or status is None:
            notes.append(f"health-console on the {k} store exited {rc}: {err.strip()[:200]}")
        elif status != "HEALTHY":
            notes.append(f"health-console on the {k} store: {status} (exit {rc})")

    say("naive baseline")
    n_naive = 2 if args.quick else 3
    nv = time_inprocess(
        {k: functools.partial(naive_report, v, d, p.calendar, now) for k, v in stores.items()},
        n_naive,
        warm=1,
    )
    same = {
        k: naive_report(v, d, p.calendar, now).to_json() == build_report(v, d, p.calendar, now=now).to_json()
        for k, v in stores.items()
    }

    a_y, a_o = an["year"].median, an["oneday"].median
    p_y, p_o = proc["year"].median, proc["oneday"].median
    ok_a = max(a_y, a_o) <= TARGET_ANALYSIS_MS / 1e3
    ok_ar = a_y / a_o <= TARGET_RATIO
    ok_p = max(p_y, p_o) <= TARGET_PROCESS_S
    ok_pr = p_y / p_o <= TARGET_RATIO
    cpu_y, cpu_o = statistics.median(proc["year"].cpu), statistics.median(proc["oneday"].cpu)
    table = [
        [
            "analysis, in-process (median)",
            an["year"].text(),
            an["oneday"].text(),
            f"{a_y / a_o:.2f}x",
            f"<= {TARGET_ANALYSIS_MS:g} ms",
            verdict(ok_a),
        ],
        ["analysis, year / one-day", "", "", f"{a_y / a_o:.2f}x", f"<= {TARGET_RATIO:g}x", verdict(ok_ar)],
        [
            "process `--report --json`, wall (median)",
            proc["year"].text(),
            proc["oneday"].text(),
            f"{p_y / p_o:.2f}x",
            f"<= {TARGET_PROCESS_S:g} s",
            verdict(ok_p),
        ],
        ["process, year / one-day", "", "", f"{p_y / p_o:.2f}x", f"<= {TARGET_RATIO:g}x", verdict(ok_pr)],
        ["process, CPU user+sys (median; info)", ms(cpu_y), ms(cpu_o), f"{cpu_y / cpu_o:.2f}x", "", ""],
        ["`python -c pass`, wall (floor; info)", proc["python -c pass"].text(), "", "", "", ""],
        [
            "naive analysis / ours (info)",
            f"{nv['year'].median / a_y:,.0f}x",
            f"{nv['oneday'].median / a_o:.1f}x",
            "",
            "",
            "",
        ],
    ]
    res = {
        "info": machine_info(),
        "params": p,
        "quick": args.quick,
        "cached": c1 and c2,
        "load": load,
        "table": table,
        "n_analysis": n_an,
        "n_process": n_proc,
        "n_phases": n_phases,
        "stores": {
            "year": {**store_facts(year), "meta": year_meta},
            "one-day": {**store_facts(oneday), "meta": one_meta},
        },
        "validation": val,
        "wal_note": wal_note,
        "analysis": {"year": a_y, "oneday": a_o},
        "breakdown": breakdown,
        "phases": phases,
        "naive": {
            "year": nv["year"].median,
            "oneday": nv["oneday"].median,
            "n": n_naive,
            "same_year": "yes" if same["year"] else "**no**",
            "same_oneday": "yes" if same["oneday"] else "**no**",
        },
        "notes": notes,
    }
    all_ok = ok_a and ok_ar and ok_p and ok_pr and val["ok"]
    if not val["ok"]:
        notes.append("the generated year store does not match the recorder's shape (see validation)")
    say("profiling the process's imports (-X importtime)")
    res["chain"] = import_chain(cmds["year"])
    bd = breakdown
    extra = bd["year"]["load_day"] - bd["oneday"]["load_day"]
    n_runs = res["stores"]["year"]["rows"].get("runs", 0)
    notes.append(
        f"Analysis, year vs one-day: `analyze()` costs the same on both ({ms(bd['year']['analyze'])} vs "
        f"{ms(bd['oneday']['analyze'])}: it grows with the day's events); `load_day` differs by "
        f"{extra * 1e3:+.1f} ms (year - one-day): it reads the date's rows through the indexes on "
        f"time, and takes the run config and the next start from `StoreReader.last_run_before` and "
        f"`next_run_start`, indexed `LIMIT 1` / `min()` look-ups on (source, started_at), so it does "
        f"not parse every run of the store ({n_runs:,} here, one per restart) into a RunRecord."
    )
    ph = phases["year"]
    fixed = sum(v for k, v in ph.items() if k.startswith(("import", "open the store")))
    own = ph["the report: queries, analysis"]
    slowest = max(proc["year"].hi, proc["oneday"].hi)
    chain = [m for m, _c in res["chain"][0] if m != "pandas"]
    via = (
        f"pandas is imported, first by `{chain[-1]}`"
        if chain
        else "neither pandas nor exchange_calendars is imported: the calendar comes from the store"
    )
    notes.append(
        f"Process: of {ms(ph['total wall'])} wall, {ms(fixed)} are imports and reading the calendar "
        f"the loop recorded ({via}; bench/startup.py measures the processes against the import of "
        f"exchange_calendars), {ms(own)} the report itself, the rest interpreter start-up and exit. "
        f"So the process does not grow with the store (the slowest run here: {ms(slowest)}; load "
        f"average {max(load):.1f} on {os.cpu_count()} CPUs)."
    )
    if not (ok_a and ok_ar) or args.profile:
        say("profiling the analysis (cProfile)")
        res["profile"] = profile_inprocess(year, d, p.calendar, now)
    res["elapsed"] = time.perf_counter() - started

    body = render(res)
    print(body)
    if not args.no_write and (not args.quick or args.write):
        write_section("report", "Report (`bench/report.py`)", body)
        say(f"updated {BENCH_MD}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
