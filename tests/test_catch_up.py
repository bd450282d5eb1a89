"""Muting silences paging, never the record: conditions that begin while alerts are muted are
recorded, caught up at the open in one digest if they still hold, and a condition that fired
and then cleared while muted still gets its resolved notice.

The engine on an injected clock, then the watchdog on stores written by the real recorder,
delivering to a Discord-shaped aiohttp server on 127.0.0.1, across the awkward days: the day
after Thanksgiving (and its 13:00 close), the Monday after Good Friday, an XHKG lunch break.
"""

from __future__ import annotations

from datetime import date

import pytest

from health.alert_engine import MARKET_CLOSED, AlertEngine
from health.alerts import Condition
from health.codes import IssueCode
from health.loader import build_report
from health.simulation import SimClock, at, monitor, run_loop
from health.watchdog import Watchdog
from store.reader import StoreReader

try:
    from tests.discord_server import FakeDiscord
except ImportError:  # tests/ not a package
    from discord_server import FakeDiscord

NA = IssueCode.NO_ACTIVITY


def cond(active: bool | None, code: IssueCode = NA, source: str = "loop") -> Condition:
    return Condition(source, code, active, f"{code} holds")


def kinds(out) -> list[tuple[str, str, bool, bool]]:
    return [(t.kind, t.alert.code, t.paged, t.caught_up) for t in out]


# -- the engine ---------------------------------------------------------------------------------
def test_begun_while_muted_and_still_holding_at_the_open_is_caught_up_once():
    eng = AlertEngine(repeat_interval=3600)
    assert kinds(eng.step([cond(True)], 100.0, False)) == [("firing", NA, False, False)]
    for t in range(200, 5000, 600):  # overnight: nothing more is recorded, nothing repeats
        assert eng.step([cond(True)], float(t), False) == []
    assert eng.held() == [("loop", NA)] and eng.firing() == []
    out = eng.step([cond(True)], 9000.0, True)  # the open
    assert kinds(out) == [("firing", NA, True, True)]
    assert out[0].held_since == 100.0 and out[0].held_why == MARKET_CLOSED
    assert eng.step([cond(True)], 9060.0, True) == []
    assert kinds(eng.step([cond(True)], 9000.0 + 3600, True)) == [("repeat", NA, True, False)]


def test_begun_and_cleared_while_muted_is_recorded_not_paged():
    eng = AlertEngine()
    assert kinds(eng.step([cond(True)], 100.0, False)) == [("firing", NA, False, False)]
    out = eng.step([cond(False)], 200.0, False)
    assert kinds(out) == [("resolved", NA, False, False)] and out[0].muted == MARKET_CLOSED
    assert eng.step([cond(False)], 9000.0, True) == []  # nothing left to catch up at the open


def test_fired_then_cleared_while_muted_still_gets_its_resolved_notice():
    eng = AlertEngine()
    assert kinds(eng.step([cond(True)], 100.0, True)) == [("firing", NA, True, False)]
    assert eng.step([cond(True)], 5000.0, False) == []  # muted: no repeat
    assert kinds(eng.step([cond(False)], 6000.0, False)) == [("resolved", NA, True, False)]


def test_a_flapping_condition_is_not_recorded_while_muted_either():
    eng = AlertEngine(flap_seconds=120)
    for i in range(10):
        assert eng.step([cond(i % 2 == 0, IssueCode.STALE_DATA)], 100.0 + 60 * i, False) == []


def test_conditions_that_cannot_be_judged_keep_their_state():
    eng = AlertEngine()
    eng.step([cond(True)], 100.0, False)
    assert eng.step([cond(None)], 9000.0, True) == []
    assert eng.held() == [("loop", NA)]


# -- the watchdog, end to end -------------------------------------------------------------------
WED_BEFORE_THANKSGIVING = date(2025, 11, 26)
DAY_AFTER_THANKSGIVING = date(2025, 11, 28)
THU_BEFORE_GOOD_FRIDAY = date(2025, 4, 17)
EASTER_MONDAY = date(2025, 4, 21)
HK_WED = date(2025, 12, 10)


def dead_after(tmp_path, calendar: str, day: date, hh: int, mm: int, dies: float) -> str:
    """A loop that runs from hh:mm and dies (no clean stop) at ``dies``; its pid — this test
    process — stays alive, so the loop reads as hung, not gone: NO_ACTIVITY only."""
    store = tmp_path / "h.db"
    clock = SimClock(at(day, hh, mm, calendar=calendar))
    mon = monitor(store, clock, calendar=calendar, check_interval_seconds=60, max_uptime_gap_minutes=10)
    run_loop(mon, clock, dies, step=60)
    mon.abandon()
    return str(store)


def watchdog(store: str, calendar: str, clock: SimClock, server: FakeDiscord) -> Watchdog:
    return Watchdog(
        store, calendar, interval=60, clock=clock, environ={"DISCORD_WEBHOOK_URL": server.webhook_url()}
    )


def run(dog: Watchdog, clock: SimClock, times: list[float]) -> list:
    out = []
    for t in times:
        clock.now = t
        out += dog.tick()
    return out


CASES = {
    # name: (calendar, the loop's day and start, its death, ticks while muted, the open)
    "day-after-thanksgiving": (
        "XNYS",
        WED_BEFORE_THANKSGIVING,
        (15, 0),
        at(WED_BEFORE_THANKSGIVING, 20, 0),
        [
            at(WED_BEFORE_THANKSGIVING, 20, 30),
            at(date(2025, 11, 27), 11, 0),
            at(DAY_AFTER_THANKSGIVING, 9, 0),
        ],
        at(DAY_AFTER_THANKSGIVING, 9, 30),
    ),
    "monday-after-good-friday": (
        "XNYS",
        THU_BEFORE_GOOD_FRIDAY,
        (15, 0),
        at(THU_BEFORE_GOOD_FRIDAY, 18, 0),
        [at(THU_BEFORE_GOOD_FRIDAY, 18, 30), at(date(2025, 4, 18), 10, 0), at(date(2025, 4, 20), 12, 0)],
        at(EASTER_MONDAY, 9, 30),
    ),
    "xhkg-lunch-break": (
        "XHKG",
        HK_WED,
        (11, 0),
        at(HK_WED, 12, 10, calendar="XHKG"),
        [at(HK_WED, 12, 30, calendar="XHKG"), at(HK_WED, 12, 59, calendar="XHKG")],
        at(HK_WED, 13, 0, calendar="XHKG"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_open_catches_up_once_in_one_digest(tmp_path, name):
    calendar, day, (hh, mm), dies, muted_ticks, opens = CASES[name]
    store = dead_after(tmp_path, calendar, day, hh, mm, dies)
    clock = SimClock(muted_ticks[0])
    with FakeDiscord() as server:
        dog = watchdog(store, calendar, clock, server)
        held = run(dog, clock, muted_ticks)
        assert [(t.alert.code, t.paged) for t in held] == [(NA, False)], held  # recorded once
        assert dog.dispatcher.flush(5) and server.requests == []  # paged to no one
        caught = run(dog, clock, [opens, opens + 60])
        assert [(t.alert.code, t.caught_up) for t in caught] == [(NA, True)]
        (req,) = server.wait_for_requests(1)
        embed = req.body["embeds"][0]
        assert embed["title"] == "🌅 Caught up at the open: 1 condition began while alerts were muted"
        assert "NO_ACTIVITY" in embed["description"] and "last seen" in embed["description"]
        assert {f["name"] for f in embed["fields"]} >= {"Muted since", "Open"}
        assert dog.dispatcher.flush(5)
        dog.dispatcher.close()
    assert len(server.requests) == 1
    with StoreReader(store) as reader:
        rows = [a for a in reader.alerts(dies, opens + 3600) if a.origin == "watchdog"]
        deliveries = reader.conn.execute("SELECT kind, ok FROM deliveries").fetchall()
    assert [(a.code, a.resolved, a.muted) for a in rows] == [(NA, False, MARKET_CLOSED), (NA, False, None)]
    assert deliveries == [("digest", 1)]


def test_thanksgiving_story_with_the_early_close_and_a_restart_while_muted(tmp_path):
    """Dead since Wednesday evening; Friday's open catches it up; after Friday's 13:00 close
    nothing repeats; the loop is restarted at 13:30, muted: the resolved notice still goes out,
    and every transition is in the store and in each day's report."""
    store = dead_after(tmp_path, "XNYS", WED_BEFORE_THANKSGIVING, 15, 0, at(WED_BEFORE_THANKSGIVING, 20, 0))
    clock = SimClock(at(WED_BEFORE_THANKSGIVING, 20, 30))
    fri = DAY_AFTER_THANKSGIVING
    with FakeDiscord() as server:
        dog = watchdog(store, "XNYS", clock, server)
        run(dog, clock, [at(WED_BEFORE_THANKSGIVING, 20, 30), at(date(2025, 11, 27), 12, 0)])
        out = run(dog, clock, [at(fri, 9, 30), at(fri, 9, 45)])
        assert [(t.alert.code, t.caught_up) for t in out] == [
            (NA, True),
            (IssueCode.ZERO_RTH_COVERAGE, False),
        ]
        assert run(dog, clock, [at(fri, 13, 5), at(fri, 15, 0)]) == []  # early close: muted, no repeats
        loop = SimClock(at(fri, 13, 30))
        mon = monitor(store, loop, check_interval_seconds=60, max_uptime_gap_minutes=10)
        run_loop(mon, loop, at(fri, 13, 35), step=60)
        assert mon.flush(5)
        out = run(dog, clock, [at(fri, 13, 35)])
        assert [(t.kind, t.alert.code, t.paged) for t in out] == [("resolved", NA, True)]
        requests = server.wait_for_requests(3)
        titles = [r.body["embeds"][0]["title"] for r in requests]
        assert titles[0].startswith("🌅 Caught up at the open")
        assert "ZERO_RTH_COVERAGE firing" in titles[1] and "NO_ACTIVITY resolved" in titles[2]
        assert dog.dispatcher.flush(5)
        dog.dispatcher.close()
        mon.close()
    assert len(server.requests) == 3
    wed = build_report(store, WED_BEFORE_THANKSGIVING, "XNYS", now=at(fri, 20, 0)).to_json()
    assert [
        (a["code"], a["resolved"], a.get("muted")) for a in wed["alerts"] if a["origin"] == "watchdog"
    ] == [(NA, False, MARKET_CLOSED)]
    friday = build_report(store, fri, "XNYS", now=at(fri, 20, 0)).to_json()
    assert [(a["code"], a["resolved"], a.get("muted")) for a in friday["alerts"]] == [
        (NA, False, None),
        (IssueCode.ZERO_RTH_COVERAGE, False, None),
        (NA, True, None),
    ]


def test_a_restarted_watchdog_still_catches_up_what_was_held(tmp_path):
    store = dead_after(tmp_path, "XNYS", WED_BEFORE_THANKSGIVING, 15, 0, at(WED_BEFORE_THANKSGIVING, 20, 0))
    clock = SimClock(at(WED_BEFORE_THANKSGIVING, 20, 30))
    with FakeDiscord() as server:
        first = watchdog(store, "XNYS", clock, server)
        assert [t.paged for t in first.tick()] == [False]
        first.dispatcher.close()
        clock.now = at(date(2025, 11, 27), 12, 0)
        second = watchdog(store, "XNYS", clock, server)  # a restart on the holiday
        assert second.tick() == []  # held, restored: not recorded twice
        clock.now = at(DAY_AFTER_THANKSGIVING, 9, 30)
        assert [t.caught_up for t in second.tick()] == [True]
        assert len(server.wait_for_requests(1)) == 1
        second.dispatcher.close()


def test_a_digest_of_many_alerts_fits_discord_and_the_generic_webhook(tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from health.alerts import Alert
    from health.sinks import CatchUpDigest, DiscordSink, Notification, webhook_payload

    try:
        from tests.discord_server import discord_limit_errors
    except ImportError:
        from discord_server import discord_limit_errors

    ny = ZoneInfo("America/New_York")
    opens = datetime(2025, 11, 28, 9, 30, tzinfo=ny)
    notes = tuple(
        Notification(
            Alert(NA.severity, NA, "no heartbeat " + "x" * 300 + " *bold* @everyone", opens, f"loop_{i}"),
            "restart it",
        )
        for i in range(60)
    )
    digest = CatchUpDigest(opens, notes, datetime(2025, 11, 26, 20, 0, tzinfo=ny))
    payload = DiscordSink("https://discord.com/api/webhooks/1/t").build_payload(digest)
    assert discord_limit_errors(payload) == []
    assert payload["allowed_mentions"] == {"parse": []}
    assert "loop\\_0" in payload["embeds"][0]["description"]  # loop text is literal, not markdown
    body = webhook_payload(digest)
    assert body["kind"] == "digest" and len(body["alerts"]) == 60 and body["severity"] == "CRITICAL"
    assert body["since"] == "2025-11-26T20:00:00-05:00" and body["alerts"][0]["source"] == "loop_0"
