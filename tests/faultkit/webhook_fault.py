"""The alert webhook down for an hour of the loop's clock, under a real loop process."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from faultkit.loop import LoopProcess
from faultkit.receiver import Receiver
from faultkit.result import FaultResult
from faultkit.story import POST, PRE, SOURCE, count


# -- the webhook ---------------------------------------------------------------------------------
def webhook_down(workdir: Path, *, hour_seconds: float = 6.0) -> FaultResult:
    """Alerts go from the loop's alert_callback to a webhook (SinkDispatcher.submit, as the
    README suggests) that goes down for an hour of the loop's clock — ``hour_seconds`` real
    seconds — then recovers. The loop's data turns stale and fresh again every 5 simulated
    minutes, so alerts keep coming through the outage."""
    speed = 3600 / hour_seconds
    store = workdir / "store" / "health.db"
    with Receiver() as receiver:
        args = ("--clock-start", "2025-12-10T10:00:00-05:00", "--speed", str(speed))
        args += ("--webhook", receiver.url, "--flip", "300")
        with LoopProcess(store, workdir / "logs", source=SOURCE, args=args) as loop:
            loop.wait_ready()
            loop.run_for(PRE)
            t_fault = time.time()
            receiver.down()
            loop.run_for(hour_seconds)
            receiver.up()
            t_up = time.time()
            loop.run_for(POST + 1.0)
            log = loop.stop()
            stderr = loop.stderr()
        received = {
            (b["code"], b["resolved"], round(datetime.fromisoformat(b["at"]).timestamp(), 3))
            for b in receiver.bodies()
        }
    sent = [(code, resolved, round(at, 3), t) for code, resolved, t, at in log.alerts if code == "STALE_DATA"]
    before = [a for a in sent if a[3] < t_fault]
    after = [a for a in sent if a[3] >= t_up]
    delivered_after = sum(1 for a in after if a[:3] in received)
    # The dispatcher's own count: every transition it was handed delivered, given up on after
    # its retries (logged), or dropped from a full queue: none vanishes unaccounted.
    sink = (log.done or {}).get("sink") or {}
    accounted = sink.get("delivered", 0) + sink.get("failed", 0) + sink.get("dropped", 0)
    return count(
        "webhook down 1 h",
        f"the alert webhook (a real aiohttp server) refuses connections for an hour of the loop's "
        f"clock ({hour_seconds:g} s real at {speed:g}x), then recovers",
        log,
        stderr,
        store,
        workdir / "scratch",
        t_fault,
        expect_store_error=False,
        checks=(
            (f"{len(before)} alerts before the outage delivered", all(a[:3] in received for a in before)),
            (
                f"{delivered_after} of {len(after)} alerts after recovery delivered",
                delivered_after == len(after),
            ),
            (
                f"every transition accounted for by the dispatcher ({sink.get('delivered', 0)} delivered, "
                f"{sink.get('failed', 0)} given up after its retries while the webhook was down, "
                f"{sink.get('dropped', 0)} dropped, {sink.get('queued', 0)} still queued)",
                accounted
                == len(log.alerts)
                == len(received) + sink.get("failed", 0) + sink.get("dropped", 0),
            ),
        ),
        note=(
            f"{len(received)} of {len(log.alerts)} alert transitions reached the webhook; the loop's"
            " RetryPolicy here is 3 attempts within 1 s real (10 simulated minutes at 600x)"
        ),
    )
