"""core.estimate: how long a run will take, from a reference speed, workers' calibrations and finished runs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.config import TrainConfig
from core.estimate import COSTS, Estimate, Estimator, work


def test_work_grows_with_what_a_run_does() -> None:
    default = TrainConfig()
    assert work(replace(default, epochs=4)) > work(default) > work(replace(default, train_size=5000))
    assert work(replace(default, width=32)) > work(default) > work(replace(default, arch="mlp"))
    assert work(replace(default, batch_size=16)) > work(default)  # more steps, each with its overhead


def test_before_any_timing_the_reference_speed_is_used() -> None:
    guess = Estimator().estimate(TrainConfig())
    assert guess == Estimate(COSTS["cnn"].fixed + work(TrainConfig()), measured=False, runs=0)


def test_a_calibration_then_finished_runs_set_the_speed() -> None:
    estimator, config = Estimator(), TrainConfig()
    small = replace(config, epochs=1, train_size=4096, val_size=0)
    estimator.calibrate(small, 2 * work(small))  # a machine half as fast as the reference
    assert estimator.estimate(config).measured
    assert estimator.estimate(config).seconds == pytest.approx(COSTS["cnn"].fixed + 2 * work(config))
    for seconds in (7.0, 8.0, 30.0):  # finished runs outrank the calibration; the median resists an outlier
        estimator.observe(config, seconds)
    guess = estimator.estimate(config)
    assert guess.runs == 3 and guess.seconds == pytest.approx(8.0)
    # Twice the epochs, nearly twice the time (each run's setup and dispatch are paid once).
    assert 1.8 * guess.seconds < estimator.estimate(replace(config, epochs=4)).seconds < 2 * guess.seconds


def test_the_other_architectures_speed_stands_in() -> None:
    estimator = Estimator()
    mlp = TrainConfig(arch="mlp")
    estimator.observe(mlp, COSTS["mlp"].fixed + 3 * work(mlp))  # three times slower than the reference
    cnn = estimator.estimate(TrainConfig())
    assert cnn.measured and cnn.runs == 0
    assert cnn.seconds == pytest.approx(COSTS["cnn"].fixed + 3 * work(TrainConfig()))


def test_nonsense_timings_are_ignored() -> None:
    estimator = Estimator()
    for seconds in (0.0, -1.0, float("nan"), float("inf")):
        estimator.observe(TrainConfig(), seconds)
        estimator.calibrate(TrainConfig(), seconds)
    assert not estimator.estimate(TrainConfig()).measured


@pytest.mark.parametrize(
    "seconds, text", [(0.2, "about 1.0 s"), (6.6, "about 7.0 s"), (42.4, "about 42 s"), (130, "about 2 min 10 s")]
)
def test_the_estimate_reads_as_a_duration(seconds: float, text: str) -> None:
    assert Estimate(seconds, measured=True, runs=1).text() == text
