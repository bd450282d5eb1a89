"""What every screen needs to know about the session: the store, the calendar, the clock.

Passed down explicitly (no globals), so tests build screens with a pinned clock and a store
in a temporary directory, and snapshot tests show a stable label instead of a tmp path.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from health.calendar import MarketCalendar
from health.report import HealthReport


@dataclass(frozen=True)
class ConsoleContext:
    store_path: Path
    calendar: MarketCalendar
    clock: Callable[[], float]
    source: str | None = None
    label: str | None = None  # how the store is named on screen (default: its path)

    @property
    def store_label(self) -> str:
        return self.label or str(self.store_path)

    def now(self) -> float:
        return float(self.clock())

    def relabel(self, text: str) -> str:
        """Replace the store's path by its label (a demo's temporary path means nothing)."""
        if not self.label:
            return text
        for form in {str(self.store_path.resolve()), str(self.store_path), os.fspath(self.store_path)}:
            text = text.replace(form, self.label)
        return text

    def relabel_report(self, report: HealthReport) -> HealthReport:
        if not self.label:
            return report
        return dataclasses.replace(
            report,
            store_path=self.label,
            issues=tuple(dataclasses.replace(i, message=self.relabel(i.message)) for i in report.issues),
            recommendations=tuple(
                dataclasses.replace(
                    r, title=self.relabel(r.title), steps=tuple(self.relabel(s) for s in r.steps)
                )
                for r in report.recommendations
            ),
        )
