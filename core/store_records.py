"""What the store keeps and reports, as plain data: a run's record, a stored run, a start-up's tally.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RECORD_FIELDS", "Dropped", "RunRecord", "StartUp", "StoredRun"]

#: The record's fields, each kept as a JSON column of the runs table.
RECORD_FIELDS = ("config", "history", "metrics", "curve", "confusion", "mistakes")


@dataclass(frozen=True)
class RunRecord:
    """What a finished run leaves behind, besides its model file (all plain JSON-able data).

    Attributes:
        config: The run's settings (``TrainConfig.to_dict()``).
        history: Per-epoch lists (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``).
        metrics: ``test_loss``, ``test_accuracy``, ``epochs_completed``, ``duration``,
            ``samples_per_second``, ``stopped_early``.
        curve: The batch curves as charted, per metric (``loss``, ``accuracy``): ``epoch`` and ``value`` lists.
        confusion: The 10×10 test-set confusion matrix (rows: true label), or None.
        mistakes: The most confident test mistakes: dicts of ``index``, ``true``, ``predicted``, ``confidence``.
    """

    config: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    curve: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    confusion: list[list[int]] | None = None
    mistakes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class StoredRun:
    """A run as stored.

    Attributes:
        number: The run's number for its owner (1, 2, …).
        state: One of :data:`STATES`.
        created: When it was started (Unix seconds).
        record: Its data (only ``config`` for a run in progress or interrupted).
        model_path: Its model file, or None (in progress, interrupted).
    """

    number: int
    state: str
    created: float
    record: RunRecord
    model_path: Path | None


@dataclass(frozen=True)
class Dropped:
    """A run deleted to keep within a cap: whose, the note left to them, its model file."""

    owner: str
    note: str
    model_file: str | None


@dataclass(frozen=True)
class StartUp:
    """What :meth:`Store.start_up` did: runs marked interrupted, expired, dropped for size; orphan files removed."""

    interrupted: int
    expired: int
    dropped: int
    orphan_files: int
