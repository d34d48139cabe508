"""The full recipe on the real MNIST files, as the README's main command runs it.

Runs when MNIST_DATA names a copy of MNIST (CI sets it to ../shared/mnist).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import run_script, script_env

from mnist_pipeline.backend import import_keras

MNIST_DATA = os.environ.get("MNIST_DATA")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MNIST_DATA, reason="set MNIST_DATA to a folder of the MNIST IDX files"),
]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """`python model.py` then `python mnist_classification.py` with no options at all, run in an
    empty folder with data from MNIST_DATA, exactly as the README's main command runs them."""
    folder = tmp_path_factory.mktemp("full")
    env = script_env(MNIST_DATA=str(Path(MNIST_DATA).resolve()))
    for script in ("model.py", "mnist_classification.py"):
        result = run_script(script, env=env, cwd=folder)
        assert result.returncode == 0, result.stderr
    return folder / "artifacts"


def test_default_recipe_reaches_97_percent(full_run):
    metrics = json.loads((full_run / "metrics.json").read_text())
    matrix = np.array(metrics["confusion_matrix"])
    assert metrics["n_test"] == matrix.sum() == 10_000
    assert metrics["test_accuracy"] == pytest.approx(np.trace(matrix) / 10_000)
    assert metrics["test_accuracy"] >= 0.970


def test_default_recipe_is_the_documented_one(full_run):
    history = json.loads((full_run / "history.json").read_text())
    assert history["settings"] | {"data_source": None} == {
        "seed": 42,
        "epochs": 5,
        "batch_size": 32,
        "learning_rate": 0.001,
        "n_train": 60_000,
        "data_source": None,
    }
    model = import_keras().saving.load_model(full_run / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == 5 * 1875  # every image, batch 32, every epoch
