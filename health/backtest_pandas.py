"""The array gate (health/backtest.py) on a signals DataFrame: two columns added, for a
vectorised backtester that keeps its bars in pandas.

pandas is imported when the helper runs, never by importing this module: whoever calls it has
handed us a DataFrame, so pandas is loaded already, and the rest of the program (reports,
console, the recorder hook) stays free of it (pyproject.toml, the import contracts).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from health.backtest import gate_index
from health.calendar import MarketCalendar, get_calendar
from health.config import MonitorConfig
from health.gate import REASON_CODES


def add_gate_columns(
    frame: Any,
    data_ts: str = "data_ts",
    now: str | None = None,
    calendar: str | MarketCalendar = "XNYS",
    max_data_age_hours: float = 1.0,
    *,
    future_tolerance_seconds: float = 5.0,
    naive_timezone: str | tzinfo | None = None,
    allowed: str = "gate_allowed",
    reason: str = "gate_reason",
) -> Any:
    """A copy of ``frame`` with ``allowed`` (bool) and ``reason`` (a categorical of the gate's
    reason codes) for every row: the gate asked at ``now`` (a column, or the index when None)
    about the data stamped ``data_ts`` (a column). Rows the gate refuses are the signals
    production would not have made: ``frame[frame.gate_allowed]`` keeps the others."""
    import pandas as pd

    config = MonitorConfig(
        calendar=calendar if isinstance(calendar, str) else calendar.code,
        max_data_age_hours=max_data_age_hours,
        future_tolerance_seconds=future_tolerance_seconds,
        naive_timezone=naive_timezone,
    )
    cal = get_calendar(calendar) if isinstance(calendar, str) else calendar
    when = frame.index if now is None else frame[now]
    index = gate_index(cal, when, frame[data_ts], config)
    codes = pd.Categorical.from_codes(index, categories=list(REASON_CODES))
    return frame.assign(**{allowed: index == REASON_CODES.index("ok"), reason: codes})
