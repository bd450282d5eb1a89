"""Backfill benchmark: how fast ``health-console --import`` takes a loop's past logs.

    python bench/backfill.py            # 1M lines, 3 interleaved rounds, updates BENCHMARKS.md
    python bench/backfill.py --quick    # 200k lines, prints only (unless --write)

The log is a loop's: every 2 seconds of each weekday session (09:30-16:00, New York) a
heartbeat line and one signal per symbol (5), stamped to the millisecond (every line time
differs), the data time the minute bar's (naive ISO 8601, as most logs write it). CSV and JSON
Lines, the same content. Measured in one process, interleaved round by round:

- the baseline: Python's csv module reading the file alone (``csv.reader``, every row), and
  ``json.loads`` of every line for the JSON Lines file;
- the import as ``health-console --import`` runs it: read and check every line
  (health/backfill.py), then write it in one transaction into a new store
  (store/backfill.py), and the re-import of the same file into that store (adds nothing).

The target is the issue's, at least 200,000 lines/s for the whole import; the ratio to the
csv module in the same run is what carries from one machine to another.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    BUSY_WARNING,
    load_average,
    load_before_after,
    machine_info,
    md_row,
    run_line,
    say,
    verdict,
    write_section,
)

TARGET_LINES_PER_S = 200_000
SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOG")
TZ = ZoneInfo("America/New_York")


def write_logs(dest: Path, lines: int) -> tuple[Path, Path]:
    """The same log as CSV and JSON Lines, ``lines`` lines (give or take one pass)."""
    csv_path, jsonl_path = dest / "loop.csv", dest / "loop.jsonl"
    day = datetime(2025, 1, 2)
    n = 0
    with csv_path.open("w", newline="") as c, jsonl_path.open("w") as j:
        c.write("timestamp,symbol,data_timestamp\n")
        while n < lines:
            if day.weekday() < 5:
                t = day.replace(hour=9, minute=30)
                close = day.replace(hour=16)
                while t < close and n < lines:
                    bar = t.replace(second=0, microsecond=0).isoformat(sep=" ")
                    beat = (t + timedelta(milliseconds=7)).isoformat(sep=" ", timespec="milliseconds")
                    c.write(f"{beat},,\n")
                    j.write(json.dumps({"timestamp": beat}) + "\n")
                    for i, sym in enumerate(SYMBOLS):
                        at = (t + timedelta(milliseconds=113 + 41 * i)).isoformat(
                            sep=" ", timespec="milliseconds"
                        )
                        c.write(f"{at},{sym},{bar}\n")
                        j.write(json.dumps({"timestamp": at, "symbol": sym, "data_timestamp": bar}) + "\n")
                    n += 1 + len(SYMBOLS)
                    t += timedelta(seconds=2)
            day += timedelta(days=1)
    return csv_path, jsonl_path


def csv_alone(path: Path) -> int:
    with path.open(newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def json_alone(path: Path) -> int:
    loads = json.loads
    with path.open() as f:
        return sum(1 for line in f if loads(line))


def do_import(path: Path, fmt: str, store: Path) -> tuple[int, object]:
    """What ``health-console --import`` does once its arguments are read."""
    from health.backfill import Columns, import_run, read_file
    from health.config import MonitorConfig
    from store.backfill import write_backfill

    parsed = read_file(path, fmt, Columns(), TZ)
    assert not parsed.bad, parsed.bad[:3]
    run = import_run(MonitorConfig(source="loop"), "America/New_York", path, "bench")
    return parsed.lines, write_backfill(store, run, parsed.signals, parsed.activity)


def timed(fn, *args) -> tuple[float, float, object]:
    """(wall, CPU of this process, result)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return time.perf_counter() - t, time.process_time() - c, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200k lines; prints only")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md after a --quick run")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    info = machine_info()
    lines = 200_000 if args.quick else 1_000_000
    tmp = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    try:
        say(f"writing a {lines:,}-line log as CSV and JSON Lines")
        csv_path, jsonl_path = write_logs(tmp, lines)
        keys = ("csv", "json", "import_csv", "reimport_csv", "import_jsonl")
        times: dict[str, list[float]] = {k: [] for k in keys}
        cpu: dict[str, list[float]] = {k: [] for k in keys}
        counted = 0
        result = None
        for r in range(args.rounds):
            say(f"round {r + 1}/{args.rounds}")
            store = tmp / f"r{r}.db"
            for key, fn, fargs in (
                ("csv", csv_alone, (csv_path,)),
                ("json", json_alone, (jsonl_path,)),
                ("import_csv", do_import, (csv_path, "csv", store)),
                ("reimport_csv", do_import, (csv_path, "csv", store)),
                ("import_jsonl", do_import, (jsonl_path, "jsonl", tmp / f"j{r}.db")),
            ):
                t, c, out = timed(fn, *fargs)
                times[key].append(t)
                cpu[key].append(c)
                if key == "csv":
                    counted = out
                elif key == "import_csv":
                    result = out[1]
                    assert out[0] == counted and result.signals_added == counted * len(SYMBOLS) // (
                        len(SYMBOLS) + 1
                    )
                elif key == "reimport_csv":
                    assert out[1].signals_added == 0 and out[1].beats_added == 0, out[1]
        med = {k: statistics.median(v) for k, v in times.items()}
        med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        after = load_average()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rate = {k: counted / v for k, v in med.items()}
    rate_cpu = {k: counted / v for k, v in med_cpu.items()}
    rows = [
        ("csv module reading the CSV file alone (baseline)", "csv", "csv"),
        ("`json.loads` of every line of the JSON Lines file (baseline)", "json", "json"),
        ("import the CSV file into a new store", "import_csv", "csv"),
        ("re-import it (adds nothing)", "reimport_csv", "csv"),
        ("import the JSON Lines file into a new store", "import_jsonl", "json"),
    ]
    lines_out = [
        f"{run_line(info, 'backfill.py', args.quick)} took {time.perf_counter() - started:.0f} s; "
        f"{load_before_after(info['load'], after)}",
        "",
    ]
    if max(info["load"], after) > (info["nproc"] or 1) * 0.75:
        lines_out += [BUSY_WARNING, ""]
    ok_csv = rate_cpu["import_csv"] >= TARGET_LINES_PER_S
    ok_json = rate_cpu["import_jsonl"] >= TARGET_LINES_PER_S

    def measured(key: str, base: str, name: str) -> str:
        return (
            f"{rate_cpu[key]:,.0f} lines/s of CPU ({med_cpu[key] / med_cpu[base]:.1f}x {name} alone); "
            f"{rate[key]:,.0f} lines/s of wall time"
        )

    lines_out += [
        f"### Targets ({counted:,} lines: {result.signals_added:,} signals and the heartbeats between; "
        f"median of {args.rounds} interleaved rounds)",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
        md_row(
            [
                "`--import` of a CSV log: read, checked and written in one transaction",
                f">= {TARGET_LINES_PER_S:,} lines/s",
                measured("import_csv", "csv", "the csv module"),
                verdict(ok_csv),
            ]
        ),
        md_row(
            [
                "`--import` of the same log as JSON Lines",
                f">= {TARGET_LINES_PER_S:,} lines/s",
                measured("import_jsonl", "json", "`json.loads`"),
                verdict(ok_json),
            ]
        ),
        "",
        "### Each step",
        "",
        "| step | wall | CPU | lines/s (CPU) | CPU / its baseline's |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key, base in rows:
        lines_out.append(
            md_row(
                [
                    label,
                    f"{med[key] * 1000:,.0f} ms",
                    f"{med_cpu[key] * 1000:,.0f} ms",
                    f"{rate_cpu[key]:,.0f}",
                    f"{med_cpu[key] / med_cpu[base]:.2f}x",
                ]
            )
        )
    lines_out += [
        "",
        "- In process, as `health-console --import` runs once its arguments are read (the command adds "
        "its start-up, measured by bench/startup.py). Every line time differs (milliseconds); the bar "
        "times repeat, as in a real log, and are parsed once each (health/backfill.py).",
        "- The verdict is on the process's CPU time (SQLite's work included, in process): on this shared "
        "2-core machine the wall time also holds the waits for a core and for the disk.",
        f"- The import stored {result.spans_added:,} uptime spans (one per session) and its re-import "
        "found every signal and every instant of activity already there.",
        "",
    ]
    body = "\n".join(lines_out)
    print(body)
    if not args.quick or args.write:
        write_section("backfill", "Backfill (`bench/backfill.py`)", body)
        say("BENCHMARKS.md updated")
    return 0 if ok_csv and ok_json else 1


if __name__ == "__main__":
    sys.exit(main())
