"""Period benchmark: ``check-production-health --from --to`` over a year, beside one day's report,
as whole processes on the one-year store of bench/report.py (its builder and cache are reused).

    python bench/period.py           # full run (~1 min with the stores cached), 5 rounds;
                                     # updates the bench:period section of BENCHMARKS.md
    python bench/period.py --quick   # the month-long stores, 3 rounds; prints only (unless --write)

Every process is started once per round, interleaved, after a warm-up round; the table gives
the median. The target is a ratio in the same run: a year's range (2025-01-01..2025-12-31, the
store's whole year: 2 loops, 1M signals, 53k gate buckets) at most 2x the one-day report of
2025-06-11. Then where the year's time goes, in-process.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(REPO))

from bench._common import (  # noqa: E402
    compile_package,
    console_script,
    load_before_after,
    machine_info,
    md_row,
    run_line,
    say,
    verdict,
    write_section,
)
from bench._period_minutes import minutes_vs_rows  # noqa: E402
from bench.report import time_processes  # noqa: E402
from bench.startup import stores  # noqa: E402

TARGET = 2.0
NOW = "2026-01-05T12:00:00-05:00"


def breakdown(year: Path, start: date, end: date) -> dict[str, float]:
    """period_report in-process, its parts timed by wrapping them."""
    from console.sanitize import json_text
    from health import analysis, period
    from health.calendar_record import calendar_for
    from health.gc_pause import cyclic_gc_paused
    from health.loader import open_store

    spent = {"load_day (per day)": 0.0, "signal_summaries (SQLite)": 0.0, "analyze (per day)": 0.0}

    def timed(name, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t0

        return wrapper

    now = time.time()
    reader = open_store(year)
    cal = calendar_for(reader, "XNYS", start, now)
    spent["the cadence learned per day and loop"] = 0.0
    spent["the period's rows read once (RangeRows)"] = 0.0
    spent["the gate's routine buckets summed (SQLite, per day)"] = 0.0
    spent["with_signals"] = 0.0
    orig = (
        period.load_day,
        period.analyze,
        reader.signal_summaries,
        period._learn_cadences,
        period.RangeRows,
        period.gate_sums,
        period._with_signals,
    )
    period.gate_sums = timed("the gate's routine buckets summed (SQLite, per day)", period.gate_sums)
    period._with_signals = timed("with_signals", period._with_signals)
    period._learn_cadences = timed("the cadence learned per day and loop", period._learn_cadences)
    period.load_day = timed("load_day (per day)", period.load_day)
    period.RangeRows = timed("the period's rows read once (RangeRows)", period.RangeRows)
    period.analyze = timed("analyze (per day)", analysis.analyze)
    reader.signal_summaries = timed("signal_summaries (SQLite)", reader.signal_summaries)
    try:
        gc.disable()  # as console/period_cli.py reports a period
        t0 = time.perf_counter()
        report = period.period_report(reader, cal, start, end, now)
        spent["total (period_report)"] = time.perf_counter() - t0
    finally:
        (
            period.load_day,
            period.analyze,
            _,
            period._learn_cadences,
            period.RangeRows,
            period.gate_sums,
            period._with_signals,
        ) = orig
        reader.close()
        gc.enable()
    # The pieces built and their sums handed to each day: _with_signals but its SQL.
    spent["the signal pieces built, their sums handed to each day (Python)"] = (
        spent.pop("with_signals") - spent["signal_summaries (SQLite)"]
    )
    t0 = time.perf_counter()
    with cyclic_gc_paused():
        json_text(report.to_json(), indent=2)
    spent["the period's JSON rendered (period_json, json_text)"] = time.perf_counter() - t0
    return spent


def median_breakdown(year: Path, start: date, end: date, runs: int = 3) -> dict[str, float]:
    """``breakdown``'s parts, each the median of ``runs`` runs."""
    got = [breakdown(year, start, end) for _ in range(runs)]
    return {k: sorted(g[k] for g in got)[runs // 2] for k in got[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", action="store_true", help="write BENCHMARKS.md after --quick too")
    args = ap.parse_args()
    compile_package()  # bench/_common.py: timed as installed, bytecode written
    rounds = 3 if args.quick else 5
    info = machine_info()
    started = time.perf_counter()
    year, _, p = stores(args.quick, regen=False)
    start, end = date.fromisoformat(p.start), date.fromisoformat(p.end)
    day = "2025-06-11"
    check = console_script("check-production-health")
    common = ["--store", str(year), f"--now={NOW}", "--json"]
    cmds = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        f"one day: --date {day}": [check, *common, "--date", day],
        "a month: --from 2025-06-01 --to 2025-06-30": [
            check,
            *common,
            "--from",
            "2025-06-01",
            "--to",
            "2025-06-30",
        ],
        f"the year: --from {start} --to {end}": [check, *common, "--from", str(start), "--to", str(end)],
    }
    say("processes …")
    samples, last = time_processes(cmds, rounds)
    for k, (code, _out, err) in last.items():
        if code not in (0, 1, 2):
            raise SystemExit(f"{k}: exit {code}: {err}")
    keys = list(cmds)
    one, year_key = samples[keys[1]], samples[keys[3]]
    ratio = year_key.median / one.median
    cpu_ratio = sorted(year_key.cpu)[len(year_key.cpu) // 2] / sorted(one.cpu)[len(one.cpu) // 2]
    say("breakdown …")
    parts = median_breakdown(year, start, end)
    say("signal sums: per-minute against the rows, and the migration …")
    by_minutes = minutes_vs_rows(year, start, end)
    took = time.perf_counter() - started
    lines = [
        run_line(info, "period.py", args.quick)
        + f" took {took:.0f} s; "
        + load_before_after(info["load"], machine_info()["load"]),
        "",
        "### Target (same run)",
        "",
        md_row(["target", "goal", "measured", ""]),
        md_row(["---"] * 4),
        md_row(
            [
                f"the range {start}..{end} / one day's report, process wall time",
                f"<= {TARGET:.0f}x",
                f"{ratio:.1f}x ({year_key.median * 1e3:.0f} ms vs {one.median * 1e3:.0f} ms); CPU {cpu_ratio:.1f}x",
                verdict(ratio <= TARGET),
            ]
        ),
        "",
        f"### Each process, median of {rounds} interleaved rounds (`--json`, the year store)",
        "",
        md_row(["process", "wall", "CPU (user+sys)", "/ one day"]),
        md_row(["---", "---:", "---:", "---:"]),
    ]
    for k in keys:
        s = samples[k]
        cpu = sorted(s.cpu)[len(s.cpu) // 2]
        lines.append(
            md_row([k, f"{s.median * 1e3:.0f} ms", f"{cpu * 1e3:.0f} ms", f"{s.median / one.median:.2f}x"])
        )
    lines += [
        "",
        "### Where the year's time goes (in-process, median of 3 runs)",
        "",
        md_row(["part", "time"]),
        md_row(["---", "---:"]),
        *(md_row([k, f"{v * 1e3:.0f} ms"]) for k, v in parts.items()),
        "",
        "- Each day is analysed by the one-day report's engine (`analyze`), from the inputs "
        "`load_day` gives it out of the period's rows read once (store/range_rows.py); the gate's "
        "routine buckets (allowed, market closed) are summed up by SQLite per day and loop "
        "(health/period_gate.py), only the refusals the rules read are records (found by the "
        "gate's index by code, schema v7); the signals are summed up by SQLite per piece: each "
        "day's RTH whole, its session hours' signals counted from the quarter-hour sums when every "
        "edge lies on a quarter hour (else RTH cut at the hours: health/period_pieces.py), and the "
        "stretches outside RTH "
        "(`StoreReader.signal_summaries`: from schema v6 each piece's whole quarter hours are read "
        "from `signal_quarters` and the whole minutes at its edges from `signal_minutes`, the "
        "per-loop sums SQLite's triggers keep as signals are written (store/signal_minutes.py), "
        "and their range of ages and data times settles a clean piece; only the others, and "
        "part-minutes, are counted row by row), never read into "
        "Python. By the rows alone (a v4 store) the floor was SQLite's row lookup per signal: "
        "about 0.3 s for 1M signals. Each day's NO_SIGNALS cadence is learned from its last ten "
        "sessions as the day report learns it (health/cadence.py), from rows read once for the "
        "period, each session's hours judged once and the lookbacks sliding over them "
        "(health/period_cadence.py); no cyclic garbage collection while the days are built "
        "(health/gc_pause.py), nor, from the CLI, while the whole report is (console/period_cli.py). "
        "Every process runs with the package's bytecode written (bench/_common.py "
        "`compile_package`), as an installed one does.",
        "- SQLite's floors here (measured apart): each column read of the year's 193k minutes "
        "costs ~6 ms (hence the quarters: 13k rows), so a piece is asked four (count, age range, "
        "newest data) and the two others only when those leave it open; the gate's routine sums "
        "cost a table lookup per bucket (~7 ms a loop for a bare sum over its 26k buckets) and the "
        "sort of each day's ~70 (one query per loop grouping by day sorted all 26k: no cheaper; "
        "a table without rowid, 12% cheaper, not worth rebuilding the table).",
        "",
        *by_minutes,
    ]
    body = "\n".join(lines)
    print(body)
    if not args.quick or args.write:
        write_section("period", "Period report (`bench/period.py`)", body)


if __name__ == "__main__":
    main()
