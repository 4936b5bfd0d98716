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

    ``TrainConfig()`` is the default run, the Train page's starting point: a
    convnet that reaches 99% on the MNIST test set in two epochs, within the
    time of one epoch of the tutorial convnet (``python -m bench.recipes``).

    Attributes:
        arch: ``"mlp"`` or ``"cnn"``.
        epochs: Passes over the training subset (1-30).
        batch_size: Images per gradient step (16-1024).
        dropout: Dropout rate (0-0.7).
        learning_rate: Adam's learning rate (1e-4 to 1e-2).
        schedule: ``"constant"`` or ``"cosine"`` (a linear warm-up over the first
            tenth of the run, then a cosine decay to 5%).
        augment: Random rotations, shifts, zoom, shear and stroke thickness.
        seed: Random seed for weights, shuffling and augmentation.
        train_size: Number of training images (``None``: all 50,000 that are
            left after the validation split).
        val_size: The last ``val_size`` training images are the validation set.
        width: Filters in the CNN's first convolution (the next have 2× and 4× as many).
    """

    arch: Arch = "cnn"
    epochs: int = 2
    batch_size: int = 64
    dropout: float = 0.0
    learning_rate: float = 3e-3
    schedule: str = "cosine"
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

    def problem(self, name: str) -> str | None:
        """What is wrong with one field, as a sentence without its value; ``None`` when it is valid.

        Args:
            name: A field name.

        Returns:
            For example ``"Seed must be between 0 and 2,147,483,647"``, or ``None``.
        """
        value = getattr(self, name)
        if name == "arch":
            return None if value in ARCHS else f"Architecture must be one of {', '.join(ARCHS)}"
        if name == "schedule":
            return None if value in SCHEDULES else f"Schedule must be {' or '.join(SCHEDULES)}"
        if name not in self.LIMITS or (value is None and name == "train_size"):
            return None
        low, high = self.LIMITS[name]
        numeric = (int, float) if name in _FLOAT_FIELDS else (int,)
        if isinstance(value, bool) or not isinstance(value, numeric) or not low <= value <= high:
            return f"{name.replace('_', ' ').capitalize()} must be between {_readable(low)} and {_readable(high)}"
        return None

    def validate(self) -> TrainConfig:
        """Check every field; return ``self`` or raise ``ValueError`` naming the bad one."""
        for name in ("arch", "schedule", *self.LIMITS):
            problem = self.problem(name)
            if problem:
                raise ValueError(f"{problem}; got {_cut(repr(getattr(self, name)))}.")
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
            ``(config, problems)``: a valid config and a message per rejected value,
            naming the field and the value once (cut to 40 characters) and saying
            what was expected. The messages are plain text: escape them (e.g.
            ``core.text.plain``) before showing them as Markdown.
        """
        config = base or cls()
        problems: list[str] = []
        for f in fields(cls):
            if f.name not in params:
                continue
            raw = str(params[f.name]).strip()
            try:
                value = _parse(f.name, raw, getattr(config, f.name))
            except ValueError as exc:
                problem: str | None = str(exc)
            else:
                candidate = replace(config, **{f.name: value})
                problem = candidate.problem(f.name)
                if problem is None:
                    config = candidate
            if problem:
                # The value once, cut short: a link may carry 10,000 characters.
                problems.append(f"Ignored {f.name}={_cut(raw)!r}: {problem}.")
        return config, problems


def _parse(name: str, raw: str, current: Any) -> Any:
    """One field's value from its text; ``ValueError`` says what kind of value was expected."""
    lowered = raw.lower()
    if name == "augment":
        if lowered not in _TRUE + _FALSE:
            raise ValueError("Augment must be true or false")
        return lowered in _TRUE
    if name in ("arch", "schedule"):
        return lowered
    if name == "train_size" and lowered in ("", "all", "none"):
        return None
    if isinstance(current, float) or name in _FLOAT_FIELDS:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(f"{name.replace('_', ' ').capitalize()} must be a number")
        return value
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name.replace('_', ' ').capitalize()} must be a whole number") from None


def _readable(limit: float) -> str:
    """A limit as people read it: 2,147,483,647 rather than 2.14748e+09, and 0.0001 as written."""
    return f"{limit:,.0f}" if float(limit).is_integer() else f"{limit:g}"


def _cut(text: str, limit: int = 40) -> str:
    """``text``, or its first ``limit - 1`` characters and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: What the Train page starts from: the default run (kept as a name for the pages and older callers).
APP_DEFAULTS = TrainConfig()
