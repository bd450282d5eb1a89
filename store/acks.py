"""Acknowledgements: an operator's "I know, stop paging me about it until then" for one issue
code (of one loop, or of every loop), always with an expiry, a reason and a name.

Writing one is an explicit operator command (``health-console --ack`` or the console's issues
panel), so this module is the third writer of the store, beside the loops' recorders and the
watchdog's alert log (docs/CONTRACT.md §5): it opens the store ``mode=rw`` — never creating
it — migrates it like the alert log does, inserts one row in a short transaction and closes.
Unlike the alert log it raises: the operator must learn that the ack was not stored.

Reading them is the reader's (``StoreReader.acks``); an older store without the table reads as
holding none.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from store.schema import SchemaTooNewError, migrate

MAX_ACK_SECONDS = 7 * 86400  # a week: an ack is a snooze, not a way to switch an alert off
MAX_REASON_CHARS = 500


class AckError(RuntimeError):
    """The ack could not be stored: one line for the operator."""


@dataclass(frozen=True)
class AckRecord:
    id: int
    code: str
    source: str | None  # None: every loop of the store
    by: str
    reason: str
    at: float  # when it was made
    until: float  # when it expires

    def covers(self, source: str, code: str) -> bool:
        return self.code == code and (self.source is None or self.source == source)

    def active_at(self, t: float) -> bool:
        return self.at <= t < self.until


def write_ack(
    path: str | Path,
    code: str,
    source: str | None,
    by: str,
    reason: str,
    at: float,
    until: float,
    *,
    busy_timeout: float = 2.0,
) -> AckRecord:
    """Store one ack and return it; :class:`AckError` when it cannot be, the store untouched."""
    reason = " ".join(str(reason).split())
    by = " ".join(str(by).split())
    if not reason:
        raise AckError("an ack needs a reason (--reason)")
    if len(reason) > MAX_REASON_CHARS:
        raise AckError(f"the reason is longer than {MAX_REASON_CHARS} characters")
    if not by:
        raise AckError("an ack needs a name (who acknowledged)")
    if not (math.isfinite(at) and math.isfinite(until)) or until <= at:
        raise AckError("an ack needs an expiry after now (--for)")
    if until - at > MAX_ACK_SECONDS:
        raise AckError("an ack lasts at most 7 days: it is a snooze, not a switch")
    path = Path(path)
    if not path.is_file():
        raise AckError(f"health store {path} does not exist (a loop creates it; an ack never does)")
    conn = None
    try:
        uri = f"file:{quote(str(path.resolve()))}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
        migrate(conn)  # an older store gains the acks table, as the alert log does
        cur = conn.execute(
            'INSERT INTO acks (code, source, "by", reason, at, until) VALUES (?,?,?,?,?,?)',
            (code, source, by, reason, at, until),
        )
        return AckRecord(int(cur.lastrowid), code, source, by, reason, at, until)
    except SchemaTooNewError as exc:
        raise AckError(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise AckError(f"cannot write the ack to {path}: {exc}") from None
    finally:
        if conn is not None:
            conn.close()


def ack_from_row(row: tuple) -> AckRecord:
    return AckRecord(int(row[0]), row[1], row[2], row[3], row[4], float(row[5]), float(row[6]))
