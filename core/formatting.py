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
    if value < 60:
        return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def rate(per_second: float, unit: str = "img/s") -> str:
    """A speed with a k or M suffix so it fits a metric box: ``8805`` as ``"8.8k img/s"``."""
    if not _finite(per_second):
        return "–"
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if per_second >= scale:
            value = per_second / scale
            return f"{value:.1f}{suffix} {unit}" if value < 100 else f"{value:.0f}{suffix} {unit}"
    return f"{per_second:.0f} {unit}"


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
