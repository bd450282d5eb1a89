"""The report CLIs as a user (or cron, or Nagios) runs them: real processes, real stores.

check-production-health, health-console --report and diagnose-production: exit codes 0-3 by
status (docs/CONTRACT.md §3), --json as exactly one JSON object, --nagios as one status line with
perfdata, a piped text report that is plain UTF-8, every bad input as exit 3 with one line on
stderr and no traceback, the store found through $HEALTH_STORE, no Textual import on the
headless path, and loop-supplied text shown literally.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import assert_iso_offsets, child_env

from health.simulation import SimClock, at, monitor, run_loop, seed_dec11_story

pytestmark = pytest.mark.slow

WED = date(2025, 12, 10)
THU = date(2025, 12, 11)
THANKSGIVING = date(2025, 11, 27)
AFTER = "2025-12-20T12:00:00-05:00"  # "now" for past dates: everything is long over
MARKUP_SOURCE = "[bold red]X\x1b[31mevil"

ENTRY = {
    "check-production-health": "check_main",
    "health-console": "health_console_main",
    "diagnose-production": "diagnose_main",
}


def command(name: str) -> list[str]:
    """The installed console script: next to this interpreter (a venv, .venv in CI), else on
    PATH, else the entry point itself through this interpreter."""
    for candidate in (Path(sys.executable).parent / name, shutil.which(name)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    return [sys.executable, "-c", f"from console.cli import {ENTRY[name]}; {ENTRY[name]}()"]


def env(**extra: str | None) -> dict[str, str]:
    e = child_env()
    for key in ("FORCE_COLOR", "NO_COLOR", "CLICOLOR_FORCE", "HEALTH_DEBUG", "COLUMNS"):
        e.pop(key, None)
    e["TERM"] = "xterm-256color"  # colour must be off because stdout is a pipe, not because of TERM
    for key, value in extra.items():
        if value is None:
            e.pop(key, None)
        else:
            e[key] = value
    return e


@dataclass
class Result:
    args: list[str]
    code: int
    out: bytes
    err: bytes

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8")  # strict: the output is UTF-8 or the test fails

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8")

    def json(self) -> dict:
        return json.loads(self.stdout)  # the whole stdout is one JSON document


def run(
    *args: str, prog: str = "check-production-health", environ: dict | None = None, timeout: float = 60
) -> Result:
    argv = [*command(prog), *args]
    proc = subprocess.run(
        argv, capture_output=True, env=environ or env(), timeout=timeout, stdin=subprocess.DEVNULL
    )
    return Result(list(args), proc.returncode, proc.stdout, proc.stderr)


def run_many(cases: dict[str, tuple]) -> dict[str, Result]:
    """Start independent CLI runs side by side (each is a fresh interpreter)."""
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        futures = {key: pool.submit(lambda c: run(*c[0], **c[1]), case) for key, case in cases.items()}
        return {key: f.result() for key, f in futures.items()}


def assert_unknown(r: Result) -> None:
    assert r.code == 3, (r.code, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout


def assert_contract_json(j: dict) -> None:
    """The fields docs/CONTRACT.md §3 promises, with their types."""
    assert isinstance(j["date"], str) and re.fullmatch(r"\d{4}-\d\d-\d\d", j["date"])
    assert isinstance(j["calendar"], str) and isinstance(j["timezone"], str)
    assert j["status"] in ("HEALTHY", "CLOSED", "DEGRADED", "UNHEALTHY")
    s = j["session"]
    assert isinstance(s["is_trading_day"], bool) and isinstance(s["early_close"], bool)
    for key in ("open", "close"):
        assert (s[key] is None) == (not s["is_trading_day"])
    u = j["uptime"]
    assert u["rth_coverage_pct"] is None or isinstance(u["rth_coverage_pct"], float)
    assert isinstance(u["uptime_pct"], float)
    assert u["last_activity"] is None or isinstance(u["last_activity"], str)
    for gap in u["gaps"]:
        assert isinstance(gap["start"], str) and isinstance(gap["end"], str)
        assert isinstance(gap["minutes"], float)
    sig = j["signals"]
    for key in ("total", "rth", "after_hours", "stale", "blocked"):
        assert isinstance(sig[key], int) and sig[key] >= 0
    for issue in j["issues"]:
        assert issue["severity"] in ("CRITICAL", "WARNING", "INFO")
        assert re.fullmatch(r"[A-Z_]+", issue["code"]) and issue["message"]
    for rec in j["recommendations"]:
        assert isinstance(rec["title"], str) and rec["title"]
        assert isinstance(rec["steps"], list) and all(isinstance(x, str) and x for x in rec["steps"])
    assert_iso_offsets(j)


# -- stores, made once through the real recorder API ------------------------------------------------
def _day(
    store: Path,
    day: date,
    *,
    silence: tuple[tuple[int, int], tuple[int, int]] | None = None,
    source: str = "default",
    symbols: tuple[str, ...] | None = None,
    **config,
) -> None:
    clock = SimClock(at(day, 9, 25))
    mon = monitor(store, clock, source=source, **config)
    kw = {"symbols": symbols} if symbols else {}
    if silence:
        (h1, m1), (h2, m2) = silence
        run_loop(mon, clock, at(day, h1, m1) + 1, **kw)
        clock.now = at(day, h2, m2)
    run_loop(mon, clock, at(day, 16, 5), **kw)
    mon.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stores")
    names = ("healthy", "degraded", "dec11", "closed", "today", "markup", "hkg")
    paths = {name: root / f"{name}.db" for name in names}
    _day(paths["healthy"], WED)
    clock = SimClock(at(WED, 9, 25, calendar="XHKG"))
    mon = monitor(paths["hkg"], clock, calendar="XHKG")
    run_loop(mon, clock, at(WED, 16, 5, calendar="XHKG"))
    mon.close()
    _day(paths["degraded"], WED, silence=((10, 30), (11, 45)))
    seed_dec11_story(paths["dec11"])  # in a process of its own that then ends: its pid is gone
    clock = SimClock(at(THANKSGIVING, 10, 0))
    mon = monitor(paths["closed"], clock, check_interval_seconds=600)
    run_loop(mon, clock, at(THANKSGIVING, 12, 0), step=600)
    mon.close()
    # stopped (cleanly) at 10:15 on Dec 10; judged at 11:00 that day
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(paths["today"], clock)
    run_loop(mon, clock, at(WED, 10, 15) + 1)
    clock.now = at(WED, 10, 15)
    mon.close()
    # two loops whose names carry Rich markup and an ANSI escape; one dies at 11:00
    _day(paths["markup"], WED, source="fine", symbols=("[bold red]AAPL",))
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(paths["markup"], clock, source=MARKUP_SOURCE)
    run_loop(mon, clock, at(WED, 11, 0), symbols=("[bold red]X\x1b[31m",))
    mon.close()
    return paths


# -- exit codes and formats ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def json_runs(stores) -> dict[str, Result]:
    cases = {
        "healthy": (("--store", str(stores["healthy"]), "--date", "2025-12-10"), {}),
        "degraded": (("--store", str(stores["degraded"]), "--date", "2025-12-10"), {}),
        "dec11": (("--store", str(stores["dec11"]), "--date", "2025-12-11"), {}),
        "closed": (("--store", str(stores["closed"]), "--date", "2025-11-27"), {}),
        "unknown": (("--store", str(stores["healthy"].parent / "missing.db"), "--date", "2025-12-10"), {}),
    }
    cases = {k: ((*a, "--now", AFTER, "--json"), kw) for k, (a, kw) in cases.items()}
    cases["console-dec11"] = (("--report", *cases["dec11"][0]), {"prog": "health-console"})
    return run_many(cases)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("healthy", "HEALTHY", 0),
        ("closed", "CLOSED", 0),
        ("degraded", "DEGRADED", 1),
        ("dec11", "UNHEALTHY", 2),
        ("unknown", "UNKNOWN", 3),
    ],
)
def test_exit_code_follows_the_status(json_runs, name, status, code):
    r = json_runs[name]
    assert r.code == code, (r.stdout, r.stderr)
    j = r.json()
    assert j["status"] == status
    if code < 3:
        assert r.stderr == ""
        assert_contract_json(j)
    else:
        assert_unknown(r)


def test_json_is_one_object_with_the_promised_fields(json_runs):
    j = json_runs["dec11"].json()
    assert_contract_json(j)
    assert (j["date"], j["calendar"], j["timezone"]) == ("2025-12-11", "XNYS", "America/New_York")
    assert j["session"] == j["session"] | {
        "is_trading_day": True,
        "open": "2025-12-11T09:30:00-05:00",
        "close": "2025-12-11T16:00:00-05:00",
        "early_close": False,
    }
    assert j["uptime"]["rth_coverage_pct"] == 0.0
    assert 10.8 <= j["uptime"]["uptime_pct"] <= 11.0
    assert j["uptime"]["last_activity"] == "2025-12-11T02:35:48-05:00"
    assert j["signals"] == j["signals"] | {
        "total": 105,
        "rth": 0,
        "after_hours": 105,
        "stale": 105,
        "blocked": 0,
    }
    assert {i["code"] for i in j["issues"]} >= {
        "ZERO_RTH_COVERAGE",
        "NO_ACTIVITY",
        "STALE_DATA",
        "AFTER_HOURS_SIGNALS",
        "UNCLEAN_EXIT",
    }
    stale = next(i for i in j["issues"] if i["code"] == "STALE_DATA")
    assert "105 signals after hours vs 0 during RTH" in stale["message"] and stale["severity"] == "CRITICAL"
    # the process that wrote the story has ended: its pid is named and said not to run
    steps = [s for r in j["recommendations"] for s in r["steps"]]
    assert any(re.search(r"pid \d+ on .* is not running now", s) for s in steps), steps

    gaps = json_runs["degraded"].json()["uptime"]["gaps"]
    assert gaps == [
        {
            "start": "2025-12-10T10:30:00-05:00",
            "end": "2025-12-10T11:45:00-05:00",
            "minutes": 75.0,
            "source": "default",
            "ongoing": False,
        }
    ]
    closed = json_runs["closed"].json()
    assert closed["session"]["open"] is None and closed["session"]["close"] is None
    assert closed["session"]["is_trading_day"] is False


def test_health_console_report_gives_the_same_json(json_runs):
    a, b = json_runs["dec11"], json_runs["console-dec11"]
    assert b.code == a.code == 2
    assert b.json() == a.json()


def test_nagios_line(stores):
    res = run_many(
        {
            "dec11": (
                ("--store", str(stores["dec11"]), "--date", "2025-12-11", "--now", AFTER, "--nagios"),
                {},
            ),
            "healthy": (
                ("--store", str(stores["healthy"]), "--date", "2025-12-10", "--now", AFTER, "--nagios"),
                {},
            ),
            "console": (
                (
                    "--report",
                    "--store",
                    str(stores["degraded"]),
                    "--date",
                    "2025-12-10",
                    "--now",
                    AFTER,
                    "--nagios",
                ),
                {"prog": "health-console"},
            ),
        }
    )
    for r in res.values():
        assert len(r.stdout.splitlines()) == 1 and r.stdout.endswith("\n"), r.stdout
        assert r.stderr == ""
    line = res["dec11"].stdout.strip()
    assert res["dec11"].code == 2
    assert line.startswith("PRODUCTION HEALTH UNHEALTHY - 2025-12-11 XNYS: ZERO_RTH_COVERAGE")
    assert "'rth_coverage'=0.0%;95:;0:;0;100" in line
    assert "'signals_after_hours'=105;" in line
    # monitoring-plugins syntax: text | label=value[UOM];warn;crit;min;max ...
    status_text, perf = line.split(" | ")
    assert "UNHEALTHY" in status_text
    for item in perf.split(" "):
        assert re.fullmatch(r"'[a-z_]+'=[\d.]+(%|s)?(;[\d.:]*){0,4}", item), item
    assert res["healthy"].code == 0
    assert (
        "HEALTHY" in res["healthy"].stdout and "'rth_coverage'=100.0%;95:;0:;0;100" in res["healthy"].stdout
    )
    assert res["console"].code == 1 and "UPTIME_GAP" in res["console"].stdout


def test_piped_text_report_is_plain_utf8(stores):
    res = run_many(
        {
            "plain": (("--store", str(stores["dec11"]), "--date", "2025-12-11", "--now", AFTER), {}),
            # even when the locale says ASCII, the report comes out as UTF-8
            "ascii-locale": (
                ("--store", str(stores["dec11"]), "--date", "2025-12-11", "--now", AFTER),
                {"environ": env(PYTHONIOENCODING="ascii", LC_ALL="C", LANG="C")},
            ),
        }
    )
    for r in res.values():
        assert r.code == 2 and r.stderr == ""
        assert b"\x1b" not in r.out  # no colour, no control sequences into a file
        text = r.stdout  # strict UTF-8 decoding
        for section in (
            "OVERALL STATUS",
            "SYSTEM UPTIME",
            "DATA FRESHNESS",
            "IDENTIFIED ISSUES",
            "RECOMMENDATIONS",
        ):
            assert section in text
        assert "OVERALL STATUS: UNHEALTHY" in text
        assert re.search(r"Last activity\s+2025-12-11 02:35:48 EST", text)
        assert "–" in text  # a non-ASCII character made it through intact
        assert "\ufffd" not in text and "?" not in text.split("OVERALL STATUS")[0]
        assert all(line == line.rstrip() for line in text.splitlines())  # no padding into files
    assert res["plain"].out == res["ascii-locale"].out


def test_today_via_now(stores):
    """No --date: today in the calendar's zone; --now 11:00 on a loop silent since 10:15."""
    r = run("--store", str(stores["today"]), "--now", "2025-12-10T11:00:00-05:00", "--json")
    assert r.code == 2, r.stderr
    j = r.json()
    assert j["date"] == "2025-12-10" and j["session"]["is_today"] is True
    no_act = next(i for i in j["issues"] if i["code"] == "NO_ACTIVITY")
    assert "45m 00s before now" in no_act["message"]
    assert j["uptime"]["rth_coverage_pct"] == 50.0
    assert j["session"]["elapsed_rth_minutes"] == 90.0


def test_the_recorded_calendar_and_relative_dates(stores):
    """No --calendar: the one the loop recorded (XHKG); 'yesterday'/'today' in its zone."""
    base = ("--store", str(stores["hkg"]), "--now", "2025-12-11T10:00:00+08:00", "--json")
    res = run_many(
        {
            "yesterday": ((*base, "--date", "yesterday"), {}),
            "today": ((*base, "--date", "today"), {}),
            "override": ((*base, "--date", "2025-12-10", "--calendar", "XNYS"), {}),
        }
    )
    y = res["yesterday"].json()
    assert res["yesterday"].code == 0
    assert (y["date"], y["calendar"], y["timezone"]) == ("2025-12-10", "XHKG", "Asia/Hong_Kong")
    assert y["session"]["open"] == "2025-12-10T09:30:00+08:00"
    assert y["session"]["break_start"] == "2025-12-10T12:00:00+08:00"
    t = res["today"].json()
    assert t["date"] == "2025-12-11" and t["session"]["is_today"] is True and res["today"].code == 2
    assert {"ZERO_RTH_COVERAGE", "NO_ACTIVITY"} <= {i["code"] for i in t["issues"]}
    o = res["override"].json()
    assert o["calendar"] == "XNYS" and o["session"]["open"] == "2025-12-10T09:30:00-05:00"


def test_threshold_flags_override_the_recorded_ones(stores):
    base = ("--store", str(stores["degraded"]), "--date", "2025-12-10", "--now", AFTER, "--json")
    res = run_many(
        {
            "as-recorded": (base, {}),
            "lenient": ((*base, "--min-coverage", "80", "--max-gap-minutes", "90"), {}),
            "strict-nagios": (
                (
                    "--store",
                    str(stores["healthy"]),
                    "--date",
                    "2025-12-10",
                    "--now",
                    AFTER,
                    "--nagios",
                    "--min-coverage",
                    "99.5",
                ),
                {},
            ),
        }
    )
    assert res["as-recorded"].code == 1
    assert {i["code"] for i in res["as-recorded"].json()["issues"]} == {"UPTIME_GAP", "LOW_RTH_COVERAGE"}
    assert res["lenient"].code == 0 and res["lenient"].json()["issues"] == []
    assert "'rth_coverage'=100.0%;99.5:;0:;0;100" in res["strict-nagios"].stdout


def test_a_date_after_the_last_record_is_judged_not_unknown(stores):
    """The loop simply did not run on Dec 11: that is the worst case, not an unknown."""
    r = run("--store", str(stores["healthy"]), "--date", "2025-12-11", "--now", AFTER, "--json")
    assert r.code == 2
    codes = {i["code"] for i in r.json()["issues"]}
    assert {"ZERO_RTH_COVERAGE", "NO_ACTIVITY"} <= codes


# -- the store's location -------------------------------------------------------------------------------
def test_health_store_env_is_honoured(stores, tmp_path):
    xdg = tmp_path / "xdg"
    (xdg / "production-health").mkdir(parents=True)
    shutil.copy(stores["healthy"], xdg / "production-health" / "health.db")
    args = ("--date", "2025-12-10", "--now", AFTER, "--json")
    res = run_many(
        {
            "env": (
                ("--date", "2025-12-11", "--now", AFTER, "--json"),
                {"environ": env(HEALTH_STORE=str(stores["dec11"]))},
            ),
            "flag-wins": (
                (*args, "--store", str(stores["healthy"])),
                {"environ": env(HEALTH_STORE=str(tmp_path / "nope.db"))},
            ),
            "xdg-default": (args, {"environ": env(HEALTH_STORE=None, XDG_STATE_HOME=str(xdg))}),
            "console-env": (
                ("--report", *args),
                {"prog": "health-console", "environ": env(HEALTH_STORE=str(stores["degraded"]))},
            ),
        }
    )
    assert res["env"].json()["store"] == str(stores["dec11"])
    assert res["env"].code == 2 and res["env"].json()["signals"]["after_hours"] == 105
    assert res["flag-wins"].code == 0 and res["flag-wins"].json()["store"] == str(stores["healthy"])
    assert res["xdg-default"].code == 0
    assert res["xdg-default"].json()["store"] == str(xdg / "production-health" / "health.db")
    assert res["console-env"].code == 1
    assert not (tmp_path / "nope.db").exists()


# -- bad inputs: exit 3, one line on stderr, no traceback ------------------------------------------------
@pytest.fixture(scope="module")
def bad(stores, tmp_path_factory) -> dict[str, Result]:
    root = tmp_path_factory.mktemp("bad")
    garbage = root / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database\n" * 100)
    empty = root / "empty.db"
    empty.write_bytes(b"")
    healthy = str(stores["healthy"])
    missing = root / "absent" / "health.db"
    cases: dict[str, tuple] = {
        "bad-date-format": ("--store", healthy, "--date", "12/10/2025"),
        "unknown-flag": ("--json", "--store", healthy, "--frobnicate"),
        "missing-flag-value": ("--store", healthy, "--date"),
        "bad-now": ("--store", healthy, "--now", "noon"),
        "bad-threshold": ("--store", healthy, "--min-coverage", "-5"),
        "missing-store": ("--store", str(missing), "--date", "2025-12-10"),
        "directory-store": ("--store", str(root), "--date", "2025-12-10"),
        "garbage-store": ("--store", str(garbage), "--date", "2025-12-10"),
        "empty-store": ("--store", str(empty), "--date", "2025-12-10"),
        "before-first-record": ("--store", healthy, "--date", "2025-12-01"),
        "outside-calendar-range": ("--store", healthy, "--date", "1990-01-01"),
        "far-future": ("--store", healthy, "--date", "2199-01-01"),
        "in-the-future": ("--store", healthy, "--date", "2025-12-22"),
        "unknown-calendar": ("--store", healthy, "--date", "2025-12-10", "--calendar", "NOPE"),
        "unknown-source": ("--store", healthy, "--date", "2025-12-10", "--source", "nobody"),
        "json-bad-date": ("--store", healthy, "--date", "2025-13-45", "--json"),
        "json-missing-store": ("--store", str(missing), "--date", "2025-12-10", "--json"),
    }
    runs = {
        k: ((*a, "--now", AFTER) if "--now" not in a and k != "missing-flag-value" else a, {})
        for k, a in cases.items()
    }
    runs["console-bad-date"] = (
        ("--report", "--store", healthy, "--date", "yesterdayish"),
        {"prog": "health-console"},
    )
    runs["console-unknown-flag"] = (("--report", "--bogus"), {"prog": "health-console"})
    runs["console-json-without-report"] = (("--json", "--store", healthy), {"prog": "health-console"})
    runs["console-report-two-stores"] = (
        ("--report", "--store", healthy, "--store", str(garbage)),
        {"prog": "health-console"},
    )
    runs["console-ack-two-stores"] = (
        ("--ack", "NO_ACTIVITY", "--for", "1h", "--reason", "x", "--store", healthy, "--store", str(garbage)),
        {"prog": "health-console"},
    )
    runs["console-at-two-stores"] = (
        ("--at", "2025-12-10 10:30", "--store", healthy, "--store", str(garbage)),
        {"prog": "health-console"},
    )
    runs["console-same-store-twice"] = (("--store", healthy, "--store", healthy), {"prog": "health-console"})
    # A desk with a garbage store gets as far as the console (which needs a terminal here).
    runs["console-desk-without-terminal"] = (
        ("--store", healthy, "--store", str(garbage), "--store", str(missing)),
        {"prog": "health-console"},
    )
    runs["diagnose-bad-date"] = (("--store", healthy, "--date", "2025-1-1x"), {"prog": "diagnose-production"})
    runs["diagnose-missing-store"] = (("--store", str(missing), "--json"), {"prog": "diagnose-production"})
    out = run_many(runs)
    out["_paths"] = (missing, garbage, empty)  # type: ignore[assignment]
    return out


BAD_CASES = [
    ("bad-date-format", "12/10/2025"),
    ("unknown-flag", "--frobnicate"),
    ("missing-flag-value", "--date"),
    ("bad-now", "noon"),
    ("bad-threshold", "-5"),
    ("missing-store", "does not exist"),
    ("directory-store", "directory"),
    ("garbage-store", "garbage.db"),
    ("empty-store", "empty.db"),
    ("before-first-record", "before the store's first record"),
    ("outside-calendar-range", "1990-01-01"),
    ("far-future", "2199-01-01"),
    ("in-the-future", "future"),
    ("unknown-calendar", "NOPE"),
    ("unknown-source", "nobody"),
    ("json-bad-date", "2025-13-45"),
    ("json-missing-store", "does not exist"),
    ("console-bad-date", "yesterdayish"),
    ("console-unknown-flag", "--bogus"),
    ("console-json-without-report", "--report"),
    ("console-report-two-stores", "--report takes one store"),
    ("console-ack-two-stores", "--ack takes one store"),
    ("console-at-two-stores", "--at takes one store"),
    ("console-same-store-twice", "the same store as --store"),
    ("console-desk-without-terminal", "needs a terminal"),
    ("diagnose-bad-date", "2025-1-1x"),
    ("diagnose-missing-store", "does not exist"),
]


@pytest.mark.parametrize(("case", "says"), BAD_CASES, ids=[c for c, _ in BAD_CASES])
def test_bad_input_is_unknown_with_one_line(bad, case, says):
    r = bad[case]
    assert_unknown(r)
    assert says in r.stderr, r.stderr
    assert r.stderr.split(":")[0] in ENTRY  # "prog: reason"
    if "--json" in r.args:
        j = r.json()  # still exactly one JSON object on stdout
        assert j["status"] == "UNKNOWN" and j["exit_code"] == 3 and j["error"]
    else:
        assert r.stdout == ""


def test_bad_inputs_create_and_change_nothing(bad):
    missing, garbage, empty = bad["_paths"]
    assert not missing.exists() and not missing.parent.exists()
    assert garbage.read_bytes() == b"this is not an SQLite database\n" * 100
    assert empty.read_bytes() == b""
    assert sorted(p.name for p in garbage.parent.iterdir()) == ["empty.db", "garbage.db"]


# -- the headless path never imports Textual ---------------------------------------------------------
HEADLESS = textwrap.dedent(
    """
    import importlib.util, io, sys, contextlib
    assert importlib.util.find_spec("textual") is not None  # installed, so its absence means something
    from console.cli import check_main, health_console_main
    for main, extra in ((check_main, []), (health_console_main, ["--report"])):
        for fmt in ([], ["--json"], ["--nagios"]):
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    main([*extra, "--store", sys.argv[1], "--date", "2025-12-11", "--now", sys.argv[2], *fmt])
            except SystemExit as exc:
                assert exc.code == 2, (exc.code, out.getvalue())
            assert "OVERALL STATUS" in out.getvalue() or "UNHEALTHY" in out.getvalue()
    loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
    print("TEXTUAL:", loaded)
    print("RICH:", "rich" in sys.modules)
    """
)


def test_headless_report_never_imports_textual(stores):
    proc = subprocess.run(
        [sys.executable, "-c", HEADLESS, str(stores["dec11"]), AFTER],
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "TEXTUAL: []" in proc.stdout
    assert "RICH: True" in proc.stdout  # the text report did render


# -- loop-supplied text is shown literally ---------------------------------------------------------------
def test_markup_and_escapes_from_the_loop_are_neutralised(stores):
    store = str(stores["markup"])
    base = ("--store", store, "--date", "2025-12-10", "--now", AFTER)
    res = run_many(
        {
            "text": (base, {}),
            "json": ((*base, "--json"), {}),
            "one-source": ((*base, "--source", MARKUP_SOURCE), {}),
            "nagios": ((*base, "--nagios"), {}),
        }
    )
    text = res["text"]
    assert text.code == 2, text.stderr
    assert b"\x1b" not in text.out
    out = text.stdout
    assert "[bold red]X␛[31mevil" in out  # markup literal, ESC made visible
    assert "[bold red]X␛[31mevil: NO ACTIVITY" in out  # in the issues too
    assert b"\x1b" not in res["one-source"].out
    assert res["one-source"].code == 2  # --source finds the loop by its exact (hostile) name
    assert "NO_ACTIVITY" in res["one-source"].stdout
    assert b"\x1b" not in res["nagios"].out
    # JSON keeps the exact name (escaped by JSON itself), and stays one object
    j = res["json"].json()
    assert {s["source"] for s in j["sources"]} == {"fine", MARKUP_SOURCE}
    assert b"\x1b" not in res["json"].out


def test_reports_create_nothing_beside_a_store_no_loop_has_open(stores, tmp_path):
    """docs/CONTRACT.md §5: the report never creates anything. A store no loop has open has no -wal
    file; reading it must not leave -wal/-shm files behind (nor change the db)."""
    store = tmp_path / "closed.db"
    shutil.copy(stores["healthy"], store)
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    before = (store.read_bytes(), store.stat().st_mtime_ns)
    r = run("--store", str(store), "--date", "2025-12-10", "--json")
    assert r.code == 0, r.err
    d = run("--store", str(store), "--date", "2025-12-10", "--json", prog="diagnose-production")
    assert d.code in (0, 1, 2), d.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["closed.db"]
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before


def test_clock_start_runs_at_the_given_speed(monkeypatch) -> None:
    """--clock-start with --speed: the clock the soak runs give a console and a watchdog, so
    that they read simulated hours at the pace the loops record them."""
    import console.arg_values as values
    import console.args as args_module

    real = [1_000_000.0]
    monkeypatch.setattr(values.time, "time", lambda: real[0])
    args = args_module.console_parser().parse_args(
        ["--clock-start", "2025-12-10T10:00:00-05:00", "--speed", "60"]
    )
    clock = values.clock_of(args)
    start = datetime(2025, 12, 10, 15, 0, tzinfo=UTC).timestamp()
    assert clock() == start
    real[0] += 2.5
    assert clock() == start + 150
    assert values.instant_of(clock) == start  # a one-shot report: exactly the instant asked
    plain = values.clock_of(
        args_module.console_parser().parse_args(["--clock-start", "2025-12-10T10:00:00-05:00"])
    )
    real[0] += 10
    assert plain() == start + 10
