"""Pictures read at the size the work needs: the same grey levels as a full decode gives,
in every mode and orientation, without a full-size float copy, one big picture at a time."""

from __future__ import annotations

import io
import threading
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from mnist_pipeline import picture
from mnist_pipeline.handwriting import read_digit, to_mnist
from mnist_pipeline.picture import PictureFile, grey_levels, lanczos_resized, resized_to, scaled_shape


def page_with_digit(width: int, height: int, seed: int = 0) -> Image.Image:
    """A lit page with a 7 on it and some grain: every pixel differs from its neighbours."""
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (width, height), (222, 218, 205))
    ImageDraw.Draw(page).line(
        [(width * 0.35, height * 0.3), (width * 0.6, height * 0.3), (width * 0.45, height * 0.75)],
        fill=(35, 40, 60),
        width=max(2, width // 40),
    )
    pixels = np.asarray(page, np.int16) + rng.integers(-20, 21, (height, width, 1), dtype=np.int16)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def encoded(image: Image.Image, format: str, **options) -> bytes:
    data = io.BytesIO()
    image.save(data, format=format, **options)
    return data.getvalue()


def full_decode(data: bytes) -> np.ndarray:
    """What the pipeline read before: the whole picture, upright, as float grey levels."""
    with Image.open(io.BytesIO(data)) as image:
        return grey_levels(ImageOps.exif_transpose(image))


def view(data: bytes, scale: float = 1.0, box=None) -> np.ndarray:
    with PictureFile(data, "test") as opened:
        return opened.grey(scale, box)


@pytest.mark.parametrize("bands", ["one band", "many bands"])
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "1", "I;16"])
def test_a_reduced_view_matches_the_full_decode_reduced(mode, bands, monkeypatch):
    if bands == "many bands":  # bands of 10 to 13 rows of 1200 px (a short last one at 13)
        monkeypatch.setattr(picture, "BAND_BYTES", 64_000)
    page = page_with_digit(1200, 900)
    image = page.convert("I").point(lambda v: v * 256) if mode == "I;16" else page.convert(mode)
    if mode == "I;16":
        image = image.convert("I;16")
    data = encoded(image, "PNG")
    whole = full_decode(data)
    for scale in (1.0, 0.5, 512 / 1200, 0.1):
        seen = view(data, scale)
        expected = resized_to(whole, scaled_shape(whole.shape, scale))
        assert seen.shape == expected.shape
        # Averaging 8-bit pixels in whole blocks first rounds each to a grey level.
        assert np.abs(seen - expected).max() <= 3 / 255, (mode, scale)


@pytest.mark.parametrize("size", [(4000, 3000), (1321, 1332), (2001, 1499)])
def test_a_jpeg_is_decoded_small_and_reads_like_the_full_decode(size):
    data = encoded(page_with_digit(*size), "JPEG", quality=90)
    whole = full_decode(data)
    scale = 512 / max(size)
    seen = view(data, scale)
    expected = resized_to(whole, scaled_shape(whole.shape, scale))
    assert seen.shape == expected.shape
    assert np.abs(seen - expected).mean() < 0.01  # DCT scaling is not exactly a block mean
    # Odd sides round up when decoded small: no black row or column may creep in.
    assert np.abs(seen[-1] - expected[-1]).mean() < 0.05
    assert np.abs(seen[:, -1] - expected[:, -1]).mean() < 0.05


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("format", ["PNG", "JPEG"])
def test_exif_orientation_turns_the_picture_and_its_regions_upright(orientation, format):
    stored = page_with_digit(300, 200).convert("L")
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(stored, format, exif=exif, **({"quality": 95} if format == "JPEG" else {}))
    upright = full_decode(data)  # Pillow's own exif_transpose
    assert upright.shape == ((300, 200) if orientation >= 5 else (200, 300))
    tolerance = 0 if format == "PNG" else 0.01
    assert np.abs(view(data) - upright).mean() <= tolerance
    box = (20, 30, 120, 110)  # top, left, bottom, right: upright rows and columns
    region = view(data, 1.0, box)
    assert np.abs(region - upright[20:120, 30:110]).mean() <= tolerance
    half = view(data, 0.5, box)
    assert np.abs(half - resized_to(upright[20:120, 30:110], (50, 40))).max() <= 3 / 255 + tolerance


def test_no_full_size_float_copy_is_made():
    """A 12-megapixel PNG: a float32 copy of it would take 48 MB of NumPy memory; the work
    on its 512 px view takes about 10."""
    data = encoded(page_with_digit(4000, 3000).convert("L"), "PNG")
    read_digit(data, "warm-up")
    tracemalloc.start()
    try:
        read_digit(data, "photo")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MB traced"


def test_a_small_digit_in_a_big_picture_is_read_as_closely_as_before():
    page = Image.new("L", (6000, 4500), 225)
    ImageDraw.Draw(page).line([(3000, 2000), (3090, 2000), (3030, 2150)], fill=30, width=12)
    data = encoded(page, "PNG")
    before = to_mnist(full_decode(data))  # the whole picture in memory, as floats
    # Measured: at most 0.095 apart in any pixel when the 20 px box held every inked pixel,
    # 0.104 since it holds the strokes only (summed over the 784: 2.78, then 2.60).
    assert np.abs(read_digit(data, "small") - before).max() < 0.12


def test_big_pictures_are_decoded_one_at_a_time(monkeypatch):
    monkeypatch.setattr(picture, "BIG_DECODE_BYTES", 100_000)  # 400x300 grey is "big" now
    data = encoded(page_with_digit(400, 300).convert("L"), "PNG")
    first, second = PictureFile(data, "first"), PictureFile(data, "second")
    second_entered = threading.Event()

    def enter_second():
        with second:
            second_entered.set()

    with first:
        waiting = threading.Thread(target=enter_second)
        waiting.start()
        assert not second_entered.wait(0.5)  # it waits for the first one's turn
    assert second_entered.wait(10)
    waiting.join()
    small = PictureFile(encoded(Image.new("L", (100, 100)), "PNG"), "small")
    with first, small:  # a picture under the bar never waits
        assert first.turn and not small.turn


@pytest.mark.parametrize(
    "shape, size",
    [((180, 140), (20, 16)), ((17, 33), (10, 20)), ((5, 7), (14, 20)), ((60, 20), (60, 7)), ((9, 3), (2, 3))],
)
def test_the_lanczos_resize_is_pillows(shape, size):
    """Shrinking, enlarging and one side kept: Pillow's LANCZOS values, summed in another order."""
    rng = np.random.default_rng(sum(shape))
    grey = (rng.random(shape) * (rng.random(shape) < 0.4)).astype(np.float32)
    pillows = np.asarray(Image.fromarray(grey).resize(size[::-1], Image.Resampling.LANCZOS))
    ours = lanczos_resized(grey, size)
    assert ours.shape == pillows.shape and ours.dtype == np.float32
    assert np.abs(ours - pillows).max() < 1e-6  # measured: at most 3e-8 over 3,000 random crops
