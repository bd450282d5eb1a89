"""Production Health: the domain (calendar, gate, analysis, rules, alerts) and the recorder hook.

``from health import ProductionMonitor, MonitorConfig`` is the integration point for loops.
"""

from health.alerts import Alert
from health.calendar import CalendarError, CalendarRangeError, MarketCalendar, UnknownCalendarError
from health.config import MonitorConfig
from health.monitor import ProductionMonitor

__all__ = [
    "Alert",
    "CalendarError",
    "CalendarRangeError",
    "MarketCalendar",
    "MonitorConfig",
    "ProductionMonitor",
    "UnknownCalendarError",
]
