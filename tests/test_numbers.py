"""Whole numbers: every digit in a picture, left to right, through `--image` and the API.

The accuracy tests read numbers written with MNIST test digits (`written_numbers`, a
seed never used while tuning) with the model `python model.py` trains, so they need
MNIST_DATA; the rest use the tiny model and digits drawn with a font.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from conftest import make_split, png_bytes, run_script
from PIL import Image, ImageDraw, ImageFont
from written_numbers import SPACINGS, columns_with_ink, drawn, number_set, write_line

from mnist_pipeline.classify import DigitReader, classify_images, number_answer
from mnist_pipeline.number import MAX_PIECES, atom, crossings, number_pieces, outline_valleys
from mnist_pipeline.picture import ImageError
from mnist_pipeline.saved_model import load_classifier
from mnist_pipeline.serve import create_app

KEPT_ASIDE_SEED = 11  # numbers made with this seed were never looked at while tuning
PER_SPACING = 30
# Exact-number shares each spacing must reach: below what was measured on these 30, as
# the network trained on another CPU differs a little. The model `python model.py` trains
# read wide 0.83, narrow 0.77, touching 0.43, overlapping 0.67 on one machine; on another
# (2026-12-02) wide 0.70, narrow 0.77, touching 0.43, overlapping 0.67, and after soft,
# thick strokes came to be thinned 0.67, 0.80, 0.43, 0.57 (the 300-number benchmark:
# 0.640 -> 0.637 and 0.480 -> 0.500). Guards against going back, not the aims (see
# docs/numbers.md).
AT_LEAST = {"wide": 0.6, "narrow": 0.65, "touching": 0.3, "overlapping": 0.5}
DASHED_NUMBERS = 20  # 'ab-c' made of the test set's first 60 digits
# Two-digit numbers whose digits touch, drawn (a seed never used while tuning).
TOUCHING_PAIRS_SEED, TOUCHING_PAIRS, AT_LEAST_PAIRS = 23, 120, 70


def typed_number(text: str, gap: int = 40, size: int = 150) -> Image.Image:
    """`text` in a font, dark on white, each character `gap` px from the next: a clean
    picture of a number (a "-" is a dash)."""
    font = ImageFont.load_default(size=size)
    width = sum(int(font.getlength(c)) + gap for c in text) + 2 * gap
    picture = Image.new("L", (width, int(size * 1.6)), 255)
    pen = ImageDraw.Draw(picture)
    x = gap
    for character in text:
        pen.text((x, size * 0.8), character, fill=0, font=font, anchor="lm", stroke_width=4, stroke_fill=0)
        x += int(font.getlength(character)) + gap
    return picture


@pytest.fixture(scope="module")
def kept_aside_numbers(mnist_data):
    return number_set(mnist_data.x_test, mnist_data.y_test, PER_SPACING * len(SPACINGS), KEPT_ASIDE_SEED)


def read_numbers(model, check, numbers, folder) -> list[str | None]:
    paths = []
    for i, number in enumerate(numbers):
        paths.append(folder / f"{i}.png")
        number.picture.save(paths[-1])
    return [result.get("number") for result in classify_images(model, paths, None, check)]


@pytest.mark.parametrize("spacing", SPACINGS)
def test_numbers_of_mnist_digits_are_read(mnist_model_and_check, kept_aside_numbers, spacing, tmp_path):
    """Drawings, photos and hard photos of 2-6 digit numbers, each spacing kind."""
    numbers = [number for number in kept_aside_numbers if number.spacing == spacing]
    read = read_numbers(*mnist_model_and_check, numbers, tmp_path)
    right = np.mean([answer == number.text for answer, number in zip(read, numbers, strict=True)])
    assert right >= AT_LEAST[spacing], (spacing, right)


def test_a_dash_between_digits_is_a_question_mark(mnist_model_and_check, mnist_data, tmp_path):
    """'12-5' reads as '12?5': the dash is not forced into a digit, nor dropped."""
    model, check = mnist_model_and_check
    right = dash_in_place = 0
    gap = np.zeros((28, 5), np.uint8)
    dash = np.zeros((28, 12), np.uint8)
    dash[13:16, 1:11] = 255
    for first in range(0, 3 * DASHED_NUMBERS, 3):
        digits = [columns_with_ink(digit) for digit in mnist_data.x_test[first : first + 3]]
        strip = np.pad(
            np.hstack([gap, digits[0], gap, digits[1], gap, dash, gap, digits[2], gap]), ((6, 6), (0, 0))
        )
        big = Image.fromarray(strip).resize(
            (strip.shape[1] * 8, strip.shape[0] * 8), Image.Resampling.BICUBIC
        )
        Image.fromarray(255 - np.asarray(big)).save(tmp_path / f"{first}.png")
        [result] = classify_images(model, [tmp_path / f"{first}.png"], None, check)
        labels = [str(label) for label in mnist_data.y_test[first : first + 3]]
        number = result["number"] or ""
        right += number == f"{labels[0]}{labels[1]}?{labels[2]}"
        dash_in_place += len(number) == 4 and number[2] == "?" and number.count("?") == 1
    # Measured (2026-12-07, 20 numbers, the default model and three other seeds' on one
    # machine, and the default with oneDNN kept to AVX2): 17 to 20 right, the dash read
    # as the only "?" in 18 to 20 (a digit misread, or a number whose digits the check
    # doubts read as one mark that is no digit, make up the rest).
    assert dash_in_place >= 16, dash_in_place
    assert right >= 15, right


def test_a_cut_may_start_where_the_outline_dips():
    """Two rings that touch (a 0 and a 0): their outline dips where they meet and nowhere
    else; one ring's outline does not dip at all."""

    def rings(*centres: int) -> np.ndarray:
        rows, columns = np.indices((40, 100))
        strokes = np.zeros((40, 100), bool)
        for centre in centres:
            distance = np.hypot(rows - 20, columns - centre)
            strokes |= (distance > 11) & (distance < 17)
        return strokes[:, strokes.any(axis=0)]  # the mark's own columns, as `cut` sees them

    two, one = rings(20, 53), rings(20)
    assert list(outline_valleys(two, np.arange(6, two.shape[1] - 6))) == [33]  # 36.5 less the 4 cropped
    assert len(outline_valleys(one, np.arange(6, one.shape[1] - 6))) == 0


def test_a_cut_through_a_hash_crosses_two_strokes_and_one_between_touching_rings():
    """What a cut costs grows with the strokes it crosses: the cut between the halves of a
    hash sign crosses its two bars; the one between two rings that touch (a 0 and a 0)
    crosses only where they meet."""

    def halves(strokes: np.ndarray, middle: int) -> int:
        box = np.s_[0 : strokes.shape[0], 0 : strokes.shape[1]]
        left, right = strokes.copy(), strokes.copy()
        left[:, middle:], right[:, :middle] = False, False
        return crossings(atom(1, left, box), atom(1, right, box))

    hash_sign = np.zeros((100, 100), bool)
    hash_sign[5:95, 30:38] = hash_sign[5:95, 62:70] = True  # two upright strokes
    hash_sign[30:38, 5:95] = hash_sign[62:70, 5:95] = True  # two bars across them
    rows, columns = np.indices((40, 70))
    rings = np.zeros((40, 70), bool)
    for centre in (18, 51):
        distance = np.hypot(rows - 20, columns - centre)
        rings |= (distance > 11) & (distance < 17)
    assert halves(hash_sign, 50) == 2
    assert halves(rings, 35) == 1


def test_two_digits_that_touch_are_not_read_as_one(mnist_model_and_check, mnist_data):
    """Two touching digits can look like one digit to the check (a 6 and a 1 as a 4): a
    mark that wide, unless the check is sure of it, is read both ways, and the better
    reading wins."""
    rng = np.random.default_rng(TOUCHING_PAIRS_SEED)
    reader = DigitReader(*mnist_model_and_check)
    right = 0
    for _ in range(TOUCHING_PAIRS):
        chosen = rng.choice(len(mnist_data.x_test), 2, replace=False)
        strip = write_line(list(mnist_data.x_test[chosen]), "touching", rng)
        grey = np.asarray(drawn(strip, rng), np.float32) / 255
        text = "".join(str(label) for label in mnist_data.y_test[chosen])
        right += number_answer(number_pieces(grey, reader))["number"] == text
    # Measured (2026-12-06): 75 of 120; 63 when a wide mark the check took for
    # a digit was always read as one.
    assert right >= AT_LEAST_PAIRS, right


@pytest.mark.parametrize("length", [120, 170, 230])
def test_a_dash_alone_is_not_a_digit(mnist_model_and_check, length):
    """A dash drawn alone is one mark, "not a digit": not cut into more slices than a
    number may have digits (that answered "more than 20 digits or marks")."""
    grey = np.ones((280, 280), np.float32)
    left = (280 - length) // 2
    grey[130:150, left : left + length] = 0
    pieces = number_pieces(grey, DigitReader(*mnist_model_and_check))
    assert len(pieces) == 1 and pieces[0].odd


def test_one_digit_answers_as_before(trained, tmp_path):
    """A picture of one digit: the same fields as always, plus its number and one digit."""
    digit = make_split(1, 3)[0][0]
    Image.fromarray(255 - np.asarray(Image.fromarray(digit).resize((280, 280)))).save(tmp_path / "one.png")
    model = load_classifier(trained / "model.keras")
    [result] = classify_images(model, [tmp_path / "one.png"], None)
    assert result["digit"] is not None and result["number"] == str(result["digit"])
    [only] = result["digits"]
    assert only["digit"] == result["digit"] and only["probability"] == result["probability"]
    assert only["top_3"] == result["top_3"]


def test_image_prints_the_number_and_each_digit(trained, tmp_path):
    typed_number("2026").save(tmp_path / "year.png")
    result = run_script(
        "mnist_classification.py",
        "--model",
        trained / "model.keras",
        "--image",
        tmp_path / "year.png",
        "--save-preprocessed",
        tmp_path / "seen",
    )
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith(f"{tmp_path / 'year.png'}: ")
    number, digits = line.split(": ", 1)[1].split("   ")
    assert len(number) == 4 and len(digits.split(", ")) == 4
    assert sorted(p.name for p in (tmp_path / "seen").iterdir()) == [f"year.png.{i}.png" for i in range(1, 5)]


def test_json_gives_number_and_digits_with_boxes(trained, tmp_path):
    picture = typed_number("4719", gap=60)
    picture.save(tmp_path / "n.png")
    result = run_script(
        "mnist_classification.py", "--model", trained / "model.keras", "--image", tmp_path / "n.png", "--json"
    )
    assert result.returncode == 0, result.stderr
    [answer] = json.loads(result.stdout)
    assert answer["digit"] is None and len(answer["digits"]) == 4
    assert answer["number"] == "".join("?" if d["not_a_digit"] else str(d["digit"]) for d in answer["digits"])
    ink = np.asarray(picture) < 128
    lefts = []
    for digit in answer["digits"]:
        x, y, width, height = digit["box"]
        assert set(digit) >= {"digit", "probability", "top_3", "box"}
        inside = ink[y : y + height, x : x + width]
        assert inside.sum() > 0.15 * ink.sum()  # each box holds about a quarter of the ink
        lefts.append(x)
    assert lefts == sorted(lefts)  # left to right


def test_api_answers_a_number_with_each_digit(trained):
    from fastapi.testclient import TestClient

    with TestClient(create_app(trained / "model.keras")) as client:
        response = client.post(
            "/api/predict", content=png_bytes(typed_number("385")), headers={"Content-Type": "image/png"}
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["digit"] is None and answer["probabilities"] is None
        assert len(answer["digits"]) == 3 and len(answer["number"]) == 3
        for digit in answer["digits"]:
            assert len(digit["probabilities"]) == 10
            assert digit["preprocessed"].startswith("data:image/png;base64,")
            assert [len(layer["values"]) for layer in digit["activations"]] == [100, 50, 25, 10]
            assert len(digit["box"]) == 4

        one = client.post(
            "/api/predict", content=png_bytes(typed_number("3")), headers={"Content-Type": "image/png"}
        )
        single = one.json()
        assert single["digit"] is not None and len(single["probabilities"]) == 10
        assert single["number"] == str(single["digit"]) and len(single["digits"]) == 1

        many = typed_number("1234567890" * 2 + "12345", gap=50, size=60)
        refused = client.post("/api/predict", content=png_bytes(many), headers={"Content-Type": "image/png"})
        assert refused.status_code == 422 and f"more than {MAX_PIECES}" in refused.json()["error"]


@pytest.mark.parametrize("kind", ["noise", "dots"])
def test_noise_is_answered_in_bounded_time(trained, kind):
    """A picture of noise or thousands of dots never hangs: an answer or one clear error."""
    rng = np.random.default_rng(0)
    if kind == "noise":
        grey = rng.random((1200, 1600)).astype(np.float32)
    else:
        grey = np.ones((1200, 1600), np.float32)
        rows, columns = rng.integers(0, 1200, 5000), rng.integers(0, 1600, 5000)
        for dy in range(3):
            for dx in range(3):
                grey[np.minimum(rows + dy, 1199), np.minimum(columns + dx, 1599)] = 0
    reader = DigitReader(load_classifier(trained / "model.keras"))
    started = time.perf_counter()
    try:
        pieces = number_pieces(grey, reader)
        assert 1 <= len(pieces) <= MAX_PIECES
    except ImageError as error:  # a clear refusal is fine; a hang is not
        assert "more than" in str(error) or "no ink" in str(error), error
    assert time.perf_counter() - started < 20  # a guard against hangs, not a speed test


def test_the_reader_keeps_numpy_on_one_thread(trained):
    """Reading multiplies small matrices: on one BLAS thread, as the reader sets it, they
    do not fight over the cores with another request or worker (docs/page-and-api.md)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(2, user_api="blas")  # as a fresh process would have it on 2 cores
    DigitReader(load_classifier(trained / "model.keras"))
    blas = [library for library in threadpool_info() if library["user_api"] == "blas"]
    assert blas and all(library["num_threads"] == 1 for library in blas), blas
