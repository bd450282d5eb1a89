"""Discord webhook sink: one embed per alert, within Discord's documented limits.

Limits (Discord "Embed Limits" and "Execute Webhook"): content 2000; embed title 256,
description 4096, 25 fields, field name 256 and value 1024, footer 2048, author name 256, and
6000 characters across all embeds of a message; at most 10 embeds. Discord answers 400 to
anything larger, so a long loop message would otherwise lose the alert entirely: we truncate
with "…" instead. ``allowed_mentions: {"parse": []}`` makes "@everyone" in a loop message inert.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from yarl import URL

from health.codes import Severity, Status
from health.sinks.delivery import RetryPolicy
from health.sinks.http import HttpSink
from health.sinks.notification import (
    CatchUpDigest,
    DailySummary,
    Deliverable,
    Notification,
    ReadinessNotice,
    as_deliverable,
)

ELLIPSIS = "…"

CONTENT_MAX = 2000
EMBEDS_MAX = 10
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_NAME_MAX = 256
EMBED_TOTAL_MAX = 6000
USERNAME_MAX = 80

RED = 0xE74C3C
GREEN = 0x2ECC71
ORANGE = 0xF39C12
GREY = 0x95A5A6

FOOTER = "production-health"
DEFAULT_USERNAME = "Production Health"

_STATUS_COLOUR = {Status.HEALTHY: GREEN, Status.DEGRADED: ORANGE, Status.UNHEALTHY: RED}
_STATUS_EMOJI = {Status.HEALTHY: "✅", Status.DEGRADED: "🟠", Status.UNHEALTHY: "🔴", Status.CLOSED: "💤"}
_MARKDOWN = re.compile(r"([\\*_~`|>])")
_LINE_START_MARKDOWN = re.compile(r"(?m)^(\s*)([#\-])")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one "…" when anything was cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    if (len(cut) - len(cut.rstrip("\\"))) % 2:  # never leave a dangling markdown escape
        cut = cut[:-1]
    return cut + ELLIPSIS


def escape_markdown(text: str) -> str:
    """Show loop-provided text literally (docs/CONTRACT.md §5): ``my_loop_name`` is not italics."""
    return _LINE_START_MARKDOWN.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", text))


def _non_empty(text: str | None) -> str:
    """Discord rejects empty field values and names with a 400."""
    text = (text or "").strip()
    return text or "—"


def _embed_text_slots(embed: dict[str, Any]) -> list[tuple[dict[str, Any], str, int]]:
    """(container, key, minimum length) of each text counted in the 6000 total, in the order
    we are willing to shorten them: the long free text first, the title last."""
    slots: list[tuple[dict[str, Any], str, int]] = []
    if "description" in embed:
        slots.append((embed, "description", 1))
    slots += [(f, "value", 1) for f in reversed(embed.get("fields", []))]
    if isinstance(embed.get("footer"), dict) and "text" in embed["footer"]:
        slots.append((embed["footer"], "text", 1))
    if isinstance(embed.get("author"), dict) and "name" in embed["author"]:
        slots.append((embed["author"], "name", 1))
    slots += [(f, "name", 1) for f in reversed(embed.get("fields", []))]
    if "title" in embed:
        slots.append((embed, "title", 1))
    return slots


def embed_length(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6000 total for one embed."""
    return sum(len(container[key]) for container, key, _ in _embed_text_slots(embed))


def enforce_limits(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of an execute-webhook ``payload`` that Discord will accept, cut with "…"."""
    out = dict(payload)
    if "content" in out:
        out["content"] = truncate(out["content"], CONTENT_MAX)
    if "username" in out:
        out["username"] = truncate(out["username"], USERNAME_MAX)
    embeds = []
    for source in list(out.get("embeds", []))[:EMBEDS_MAX]:
        embed = dict(source)
        if "title" in embed:
            embed["title"] = truncate(embed["title"], TITLE_MAX)
        if "description" in embed:
            embed["description"] = truncate(embed["description"], DESCRIPTION_MAX)
        if "fields" in embed:
            embed["fields"] = [
                {
                    **field,
                    "name": truncate(_non_empty(field.get("name")), FIELD_NAME_MAX),
                    "value": truncate(_non_empty(field.get("value")), FIELD_VALUE_MAX),
                }
                for field in embed["fields"][:FIELDS_MAX]
            ]
        if isinstance(embed.get("footer"), dict) and "text" in embed["footer"]:
            embed["footer"] = {**embed["footer"], "text": truncate(embed["footer"]["text"], FOOTER_MAX)}
        if isinstance(embed.get("author"), dict) and "name" in embed["author"]:
            embed["author"] = {**embed["author"], "name": truncate(embed["author"]["name"], AUTHOR_NAME_MAX)}
        embeds.append(embed)
    excess = sum(embed_length(e) for e in embeds) - EMBED_TOTAL_MAX
    for embed in reversed(embeds):  # the 6000 is per message: shorten the last embeds first
        for container, key, minimum in _embed_text_slots(embed):
            if excess <= 0:
                break
            current = len(container[key])
            target = max(minimum, current - excess)
            if target < current:
                container[key] = truncate(container[key], target)
                excess -= current - len(container[key])
    if "embeds" in out:
        out["embeds"] = embeds
    return out


def _when(alert_at: Any) -> str:
    """Absolute time in the alert's own zone, plus Discord's viewer-local relative time."""
    text = alert_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return f"{text} (<t:{int(alert_at.timestamp())}:R>)"


class DiscordSink(HttpSink):
    """Posts alerts and daily summaries to a Discord channel webhook."""

    name: ClassVar[str] = "discord"
    disable_on: ClassVar[frozenset[int]] = frozenset({404})
    disable_hint: ClassVar[str] = "webhook deleted?"

    def __init__(
        self,
        url: str,
        *,
        username: str = DEFAULT_USERNAME,
        policy: RetryPolicy | None = None,
        trust_env: bool = False,
    ) -> None:
        super().__init__(url, policy=policy, trust_env=trust_env)
        lowered = username.lower()
        # Discord refuses these usernames with a 400, which we would never retry: fail early.
        if not 1 <= len(username) <= USERNAME_MAX or "discord" in lowered or "clyde" in lowered:
            raise ValueError(
                f"Discord webhook username must be 1-{USERNAME_MAX} characters and not "
                f"contain 'discord' or 'clyde': {username!r}"
            )
        self.username = username

    def target_url(self) -> str:
        # wait=true: Discord confirms the message was saved (200 + message) instead of 204,
        # so a delivery we record as ok really is in the channel.
        return str(URL(self._url).update_query(wait="true"))

    # Discord's "Get Webhook with Token": the webhook's description, posting nothing; 401 and
    # 404 say the token is wrong or the webhook deleted.
    probe_method: ClassVar[str] = "GET"

    def probe_ok(self, status: int) -> bool:
        return 200 <= status < 300

    def describe_success(self, status: int, payload: Any) -> str:
        if isinstance(payload, dict) and payload.get("id"):
            return f"HTTP {status}, message {payload['id']}"
        return f"HTTP {status}"

    def build_payload(self, item: Deliverable) -> dict[str, Any]:
        item = as_deliverable(item)
        if isinstance(item, Notification):
            content, embed = self._alert_embed(item)
        elif isinstance(item, CatchUpDigest):
            content, embed = self._digest_embed(item)
        elif isinstance(item, ReadinessNotice):
            content, embed = self._readiness_embed(item)
        else:
            content, embed = self._summary_embed(item)
        return enforce_limits(
            {
                "username": self.username,
                "content": content,
                "embeds": [embed],
                "allowed_mentions": {"parse": []},
            }
        )

    @staticmethod
    def _alert_embed(item: Notification) -> tuple[str, dict[str, Any]]:
        alert = item.alert
        if alert.resolved:
            title, colour = f"✅ {alert.code} resolved", GREEN
        else:
            title, colour = f"🔴 {alert.code} firing", RED
        source = escape_markdown(alert.source)
        fields = [
            {"name": "Severity", "value": alert.severity, "inline": True},
            {"name": "Source", "value": source, "inline": True},
            {"name": "When", "value": _when(alert.at), "inline": True},
        ]
        if item.store:  # the watchdog watches several stores: say which
            fields.append({"name": "Store", "value": escape_markdown(item.store), "inline": False})
        if item.first_step:
            fields.append({"name": "What to do", "value": item.first_step, "inline": False})
        embed = {
            "title": title,
            "description": escape_markdown(alert.message) or "—",
            "color": colour,
            "fields": fields,
            "footer": {"text": FOOTER},
            "timestamp": alert.at.isoformat(),
        }
        # Content makes the phone notification say something; it names no one (see
        # allowed_mentions) and holds only the code and the source, the message is in the embed.
        content = f"{title} · {alert.severity} · {source}"
        return content, embed

    @staticmethod
    def _digest_embed(item: CatchUpDigest) -> tuple[str, dict[str, Any]]:
        n = len(item.alerts)
        title = (
            f"🌅 Caught up at the open: {n} condition{'s' if n != 1 else ''} began while alerts were muted"
        )
        lines = [
            f"🔴 {note.alert.code} · {escape_markdown(note.alert.source)} — {escape_markdown(note.alert.message)}"
            for note in item.alerts
        ]
        critical = any(note.alert.severity == Severity.CRITICAL for note in item.alerts)
        fields = [
            {"name": "Muted since", "value": _when(item.since), "inline": True},
            {"name": "Open", "value": _when(item.at), "inline": True},
        ]
        step = next((note.first_step for note in item.alerts if note.first_step), None)
        if step:
            fields.append({"name": "What to do first", "value": step, "inline": False})
        embed = {
            "title": title,
            "description": "\n".join(lines) or "—",
            "color": RED if critical else ORANGE,
            "fields": fields,
            "footer": {"text": FOOTER},
            "timestamp": item.at.isoformat(),
        }
        codes = ", ".join(dict.fromkeys(note.alert.code for note in item.alerts))
        return f"{title} · {codes}", embed

    @staticmethod
    def _readiness_embed(item: ReadinessNotice) -> tuple[str, dict[str, Any]]:
        ready = item.status == "READY"
        icon = ("🟠" if item.warnings else "✅") if ready else "🔴"
        title = f"{icon} {item.headline}"
        description = (
            "\n".join(escape_markdown(line) for line in item.lines) or f"all {item.checks} checks passed"
        )
        embed = {
            "title": title,
            "description": description,
            "color": (ORANGE if item.warnings else GREEN) if ready else RED,
            "fields": [
                {"name": "Opens", "value": _when(item.session_open), "inline": True},
                {"name": "Checked", "value": _when(item.at), "inline": True},
            ],
            "footer": {"text": FOOTER},
            "timestamp": item.at.isoformat(),
        }
        return f"{icon} {item.status} · {item.calendar} {item.session_open:%a %H:%M %Z}", embed

    @staticmethod
    def _summary_embed(item: DailySummary) -> tuple[str, dict[str, Any]]:
        emoji = _STATUS_EMOJI.get(item.status, "❔")
        title = f"{emoji} {item.calendar} {item.date}: {item.status}"
        fields = [
            {"name": "Status", "value": item.status, "inline": True},
            {"name": "Calendar", "value": item.calendar, "inline": True},
        ]
        if item.source:
            fields.append({"name": "Source", "value": escape_markdown(item.source), "inline": True})
        if item.first_step:
            fields.append({"name": "What to do", "value": item.first_step, "inline": False})
        embed = {
            "title": title,
            "description": "\n".join(escape_markdown(line) for line in item.lines) or "—",
            "color": _STATUS_COLOUR.get(item.status, GREY),
            "fields": fields,
            "footer": {"text": FOOTER},
        }
        return f"Daily health report · {title}", embed
