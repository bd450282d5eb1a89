"""The events the monitor hands the recorder: one declared layout per kind.

The trading loop's thread builds every event, so an event is a plain tuple whose first item
names its kind (a tuple append is the whole cost of a call; a NamedTuple would cost the loop
about ten times that). The layouts are declared here once, as type aliases that cost nothing
at run time: the producers (health/monitor.py, the recorder's own span/stop/mark) and the
writer thread (store/recorder.py) follow them, and tests/test_events.py holds what the
monitor really puts to them.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

GATE: Final = "gate"
SIGNAL: Final = "sig"
EVENT: Final = "event"
ALERT: Final = "alert"
SPAN: Final = "span"
STOP: Final = "stop"
MARK: Final = "mark"

# One decision of the gate: (GATE, at, allowed, code, reason, data_age, data_ts).
GateEvent: TypeAlias = tuple[Literal["gate"], float, bool, str, str, float, float]
# One generated signal: (SIGNAL, at, symbol, data_ts, details as JSON or None).
SignalEvent: TypeAlias = tuple[Literal["sig"], float, str, float, str | None]
# A lifecycle event of the run: (EVENT, at, kind, detail as JSON or None).
LifecycleEvent: TypeAlias = tuple[Literal["event"], float, str, str | None]
# An alert transition: (ALERT, at, code, severity, message, resolved 0/1, detail or None).
AlertEvent: TypeAlias = tuple[Literal["alert"], float, str, str, str, int, str | None]
# The recorder's own: a closed uptime span (SPAN, seq, start, end, beats), a clean stop
# (STOP, at), and a flush mark (MARK, number).
SpanEvent: TypeAlias = tuple[Literal["span"], int, float, float, int]
StopEvent: TypeAlias = tuple[Literal["stop"], float]
MarkEvent: TypeAlias = tuple[Literal["mark"], int]

Event: TypeAlias = GateEvent | SignalEvent | LifecycleEvent | AlertEvent | SpanEvent | StopEvent | MarkEvent
# Kept one row each, in the order they came (the rest is aggregated).
RowEvent: TypeAlias = SignalEvent | LifecycleEvent | AlertEvent

LAYOUTS: Final = {
    GATE: GateEvent,
    SIGNAL: SignalEvent,
    EVENT: LifecycleEvent,
    ALERT: AlertEvent,
    SPAN: SpanEvent,
    STOP: StopEvent,
    MARK: MarkEvent,
}
