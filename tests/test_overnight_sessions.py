"""Sessions that open the evening before the day they are labelled with (CMES: Sunday to
Friday 17:00 Chicago): a signal at 18:00 on Monday is inside Tuesday's session, so the report
of Monday must not count it as after hours, as the gate did not refuse it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from health.codes import IssueCode
from health.loader import build_report
from health.simulation import SimClock, monitor, run_loop

CHICAGO = ZoneInfo("America/Chicago")


def test_a_cme_loop_running_around_the_clock_is_healthy(store_path) -> None:
    clock = SimClock(datetime(2025, 6, 2, 8, 0, tzinfo=CHICAGO).timestamp())
    mon = monitor(store_path, clock, calendar="CMES", check_interval_seconds=60)
    run_loop(mon, clock, datetime(2025, 6, 4, 8, 0, tzinfo=CHICAGO).timestamp(), step=60, signal_every=10)
    mon.close()
    report = build_report(store_path, date(2025, 6, 3), "CMES", now=clock.now + 86400).to_json()
    assert report["session"]["open"] == "2025-06-02T17:00:00-05:00"
    signals = report["signals"]
    assert (signals["total"], signals["rth"], signals["after_hours"], signals["blocked"]) == (144, 144, 0, 0)
    assert IssueCode.AFTER_HOURS_SIGNALS not in {i["code"] for i in report["issues"]}
    assert report["status"] == "HEALTHY"


def test_signals_in_the_daily_cme_pause_are_still_after_hours(store_path) -> None:
    """16:00-17:00 Chicago is closed on CMES only on its weekly/holiday boundaries; Friday
    17:00 to Sunday 17:00 is closed: a signal then is after hours."""
    clock = SimClock(datetime(2025, 6, 7, 12, 0, tzinfo=CHICAGO).timestamp())  # Saturday noon
    mon = monitor(store_path, clock, calendar="CMES")
    mon.record_activity()
    mon.record_signal("ES", clock.now - 5)
    mon.close()
    report = build_report(store_path, date(2025, 6, 7), "CMES", now=clock.now + 86400).to_json()
    assert (report["signals"]["rth"], report["signals"]["after_hours"]) == (0, 1)
