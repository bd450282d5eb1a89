"""One console for a desk (``health-console --store a.db --store b.db``), driven with Textual's
Pilot: three loops on two stores written by the real recorder on simulated clocks, a row per
loop, Enter showing a loop in the panels, a store that cannot be read shown in its row, the
stores left exactly as they were. Nothing sleeps for time to pass: the clock is pinned."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from console.app import HealthConsole
from console.store_watch import LIVE, WAITING
from console.widgets import DeskOverview, IssuesPanel, RthClock, SourceOverview, StatusLine, UptimePanel
from console.widgets.desk_overview import short_labels
from health.calendar import get_calendar
from health.codes import IssueCode, Status
from health.simulation import SimClock, at, monitor, run_loop
from store.alert_log import AlertLog

D11 = date(2025, 12, 11)
NOW = at(D11, 10, 30, 30)
SIZE = (100, 32)


def _loop(store: Path, source: str, start: float, until: float, **config) -> None:
    clock = SimClock(start)
    mon = monitor(store, clock, check_interval_seconds=60, max_uptime_gap_minutes=10, source=source, **config)
    run_loop(mon, clock, until, step=60, signal_every=2)
    mon.abandon()  # no clean stop: still "running" at `until`, or dead after it


@pytest.fixture(scope="module")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """a.db: "momentum" runs up to 10:30, "meanrev" died at 09:50 (a watchdog's NO_ACTIVITY is
    firing for it); b.db: "default" died at 09:45. At 10:30:30 two of the three are down."""
    root = tmp_path_factory.mktemp("desk")
    a, b = root / "a.db", root / "b.db"
    _loop(a, "momentum", at(D11, 9, 25), at(D11, 10, 30))
    _loop(a, "meanrev", at(D11, 9, 25), at(D11, 9, 50))
    _loop(b, "default", at(D11, 9, 25), at(D11, 9, 45))
    log = AlertLog(a)
    log.record_alert(
        "meanrev", IssueCode.NO_ACTIVITY, "CRITICAL", "no heartbeat for 11m", at(D11, 10, 1), False
    )
    log.close()
    return a, b


@pytest.fixture
def desk(desk_template: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    out = []
    for path in desk_template:
        target = tmp_path / path.name
        shutil.copy(path, target)
        out.append(target)
    return out[0], out[1]


def desk_console(paths, now: float = NOW, **kwargs) -> HealthConsole:
    kwargs.setdefault("calendar", [get_calendar("XNYS")] * len(paths))
    return HealthConsole(
        [str(p) for p in paths],
        clock=lambda: now,
        poll_interval=0.02,
        refresh_seconds=3600.0,
        alive=lambda run: None,
        watchdogs=lambda path: None,
        **kwargs,
    )


async def until(pilot, predicate: Callable[[], bool], what: str, polls: int = 250) -> None:
    for _ in range(polls):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def cells(table: DeskOverview) -> list[list[str]]:
    return [
        [str(table.get_cell_at((r, c))).strip() for c in range(len(table.columns))]
        for r in range(table.row_count)
    ]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_row_per_loop_of_every_store(desk) -> None:
    before = {p: digest(p) for p in desk}
    app = desk_console(desk)
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one(DeskOverview)
        await until(pilot, lambda: table.row_count == 3 and len(app.desk.snapshots) == 2, "three loops")
        await pilot.pause()
        rows = cells(table)
        assert [r[:4] for r in rows] == [
            ["▸ a.db", "meanrev", "✖ UNHEALTHY", "✖ down"],
            ["a.db", "momentum", "✔ HEALTHY", "● up"],
            ["b.db", "default", "✖ UNHEALTHY", "✖ down"],
        ]
        assert [r[4] for r in rows] == ["41m 35s", "1m 35s", "46m 35s"]  # data age: 5 s lag + silence
        assert rows[1][5] == "1m 30s ago"  # momentum's newest signal (every other minute)
        assert [r[6] for r in rows] == ["✖ 1", "none", "none"]
        assert app.sub_title == "✖ 1 alert firing"  # the header counts the whole desk
        assert not app.dashboard.query(SourceOverview)  # the one-store table is not there
        assert table.has_focus  # ↑/↓ and Enter work at once
        await pilot.press("q")
    assert app.return_code == 0
    assert {p: digest(p) for p in desk} == before  # read-only on every store


async def test_enter_shows_the_chosen_loop_in_the_panels(desk) -> None:
    _, b = desk
    app = desk_console(desk)
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one(DeskOverview)
        await until(pilot, lambda: table.row_count == 3 and len(app.desk.snapshots) == 2, "three loops")
        uptime = app.dashboard.query_one(UptimePanel)
        await until(pilot, lambda: "meanrev" in str(uptime.border_title), "the first loop in the panels")
        assert "DOWN" in uptime.text()
        await pilot.press("down")  # moving alone changes nothing in the panels
        await pilot.pause()
        assert "meanrev" in str(uptime.border_title)
        await pilot.press("enter")
        await until(pilot, lambda: "momentum" in str(uptime.border_title), "momentum in the panels")
        assert "● UP" in uptime.text()
        assert cells(table)[1][0] == "▸ a.db" and cells(table)[0][0] == "a.db"
        await pilot.press("down", "enter")
        await until(pilot, lambda: "default" in str(uptime.border_title), "b.db's loop in the panels")
        assert "DOWN" in uptime.text()
        assert app.ctx.store_path == b  # the date browser now opens on b.db
        status = app.dashboard.query_one(StatusLine).render().plain
        assert "UNHEALTHY" in status and "b.db" in status
        footer_keys = {b.key for b in table.BINDINGS}  # shown in the footer while it has focus
        assert "enter" in footer_keys
        await pilot.press("b")  # the browser, on the chosen store
        await until(pilot, lambda: type(app.screen).__name__ == "BrowserScreen", "the browser")
        assert app.screen.ctx.store_path == b


async def test_a_store_that_cannot_be_read_is_one_row(desk, tmp_path: Path) -> None:
    a, _ = desk
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    missing = tmp_path / "later" / "c.db"
    app = desk_console([a, garbage, missing])
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one(DeskOverview)
        await until(
            pilot,
            lambda: (
                app.desk.states[2].kind == WAITING
                and app.desk.states[0].kind == LIVE
                and table.row_count == 4
            ),
            "every store's row",
        )
        await until(
            pilot, lambda: app.desk.states[1].kind not in (LIVE, "starting"), "the garbage store's state"
        )
        await pilot.pause()
        rows = cells(table)
        assert [r[1] for r in rows[:2]] == ["meanrev", "momentum"]
        assert rows[2][:3] == ["garbage.db", "—", "✖ unreadable"]
        assert rows[3][:3] == ["c.db", "—", "⧗ no file"]
        notes = {r.store: r.note for r in table.loops}  # what the panels say when it is chosen
        assert "file is not a database" in notes[1] and "does not exist yet" in notes[2]
        assert all("\n" not in cell for row in rows for cell in row)  # one line each
        # Enter on it: the panels say why, in full, instead of another store's data.
        await pilot.press("down", "down", "enter")
        notice = app.dashboard.query_one(IssuesPanel)
        await until(pilot, lambda: notice.notice is not None and "garbage.db" in notice.notice, "the reason")
        assert "meanrev" not in str(app.dashboard.query_one(UptimePanel).border_title)
        assert app.desk.status() == Status.UNHEALTHY
        await pilot.press("q")
    assert app.return_code == 0
    assert not missing.exists() and not missing.parent.exists()  # waited for, never created


async def test_each_store_in_its_own_exchange_time(desk, tmp_path: Path) -> None:
    """A Hong Kong loop beside New York ones: its row is judged by its calendar, and choosing
    it turns the market clock to XHKG."""
    a, _ = desk
    hk = tmp_path / "hk.db"
    hk_day = date(2025, 12, 11)
    _loop(
        hk, "hk-loop", at(hk_day, 9, 25, calendar="XHKG"), at(hk_day, 11, 0, calendar="XHKG"), calendar="XHKG"
    )
    now = at(hk_day, 10, 30, calendar="XHKG")  # 21:30 in New York the evening before
    app = desk_console([a, hk], now, calendar=[get_calendar("XNYS"), get_calendar("XHKG")])
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one(DeskOverview)
        await until(pilot, lambda: len(app.desk.snapshots) == 2 and table.row_count == 3, "both stores")
        await pilot.pause()
        rows = cells(table)
        assert rows[2][:4] == ["hk.db", "hk-loop", "✔ HEALTHY", "● up"]
        clock = app.dashboard.query_one(RthClock)
        assert clock.border_title == "Market · XNYS"
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: clock.border_title == "Market · XHKG", "the HK clock")
        assert "hk-loop" in str(app.dashboard.query_one(UptimePanel).border_title)


async def test_fits_80x24(desk) -> None:
    app = desk_console(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.dashboard.query_one(DeskOverview)
        await until(pilot, lambda: table.row_count == 3, "three loops")
        await pilot.pause()
        assert table.region.height == 4  # the header and three rows: no border at 24 lines
        assert table.virtual_size.width <= table.size.width  # every column on screen, no scrolling
        for selector in ("#clock", "#uptime", "#data-age", "#issues", "#gating"):
            region = app.dashboard.query_one(selector).region
            assert region.height >= 3 and region.bottom <= 23 and region.right <= 80, (selector, region)


def test_short_labels_tell_stores_apart() -> None:
    assert short_labels(["/srv/a.db", "/srv/b.db"]) == ["a.db", "b.db"]
    assert short_labels(["/srv/desk1/health.db", "/srv/desk2/health.db"]) == [
        "desk1/health.db",
        "desk2/health.db",
    ]
    assert short_labels(["x/h.db", "y/x/h.db"]) == ["x/h.db", "y/x/h.db"]


async def test_a_store_that_appears_gets_its_rows_and_the_cursor_stays(desk, tmp_path: Path) -> None:
    a, _ = desk
    later = tmp_path / "later" / "c.db"
    app = desk_console([a, later])
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one(DeskOverview)
        await until(
            pilot, lambda: table.row_count == 3 and app.desk.states[1].kind == WAITING, "c.db waited for"
        )
        await pilot.press("down")  # on momentum, not chosen
        assert cells(table)[table.cursor_row][1] == "momentum"
        later.parent.mkdir()
        _loop(later, "late-a", at(D11, 9, 25), at(D11, 10, 30))  # two loops start writing c.db
        _loop(later, "late-b", at(D11, 9, 25), at(D11, 10, 30))
        await until(pilot, lambda: [r[1] for r in cells(table)][2:] == ["late-a", "late-b"], "c.db's loops")
        assert cells(table)[table.cursor_row][1] == "momentum"  # the rows changed, not where the operator is
        await pilot.press("tab")  # away from the table ...
        assert not table.has_focus
        await pilot.press("s")  # ... and `s` (pick a loop) comes back to it
        assert table.has_focus


def test_the_desk_header_shows_the_worst_status_first() -> None:
    assert Status.worst([Status.HEALTHY, Status.CLOSED]) == Status.HEALTHY
    assert Status.worst([Status.DEGRADED, Status.UNKNOWN, Status.HEALTHY]) == Status.UNKNOWN
    assert Status.worst(["UNKNOWN", "UNHEALTHY", "DEGRADED"]) == Status.UNHEALTHY
    assert Status.worst([]) is None


async def test_source_shows_only_the_loops_of_that_name(desk) -> None:
    """``--source momentum`` on a desk: that loop of every store; a store without it says so."""
    app = desk_console(desk, source="momentum")
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one(DeskOverview)
        await until(pilot, lambda: len(app.desk.snapshots) == 2 and table.row_count == 2, "two rows")
        await pilot.pause()
        rows = cells(table)
        assert [r[:3] for r in rows] == [["▸ a.db", "momentum", "✔ HEALTHY"], ["b.db", "—", "— no loop"]]
        assert "momentum" in str(app.dashboard.query_one(UptimePanel).border_title)
        assert table.loops[1].note == "no loop named momentum in this store"
