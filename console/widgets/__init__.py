"""Dashboard widgets: one per module, each with its DEFAULT_CSS and reactive attributes.

Data flows down as attributes (the dashboard screen sets them from a LiveSnapshot); widgets
re-render only when an attribute really changed (reactives compare old and new values).
"""

from console.widgets.data_age_panel import DataAgePanel
from console.widgets.desk_overview import DeskOverview
from console.widgets.gating_panel import GatingPanel
from console.widgets.issues_panel import IssuesPanel
from console.widgets.rth_clock import RthClock
from console.widgets.source_overview import SourceOverview
from console.widgets.status_line import StatusLine
from console.widgets.uptime_panel import UptimePanel

__all__ = [
    "DataAgePanel",
    "DeskOverview",
    "GatingPanel",
    "IssuesPanel",
    "RthClock",
    "SourceOverview",
    "StatusLine",
    "UptimePanel",
]
