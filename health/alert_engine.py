"""The alert engine: the state of every (loop, code) condition across evaluations, and which
of its transitions reach people (health/alerts.py defines the conditions).

A condition that holds notifies once (after a short wait for the flapping ones), repeats every
``repeat_interval`` while it holds, and sends one resolved notice when it clears; one that
clears before its wait is over is never sent. Muting — outside RTH for the RTH-only codes, by
the exchange calendar itself, or an operator's ack with its expiry (store/acks.py) — holds back
pages, never the record (docs/CONTRACT.md §6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from health.alerts import CONFIRM, IMMEDIATE, RTH_ONLY, Alert, Condition
from health.codes import IssueCode
from store.acks import AckRecord


@dataclass(frozen=True)
class Transition:
    """One change of a condition's state. ``muted`` says why it was not paged (the market
    closed, an ack): it is recorded all the same (docs/CONTRACT.md §6). ``held_since`` marks a
    condition that began while muted and still holds now that it is not: it is caught up
    (at the open, all of them in one digest)."""

    kind: str  # "firing", "repeat" or "resolved"
    alert: Alert
    first_step: str | None = None
    muted: str | None = None
    held_since: float | None = None
    held_why: str | None = None  # what muted it while it was held: MARKET_CLOSED, or an ack

    @property
    def paged(self) -> bool:
        return self.muted is None

    @property
    def caught_up(self) -> bool:
        return self.held_since is not None


@dataclass
class _State:
    pending_since: float | None = None
    seen: int = 0  # consecutive evaluations the condition held
    firing: bool = False  # paged, and not resolved since
    held_since: float | None = None  # holds, recorded, never paged: began while muted
    held_why: str = ""
    last_sent: float = 0.0
    message: str = ""
    resolved_at: float = float("-inf")  # its last resolution: ends the acks made before it


MARKET_CLOSED = "market closed"  # why an RTH-only condition is not paged outside the session


@dataclass
class AlertEngine:
    """One state machine per (loop, code). Muting — outside RTH for the RTH-only codes, or an
    operator's ack (store/acks.py) — holds back pages, never the record: a condition that
    begins while muted is returned as a muted transition (recorded, not paged) and, if it
    still holds when the mute ends, caught up then (``held_since``); one that fired and clears
    while muted is resolved as usual, paged; one that never paged clears muted."""

    repeat_interval: float = 3600.0
    flap_seconds: float = 120.0
    tz: object = None
    _states: dict[tuple[str, str], _State] = field(default_factory=dict)

    def restore(
        self,
        key: tuple[str, str],
        sent_at: float,
        message: str,
        muted: str | None = None,
        resolved_at: float | None = None,
    ) -> None:
        """State an earlier watchdog process left in the store: firing (paged at ``sent_at``),
        held (recorded muted at ``sent_at``), or resolved at ``resolved_at``."""
        st = self._states.setdefault(key, _State())
        if resolved_at is not None:
            st.resolved_at = max(st.resolved_at, resolved_at)
            return
        if muted is None:
            st.firing, st.last_sent, st.message = True, sent_at, message
        else:
            st.held_since, st.held_why, st.message = sent_at, muted, message

    def firing(self) -> list[tuple[str, str]]:
        return [k for k, st in self._states.items() if st.firing]

    def held(self) -> list[tuple[str, str]]:
        """Conditions that hold but were never paged (muted since they began)."""
        return [k for k, st in self._states.items() if st.held_since is not None]

    def ack_for(self, key: tuple[str, str], acks: Iterable[AckRecord], now: float) -> AckRecord | None:
        """The ack in force for ``key``: covering it, not expired, made after its last
        resolution (an ack lasts until its expiry or until the condition resolves)."""
        st = self._states.get(key)
        resolved_at = st.resolved_at if st is not None else float("-inf")
        found = [a for a in acks if a.covers(*key) and a.active_at(now) and a.at > resolved_at]
        return max(found, key=lambda a: a.until) if found else None

    def step(
        self,
        conditions: Iterable[Condition],
        now: float,
        market_open: bool,
        acks: Iterable[AckRecord] = (),
    ) -> list[Transition]:
        acks = tuple(acks)
        out: list[Transition] = []
        for c in conditions:
            if c.active is None:
                continue
            st = self._states.setdefault(c.key, _State())
            mute = MARKET_CLOSED if c.code in RTH_ONLY and not market_open else None
            if mute is None and acks:
                ack = self.ack_for(c.key, acks, now)
                mute = None if ack is None else ack_words(ack, self.tz)
            if c.active:
                st.message = c.message
                if st.firing:
                    if mute is None and now - st.last_sent >= self.repeat_interval:
                        st.last_sent = now
                        out.append(Transition("repeat", self._alert(c, now, False), c.first_step))
                elif st.held_since is not None:
                    if mute is None:  # the mute is over and it still holds: caught up now
                        held, st.held_since = st.held_since, None
                        st.firing, st.last_sent = True, now
                        alert = self._alert(c, now, False)
                        out.append(Transition("firing", alert, c.first_step, None, held, st.held_why))
                elif self._due(st, c, now):
                    if mute is None:
                        st.firing, st.last_sent = True, now
                        out.append(Transition("firing", self._alert(c, now, False), c.first_step))
                    else:
                        st.held_since, st.held_why = now, mute
                        out.append(Transition("firing", self._alert(c, now, False), c.first_step, mute))
            else:
                st.pending_since = None  # cleared before it was sent: flapping, stay quiet
                st.seen = 0
                if st.firing or st.held_since is not None:
                    # Paged: the resolved notice goes out even when muted (good news wakes
                    # no one); never paged: recorded as muted, like its start.
                    why = None if st.firing else st.held_why
                    st.firing, st.held_since, st.resolved_at = False, None, now
                    resolved = Condition(c.source, c.code, False, _resolved_message(c.code, st.message))
                    out.append(Transition("resolved", self._alert(resolved, now, True), None, why))
        return out

    def _due(self, st: _State, c: Condition, now: float) -> bool:
        """Has a condition that holds waited out its flap window and its confirmations?"""
        if st.pending_since is None:
            st.pending_since = now
        st.seen += 1
        wait = 0.0 if c.code in IMMEDIATE else self.flap_seconds
        return now - st.pending_since >= wait and st.seen >= CONFIRM.get(c.code, 1)

    def _alert(self, c: Condition, now: float, resolved: bool) -> Alert:
        return Alert(
            severity=c.code.severity,
            code=c.code,
            message=c.message,
            at=datetime.fromtimestamp(now, self.tz),
            source=c.source,
            resolved=resolved,
        )


def ack_words(ack: AckRecord, tz) -> str:
    """Why an acked condition is not paged, as the record says it."""
    until = datetime.fromtimestamp(ack.until, tz).strftime("%a %H:%M %Z")
    return f"acknowledged by {ack.by} until {until}: {ack.reason}"


def _resolved_message(code: IssueCode, was: str) -> str:
    return {
        IssueCode.NO_ACTIVITY: "heartbeats are arriving again",
        IssueCode.STALE_DATA: "the gate accepts fresh data again",
        IssueCode.AFTER_HOURS_SIGNALS: "no signals outside RTH for 15 minutes",
        IssueCode.UNCLEAN_EXIT: "the loop is running again",
        IssueCode.STORE_ERROR: "the recorder writes the store again",
        IssueCode.ZERO_RTH_COVERAGE: "the loop is up during RTH",
        IssueCode.NO_SIGNALS: "signals at the expected cadence again",
        IssueCode.DUPLICATE_LOOP: "one process beats for the loop again",
    }.get(code, "cleared") + f" (was: {was})"
