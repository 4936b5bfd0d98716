"""The training task a Dask worker runs, and what travels between it and the app.

:func:`train_task` runs :func:`core.training.train` in a worker process and
talks to the job that submitted it through three Dask channels:

- **Progress** goes out as Dask events (``Worker.log_event`` on the worker,
  ``Client.subscribe_topic`` in the app). Logging an event only queues a
  message on the worker's batched stream to the scheduler, so a report costs
  the training loop microseconds and never waits on the network; the scheduler
  forwards it to the subscribed client straight away (several reports a
  second reach the page), and because the task's completion travels on the
  same ordered stream, every report arrives before the result. A
  ``distributed.Queue`` would cost a round trip to the scheduler per report
  and outlive a job whose app went away; a ``Variable`` keeps only the latest
  value, and the live curve needs every report. (Dask's old ``Pub``/``Sub``
  is gone from ``distributed``.) All jobs share one topic, tagged with the
  job's id: the scheduler keeps every topic it has seen, each with a bounded
  log.
- **Stop** comes in through a ``distributed.Event`` named after the job. A
  thread of the task waits on it and sets the run's :class:`StopSignal`,
  whose flag the graph's training loop checks before every batch, so the
  running batch is the last, even in the middle of a block.
- **The result** is the task's return value, :func:`pack_result`: the
  model's weights and the run's numbers, plain arrays and lists; the app
  rebuilds the model with :func:`unpack_result`.

Tasks are submitted as :func:`portable` stand-ins: the scheduler unpickles
every task it is sent, and a function of this project, pickled by
reference, would make it import ``core`` (a plain ``dask scheduler`` fails
the run with "Error during deserialization of the task graph"). Only the
workers need the project.

TensorFlow is imported by the task, on the worker, not by this module.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import astuple, replace
from typing import Any

import numpy as np
from distributed import Event, get_client, get_worker

from core.cluster import PROGRESS_TOPIC
from core.cluster_settings import WORKER_ENVIRON_VARIABLE, slow_memory_trimming
from core.runtime import lower_priority

logger = logging.getLogger(__name__)

__all__ = [
    "decode_update",
    "pack_result",
    "portable",
    "stop_event_name",
    "train_task",
    "unpack_result",
    "warm_up_worker",
]

#: Seconds each wait of the stop watcher lasts (it ends at most this long after its run).
STOP_POLL = 0.5


def portable(function: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in for ``function`` that imports it by name where it is called, to submit as a Dask task.

    The stand-in is a closure, so Dask pickles it by value (its code, and the
    names it holds): the scheduler unpickles it without importing this
    project, and the worker imports ``function``'s module when the task runs.
    A worker that cannot import the project (no ``PYTHONPATH=.``) looks for it
    where it is on the submitting machine, so a worker started anywhere on the
    app's own machine needs no settings; elsewhere the import error stands.

    Args:
        function: A module-level function of this project.

    Returns:
        A function taking the same arguments and returning the same value.
    """
    module, name = function.__module__, function.__qualname__
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the folder holding core/

    def call(*args: Any, **kwargs: Any) -> Any:
        import importlib
        import os
        import sys

        try:
            target = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            package = module.partition(".")[0]
            if exc.name != package or not os.path.isfile(os.path.join(root, package, "__init__.py")):
                raise
            sys.path.append(root)  # after the worker's own paths: a copy of its own still wins
            target = importlib.import_module(module)
        return getattr(target, name)(*args, **kwargs)

    return call


def stop_event_name(job: str) -> str:
    """The name of the ``distributed.Event`` that stops job ``job``."""
    return f"digit-studio-stop-{job}"


def _watch_stop(event: Event, signal: Any, done: threading.Event) -> None:
    """Set ``signal`` when ``event`` is set; give up once the run is ``done``."""
    while not done.is_set():
        try:
            if event.wait(timeout=STOP_POLL):
                signal.set()
                return
        except Exception:  # noqa: BLE001 - the scheduler is gone: nobody is left to ask for a stop
            return


def train_task(job: str, config: dict, data: Any = None, finetune: Any = None) -> dict:
    """Train as ``config`` says on this worker, reporting to job ``job``; the Dask task of a training.

    Args:
        job: The submitting job's id (tags every progress message).
        config: A :class:`core.config.TrainConfig` as a dict.
        data: ``((x_train, y_train), (x_test, y_test))``, or ``None`` for this worker's MNIST.
        finetune: A :class:`core.finetune.FineTune`: fine-tune its model on its drawings instead.

    Returns:
        :func:`pack_result` of the run.
    """
    worker = get_worker()

    def report(kind: str, **fields: Any) -> None:
        worker.log_event(PROGRESS_TOPIC, {"job": job, "kind": kind, **fields})

    # Before TensorFlow's import and MNIST's loading: the page shows "starting" from here on.
    report("started", worker=worker.address, pid=os.getpid())
    lower_priority()
    from core.config import TrainConfig
    from core.progress import StopSignal
    from core.training import train

    signal, done = StopSignal(), threading.Event()
    stop = Event(stop_event_name(job), client=get_client())
    watcher = threading.Thread(
        target=_watch_stop, args=(stop, signal, done), name=f"digit-studio-stop-{job}", daemon=True
    )
    watcher.start()
    hooks: dict[str, Any] = {
        "on_batch": lambda u: report("batch", update=list(astuple(u))),
        "on_epoch": lambda u: report("epoch", update=list(astuple(u))),
        "stop": signal,
        "data": data,
    }
    try:
        if finetune is None:
            result = train(TrainConfig(**config), **hooks)
        else:
            from core.finetune import fine_tune

            result = fine_tune(TrainConfig(**config), finetune, **hooks)
    finally:
        done.set()
    return pack_result(result)


def warm_up_worker() -> int:
    """Import TensorFlow (with this project's thread settings) and load ``$MNIST_DIR``'s MNIST in this worker.

    Returns:
        This worker's process id.
    """
    lower_priority()
    import core.training  # noqa: F401 - the import is the warm-up

    if slow_memory_trimming():
        name, value = WORKER_ENVIRON_VARIABLE
        logger.warning('Trainings run slower on this worker: start it with %s="%s" (see the README)', name, value)

    if os.environ.get("MNIST_DIR"):
        from core.data import MnistUnavailableError, load_mnist

        try:
            load_mnist()
        except MnistUnavailableError:
            pass  # said to the user when they train
    return os.getpid()


#: Images of the calibration run each worker makes when it starts (:func:`calibrate_worker`).
CALIBRATION_IMAGES = 4096


def calibrate_worker() -> dict | None:
    """Time a short run of the default network here: this machine's speed, for the Train page's estimates.

    The first of two runs also compiles the default run's training step, which the
    worker keeps, so the first person to press Train does not wait for it.

    Returns:
        ``{"config": ..., "seconds": ...}`` of the second (warm) run, or ``None`` without MNIST.
    """
    lower_priority()
    from core.config import TrainConfig
    from core.data import MnistUnavailableError, load_mnist
    from core.training import train

    try:
        data = load_mnist()
    except MnistUnavailableError:
        return None
    # A validation set too, so everything a real run traces is traced here.
    config = replace(TrainConfig(), epochs=1, train_size=CALIBRATION_IMAGES, val_size=CALIBRATION_IMAGES // 2)
    train(config, data=data)
    started = time.perf_counter()
    train(config, data=data)
    return {"config": config.to_dict(), "seconds": time.perf_counter() - started}


def decode_update(message: dict) -> Any:
    """The :class:`BatchUpdate` or :class:`EpochUpdate` in a ``batch`` or ``epoch`` progress message."""
    from core.progress import BatchUpdate, EpochUpdate

    kind = BatchUpdate if message["kind"] == "batch" else EpochUpdate
    return kind(*message["update"])


def pack_result(result: Any) -> dict:
    """A :class:`core.progress.TrainResult` as plain data: weights instead of the model."""
    return {
        "config": result.config.to_dict(),
        "weights": [np.asarray(w) for w in result.model.get_weights()],
        "history": result.history,
        "test_loss": result.test_loss,
        "test_accuracy": result.test_accuracy,
        "stopped_early": result.stopped_early,
        "epochs_completed": result.epochs_completed,
        "duration": result.duration,
        "samples_per_second": result.samples_per_second,
        "batch_history": [astuple(u) for u in result.batch_history],
        "test_probabilities": result.test_probabilities,
        "finetune": getattr(result, "finetune", None),
        # A fine-tuned model keeps its starting model's architecture, which build_model may not make.
        "architecture": result.model.to_json() if getattr(result, "finetune", None) else None,
    }


def unpack_result(payload: dict) -> Any:
    """The :class:`core.progress.TrainResult` a :func:`pack_result` payload describes, with its model rebuilt here."""
    from core.config import TrainConfig
    from core.model import build_model
    from core.progress import BatchUpdate, TrainResult

    config = TrainConfig(**payload["config"])
    if payload.get("architecture"):
        import keras

        model = keras.models.model_from_json(payload["architecture"])
    else:
        model = build_model(config.arch, config.dropout, config.learning_rate, seed=config.seed, width=config.width)
    model.set_weights(payload["weights"])
    return TrainResult(
        model=model,
        config=config,
        history=payload["history"],
        test_loss=payload["test_loss"],
        test_accuracy=payload["test_accuracy"],
        stopped_early=payload["stopped_early"],
        epochs_completed=payload["epochs_completed"],
        duration=payload["duration"],
        samples_per_second=payload["samples_per_second"],
        batch_history=[BatchUpdate(*u) for u in payload["batch_history"]],
        test_probabilities=payload["test_probabilities"],
        finetune=payload.get("finetune"),
    )
