"""Shared pytest fixtures for the Digit Studio test suite.

Kept deliberately small: a fixture lives here only when several test modules
need it. Module-specific helpers stay in their own test files.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

# Silence TensorFlow's C++ start-up chatter in test output (no effect on behaviour).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The app's store (people's runs, their models, the identity secret) goes to a folder of this test
# session, never to the project's data/ folder; it is removed when the session ends.
if not os.environ.get("DIGIT_STUDIO_DATA"):
    os.environ["DIGIT_STUDIO_DATA"] = tempfile.mkdtemp(prefix="digit-studio-test-data-")
    atexit.register(shutil.rmtree, os.environ["DIGIT_STUDIO_DATA"], True)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST folder named by ``$MNIST_DIR``; skips the test when the variable is unset.

    Tests that need the genuine 70,000 digits (shapes, first labels, accuracy
    of the bundled model, training on real data) request this or :func:`mnist`.
    """
    value = os.environ.get("MNIST_DIR")
    if not value:
        pytest.skip("MNIST_DIR is not set (e.g. MNIST_DIR=/work/shared/mnist)")
    return Path(value)


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Real MNIST as ``((x_train, y_train), (x_test, y_test))``, loaded once per session.

    Comes from :func:`core.data.load_mnist` with the real ``$MNIST_DIR``; the
    arrays stay valid even when a test later clears ``core.data``'s cache.
    They are read-only; copy before modifying.
    """
    from core.data import load_mnist

    return load_mnist()


def _synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Easy, learnable 'digits': class k is a bright 4×4 block at a class-specific spot, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(y):
        row, col = 4 + 8 * (label // 4), 2 + 6 * (label % 4)
        x[i, row : row + 4, col : col + 4] = 255
    return x, y


@pytest.fixture(scope="session")
def synthetic_digits():
    """``synthetic_digits(n, seed=0) -> (x, y)``: uint8 images a model learns in seconds (no MNIST needed)."""
    return _synthetic_digits


@pytest.fixture(scope="session", autouse=True)
def no_leaked_cluster() -> Iterator[None]:
    """Close the Dask connection and stop any local cluster a test started (its worker processes) at the end."""
    yield
    if "core.cluster" in sys.modules:
        sys.modules["core.cluster"].shutdown()
