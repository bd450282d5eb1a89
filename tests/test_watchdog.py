"""The alert engine and the watchdog: transitions with an injected clock, calendar muting,
and the end-to-end story — a real watchdog process, a loop that stops during a simulated
session, and a Discord-shaped server on 127.0.0.1 that must receive exactly one firing and
one resolved message."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime

import pytest

from health import ProductionMonitor
from health.alert_engine import AlertEngine
from health.alerts import Condition
from health.codes import IssueCode
from health.simulation import SimClock, at, monitor, run_loop
from store.reader import StoreReader

try:
    from tests.discord_server import TOKEN, FakeDiscord
except ImportError:  # tests/ not a package
    from discord_server import TOKEN, FakeDiscord

from health.watchdog import Watchdog

D11 = date(2025, 12, 11)


def cond(active: bool, code: str = IssueCode.STALE_DATA, source: str = "loop") -> Condition:
    return Condition(source, code, active, "the gate refuses stale data: data is 2h 00m old")


class TestEngine:
    def test_fires_once_repeats_and_resolves(self):
        eng = AlertEngine(repeat_interval=3600, flap_seconds=120)
        t0 = 1_000_000.0
        assert eng.step([cond(True)], t0, True) == []  # waiting out the flap window
        fired = eng.step([cond(True)], t0 + 120, True)
        assert [t.kind for t in fired] == ["firing"]
        assert fired[0].alert.code == IssueCode.STALE_DATA and not fired[0].alert.resolved
        for minute in range(1, 59):
            assert eng.step([cond(True)], t0 + 120 + minute * 60, True) == []
        assert [t.kind for t in eng.step([cond(True)], t0 + 120 + 3600, True)] == ["repeat"]
        resolved = eng.step([cond(False)], t0 + 4000, True)
        assert [t.kind for t in resolved] == ["resolved"] and resolved[0].alert.resolved
        assert eng.step([cond(False)], t0 + 4100, True) == []

    def test_flapping_condition_is_never_sent(self):
        eng = AlertEngine(repeat_interval=3600, flap_seconds=120)
        t = 2_000_000.0
        for i in range(20):  # on for 60 s, off for 60 s, repeatedly
            assert eng.step([cond(i % 2 == 0)], t + i * 60, True) == []

    def test_immediate_codes_skip_the_flap_wait(self):
        eng = AlertEngine(flap_seconds=120)
        out = eng.step([cond(True, IssueCode.NO_ACTIVITY)], 5.0, True)
        assert [t.kind for t in out] == ["firing"]

    def test_rth_only_conditions_are_muted_outside_the_session(self):
        eng = AlertEngine(flap_seconds=0.001)
        # muted: recorded (a transition), paged to no one
        out = eng.step([cond(True, IssueCode.NO_ACTIVITY)], 10.0, False)
        assert [(t.kind, t.paged, t.muted) for t in out] == [("firing", False, "market closed")]
        assert eng.step([cond(True, IssueCode.NO_ACTIVITY)], 15.0, False) == []  # recorded once
        assert eng.step([cond(True, IssueCode.STALE_DATA)], 20.0, False) == []  # its flap wait
        assert [t.paged for t in eng.step([cond(True, IssueCode.STALE_DATA)], 21.0, False)] == [False]
        # AFTER_HOURS_SIGNALS is not an RTH-only condition
        assert eng.step([cond(True, IssueCode.AFTER_HOURS_SIGNALS)], 30.0, False) == []  # flap wait
        out = eng.step([cond(True, IssueCode.AFTER_HOURS_SIGNALS)], 31.0, False)
        assert [(t.alert.code, t.paged) for t in out] == [(IssueCode.AFTER_HOURS_SIGNALS, True)]

    def test_resolution_still_goes_out_when_muted(self):
        eng = AlertEngine()
        assert eng.step([cond(True, IssueCode.NO_ACTIVITY)], 10.0, True)
        out = eng.step([cond(False, IssueCode.NO_ACTIVITY)], 20.0, False)
        assert [t.kind for t in out] == ["resolved"]

    def test_restored_state_is_not_sent_again(self):
        eng = AlertEngine(repeat_interval=3600)
        eng.restore(("loop", IssueCode.NO_ACTIVITY), 100.0, "no heartbeat")
        assert eng.step([cond(True, IssueCode.NO_ACTIVITY)], 200.0, True) == []
        assert [t.kind for t in eng.step([cond(False, IssueCode.NO_ACTIVITY)], 300.0, True)] == ["resolved"]


def _store_with_dead_loop(tmp_path, died: float, start: float) -> str:
    store = tmp_path / "h.db"
    clock = SimClock(start)
    mon = monitor(store, clock, check_interval_seconds=60, max_uptime_gap_minutes=10, source="loop")
    run_loop(mon, clock, died, step=60)
    mon.abandon()
    return str(store)


class TestWatchdogWithInjectedClock:
    """The watchdog's own evaluation, in process, on a store made by the real recorder."""

    def _dog(self, store, clock):
        return Watchdog(store, "XNYS", interval=60, clock=clock, environ={})

    def test_dead_loop_during_rth_fires_once_then_repeats_hourly(self, tmp_path):
        store = _store_with_dead_loop(tmp_path, at(D11, 10, 0), at(D11, 9, 25))
        clock = SimClock(at(D11, 10, 5))
        dog = self._dog(store, clock)
        # 5 min of silence is under the 10 min limit; the pid (this test process) is alive,
        # so this is a hung loop, not an unclean exit
        assert dog.tick() == []
        clock.now = at(D11, 10, 12)
        fired = dog.tick()
        assert [(t.kind, t.alert.code) for t in fired] == [("firing", IssueCode.NO_ACTIVITY)]
        assert "pid" in fired[0].alert.message and "hung" in fired[0].alert.message
        clock.now = at(D11, 10, 13)
        assert dog.tick() == []
        clock.now = at(D11, 11, 13)
        assert [(t.kind, t.alert.code) for t in dog.tick()] == [("repeat", IssueCode.NO_ACTIVITY)]
        with StoreReader(store) as reader:  # transitions are recorded for the console and reports
            logged = [(a.code, a.origin) for a in reader.alerts(at(D11, 0), at(D11, 23))]
        assert logged.count((IssueCode.NO_ACTIVITY, "watchdog")) == 2
        # and the day's report lists them
        from health.loader import build_report

        alerts = build_report(store, D11, "XNYS", now=at(D11, 11, 30)).to_json()["alerts"]
        assert [(a["code"], a["origin"], a["resolved"]) for a in alerts] == [
            (IssueCode.NO_ACTIVITY, "watchdog", False),
            (IssueCode.NO_ACTIVITY, "watchdog", False),
        ]
        assert alerts[0]["at"] == "2025-12-11T10:12:00-05:00"

    def test_muted_on_thanksgiving_and_after_an_early_close(self, tmp_path):
        wed = date(2025, 11, 26)
        store = _store_with_dead_loop(tmp_path, at(wed, 15, 0), at(wed, 9, 25))
        clock = SimClock(at(wed, 15, 5))
        dog = self._dog(store, clock)
        assert dog.tick() == []
        clock.now = at(wed, 15, 30)
        assert [t.alert.code for t in dog.tick()] == [IssueCode.NO_ACTIVITY]  # dead in RTH
        # a fresh watchdog (no restored state: resolve it first by forgetting) on Thanksgiving
        dog2 = Watchdog(store, "XNYS", interval=60, clock=clock, environ={})
        dog2.engine = AlertEngine(tz=None)
        dog2.calendar = dog.calendar
        clock.now = at(date(2025, 11, 27), 11, 0)
        held = dog2.tick()  # holiday: muted by the calendar, recorded, paged to no one
        assert [(t.alert.code, t.paged) for t in held] == [(IssueCode.NO_ACTIVITY, False)]
        clock.now = at(date(2025, 11, 28), 10, 0)  # the day after: open until an early 13:00
        assert sorted((t.kind, t.alert.code) for t in dog2.tick()) == [
            ("firing", IssueCode.NO_ACTIVITY),
            ("firing", IssueCode.ZERO_RTH_COVERAGE),  # 30 min into the session, never up
        ]
        clock.now = at(date(2025, 11, 28), 13, 30)
        # after the early close both are muted: no hourly repeat although 3.5 h passed,
        # and no false "resolved" either
        assert dog2.tick() == []


def _health_console() -> list[str]:
    exe = shutil.which(
        "health-console", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    )
    if exe:
        return [exe]
    return [sys.executable, "-c", "from console.cli import health_console_main; health_console_main()"]


@pytest.mark.slow
def test_watchdog_end_to_end_one_firing_one_resolved(tmp_path):
    """A loop stops during a (simulated) session: one Discord message arrives within one check
    interval of the silence crossing the limit, a resolved one when it is back, one for its
    restart after the unclean exit, nothing more."""
    store = tmp_path / "h.db"
    sim_start = at(D11, 10, 0)
    real_start = time.time()

    def clock() -> float:
        return sim_start + (time.time() - real_start)

    interval = 0.5
    gap_minutes = 0.05  # 3 s of silence is an outage
    beating = threading.Event()
    beating.set()
    done = threading.Event()
    monitors: list[ProductionMonitor] = []

    def loop() -> None:
        mon = None
        while not done.is_set():
            if beating.is_set():
                if mon is None:
                    mon = monitor(
                        store,
                        clock,
                        check_interval_seconds=interval,
                        max_uptime_gap_minutes=gap_minutes,
                        source="loop",
                        flush_interval_seconds=0.05,
                    )
                    monitors.append(mon)
                mon.should_generate_signals(clock() - 2)
                mon.record_activity()
            elif mon is not None:
                mon.abandon()  # hung/dead: no more heartbeats (the pid stays alive: this process)
                mon = None
            time.sleep(0.1)
        if mon is not None:
            mon.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    with FakeDiscord() as server:
        env = dict(os.environ, DISCORD_WEBHOOK_URL=server.webhook_url(), HEALTH_WEBHOOK_URL="")
        deadline = time.monotonic() + 10
        while not store.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        sim_now_iso = datetime.fromtimestamp(clock()).astimezone().isoformat()
        proc = subprocess.Popen(
            [
                *_health_console(),
                "--watch",
                "--store",
                str(store),
                "--interval",
                str(interval),
                "--clock-start",
                sim_now_iso,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(3)  # healthy: the watchdog evaluates ~6 times and sends nothing
            assert server.requests == [], [
                r.body["embeds"][0]["title"] + r.body["embeds"][0]["description"] for r in server.requests
            ]
            beating.clear()
            stopped = time.monotonic()
            first = server.wait_for_requests(1, timeout=15)
            latency = first[0].at - stopped
            assert latency <= gap_minutes * 60 + 2 * interval + 1.5, latency
            embed = first[0].body["embeds"][0]
            assert "NO_ACTIVITY" in embed["title"] and "firing" in embed["title"].lower()
            beating.set()  # a new process of the loop (a new run): the silence ends ...
            both = server.wait_for_requests(2, timeout=15)
            assert "resolved" in both[1].body["embeds"][0]["title"].lower()
            # ... and the restart after an unclean exit pages once (health/restarts.py)
            three = server.wait_for_requests(3, timeout=15)
            restart = three[2].body["embeds"][0]
            assert "UNCLEAN_EXIT" in restart["title"] and "restarted" in restart["description"]
            time.sleep(2)  # and nothing more
            assert len(server.requests) == 3
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=15)
            done.set()
            thread.join(5)
    assert proc.returncode == 0, err
    lines = [ln for ln in err.splitlines() if " FIRING " in ln or " RESOLVED " in ln]
    assert len(lines) == 3, err
    assert TOKEN not in err and TOKEN not in out
