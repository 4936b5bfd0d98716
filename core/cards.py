"""Model cards: the JSON that is saved beside a trained model and says how it was made."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.progress import TrainResult

__all__ = ["model_card"]


def model_card(result: TrainResult, name: str, source: str, command: str | None = None) -> dict[str, Any]:
    """The card of a trained model: its settings, scores, history and provenance.

    Args:
        result: What :func:`core.training.train` returned.
        name: The model's name (its file name without ``.keras``).
        source: What made it, e.g. ``"Digit Studio Train page"``.
        command: The command line that reproduces it, if there is one.

    Returns:
        A JSON-friendly dict. ``tensorflow`` (its version) is there only when
        TensorFlow is already imported: writing a card never loads it.
    """
    card: dict[str, Any] = {
        "name": name,
        "config": result.config.to_dict(),
        "test_accuracy": round(result.test_accuracy, 4),
        "test_loss": round(result.test_loss, 4),
        "history": result.history,
        "stopped_early": result.stopped_early,
        "epochs_completed": round(result.epochs_completed, 2),
        "train_seconds": round(result.duration, 1),
        "source": source,
    }
    if command is not None:
        card["command"] = command
    card["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        card["tensorflow"] = getattr(tf, "__version__", "unknown")
    return card
