"""7. The alert sinks: which are configured (secrets redacted), and whether a watchdog runs."""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

from health.diagnostics.context import Context, Scope, Skip
from health.diagnostics.result import OK, WARN, CheckResult, Part, combine
from health.process import watchdog_pids
from health.sinks.dispatcher import DISCORD_ENV, WEBHOOK_ENV
from health.sinks.redact import redact_url

NAME = "alert sinks"

_DISCORD_PATH = re.compile(r"^/api(/v\d+)?/webhooks/\d+/[^/]+/?$")


def _sink_problem(variable: str, url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL: the sink is not configured"
    if variable == DISCORD_ENV and not _DISCORD_PATH.match(parts.path):
        return "does not look like a Discord webhook (…/api/webhooks/<id>/<token>)"
    if parts.scheme == "http":
        return "plain http: the webhook secret travels unencrypted"
    return None


def check(ctx: Context, scope: Scope) -> CheckResult:
    parts: list[Part] = []
    configured = 0
    for variable, kind in ((DISCORD_ENV, "Discord"), (WEBHOOK_ENV, "generic JSON webhook")):
        url = str(ctx.environ.get(variable) or "").strip()
        if not url:
            continue
        shown = redact_url(url)
        problem = _sink_problem(variable, url)
        if problem is None:
            configured += 1
            parts.append((OK, f"{variable}: {kind} → {shown}", None))
        else:
            if "plain http" in problem:
                configured += 1
            fix = (
                f"use the https:// form of the URL in {variable}"
                if "plain http" in problem
                else f"check the value of {variable}: copy the webhook URL again from where it was created"
            )
            parts.append((WARN, f"{variable}: {shown}: {problem}", fix))
    if not configured:
        parts.insert(
            0,
            (
                WARN,
                "no alert sink configured: nobody is told when the loop dies",
                f"set {DISCORD_ENV} (or {WEBHOOK_ENV}) and run `health-console --watch`",
            ),
        )
    else:
        try:
            ours, others = watchdog_pids(ctx.store_path)
        except Exception:
            ours = others = None
        if ours:
            parts.append((OK, f"watchdog running here: pid {', '.join(map(str, ours))}", None))
        elif ours is not None:
            if len(others) == 1:
                elsewhere = f" (pid {others[0]} watches another store)"
            elif others:
                elsewhere = f" (pids {', '.join(map(str, others))} watch other stores)"
            else:
                elsewhere = ""

            parts.append(
                (
                    WARN,
                    f"no `health-console --watch` process for this store on this host{elsewhere}: "
                    "a dead loop cannot alert by itself",
                    f"run `health-console --watch --store {shlex.quote(str(ctx.store_path))}` (under systemd "
                    "or tmux) with these variables set; ignore this if it runs on another host",
                )
            )
    try:
        reader = ctx.open_reader(scope)
        with_cb = [r.source for r in ctx.latest_runs(reader) if r.config.get("alert_callback")]
        if with_cb:
            parts.append((OK, f"in-process alert_callback set by: {', '.join(with_cb)}", None))
    except Skip:
        pass
    return combine("alert sinks", parts)
