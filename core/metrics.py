"""How good a trained model is: its loss and accuracy on a data set, confusion matrices, mistakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = ["Mistake", "confusion_matrix", "evaluate", "mistakes", "per_class_accuracy", "predict_dataset", "scores"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int = 10) -> np.ndarray:
    """Count predictions per (true, predicted) class pair.

    Args:
        y_true: (N,) true labels.
        y_pred: (N,) predicted labels.
        classes: Number of classes.

    Returns:
        (classes, classes) int64 matrix; row = true label, column = prediction.
    """
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return matrix


def per_class_from_confusion(matrix: np.ndarray) -> np.ndarray:
    """Each class's accuracy from a confusion matrix (rows: true class, columns: predicted).

    Args:
        matrix: (classes, classes) counts.

    Returns:
        (classes,) float64 accuracies; ``nan`` for a class with no images.
    """
    matrix = np.asarray(matrix, np.float64)
    totals = matrix.sum(axis=1)
    return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, classes: int = 10) -> np.ndarray:
    """The fraction of each class's images that were read right.

    Args:
        y_true: (N,) true labels.
        y_pred: (N,) predicted labels.
        classes: Number of classes.

    Returns:
        (classes,) float64 accuracies; ``nan`` for a class with no images.
    """
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    totals = np.bincount(y_true, minlength=classes)[:classes]
    right = np.bincount(y_true[y_true == y_pred], minlength=classes)[:classes]
    return np.where(totals > 0, right / np.maximum(totals, 1), np.nan)


@dataclass(frozen=True)
class Mistake:
    """One misclassified image.

    Attributes:
        index: Position in the evaluated set.
        true: The true label.
        predicted: The model's answer.
        confidence: The probability it gave its answer.
    """

    index: int
    true: int
    predicted: int
    confidence: float


def mistakes(probabilities: np.ndarray, y_true: np.ndarray, limit: int = 40) -> list[Mistake]:
    """The misclassified images, most confidently wrong first.

    Args:
        probabilities: (N, 10) model outputs.
        y_true: (N,) true labels.
        limit: At most this many.

    Returns:
        Up to ``limit`` :class:`Mistake` records.
    """
    predicted = probabilities.argmax(1)
    wrong = np.flatnonzero(predicted != np.asarray(y_true))
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return [Mistake(int(i), int(y_true[i]), int(predicted[i]), float(probabilities[i, predicted[i]])) for i in order]


def predict_dataset(model: keras.Model, x: np.ndarray, chunk: int = 2000) -> np.ndarray:
    """Probabilities for uint8 images ``x``, in chunks (no float copy of the whole set).

    Args:
        model: A digit model.
        x: (N, 28, 28) uint8 images.
        chunk: Images per call.

    Returns:
        (N, 10) float32 probabilities.
    """
    if len(x) == 0:
        return np.zeros((0, 10), np.float32)
    # Imported here, not at the top: this module stays light until a model is used.
    from core.inference import predict_proba

    return np.concatenate(
        [predict_proba(model, x[i : i + chunk].astype(np.float32) / 255.0) for i in range(0, len(x), chunk)]
    )


def scores(probabilities: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Cross-entropy loss and accuracy of ``probabilities`` against labels ``y``; ``(nan, nan)`` if empty."""
    if len(y) == 0:
        return float("nan"), float("nan")
    labels = np.asarray(y, dtype=np.int64)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.log(picked).mean()), float((probabilities.argmax(1) == labels).mean())


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Loss and accuracy of ``model`` on uint8 images ``x`` with labels ``y``.

    Args:
        model: A digit model.
        x: (N, 28, 28) uint8 images.
        y: (N,) labels.

    Returns:
        ``(loss, accuracy)``; ``(nan, nan)`` for an empty set.
    """
    return scores(predict_dataset(model, x), y)
