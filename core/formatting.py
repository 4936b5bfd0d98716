"""Numbers as people read them on a results page: short, with sensible precision.

The Train page shows metrics in narrow columns (five side by side on a laptop,
stacked on a phone) and a comparison table seen from the back of a room: a
value must fit its box, so every number goes through one of these helpers.
Plain Python, no TensorFlow, no streamlit.
"""

from __future__ import annotations

import math

__all__ = ["percent", "seconds", "rate", "decimal", "learning_rate", "epochs_done"]


def percent(fraction: float, digits: int = 2) -> str:
    """``0.98765`` as ``"98.77%"``; a missing value as ``"–"``."""
    return "–" if not _finite(fraction) else f"{fraction:.{digits}%}"


def seconds(value: float) -> str:
    """A duration: ``"2.6 s"`` under a minute, ``"4 min 05 s"`` beyond, ``"1 h 02 min"`` beyond an hour."""
    if not _finite(value):
        return "–"
    # Decided on the rounded value: 9.96 s is "10 s", not "10.0 s", and 59.6 s is "1 min 00 s".
    if round(value, 1) < 10:
        return f"{value:.1f} s"
    if round(value) < 60:
        return f"{value:.0f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def rate(per_second: float, unit: str = "img/s") -> str:
    """A speed with a k or M suffix so it fits a metric box: ``8805`` as ``"8.8k img/s"``."""
    if not _finite(per_second):
        return "–"
    # Up a unit whenever the number would take four digits (decided on the rounded value, so
    # never "1000k" or "100.0k"); one decimal below 100 of a unit.
    value, suffix = per_second, ""
    for bigger in ("k", "M"):
        if round(value) < 1000:
            break
        value, suffix = value / 1000, bigger
    digits = 1 if suffix and round(value, 1) < 100 else 0
    return f"{value:.{digits}f}{suffix} {unit}"


def decimal(value: float, digits: int = 2) -> str:
    """A fraction like dropout, without trailing zeros: ``0.300000`` as ``"0.3"``, ``0.25`` as ``"0.25"``."""
    if not _finite(value):
        return "–"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") or "0"


def learning_rate(value: float) -> str:
    """A learning rate as written in the settings: ``0.001`` as ``"0.001"``, ``3e-4`` as ``"0.0003"``."""
    if not _finite(value):
        return "–"
    return f"{value:.6f}".rstrip("0").rstrip(".") if value >= 1e-6 else f"{value:.0e}"


def epochs_done(done: float, planned: int) -> str:
    """Epochs trained of planned: ``"3 / 3"``, or ``"1.25 / 3"`` for a run stopped early."""
    return f"{decimal(done)} / {planned}"


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)
