"""Production Health: the domain (calendar, gate, analysis, rules, alerts) and the recorder hook.

``from health import ProductionMonitor, MonitorConfig`` is the integration point for loops.
Exports are resolved lazily, so the report CLIs that import ``health.loader`` do not pay for
the recorder's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "Alert": "health.alerts",
    "CalendarError": "health.calendar",
    "CalendarRangeError": "health.calendar",
    "MarketCalendar": "health.calendar",
    "UnknownCalendarError": "health.calendar",
    "MonitorConfig": "health.config",
    "ProductionMonitor": "health.monitor",
}

__all__ = [
    "Alert",
    "CalendarError",
    "CalendarRangeError",
    "MarketCalendar",
    "MonitorConfig",
    "ProductionMonitor",
    "UnknownCalendarError",
]

if TYPE_CHECKING:
    from health.alerts import Alert
    from health.calendar import CalendarError, CalendarRangeError, MarketCalendar, UnknownCalendarError
    from health.config import MonitorConfig
    from health.monitor import ProductionMonitor


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'health' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
