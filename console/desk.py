"""A desk: several health stores watched by one console (``health-console --store a.db
--store b.db``). One :class:`~console.store_watch.StoreWatch` per store, each in its own thread
worker and each with the calendar its loops recorded; their messages carry the store's index.
This holds what they last said and which loop the panels show; the app routes the messages
and the dashboard draws (console/widgets/desk_overview.py). Every store is read as the
one-store console reads its one (docs/CONTRACT.md §5); an ack goes to the chosen loop's store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from console.screens.context import ConsoleContext
from console.store_watch import StoreState, StoreWatch
from console.widgets.desk_overview import DeskRow, desk_rows, short_labels
from health.calendar import MarketCalendar, get_calendar
from health.codes import Status
from health.live import LiveSnapshot


def stores_and_calendars(
    store_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    calendar: str | MarketCalendar | Sequence[MarketCalendar],
) -> tuple[list, list[MarketCalendar]]:
    """The console's stores (one, or a desk's) and a calendar for each: one per store, or one
    for all of them."""
    paths = [store_path] if isinstance(store_path, str | os.PathLike) else list(store_path)
    cals = list(calendar) if isinstance(calendar, Sequence) and not isinstance(calendar, str) else [calendar]
    cals = [get_calendar(c) if isinstance(c, str) else c for c in cals]
    return paths, cals * len(paths) if len(cals) == 1 else cals


class Desk:
    def __init__(
        self,
        paths: Sequence[Path],
        calendars: Sequence[MarketCalendar],
        clock: Callable[[], float],
        *,
        source: str | None = None,
        labels: Sequence[str] | None = None,
        **watch_options,
    ) -> None:
        """``labels``: how the stores are named on screen (default: the fewest trailing parts
        of their paths that tell them apart)."""
        self.paths = [Path(p) for p in paths]
        self.labels = list(labels) if labels else short_labels([str(p) for p in self.paths])
        self.calendars = list(calendars)
        self.clock = clock
        self.source = source
        self.watches = [
            StoreWatch(path, cal, clock, source=source, label=label, key=i, **watch_options)
            for i, (path, cal, label) in enumerate(zip(self.paths, self.calendars, self.labels, strict=True))
        ]
        self.snapshots: dict[int, LiveSnapshot] = {}
        self.states: dict[int, StoreState] = {w.key: w.state for w in self.watches}
        self.watchdogs: dict[int, bool | None] = {}
        self.current = 0  # the store whose loop the panels show
        self.current_source: str | None = source

    def context(self, index: int | None = None) -> ConsoleContext:
        """What the date browser needs for a store: its path, calendar and label."""
        i = self.current if index is None else index
        return ConsoleContext(self.paths[i], self.calendars[i], self.clock, self.source, self.labels[i])

    def rows(self) -> tuple[DeskRow, ...]:
        return desk_rows(self.labels, self.snapshots, self.states, self.source)

    def selected_key(self) -> str | None:
        """The row the panels show: the chosen loop, else the store's first loop."""
        rows = [r for r in self.rows() if r.store == self.current]
        for r in rows:
            if r.source == self.current_source:
                return r.key
        return rows[0].key if rows else None

    def status(self) -> Status | None:
        """The desk's worst status today (UNHEALTHY first, then a store that cannot say)."""
        return Status.worst(r.status or Status.UNKNOWN for r in self.rows())

    def firing(self) -> int:
        return sum(len(s.firing) for s in self.snapshots.values())

    def watchdog(self) -> bool | None:
        """False when some store has no watchdog here (its alerts reach no one), True when every
        store has one, None when it cannot be told."""
        seen = [self.watchdogs.get(i) for i in range(len(self.watches))]
        if any(v is False for v in seen):
            return False
        return True if seen and all(v is True for v in seen) else None
