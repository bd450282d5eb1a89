"""Durations and limits as people read them at 9:31 in the morning, the same on every screen:
a measured duration ("2h 03m", "12m 05s", "45s") and a configured limit ("1h 00m", "0h 15m")."""

from __future__ import annotations


def fmt_duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m {int(seconds % 60):02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def fmt_limit(seconds: float) -> str:
    """A configured limit, always with hours and minutes: "1h 00m", "0h 30m"."""
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds:g}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"
