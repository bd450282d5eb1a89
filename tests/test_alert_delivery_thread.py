"""The loop's thread never starts a thread. ``Thread.start()`` waits until the new thread has
run, and a busy loop holds the GIL: in the fault runs (tests/test_faults.py) the first alert
of a run — an after-hours signal, a stale refusal — made that one call take 2.6-4.3 ms, the
slowest call of the whole run, and again after every 30 s without an alert (the delivery
thread used to end when idle). The delivery thread is started with the monitor and lives
until close() (docs/CONTRACT.md §2: alert_callback is never called from inside a loop call).
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta

from conftest import ny


def _thread_idents() -> set[int | None]:
    return {t.ident for t in threading.enumerate()}


def test_no_loop_call_starts_a_thread_for_an_alert(make_monitor, clock, alerts) -> None:
    monitor = make_monitor(clock=clock, alert_callback=alerts, check_interval_seconds=1)
    before = _thread_idents()
    # A stale refusal (STALE_DATA), then an after-hours signal (AFTER_HOURS_SIGNALS).
    monitor.should_generate_signals(clock.now - timedelta(hours=3))
    clock.set(ny(2025, 12, 10, 17, 0))
    monitor.record_signal("LATE", clock.now)
    assert _thread_idents() <= before, "a loop call started a thread"
    assert alerts.wait_for("STALE_DATA", resolved=False)
    assert alerts.wait_for("AFTER_HOURS_SIGNALS", resolved=False)


def test_the_delivery_thread_outlives_a_quiet_spell_and_ends_with_close(make_monitor, clock, alerts) -> None:
    monitor = make_monitor(clock=clock, alert_callback=alerts, check_interval_seconds=1)
    monitor.should_generate_signals(clock.now - timedelta(hours=3))
    assert alerts.wait_for("STALE_DATA", resolved=False)
    (delivery,) = [t for t in threading.enumerate() if t.name == "health-alerts-default"]
    monitor.flush()
    before = _thread_idents()
    monitor.should_generate_signals(clock.now - timedelta(seconds=5))  # resolves STALE_DATA
    assert _thread_idents() <= before
    assert alerts.wait_for("STALE_DATA", resolved=True)
    monitor.close()
    delivery.join(5)
    assert not delivery.is_alive(), "the delivery thread outlived close()"


def test_a_callback_that_exits_its_thread_does_not_stop_later_alerts(make_monitor, clock) -> None:
    """SystemExit from alert_callback (a sys.exit() in the user's sender) would end the one
    delivery thread: every later alert would then wait forever in its queue."""
    received = []

    def exits_once(alert) -> None:
        received.append(alert.code)
        if len(received) == 1:
            raise SystemExit(1)

    monitor = make_monitor(clock=clock, alert_callback=exits_once, check_interval_seconds=1)
    monitor.should_generate_signals(clock.now - timedelta(hours=3))
    monitor.flush()
    clock.set(ny(2025, 12, 10, 17, 0))
    monitor.record_signal("LATE", clock.now)
    monitor.flush()
    assert received == ["STALE_DATA", "AFTER_HOURS_SIGNALS"]


def test_a_forked_child_delivers_its_own_alerts(make_monitor, clock, tmp_path) -> None:
    """After os.fork() the child has no delivery thread of the parent's: it starts its own."""
    marker = tmp_path / "child-alert"

    def write_marker(alert) -> None:
        marker.write_text(f"{os.getpid()} {alert.code}")

    monitor = make_monitor(clock=clock, alert_callback=write_marker, check_interval_seconds=1)
    pid = os.fork()
    if pid == 0:  # the child: an alert, delivered by the child's own thread, then out
        try:
            monitor.should_generate_signals(clock.now - timedelta(hours=3))
            monitor.flush(5.0)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert marker.read_text() == f"{pid} STALE_DATA"
