"""Tests for core.formatting: numbers as the Train page shows them (short, readable, never a raw float)."""

from __future__ import annotations

import math

import pytest

from core.formatting import decimal, epochs_done, learning_rate, percent, rate, seconds

MISSING = [None, math.nan, math.inf, -math.inf]


@pytest.mark.parametrize(
    "value, digits, expected",
    [(0.98765, 2, "98.77%"), (1.0, 2, "100.00%"), (0.0, 2, "0.00%"), (0.70158, 1, "70.2%"), (0.5, 0, "50%")],
)
def test_percent(value, digits, expected) -> None:
    assert percent(value, digits) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (0.0, "0.0 s"),
        (0.43, "0.4 s"),
        (2.6, "2.6 s"),
        (9.94, "9.9 s"),
        (9.96, "10 s"),
        (59.6, "1 min 00 s"),
        (12.34, "12 s"),
        (59.4, "59 s"),
        (60.0, "1 min 00 s"),
        (245.0, "4 min 05 s"),
        (3599.0, "59 min 59 s"),
        (3720.0, "1 h 02 min"),
        (36000.0, "10 h 00 min"),
    ],
)
def test_seconds_under_a_minute_minutes_and_hours(value, expected) -> None:
    assert seconds(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (0.0, "0 img/s"),
        (950.4, "950 img/s"),
        (999.6, "1.0k img/s"),
        (99_960.0, "100k img/s"),
        (999_600.0, "1.0M img/s"),
        (1000.0, "1.0k img/s"),
        (8805.0, "8.8k img/s"),
        (123456.0, "123k img/s"),
        (2_500_000.0, "2.5M img/s"),
    ],
)
def test_rate_fits_a_metric_box(value, expected) -> None:
    assert rate(value) == expected
    assert len(rate(value)) <= 10  # "8,805 img/s" was cut off in a metric box a fifth of a laptop wide


def test_rate_with_another_unit() -> None:
    assert rate(42_000, "steps/s") == "42.0k steps/s"


@pytest.mark.parametrize(
    "value, expected", [(0.3, "0.3"), (0.300000, "0.3"), (0.25, "0.25"), (0.0, "0"), (1.0, "1"), (0.05, "0.05")]
)
def test_decimal_drops_trailing_zeros(value, expected) -> None:
    assert decimal(value) == expected


def test_decimal_rounds_to_its_digits() -> None:
    assert decimal(0.123456) == "0.12" and decimal(0.123456, 4) == "0.1235" and decimal(0.004) == "0"


@pytest.mark.parametrize(
    "value, expected",
    [(1e-3, "0.001"), (3e-4, "0.0003"), (1e-2, "0.01"), (0.1, "0.1"), (1e-4, "0.0001"), (1e-6, "0.000001")],
)
def test_learning_rate_as_written_in_the_settings(value, expected) -> None:
    assert learning_rate(value) == expected


def test_a_tiny_learning_rate_in_scientific_notation() -> None:
    assert learning_rate(5e-8) == "5e-08"


@pytest.mark.parametrize("done, planned, expected", [(3.0, 3, "3 / 3"), (1.25, 3, "1.25 / 3"), (0.5, 12, "0.5 / 12")])
def test_epochs_done(done, planned, expected) -> None:
    assert epochs_done(done, planned) == expected


@pytest.mark.parametrize("show", [percent, seconds, rate, decimal, learning_rate])
@pytest.mark.parametrize("value", MISSING)
def test_a_missing_or_infinite_value_is_a_dash(show, value) -> None:
    assert show(value) == "–"


def test_no_helper_shows_a_raw_float() -> None:
    # The table printed dropout 0.300000 and time 2.600000.
    shown = [decimal(0.3), seconds(2.6), learning_rate(0.001), percent(0.98765), rate(8805.2)]
    assert not [s for s in shown if "00000" in s], shown
