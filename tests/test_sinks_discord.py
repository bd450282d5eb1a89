"""The Discord sink against a real local server that behaves as Discord's webhook API documents.

Timing assertions use the server's own arrival times (``time.monotonic()``): they measure
what the sink really did on the wire, not what it logged.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health.alerts import Alert
from health.sinks import (
    DailySummary,
    DiscordSink,
    Notification,
    RetryPolicy,
    SinkDispatcher,
    enforce_limits,
    redact_text,
    redact_url,
    truncate,
)

try:  # tests/ may or may not be a package, depending on how pytest is run
    from tests.discord_server import (
        TOKEN,
        WEBHOOK_ID,
        FakeDiscord,
        Scripted,
        _mentions,
        closed_port,
        discord_limit_errors,
    )
except ImportError:  # pragma: no cover
    from discord_server import (  # type: ignore[no-redef]
        TOKEN,
        WEBHOOK_ID,
        FakeDiscord,
        Scripted,
        _mentions,
        closed_port,
        discord_limit_errors,
    )

NY = ZoneInfo("America/New_York")
AT = datetime(2025, 12, 11, 10, 5, tzinfo=NY)
FAST = RetryPolicy(
    max_attempts=4,
    max_total_seconds=3.0,
    backoff_initial=0.05,
    backoff_factor=2.0,
    backoff_max=0.2,
    jitter=0.0,
    request_timeout=2.0,
)


def alert(**overrides: object) -> Alert:
    values: dict = {
        "severity": "CRITICAL",
        "code": "STALE_DATA",
        "message": "105 signals after hours vs 0 during RTH: likely yesterday's data",
        "at": AT,
        "source": "prod-loop",
        "resolved": False,
    }
    values.update(overrides)
    return Alert(**values)


def fields_of(embed: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed["fields"]}


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture):
    """Whatever a test does, no log record anywhere may carry the webhook token."""
    caplog.set_level(logging.DEBUG)
    yield
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


@pytest.fixture
def server():
    with FakeDiscord() as srv:
        yield srv


# -- delivery --------------------------------------------------------------------------------


async def test_firing_alert_is_a_red_embed_with_severity_source_when_and_first_step(server):
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(Notification(alert(), first_step="Restart the data feed"))

    assert result.ok and result.status == 200 and result.attempts == 1
    assert "message" in result.detail
    (request,) = server.requests
    assert request.query == {"wait": "true"}
    assert request.status == 200
    payload = request.body
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["username"] == "Production Health"
    (embed,) = payload["embeds"]
    assert embed["color"] == 0xE74C3C
    assert embed["title"] == "🔴 STALE_DATA firing"
    assert embed["description"] == alert().message
    assert embed["footer"] == {"text": "production-health"}
    assert datetime.fromisoformat(embed["timestamp"]) == AT
    fields = fields_of(embed)
    assert fields["Severity"] == "CRITICAL"
    assert fields["Source"] == "prod-loop"
    assert fields["When"].startswith("2025-12-11 10:05:00 EST")
    assert f"<t:{int(AT.timestamp())}:R>" in fields["When"]
    assert fields["What to do"] == "Restart the data feed"
    assert "STALE_DATA" in payload["content"]
    # The server's answer is the created message (wait=true), echoing our embed.
    assert request.answer["embeds"][0]["title"] == "🔴 STALE_DATA firing"


async def test_resolved_alert_is_a_green_embed(server):
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(alert(resolved=True))  # a bare Alert is accepted too

    assert result.ok
    (embed,) = server.requests[0].body["embeds"]
    assert embed["color"] == 0x2ECC71
    assert embed["title"] == "✅ STALE_DATA resolved"
    assert "What to do" not in fields_of(embed)


async def test_daily_summary_embed(server):
    summary = DailySummary(
        date="2025-12-11",
        calendar="XNYS",
        status="UNHEALTHY",
        source="prod-loop",
        lines=("RTH coverage 0.0%", "105 signals after hours"),
        first_step="Check the loop's cron schedule",
    )
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        assert (await sink.deliver(summary)).ok

    (embed,) = server.requests[0].body["embeds"]
    assert "2025-12-11" in embed["title"] and "UNHEALTHY" in embed["title"]
    assert embed["color"] == 0xE74C3C
    assert embed["description"] == "RTH coverage 0.0%\n105 signals after hours"
    assert fields_of(embed)["What to do"] == "Check the loop's cron schedule"


async def test_loop_text_is_shown_literally_not_as_markdown(server):
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        await sink.deliver(alert(message="my_loop_name *crashed* `now`", source="a_b"))

    embed = server.requests[0].body["embeds"][0]
    assert embed["description"] == r"my\_loop\_name \*crashed\* \`now\`"
    assert fields_of(embed)["Source"] == r"a\_b"


# -- limits ----------------------------------------------------------------------------------


async def test_oversized_text_is_truncated_with_ellipsis_and_accepted(server):
    huge = Notification(
        alert(message="m" * 10_000, source="s" * 3_000),
        first_step="f" * 5_000,
    )
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(huge)

    assert result.ok, result.detail
    (request,) = server.requests
    assert request.status == 200
    payload = request.body
    assert discord_limit_errors(payload) == []
    assert len(payload["content"]) == 2000 and payload["content"].endswith("…")
    embed = payload["embeds"][0]
    fields = fields_of(embed)
    assert len(fields["What to do"]) == 1024 and fields["What to do"].endswith("…")
    assert len(fields["Source"]) == 1024 and fields["Source"].endswith("…")
    assert embed["description"].endswith("…")
    assert embed["description"].startswith("m" * 1000)
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000


def test_enforce_limits_covers_every_documented_limit():
    payload = {
        "content": "c" * 3000,
        "embeds": [
            {
                "title": "t" * 300,
                "description": "d" * 5000,
                "fields": [{"name": "n" * 300, "value": "v" * 2000}] * 30,
                "footer": {"text": "f" * 3000},
                "author": {"name": "a" * 300},
            }
        ]
        * 12,
    }
    assert discord_limit_errors(payload)  # the server would refuse it as is
    fitted = enforce_limits(payload)
    assert discord_limit_errors(fitted) == []
    assert len(fitted["embeds"]) == 10
    assert fitted["content"].endswith("…")
    assert fitted["embeds"][0]["title"] == "t" * 255 + "…"


def test_truncate():
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "ab…"
    assert truncate("ab\\cd", 4) == "ab…"  # no dangling markdown escape before the ellipsis


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=st.text(min_size=0, max_size=7000),
    source=st.text(min_size=1, max_size=2500),
    first_step=st.none() | st.text(max_size=3000),
    resolved=st.booleans(),
)
def test_any_alert_fits_discord_limits(message, source, first_step, resolved):
    sink = DiscordSink("http://127.0.0.1:9/api/webhooks/1/x")  # never sends here
    item = Notification(alert(message=message, source=source, resolved=resolved), first_step)
    assert discord_limit_errors(sink.build_payload(item)) == []


async def test_fake_server_rejects_oversized_payloads_and_answers_204_without_wait(server):
    """The limit tests above mean something only if the server really refuses bad input."""
    async with aiohttp.ClientSession() as session:
        too_big = {"embeds": [{"title": "x", "description": "d" * 4097}]}
        async with session.post(server.webhook_url(), json=too_big) as response:
            assert response.status == 400
            assert (await response.json())["code"] == 50035
        async with session.post(server.webhook_url(), json={"content": "hi"}) as response:
            assert response.status == 204
        async with session.post(server.webhook_url() + "?wait=true", json={"content": "hi"}) as response:
            assert response.status == 200
            assert (await response.json())["content"] == "hi"


# -- mentions --------------------------------------------------------------------------------


async def test_everyone_in_a_message_mentions_nobody(server):
    item = alert(message="@everyone the loop died <@&42>", source="@everyone <@123456789>")
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        assert (await sink.deliver(item)).ok

    request = server.requests[0]
    assert "@everyone" in request.body["content"]
    assert request.answer["mention_everyone"] is False
    assert request.answer["mentions"] == [] and request.answer["mention_roles"] == []
    # Without allowed_mentions the same content would have pinged the whole channel.
    unguarded = {k: v for k, v in request.body.items() if k != "allowed_mentions"}
    assert _mentions(unguarded)[2] is True


# -- rate limits -----------------------------------------------------------------------------


async def test_429_waits_retry_after_from_the_body_then_retries(server):
    server.rate_limit_next(retry_after=0.2)
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(alert())

    assert result.ok and result.attempts == 2
    first, second = server.requests
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.2


async def test_429_waits_retry_after_header_when_the_body_has_none(server):
    server.script(Scripted(429, None, {"Retry-After": "0.3"}))
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(alert())

    assert result.ok
    first, second = server.requests
    assert second.at - first.at >= 0.3


async def test_429_longer_than_the_budget_gives_up_without_waiting(server):
    server.rate_limit_next(retry_after=60.0)
    started = time.monotonic()
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(alert())

    assert not result.ok and result.status == 429
    assert time.monotonic() - started < 1.0
    assert len(server.requests) == 1


async def test_rate_limit_remaining_zero_delays_the_next_send(server):
    server.bucket_limit, server.bucket_window = 1, 0.4
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        assert (await sink.deliver(alert())).ok
        assert (await sink.deliver(alert(resolved=True))).ok

    first, second = server.requests
    assert [r.status for r in server.requests] == [200, 200]  # we never provoked a 429
    assert second.at - first.at >= 0.4 - 0.002  # the header is rounded to the millisecond


# -- retries ---------------------------------------------------------------------------------


async def test_5xx_is_retried_with_backoff_then_succeeds(server):
    server.script(Scripted(500), Scripted(502, {"message": "Bad Gateway"}))
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(alert())

    assert result.ok and result.attempts == 3
    a, b, c = server.requests
    assert [r.status for r in (a, b, c)] == [500, 502, 200]
    assert b.at - a.at >= 0.05  # backoff_initial
    assert c.at - b.at >= 0.10  # doubled


async def test_retries_are_bounded_in_attempts(server):
    server.script(*[Scripted(503)] * 10)
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        result = await sink.deliver(alert())

    assert not result.ok and result.status == 503 and result.attempts == 4
    assert len(server.requests) == 4


async def test_retries_are_bounded_in_total_time(server):
    server.script(*[Scripted(503)] * 100)
    policy = RetryPolicy(
        max_attempts=100,
        max_total_seconds=0.5,
        backoff_initial=0.1,
        backoff_factor=1.0,
        jitter=0.0,
        request_timeout=1.0,
    )
    started = time.monotonic()
    async with DiscordSink(server.webhook_url(), policy=policy) as sink:
        result = await sink.deliver(alert())

    assert not result.ok
    assert time.monotonic() - started < 0.5 + 0.3
    assert 2 <= len(server.requests) <= 6
    assert "budget" in result.detail


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_client_errors_are_not_retried(server, status):
    url = server.webhook_url()
    if status == 401:
        url = server.webhook_url(token="wrong-token-" + "x" * 40)  # the server's own 401
    else:
        server.script(Scripted(status, {"message": "nope", "code": 0}))
    async with DiscordSink(url, policy=FAST) as sink:
        result = await sink.deliver(alert())

        assert not result.ok and result.status == status and result.attempts == 1
        assert not sink.disabled
    assert len(server.requests) == 1


async def test_404_disables_the_sink_and_says_so_once(server, caplog):
    server.delete_webhook()
    async with DiscordSink(server.webhook_url(), policy=FAST) as sink:
        first = await sink.deliver(alert())
        second = await sink.deliver(alert(resolved=True))

        assert not first.ok and first.status == 404
        assert "Unknown Webhook" in first.detail
        assert sink.disabled
        assert "webhook deleted?" in sink.describe()
        assert not second.ok and second.status is None and "disabled" in second.detail
    assert len(server.requests) == 1
    said = [r for r in caplog.records if "disabled" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.ERROR
    assert "webhook deleted?" in said[0].getMessage()
    assert f"/api/webhooks/{WEBHOOK_ID}/***" in said[0].getMessage()


async def test_connection_refused_is_retried_and_bounded():
    url = f"http://127.0.0.1:{closed_port()}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
    started = time.monotonic()
    async with DiscordSink(url, policy=FAST) as sink:
        result = await sink.deliver(alert())

    assert not result.ok and result.status is None and result.attempts == 4
    assert "connection error" in result.detail
    assert TOKEN not in result.detail
    assert time.monotonic() - started < FAST.max_total_seconds


# -- secrets ---------------------------------------------------------------------------------


def test_describe_and_repr_never_show_the_token():
    url = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
    sink = DiscordSink(url)
    assert sink.describe() == f"discord https://discord.com/api/webhooks/{WEBHOOK_ID}/***"
    assert TOKEN not in repr(sink)
    assert TOKEN not in sink.target_url().replace(TOKEN, "") + sink.describe()


@pytest.mark.parametrize(
    "bad",
    [
        f"ftp://discord.com/api/webhooks/1/{TOKEN}",
        f"http://127.0.0.1:99999/api/webhooks/1/{TOKEN}",
        f"discord.com/api/webhooks/1/{TOKEN}",
        TOKEN,
    ],
)
def test_invalid_urls_raise_without_the_token(bad):
    with pytest.raises(ValueError) as info:
        DiscordSink(bad)
    assert TOKEN not in str(info.value)


def test_redaction_helpers():
    url = f"https://discord.com/api/v10/webhooks/{WEBHOOK_ID}/{TOKEN}?thread_id=5"
    assert redact_url(url) == f"https://discord.com/api/v10/webhooks/{WEBHOOK_ID}/***"
    assert redact_url("https://user:pw@hooks.example.com:8443/x/y?key=abc") == (
        "https://hooks.example.com:8443/***"
    )
    assert redact_url("not a url") == "***"
    text = f"POST {url}&wait=true failed; token={TOKEN}; path /webhooks/1/{TOKEN}"
    redacted = redact_text(text, [url])
    assert TOKEN not in redacted
    assert f"/api/v10/webhooks/{WEBHOOK_ID}/***" in redacted
    # Even a URL nobody declared as secret loses its token.
    assert TOKEN not in redact_text(f"see https://x.test/api/webhooks/9/{TOKEN}", [])


# -- through the dispatcher ------------------------------------------------------------------


def test_dispatcher_submit_never_blocks_on_a_hung_server_with_a_full_queue(caplog):
    with FakeDiscord(bucket_limit=1000) as server:
        server.hang()
        records: list[tuple] = []
        dispatcher = SinkDispatcher(
            [DiscordSink(server.webhook_url(), policy=FAST)],
            queue_size=10,
            on_delivery=lambda *args: records.append(args),
        )
        try:
            dispatcher.submit(alert(message="first"))
            server.wait_for_requests(1)  # the worker is now stuck on it
            slowest = 0.0
            started = time.monotonic()
            for i in range(2000):
                t0 = time.perf_counter()
                dispatcher.submit(alert(message=f"alert {i}"))
                slowest = max(slowest, time.perf_counter() - t0)
            elapsed = time.monotonic() - started

            assert elapsed < 1.0 and slowest < 0.05
            assert dispatcher.dropped == 2000 - 10
            overflow = [r for r in caplog.records if "queue full" in r.getMessage()]
            assert len(overflow) == 1  # said once per episode, not once per dropped alert
            assert dispatcher.flush(timeout=0.2) is False  # still hung: flush says so in time
            server.release()
            assert dispatcher.flush(timeout=10) is True
        finally:
            assert dispatcher.close(timeout=2)
        delivered = [r.body["embeds"][0]["description"] for r in server.requests]
        # Oldest dropped: what reached Discord is the first (in flight) and the newest ten.
        assert delivered == ["first"] + [f"alert {i}" for i in range(1990, 2000)]
        assert len(records) == 11 and all(ok for _, _, ok, _, _ in records)


def test_dispatcher_after_404_makes_no_further_request():
    with FakeDiscord() as server:
        server.delete_webhook()
        records: list[tuple] = []
        with SinkDispatcher(
            [DiscordSink(server.webhook_url(), policy=FAST)], on_delivery=lambda *args: records.append(args)
        ) as dispatcher:
            dispatcher.submit(alert())
            assert dispatcher.flush(5)
            dispatcher.submit(alert(resolved=True))
            assert dispatcher.flush(5)
            assert dispatcher.stats()[0].disabled
            assert TOKEN not in " ".join(dispatcher.describe())
        assert len(server.requests) == 1
        assert [(name, ok, status) for name, _, ok, status, _ in records] == [
            ("discord", False, 404),
            ("discord", False, None),
        ]
        assert all(TOKEN not in detail for *_, detail in records)
