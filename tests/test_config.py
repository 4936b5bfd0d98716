"""Tests for core.config: TrainConfig validation, parsing from strings and back, the trained-image count."""

from __future__ import annotations

import dataclasses
import random

import pytest

from core.config import APP_DEFAULTS, ARCHS, MNIST_TRAIN_IMAGES, SCHEDULES, TrainConfig

# --- TrainConfig ----------------------------------------------------------------------


def test_default_config_is_valid():
    config = TrainConfig()
    assert config.validate() is config
    assert config.to_dict()["arch"] == "cnn"


@pytest.mark.parametrize(
    "changes",
    [
        {"epochs": 1},
        {"epochs": 30},
        {"batch_size": 16},
        {"batch_size": 1024},
        {"dropout": 0.0},
        {"dropout": 0.7},
        {"learning_rate": 1e-4},
        {"learning_rate": 1e-2},
        {"train_size": 100},
        {"train_size": None},
        {"val_size": 0},
        {"width": 4},
        {"arch": "mlp"},
        {"schedule": "cosine"},
        {"augment": True},
    ],
)
def test_validate_accepts(changes):
    TrainConfig(**changes).validate()


@pytest.mark.parametrize(
    "changes, word",
    [
        ({"epochs": 0}, "Epochs"),
        ({"epochs": 31}, "Epochs"),
        ({"batch_size": 8}, "Batch size"),
        ({"batch_size": 2048}, "Batch size"),
        ({"dropout": -0.1}, "Dropout"),
        ({"dropout": 0.71}, "Dropout"),
        ({"dropout": float("nan")}, "Dropout"),
        ({"learning_rate": 0.5}, "Learning rate"),
        ({"learning_rate": 1e-6}, "Learning rate"),
        ({"train_size": 99}, "Train size"),
        ({"train_size": 60001}, "Train size"),
        ({"val_size": -1}, "Val size"),
        ({"val_size": 20001}, "Val size"),
        ({"width": 2}, "Width"),
        ({"seed": -1}, "Seed"),
        ({"epochs": True}, "Epochs"),
        ({"epochs": "5"}, "Epochs"),
        ({"arch": "resnet"}, "Architecture"),
        ({"schedule": "step"}, "Schedule"),
    ],
)
def test_validate_rejects(changes, word):
    with pytest.raises(ValueError, match=word):
        TrainConfig(**changes).validate()


def test_from_strings_valid_values():
    config, problems = TrainConfig.from_strings(
        {
            "arch": " MLP ",
            "epochs": "3",
            "batch_size": "64",
            "dropout": "0.25",
            "learning_rate": "5e-4",
            "schedule": "cosine",
            "augment": "yes",
            "seed": "7",
            "train_size": "all",
            "val_size": "500",
            "width": "8",
        }
    )
    assert problems == []
    assert config == TrainConfig(
        arch="mlp",
        epochs=3,
        batch_size=64,
        dropout=0.25,
        learning_rate=5e-4,
        schedule="cosine",
        augment=True,
        seed=7,
        train_size=None,
        val_size=500,
        width=8,
    )


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", True),
        ("true", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_from_strings_booleans(raw, expected):
    config, problems = TrainConfig.from_strings({"augment": raw}, base=TrainConfig(augment=not expected))
    assert problems == [] and config.augment is expected


@pytest.mark.parametrize("raw", ["all", "ALL", "none", ""])
def test_from_strings_all_train_size(raw):
    config, problems = TrainConfig.from_strings({"train_size": raw}, base=TrainConfig(train_size=500))
    assert problems == [] and config.train_size is None


@pytest.mark.parametrize(
    "key, raw",
    [
        ("epochs", "abc"),
        ("epochs", "nan"),
        ("epochs", "1e9"),
        ("epochs", "-3"),
        ("epochs", "2.5"),
        ("epochs", "1000"),
        ("batch_size", "0"),
        ("dropout", "nan"),
        ("dropout", "inf"),
        ("dropout", "-0.5"),
        ("dropout", "abc"),
        ("learning_rate", "1e9"),
        ("learning_rate", "-1e-3"),
        ("train_size", "10"),
        ("train_size", "lots"),
        ("augment", "maybe"),
        ("arch", "transformer"),
        ("schedule", "exp"),
        ("seed", "-1"),
        ("width", "1e9"),
    ],
)
def test_from_strings_garbage_is_reported_and_ignored(key, raw):
    base = TrainConfig(arch="mlp", epochs=4)
    config, problems = TrainConfig.from_strings({key: raw}, base=base)
    assert config == base  # the base value is kept
    assert len(problems) == 1
    assert key in problems[0] and repr(raw.strip()) in problems[0]
    config.validate()


def test_from_strings_mixed_and_unknown_keys():
    config, problems = TrainConfig.from_strings(
        {"epochs": "2", "dropout": "lots", "colour": "blue", "__class__": "x", "batch_size": "32"}
    )
    assert config.epochs == 2 and config.batch_size == 32 and config.dropout == TrainConfig().dropout
    assert len(problems) == 1 and "dropout" in problems[0]


# --- to_strings: the round trip -----------------------------------------------------------


def _edge_configs() -> list[TrainConfig]:
    """The default, each limit's ends, every architecture, schedule and augment setting."""
    configs = [TrainConfig(), TrainConfig(train_size=None), TrainConfig(dropout=0, learning_rate=0.001)]
    for name, (low, high) in TrainConfig.LIMITS.items():
        configs += [TrainConfig(**{name: low}), TrainConfig(**{name: high})]
    configs += [TrainConfig(arch=a) for a in ARCHS] + [TrainConfig(schedule=s) for s in SCHEDULES]
    configs += [TrainConfig(augment=True), TrainConfig(augment=False)]
    return configs


def _random_configs(count: int, seed: int = 0) -> list[TrainConfig]:
    """Valid configs with arbitrary floats (not just round decimals) in every field."""
    rng = random.Random(seed)
    limits = TrainConfig.LIMITS

    def integer(name: str) -> int:
        low, high = limits[name]
        return rng.randint(int(low), int(high))

    def real(name: str) -> float:
        low, high = limits[name]
        return min(high, max(low, rng.uniform(low, high)))

    return [
        TrainConfig(
            arch=rng.choice(ARCHS),
            epochs=integer("epochs"),
            batch_size=integer("batch_size"),
            dropout=real("dropout"),
            learning_rate=real("learning_rate"),
            schedule=rng.choice(SCHEDULES),
            augment=rng.random() < 0.5,
            seed=integer("seed"),
            train_size=None if rng.random() < 0.3 else integer("train_size"),
            val_size=integer("val_size"),
            width=integer("width"),
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    "config",
    _edge_configs()
    + _random_configs(200)
    + [
        TrainConfig(dropout=0.1 + 0.2, learning_rate=1e-3 / 3),  # floats with no short decimal form
    ],
)
def test_to_strings_round_trips(config):
    config.validate()
    strings = config.to_strings()
    assert set(strings) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert all(isinstance(v, str) for v in strings.values())
    assert TrainConfig.from_strings(strings) == (config, [])
    # Also over a base that differs in every field: nothing comes from the base.
    base = TrainConfig(
        arch="mlp" if config.arch == "cnn" else "cnn",
        epochs=config.epochs % 30 + 1,
        augment=not config.augment,
        train_size=None if config.train_size else 500,
    )
    assert TrainConfig.from_strings(strings, base=base) == (config, [])


def test_to_strings_spelling():
    strings = TrainConfig(augment=True, train_size=None, learning_rate=5e-4).to_strings()
    assert strings["augment"] == "true" and strings["train_size"] == "all" and strings["learning_rate"] == "0.0005"
    assert TrainConfig(augment=False, train_size=1234).to_strings()["augment"] == "false"
    assert TrainConfig(train_size=1234).to_strings()["train_size"] == "1234"


def test_from_strings_ignores_unknown_keys_only():
    strings = {**TrainConfig(epochs=7).to_strings(), "colour": "blue", "LIMITS": "x", "train_images": "5"}
    assert TrainConfig.from_strings(strings) == (TrainConfig(epochs=7), [])


@pytest.mark.parametrize(
    "key, raw",
    [
        ("epochs", "31"),
        ("batch_size", "15"),
        ("dropout", "0.7000001"),
        ("learning_rate", "0.0000999"),
        ("seed", str(2**31)),
        ("train_size", "99"),
        ("val_size", "20001"),
        ("width", "65"),
        ("augment", "2"),
    ],
)
def test_from_strings_reports_just_past_each_limit(key, raw):
    strings = {**TrainConfig().to_strings(), key: raw}
    config, problems = TrainConfig.from_strings(strings)
    assert config == TrainConfig()
    assert len(problems) == 1 and key in problems[0] and repr(raw) in problems[0]


# --- names and sizes ----------------------------------------------------------------------


def test_train_images():
    assert MNIST_TRAIN_IMAGES == 60000
    assert TrainConfig().train_images == 50000
    assert TrainConfig(val_size=0).train_images == 60000
    assert TrainConfig(train_size=5000).train_images == 5000
    assert TrainConfig(train_size=60000, val_size=10000).train_images == 50000  # what is left after validation
    assert TrainConfig.LIMITS["train_size"][1] == MNIST_TRAIN_IMAGES


def test_architecture_names_agree_with_the_models():
    model = pytest.importorskip("core.model")
    assert tuple(model.ARCHITECTURES) == ARCHS


def test_the_default_run_is_a_two_epoch_convnet_on_every_training_image():
    assert APP_DEFAULTS == TrainConfig() and TrainConfig().validate() == TrainConfig()
    d = TrainConfig()
    assert (d.arch, d.epochs, d.batch_size, d.train_size, d.schedule, d.augment) == (
        "cnn",
        2,
        64,
        None,
        "cosine",
        False,
    )
    assert d.train_images == 50000


# --- messages people read ---------------------------------------------------------------


def test_limits_read_as_written():
    assert TrainConfig(seed=2**31).problem("seed") == "Seed must be between 0 and 2,147,483,647"
    assert TrainConfig(learning_rate=1.0).problem("learning_rate") == "Learning rate must be between 0.0001 and 0.01"
    assert TrainConfig(train_size=60001).problem("train_size") == "Train size must be between 100 and 60,000"
    assert TrainConfig().problem("seed") is None and TrainConfig(train_size=None).problem("train_size") is None
    with pytest.raises(ValueError, match="between 0 and 2,147,483,647; got -1"):
        TrainConfig(seed=-1).validate()


@pytest.mark.parametrize(
    "key, raw, expected",
    [
        ("epochs", "abc", "Epochs must be a whole number"),
        ("dropout", "inf", "Dropout must be a number"),
        ("augment", "maybe", "Augment must be true or false"),
        ("arch", "resnet", "Architecture must be one of"),
        ("seed", str(2**31), "Seed must be between 0 and 2,147,483,647"),
    ],
)
def test_from_strings_says_what_was_expected(key, raw, expected):
    _, problems = TrainConfig.from_strings({key: raw})
    assert len(problems) == 1 and problems[0].startswith(f"Ignored {key}={raw!r}: {expected}")


@pytest.mark.parametrize("key", ["seed", "arch", "dropout", "augment"])
def test_from_strings_echoes_a_long_value_once_and_cut(key):
    raw = "[x](https://evil.example/" + "a" * 10_000 + ")"
    _, problems = TrainConfig.from_strings({key: raw})
    assert len(problems) == 1 and len(problems[0]) < 160
    assert problems[0].count("evil.example") == 1 and "…" in problems[0]
