"""The full recipe on the real MNIST files, as the README's main command runs it.

Runs when MNIST_DATA names a copy of MNIST (CI sets it to ../shared/mnist); the run itself
is the `mnist_artifacts` fixture in conftest.py, shared with the drawing-page tests.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_pipeline.backend import import_keras

pytestmark = pytest.mark.slow


def test_default_recipe_reaches_97_percent(mnist_artifacts):
    metrics = json.loads((mnist_artifacts / "metrics.json").read_text())
    matrix = np.array(metrics["confusion_matrix"])
    assert metrics["n_test"] == matrix.sum() == 10_000
    assert metrics["test_accuracy"] == pytest.approx(np.trace(matrix) / 10_000)
    assert metrics["test_accuracy"] >= 0.970


def test_default_recipe_is_the_documented_one(mnist_artifacts):
    history = json.loads((mnist_artifacts / "history.json").read_text())
    assert history["settings"] | {"data_source": None} == {
        "seed": 42,
        "epochs": 5,
        "batch_size": 32,
        "learning_rate": 0.001,
        "n_train": 60_000,
        "data_source": None,
    }
    model = import_keras().saving.load_model(mnist_artifacts / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == 5 * 1875  # every image, batch 32, every epoch
