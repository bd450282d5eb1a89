"""Backtest gate benchmark: the gate on whole arrays (health.backtest.evaluate_gate) against the
per-call gate asked row by row, in the same run.

    python bench/backtest_gate.py           # full run (~1 min); updates the bench:backtest_gate
                                            # section of BENCHMARKS.md
    python bench/backtest_gate.py --quick   # fewer rows and rounds; prints only (unless --write)

The baseline is what a backtester would otherwise do: ``ProductionMonitor.should_generate_signals``
called once per row, its clock (``SimClock``) set to the row's time, on a backtest monitor that
keeps nothing (``store_path=":memory:"``), and for information the bare ``health.gate.Gate``
under it (no timestamp reading, no recording: the least a per-call gate can cost). Two row sets:

- *minute bars*: a year of XNYS minute bars around the clock (the gate is asked at every bar's
  close; the data is 5 s old, 2% of it hours or days old), in time order: the per-call gate's
  best case, its per-session cache hit on nearly every row;
- *random rows*: instants drawn across 2019-2026 with random data ages, in random order: every
  row may need another session.

Every round times the per-call gate and the array gate on the same rows, interleaved, and the
answers are compared row by row. Then 1M rows through ``evaluate_gate`` (epoch floats, and naive
``datetime64`` read in the exchange's zone) and ``add_gate_columns`` on a 1M-row DataFrame.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench._common import load_before_after, machine_info, md_row, run_line, say, verdict, write_section  # noqa: E402
from health import MonitorConfig, ProductionMonitor  # noqa: E402
from health.backtest import epoch_seconds, evaluate_gate  # noqa: E402
from health.backtest_pandas import add_gate_columns  # noqa: E402
from health.calendar import get_calendar  # noqa: E402
from health.gate import Gate  # noqa: E402
from health.simulation import SimClock  # noqa: E402
from store.events import GATE  # noqa: E402

CAL = "XNYS"
MAX_AGE_HOURS = 1.0
TARGET_RATIO = 20.0  # the array gate at least this many times faster than the per-call gate
TARGET_1M_SECONDS = 1.0  # "1M rows in about a second here"
YEAR_START = pd.Timestamp("2025-01-01", tz="UTC").timestamp()


def minute_bars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    now = YEAR_START + 60.0 * np.arange(1, n + 1)
    lag = np.full(n, 5.0)
    old = rng.random(n) < 0.02
    lag[old] = rng.uniform(3600, 4 * 86400, old.sum())
    return now, now - lag


def random_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lo = pd.Timestamp("2019-01-01", tz="UTC").timestamp()
    hi = pd.Timestamp("2026-12-01", tz="UTC").timestamp()
    now = rng.uniform(lo, hi, n)
    age = np.where(rng.random(n) < 0.7, rng.uniform(-10, 120, n), rng.uniform(0, 4 * 86400, n))
    return now, now - age


def per_call(now: np.ndarray, data: np.ndarray) -> tuple[float, list[bool], list[str]]:
    """should_generate_signals row by row, as a bar-by-bar backtester calls it."""
    clock = SimClock(float(now[0]))
    config = MonitorConfig(
        backtest=True, clock=clock, store_path=":memory:", calendar=CAL, max_data_age_hours=MAX_AGE_HOURS
    )
    allowed: list[bool] = []
    codes: list[str] = []
    with ProductionMonitor(config) as mon:
        ask, latest = mon.should_generate_signals, mon.recorder.latest
        rows = zip(now.tolist(), data.tolist(), strict=True)
        t0 = time.perf_counter()
        for t, d in rows:
            clock.now = t
            allowed.append(ask(d)[0])
            codes.append(latest[GATE][3])
        elapsed = time.perf_counter() - t0
    return elapsed, allowed, codes


def bare_gate(now: np.ndarray, data: np.ndarray) -> float:
    gate = Gate(get_calendar(CAL), MAX_AGE_HOURS * 3600)
    evaluate = gate.evaluate
    rows = list(zip(now.tolist(), data.tolist(), strict=True))
    t0 = time.perf_counter()
    for t, d in rows:
        evaluate(t, d)
    return time.perf_counter() - t0


def vectorised(now: np.ndarray, data: np.ndarray):
    t0 = time.perf_counter()
    answers = evaluate_gate(now, data, CAL, MAX_AGE_HOURS)
    return time.perf_counter() - t0, answers


def compare(name: str, now: np.ndarray, data: np.ndarray, rounds: int) -> dict:
    per, bare, vec = [], [], []
    mismatches = 0
    for _ in range(rounds):
        p, allowed, codes = per_call(now, data)
        v, answers = vectorised(now, data)
        b = bare_gate(now, data)
        per.append(p)
        vec.append(v)
        bare.append(b)
        mismatches = int(
            np.count_nonzero(answers.allowed != np.array(allowed))
            + np.count_nonzero(answers.code != np.array(codes, dtype=object))
        )
    p, v, b = (statistics.median(x) for x in (per, vec, bare))
    say(
        f"{name}: per-call {p:.3f}s, bare Gate {b:.3f}s, array {v:.4f}s: {p / v:.0f}x, mismatches {mismatches}"
    )
    return {"name": name, "rows": len(now), "per": p, "bare": b, "vec": v, "mismatches": mismatches}


def million(n: int, rounds: int) -> dict:
    now, data = minute_bars(n, seed=3)
    evaluate_gate(now[:10], data[:10], CAL)  # the calendar's arrays, once (cached per calendar)
    floats = []
    dt64 = []
    frame_t = []
    tz = get_calendar(CAL).tz
    wall = pd.to_datetime(now, unit="s", utc=True).tz_convert(tz).tz_localize(None).to_numpy()
    data_wall = pd.to_datetime(data, unit="s", utc=True).tz_convert(tz).tz_localize(None).to_numpy()
    frame = pd.DataFrame(
        {"symbol": "AAPL", "data_ts": pd.to_datetime(data, unit="s", utc=True)},
        index=pd.to_datetime(now, unit="s", utc=True),
    )
    for _ in range(rounds):
        t0 = time.perf_counter()
        a = evaluate_gate(now, data, CAL, MAX_AGE_HOURS)
        floats.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = evaluate_gate(wall, data_wall, CAL, MAX_AGE_HOURS)
        dt64.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = add_gate_columns(frame, calendar=CAL, max_data_age_hours=MAX_AGE_HOURS)
        frame_t.append(time.perf_counter() - t0)
    # The aware DataFrame holds the very instants: identical answers. Naive wall times cannot
    # name the second pass through a fall-back hour (read as the first, as the monitor reads a
    # naive datetime): the rows that differ must be exactly those whose wall time is ambiguous.
    same = bool(
        np.array_equal(out.gate_allowed.to_numpy(), a.allowed)
        and np.array_equal(out.gate_reason.astype(str).to_numpy(), a.code.astype(str))
    )
    differ = np.flatnonzero(a.code != b.code)
    folded = (epoch_seconds(wall, tz, "now") != now) | (epoch_seconds(data_wall, tz, "data_ts") != data)
    same = same and np.array_equal(differ, np.flatnonzero(folded & (a.code != b.code)))
    result = {
        "rows": n,
        "floats": statistics.median(floats),
        "dt64": statistics.median(dt64),
        "frame": statistics.median(frame_t),
        "same": same,
        "folded": len(differ),
        "allowed": int(a.allowed.sum()),
    }
    say(f"1M: {result}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", action="store_true", help="write BENCHMARKS.md after --quick too")
    args = ap.parse_args()
    n, rounds, big = (20_000, 1, 200_000) if args.quick else (100_000, 3, 1_000_000)
    info = machine_info()
    started = time.perf_counter()
    sets = [
        compare("XNYS minute bars from 2025-01-01, time order", *minute_bars(n, seed=1), rounds),
        compare("random rows 2019-2026, random order", *random_rows(n, seed=2), rounds),
    ]
    m = million(big, rounds)
    took = time.perf_counter() - started
    after = machine_info()["load"]
    ok_ratio = all(s["per"] / s["vec"] >= TARGET_RATIO for s in sets)
    ok_same = all(s["mismatches"] == 0 for s in sets) and m["same"]
    lines = [
        run_line(
            info, "backtest_gate.py", args.quick, [("numpy", np.__version__), ("pandas", pd.__version__)]
        )
        + f" took {took:.0f} s; "
        + load_before_after(info["load"], after),
        "",
        "### Targets",
        "",
        md_row(["target", "goal", "measured", ""]),
        md_row(["---"] * 4),
    ]
    for s in sets:
        ratio = s["per"] / s["vec"]
        lines.append(
            md_row(
                [
                    f"`evaluate_gate` vs `should_generate_signals` row by row, {s['name']}",
                    f">= {TARGET_RATIO:.0f}x",
                    f"{ratio:.0f}x ({s['vec'] * 1e3:.1f} ms vs {s['per'] * 1e3:.0f} ms for {s['rows']:,} rows)",
                    verdict(ratio >= TARGET_RATIO),
                ]
            )
        )
    lines.append(
        md_row(
            [
                f"`evaluate_gate`, {m['rows']:,} rows (epoch floats)",
                f"about {TARGET_1M_SECONDS:.0f} s",
                f"{m['floats']:.2f} s",
                verdict(m["floats"] <= TARGET_1M_SECONDS * 1.5),
            ]
        )
    )
    lines.append(
        md_row(
            [
                "same answers as the per-call gate, every row",
                "0 mismatches",
                ", ".join(str(s["mismatches"]) for s in sets) + ("" if m["same"] else "; 1M forms differ"),
                verdict(ok_same),
            ]
        )
    )
    lines += [
        "",
        f"### Per row (median of {rounds} interleaved rounds)",
        "",
        md_row(["rows", "`should_generate_signals`", "bare `Gate.evaluate` (info)", "`evaluate_gate`"]),
        md_row(["---", "---:", "---:", "---:"]),
    ]
    for s in sets:
        r = s["rows"]
        lines.append(
            md_row(
                [
                    f"{s['name']} ({r:,})",
                    f"{s['per'] / r * 1e6:.2f} µs",
                    f"{s['bare'] / r * 1e6:.2f} µs",
                    f"{s['vec'] / r * 1e9:.0f} ns",
                ]
            )
        )
    lines += [
        "",
        f"### {m['rows']:,} minute bars at once (median of {rounds})",
        "",
        md_row(["input", "time", "per row"]),
        md_row(["---", "---:", "---:"]),
        md_row(
            ["epoch seconds (float64)", f"{m['floats']:.2f} s", f"{m['floats'] / m['rows'] * 1e9:.0f} ns"]
        ),
        md_row(
            [
                f"naive `datetime64[ns]`, read in America/New_York ({m['folded']} rows in a fall-back "
                "hour read as its first pass, as a naive datetime is)",
                f"{m['dt64']:.2f} s",
                f"{m['dt64'] / m['rows'] * 1e9:.0f} ns",
            ]
        ),
        md_row(
            [
                "`add_gate_columns` on a DataFrame (UTC index, UTC `data_ts`)",
                f"{m['frame']:.2f} s",
                f"{m['frame'] / m['rows'] * 1e9:.0f} ns",
            ]
        ),
        "",
        "- The per-call figures include what a bar-by-bar backtester pays per bar: setting the "
        "clock, reading the timestamp, the gate, and the monitor's bookkeeping of the decision "
        "(a `:memory:` store records nothing). The bare `Gate.evaluate` is the floor of any "
        "per-call gate.",
        "",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.quick or args.write:
        write_section("backtest_gate", "Backtest gate (`bench/backtest_gate.py`)", body)
    if not (ok_ratio and ok_same):
        sys.exit(1)


if __name__ == "__main__":
    main()
