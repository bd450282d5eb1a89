"""Is the loop up, or silent: the one definition every view calls (the report's uptime, the
dashboard's panels and loop table, the watchdog's conditions).

docs/CONTRACT.md §2: activity at t keeps a loop "up" until t + 2 x its check interval. A clean
stop ends that early. A loop is "silent" when its newest activity is older than a limit (the
uptime-gap threshold for NO_ACTIVITY). Its "data age" is how old, now, the newest data its
gate was shown is (negative for data stamped in the future: a timing anomaly, not fresh data).
"""

from __future__ import annotations

from health.intervals import merge


def up_window(check_interval: float) -> float:
    """How long one beat keeps the loop up."""
    return 2 * check_interval


def up_until(last_beat: float, check_interval: float, stopped_at: float | None = None) -> float:
    """When activity at ``last_beat`` stops keeping the loop up."""
    end = last_beat + up_window(check_interval)
    if stopped_at is not None and stopped_at >= last_beat:
        end = min(end, stopped_at)
    return end


def is_up(
    last_beat: float | None, now: float, check_interval: float, stopped_at: float | None = None
) -> bool:
    """Is the loop up at ``now``? Its last beat still counts (the end of the window included)
    and no clean stop came between that beat and now."""
    if last_beat is None:
        return False
    stopped = stopped_at is not None and last_beat <= stopped_at <= now
    return not stopped and now <= up_until(last_beat, check_interval, stopped_at)


def is_silent(last_beat: float | None, now: float, limit: float) -> bool:
    """No activity at all, or none within ``limit`` seconds before ``now``."""
    return last_beat is None or now - last_beat > limit


def data_age(last_data_ts: float | None, now: float) -> float | None:
    """Age at ``now`` of the newest data the gate saw (its last decision's data timestamp);
    None when the gate has seen none."""
    return None if last_data_ts is None else now - last_data_ts


def up_intervals(spans, runs, default_interval: float, now: float) -> list[tuple[float, float]]:
    """When the loop was up, merged: each span of beats keeps it up until its last beat's
    window ends (its run's check interval and clean stop), never beyond ``now``. ``spans`` are
    store SpanRecords, ``runs`` RunRecords by run id."""
    ups = []
    for span in spans:
        run = runs.get(span.run_id)
        interval = run.heartbeat_interval if run else default_interval
        end = up_until(span.end, interval, run.stopped_at if run else None)
        ups.append((span.start, min(end, now)))
    return merge(ups)
