"""Every calendar exchange_calendars ships works: it builds through MonitorConfig and through
`check-production-health --calendar`, and the gate and the report each answer one question on
it, checked against exchange_calendars itself. A calendar the library cannot build is a
one-line ValueError / exit 3 naming the calendar and the library versions."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import exchange_calendars as xcals
import pandas as pd
import pytest
from calendar_answers import differences, sampled
from conftest import PYTHON, child_env

from console.cli import check_main
from health import MonitorConfig, ProductionMonitor
from health.calendar import CalendarBuildError, get_calendar
from health.calendar_record import recorded_calendar
from health.simulation import SimClock
from store.reader import StoreReader

CODES = xcals.get_calendar_names(include_aliases=False)
STORE_START = datetime(2019, 1, 2, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose first record is in 2019, so that any later date can be reported."""
    path = tmp_path_factory.mktemp("every-calendar") / "health.db"
    with ProductionMonitor(MonitorConfig(store_path=str(path), clock=SimClock(STORE_START))) as monitor:
        monitor.record_activity()
    return path


def _a_session(code: str):
    """The reference's first session on or after 2025-06-02, and an instant inside its RTH."""
    cal = xcals.get_calendar(code)
    session = cal.date_to_session("2025-06-02", direction="next")
    opens, closes = cal.session_open(session), cal.session_close(session)
    break_start = cal.session_break_start(session)
    end = closes if pd.isna(break_start) else break_start
    inside = opens + (end - opens) / 2
    return cal, session, inside.timestamp()


def test_the_library_lists_the_calendars_we_promise() -> None:
    assert len(CODES) >= 71
    assert {"XNYS", "CMES", "24/7", "ASEX", "XBEL", "XBSE", "XCYS", "XTAE", "XKRX"} <= set(CODES)


@pytest.mark.filterwarnings("error")  # a library mismatch must show here, not be filtered away
@pytest.mark.parametrize("code", CODES)
def test_every_calendar_builds_and_answers(code: str, shared_store: Path, tmp_path: Path, capsys) -> None:
    cal, session, inside = _a_session(code)

    # The gate, through the loop's API: fresh data in the middle of a session is accepted.
    clock = SimClock(inside)
    config = MonitorConfig(calendar=code, store_path=str(tmp_path / "loop.db"), clock=clock, source=code)
    with ProductionMonitor(config) as monitor:
        allowed, reason = monitor.should_generate_signals(inside - 1.0)
    assert allowed, f"{code} {session.date()}: {reason}"

    # The loop recorded its calendar: read back from the store, it answers as the one it built
    # on sampled days and instants of the whole range (health/calendar_record.py).
    with StoreReader(tmp_path / "loop.db") as reader:
        recorded = recorded_calendar(reader, code, session.date())
    assert recorded is not None and recorded.recorded
    days, instants = sampled(get_calendar(code), random.Random(code), n_days=150, n_sessions=25)
    assert differences(recorded, get_calendar(code), days, instants) == []

    # The report, through the CLI: the session block is the reference's.
    day = session.date().isoformat()
    now = (session + pd.Timedelta(days=3)).tz_localize(cal.tz).isoformat()
    with pytest.raises(SystemExit) as done:
        check_main(["--store", str(shared_store), "--calendar", code, "--date", day, "--json", "--now", now])
    out = capsys.readouterr()
    assert done.value.code in (0, 1, 2), out.err
    report = json.loads(out.out)
    block = report["session"]
    assert (report["calendar"], report["date"], block["is_trading_day"]) == (code, day, True)
    assert datetime.fromisoformat(block["open"]) == cal.session_open(session).to_pydatetime()
    assert datetime.fromisoformat(block["close"]) == cal.session_close(session).to_pydatetime()
    assert block["early_close"] is bool(session in cal.early_closes)


@pytest.mark.slow
def test_the_installed_script_reports_on_a_calendar_pandas_3_broke(shared_store: Path) -> None:
    """The console script itself, in a process of its own, on Athens (unbuildable on pandas 3)."""
    script = Path(sys.executable).parent / "check-production-health"
    cmd = (
        [str(script)]
        if script.exists()
        else [PYTHON, "-c", "from console.cli import check_main; check_main()"]
    )
    done = subprocess.run(
        [*cmd, "--store", str(shared_store), "--calendar", "ASEX", "--date", "2025-06-03", "--json"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1, 2), done.stderr
    assert json.loads(done.stdout)["session"]["open"] == "2025-06-03T10:00:00+03:00"
    assert done.stderr == ""


class _BrokenCalendar(xcals.get_calendar("XNYS").__class__):
    """A calendar that fails to build inside the library, as five did on pandas 3."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError("implemented by subclasses\n(deep inside pandas)")


@pytest.fixture
def broken_calendar() -> str:
    xcals.register_calendar_type("XBRK", _BrokenCalendar, force=True)
    get_calendar.cache_clear()
    yield "XBRK"
    xcals.deregister_calendar("XBRK")
    get_calendar.cache_clear()


def _versions() -> tuple[str, str]:
    return metadata.version("exchange-calendars"), metadata.version("pandas")


def test_a_calendar_the_library_cannot_build_is_one_clear_value_error(broken_calendar, tmp_path) -> None:
    with pytest.raises(ValueError) as raised:
        ProductionMonitor(MonitorConfig(calendar=broken_calendar, store_path=str(tmp_path / "h.db")))
    assert isinstance(raised.value, CalendarBuildError)
    message = str(raised.value)
    xc, pdv = _versions()
    assert "\n" not in message
    assert all(
        word in message
        for word in ("XBRK", f"exchange_calendars {xc}", f"pandas {pdv}", "NotImplementedError")
    )


def test_the_cli_says_so_in_one_line_and_exits_3(broken_calendar, shared_store, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        check_main(["--store", str(shared_store), "--calendar", broken_calendar, "--date", "2025-06-03"])
    out = capsys.readouterr()
    assert done.value.code == 3
    assert out.out == ""
    (line,) = out.err.splitlines()
    assert "XBRK" in line and f"pandas {_versions()[1]}" in line and "Traceback" not in out.err
