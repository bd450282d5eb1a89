"""Alert delivery: Discord and generic JSON webhooks, behind a dispatcher that never blocks.

Typical use (the watchdog, or a loop that wants alerts without writing a callback)::

    dispatcher = SinkDispatcher.from_env()          # DISCORD_WEBHOOK_URL, HEALTH_WEBHOOK_URL
    config = MonitorConfig(alert_callback=dispatcher.submit)
    ...
    dispatcher.close()

Webhook URLs are secrets: everything here that can reach a log or a screen is redacted.
"""

from health.sinks.delivery import DeliveryResult, RetryPolicy, Sink
from health.sinks.discord import DiscordSink, enforce_limits, escape_markdown, truncate
from health.sinks.dispatcher import (
    DISCORD_ENV,
    WEBHOOK_ENV,
    DeliveryCallback,
    SinkDispatcher,
    SinkStats,
    sinks_from_env,
)
from health.sinks.http import HttpSink
from health.sinks.notification import (
    CatchUpDigest,
    DailySummary,
    Deliverable,
    Notification,
    ReadinessNotice,
    as_deliverable,
)
from health.sinks.redact import redact_text, redact_url
from health.sinks.webhook import WebhookSink, webhook_payload

__all__ = [
    "DISCORD_ENV",
    "WEBHOOK_ENV",
    "CatchUpDigest",
    "DailySummary",
    "Deliverable",
    "DeliveryCallback",
    "DeliveryResult",
    "DiscordSink",
    "HttpSink",
    "Notification",
    "ReadinessNotice",
    "RetryPolicy",
    "Sink",
    "SinkDispatcher",
    "SinkStats",
    "WebhookSink",
    "as_deliverable",
    "enforce_limits",
    "escape_markdown",
    "redact_text",
    "redact_url",
    "sinks_from_env",
    "truncate",
    "webhook_payload",
]
