"""Between a trained run and its stored record: what is kept of a result, and the result rebuilt from it.

:func:`record_of` turns what :func:`core.training.train` returned into a
:class:`core.store_records.RunRecord` (settings, history, scores, the batch
curve as charted, the confusion matrix and the most confident mistakes);
:func:`run_from` makes a :class:`core.runs.Run` of a stored run again, whose
result is a :class:`SavedResult`: the same fields the pages read from a
``TrainResult``, with the model loaded from its file on first use. The Train
page shows every run from this form, so a run looks the same before and after
a reload or a restart.

Importing this module loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.charts import LIVE_POINTS, loss_curve
from core.config import TrainConfig
from core.metrics import Mistake, confusion_matrix, mistakes
from core.runs import Run
from core.store_records import RunRecord, StoredRun

if TYPE_CHECKING:
    from core.training import TrainResult

__all__ = ["MISTAKES_KEPT", "SavedResult", "config_from", "record_of", "run_from"]

#: How many of a run's most confident test mistakes are kept (the Train page's gallery).
MISTAKES_KEPT = 24
_METRICS = ("test_loss", "test_accuracy", "epochs_completed", "duration", "samples_per_second", "stopped_early")


def config_from(values: dict[str, Any]) -> TrainConfig:
    """A ``TrainConfig`` from its stored dict (fields a newer or older version added or dropped are ignored)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in names})


def charted_curve(batches) -> dict[str, dict[str, list[float]]]:
    """The live per-batch curves exactly as the charts draw them, per metric: ``epoch`` and ``value`` lists."""
    curve = {}
    for key in ("loss", "accuracy"):
        x, y = loss_curve(batches, key, max_points=LIVE_POINTS)
        curve[key] = {"epoch": x.tolist(), "value": y.tolist()}
    return curve


def record_of(result: TrainResult, y_test: np.ndarray | None) -> RunRecord:
    """What the store keeps of a finished run.

    Args:
        result: What ``core.training.train`` returned.
        y_test: The test labels its ``test_probabilities`` are for (None: no confusion matrix or mistakes).

    Returns:
        The run's record (plain JSON-able data).
    """
    metrics = {name: getattr(result, name) for name in _METRICS}
    metrics["stopped_early"] = bool(metrics["stopped_early"])
    if getattr(result, "finetune", None):
        metrics["finetune"] = result.finetune  # before and after (core.finetune.FineTuneReport)
    confusion, wrong = None, []
    probabilities = getattr(result, "test_probabilities", None)
    if probabilities is not None and y_test is not None:
        confusion = confusion_matrix(y_test, probabilities.argmax(1)).tolist()
        wrong = [dataclasses.asdict(m) for m in mistakes(probabilities, y_test, limit=MISTAKES_KEPT)]
    history = {k: [float(v) for v in values] for k, values in result.history.items()}
    return RunRecord(
        config=result.config.to_dict(),
        history=history,
        metrics=metrics,
        curve=charted_curve(result.batch_history),
        confusion=confusion,
        mistakes=wrong,
    )


@dataclass
class SavedResult:
    """A stored run's results, read like a ``TrainResult`` (see that class for the shared fields).

    Attributes:
        curve: The batch curves as charted (see :func:`charted_curve`).
        confusion: The test set's confusion matrix, or None.
        mistakes: The most confident test mistakes.
        model_path: The model file (None: none stored).
        finetune: A fine-tune's before-and-after report (``core.finetune.FineTuneReport`` as a dict), else None.
        batch_history: Empty: the raw batch reports are not kept, ``curve`` is what was drawn.
        test_probabilities: None, likewise (``confusion`` and ``mistakes`` are what was shown).
    """

    config: TrainConfig
    history: dict[str, list[float]]
    test_loss: float
    test_accuracy: float
    stopped_early: bool
    epochs_completed: float
    duration: float
    samples_per_second: float
    curve: dict[str, dict[str, list[float]]]
    confusion: np.ndarray | None
    mistakes: list[Mistake]
    model_path: Path | None
    finetune: dict[str, Any] | None = None
    batch_history: tuple = ()
    test_probabilities: None = None
    _model: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def model(self) -> Any:
        """The trained model: the one still in memory, else loaded from its file once.

        Raises:
            core.inference.ModelLoadError: The file is gone or unreadable.
        """
        with self._lock:
            if self._model is None:
                from core.inference import (  # TensorFlow, only when a model is used
                    ModelLoadError,
                    load_model,
                )

                if self.model_path is None:
                    raise ModelLoadError("This run has no model file.")
                self._model = load_model(self.model_path)
            return self._model

    @property
    def misclassified(self) -> int | None:
        """How many test images the model got wrong (None without a confusion matrix)."""
        return None if self.confusion is None else int(self.confusion.sum() - np.trace(self.confusion))


def run_from(stored: StoredRun, model: Any = None) -> Run:
    """The run the pages show for a stored, finished run.

    Args:
        stored: A run in state ``done`` or ``stopped``.
        model: The trained model, when this process still holds it (saves loading it again).

    Returns:
        A ``Run`` whose ``result`` is a :class:`SavedResult`.
    """
    r = stored.record
    m = r.metrics
    result = SavedResult(
        config=config_from(r.config),
        history=r.history,
        test_loss=float(m["test_loss"]),
        test_accuracy=float(m["test_accuracy"]),
        stopped_early=bool(m["stopped_early"]),
        epochs_completed=float(m["epochs_completed"]),
        duration=float(m["duration"]),
        samples_per_second=float(m["samples_per_second"]),
        curve=r.curve,
        confusion=None if r.confusion is None else np.asarray(r.confusion, np.int64),
        mistakes=[Mistake(**w) for w in r.mistakes],
        model_path=stored.model_path,
        finetune=m.get("finetune"),
        _model=model,
    )
    return Run(stored.number, result, stored.state)
