"""Result analysis for trained models: confusion matrices and mistakes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Mistake", "confusion_matrix", "mistakes"]


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
