"""Each person's training in progress, found again by any of their sessions (a reload, a new tab).

A Streamlit session ends with its browser tab, a training does not: the
process-wide :class:`Trainings` keeps, per owner, the :class:`Training` they
started, so the page of a reloaded tab picks it up live. A training is stored
as soon as it ends, by a small thread of its own (not by whichever page
happens to look): its row is begun in the store when it starts (so a restart
shows it as interrupted), and finished with the model file and results when
it ends, whether or not anyone is watching.

Nothing here imports streamlit; the training job is made by a factory
(default: ``core.jobs.TrainingJob``), so tests run it with a fake trainer.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.config import TrainConfig
from core.estimate import estimator
from core.run_records import record_of
from core.store import Store, open_store

__all__ = ["Busy", "Training", "Trainings", "shared_trainings"]

logger = logging.getLogger(__name__)

#: Sessions' liveness checks kept per training (a person reloading all day adds one per reload).
MAX_WATCHERS = 8


class Busy(RuntimeError):
    """This person already has a training in progress."""


class Training:
    """One person's training: the job, its run number, and how it ended once it is stored.

    Attributes:
        key: Unique in the process (run numbers start again after a person's data is forgotten).
        owner: Whose training.
        number: Its run number in the store.
        job: The training job (``start``/``stop``/``join``/``state``/``snapshot``).
        stored: Set once the outcome is in the store (or the run is dropped).
        outcome: ``"done"``, ``"stopped"``, ``"failed"``, ``"cancelled"`` or ``"forgotten"`` once stored.
        error: The message of a failed training.
        notes: Notes from the store (runs dropped to keep within the caps).
        model: The trained model, kept while this is its owner's latest training.
    """

    _keys = itertools.count(1)

    def __init__(self, owner: str, number: int) -> None:
        self.key = next(Training._keys)
        self.owner, self.number = owner, number
        self.job: Any = None
        self.stored = threading.Event()
        self.outcome: str | None = None
        self.error: str | None = None
        self.notes: list[str] = []
        self.model: Any = None
        self._watchers: list[Callable[[], bool]] = []
        self._lock = threading.Lock()

    def watch(self, is_alive: Callable[[], bool] | None) -> None:
        """Let one more session (a reloaded tab) keep this training alive while it is connected."""
        if is_alive is None:
            return
        with self._lock:
            self._watchers = [*self._watchers, is_alive][-MAX_WATCHERS:]

    def alive(self) -> bool:
        """Whether any session watching this training is still there (True when none can tell)."""
        with self._lock:
            watchers = list(self._watchers)
        return not watchers or any(check() for check in watchers)

    @property
    def running(self) -> bool:
        """Whether the outcome is not stored yet (queued, training, or being saved)."""
        return not self.stored.is_set()


class Trainings:
    """The trainings of everyone in this process, one per person at a time.

    Args:
        store: Where runs are kept.
        make_job: ``make_job(config, is_alive)`` returns an unstarted training job (a fine-tune's
            also gets ``finetune=``).
        test_labels: Returns the test labels (for the stored confusion matrix); None: none kept.
    """

    def __init__(
        self,
        store: Store,
        make_job: Callable[..., Any] | None = None,
        test_labels: Callable[[], Any] | None = None,
    ) -> None:
        self.store = store
        self.make_job = make_job or _default_job
        self.test_labels = test_labels or _mnist_test_labels
        self._lock = threading.Lock()
        self._by_owner: dict[str, Training] = {}

    def get(self, owner: str) -> Training | None:
        """``owner``'s latest training (running, or ended and stored), if any."""
        with self._lock:
            return self._by_owner.get(owner)

    def start(
        self, owner: str, config: TrainConfig, is_alive: Callable[[], bool] | None = None, finetune: Any = None
    ) -> Training:
        """Begin ``owner``'s run in the store and start training it.

        Args:
            owner: Whose run.
            config: What to train.
            is_alive: Whether the session that started it is still there.
            finetune: A :class:`core.finetune.FineTune`: fine-tune its model instead of training a fresh one.

        Raises:
            Busy: ``owner`` has a training that has not ended yet.
        """
        with self._lock:
            current = self._by_owner.get(owner)
            if current is not None and current.running:
                raise Busy("A training of yours is already in progress.")
            training = Training(owner, self.store.begin_run(owner, config.to_dict()))
            training.watch(is_alive)
            try:
                extra = {} if finetune is None else {"finetune": finetune}
                training.job = self.make_job(config, training.alive, **extra)
            except BaseException:
                self.store.delete_run(owner, training.number)
                raise
            self._by_owner[owner] = training
        training.job.start()
        threading.Thread(
            target=self._store_when_ended, args=(training,), name="digit-studio-store-run", daemon=True
        ).start()
        return training

    def forget(self, owner: str) -> None:
        """Stop ``owner``'s training, if any, and let go of it (their data is being deleted)."""
        with self._lock:
            training = self._by_owner.pop(owner, None)
        if training is not None:
            training.outcome = "forgotten"
            training.job.stop()

    def _store_when_ended(self, training: Training) -> None:
        """Wait for the job to end, then store its outcome (the run's results and model, or nothing)."""
        job = training.job
        job.join()
        snap = job.snapshot()
        state = getattr(snap.state, "value", str(snap.state))
        try:
            if training.outcome == "forgotten":
                self.store.delete_run(training.owner, training.number)
            elif snap.result is not None and state in ("done", "stopped"):
                result = snap.result
                record = record_of(result, self.test_labels())
                training.model = result.model  # before the row shows: sessions that read it use this model
                training.notes = self.store.finish_run(
                    training.owner, training.number, state, record, lambda path: _save_model(result.model, path)
                )
                training.outcome = state
                if state == "done" and getattr(result, "finetune", None) is None:
                    estimator.observe(result.config, snap.elapsed)  # the next estimates learn from this run
            else:
                self.store.delete_run(training.owner, training.number)
                training.outcome, training.error = state, snap.error
        except KeyError:  # forgotten while it was being stored
            training.outcome = "forgotten"
        except Exception as exc:
            logger.exception("Digit Studio: could not store run %s", training.number)
            training.outcome, training.error = "failed", f"The run could not be stored ({type(exc).__name__}: {exc})."
        finally:
            training.stored.set()


def _save_model(model: Any, path: Path) -> None:
    model.save(path)


def _default_job(config: TrainConfig, is_alive: Callable[[], bool], finetune: Any = None) -> Any:
    from core.jobs import TrainingJob  # TensorFlow: only once someone trains

    return TrainingJob(config, is_alive=is_alive, finetune=finetune)


def _mnist_test_labels() -> Any:
    from core.data import load_mnist

    return load_mnist()[1][1]


_SHARED: dict[Path, Trainings] = {}
_SHARING = threading.Lock()  # two sessions asking at once must get the same registry


def _shared(folder: Path) -> Trainings:
    with _SHARING:
        if folder not in _SHARED:
            _SHARED[folder] = Trainings(open_store(folder))
        return _SHARED[folder]


def shared_trainings(folder: Path | None = None) -> Trainings:
    """The process-wide :class:`Trainings` over the store in ``folder`` (default: the data folder)."""
    return _shared(open_store(folder).folder)
