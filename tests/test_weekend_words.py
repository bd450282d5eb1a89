"""A day without a session is called what the exchange calls it: its holiday's name, or its
weekend by the exchange's own weekmask (exchange_calendars'), not by Saturday and Sunday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import exchange_calendars as xcals
import pytest

from console.cli import check_main
from health import MonitorConfig, ProductionMonitor
from health.simulation import SimClock

START = datetime(2025, 6, 2, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weekend") / "health.db"
    with ProductionMonitor(MonitorConfig(store_path=str(path), clock=SimClock(START))) as monitor:
        monitor.record_activity()
    return path


def _session_line(store: Path, code: str, day: date, capsys) -> str:
    with pytest.raises(SystemExit):
        check_main(
            [
                "--store",
                str(store),
                "--calendar",
                code,
                "--date",
                day.isoformat(),
                "--now",
                "2025-07-01T00:00:00+00:00",
            ]
        )
    out = capsys.readouterr().out
    return next(line for line in out.splitlines() if "Session" in line)


@pytest.mark.parametrize("code", ["XSAU", "XNYS"])
def test_every_day_of_a_week_is_named_by_the_exchange_weekmask(code: str, store: Path, capsys) -> None:
    ref = xcals.get_calendar(code)  # the reference: its sessions and its weekmask, Monday first
    monday = date(2025, 6, 23)
    for k in range(7):
        day = monday + timedelta(days=k)
        line = _session_line(store, code, day, capsys)
        if ref.is_session(day.isoformat()):
            assert "trading day" in line and "not a trading day" not in line, (code, day, line)
        elif ref.weekmask[k] == "0":
            assert "not a trading day (weekend)" in line, (code, day, line)
        else:
            assert "not a trading day (" in line and "weekend" not in line, (code, day, line)
    assert ref.weekmask.count("0") == 2  # the week tested holds the exchange's weekend


def test_a_holiday_is_named_not_called_a_weekend(store: Path, capsys) -> None:
    line = _session_line(store, "XNYS", date(2025, 6, 19), capsys)  # Juneteenth, a Thursday
    assert "not a trading day (Juneteenth" in line, line
