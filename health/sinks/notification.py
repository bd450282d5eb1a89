"""What the sinks deliver: an alert transition or a daily report summary.

Both are frozen so that one item can be fanned out to several sinks (and several threads)
without any of them being able to change what the others send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from health.alerts import Alert
from health.codes import Status


@dataclass(frozen=True)
class Notification:
    """One alert transition (firing or resolved), with the first step a person should take.

    ``first_step`` travels beside the alert rather than inside it because it comes from the
    recommendations (analysis), not from the condition that fired.
    """

    alert: Alert
    first_step: str | None = None


@dataclass(frozen=True)
class DailySummary:
    """The day's report in a few lines, for ``check-production-health --notify``."""

    date: str  # YYYY-MM-DD, in the calendar's timezone
    calendar: str  # exchange_calendars code, e.g. "XNYS"
    status: Status
    source: str | None
    lines: tuple[str, ...]
    first_step: str | None


@dataclass(frozen=True)
class CatchUpDigest:
    """Conditions that began while alerts were muted (overnight, a weekend, a holiday, a lunch
    break) and still hold when the session opens: sent once, together, at the open."""

    at: datetime  # the open (the evaluation that found them), in the exchange's zone
    alerts: tuple[Notification, ...]
    since: datetime  # when the first of them began


Deliverable = Notification | DailySummary | CatchUpDigest


def as_deliverable(item: object) -> Deliverable:
    """Accept a bare :class:`Alert` too, so ``alert_callback=dispatcher.submit`` just works."""
    if isinstance(item, Notification | DailySummary | CatchUpDigest):
        return item
    if isinstance(item, Alert):
        return Notification(item)
    raise TypeError(
        f"a sink delivers a Notification, a summary, a digest or an Alert, not {type(item).__name__}"
    )


def describe_item(item: Deliverable) -> str:
    """A short label for logs: never the message body (it may be long), never a secret."""
    if isinstance(item, Notification):
        alert = item.alert
        state = "resolved" if alert.resolved else "firing"
        return f"{alert.code} {state} ({alert.source})"
    if isinstance(item, CatchUpDigest):
        return f"catch-up digest of {len(item.alerts)} alert(s)"
    return f"daily summary {item.date} {item.calendar} {item.status}"
