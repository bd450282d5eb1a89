"""Schema and forward migrations, versioned with ``PRAGMA user_version``.

Storage grows with what matters, not with heartbeat count: heartbeats are coalesced into
uptime spans (one row per unbroken run of beats), routine gate decisions into buckets (count
and data-age range per source, bucket and reason code). Signals, lifecycle events and alerts
are kept one row each; the signals are also summed up per loop and minute, and per loop and
quarter hour, by triggers (store/signal_minutes.py), for reports over long periods.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from store import signal_minutes

if TYPE_CHECKING:  # imported when a migration runs: readers and CLIs never pay for it
    import sqlite_utils

SCHEMA_VERSION = 7

# Gate decisions are aggregated into buckets by a rule the recorder is given (the domain's:
# the store knows no reason code); no bucket is longer than this, so a query for a window
# looks back this far for the buckets that reach into it.
MAX_GATE_BUCKET_SECONDS = 3600
# The gate's buckets by reason code (schema v7): how a reader finds the few buckets of the rare
# codes a period reads one by one without visiting every bucket of the range.
GATE_BY_CODE = "idx_gate_code_source_bucket"


def _v1(db: sqlite_utils.Database) -> None:
    db["runs"].create(
        {
            "run_id": str,
            "source": str,
            "pid": int,
            "host": str,
            "argv": str,  # JSON list
            "version": str,
            "config": str,  # JSON object: the monitor's thresholds
            "started_at": float,
            "stopped_at": float,  # set on a clean stop only
            "last_seen": float,  # newest event written for this run
        },
        pk="run_id",
        not_null={"source", "started_at"},
    )
    db["runs"].create_index(["source", "started_at"])
    db["spans"].create(
        {"run_id": str, "seq": int, "source": str, "start": float, "end": float, "beats": int},
        pk=("run_id", "seq"),
        not_null={"source", "start", "end", "beats"},
    )
    db["spans"].create_index(["end"])
    db["gate"].create(
        {
            "source": str,
            "bucket": int,  # epoch seconds, start of the bucket
            "code": str,
            "allowed": int,
            "count": int,
            "min_age": float,
            "max_age": float,
            "sum_age": float,
            "first_at": float,
            "last_at": float,
            "last_reason": str,
            "last_data_ts": float,
        },
        pk=("source", "bucket", "code"),
        not_null={"allowed", "count", "first_at", "last_at"},
    )
    db["gate"].create_index(["bucket"])
    db["signals"].create(
        {
            "id": int,
            "source": str,
            "run_id": str,
            "at": float,
            "symbol": str,
            "data_ts": float,
            "details": str,  # JSON object or NULL
        },
        pk="id",
        not_null={"source", "at", "symbol", "data_ts"},
    )
    db["signals"].create_index(["at"])
    db["events"].create(
        {"id": int, "source": str, "run_id": str, "at": float, "kind": str, "detail": str},
        pk="id",
        not_null={"at", "kind"},
    )
    db["events"].create_index(["at"])
    db["alerts"].create(
        {
            "id": int,
            "source": str,
            "code": str,
            "severity": str,
            "message": str,
            "at": float,
            "resolved": int,
            "origin": str,  # "monitor" (in process) or "watchdog"
            "detail": str,
        },
        pk="id",
        not_null={"code", "severity", "at", "resolved"},
    )
    db["alerts"].create_index(["at"])


def _v2(db: sqlite_utils.Database) -> None:
    """Alert deliveries (for the watchdog and the daily notify), and a (source, code)
    index so the watchdog's state survives a restart cheaply."""
    db["deliveries"].create(
        {
            "id": int,
            "alert_id": int,  # NULL for a daily summary
            "sink": str,  # redacted description of the sink
            "at": float,
            "ok": int,
            "status": int,  # HTTP status, NULL when none
            "detail": str,
            "kind": str,  # "alert" or "summary"
        },
        pk="id",
        not_null={"sink", "at", "ok"},
    )
    db["deliveries"].create_index(["at"])
    db["alerts"].create_index(["source", "code", "at"])


def _v3(db: sqlite_utils.Database) -> None:
    """The calendars the loops trade on, as they recorded them (store/calendars.py): readers
    answer from these rows without building the calendar. One recording per calendar code;
    days are ISO dates, instants epoch seconds (UTC); ``detail`` is the writer's JSON."""
    db.execute(
        "CREATE TABLE calendars (code TEXT PRIMARY KEY, version TEXT NOT NULL, "
        "first_day TEXT NOT NULL, last_day TEXT NOT NULL, timezone TEXT NOT NULL, "
        "detail TEXT, recorded_at REAL NOT NULL)"
    )
    db.execute(
        "CREATE TABLE calendar_sessions (code TEXT NOT NULL, day TEXT NOT NULL, "
        "open REAL NOT NULL, close REAL NOT NULL, break_start REAL, break_end REAL, "
        "early_close INTEGER NOT NULL, late_open INTEGER NOT NULL, PRIMARY KEY (code, day)) "
        "WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE calendar_closures (code TEXT NOT NULL, day TEXT NOT NULL, name TEXT, "
        "PRIMARY KEY (code, day)) WITHOUT ROWID"
    )


def _acks_and_notices(db: sqlite_utils.Database) -> None:
    """Operators' acknowledgements (store/acks.py: ``health-console --ack`` and the console's
    issues panel), each with its expiry, reason and name; and the watchdog's notices that are
    no alert transition (a readiness check before a session), so that a restarted watchdog
    does not send one twice. Self-contained: it creates only its own tables, and readers
    treat a store without them as holding none (it became v4 when the calendar tables took v3)."""
    db["acks"].create(
        {
            "id": int,
            "code": str,  # an issue code
            "source": str,  # the loop; NULL for every loop of the store
            "by": str,  # who acknowledged
            "reason": str,
            "at": float,  # when
            "until": float,  # the expiry: there is no ack without one
        },
        pk="id",
        not_null={"code", "by", "reason", "at", "until"},
    )
    db["acks"].create_index(["until"])
    db["notices"].create(
        {
            "id": int,
            "kind": str,  # "readiness"
            "calendar": str,
            "session": str,  # the session it is about, YYYY-MM-DD
            "at": float,
            "status": str,  # READY / NOT_READY
            "detail": str,  # JSON: the checks
        },
        pk="id",
        not_null={"kind", "at", "status"},
    )
    db["notices"].create_index(["kind", "session"])


def _signal_minutes(db: sqlite_utils.Database) -> None:
    """The signals summed up per loop and minute, kept by triggers (store/signal_minutes.py):
    a period's report reads a year's signals from these rows, not one row per signal. Filled
    from the signals already stored, once, under the migration's lock."""
    signal_minutes.create(db.conn)


def _signal_quarters(db: sqlite_utils.Database) -> None:
    """The signals summed up per loop and quarter hour, kept by the same triggers
    (store/signal_minutes.py): a year's pieces of time, cut at session hours and whole hours,
    read a fifteenth of the minutes' rows. Filled from ``signal_minutes`` (whole minutes make a
    quarter), once, under the migration's lock."""
    signal_minutes.create(db.conn, signal_minutes.QUARTERS, from_minutes=True)


def _gate_by_code(db: sqlite_utils.Database) -> None:
    """The gate's buckets by (code, source, bucket): a period's few stale, previous-session and
    future buckets were found by reading every bucket of its range (some 5 ms for the one-year
    store's 53k, to find none). The recorder's updates of a bucket (its count, ages, last
    decision) change none of these columns, so only a new bucket pays for the index."""
    db["gate"].create_index(["code", "source", "bucket"], index_name=GATE_BY_CODE)


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _v1,
    2: _v2,
    3: _v3,
    4: _acks_and_notices,
    5: _signal_minutes,
    6: _signal_quarters,
    7: _gate_by_code,
}


class SchemaTooNewError(RuntimeError):
    pass


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the store to SCHEMA_VERSION; safe when several processes start at once."""
    if schema_version(conn) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    conn.execute("BEGIN IMMEDIATE")  # one migrator at a time; re-read under the lock
    try:
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"store schema version {current} is newer than this program's {SCHEMA_VERSION}: "
                f"upgrade production-health"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](db)
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION
