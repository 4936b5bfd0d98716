"""Where the store lives and how much it keeps: the data folder, caps and retention, from the environment.

==================================  ===============================================  ===========
variable                            what                                             default
==================================  ===============================================  ===========
``DIGIT_STUDIO_DATA``               the data folder (database, run models, secret)   ``data/``
``DIGIT_STUDIO_MAX_RUNS``           runs kept per person (oldest dropped)            20
``DIGIT_STUDIO_MAX_STORE_MB``       size of the whole store (oldest runs dropped)    2048
``DIGIT_STUDIO_RETENTION_DAYS``     runs older than this are removed at start-up     30 (0: keep)
``DIGIT_STUDIO_MAX_SAVED_MODELS``   models one person may save in ``models/``        5
``DIGIT_STUDIO_MAX_MODELS_FOLDER``  models ``models/`` may hold (all people)         200
==================================  ===============================================  ===========

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PROJECT_DATA", "StoreLimits", "data_folder"]

logger = logging.getLogger(__name__)

#: The default data folder: ``data/`` in the project (git-ignored).
PROJECT_DATA = Path(__file__).resolve().parent.parent / "data"


def data_folder(env: Mapping[str, str] = os.environ) -> Path:
    """The data folder: ``$DIGIT_STUDIO_DATA`` (``~`` expanded) or the project's ``data/``."""
    value = env.get("DIGIT_STUDIO_DATA", "").strip()
    return Path(value).expanduser() if value else PROJECT_DATA


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    """``env[name]`` as a number of at least ``minimum``; the default (with a warning) when it is not one."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
        if value >= minimum and not math.isnan(value):
            return value
    except ValueError:
        pass
    logger.warning("Digit Studio: %s=%r is not a number >= %g; using %g.", name, raw, minimum, default)
    return default


@dataclass(frozen=True)
class StoreLimits:
    """How much the store keeps.

    Attributes:
        runs_per_person: Runs kept per person; storing one more drops their oldest.
        max_bytes: Size of the whole store; beyond it the oldest runs of anyone are dropped.
        retention_days: Runs (and preferences, notes, drawings) older than this are removed at start-up; 0 keeps them.
        saved_models_per_person: Models one person may save in ``models/``.
        saved_models_total: Models ``models/`` may hold, everyone's together (the bundled one not counted).
    """

    runs_per_person: int = 20
    max_bytes: int = 2048 * 2**20
    retention_days: float = 30.0
    saved_models_per_person: int = 5
    saved_models_total: int = 200

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> StoreLimits:
        """The limits set by the environment (see the module's table), defaults for the rest."""
        base = cls()
        return cls(
            runs_per_person=int(_number(env, "DIGIT_STUDIO_MAX_RUNS", base.runs_per_person, 1)),
            max_bytes=int(_number(env, "DIGIT_STUDIO_MAX_STORE_MB", base.max_bytes / 2**20, 1) * 2**20),
            retention_days=_number(env, "DIGIT_STUDIO_RETENTION_DAYS", base.retention_days, 0),
            saved_models_per_person=int(_number(env, "DIGIT_STUDIO_MAX_SAVED_MODELS", base.saved_models_per_person, 0)),
            saved_models_total=int(_number(env, "DIGIT_STUDIO_MAX_MODELS_FOLDER", base.saved_models_total, 0)),
        )
