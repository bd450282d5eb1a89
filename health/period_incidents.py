"""A period's incidents (docs/CONTRACT.md §3, ``--from``/``--to``): its days' gaps, each from the
loop's failure to its recovery."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from health.calendar import MarketCalendar

if TYPE_CHECKING:
    from health.period import DayRow


@dataclass(frozen=True)
class Incident:
    """A loop silent in RTH longer than its gap limit, from its failure to its recovery."""

    source: str
    start: float  # the last heartbeat before the silence (the failure)
    end: float  # the first heartbeat after it (the recovery); the period's end, if ongoing
    rth_seconds: float  # RTH lost: the downtime
    ongoing: bool

    @property
    def recovery_seconds(self) -> float:
        """Time from the failure to the recovery, nights and weekends included."""
        return self.end - self.start


def incidents(
    cal: MarketCalendar,
    rows: Sequence[DayRow],
    next_activity: Callable[[str, float], float | None],
    until: float,
) -> list[Incident]:
    """The period's gaps as incidents: from the failure (the gap's start) to the recovery, the
    loop's next heartbeat — for a gap that runs to the close, whenever that came (the loop down
    overnight, or over a holiday, is one incident, its next day's silence included), but no later
    than ``until``, the period's end: a loop not back by then is still down (ongoing). The
    downtime is the RTH between the two."""
    out: list[Incident] = []
    down_until: dict[str, float] = {}  # source -> the recovery of its latest incident
    for row in rows:
        sess = cal.session(row.day) if row.trading_day else None
        for g in sorted(row.gaps, key=lambda g: g.start):
            if g.start < down_until.get(g.source, float("-inf")):
                continue  # the same silence, seen again from the next session's open
            end, ongoing = g.end, g.ongoing
            if not ongoing and sess is not None and g.end >= sess.close_ts:
                nxt = next_activity(g.source, g.end)
                end, ongoing = (until, True) if nxt is None or nxt > until else (nxt, False)
            lost = sum(b - a for a, b, _ in cal.rth_parts(g.start, end))
            out.append(Incident(g.source, g.start, end, lost, ongoing))
            down_until[g.source] = end
    return out
