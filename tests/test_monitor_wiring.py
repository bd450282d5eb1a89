"""A store that fails before the monitor's constructor has returned still raises STORE_ERROR:
the writer thread must not call back into a monitor that is not wired up yet (its alert
delivery, its queue). Under load the writer's first attempt came before the constructor
finished, the alert was lost for the whole outage, and the fault suite failed on CI."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import AlertLog

import health.monitor as monitor_module
from health import MonitorConfig, ProductionMonitor
from health.codes import IssueCode
from health.simulation import SimClock


def test_a_store_failing_while_the_monitor_is_built_is_still_an_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = blocker / "health.db"  # cannot be opened, ever: "unable to open database file"
    real = monitor_module.record_calendar

    def slow_construction(recorder, calendar):
        # The rest of the constructor waits (up to 0.3 s) for the writer's first failure:
        # the order a busy machine produced by chance. A writer that fails this early must
        # still reach the caller as STORE_ERROR; one that waits for the constructor does too.
        for _ in range(30):
            if recorder.failed:
                break
            threading.Event().wait(0.01)
        return real(recorder, calendar)

    monkeypatch.setattr(monitor_module, "record_calendar", slow_construction)
    alerts = AlertLog()
    config = MonitorConfig(
        store_path=str(store),
        clock=SimClock(1_765_465_200.0),
        flush_interval_seconds=0.01,
        alert_callback=alerts,
        source="wiring",
    )
    with ProductionMonitor(config) as monitor:
        monitor.record_activity()
        assert alerts.wait_for(IssueCode.STORE_ERROR, resolved=False), monitor.recorder.failure
        assert "cannot write health store" in alerts.of(IssueCode.STORE_ERROR)[0].message
