"""The report, byte for byte, on fixed scenarios: golden files in tests/golden/.

Refactoring the analysis (typed enums, records reshaped) must not change one byte of what
scripts read (docs/CONTRACT.md §3), nor of the text, Nagios and notify renderings of it. The
stores are written by the real recorder on simulated clocks; what varies between machines (pid,
host, command line, working directory, the store's path) is normalised before the report is
made. A deliberate change of the report updates the
files with ``UPDATE_GOLDEN=1 python -m pytest tests/test_report_golden.py`` and shows in the
diff for review.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from console.nagios import nagios_line
from console.notify import summary_of
from console.report_text import render_report
from health.loader import build_report
from health.simulation import SimClock, at, monitor, run_loop, seed_dec11_story

GOLDEN = Path(__file__).parent / "golden"
WED, THU, THANKSGIVING = date(2025, 12, 10), date(2025, 12, 11), date(2025, 11, 27)
AFTER = at(date(2025, 12, 20), 12, 0)
STORE_LABEL = "/var/lib/trading/health.db"


def _normalize(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE runs SET pid = 4242, host = 'trading-host', argv = '[\"trading_loop.py\", \"--live\"]', "
            "config = json_set(config, '$.cwd', '/srv/trading', '$.log_files', json('[\"/srv/trading/loop.log\"]'),"
            " '$.store_path', ?, '$.executable', '/srv/trading/.venv/bin/python',"
            ' \'$.orig_argv\', json(\'["python3", "trading_loop.py", "--live"]\'))',
            (STORE_LABEL,),
        )
    conn.close()


def _day(store: Path, day: date, silence=None, source: str = "default", calendar: str = "XNYS", **config):
    clock = SimClock(at(day, 9, 25, calendar=calendar))
    mon = monitor(store, clock, source=source, calendar=calendar, **config)
    if silence:
        (h1, m1), (h2, m2) = silence
        run_loop(mon, clock, at(day, h1, m1, calendar=calendar) + 1)
        clock.now = at(day, h2, m2, calendar=calendar)
    run_loop(mon, clock, at(day, 16, 5, calendar=calendar))
    mon.close()


def _dec11(store: Path) -> None:
    seed_dec11_story(store, own_process=False)


def _degraded(store: Path) -> None:
    _day(store, WED, silence=((10, 30), (11, 45)))


def _thanksgiving(store: Path) -> None:
    clock = SimClock(at(THANKSGIVING, 10, 0))
    mon = monitor(store, clock, check_interval_seconds=600)
    run_loop(mon, clock, at(THANKSGIVING, 12, 0), step=600, gate=False, signal_every=3)
    mon.close()


def _hkg(store: Path) -> None:
    _day(store, WED, calendar="XHKG", silence=((10, 0), (13, 30)))


def _two_loops_today(store: Path) -> None:
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock, source="alpha")
    run_loop(mon, clock, at(WED, 10, 59))
    mon.close()
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock, source="beta", max_uptime_gap_minutes=10)
    run_loop(mon, clock, at(WED, 10, 15))
    mon.abandon()


def _naive_utc(store: Path) -> None:
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 16, 5), data_ts_fn=lambda now: now + 5 * 3600 - 5)
    mon.close()


SCENARIOS = {
    "dec11-unhealthy": (_dec11, THU, AFTER, None),
    "dec11-previous-day-healthy": (_dec11, WED, AFTER, None),
    "gap-degraded": (_degraded, WED, AFTER, None),
    "thanksgiving-signals": (_thanksgiving, THANKSGIVING, AFTER, None),
    "hkg-lunch-break": (_hkg, WED, AFTER, "XHKG"),
    "two-loops-today": (_two_loops_today, WED, at(WED, 11, 0), None),
    "naive-utc-timing": (_naive_utc, WED, AFTER, None),
}


def outputs(store: Path, day: date, now: float, calendar: str | None) -> dict[str, str]:
    """The report as JSON, and what is derived from it: the Nagios line, the daily summary's
    lines, the rendered text (100 columns, no colour)."""
    report = dataclasses.replace(
        build_report(store, day, calendar or "XNYS", None, now), store_path=STORE_LABEL
    )
    out = io.StringIO()
    Console(file=out, width=100, color_system=None, highlight=False, emoji=False, markup=False).print(
        render_report(report)
    )
    summary = summary_of(report)
    text = "\n".join(
        [
            "--- nagios",
            nagios_line(report),
            "--- notify",
            f"{summary.status} {summary.date} {summary.calendar} {summary.source}",
            *summary.lines,
            f"first step: {summary.first_step}",
            "--- text",
            *(line.rstrip() for line in out.getvalue().splitlines()),
        ]
    )
    return {"json": json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n", "txt": text + "\n"}


def _without_calendars(store: Path) -> Path:
    """A copy of the store as a production-health from before schema v3 wrote it: no recorded
    calendar, so the report builds its own with exchange_calendars."""
    copy = store.with_name("unrecorded.db")
    src, dest = sqlite3.connect(store), sqlite3.connect(copy)
    src.backup(dest)
    src.close()
    with dest:
        for table in ("calendars", "calendar_sessions", "calendar_closures"):
            dest.execute(f"DROP TABLE {table}")
    dest.execute("PRAGMA user_version = 2")
    dest.close()
    return copy


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    result = {}
    for name, (make, day, now, calendar) in SCENARIOS.items():
        store = tmp_path_factory.mktemp(name) / "health.db"
        make(store)
        _normalize(store)
        result[name] = outputs(store, day, now, calendar)
        result[f"{name} (unrecorded)"] = outputs(_without_calendars(store), day, now, calendar)
    return result


@pytest.mark.parametrize("kind", ["json", "txt"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_report_is_byte_identical_to_the_golden_file(made, name: str, kind: str) -> None:
    text = made[name][kind]
    golden = GOLDEN / f"{name}.{kind}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["json", "txt"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_report_is_the_same_without_the_recorded_calendar(made, name: str, kind: str) -> None:
    assert made[name][kind] == made[f"{name} (unrecorded)"][kind]
