"""How long a training run will take on this machine: a measured rate, refined by every run.

A run's time is modelled as a fixed part (sending it to a worker, building
the model, the test evaluation, bringing the weights back) plus its *work*:
images trained, batches stepped and validation images scored, each weighted
by what it costs the architecture (:func:`work`, in seconds on the 2-core
CPU the constants were measured on). A machine's *speed* is how many of its
seconds one of those seconds takes; :class:`Estimator` learns it per
architecture from timed runs: a short calibration run each worker makes when
it starts (``core.remote.warm_up_worker``), then every finished training.

Plain Python (no TensorFlow): the Train page asks for an estimate on every
script run.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections import deque
from dataclasses import dataclass

from core.config import TrainConfig
from core.formatting import seconds

__all__ = ["COSTS", "Estimate", "Estimator", "estimator", "work"]


@dataclass(frozen=True)
class Cost:
    """What one architecture's work costs, in seconds on the reference CPU (``python -m bench.estimate``).

    Attributes:
        image: Training one image (forward, backward and update), at width 16 for the CNN.
        batch: Each batch's own overhead (a step of the graph loop, the optimizer's update).
        scored: Scoring one validation or test image.
        setup: Each run's own work in the worker: resetting the model and optimizer, starting the
            data pipeline, the first call of each evaluation (it weighs on a short calibration run).
        fixed: Seconds per run beyond the work, the same on any machine: dispatch, weights back.
    """

    image: float
    batch: float
    scored: float
    setup: float
    fixed: float


#: Per architecture, measured on a 2-core x86-64 CPU with the app's thread setting.
COSTS: dict[str, Cost] = {
    "mlp": Cost(image=8e-6, batch=2.5e-4, scored=1.5e-6, setup=0.1, fixed=0.3),
    "cnn": Cost(image=3.6e-5, batch=9.5e-4, scored=1.2e-5, setup=0.26, fixed=0.3),
}
_TEST_IMAGES = 10000  # the MNIST test set, scored at the end of every run
_KEEP = 20  # timed runs remembered per architecture


def _cost(config: TrainConfig) -> Cost:
    cost = COSTS[config.arch]
    if config.arch != "cnn":
        return cost
    scale = (config.width / 16) ** 2  # every layer's work grows with filters in × filters out
    return Cost(cost.image * scale, cost.batch, cost.scored * scale, cost.setup, cost.fixed)


def work(config: TrainConfig) -> float:
    """The seconds ``config``'s training, validation and test take on the reference CPU, beyond its fixed part.

    Args:
        config: A valid run configuration.

    Returns:
        Seconds of work on the reference CPU.
    """
    cost = _cost(config)
    images = config.train_images
    batches = math.ceil(images / min(config.batch_size, images))
    per_epoch = images * cost.image + batches * cost.batch + config.val_size * cost.scored
    return cost.setup + config.epochs * per_epoch + _TEST_IMAGES * cost.scored


@dataclass(frozen=True)
class Estimate:
    """An estimate of a run's duration.

    Attributes:
        seconds: From pressing Train to the results (queue time not included).
        measured: Whether this machine's speed for the architecture was measured
            here (``False``: the reference CPU's figures).
        runs: How many timed runs the speed comes from.
    """

    seconds: float
    measured: bool
    runs: int

    def text(self) -> str:
        """The duration as a person reads an estimate: ``"about 7 s"``, ``"about 2 min 10 s"``."""
        return f"about {seconds(max(1.0, round(self.seconds)))}"


class Estimator:
    """Learns this machine's speed from timed runs and estimates new ones.

    Thread-safe: workers' calibrations and finished trainings report from
    their own threads while pages ask.
    """

    def __init__(self) -> None:
        self._runs: dict[str, deque[float]] = {}
        self._calibrations: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _add(self, kept: dict[str, deque[float]], arch: str, speed: float) -> None:
        if math.isfinite(speed) and speed > 0:
            with self._lock:
                kept.setdefault(arch, deque(maxlen=_KEEP)).append(speed)

    def observe(self, config: TrainConfig, seconds: float) -> None:
        """Record that a training of ``config`` took ``seconds`` from its start to its results.

        Args:
            config: What was trained (a run that ended by itself, not stopped).
            seconds: From the worker starting it to the results in the app.
        """
        if config.arch in COSTS and seconds > 0:
            self._add(self._runs, config.arch, max(seconds - _cost(config).fixed, 0.05 * seconds) / work(config))

    def calibrate(self, config: TrainConfig, seconds: float) -> None:
        """Record a worker's short timing run: ``config`` took ``seconds`` of work, no dispatch."""
        if config.arch in COSTS and seconds > 0:
            self._add(self._calibrations, config.arch, seconds / work(config))

    def estimate(self, config: TrainConfig) -> Estimate:
        """How long ``config`` will take, from the median speed of this architecture's timed runs.

        Falls back to the workers' calibration runs, then to the other architecture's
        speed (a slow machine is slow for both), then to the reference CPU's.
        """
        with self._lock:
            runs = list(self._runs.get(config.arch, ()))
            speeds = runs or list(self._calibrations.get(config.arch, ()))
            if not speeds:
                speeds = [
                    s
                    for kept in (self._runs, self._calibrations)
                    for a, q in kept.items()
                    if a != config.arch
                    for s in q
                ]
        speed = statistics.median(speeds) if speeds else 1.0
        return Estimate(_cost(config).fixed + speed * work(config), measured=bool(speeds), runs=len(runs))

    def clear(self) -> None:
        """Forget every timing (tests)."""
        with self._lock:
            self._runs.clear()
            self._calibrations.clear()


#: The process's estimator: fed by the cluster's calibrations and finished runs, read by the Train page.
estimator = Estimator()
