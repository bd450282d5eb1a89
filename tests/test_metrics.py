"""Prometheus metrics of the watchdog (health/metrics.py): the values from a store the real
recorder wrote, counters that go on across a day's end and a restart of the watchdog, /metrics
served by aiohttp on 127.0.0.1 and the textfile, both passing `promtool check metrics`, and the
alerting rules of docs/prometheus/ passing `promtool check rules` and their unit tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from health.codes import IssueCode
from health.metrics import HealthCollector, StoreView, registry_for
from health.metrics_server import MetricsServer, TextfileWriter
from health.simulation import SimClock, at, monitor, run_loop
from health.watchdog import Watchdog
from tests.conftest import REPO

D10, D11 = date(2025, 12, 10), date(2025, 12, 11)
PROMETHEUS_DOCS = REPO / "docs" / "prometheus"
PROMTOOL = shutil.which(
    "promtool", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
)


def promtool() -> str:
    """CI installs promtool (.ci/run): there a missing one fails; elsewhere the test skips."""
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed: .ci/run installs it (Debian's prometheus package)")
        pytest.skip("promtool is not installed (apt-get install prometheus, or see .ci/run)")
    return PROMTOOL


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    found = [v for (n, ls), v in samples(text).items() if n == name and labels.items() <= dict(ls).items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def _store(tmp_path) -> tuple[Path, SimClock]:
    """A loop that ran from the pre-market, crashed at 10:00 and was restarted at 10:05."""
    store = tmp_path / "h.db"
    clock = SimClock(at(D10, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, source="momentum")
    run_loop(mon, clock, at(D10, 10, 0), step=60)  # 10 refusals (closed) then 30 signals
    mon.abandon()
    clock.now = at(D10, 10, 5)
    mon = monitor(store, clock, check_interval_seconds=60, source="momentum")
    run_loop(mon, clock, at(D10, 10, 30), step=60)
    mon.close()
    return store, clock


def _scrape(dog: Watchdog, clock) -> str:
    return generate_latest(registry_for(HealthCollector(dog.views, clock, "9.9.9"))).decode()


def test_values_from_a_recorded_store(tmp_path):
    store, clock = _store(tmp_path)
    clock.now = at(D10, 10, 40)
    dog = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={}, metrics=True)
    dog.tick()
    text = _scrape(dog, clock)
    s = dict(store=str(store), source="momentum")
    assert value(text, "production_health_signals_total", **s) == 55  # 30 + 25
    assert (
        value(text, "production_health_gate_decisions_total", outcome="blocked", reason="closed", **s) == 10
    )
    assert value(text, "production_health_gate_decisions_total", outcome="allowed", reason="ok", **s) == 55
    assert value(text, "production_health_restarts_total", exit="crash", **s) == 1
    assert value(text, "production_health_restarts_total", exit="watchdog", **s) == 0
    assert value(text, "production_health_last_activity_timestamp_seconds", **s) == at(D10, 10, 29)
    assert value(text, "production_health_last_signal_timestamp_seconds", **s) == at(D10, 10, 29)
    assert value(text, "production_health_data_age_seconds", **s) == 11 * 60 + 5  # 10:28:55 data at 10:40
    # up 09:30-10:01 (the last beat keeps it up 2 minutes) and 10:05-10:30 (its clean stop),
    # of 70 minutes of RTH so far
    assert value(text, "production_health_rth_coverage_ratio", **s) == pytest.approx(56 / 70)
    assert value(text, "production_health_status", **s) == 1  # DEGRADED: the unclean exit
    assert value(text, "production_health_issues_firing", code=IssueCode.NO_ACTIVITY.value, **s) == 0
    cal = dict(store=str(store), calendar="XNYS")
    assert value(text, "production_health_market_open", **cal) == 1
    assert value(text, "production_health_time_to_next_close_seconds", **cal) == at(D10, 16) - at(D10, 10, 40)
    assert value(text, "production_health_time_to_next_open_seconds", **cal) == at(D11, 9, 30) - at(
        D10, 10, 40
    )
    assert value(text, "production_health_build_info", version="9.9.9") == 1


def test_counters_go_on_across_a_day_and_a_watchdog_restart(tmp_path):
    store, clock = _store(tmp_path)
    dog = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={}, metrics=True)
    dog.tick()
    before = value(_scrape(dog, clock), "production_health_signals_total", source="momentum")
    clock.now = at(D11, 9, 25)  # the next day: the day's report starts from zero, the counter does not
    mon = monitor(store, clock, check_interval_seconds=60, source="momentum")
    run_loop(mon, clock, at(D11, 10, 0), step=60)
    mon.close()
    dog.tick()
    after = value(_scrape(dog, clock), "production_health_signals_total", source="momentum")
    assert after == before + 30
    fresh = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={}, metrics=True)
    fresh.tick()  # a restarted watchdog reads the same totals from the store
    assert value(_scrape(fresh, clock), "production_health_signals_total", source="momentum") == after
    assert (
        value(
            _scrape(fresh, clock),
            "production_health_gate_decisions_total",
            source="momentum",
            outcome="blocked",
            reason="closed",
        )
        == 10 + 5
    )


def test_an_unreadable_store_is_status_3(tmp_path):
    (tmp_path / "h.db").write_bytes(b"not a database at all, not even close" * 100)
    clock = SimClock(at(D10, 10))
    view = StoreView(str(tmp_path / "h.db"), None, None, None, frozenset(), ())
    text = generate_latest(registry_for(HealthCollector(lambda: [view], clock, "1"))).decode()
    assert value(text, "production_health_status", source="") == 3


def _check_metrics(text: str) -> None:
    result = subprocess.run(
        [promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result


def test_live_endpoint_on_loopback_passes_promtool(tmp_path):
    store, clock = _store(tmp_path)
    clock.now = at(D10, 10, 40)
    dog = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={}, metrics=True)
    dog.tick()
    server = MetricsServer(registry_for(HealthCollector(dog.views, clock, "1.0")))
    port = server.start()
    try:
        assert server.host == "127.0.0.1" and port > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            text = response.read().decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics",
            headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # what Prometheus asks for
            assert response.headers["Content-Type"].startswith("application/openmetrics-text")
            assert response.read().decode().rstrip().endswith("# EOF")
    finally:
        server.stop()
    assert "production_health_signals_total" in text
    names = {m for m in re.findall(r"^(production_health_\w+)", text, re.M)}
    assert all(n.startswith("production_health_") for n in names)
    _check_metrics(text)


def test_textfile_is_written_whole_and_passes_promtool(tmp_path):
    store, clock = _store(tmp_path)
    dog = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={}, metrics=True)
    dog.tick()
    path = tmp_path / "textfile" / "production_health.prom"
    writer = TextfileWriter(registry_for(HealthCollector(dog.views, clock, "1.0")), path)
    assert "cannot write" in writer.write()  # no directory yet: said once ...
    assert writer.write() is None  # ... not again
    path.parent.mkdir()
    assert writer.write() is None
    assert os.listdir(path.parent) == ["production_health.prom"]  # no temporary file left
    _check_metrics(path.read_text())


def test_alerting_rules_pass_promtool_and_their_unit_tests():
    tool = promtool()
    rules = sorted(str(p) for p in PROMETHEUS_DOCS.glob("*.rules.yml"))
    assert rules
    for args in (
        ["check", "rules", *rules],
        ["check", "config", str(PROMETHEUS_DOCS / "prometheus.yml")],
        ["test", "rules", str(PROMETHEUS_DOCS / "production-health.test.yml")],
    ):
        result = subprocess.run(
            [tool, *args], capture_output=True, text=True, timeout=60, cwd=PROMETHEUS_DOCS
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_health_console_watch_serves_metrics_until_sigterm(tmp_path):
    from tests.conftest import child_env

    store, _ = _store(tmp_path)
    start = datetime.fromtimestamp(at(D10, 10, 40)).astimezone().isoformat()
    exe = [sys.executable, "-c", "from console.cli import health_console_main; health_console_main()"]
    proc = subprocess.Popen(
        [
            *exe,
            "--watch",
            "--store",
            str(store),
            "--interval",
            "0.5",
            "--clock-start",
            start,
            "--metrics-port",
            "0",
        ],
        env=child_env() | {"DISCORD_WEBHOOK_URL": "", "HEALTH_WEBHOOK_URL": ""},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            match = re.search(r"serving Prometheus metrics at (http://127\.0\.0\.1:\d+/metrics)", line)
            url = match.group(1) if match else None
        assert url, "no metrics URL announced"
        for _ in range(100):
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode()
            if "production_health_signals_total{" in text:
                break
            time.sleep(0.1)  # the first evaluation is on its way
        _check_metrics(text)
        assert value(text, "production_health_signals_total", source="momentum") == 55
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
