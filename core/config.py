"""What defines a training run: :class:`TrainConfig`, its limits and its text form.

Plain Python (no TensorFlow, no Keras), so the command line's ``--help``, the
Train page's widgets and a job server can all use it without loading a model
library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar, Literal, get_args

__all__ = ["ARCHS", "MNIST_TRAIN_IMAGES", "SCHEDULES", "Arch", "TrainConfig"]

#: An architecture name (``core.model.ARCHITECTURES`` describes each one).
Arch = Literal["mlp", "cnn"]

#: Every architecture name, in the order the app offers them.
ARCHS: tuple[str, ...] = get_args(Arch)

#: Learning-rate schedules.
SCHEDULES: tuple[str, ...] = ("constant", "cosine")

#: Images in MNIST's training file (validation images included).
MNIST_TRAIN_IMAGES = 60000

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_FLOAT_FIELDS = ("dropout", "learning_rate")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    Attributes:
        arch: ``"mlp"`` or ``"cnn"``.
        epochs: Passes over the training subset (1-30).
        batch_size: Images per gradient step (16-1024).
        dropout: Dropout rate (0-0.7).
        learning_rate: Adam's learning rate (1e-4 to 1e-2).
        schedule: ``"constant"`` or ``"cosine"`` (decays to 5% over the run).
        augment: Random rotations, shifts, zoom, shear and stroke thickness.
        seed: Random seed for weights, shuffling and augmentation.
        train_size: Number of training images (``None``: all 50,000 that are
            left after the validation split).
        val_size: The last ``val_size`` training images are the validation set.
        width: Filters in the CNN's first block (the second has twice as many).
    """

    arch: Arch = "cnn"
    epochs: int = 5
    batch_size: int = 128
    dropout: float = 0.3
    learning_rate: float = 1e-3
    schedule: str = "constant"
    augment: bool = False
    seed: int = 0
    train_size: int | None = None
    val_size: int = 10000
    width: int = 16

    #: Allowed ranges, also used by the Train page's widgets.
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {
        "epochs": (1, 30),
        "batch_size": (16, 1024),
        "dropout": (0.0, 0.7),
        "learning_rate": (1e-4, 1e-2),
        "seed": (0, 2**31 - 1),
        "train_size": (100, MNIST_TRAIN_IMAGES),
        "val_size": (0, 20000),
        "width": (4, 64),
    }

    @property
    def train_images(self) -> int:
        """How many MNIST images this config trains on (50,000 by default).

        ``train_size``, or every image left after the validation split when it
        is ``None`` (or larger than what is left).
        """
        left = MNIST_TRAIN_IMAGES - self.val_size
        return left if self.train_size is None else min(self.train_size, left)

    def validate(self) -> TrainConfig:
        """Check every field; return ``self`` or raise ``ValueError`` naming the bad one."""
        if self.arch not in ARCHS:
            raise ValueError(f"Architecture must be one of {', '.join(ARCHS)}; got {self.arch!r}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Schedule must be {' or '.join(SCHEDULES)}; got {self.schedule!r}.")
        for name, (low, high) in self.LIMITS.items():
            value = getattr(self, name)
            if value is None and name == "train_size":
                continue
            numeric = (int, float) if name in _FLOAT_FIELDS else (int,)
            if isinstance(value, bool) or not isinstance(value, numeric) or not low <= value <= high:
                raise ValueError(f"{name.replace('_', ' ').capitalize()} must be between {low:g} and {high:g}; got {value!r}.")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict (JSON-friendly)."""
        return asdict(self)

    def to_strings(self) -> dict[str, str]:
        """Every field as a string that :meth:`from_strings` reads back to the same value.

        Booleans become ``"true"``/``"false"``, ``train_size=None`` becomes
        ``"all"`` and floats are written with ``repr`` (exact round trip).

        Returns:
            Field name to string value, for every field.
        """
        strings: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                strings[f.name] = "true" if value else "false"
            elif value is None:
                strings[f.name] = "all"
            elif f.name in _FLOAT_FIELDS:
                strings[f.name] = repr(float(value))
            else:
                strings[f.name] = str(value)
        return strings

    @classmethod
    def from_strings(cls, params: Mapping[str, str], base: TrainConfig | None = None) -> tuple[TrainConfig, list[str]]:
        """Build a config from untrusted strings (URL query parameters).

        Unknown keys are ignored; unparsable or out-of-range values are
        replaced by the base value and reported.

        Args:
            params: Field name to string value.
            base: Defaults for anything missing or invalid (``TrainConfig()``).

        Returns:
            ``(config, problems)``: a valid config and a message per rejected value.
        """
        config = base or cls()
        problems: list[str] = []
        for f in fields(cls):
            if f.name not in params:
                continue
            raw = str(params[f.name]).strip()
            current = getattr(config, f.name)
            try:
                if f.name == "augment":
                    if raw.lower() not in _TRUE + _FALSE:
                        raise ValueError
                    value: Any = raw.lower() in _TRUE
                elif f.name in ("arch", "schedule"):
                    value = raw.lower()
                elif f.name == "train_size" and raw.lower() in ("", "all", "none"):
                    value = None
                elif isinstance(current, float) or f.name in _FLOAT_FIELDS:
                    value = float(raw)
                    if not math.isfinite(value):
                        raise ValueError
                else:
                    value = int(raw)
                replace(config, **{f.name: value}).validate()
                config = replace(config, **{f.name: value})
            except (ValueError, TypeError) as exc:
                detail = str(exc) if str(exc) else f"{raw!r} is not a valid value"
                problems.append(f"Ignored {f.name}={raw!r}: {detail}")
        return config, problems


#: What the Train page starts from (a workshop's first run): a convnet that trains in about half a minute.
APP_DEFAULTS = TrainConfig(arch="cnn", epochs=3, batch_size=128, dropout=0.3, learning_rate=1e-3,
                           augment=False, seed=0, train_size=20000)
