"""The not-a-digit check: saved by model.py, used by --image, --json and the API, and its
fallback. Its quality on the full MNIST model is checked in test_full_mnist.py."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import make_split, run_script
from fastapi.testclient import TestClient
from not_digits import draw, symbol
from PIL import Image

from mnist_pipeline.classify import answer, answer_line
from mnist_pipeline.digit_check import (
    CHECK_FILE,
    DETECTORS,
    KINDS,
    SIDE,
    DigitCheck,
    Maker,
    TopProbability,
    fit_digit_check,
    load_digit_check,
)
from mnist_pipeline.saved_model import load_classifier
from mnist_pipeline.serve import create_app


@pytest.fixture
def star(tmp_path) -> Path:
    """A hand-drawn star, as the page would send it."""
    picture = draw(symbol("star"), np.random.default_rng(5))
    path = tmp_path / "star.png"
    picture.save(path)
    return path


def model_copy(trained: Path, folder: Path, threshold: float | None = None) -> Path:
    """The trained model in `folder`; with its check saved again at `threshold`, if given."""
    shutil.copy(trained / "model.keras", folder / "model.keras")
    if threshold is not None:
        check = load_digit_check(trained / "model.keras")
        check.threshold = threshold
        check.save(folder / CHECK_FILE, folder / "model.keras")
    return folder / "model.keras"


def test_model_py_saves_the_check_beside_the_model(trained, capsys):
    check = load_digit_check(trained / "model.keras")
    assert isinstance(check, DigitCheck)
    assert "note:" not in capsys.readouterr().err
    with np.load(trained / CHECK_FILE, allow_pickle=False) as saved:  # plain arrays only
        assert str(saved["model_sha256"])
    # Its threshold sits among the scores of training digits: most are answered.
    pixels = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    probabilities = np.full((5, 10), 0.1, np.float32)
    oddness = check.oddness(pixels, probabilities)
    detectors = len(DETECTORS)
    assert len(check.layers) == detectors
    assert oddness.shape == (5,) and ((oddness >= 0) & (oddness <= detectors)).all()
    assert 0 < check.threshold < detectors
    assert (check.not_digits(pixels, probabilities) == (oddness > check.threshold)).all()


def test_without_the_file_one_note_and_the_top_probability(trained, tmp_path, star):
    model = model_copy(trained, tmp_path)
    run = run_script("mnist_classification.py", "--model", model, "--image", star, "--json")
    assert run.returncode == 0, run.stderr
    notes = [line for line in run.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "falls back to the top probability" in notes[0]
    [result] = json.loads(run.stdout)
    assert result["not_a_digit"] == (result["probability"] < 1 - TopProbability.threshold)


def test_a_check_made_for_another_model_is_not_used(trained, tmp_path, capsys):
    model = model_copy(trained, tmp_path, threshold=0.5)
    model.write_bytes(model.read_bytes() + b"\0")  # another model file now
    assert isinstance(load_digit_check(model), TopProbability)
    assert "made for another model" in capsys.readouterr().err
    (tmp_path / CHECK_FILE).write_bytes(b"not an npz")
    assert isinstance(load_digit_check(model), TopProbability)
    assert "unreadable" in capsys.readouterr().err


def test_image_says_not_a_digit_with_the_best_guess_and_exit_code_0(trained, tmp_path, star):
    model = model_copy(trained, tmp_path, threshold=-1.0)  # everything is "not a digit"
    run = run_script("mnist_classification.py", "--model", model, "--image", star)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{star}: not a digit (best guess ")
    run = run_script("mnist_classification.py", "--model", model, "--image", star, "--json")
    [result] = json.loads(run.stdout)
    assert result["digit"] is None and result["not_a_digit"] is True
    assert result["best_guess"] == result["top_3"][0]["digit"]
    assert len(result["top_3"]) == 3


def test_a_digit_keeps_its_answer_line_and_fields():
    probabilities = np.array([0.01, 0.02, 0.9, 0.07, 0, 0, 0, 0, 0, 0])
    result = answer(probabilities, not_a_digit=False)
    assert answer_line(result) == "2 (90.0%)   top 3: 2 90.0%, 3 7.0%, 1 2.0%"
    assert answer_line(answer(probabilities, not_a_digit=True)) == "not a digit (best guess 2, 90%)"
    assert result["digit"] == 2 and result["not_a_digit"] is False and result["best_guess"] == 2


def test_the_api_answers_200_with_null_digit_and_the_networks_view(trained, tmp_path, star):
    model = model_copy(trained, tmp_path, threshold=-1.0)
    with TestClient(create_app(model)) as client:
        headers = {"content-type": "image/png"}
        response = client.post("/api/predict", content=star.read_bytes(), headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["digit"] is None and result["not_a_digit"] is True
    assert result["best_guess"] == int(np.argmax(result["probabilities"]))
    assert len(result["probabilities"]) == 10 and len(result["activations"]) == 4
    seen = Image.open(io.BytesIO(base64.b64decode(result["preprocessed"].split(",")[1])))
    assert seen.size == (28, 28)


def test_the_same_seed_fits_the_same_check(trained):
    """The examples are made in parts on every core; each part has its own seed, so a
    fixed seed gives the same detectors, ranks and threshold."""
    model = load_classifier(trained / "model.keras")
    images, labels = make_split(300, 4)
    first, again = (fit_digit_check(model, images, labels, seed=5, say=lambda _: None) for _ in range(2))
    other = fit_digit_check(model, images, labels, seed=6, say=lambda _: None)
    assert first.threshold == again.threshold
    arrays = [w for weights in first.layers for w in weights] + first.references
    arrays_again = [w for weights in again.layers for w in weights] + again.references
    assert all(np.array_equal(a, b) for a, b in zip(arrays, arrays_again, strict=True))
    assert not np.array_equal(first.references[0], other.references[0])


def test_every_kind_of_generated_non_digit_is_drawn_and_placed():
    """Each kind the detectors learn from draws ink at SIDE px tall and places it as a
    28x28; two digits side by side are, whole, wider than any one digit."""
    images, labels = make_split(60, 7)
    maker = Maker(images, labels, np.random.default_rng(0), restroke=False)
    for kind in sorted(set(KINDS)):
        for _ in range(8):
            ink = maker.make(kind)
            assert ink.shape[0] == SIDE and ink.max() > 0.5, kind
            field = maker.placed(ink)
            assert field.shape == (784,) and field.min() >= 0 and field.max() == 1, kind
    widths = [maker.side_by_side().shape[1] for _ in range(200)]
    one_digit = max(maker.inked_columns(maker.enlarged(image)).shape[1] for image in images)
    assert max(widths) > one_digit
