"""What became of each ack (store/acks.py): in force, ended because its condition resolved, or
expired — one definition for the report, the console and the watchdog (which applies the same
rule in health/alert_engine.py: an ack lasts until its expiry or until the condition resolves,
whichever comes first)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from store.acks import AckRecord
from store.records import AlertRecord


@dataclass(frozen=True)
class AckState:
    ack: AckRecord
    ended_at: float | None  # None: still in force at ``now``
    ended_by: str | None  # "resolved" or "expired"

    def in_force(self) -> bool:
        return self.ended_at is None

    def describe(self, tz) -> str:
        a = self.ack

        def t(ts: float) -> str:
            return datetime.fromtimestamp(ts, tz).strftime("%a %H:%M %Z")

        who = f"{a.code} ({a.source or 'every loop'}) by {a.by} at {t(a.at)}, until {t(a.until)}: {a.reason}"
        if self.ended_by == "resolved":
            return f"{who} — ended {t(self.ended_at)}, when it resolved"
        if self.ended_by == "expired":
            return f"{who} — expired"
        return who


def ack_states(acks: Iterable[AckRecord], alerts: Iterable[AlertRecord], now: float) -> tuple[AckState, ...]:
    """Each ack with its end as of ``now``, from the watchdog's recorded resolutions."""
    resolutions = sorted((a.at, a.source, a.code) for a in alerts if a.origin == "watchdog" and a.resolved)
    out = []
    for ack in acks:
        ended = next(
            (at for at, source, code in resolutions if ack.at <= at < ack.until and ack.covers(source, code)),
            None,
        )
        if ended is not None and ended <= now:
            out.append(AckState(ack, ended, "resolved"))
        elif ack.until <= now:
            out.append(AckState(ack, ack.until, "expired"))
        else:
            out.append(AckState(ack, None, None))
    return tuple(out)


def in_force(states: Iterable[AckState], source: str | None, code: str) -> AckState | None:
    """The ack in force for one loop's code (the longest-lasting if several)."""
    found = [s for s in states if s.in_force() and s.ack.covers(source or "", code)]
    return max(found, key=lambda s: s.ack.until) if found else None
