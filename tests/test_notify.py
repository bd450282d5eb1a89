"""`check-production-health --notify`: the daily summary reaches the sink, quiet on holidays."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date

from health.simulation import SimClock, at, monitor, run_loop, seed_dec11_story
from store.reader import StoreReader

try:
    from tests.discord_server import TOKEN, FakeDiscord
except ImportError:
    from discord_server import TOKEN, FakeDiscord


def _check(*args: str, env: dict) -> subprocess.CompletedProcess:
    exe = shutil.which("check-production-health", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-c", "from console.cli import check_main; check_main()"]
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=120)


def test_notify_sends_the_days_summary(tmp_path):
    store = tmp_path / "h.db"
    seed_dec11_story(store)
    with FakeDiscord() as server:
        env = dict(os.environ, DISCORD_WEBHOOK_URL=server.webhook_url(), HEALTH_WEBHOOK_URL="")
        proc = _check("--store", str(store), "--date", "2025-12-11", "--notify", env=env)
        assert proc.returncode == 2, proc.stderr
        (req,) = server.wait_for_requests(1)
        embed = req.body["embeds"][0]
        text = (embed["title"] + embed.get("description", "") + str(embed.get("fields", ""))).replace(
            "\\", ""
        )
        assert "UNHEALTHY" in text and "2025-12-11" in text
        assert "ZERO_RTH_COVERAGE" in text
        assert "not running now" in text  # the story's process is gone, and the step says so
    assert TOKEN not in proc.stdout + proc.stderr
    with StoreReader(store) as reader:
        rows = reader.conn.execute("SELECT kind, ok, status FROM deliveries").fetchall()
    assert rows == [("summary", 1, 200)]


def test_notify_is_quiet_on_a_holiday(tmp_path):
    store = tmp_path / "h.db"
    thanksgiving = date(2025, 11, 27)
    clock = SimClock(at(thanksgiving, 9, 0))
    mon = monitor(store, clock, check_interval_seconds=60)
    run_loop(mon, clock, at(thanksgiving, 11, 0), step=60, gate=True)  # gate refuses: no signals
    mon.close()
    with FakeDiscord() as server:
        env = dict(os.environ, DISCORD_WEBHOOK_URL=server.webhook_url(), HEALTH_WEBHOOK_URL="")
        proc = _check("--store", str(store), "--date", "2025-11-27", "--notify", "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        assert '"status": "CLOSED"' in proc.stdout
        assert server.requests == []
        assert "nothing sent" in proc.stderr
