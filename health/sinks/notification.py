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
    recommendations (analysis), not from the condition that fired. ``store`` names the health
    store when the watchdog watches several (a desk): two stores may each hold a "default" loop.
    """

    alert: Alert
    first_step: str | None = None
    store: str | None = None


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


@dataclass(frozen=True)
class ReadinessNotice:
    """The readiness check before a session (health/readiness.py): one READY or NOT_READY,
    with the checks that did not pass (failures first), each with its fix."""

    status: str  # "READY" or "NOT_READY"
    headline: str  # "NOT_READY for the XNYS session Fri 2025-11-28 09:30 EST (early close ...)"
    calendar: str
    session_open: datetime
    at: datetime  # when it was checked
    lines: tuple[str, ...]  # what did not pass; empty when every check passed
    checks: int  # how many checks ran
    warnings: bool = False  # READY, with warnings among the lines


Deliverable = Notification | DailySummary | CatchUpDigest | ReadinessNotice


def as_deliverable(item: object) -> Deliverable:
    """Accept a bare :class:`Alert` too, so ``alert_callback=dispatcher.submit`` just works."""
    if isinstance(item, Notification | DailySummary | CatchUpDigest | ReadinessNotice):
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
    if isinstance(item, ReadinessNotice):
        return f"readiness {item.status} {item.calendar} {item.session_open:%Y-%m-%d}"
    return f"daily summary {item.date} {item.calendar} {item.status}"
