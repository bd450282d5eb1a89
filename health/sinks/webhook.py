"""Generic JSON webhook sink: one flat JSON object per item, for any receiver.

The object is the contract between us and whatever the user wires up (a chat bridge, an
incident tool, a script), so it is flat and stable:
``{kind, code, severity, message, source, at, resolved, first_step}`` plus ``text`` (a one-line
rendering, which Slack- and Mattermost-style incoming webhooks display as is) and, for daily
summaries, ``date``, ``calendar``, ``status`` and ``lines``; a catch-up digest (``kind``
"digest") carries ``since`` and ``alerts``, each an alert's object; a readiness notice (``kind``
"readiness") ``status`` (READY / NOT_READY), ``calendar``, ``session_open`` and ``lines``. An
alert carries ``store`` too when the watchdog watches several stores.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from health.codes import Severity, Status
from health.sinks.http import HttpSink
from health.sinks.notification import (
    CatchUpDigest,
    DailySummary,
    Deliverable,
    Notification,
    ReadinessNotice,
    as_deliverable,
)

_STATUS_SEVERITY = {Status.UNHEALTHY: Severity.CRITICAL, Status.DEGRADED: Severity.WARNING}


def _plain_json(details: Any) -> Any:
    """``details`` as plain JSON whatever the loop put in it: an odd value must not cost us
    the alert (non-JSON values become strings, NaN becomes "NaN", odd keys are skipped)."""
    try:
        text = json.dumps(details, default=str, skipkeys=True)
        return json.loads(text, parse_constant=str)
    except (TypeError, ValueError):
        return {"repr": repr(details)[:1000]}


def webhook_payload(item: Deliverable, *, now: datetime | None = None) -> dict[str, Any]:
    """The JSON object for ``item``; ``now`` stamps summaries (they carry no time of their own)."""
    item = as_deliverable(item)
    if isinstance(item, Notification):
        alert = item.alert
        return {
            "kind": "alert",
            "code": alert.code,
            "severity": alert.severity,
            "message": alert.message,
            "source": alert.source,
            "at": alert.at.isoformat(),
            "resolved": alert.resolved,
            "first_step": item.first_step,
            "details": _plain_json(alert.details),
            "text": str(alert),
        } | ({"store": item.store} if item.store else {})
    if isinstance(item, CatchUpDigest):
        alerts = [webhook_payload(note) for note in item.alerts]
        worst = min(
            (note.alert.severity for note in item.alerts), key=lambda s: s.rank, default=Severity.INFO
        )
        n = len(alerts)
        return {
            "kind": "digest",
            "code": None,
            "severity": worst,
            "message": "\n".join(a["text"] for a in alerts),
            "source": None,
            "at": item.at.isoformat(),
            "resolved": False,
            "first_step": next((a["first_step"] for a in alerts if a["first_step"]), None),
            "since": item.since.isoformat(),
            "alerts": alerts,
            "text": f"Caught up at the open: {n} condition{'s' if n != 1 else ''} began while alerts were muted",
        }
    if isinstance(item, ReadinessNotice):
        severity = Severity.INFO if item.status == "READY" and not item.warnings else Severity.WARNING
        return {
            "kind": "readiness",
            "code": None,
            "severity": Severity.CRITICAL if item.status != "READY" else severity,
            "message": "\n".join(item.lines) or f"all {item.checks} checks passed",
            "source": None,
            "at": item.at.isoformat(),
            "resolved": False,
            "first_step": None,
            "status": item.status,
            "calendar": item.calendar,
            "session_open": item.session_open.isoformat(),
            "lines": list(item.lines),
            "text": item.headline,
        }
    summary: DailySummary = item
    at = (now or datetime.now(UTC)).isoformat()
    return {
        "kind": "summary",
        "code": None,
        "severity": _STATUS_SEVERITY.get(summary.status, Severity.INFO),
        "message": "\n".join(summary.lines),
        "source": summary.source,
        "at": at,
        "resolved": False,
        "first_step": summary.first_step,
        "date": summary.date,
        "calendar": summary.calendar,
        "status": summary.status,
        "lines": list(summary.lines),
        "text": f"Daily health report {summary.calendar} {summary.date}: {summary.status}",
    }


class WebhookSink(HttpSink):
    """POSTs :func:`webhook_payload` to ``HEALTH_WEBHOOK_URL``.

    A 404 is final but does not disable the sink: behind a generic URL there is often a proxy
    or an app being redeployed, unlike Discord where 404 means the webhook is gone for good.
    """

    name: ClassVar[str] = "webhook"

    def build_payload(self, item: Deliverable) -> dict[str, Any]:
        return webhook_payload(item)
