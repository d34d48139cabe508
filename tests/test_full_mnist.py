"""The full recipe on the real MNIST files, as the README's main command runs it.

Runs when MNIST_DATA names a copy of MNIST (CI sets it to ../shared/mnist); the run itself
is the `mnist_artifacts` fixture in conftest.py, shared with the drawing-page tests.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from not_digits import (
    CATEGORIES,
    as_page_drawing,
    drawn_set,
    preprocessed_set,
    read_as_image,
    typed_set,
)

from mnist_pipeline.backend import import_keras
from mnist_pipeline.classify import DigitReader
from mnist_pipeline.digit_check import DigitCheck

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


# The not-a-digit check that model.py saved beside the model, on pictures it never saw:
# non-digits of both generated sets (seed 11; the benchmark uses seed 2), and test digits
# drawn as the page sends them.
CHECK_SEED = 11
NON_DIGITS_AS_IMAGE = 120  # pictures per set read whole, as `--image` reads them


@pytest.fixture(scope="module")
def checked(mnist_model_and_check):
    """A function: 28x28s (n, 784) -> which the saved check calls "not a digit"."""
    model, check = mnist_model_and_check
    assert isinstance(check, DigitCheck)
    return lambda pixels: check.not_digits(pixels, model.predict(pixels, batch_size=1024, verbose=0))


@pytest.mark.parametrize("make", [drawn_set, typed_set])
def test_the_check_calls_each_kind_of_non_digit_not_a_digit(checked, make):
    images, categories, _ = preprocessed_set(make(240, CHECK_SEED))
    caught = checked(images)
    shares = {category: caught[categories == category].mean() for category in CATEGORIES}
    # Measured on 800 of each set (seed 2): 0.82 and 0.72, no category under 0.66
    # (2026-12-02); 0.85 and 0.71, none under 0.66 (2026-12-06, that day's model); 0.86
    # and 0.70, none under 0.65, once the check learned two digits side by side (that
    # evening). The network's top probability alone catches about a third.
    assert caught.mean() >= 0.65, shares
    assert min(shares.values()) >= 0.5, shares


@pytest.fixture(scope="module")
def reader(mnist_model_and_check) -> DigitReader:
    """The network and the check, as `--image`, the page and the API read pictures."""
    return DigitReader(*mnist_model_and_check)


@pytest.mark.parametrize("make", [drawn_set, typed_set])
def test_non_digits_are_not_a_digit_as_image_reads_them(reader, make):
    """Through the number reader too (`--image`, the page, the API): a wide letter or a
    zigzag is not cut into a made-up number."""
    caught, categories = read_as_image(make(NON_DIGITS_AS_IMAGE, CHECK_SEED), reader)
    shares = {category: caught[categories == category].mean() for category in CATEGORIES}
    # Measured on these 120 (2026-12-06): 0.83 and 0.74, no category under 0.67; on 800 of
    # each set (seed 2, benchmarks/not_a_digit_check.py): 0.79 and 0.68; 0.80 and 0.66
    # once the check learned two digits side by side (that evening).
    assert caught.mean() >= 0.6, shares
    assert min(shares.values()) >= 0.45, shares


def test_real_digits_keep_their_answers(checked, mnist_data, mnist_artifacts):
    chosen = np.random.default_rng(CHECK_SEED).choice(len(mnist_data.x_test), 600, replace=False)
    drawn = np.stack([as_page_drawing(mnist_data.x_test[i]).reshape(-1) for i in chosen])
    assert checked(drawn).mean() <= 0.035  # the aim is 2% of all 10,000; 600 vary around it
    metrics = json.loads((mnist_artifacts / "metrics.json").read_text())
    check = metrics["not_a_digit"]  # the 10,000 as they are (28x28, not redrawn): a little odder
    assert check["check"].startswith("learned")
    assert check["turned_away"] <= 0.04
    assert check["accuracy_answered"] > metrics["test_accuracy"]
    assert (mnist_artifacts / "answered_accuracy.png").stat().st_size > 10_000
