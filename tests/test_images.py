"""`mnist_classification.py --image`: photos and drawings of digits, and every way a file can be bad."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import make_photo, make_split, run_script
from hard_photos import hard_photo, read_right
from PIL import Image

from mnist_pipeline import handwriting, paper, picture
from mnist_pipeline.backend import import_keras
from mnist_pipeline.classify import classify_images
from mnist_pipeline.data import preprocess
from mnist_pipeline.training import train
from model import BATCH_SIZE, EPOCHS, SEED, build_model

PHOTO_DIGITS = 150  # each saved as PNG and as JPEG: 300 photos


def mnist_style(images: np.ndarray) -> np.ndarray:
    """Rendered digits normalized as MNIST's were (20 px box, centred by mass), as uint8."""
    return np.stack(
        [np.round(handwriting.to_mnist(image / np.float32(255)) * 255).astype(np.uint8) for image in images]
    )


@pytest.fixture(scope="module")
def synthetic():
    """A model trained on 3,000 rendered MNIST-style digits, and 150 more to photograph."""
    (x_train, y_train), (x_test, _) = make_split(3000, 1), make_split(PHOTO_DIGITS, 2)
    import_keras().utils.set_random_seed(0)
    model = build_model()
    train(model, mnist_style(x_train), y_train, EPOCHS, BATCH_SIZE, SEED, verbose=False)
    return model, mnist_style(x_test)


def photo_agreement(model, digits: np.ndarray, folder) -> float:
    """Fraction of photos (PNG and JPEG of each digit) given the same answer as the digit itself."""
    rng = np.random.default_rng(0)
    paths = []
    for i, digit in enumerate(digits):
        photo = make_photo(digit, rng)
        photo.save(folder / f"{i}.png")
        photo.save(folder / f"{i}.jpg", quality=85)
        paths += [folder / f"{i}.png", folder / f"{i}.jpg"]
    results = classify_images(model, paths, save_dir=None)
    assert not [result for result in results if "error" in result]
    on_photos = np.array([result["digit"] for result in results])
    on_digits = model.predict(preprocess(digits), verbose=0).argmax(axis=1)
    return float(np.mean(on_photos == np.repeat(on_digits, 2)))


def test_photos_of_rendered_digits_get_the_same_answer(synthetic, tmp_path):
    model, digits = synthetic
    assert photo_agreement(model, digits, tmp_path) >= 0.95


@pytest.mark.slow
def test_photos_of_real_mnist_digits_get_the_same_answer(mnist_data, tmp_path):
    import_keras().utils.set_random_seed(0)
    model = build_model()
    train(model, mnist_data.x_train, mnist_data.y_train, EPOCHS, BATCH_SIZE, SEED, verbose=False)
    chosen = np.random.default_rng(1).choice(len(mnist_data.x_test), PHOTO_DIGITS, replace=False)
    assert photo_agreement(model, mnist_data.x_test[chosen], tmp_path) >= 0.95


# The hard photos (tests/hard_photos.py) kept aside: seed 20 was never looked at while
# tuning the preprocessing (seeds 1, 2, 3, 7 and 8 were; the benchmark uses seed 1).
KEPT_ASIDE_SEED, KEPT_ASIDE_PHOTOS = 20, 200


@pytest.mark.slow
def test_hard_photos_kept_aside_are_mostly_read_right(mnist_model_and_check, mnist_data, tmp_path):
    """Shadows, lined paper, pencil, coloured ink, blur, heavy JPEG, tiny or rotated photos,
    two to four at once: the model `python model.py` trained reads at least 85% right, with
    its not-a-digit check on (a photo it calls "not a digit" counts as wrong)."""
    chosen = np.random.default_rng(KEPT_ASIDE_SEED).choice(
        len(mnist_data.x_test), KEPT_ASIDE_PHOTOS, replace=False
    )
    model, check = mnist_model_and_check
    digits, labels = mnist_data.x_test[chosen], mnist_data.y_test[chosen]
    _, right = read_right(model, digits, labels, KEPT_ASIDE_SEED, tmp_path, check)
    assert np.mean(right) >= 0.85, np.mean(right)


def best_alignment(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two images, allowing one to move by up to a pixel each way."""
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return max(np.corrcoef(np.roll(a, shift, axis=(0, 1)).ravel(), b.ravel())[0, 1] for shift in shifts)


def assert_nearly_unchanged(digits: np.ndarray, alignment: float, difference: float) -> None:
    """Preprocessing an image that is already MNIST-style gives (nearly) the image itself:
    where the centre of mass lies near a half pixel, rounding may move it by one pixel.
    Digits whose strokes are wider than MNIST_STROKE (the thickest tenth of MNIST) are
    thinned on purpose: they keep their shape (alignment above 0.75) at that width."""
    differences = []
    for digit in digits:
        again = handwriting.to_mnist(digit / np.float32(255))
        assert again.shape == (28, 28) and again.dtype == np.float32
        original = digit.astype(np.float32) / 255
        if paper.stroke_width(original > 0.5) <= handwriting.MNIST_STROKE:
            assert best_alignment(again, original) > alignment
        else:
            assert best_alignment(again, original) > 0.75
            assert paper.stroke_width(again > 0.5) <= handwriting.MNIST_STROKE + 0.5
        differences.append(np.abs(again - original).mean())
    assert np.median(differences) < difference


def test_an_mnist_style_image_comes_back_nearly_unchanged(synthetic):
    # Rendered glyphs have thin, unsaturated strokes that the contrast stretch thickens a
    # little, so this bound is looser than for real MNIST digits below.
    assert_nearly_unchanged(synthetic[1][:50], alignment=0.8, difference=0.02)


def test_a_real_mnist_image_comes_back_nearly_unchanged(mnist_data):
    assert_nearly_unchanged(mnist_data.x_test[:200], alignment=0.95, difference=0.01)


def test_thick_strokes_on_squared_paper_come_out_solid():
    """The closing that finds the page is three stroke widths wide, the width measured with
    the printed lines taken out: sized by the thin lines, it left thick strokes hollow."""
    grey = np.full((400, 500), 0.9, np.float32)
    grey[5::20, :] = grey[:, 9::20] = 0.6  # squared paper: 1-px lines every 20 px
    distance = np.hypot(*(np.indices(grey.shape) - np.array([200, 250])[:, None, None]))
    grey[np.abs(distance - 110) < 12] = 0.2  # a '0' drawn with a 24-px stroke
    grey += np.random.default_rng(0).normal(0, 0.01, grey.shape).astype(np.float32)
    ink = paper.ink_on_light_page(grey)
    assert np.median(ink[np.abs(distance - 110) < 4]) > 0.5  # the strokes' middles are ink


def test_a_tiny_photo_comes_back_close_to_its_digit():
    """A 36-60 px photo is enlarged before the page is looked at, so the steps made for
    strokes a few pixels wide still work (before: median alignment 0.80, some 0.5)."""
    digits = mnist_style(make_split(20, 2)[0])
    rng = np.random.default_rng(0)
    alignments = []
    for digit in digits:
        photo = hard_photo(digit, ["tiny photo (36-60 px)"], rng).convert("L")
        seen = handwriting.to_mnist(np.asarray(photo, np.float32) / 255)
        alignments.append(best_alignment(seen, digit / np.float32(255)))
    assert np.median(alignments) > 0.9, np.round(alignments, 2)


def test_a_small_digit_in_a_shadow_is_looked_at_closer_on_a_light_page():
    """The closer look at a small digit keeps the page found in the whole photo: the
    close-up, wholly in a shadow, once read as a dark page and came out a solid square."""
    alignments = []
    for digit in mnist_style(make_split(10, 2)[0]):
        page = np.full((1200, 1600), 0.9, np.float32)
        page[:, 600:] *= 0.5  # a hard shadow over the right of the page
        ink = np.asarray(Image.fromarray(digit).resize((84, 84), Image.Resampling.BICUBIC)) / np.float32(255)
        page[700:784, 1100:1184] *= 1 - ink  # an 84-px digit, in the shadow
        page += np.random.default_rng(0).normal(0, 0.01, page.shape).astype(np.float32)
        seen = handwriting.to_mnist(np.clip(page, 0, 1))
        alignments.append(best_alignment(seen, digit / np.float32(255)))
    assert np.median(alignments) > 0.9, np.round(alignments, 2)


def test_the_digit_is_centred_by_mass_in_a_20_pixel_box(synthetic):
    _, digits = synthetic
    page = np.ones((300, 500), dtype=np.float32)  # a light page, digit far off-centre
    page[20:160, 330:470] = 1 - np.asarray(Image.fromarray(digits[0]).resize((140, 140))) / 255
    digit = handwriting.to_mnist(page)
    rows, columns = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    assert max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 == 20
    mass = digit / digit.sum()
    assert abs((mass.sum(axis=1) * np.arange(28)).sum() - 14) <= 0.6
    assert abs((mass.sum(axis=0) * np.arange(28)).sum() - 14) <= 0.6


@pytest.mark.parametrize(
    "mode", ["L", "RGB", "RGBA-transparent", "P", "I;16", "LA", "1", "CMYK"], ids=lambda mode: mode
)
def test_image_modes_all_read_as_the_same_digit(synthetic, tmp_path, mode):
    model, digits = synthetic
    digit = digits[3]
    photo = make_photo(digit, np.random.default_rng(3))  # dark ink on light paper, mode L
    if mode == "RGBA-transparent":  # ink on a transparent canvas, as drawing programs save it
        ink = 255 - np.asarray(photo)
        image = Image.new("RGBA", photo.size, (0, 0, 0, 0))
        image.putalpha(Image.fromarray(np.where(ink > 128, 255, 0).astype(np.uint8)))
    elif mode == "I;16":
        image = Image.fromarray(np.asarray(photo).astype(np.uint16) * 257)
    elif mode == "1":
        image = photo.point(lambda v: 255 if v > 128 else 0).convert("1")
    else:
        image = photo.convert(mode)
    suffix = ".tif" if mode in ("CMYK", "I;16") else ".png"
    image.save(tmp_path / f"digit{suffix}")
    [result] = classify_images(model, [tmp_path / f"digit{suffix}"], save_dir=None)
    expected = model.predict(preprocess(digit[None]), verbose=0).argmax()
    assert result["digit"] == expected, result


@pytest.mark.parametrize("suffix", [".bmp", ".gif", ".tiff", ".jpeg"])
def test_other_formats(synthetic, tmp_path, suffix):
    model, digits = synthetic
    path = tmp_path / f"digit{suffix}"
    make_photo(digits[5], np.random.default_rng(5)).save(path)
    [result] = classify_images(model, [path], save_dir=None)
    assert result["digit"] == model.predict(preprocess(digits[5][None]), verbose=0).argmax()


def test_phone_photo_turned_by_its_exif_orientation(synthetic, tmp_path):
    model, digits = synthetic
    upright = make_photo(digits[8], np.random.default_rng(8))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view": how phones save a portrait shot
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "phone.jpg", exif=exif, quality=90)
    [result] = classify_images(model, [tmp_path / "phone.jpg"], save_dir=None)
    assert result["digit"] == model.predict(preprocess(digits[8][None]), verbose=0).argmax()


def test_gif_uses_its_first_frame(synthetic, tmp_path):
    model, digits = synthetic
    frames = [make_photo(digits[i], np.random.default_rng(i)).resize((300, 300)) for i in (6, 7)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    [result] = classify_images(model, [tmp_path / "anim.gif"], save_dir=None)
    assert result["digit"] == model.predict(preprocess(digits[6][None]), verbose=0).argmax()


# --- bad files: one clear line each, the rest still answered ------------------------------
def refuse(path, match: str) -> None:
    with pytest.raises(handwriting.ImageError, match=match) as caught:
        handwriting.read_digit(path)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path):
    refuse(tmp_path / "nothing.png", "no such file")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    refuse(tmp_path / "notes.png", "not an image")


def test_truncated_image(tmp_path, synthetic):
    path = tmp_path / "cut.png"
    make_photo(synthetic[1][0], np.random.default_rng(0)).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refuse(path, "damaged or truncated")


@pytest.mark.parametrize("colour", [255, 0, 128])
def test_blank_page(tmp_path, colour):
    Image.new("L", (400, 300), colour).save(tmp_path / "blank.png")
    refuse(tmp_path / "blank.png", "no ink found")


def test_blank_noisy_paper(tmp_path):
    paper = np.random.default_rng(0).normal(220, 6, (400, 300)).clip(0, 255).astype(np.uint8)
    Image.fromarray(paper).save(tmp_path / "paper.png")
    refuse(tmp_path / "paper.png", "no ink found")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    Image.new("1", (10_000, 10_000)).save(tmp_path / "bomb.png")  # 100 megapixels, a few kB on disk
    assert (tmp_path / "bomb.png").stat().st_size < 100_000
    refuse(tmp_path / "bomb.png", "more than 64,000,000 pixels")


def test_unsupported_mode(tmp_path, monkeypatch):
    with pytest.raises(handwriting.ImageError, match="unsupported image mode HSV"):
        picture.grey_levels(Image.new("HSV", (50, 50)))
    # No common format stores HSV, so a file that opens as HSV is simulated.
    Image.new("L", (50, 50)).save(tmp_path / "hsv.png")
    original = picture.grey_levels
    monkeypatch.setattr(picture, "grey_levels", lambda image: original(image.convert("HSV")))
    refuse(tmp_path / "hsv.png", "hsv.png: unsupported image mode HSV")


# --- the command line ---------------------------------------------------------------
@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory, synthetic):
    folder = tmp_path_factory.mktemp("my digits")  # a space in the path, as users have
    for i in range(3):
        make_photo(synthetic[1][i], np.random.default_rng(i)).save(folder / f"digit-{i}.png")
    (folder / "readme.txt").write_text("not an image; folders hold only images for --image")
    return folder


def test_cli_answers_each_file_and_saves_what_the_network_saw(trained, photo_folder, tmp_path):
    saved = tmp_path / "seen"
    result = run_script(
        "mnist_classification.py",
        "--model",
        trained / "model.keras",
        "--image",
        photo_folder,
        "--save-preprocessed",
        saved,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and all("top 3:" in line for line in lines)
    assert [line.split(":")[0] for line in lines] == [str(photo_folder / f"digit-{i}.png") for i in range(3)]
    for i in range(3):
        with Image.open(saved / f"digit-{i}.png.png") as seen:
            assert seen.size == (28, 28) and seen.mode == "L"


def test_same_names_from_different_folders_keep_their_own_preprocessed_view(trained, tmp_path, synthetic):
    sources = []
    for i, folder in enumerate(("first", "second", "third")):
        (tmp_path / folder).mkdir()
        sources.append(tmp_path / folder / "digit.png")
        make_photo(synthetic[1][i], np.random.default_rng(i)).save(sources[-1])
    saved = tmp_path / "seen"
    command = ["--model", trained / "model.keras", "--json", "--save-preprocessed", saved]
    result = run_script("mnist_classification.py", *command, "--image", *sources)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    written = [Path(answer["preprocessed"]) for answer in answers]
    assert [path.name for path in written] == ["digit.png.png", "digit-2.png.png", "digit-3.png.png"]
    assert sorted(saved.iterdir()) == sorted(written)
    views = [np.asarray(Image.open(path)) for path in written]
    assert not np.array_equal(views[0], views[1]) and not np.array_equal(views[1], views[2])


def test_cli_json(trained, photo_folder):
    result = run_script(
        "mnist_classification.py", "--model", trained / "model.keras", "--image", photo_folder, "--json"
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert len(answers) == 3
    for answer in answers:
        assert 0 <= answer["digit"] <= 9 and answer["top_3"][0]["digit"] == answer["digit"]
        probabilities = [entry["probability"] for entry in answer["top_3"]]
        assert (
            probabilities == sorted(probabilities, reverse=True) and probabilities[0] == answer["probability"]
        )


def test_cli_bad_files_are_reported_and_the_good_ones_still_answered(trained, photo_folder, tmp_path):
    (tmp_path / "text.png").write_text("hello")
    Image.new("L", (200, 200), 255).save(tmp_path / "blank.png")
    files = [
        photo_folder / "digit-0.png",
        tmp_path / "missing.png",
        tmp_path / "text.png",
        tmp_path / "blank.png",
    ]
    result = run_script("mnist_classification.py", "--model", trained / "model.keras", "--image", *files)
    assert result.returncode == 2
    assert result.stdout.count("top 3:") == 1 and str(files[0]) in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 4 and "Traceback" not in result.stderr  # one per bad file, then a summary
    assert "no such file" in errors[0] and "not an image" in errors[1] and "no ink" in errors[2]
    assert errors[3] == "error: 3 of 4 image(s) could not be classified"


def test_cli_image_needs_no_mnist_data(trained, photo_folder, tmp_path):
    env_without_data = {key: value for key, value in os.environ.items() if key != "MNIST_DATA"}
    env_without_data |= {"HOME": str(tmp_path), "KERAS_HOME": str(tmp_path)}  # no cached download either
    result = run_script(
        "mnist_classification.py",
        "--model",
        trained / "model.keras",
        "--image",
        photo_folder / "digit-1.png",
        env=env_without_data,
    )
    assert result.returncode == 0 and "top 3:" in result.stdout, result.stderr


def test_cli_json_without_image_is_a_usage_error():
    result = run_script("mnist_classification.py", "--json")
    assert result.returncode == 2 and "--image" in result.stderr and "Traceback" not in result.stderr
