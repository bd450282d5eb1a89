"""The recorded calendar is written in steps between the loop's batches and published in one
short transaction (store/calendars.py, CalendarWriter): a reader sees the old recording or the
new one whole, never a part, and what a crashed or outpaced writer staged never shows."""

from __future__ import annotations

import sqlite3

import pytest

from store.calendars import CalendarHeader, CalendarWriter, read_header, read_rows, write_calendar
from store.schema import migrate

PAST = 0.0  # a deadline already passed: each call does one step


def _header(version: str) -> CalendarHeader:
    return CalendarHeader("XTST", version, "2020-01-01", "2020-12-31", "UTC", "{}")


def _rows(n: int, shift: float = 0.0):
    sessions = [
        (
            f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}",
            i * 86400.0 + shift,
            i * 86400.0 + 3600,
            None,
            None,
            0,
            0,
        )
        for i in range(n)
    ]
    closures = [("2020-12-25", "Christmas"), ("2020-12-26", None)]
    return sessions, closures


@pytest.fixture
def conn(tmp_path):
    c = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    migrate(c)
    yield c
    c.close()


def _recorded(conn: sqlite3.Connection):
    header = read_header(conn, "XTST")
    return None if header is None else read_rows(conn, header)


def _staged(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM calendar_sessions WHERE code != 'XTST'").fetchone()[0]


def test_steps_stage_rows_that_no_reader_sees_until_one_publication(conn) -> None:
    writer = CalendarWriter(_header("1"), lambda: _rows(1200))
    assert writer.step(conn, PAST) is None  # the rows are built: nothing written yet
    steps = 0
    while (done := writer.step(conn, PAST)) is None:
        steps += 1
        assert _recorded(conn) is None
        assert conn.execute("SELECT count(*) FROM calendar_sessions WHERE code = 'XTST'").fetchone()[0] == 0
    assert done is True
    assert steps == 3  # 1200 sessions in steps of 500, then the closures: 4 steps, the last publishes
    recorded = _recorded(conn)
    assert recorded.header == _header("1")
    assert [tuple(r) for r in recorded.sessions] == _rows(1200)[0]
    assert [tuple(r) for r in recorded.closures] == _rows(1200)[1]
    assert _staged(conn) == 0


def test_a_new_recording_replaces_the_old_one_whole_at_publication(conn) -> None:
    assert write_calendar(conn, _header("1"), lambda: _rows(700))
    writer = CalendarWriter(_header("2"), lambda: _rows(600, shift=1.0))
    writer.step(conn, PAST)
    writer.step(conn, PAST)
    old = _recorded(conn)  # halfway: the old recording, whole
    assert old.header.version == "1" and len(old.sessions) == 700
    while writer.step(conn, PAST) is None:
        pass
    new = _recorded(conn)
    assert new.header.version == "2"
    assert [tuple(r) for r in new.sessions] == _rows(600, shift=1.0)[0]


def test_the_same_recording_is_not_written_again(conn) -> None:
    assert write_calendar(conn, _header("1"), lambda: _rows(10))

    def never():
        raise AssertionError("rows built for a recording the store holds")

    assert CalendarWriter(_header("1"), never).step(conn, PAST) is False


def test_a_crashed_writers_staging_is_dropped_by_the_next_publication(conn) -> None:
    crashed = CalendarWriter(_header("1"), lambda: _rows(1200))
    crashed.step(conn, PAST)
    crashed.step(conn, PAST)  # 500 rows staged, then the process died
    assert _staged(conn) == 500
    assert write_calendar(conn, _header("1"), lambda: _rows(1200))
    assert _staged(conn) == 0
    assert len(_recorded(conn).sessions) == 1200


def test_a_writer_outpaced_by_another_gives_up_and_leaves_the_winner_whole(conn) -> None:
    slow = CalendarWriter(_header("1"), lambda: _rows(1200))
    slow.step(conn, PAST)
    slow.step(conn, PAST)  # part staged
    assert write_calendar(conn, _header("2"), lambda: _rows(900, shift=2.0))  # drops slow's staging
    while (done := slow.step(conn, PAST)) is None:
        pass
    assert done is False
    winner = _recorded(conn)
    assert winner.header.version == "2"
    assert [tuple(r) for r in winner.sessions] == _rows(900, shift=2.0)[0]
    assert _staged(conn) == 0


def test_a_failed_step_is_rolled_back_and_resumed(conn, tmp_path) -> None:
    writer = CalendarWriter(_header("1"), lambda: _rows(1200))
    writer.step(conn, PAST)
    other = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    conn.execute("PRAGMA busy_timeout = 10")
    with pytest.raises(sqlite3.OperationalError):
        writer.step(conn, PAST)
    other.execute("ROLLBACK")
    other.close()
    assert not conn.in_transaction
    while writer.step(conn, PAST) is None:
        pass
    assert [tuple(r) for r in _recorded(conn).sessions] == _rows(1200)[0]
