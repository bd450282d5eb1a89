"""Readiness before the open: when it is due (N minutes before each session, by the calendar:
early closes, late opens, lunch breaks, holidays), what it checks, the watchdog's one READY or
NOT_READY notice to a Discord-shaped aiohttp server on 127.0.0.1, and
`check-production-health --ready` with the report's exit codes. Injected clocks throughout."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from console.cli import _check, _run
from health.calendar import get_calendar
from health.codes import CheckStatus, Readiness
from health.readiness import check_readiness, due_session, probe_sinks, target_session
from health.simulation import SimClock, at, monitor, run_loop
from health.watchdog import Watchdog
from store.reader import StoreReader

try:
    from tests.discord_server import FakeDiscord, closed_port
except ImportError:  # tests/ not a package
    from discord_server import FakeDiscord, closed_port

FRI = date(2025, 11, 28)  # the day after Thanksgiving: 09:30-13:00
EASTER_MONDAY = date(2025, 4, 21)  # after Good Friday (04-18) and the weekend
HK = date(2025, 12, 10)  # XHKG: 09:30-12:00, 13:00-16:00
ASH_WEDNESDAY = date(2025, 3, 5)  # BVMF opens late, at 13:00 (10:00 otherwise)
HOOKS = {"alive": lambda run: True, "ntp": lambda: (True, "test")}


def due_minutes(calendar: str, day: date, minutes: float = 15) -> list[str]:
    """Every minute of the day at which a readiness check is due, as HH:MM local."""
    cal = get_calendar(calendar)
    start = at(day, 0, 0, calendar=calendar)
    return [
        cal.fmt(start + 60 * m, "%H:%M")
        for m in range(24 * 60)
        if due_session(cal, start + 60 * m, minutes) is not None
    ]


def window(first: str, n: int = 15) -> list[str]:
    hh, mm = map(int, first.split(":"))
    return [f"{(hh * 60 + mm + i) // 60:02d}:{(hh * 60 + mm + i) % 60:02d}" for i in range(n)]


# -- when it is due -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("calendar", "day", "first"),
    [
        ("XNYS", FRI, "09:15"),  # the early close changes nothing before the open
        ("XNYS", EASTER_MONDAY, "09:15"),
        ("XHKG", HK, "09:15"),  # and not before the lunch break's end
        ("BVMF", ASH_WEDNESDAY, "12:45"),  # the late open moves it
        ("BVMF", date(2025, 3, 6), "09:45"),  # back to the usual 10:00 open
    ],
)
def test_due_fifteen_minutes_before_each_open(calendar, day, first):
    assert due_minutes(calendar, day) == window(first)


@pytest.mark.parametrize(("calendar", "day"), [("XNYS", date(2025, 11, 27)), ("XNYS", date(2025, 4, 18))])
def test_never_due_on_a_holiday(calendar, day):
    assert due_minutes(calendar, day) == []


def test_the_minutes_are_per_watchdog_and_the_session_is_the_next_one():
    assert due_minutes("XHKG", HK, 30) == window("09:00", 30)
    cal = get_calendar("XNYS")
    assert target_session(cal, at(date(2025, 4, 17), 20, 0)).day == EASTER_MONDAY  # over Good Friday
    assert target_session(cal, at(FRI, 11, 0)).day == FRI  # in progress: this one


# -- what it checks -----------------------------------------------------------------------------
def premarket_loop(store, calendar: str, day: date, start: tuple[int, int], until: float, data_ts_fn=None):
    clock = SimClock(at(day, *start, calendar=calendar))
    mon = monitor(store, clock, calendar=calendar, check_interval_seconds=60, source="momentum")
    run_loop(mon, clock, until, data_ts_fn=data_ts_fn)
    return mon


def statuses(result) -> dict[str, str]:
    return {c.name if c.source is None else f"{c.name}:{c.source}": c.status for c in result.checks}


def test_ready_when_the_loop_runs_on_this_sessions_data(tmp_path):
    store = tmp_path / "h.db"
    mon = premarket_loop(store, "XNYS", FRI, (8, 30), at(FRI, 9, 15, 1))
    assert mon.flush(5)
    cal = get_calendar("XNYS")
    with StoreReader(store) as reader:
        result = check_readiness(reader, cal, at(FRI, 9, 15), cal.session(FRI), environ={}, **HOOKS)
    assert statuses(result) == {
        "process:momentum": "OK",
        "heartbeat:momentum": "OK",
        "data:momentum": "OK",
        "store:momentum": "OK",
        "store": "OK",
        "clock": "OK",
        "sinks": "WARN",  # nobody would be told: a warning, not a failure
    }
    assert result.status == Readiness.READY and result.exit_code == 1
    assert result.headline() == "READY for the XNYS session Fri 2025-11-28 09:30 EST (early close 13:00 EST)"
    mon.close()


def test_not_ready_on_the_previous_sessions_data_after_a_long_weekend(tmp_path):
    store = tmp_path / "h.db"
    thursday_close = at(date(2025, 4, 17), 15, 59)
    mon = premarket_loop(
        store, "XNYS", EASTER_MONDAY, (8, 0), at(EASTER_MONDAY, 9, 15, 1), lambda now: thursday_close
    )
    assert mon.flush(5)
    cal = get_calendar("XNYS")
    with StoreReader(store) as reader:
        result = check_readiness(
            reader, cal, at(EASTER_MONDAY, 9, 15), cal.session(EASTER_MONDAY), environ={}, **HOOKS
        )
    assert result.status == Readiness.NOT_READY and result.exit_code == 2
    (data,) = [c for c in result.checks if c.name == "data"]
    assert data.status == CheckStatus.FAIL
    assert data.detail == "the newest data is from the previous session: Thu 15:59:00 EDT (3d 17h old)"
    assert result.not_passed[0] is data  # failures first
    mon.close()


def test_not_ready_when_the_loop_was_stopped(tmp_path):
    store = tmp_path / "h.db"
    mon = premarket_loop(
        store, "XHKG", HK - timedelta(days=1), (9, 20), at(HK - timedelta(days=1), 16, 5, calendar="XHKG")
    )
    mon.close()  # stopped cleanly after yesterday's close, never started again
    cal = get_calendar("XHKG")
    with StoreReader(store) as reader:
        result = check_readiness(
            reader, cal, at(HK, 9, 15, calendar="XHKG"), cal.session(HK), environ={}, **HOOKS
        )
    s = statuses(result)
    assert s["process:momentum"] == s["heartbeat:momentum"] == "FAIL" and result.status == Readiness.NOT_READY
    (process,) = [c for c in result.checks if c.name == "process"]
    assert "stopped cleanly at Tue 2025-12-09 16:05 HKT" in process.detail and process.fix.startswith(
        "start it"
    )


def test_the_sinks_probe_posts_nothing_and_finds_a_deleted_webhook():
    with FakeDiscord() as server:
        env = {"DISCORD_WEBHOOK_URL": server.webhook_url(), "HEALTH_WEBHOOK_URL": server.generic_url()}
        found = probe_sinks(env, timeout=5)
        assert [(ok, detail) for _, ok, detail in found] == [
            (True, "reachable (HTTP 200)"),
            (True, "reachable (HTTP 405)"),  # the generic receiver answered: it is there
        ]
        server.delete_webhook()
        (discord, _) = probe_sinks(env, timeout=5)
        assert discord[1] is False and "HTTP 404" in discord[2] and "Unknown Webhook" in discord[2]
        assert server.requests == [] and len(server.probes) == 2  # nothing was posted
    (gone,) = probe_sinks({"HEALTH_WEBHOOK_URL": f"http://127.0.0.1:{closed_port()}/hook/s3cret"}, timeout=2)
    assert gone[1] is False and "unreachable" in gone[2] and "s3cret" not in gone[2] + gone[0]


# -- the watchdog: one notice per session ---------------------------------------------------------
def run_watchdog(store, calendar: str, ticks: list[float], server: FakeDiscord, **kw) -> Watchdog:
    clock = SimClock(ticks[0])
    dog = Watchdog(
        str(store),
        calendar,
        interval=60,
        clock=clock,
        environ={"DISCORD_WEBHOOK_URL": server.webhook_url()},
        **kw,
    )
    dog.readiness_hooks = {"alive": lambda run: True, "ntp": lambda: (True, "test")}
    for t in ticks:
        clock.now = t
        dog.tick()
    assert dog.dispatcher.flush(10)
    return dog


def every_minute(start: float, end: float) -> list[float]:
    return [start + 60 * i for i in range(int((end - start) // 60) + 1)]


def test_one_ready_notice_fifteen_minutes_before_an_early_close_day(tmp_path):
    store = tmp_path / "h.db"
    mon = premarket_loop(store, "XNYS", FRI, (8, 30), at(FRI, 9, 15, 1))  # the store as of 09:15
    assert mon.flush(5)
    with FakeDiscord() as server:
        dog = run_watchdog(store, "XNYS", every_minute(at(FRI, 9, 0), at(FRI, 9, 35)), server)
        (req,) = [r for r in server.requests if "READY" in r.body["embeds"][0]["title"]]
        embed = req.body["embeds"][0]
        assert (
            embed["title"] == "✅ READY for the XNYS session Fri 2025-11-28 09:30 EST (early close 13:00 EST)"
        )
        assert embed["description"] == "all 7 checks passed" and embed["fields"][1]["value"].startswith(
            "2025-11-28 09:15:00"
        )
        assert len(server.probes) == 1  # the sink was probed once, posting nothing
        dog.dispatcher.close()
    mon.close()
    with StoreReader(store) as reader:
        assert reader.notices("readiness", "2025-11-28") == [(at(FRI, 9, 15), "READY")]
        kinds = reader.conn.execute("SELECT kind, ok FROM deliveries").fetchall()
    assert kinds == [("readiness", 1)]


def test_one_not_ready_notice_on_the_monday_after_good_friday_and_no_resend_after_a_restart(tmp_path):
    store = tmp_path / "h.db"
    thursday_close = at(date(2025, 4, 17), 15, 59)
    mon = premarket_loop(
        store, "XNYS", EASTER_MONDAY, (8, 0), at(EASTER_MONDAY, 9, 40), lambda now: thursday_close
    )
    assert mon.flush(5)
    with FakeDiscord() as server:
        first = run_watchdog(
            store, "XNYS", every_minute(at(EASTER_MONDAY, 9, 10), at(EASTER_MONDAY, 9, 17)), server
        )
        first.dispatcher.close()
        second = run_watchdog(
            store, "XNYS", every_minute(at(EASTER_MONDAY, 9, 18), at(EASTER_MONDAY, 9, 29)), server
        )
        second.dispatcher.close()
        notices = [r for r in server.requests if "READY" in r.body["embeds"][0]["title"]]
        assert len(notices) == 1
        embed = notices[0].body["embeds"][0]
        assert embed["title"] == "🔴 NOT_READY for the XNYS session Mon 2025-04-21 09:30 EDT: 1 check failed"
        assert embed["description"].startswith(
            "FAIL data: momentum: the newest data is from the previous session"
        )
    mon.close()


def test_xhkg_lunch_break_and_a_bvmf_late_open(tmp_path):
    hk = tmp_path / "hk.db"
    clock = SimClock(at(HK, 8, 30, calendar="XHKG"))
    mon = monitor(hk, clock, calendar="XHKG", check_interval_seconds=60, source="momentum")
    run_loop(mon, clock, at(HK, 9, 15, 1, calendar="XHKG"))
    assert mon.flush(5)
    with FakeDiscord() as server:
        dog = run_watchdog(
            hk, "XHKG", every_minute(at(HK, 9, 0, calendar="XHKG"), at(HK, 9, 15, calendar="XHKG")), server
        )
        run_loop(mon, clock, at(HK, 13, 5, calendar="XHKG"))  # on through the lunch break
        assert mon.flush(5)
        for t in every_minute(at(HK, 9, 16, calendar="XHKG"), at(HK, 13, 1, calendar="XHKG")):
            dog.clock.now = t
            dog.tick()
        assert dog.dispatcher.flush(10)
        titles = [r.body["embeds"][0]["title"] for r in server.requests]
        assert [t for t in titles if "READY" in t] == [
            "✅ READY for the XHKG session Wed 2025-12-10 09:30 HKT"
        ]  # none before 13:00: the break's end is no session's open
        dog.dispatcher.close()
    mon.close()
    br = tmp_path / "br.db"
    mon = premarket_loop(br, "BVMF", ASH_WEDNESDAY, (12, 0), at(ASH_WEDNESDAY, 12, 50, calendar="BVMF"))
    assert mon.flush(5)
    with FakeDiscord() as server:
        ticks = every_minute(
            at(ASH_WEDNESDAY, 9, 30, calendar="BVMF"), at(ASH_WEDNESDAY, 12, 50, calendar="BVMF")
        )
        dog = run_watchdog(br, "BVMF", ticks, server)
        (req,) = [r for r in server.requests if "READY" in r.body["embeds"][0]["title"]]
        assert "(late open)" in req.body["embeds"][0]["title"]
        assert req.body["embeds"][0]["fields"][1]["value"].startswith("2025-03-05 12:45:00")
        dog.dispatcher.close()
    mon.close()


def test_ready_minutes_zero_turns_it_off(tmp_path):
    store = tmp_path / "h.db"
    mon = premarket_loop(store, "XNYS", FRI, (9, 0), at(FRI, 9, 20))
    assert mon.flush(5)
    with FakeDiscord() as server:
        dog = run_watchdog(
            store, "XNYS", every_minute(at(FRI, 9, 10), at(FRI, 9, 20)), server, ready_minutes=0
        )
        assert server.requests == [] and server.probes == []
        dog.dispatcher.close()
    mon.close()


# -- check-production-health --ready ------------------------------------------------------------
def ready_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = _run("check-production-health", _check, ["--ready", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def iso(day: date, hh: int, mm: int, calendar: str = "XNYS") -> str:
    from datetime import datetime

    return datetime.fromtimestamp(at(day, hh, mm, calendar=calendar), get_calendar(calendar).tz).isoformat()


def test_the_cli_exit_codes_are_the_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("health.readiness.ntp_synchronized", lambda *a: (True, "test"))
    monkeypatch.setattr("health.readiness.process_alive", lambda run: True)
    monkeypatch.delenv("DISCORD_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("HEALTH_WEBHOOK_URL", raising=False)
    store = tmp_path / "h.db"
    mon = premarket_loop(store, "XNYS", FRI, (8, 30), at(FRI, 9, 15, 1))
    assert mon.flush(5)
    code, out, err = ready_cli(capsys, "--store", str(store), "--now", iso(FRI, 9, 15))
    assert code == 1, err  # READY, with a warning: no sink configured
    assert (
        out.splitlines()[0] == "READY for the XNYS session Fri 2025-11-28 09:30 EST (early close 13:00 EST)"
    )
    assert "  ▲ sinks     no alert sink configured" in out
    code, out, _ = ready_cli(capsys, "--store", str(store), "--now", iso(FRI, 9, 25), "--json")
    j = json.loads(out)
    assert code == 2 and j["status"] == "NOT_READY" and j["exit_code"] == 2  # silent since 09:15
    assert j["session"] == {
        "date": "2025-11-28",
        "open": "2025-11-28T09:30:00-05:00",
        "close": "2025-11-28T13:00:00-05:00",
        "early_close": True,
        "late_open": False,
    }
    assert {c["name"] for c in j["checks"] if c["status"] == "FAIL"} == {"heartbeat"}
    code, out, _ = ready_cli(capsys, "--store", str(store), "--now", iso(FRI, 9, 25), "--nagios")
    assert (
        code == 2
        and out.startswith("PRODUCTION HEALTH CRITICAL - NOT_READY for the XNYS session")
        and len(out.splitlines()) == 1
    )
    code, out, err = ready_cli(capsys, "--store", str(tmp_path / "missing.db"))
    assert code == 3 and "does not exist" in err and len(err.splitlines()) == 1
    code, _, err = ready_cli(capsys, "--store", str(store), "--date", "2025-11-28")
    assert code == 3 and "--ready checks the session at hand" in err
    mon.close()


def test_the_cli_notify_sends_the_notice_and_records_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("health.readiness.ntp_synchronized", lambda *a: (True, "test"))
    monkeypatch.setattr("health.readiness.process_alive", lambda run: True)
    store = tmp_path / "h.db"
    mon = premarket_loop(store, "XNYS", FRI, (8, 30), at(FRI, 9, 15, 1))
    assert mon.flush(5)
    with FakeDiscord() as server:
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", server.webhook_url())
        monkeypatch.delenv("HEALTH_WEBHOOK_URL", raising=False)
        code, _, err = ready_cli(capsys, "--store", str(store), "--now", iso(FRI, 9, 15), "--notify")
        assert code == 0, err  # every check passed, the sink included
        (req,) = server.wait_for_requests(1)
        assert req.body["embeds"][0]["title"].startswith(
            "✅ READY for the XNYS session Fri 2025-11-28 09:30 EST"
        )
        assert req.body["embeds"][0]["description"] == "all 7 checks passed"
    with StoreReader(store) as reader:
        assert reader.notices("readiness", "2025-11-28") == [(at(FRI, 9, 15), "READY")]
    mon.close()
