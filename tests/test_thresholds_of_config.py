"""``Thresholds.from_config`` keeps its answers by the values it reads (health/report.py): the
answer must be the one it would compute, whatever configs came before."""

from __future__ import annotations

from health.report import Thresholds


def test_a_kept_answer_is_the_one_computed_for_the_same_values() -> None:
    a = {"check_interval_seconds": 5, "max_data_age_hours": 2, "wall_started_at": 1.0}
    b = {**a, "wall_started_at": 2.0, "start_ticks": 7}  # another run, same limits
    assert Thresholds.from_config(a) is Thresholds.from_config(b)
    assert Thresholds.from_config(b).max_data_age_seconds == 7200.0
    assert Thresholds.from_config(a, max_data_age_seconds=60).max_data_age_seconds == 60.0
    assert Thresholds.from_config(a).max_data_age_seconds == 7200.0  # the override not kept for it


def test_values_equal_in_python_but_not_as_settings_are_told_apart() -> None:
    # True == 1 and hash(True) == hash(1), but a bool is no cadence (MonitorConfig would refuse it).
    assert Thresholds.from_config({"min_signals_per_hour": 1}).min_signals_per_hour == 1.0
    assert Thresholds.from_config({"min_signals_per_hour": True}).min_signals_per_hour is None
    assert Thresholds.from_config({"min_signals_per_hour": 1}).min_signals_per_hour == 1.0
    assert Thresholds.from_config({"check_interval_seconds": "30"}).check_interval_seconds == 30.0
    assert Thresholds.from_config({"check_interval_seconds": None}).check_interval_seconds == 60.0


def test_a_value_that_cannot_be_kept_is_still_read() -> None:
    odd = {"check_interval_seconds": [1, 2], "max_uptime_gap_minutes": 10}
    assert Thresholds.from_config(odd).check_interval_seconds == 60.0
    assert Thresholds.from_config(odd).max_gap_seconds == 600.0


def test_many_configs_keep_the_memory_bounded() -> None:
    for i in range(2000):
        assert Thresholds.from_config({"check_interval_seconds": i}).check_interval_seconds == float(i)
    from health import report

    assert len(report._FROM_CONFIG) <= 256
