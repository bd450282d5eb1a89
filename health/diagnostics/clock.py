"""5. The clock: against the newest recorded data and events, and NTP synchronisation."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from health.diagnostics.context import Context, Scope, Skip
from health.diagnostics.result import FAIL, OK, WARN, CheckResult, Part, combine
from health.durations import fmt_duration
from store.reader import StoreReader

NAME = "clock"
CLOCK_TOLERANCE_SECONDS = 5.0
NTP_TIMEOUT_SECONDS = 1.0
TIMESYNCD_FLAG = "/run/systemd/timesync/synchronized"


def ntp_synchronized(timeout: float = NTP_TIMEOUT_SECONDS) -> tuple[bool | None, str]:
    """(synchronised?, how we know); None when the system cannot say."""
    exe = shutil.which("timedatectl")
    if exe:
        try:
            out = subprocess.run(
                [exe, "show", "-p", "NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
            value = out.stdout.strip().lower()
            if out.returncode == 0 and value in ("yes", "no"):
                return value == "yes", "timedatectl"
        except (OSError, subprocess.SubprocessError):
            pass
    if os.path.exists(TIMESYNCD_FLAG):
        return True, "systemd-timesyncd"
    return None, "no timedatectl answer, no timesyncd flag"


def _newest_data(ctx: Context, reader: StoreReader) -> tuple[float | None, float | None]:
    """(newest data timestamp, newest record time) among recent gate decisions and signals."""
    data: list[float] = []
    records: list[float] = []
    for g in reader.last_gate(ctx.source, limit=50):
        records.append(g.last_at)
        if g.last_data_ts is not None:
            data.append(g.last_data_ts)
    for at, data_ts in reader.newest_signal_times(ctx.source, limit=200):
        records.append(at)
        data.append(data_ts)
    for run in ctx.latest_runs(reader):
        if run.last_seen is not None:
            records.append(run.last_seen)
    return (max(data) if data else None, max(records) if records else None)


def check(ctx: Context, scope: Scope) -> CheckResult:
    parts: list[Part] = []
    wall = time.time()
    if abs(ctx.now - wall) > 1.0:  # a simulated or given clock: say which time is which
        parts.append((OK, f"judging as of {ctx.fmt(ctx.now)}; the system clock says {ctx.fmt(wall)}", None))
    else:
        parts.append((OK, f"system clock {ctx.fmt(wall)}", None))
    try:
        reader = ctx.open_reader(scope)
        newest, recorded = _newest_data(ctx, reader)
        now = ctx.now  # read after the store: a running clock is not behind what it just read
        if newest is None:
            parts.append((OK, "no data timestamps recorded yet", None))
        else:
            ahead = newest - now
            if ahead > CLOCK_TOLERANCE_SECONDS:
                hours = ahead / 3600
                tz_hint = ""
                if hours >= 0.9 and abs(hours - round(hours)) * 3600 < 120:
                    tz_hint = f" — a whole {round(hours)} h: most likely the data's time zone label is wrong"
                parts.append(
                    (
                        FAIL,
                        f"newest data timestamp {ctx.fmt(newest)} is {fmt_duration(ahead)} ahead of this clock{tz_hint}",
                        "if this machine's clock is behind, sync it (timedatectl set-ntp true, or chrony); "
                        "if the feed's timestamps are mislabelled, pass aware datetimes or set "
                        "MonitorConfig(naive_timezone=...) to the zone the feed really uses",
                    )
                )
            else:
                parts.append((OK, f"newest data timestamp {ctx.fmt(newest)} ({ctx.ago(newest)})", None))
        if recorded is not None and recorded - now > CLOCK_TOLERANCE_SECONDS:
            parts.append(
                (
                    WARN,
                    f"the loop recorded events at {ctx.fmt(recorded)}, {fmt_duration(recorded - now)} "
                    "ahead of this clock: the loop's clock (or its host's) runs ahead",
                    "compare the clocks of the loop's host and this one (date -u on both) and sync them",
                )
            )
    except Skip as exc:
        parts.append(
            (
                WARN,
                f"data timestamps not compared: {exc}",
                "see the store check: comparing needs a readable store",
            )
        )
    synced, how = ntp_synchronized(min(NTP_TIMEOUT_SECONDS, ctx.timeout / 2))
    if synced is True:
        parts.append((OK, f"NTP synchronized ({how})", None))
    elif synced is False:
        parts.append(
            (
                WARN,
                f"NTP not synchronized ({how}): the clock may drift",
                "enable time sync: sudo timedatectl set-ntp true (or install and start chrony)",
            )
        )
    else:
        parts.append((OK, f"NTP state unknown ({how})", None))
    return combine("clock", parts)
