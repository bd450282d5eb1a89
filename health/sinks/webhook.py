"""Generic JSON webhook sink: one flat JSON object per item, for any receiver.

The object is the contract between us and whatever the user wires up (a chat bridge, an
incident tool, a script), so it is flat and stable:
``{kind, code, severity, message, source, at, resolved, first_step}`` plus ``text`` (a one-line
rendering, which Slack- and Mattermost-style incoming webhooks display as is) and, for daily
summaries, ``date``, ``calendar``, ``status`` and ``lines``; ``store`` when the watchdog watches
several stores.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from health.codes import Severity, Status
from health.sinks.http import HttpSink
from health.sinks.notification import DailySummary, Deliverable, Notification, as_deliverable

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
