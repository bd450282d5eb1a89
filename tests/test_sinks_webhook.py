"""The generic JSON webhook sink, and the dispatcher that feeds every sink from its own thread."""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from health.alerts import Alert
from health.sinks import (
    DailySummary,
    DiscordSink,
    Notification,
    RetryPolicy,
    SinkDispatcher,
    WebhookSink,
    sinks_from_env,
)

try:  # tests/ may or may not be a package, depending on how pytest is run
    from tests.discord_server import GENERIC_TOKEN, TOKEN, FakeDiscord, Scripted
except ImportError:  # pragma: no cover
    from discord_server import (  # type: ignore[no-redef]
        GENERIC_TOKEN,
        TOKEN,
        FakeDiscord,
        Scripted,
    )

NY = ZoneInfo("America/New_York")
AT = datetime(2025, 12, 11, 15, 45, tzinfo=NY)
FAST = RetryPolicy(
    max_attempts=3,
    max_total_seconds=2.0,
    backoff_initial=0.02,
    backoff_max=0.1,
    jitter=0.0,
    request_timeout=2.0,
)


def alert(**overrides: object) -> Alert:
    values: dict = {
        "severity": "CRITICAL",
        "code": "NO_ACTIVITY",
        "message": "no activity for 45 minutes during RTH",
        "at": AT,
        "source": "prod-loop",
    }
    values.update(overrides)
    return Alert(**values)


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    yield
    for secret in (TOKEN, GENERIC_TOKEN):
        assert secret not in caplog.text
        assert all(secret not in r.getMessage() for r in caplog.records)


@pytest.fixture
def server():
    with FakeDiscord(bucket_limit=1000) as srv:
        yield srv


# -- the generic sink ------------------------------------------------------------------------


async def test_alert_payload(server):
    async with WebhookSink(server.generic_url(), policy=FAST) as sink:
        result = await sink.deliver(Notification(alert(), first_step="Restart the loop"))

    assert result.ok and result.status == 200
    body = server.requests[0].body
    assert {
        k: body[k] for k in ("kind", "code", "severity", "message", "source", "resolved", "first_step")
    } == {
        "kind": "alert",
        "code": "NO_ACTIVITY",
        "severity": "CRITICAL",
        "message": "no activity for 45 minutes during RTH",
        "source": "prod-loop",
        "resolved": False,
        "first_step": "Restart the loop",
    }
    at = datetime.fromisoformat(body["at"])
    assert at == AT and at.utcoffset() is not None and body["at"].endswith("-05:00")
    assert body["text"] == str(alert())


async def test_resolved_alert_and_odd_details_still_deliver(server):
    odd = alert(resolved=True, details={"ids": {1, 2}, "ratio": math.nan, "when": AT})
    async with WebhookSink(server.generic_url(), policy=FAST) as sink:
        assert (await sink.deliver(odd)).ok

    body = server.requests[0].body
    assert body["resolved"] is True and body["first_step"] is None
    assert body["details"]["ratio"] == "NaN"


async def test_summary_payload(server):
    summary = DailySummary(
        date="2025-12-11",
        calendar="XNYS",
        status="DEGRADED",
        source=None,
        lines=("one gap of 45 min",),
        first_step=None,
    )
    async with WebhookSink(server.generic_url(), policy=FAST) as sink:
        assert (await sink.deliver(summary)).ok

    body = server.requests[0].body
    assert body["kind"] == "summary" and body["status"] == "DEGRADED"
    assert body["severity"] == "WARNING" and body["code"] is None
    assert body["message"] == "one gap of 45 min" and body["lines"] == ["one gap of 45 min"]
    assert datetime.fromisoformat(body["at"]).utcoffset() is not None


async def test_same_retry_policy_5xx_then_success_and_429(server):
    server.script(Scripted(503), Scripted(429, {"retry_after": 0.1}))
    async with WebhookSink(server.generic_url(), policy=FAST) as sink:
        result = await sink.deliver(alert())

    assert result.ok and result.attempts == 3
    a, b, c = server.requests
    assert b.at - a.at >= 0.02 and c.at - b.at >= 0.1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_final_and_404_does_not_disable(server, status):
    server.script(Scripted(status, {"error": f"echo {server.generic_url()}"}))
    async with WebhookSink(server.generic_url(), policy=FAST) as sink:
        result = await sink.deliver(alert())
        assert not result.ok and result.status == status and result.attempts == 1
        assert GENERIC_TOKEN not in result.detail  # the receiver echoed our URL back
        assert not sink.disabled
    assert len(server.requests) == 1


def test_describe_redacts_the_generic_url():
    sink = WebhookSink(f"https://hooks.example.com/services/{GENERIC_TOKEN}?key={GENERIC_TOKEN}")
    assert sink.describe() == "webhook https://hooks.example.com/***"


# -- the dispatcher --------------------------------------------------------------------------


def test_dispatcher_delivers_to_every_sink_and_reports_each_delivery(server):
    records: list[tuple] = []
    sinks = [DiscordSink(server.webhook_url(), policy=FAST), WebhookSink(server.generic_url(), policy=FAST)]
    with SinkDispatcher(sinks, on_delivery=lambda *a: records.append(a)) as dispatcher:
        dispatcher.submit(alert())  # a bare Alert: usable directly as alert_callback
        dispatcher.submit(Notification(alert(resolved=True)))
        assert dispatcher.flush(5)
        stats = {s.name: s for s in dispatcher.stats()}

    assert len(server.requests) == 4
    assert stats["discord"].delivered == 2 and stats["webhook"].delivered == 2
    assert sorted((name, ok, status) for name, _, ok, status, _ in records) == [
        ("discord", True, 200),
        ("discord", True, 200),
        ("webhook", True, 200),
        ("webhook", True, 200),
    ]
    assert all(isinstance(item, Notification) for _, item, *_ in records)


def test_a_hung_sink_does_not_delay_the_others():
    with FakeDiscord(bucket_limit=1000) as slow, FakeDiscord(bucket_limit=1000) as fast:
        slow.hang()
        sinks = [DiscordSink(slow.webhook_url(), policy=FAST), WebhookSink(fast.generic_url(), policy=FAST)]
        dispatcher = SinkDispatcher(sinks)
        try:
            for i in range(3):
                dispatcher.submit(alert(message=f"m{i}"))
            assert len(fast.wait_for_requests(3, timeout=3)) == 3
            assert len(slow.requests) == 1
        finally:
            started = time.monotonic()
            assert dispatcher.close(timeout=0.3) is False  # could not deliver everything
            assert time.monotonic() - started < 2.0


def test_callback_exceptions_and_bad_items_never_reach_the_caller(server):
    calls = []

    def explode(*args):
        calls.append(args)
        raise RuntimeError("recorder broke")

    with SinkDispatcher([WebhookSink(server.generic_url(), policy=FAST)], on_delivery=explode) as dispatcher:
        dispatcher.submit("not an alert")  # logged, ignored
        dispatcher.submit(None)
        dispatcher.submit(alert())
        dispatcher.submit(alert(resolved=True))
        assert dispatcher.flush(5)
    assert len(calls) == 2 and len(server.requests) == 2
    dispatcher.submit(alert())  # after close: a no-op, not an error
    assert len(server.requests) == 2


def test_submit_from_many_threads(server):
    with SinkDispatcher([WebhookSink(server.generic_url(), policy=FAST)]) as dispatcher:
        threads = [
            threading.Thread(
                target=lambda n=n: [dispatcher.submit(alert(message=f"{n}-{i}")) for i in range(25)]
            )
            for n in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert dispatcher.flush(10)
        assert dispatcher.dropped == 0
    assert len(server.requests) == 200


def test_from_env_builds_the_configured_sinks_and_describes_them_redacted(server):
    env = {"DISCORD_WEBHOOK_URL": server.webhook_url(), "HEALTH_WEBHOOK_URL": server.generic_url()}
    with SinkDispatcher.from_env(env, policy=FAST) as dispatcher:
        assert [s.name for s in dispatcher.sinks] == ["discord", "webhook"]
        described = " ".join(dispatcher.describe())
        assert TOKEN not in described and GENERIC_TOKEN not in described
        assert "/api/webhooks/112233445566778899/***" in described
        dispatcher.submit(alert())
        assert dispatcher.flush(5)
    assert len(server.requests) == 2


def test_from_env_without_sinks_is_a_silent_no_op():
    with SinkDispatcher.from_env({}) as dispatcher:
        assert dispatcher.sinks == ()
        dispatcher.submit(alert())
        assert dispatcher.flush(0.1)
        # No sinks, no thread: a loop without alerting configured pays nothing.
        assert not any(t.name == "health-sink-dispatcher" for t in threading.enumerate())


def test_a_malformed_url_is_skipped_and_logged_redacted(caplog):
    env = {
        "DISCORD_WEBHOOK_URL": f"discord.com/api/webhooks/1/{TOKEN}",
        "HEALTH_WEBHOOK_URL": f"gopher://hooks.example.com/{GENERIC_TOKEN}",
    }
    assert sinks_from_env(env) == []
    assert "DISCORD_WEBHOOK_URL is not usable" in caplog.text
    assert "HEALTH_WEBHOOK_URL is not usable" in caplog.text
