"""Text from the loop never acts on the terminal that prints it (docs/CONTRACT.md §5): C1 controls
(U+0080-U+009F; 0x9B is a CSI on many terminals), DEL and escape sequences come out escaped
in --json (and the JSON still decodes to the exact text) and cleaned in the watchdog's lines."""

from __future__ import annotations

import argparse
import json
import re

import pytest
from conftest import ny

from console.cli import check_main, diagnose_main
from console.watch import watchdog_for
from health import MonitorConfig, ProductionMonitor
from health.simulation import SimClock

HOSTILE = "A\x9b31mRED\x9d0;title\x9c\x85\x7f\x1b[2J\x1b]52;c;cGF3bmVk\x07[bold]x[/bold]"
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile_store(store_path):
    """A loop named with controls that sends a signal with a hostile symbol after hours and
    refuses stale data: the text reaches alerts, gate reasons and the loop's name."""
    clock = SimClock(ny(2025, 12, 10, 17, 0).timestamp())
    config = MonitorConfig(store_path=str(store_path), clock=clock, source="loop" + HOSTILE)
    with ProductionMonitor(config) as monitor:
        monitor.record_activity()
        monitor.record_signal(HOSTILE, clock.now - 5, note=HOSTILE)
        clock.advance(60)
        monitor.record_activity()
    return store_path


@pytest.mark.parametrize("main", [check_main, diagnose_main], ids=["check", "diagnose"])
def test_json_output_escapes_c1_controls_and_keeps_the_text(main, hostile_store, capsys) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                "--store",
                str(hostile_store),
                "--date",
                "2025-12-10",
                "--json",
                "--now",
                "2025-12-11T12:00:00-05:00",
            ]
        )
    out = capsys.readouterr().out
    assert not RAW_CONTROL.search(out), repr(RAW_CONTROL.search(out))
    report = json.loads(out)
    messages = [a["message"] for a in report["alerts"]]
    assert any(HOSTILE[:40] in m for m in messages), messages
    assert report["sources"][0]["source"] == "loop" + HOSTILE


def test_the_watchdogs_lines_carry_no_control_characters(hostile_store, capsys) -> None:
    now = [ny(2025, 12, 10, 17, 2).timestamp()]
    args = argparse.Namespace(store=hostile_store, calendar=None, interval=60)
    dog = watchdog_for(args, clock=lambda: now[0], environ={})  # the one `--watch` runs
    try:
        # AFTER_HOURS_SIGNALS waits out its flap window first; what begins after the close is
        # recorded (and said), not paged
        assert [t for t in dog.tick() if t.paged] == []
        now[0] += 121
        assert [t.alert.code for t in dog.tick() if t.paged] == ["AFTER_HOURS_SIGNALS"]
    finally:
        dog.dispatcher.close(timeout=2)
        dog.alert_log.close()
        if dog.reader is not None:
            dog.reader.close()
    err = capsys.readouterr().err
    assert "loop" in err  # it did print lines naming the loop
    assert not RAW_CONTROL.search(err), repr(RAW_CONTROL.search(err))
