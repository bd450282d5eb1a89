"""One watchdog for a desk: several stores (``--store`` repeated), three loops, each loop judged
in its own store, each transition recorded in its own store's alert log, every notification
naming its store, the metrics labelled by store — and a store that cannot be read is that
store's problem only. Real stores written by the real recorder on simulated clocks, a real
webhook receiver on 127.0.0.1, the watchdog's own evaluation on an injected clock."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from health.codes import IssueCode
from health.simulation import SimClock, at, monitor, run_loop
from health.watchdog import Watchdog
from store.reader import StoreReader

try:
    from tests.discord_server import FakeDiscord
except ImportError:  # tests/ not a package
    from discord_server import FakeDiscord

D11 = date(2025, 12, 11)
CLOCK = ("--clock-start", "2025-12-11T10:30:30-05:00")


def _loop(store: Path, source: str, start: float, until: float) -> None:
    """A loop that ran from ``start`` and died (no clean stop) at ``until``."""
    clock = SimClock(start)
    mon = monitor(store, clock, check_interval_seconds=60, max_uptime_gap_minutes=10, source=source)
    run_loop(mon, clock, until, step=60)
    mon.abandon()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Store a: "momentum" runs up to 10:30, "meanrev" died at 09:50. Store b: its "default"
    loop died at 09:45. At 10:30 two of the three loops are dead."""
    root = tmp_path_factory.mktemp("desk")
    a, b = root / "a.db", root / "b.db"
    _loop(a, "momentum", at(D11, 9, 25), at(D11, 10, 30))
    _loop(a, "meanrev", at(D11, 9, 25), at(D11, 9, 50))
    _loop(b, "default", at(D11, 9, 25), at(D11, 9, 45))
    return a, b


def _watchdog_alerts(store: Path) -> list[tuple[str, str]]:
    with StoreReader(store) as reader:
        return [(a.source, a.code) for a in reader.alerts(at(D11, 0), at(D11, 23)) if a.origin == "watchdog"]


def _copy(desk: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    out = []
    for path in desk:
        target = tmp_path / path.name
        shutil.copy(path, target)
        out.append(target)
    return out[0], out[1]


def test_each_loop_of_each_store_is_watched_and_named(desk, tmp_path: Path) -> None:
    a, b = _copy(desk, tmp_path)
    said: list[str] = []
    clock = SimClock(at(D11, 10, 30, 30))
    with FakeDiscord(bucket_limit=1000) as server:
        env = {"HEALTH_WEBHOOK_URL": server.generic_url(), "DISCORD_WEBHOOK_URL": server.webhook_url()}
        dog = Watchdog([str(a), str(b)], "XNYS", interval=60, clock=clock, environ=env, say=said.append)
        fired = dog.tick()
        assert dog.dispatcher.flush(10)
        bodies = [r.body for r in server.requests if "kind" in r.body]
        embeds = [r.body["embeds"][0] for r in server.requests if "embeds" in r.body]
        dog.dispatcher.close(timeout=5)
    assert sorted((t.alert.source, t.alert.code) for t in fired if t.kind == "firing") == [
        ("default", IssueCode.NO_ACTIVITY),
        ("meanrev", IssueCode.NO_ACTIVITY),
    ]
    # Each store's log holds its own loops' transitions, nothing of the other's.
    assert _watchdog_alerts(a) == [("meanrev", IssueCode.NO_ACTIVITY)]
    assert _watchdog_alerts(b) == [("default", IssueCode.NO_ACTIVITY)]
    # Every notification and every line names the store: two stores may both hold "default".
    assert sorted((body["source"], body["store"]) for body in bodies) == [
        ("default", str(b)),
        ("meanrev", str(a)),
    ]
    stores = sorted(next(f["value"] for f in e["fields"] if f["name"] == "Store") for e in embeds)
    assert [v.replace("\\", "") for v in stores] == sorted([str(a), str(b)])  # Discord too (Markdown-escaped)
    assert any(f"NO_ACTIVITY (meanrev @ {a})" in line for line in said)
    assert any(f"NO_ACTIVITY (default @ {b})" in line for line in said)
    # The status line systemd and the journal show covers both stores.
    status = dog.status_line()
    assert f"watching {a}; firing: NO_ACTIVITY (meanrev)" in status
    assert f"watching {b}; firing: NO_ACTIVITY (default)" in status


def test_metrics_carry_every_store_and_loop(desk, tmp_path: Path) -> None:
    from prometheus_client.exposition import generate_latest

    from health.metrics import HealthCollector, registry_for

    a, b = _copy(desk, tmp_path)
    now = at(D11, 10, 30, 30)
    dog = Watchdog([str(a), str(b)], "XNYS", interval=60, clock=lambda: now, environ={}, metrics=True)
    dog.tick()
    assert [v.store for v in dog.views()] == [str(a), str(b)]
    text = generate_latest(registry_for(HealthCollector(dog.views, lambda: now, "test"))).decode()
    for store, source, status in ((a, "momentum", 0), (a, "meanrev", 2), (b, "default", 2)):
        assert f'production_health_status{{source="{source}",store="{store}"}} {status}.0' in text
    firing = f'production_health_issues_firing{{code="NO_ACTIVITY",source="meanrev",store="{a}"}} 1.0'
    assert firing in text
    assert f'production_health_market_open{{calendar="XNYS",store="{b}"}} 1.0' in text


def test_a_store_that_cannot_be_read_is_its_own_problem(desk, tmp_path: Path) -> None:
    a, _ = _copy(desk, tmp_path)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    missing = tmp_path / "not-yet" / "c.db"
    said: list[str] = []
    clock = SimClock(at(D11, 10, 30, 30))
    dog = Watchdog(
        [str(a), str(garbage), str(missing)], "XNYS", interval=60, clock=clock, environ={}, say=said.append
    )
    reason = dog._tick_guarded()  # what the dead-man's switch is told
    # The readable store is watched all the same.
    assert _watchdog_alerts(a) == [("meanrev", IssueCode.NO_ACTIVITY)]
    assert reason is not None and str(garbage) in reason
    assert any(line.startswith("cannot read the health store") and str(garbage) in line for line in said)
    assert any(f"waiting for the health store {missing}" in line for line in said)
    assert not missing.exists()  # waited for, never created
    status = dog.status_line()
    assert f"cannot read {garbage}" in status and f"watching {a}" in status
    dog.dispatcher.close(timeout=5)
    for w in dog.watched:
        w.close()


def test_the_cli_watches_several_stores(desk, tmp_path: Path) -> None:
    """``health-console --watch --store a --store b``: the daemon's own watchdog has both."""
    from console.args import parse_console_args
    from console.watch import watchdog_for

    a, b = _copy(desk, tmp_path)
    args = parse_console_args(["--watch", "--store", str(a), "--store", str(b), "--interval", "60"])
    dog = watchdog_for(args, clock=lambda: at(D11, 10, 30, 30), environ={})
    assert [w.store for w in dog.watched] == [a, b]
    assert sorted(t.alert.source for t in dog.tick()) == ["default", "meanrev"]
    dog.dispatcher.close(timeout=5)


def test_the_daemon_pages_for_both_stores_and_stops_cleanly(desk, tmp_path: Path) -> None:
    """The real process: ``health-console --watch --store a --store b`` sends one page per dead
    loop, each naming its store, and exits 0 on SIGTERM."""
    import os
    import shutil as sh
    import signal
    import subprocess
    import sys

    a, b = _copy(desk, tmp_path)
    exe = sh.which("health-console", path=os.path.dirname(sys.executable))
    command = (
        [exe] if exe else [sys.executable, "-c", "from console.cli import health_console_main as m; m()"]
    )
    with FakeDiscord(bucket_limit=1000) as server:
        env = dict(os.environ, HEALTH_WEBHOOK_URL=server.generic_url(), DISCORD_WEBHOOK_URL="")
        proc = subprocess.Popen(
            [*command, "--watch", "--store", str(a), "--store", str(b), "--interval", "0.2", *CLOCK],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            pages = server.wait_for_requests(2, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert sorted((p.body["source"], p.body["store"]) for p in pages) == [
        ("default", str(b)),
        ("meanrev", str(a)),
    ]
    assert f"watching {a}, {b}; sinks:" in err
    assert f"FIRING NO_ACTIVITY (meanrev @ {a})" in err and f"FIRING NO_ACTIVITY (default @ {b})" in err


def test_readiness_before_the_open_for_each_store(tmp_path: Path) -> None:
    """One READY notice per store before the open, each naming its store, recorded (with its
    delivery) in that store — a restart of the desk's watchdog sends none again."""
    fri = date(2025, 11, 28)  # the day after Thanksgiving: 09:30-13:00
    stores = [tmp_path / "a.db", tmp_path / "b.db"]
    for store in stores:
        clock = SimClock(at(fri, 8, 30))
        mon = monitor(store, clock, check_interval_seconds=60, source="momentum")
        run_loop(mon, clock, at(fri, 9, 15, 1))
        assert mon.flush(5)
        mon.abandon()
    said: list[str] = []
    with FakeDiscord(bucket_limit=1000) as server:
        env = {"HEALTH_WEBHOOK_URL": server.generic_url()}
        for _ in range(2):  # the second watchdog is a restart: nothing is sent twice
            clock = SimClock(at(fri, 9, 15))
            dog = Watchdog(
                [str(s) for s in stores], "XNYS", interval=60, clock=clock, environ=env, say=said.append
            )
            dog.readiness_hooks = {"alive": lambda run: True, "ntp": lambda: (True, "test")}
            dog.tick()
            assert dog.dispatcher.flush(10)
            dog.dispatcher.close(timeout=5)
        notices = [r.body for r in server.requests if r.body.get("kind") == "readiness"]
    assert sorted(n["status"] for n in notices) == ["READY", "READY"]
    assert sorted(n["text"].rsplit(" (", 1)[1] for n in notices) == [f"{stores[0]})", f"{stores[1]})"]
    for store in stores:
        with StoreReader(store) as reader:
            assert reader.notices("readiness", "2025-11-28") == [(at(fri, 9, 15), "READY")]
            kinds = reader.conn.execute("SELECT kind, ok FROM deliveries").fetchall()
        assert kinds == [("readiness", 1)]
    assert sum("READY for the XNYS session" in line for line in said) == 2
