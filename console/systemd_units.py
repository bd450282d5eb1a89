"""`health-console --systemd [--user]`: ready-to-install units, so that systemd restarts a loop
that crashes or hangs, runs the watchdog, and runs the daily check after the close.

- ``production-health-loop@.service``: a template, one instance per loop (``%i``, its name):
  ``Type=notify`` (the monitor sends READY=1), ``WatchdogSec=`` (the loop's calls ping; a
  hung loop is killed with SIGABRT), ``NotifyAccess=main``, ``Restart=on-failure``.
- ``production-health-watch.service``: ``health-console --watch`` with /metrics, itself
  ``Type=notify`` with a watchdog.
- ``production-health-daily.service`` and ``.timer``: ``check-production-health --notify``
  15 minutes after the exchange's usual close, ``OnCalendar=`` in the exchange's time zone.

Each file is printed after a ``### FILE <path>`` line (README: how to split and install).
Secrets go in an environment file of mode 600, never into a unit: units are world-readable.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from health.calendar import MarketCalendar
from health.loader import store_calendar
from store.paths import resolve_store_path

DEFAULT_METRICS_PORT = 9479  # docs/prometheus/prometheus.yml scrapes this one
DEFAULT_WATCHDOG_SEC = 180
WATCH_WATCHDOG_SEC = 300
CHECK_AFTER_CLOSE = timedelta(minutes=15)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _script(name: str) -> str:
    """The installed console script, by absolute path (systemd needs one)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name) or str(beside)


def _recorded_interval(store: Path) -> float | None:
    from store.reader import StoreReader, StoreUnavailable

    try:
        with StoreReader(store, snapshot=True) as reader:
            runs = reader.latest_runs()
    except StoreUnavailable:
        return None
    return min((r.heartbeat_interval for r in runs), default=None)


def watchdog_sec(explicit: float | None, store: Path) -> int:
    """WatchdogSec= for the loop: the loop pings from its calls, so the limit must outlast
    the longest pause between two calls: 3 check intervals, at least 30 s."""
    if explicit:
        return max(1, round(explicit))
    interval = _recorded_interval(store)
    return DEFAULT_WATCHDOG_SEC if interval is None else max(30, round(3 * interval))


def daily_on_calendar(calendar: MarketCalendar, today=None) -> str:
    """``OnCalendar=`` for the daily check: the trading week's days at the usual close of the
    last 60 sessions plus 15 minutes, in the exchange's zone (early closes are before it)."""
    today = today or datetime.now(calendar.tz).date()
    end = min(today, calendar.last_day)
    sessions = calendar.sessions_between(end - timedelta(days=90), end)
    closes = Counter(s.close.strftime("%H:%M") for s in sessions[-60:])
    close = closes.most_common(1)[0][0] if closes else "16:00"
    at = datetime.strptime(close, "%H:%M") + CHECK_AFTER_CLOSE
    days = [_DAYS[d.weekday()] for d in sorted({s.day for s in sessions[-60:]}, key=lambda d: d.weekday())]
    names = sorted(set(days), key=_DAYS.index)
    idx = [_DAYS.index(n) for n in names]
    if len(idx) > 2 and idx == list(range(idx[0], idx[-1] + 1)):
        when = f"{names[0]}..{names[-1]}"
    else:
        when = ",".join(names) or "Mon..Fri"
    return f"{when} {at:%H:%M} {calendar.tz_name}"


def render_units(
    *,
    user: bool,
    store: Path,
    calendar: MarketCalendar,
    loop_command: str | None,
    watchdog: int,
) -> list[tuple[str, str]]:
    """(install path, content) of each unit."""
    python = sys.executable
    if user:
        unit_dir = "~/.config/systemd/user"
        env_file = "%h/.config/production-health/env"
        wanted_by = "default.target"
        loop_command = loop_command or f"{python} %h/loops/%i.py"
    else:
        unit_dir = "/etc/systemd/system"
        env_file = "/etc/production-health/env"
        wanted_by = "multi-user.target"
        loop_command = loop_command or f"{python} /opt/loops/%i.py"
    console = _script("health-console")
    check = _script("check-production-health")
    store_env = f'Environment="HEALTH_STORE={store}"'
    secrets = (
        f"# Secrets (DISCORD_WEBHOOK_URL, HEALTH_WEBHOOK_URL, HEALTH_DEADMAN_URL) in {env_file}, mode 600\n"
        f"EnvironmentFile=-{env_file}"
    )
    loop = f"""[Unit]
Description=Trading loop %i (Production Health: restarted when it crashes or hangs)
Wants=network-online.target
After=network-online.target
# A restart storm (10 in 10 minutes) makes systemd give up: the watchdog then pages NO_ACTIVITY.
StartLimitIntervalSec=600
StartLimitBurst=10

[Service]
# ProductionMonitor(...) sends READY=1 once set up; the loop's own calls send WATCHDOG=1.
Type=notify
NotifyAccess=main
ExecStart={loop_command}
{store_env}
{secrets}
Restart=on-failure
RestartSec=5s
# No loop call for this long: systemd kills the loop with SIGABRT (WatchdogSignal=) and restarts it.
WatchdogSec={watchdog}s
# The loop may load its data before it constructs the monitor.
TimeoutStartSec=300

[Install]
WantedBy={wanted_by}
"""
    watch = f"""[Unit]
Description=Production Health watchdog (pages when a loop is dead, hung or stale)
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={console} --watch --store {store} --metrics-port {DEFAULT_METRICS_PORT}
{secrets}
Restart=always
RestartSec=5s
WatchdogSec={WATCH_WATCHDOG_SEC}s

[Install]
WantedBy={wanted_by}
"""
    daily = f"""[Unit]
Description=Production Health daily check of {calendar.code} (summary to the alert sinks)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
# Exits 1 (DEGRADED) or 2 (UNHEALTHY) on a bad day: the unit then shows as failed.
ExecStart={check} --notify --store {store} --calendar {calendar.code}
{secrets}
"""
    timer = f"""[Unit]
Description=Production Health daily check after the {calendar.code} close

[Timer]
OnCalendar={daily_on_calendar(calendar)}
Persistent=true

[Install]
WantedBy=timers.target
"""
    return [
        (f"{unit_dir}/production-health-loop@.service", loop),
        (f"{unit_dir}/production-health-watch.service", watch),
        (f"{unit_dir}/production-health-daily.service", daily),
        (f"{unit_dir}/production-health-daily.timer", timer),
    ]


def systemd_main(args) -> int:
    store = resolve_store_path(args.store).absolute()
    calendar = store_calendar(store, args.calendar)  # as the loop recorded it (health/calendar_record.py)
    units = render_units(
        user=args.user,
        store=store,
        calendar=calendar,
        loop_command=args.loop_command,
        watchdog=watchdog_sec(args.watchdog_sec, store),
    )
    ctl = "systemctl --user" if args.user else "systemctl"
    print(f"# Production Health units ({'user' if args.user else 'system'} systemd). Install with:")
    print(
        '#   health-console --systemd ... | awk \'/^### FILE /{f=$3; sub("^~", ENVIRON["HOME"], f); next} f {print > f}\''
    )
    print(f"#   {ctl} daemon-reload && {ctl} enable --now production-health-loop@NAME.service \\")
    print("#       production-health-watch.service production-health-daily.timer")
    for path, text in units:
        print(f"### FILE {path}")
        print(text, end="")
    return 0
