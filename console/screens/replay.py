"""Replay: the dashboard as it was at a past instant, stepped or played forward at a chosen
speed (README, "Replay a past moment"); opened by `health-console --at` or from the date
browser (`v`).

The live dashboard already answers for any "now" from the store alone: every query of a
snapshot is bounded by it (health/live.py), so a replay is the same screen on a clock the
operator drives (console/replay_clock.py), fed by a store watch of its own. What only the
present can tell is left out: whether a process is alive now, or a watchdog runs now, says
nothing about then, so a replay never asks (shown as unknown).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.worker import get_current_worker

from console.replay_clock import STEP, ReplayClock
from console.screens.context import ConsoleContext
from console.screens.dashboard import DashboardScreen
from console.store_watch import SnapshotReady, StoreStateChanged, StoreWatch, WatchdogSeen
from console.widgets import IssuesPanel
from console.widgets.status_line import alert_state


class ReplayScreen(DashboardScreen):
    """The dashboard on a :class:`ReplayClock`: space plays or pauses, ``.``/``,`` step a minute
    forward or back, ``>``/``<`` a quarter of an hour, ``+``/``-`` change the speed, esc goes
    back to the live dashboard."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle", "Play/pause", tooltip="Play the replay forward, or pause it"),
        Binding("full_stop", "step(1)", "+1 min", key_display=".", tooltip="One minute forward"),
        Binding("comma", "step(-1)", "-1 min", key_display=",", tooltip="One minute back"),
        Binding("greater_than_sign", "step(15)", "+15 min", key_display=">", tooltip="15 minutes forward"),
        Binding("less_than_sign", "step(-15)", "-15 min", key_display="<", tooltip="15 minutes back"),
        Binding("plus", "speed(1)", "Faster", key_display="+", tooltip="Play faster (up to ×3600)"),
        Binding("minus", "speed(-1)", "Slower", key_display="-", tooltip="Play slower (down to ×1)"),
        Binding("escape", "app.pop_screen", "Live", key_display="esc", tooltip="Back to the live dashboard"),
    ]

    def __init__(
        self,
        ctx: ConsoleContext,
        clock: ReplayClock,
        *,
        poll_interval: float = 0.25,
        refresh_seconds: float = 0.5,
    ) -> None:
        """``refresh_seconds``: how often, in real seconds, the snapshot follows the clock."""
        super().__init__(ctx.calendar, clock, ctx.source, id="replay")
        self.replay = clock
        self.watch = StoreWatch(
            ctx.store_path,
            ctx.calendar,
            clock,
            source=ctx.source,
            label=ctx.store_label,
            interval=poll_interval,
            refresh_seconds=refresh_seconds,
            alive=lambda run: None,  # a process alive now says nothing of then
            watchdogs=lambda path: None,
        )
        self.watch.live_word = "replay"

    def on_mount(self) -> None:
        super().on_mount()
        self.store_state = self.watch.state
        self.run_worker(self._watch, thread=True, group="replay-watch", exit_on_error=False)
        self._show_replay()
        self.set_interval(0.25, self._show_replay)

    def on_unmount(self) -> None:
        self.watch.stop()

    def _watch(self) -> None:
        worker = get_current_worker()
        self.watch.run(self.post_message, lambda: worker.is_cancelled)

    # -- its own watch's messages: stopped here, never the live dashboard's -------------------
    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        message.stop()
        self.snapshot = message.snapshot
        status = message.snapshot.report.status if message.snapshot.report else None
        self.sub_title = alert_state(status, len(message.snapshot.firing), None)[0]

    def on_store_state_changed(self, message: StoreStateChanged) -> None:
        message.stop()
        self.store_state = message.state

    def on_watchdog_seen(self, message: WatchdogSeen) -> None:
        message.stop()

    def on_issues_panel_ack_requested(self, event: IssuesPanel.AckRequested) -> None:
        event.stop()
        self.notify("a replay shows the past: acknowledge from the live dashboard (esc)", severity="warning")

    # -- the clock ----------------------------------------------------------------------------
    def _show_replay(self) -> None:
        """The title says when and how it plays; the panels' clock follows at once (live, it
        moves once a second, which is a minute of a replay at ×60)."""
        self._tick()
        at = self.calendar.fmt(self.replay(), "%a %Y-%m-%d %H:%M:%S %Z")
        title = f"REPLAY {at} {self.replay.label()}"
        if title != self.title:
            self.title = title

    def _moved(self) -> None:
        self._show_replay()
        self.watch.refresh()

    def action_toggle(self) -> None:
        self.replay.toggle()
        self._moved()

    def action_step(self, minutes: int) -> None:
        self.replay.step(minutes * STEP)
        self._moved()

    def action_speed(self, direction: int) -> None:
        self.replay.faster(direction > 0)
        self._moved()
