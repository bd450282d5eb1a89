"""Snooze with an expiry: `health-console --ack CODE [--source S] --for 2h --reason "..."` and
the console's issues panel (`a`). The alert stops repeating until the expiry or until it
resolves, whichever comes first; who, why and until when are in the store and that day's
report. Injected clocks throughout; the awkward day is the day after Thanksgiving, whose 13:00
close falls inside an ack."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import query

from console.cli import _console, _run
from health.alert_engine import AlertEngine
from health.alerts import Condition
from health.codes import IssueCode
from health.loader import build_report
from health.simulation import SimClock, at, monitor, run_loop
from health.watchdog import Watchdog
from store.acks import AckRecord

NA = IssueCode.NO_ACTIVITY
WED = date(2025, 12, 10)
FRI = date(2025, 11, 28)  # the day after Thanksgiving: closes 13:00


def cond(active: bool, source: str = "loop", code: IssueCode = NA) -> Condition:
    return Condition(source, code, active, "no heartbeat")


def ack(at_: float, until: float, source: str | None = "loop", code: str = NA, id_: int = 1) -> AckRecord:
    return AckRecord(id_, code, source, "alice", "restarting the feed", at_, until)


def paged(out) -> list[tuple[str, str]]:
    return [(t.kind, t.alert.source) for t in out if t.paged]


# -- the engine ---------------------------------------------------------------------------------
def test_an_ack_stops_repeats_until_it_expires():
    eng = AlertEngine(repeat_interval=3600)
    assert paged(eng.step([cond(True)], 0.0, True)) == [("firing", "loop")]
    acks = [ack(600.0, 600.0 + 2 * 3600)]
    for t in range(660, 600 + 2 * 3600, 300):
        assert paged(eng.step([cond(True)], float(t), True, acks)) == []  # 3600 would repeat
    assert paged(eng.step([cond(True)], 600.0 + 2 * 3600, True, acks)) == [("repeat", "loop")]


def test_an_ack_ends_when_its_condition_resolves():
    eng = AlertEngine(repeat_interval=3600)
    eng.step([cond(True)], 0.0, True)
    acks = [ack(600.0, 600.0 + 4 * 3600)]
    out = eng.step([cond(False)], 1200.0, True, acks)
    assert paged(out) == [("resolved", "loop")]  # the resolution is sent through the ack
    assert paged(eng.step([cond(True)], 1800.0, True, acks)) == [("firing", "loop")]  # it pages again
    assert eng.ack_for(("loop", NA), acks, 1800.0) is None


def test_an_ack_before_the_condition_holds_it_back_until_the_expiry():
    eng = AlertEngine(repeat_interval=3600, tz=ZoneInfo("UTC"))
    acks = [ack(0.0, 1800.0)]
    out = eng.step([cond(True)], 60.0, True, acks)
    assert [(t.kind, t.paged, t.muted) for t in out] == [
        ("firing", False, "acknowledged by alice until Thu 00:30 UTC: restarting the feed")
    ]
    assert eng.step([cond(True)], 1200.0, True, acks) == []
    out = eng.step([cond(True)], 1800.0, True, acks)
    assert (
        paged(out) == [("firing", "loop")] and out[0].caught_up and out[0].held_why.startswith("acknowledged")
    )


def test_an_ack_without_a_source_covers_every_loop_and_only_its_code():
    eng = AlertEngine(repeat_interval=60)
    both = [cond(True, "a"), cond(True, "b"), cond(True, "a", IssueCode.STALE_DATA)]
    eng.step(both, 0.0, True)
    eng.step(both, 200.0, True)  # STALE_DATA waited out its flap window
    acks = [ack(300.0, 9000.0, source=None)]
    out = eng.step(both, 400.0, True, acks)
    assert [(t.kind, t.alert.source, t.alert.code) for t in out] == [("repeat", "a", IssueCode.STALE_DATA)]


# -- the command line ---------------------------------------------------------------------------
@pytest.fixture
def dead_loop(tmp_path) -> Path:
    """A loop that died at 10:00 on Wednesday (its pid, this test process, lives on: hung)."""
    store = tmp_path / "h.db"
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, max_uptime_gap_minutes=10, source="loop")
    run_loop(mon, clock, at(WED, 10, 0))
    mon.abandon()
    return store


def iso(day: date, hh: int, mm: int = 0) -> str:
    return datetime.fromtimestamp(at(day, hh, mm)).astimezone().isoformat()


def ack_cli(capsys, store: Path, *args: str) -> tuple[int, str, str]:
    code = _run("health-console", _console, ["--store", str(store), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_cli_stores_who_why_and_until_when(dead_loop, capsys):
    code, out, err = ack_cli(
        capsys, dead_loop, "--ack", "no_activity", "--source", "loop", "--for", "2h",
        "--reason", "feed vendor restarting", "--by", "alice", "--now", iso(WED, 10, 20),
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == (
        "acknowledged NO_ACTIVITY (loop) until Wed 2025-12-10 12:20 EST by alice: feed vendor restarting"
    )
    rows = query(dead_loop, 'SELECT code, source, "by", reason, at, until FROM acks')
    assert rows == [
        ("NO_ACTIVITY", "loop", "alice", "feed vendor restarting", at(WED, 10, 20), at(WED, 12, 20))
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ack", "NO_ACTIVITY", "--reason", "x"], "needs --for DURATION"),
        (["--ack", "NO_ACTIVITY", "--for", "2h"], 'needs --reason "..."'),
        (["--ack", "NO_ACTIVITY", "--for", "8d", "--reason", "x"], "at most 7d"),
        (["--ack", "NO_ACTIVITY", "--for", "soon", "--reason", "x"], "not a duration"),
        (["--ack", "NOPE", "--for", "2h", "--reason", "x"], "unknown issue code 'NOPE'"),
        (
            ["--ack", "NO_ACTIVITY", "--source", "other", "--for", "2h", "--reason", "x"],
            "no loop named 'other'",
        ),
        (["--reason", "x"], "--reason needs --ack"),
        (["--for", "2h"], "--for needs --ack"),
        (["--ack", "NO_ACTIVITY", "--watch", "--for", "2h", "--reason", "x"], "not allowed with"),
    ],
)
def test_no_ack_without_an_expiry_a_reason_and_a_known_code(dead_loop, capsys, args, message):
    code, _, err = ack_cli(capsys, dead_loop, *args)
    assert code == 3 and message in err and len(err.splitlines()) == 1, err
    assert query(dead_loop, "SELECT count(*) FROM acks") == [(0,)]


def test_the_cli_never_creates_a_store(tmp_path, capsys):
    missing = tmp_path / "none.db"
    code, _, err = ack_cli(capsys, missing, "--ack", "NO_ACTIVITY", "--for", "2h", "--reason", "x")
    assert code == 3 and "does not exist" in err and not missing.exists()


# -- the watchdog and the day's report ----------------------------------------------------------
def test_the_watchdog_honours_the_ack_and_the_report_shows_it(dead_loop, capsys):
    clock = SimClock(at(WED, 10, 12))
    dog = Watchdog(str(dead_loop), "XNYS", interval=60, clock=clock, environ={})
    assert paged(dog.tick()) == [("firing", "loop")]
    code, _, err = ack_cli(
        capsys, dead_loop, "--ack", "NO_ACTIVITY", "--for", "1h30m", "--reason", "vendor outage",
        "--by", "alice", "--now", iso(WED, 10, 20),
    )  # fmt: skip
    assert code == 0, err
    for hh, mm in ((11, 12), (11, 30), (11, 49)):  # the hourly repeat is due from 11:12
        clock.now = at(WED, hh, mm)
        assert paged(dog.tick()) == []
    clock.now = at(WED, 11, 50)  # expired: the repeat comes
    assert paged(dog.tick()) == [("repeat", "loop")]
    rep = build_report(dead_loop, WED, "XNYS", now=at(WED, 20, 0))
    (j,) = rep.to_json()["acks"]
    assert j == {
        "code": "NO_ACTIVITY",
        "source": None,
        "by": "alice",
        "reason": "vendor outage",
        "at": "2025-12-10T10:20:00-05:00",
        "until": "2025-12-10T11:50:00-05:00",
        "ended": "expired",
        "ended_at": "2025-12-10T11:50:00-05:00",
    }
    from test_analysis_scenarios import text_of

    assert "ACKNOWLEDGED" in text_of(rep) and "NO_ACTIVITY (every loop) by alice at Wed 10:20 EST" in text_of(
        rep
    )


def test_an_ack_across_the_early_close_then_resolution_ends_it(tmp_path, capsys):
    store = tmp_path / "h.db"
    clock = SimClock(at(FRI, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, max_uptime_gap_minutes=10, source="loop")
    run_loop(mon, clock, at(FRI, 11, 0))
    mon.abandon()
    dog_clock = SimClock(at(FRI, 11, 11))
    dog = Watchdog(str(store), "XNYS", interval=60, clock=dog_clock, environ={})
    assert paged(dog.tick()) == [("firing", "loop")]
    assert ack_cli(
        capsys, store, "--ack", "NO_ACTIVITY", "--source", "loop", "--for", "5h", "--reason", "r",
        "--now", iso(FRI, 11, 30),
    )[0] == 0  # fmt: skip
    for hh in (12, 13, 14, 15):  # before and after the 13:00 close: acked, then muted too
        dog_clock.now = at(FRI, hh, 30)
        assert paged(dog.tick()) == []
    restarted = SimClock(at(FRI, 15, 40))  # the loop comes back at 15:40, after the close
    mon = monitor(store, restarted, check_interval_seconds=60, max_uptime_gap_minutes=10, source="loop")
    run_loop(mon, restarted, at(FRI, 15, 45))
    assert mon.flush(5)
    dog_clock.now = at(FRI, 15, 45)
    assert paged(dog.tick()) == [("resolved", "loop")]  # sent through the ack and the mute
    mon.close()
    (j,) = build_report(store, FRI, "XNYS", now=at(FRI, 20, 0)).to_json()["acks"]
    assert (j["source"], j["ended"], j["ended_at"]) == ("loop", "resolved", "2025-11-28T15:45:00-05:00")


# -- the console --------------------------------------------------------------------------------
async def test_the_issues_panel_acks_through_its_own_writer(dead_loop, tmp_path):
    from test_console_app import SIZE, console, until

    from console.screens.ack import AckScreen
    from console.widgets import IssuesPanel

    store = tmp_path / "copy.db"
    shutil.copy(dead_loop, store)
    app = console(store, now=at(WED, 10, 30))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.report is not None, "a snapshot")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AckScreen), "the ack screen")
        choices = [(c.code, c.source) for c in app.screen.choices]
        assert (NA, "loop") in choices
        await pilot.press("enter")  # the first choice, then the duration field (1h by default)
        await pilot.press("enter")  # on to the reason
        await pilot.press("enter")  # no reason: refused, the screen stays
        assert isinstance(app.screen, AckScreen) and "reason is required" in str(
            app.screen.query_one("#ack-error").render()
        )
        await pilot.press(*"vendor")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, AckScreen), "the screen to close")
        await until(pilot, lambda: bool(query(store, "SELECT 1 FROM acks")), "the ack in the store")
        await until(pilot, lambda: "⏸ acked" in app.dashboard.query_one(IssuesPanel).text(), "the ack shown")
    row = query(store, "SELECT code, source, reason, until - at FROM acks")
    assert row == [(choices[0][0], choices[0][1], "vendor", 3600.0)]


def test_the_console_writer_refuses_a_store_gone_read_only(dead_loop):
    """The only write the console makes goes through store/acks.py's checks too."""
    from store.acks import AckError, write_ack

    conn = sqlite3.connect(dead_loop)
    conn.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(AckError):
            write_ack(dead_loop, NA, None, "alice", "why", at(WED, 10), at(WED, 11), busy_timeout=0.05)
    finally:
        conn.rollback()
        conn.close()
