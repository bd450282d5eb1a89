"""The period's copy of a day's inputs (health/period.py ``_copy``) is ``dataclasses.replace``:
same fields, same equality and hash, still frozen, for the classes it copies."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from health.analysis import DayInputs, SourceInputs
from health.cadence import Cadence
from health.calendar import get_calendar
from health.period import _copy


@pytest.mark.parametrize("cls", [DayInputs, SourceInputs])
def test_the_copied_classes_have_nothing_replace_would_run(cls):
    # _copy skips __init__: it is replace only while __init__ sets each field as given.
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    assert not hasattr(cls, "__post_init__")
    assert not hasattr(cls, "__slots__")
    assert all(f.init and not isinstance(f.type, dataclasses.InitVar) for f in dataclasses.fields(cls))


def test_copy_equals_replace():
    src = SourceInputs("loop-a", (), (), (), ((1.0, 0.5),), config={"check_interval_seconds": 5})
    changes = {"gate_sums": (("ok", True, 3, 60),), "cadence": Cadence(4.0, "learned", 10, 60)}
    got, want = _copy(src, changes), dataclasses.replace(src, **changes)
    assert got == want and hash(got.cadence) == hash(want.cadence)
    assert got.gate_sums == (("ok", True, 3, 60),) and got.signals == ((1.0, 0.5),)
    assert src.cadence is None and src.gate_sums == ()  # the original unchanged
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.cadence = None  # type: ignore[misc]

    day = DayInputs(date(2025, 6, 11), get_calendar("XNYS"), 1.7e9, (src,))
    copied = _copy(day, {"sources": (got,)})
    assert copied == dataclasses.replace(day, sources=(want,))
    assert copied.sources[0].cadence.per_hour == 4.0 and day.sources[0].cadence is None
