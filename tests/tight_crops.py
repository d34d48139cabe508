"""Digits cut out tight: pictures that end where the ink ends, as people crop them.

Two differently made sets of tight crops of MNIST-style digits (28x28, white on black):
- `tight_crop` (the set the preprocessing was tuned on): cut to the box of every pixel
  with any ink, scaled 1-6x (bicubic), in either polarity, with 0-2 px of margin, PNG or JPEG;
- `rough_crop` (the set kept aside to check the result): cut where the ink passes a
  grey level of its own, scaled by any factor with another resampling, the box sometimes
  stretched, grey page and ink, noise, and JPEG at any quality.
`uci_digits` gives scikit-learn's bundled UCI digits (1,797 digits, 8x8, 17 grey levels).
Used by tests/test_tight_crops.py (CI) and benchmarks/tight_crops_accuracy.py.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

POLARITIES = ("white on black", "dark on white")
FORMATS = ("PNG", "JPEG")


def encoded(picture: np.ndarray, image_format: str, quality: int = 90) -> Image.Image:
    """`picture` (grey, 0-1) saved as PNG or JPEG and opened again, as a file would be."""
    buffer = io.BytesIO()
    image = Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8))
    image.save(buffer, format=image_format, **({"quality": quality} if image_format == "JPEG" else {}))
    return Image.open(io.BytesIO(buffer.getvalue()))


def ink_box(digit: np.ndarray, level: float = 0.0) -> np.ndarray:
    """`digit` cut to the box of its pixels brighter than `level`, as floats in [0, 1]."""
    grey = digit.astype(np.float32) / 255
    rows, columns = np.flatnonzero((grey > level).any(axis=1)), np.flatnonzero((grey > level).any(axis=0))
    return grey[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def scaled(grey: np.ndarray, height: int, width: int, method=Image.Resampling.BICUBIC) -> np.ndarray:
    resized = Image.fromarray(grey.astype(np.float32)).resize((max(1, width), max(1, height)), method)
    return np.clip(np.asarray(resized), 0, 1)


def tight_crop(digit: np.ndarray, polarity: str, factor: int, margin: int, image_format: str) -> Image.Image:
    """The tuning set's crop: the ink box of `digit`, `factor` times larger, in `polarity`,
    with `margin` pixels of page around it."""
    crop = ink_box(digit)
    crop = scaled(crop, crop.shape[0] * factor, crop.shape[1] * factor) if factor > 1 else crop
    crop = np.pad(crop, margin)
    return encoded(crop if polarity == "white on black" else 1 - crop, image_format)


def rough_crop(digit: np.ndarray, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """The kept-aside set's crop of `digit`, made differently; returns it and its polarity."""
    crop = ink_box(digit, level=rng.uniform(0.0, 0.5))
    factor = rng.uniform(0.8, 7.0)
    stretch = rng.uniform(0.85, 1.15)
    method = [Image.Resampling.LANCZOS, Image.Resampling.BILINEAR, Image.Resampling.NEAREST][rng.integers(3)]
    crop = scaled(crop, round(crop.shape[0] * factor * stretch), round(crop.shape[1] * factor), method)
    page, ink = rng.uniform(0.0, 0.25), rng.uniform(0.65, 1.0)
    polarity = POLARITIES[rng.integers(2)]
    if polarity == "dark on white":
        page, ink = 1 - page, 1 - ink
    picture = page + (ink - page) * crop + rng.normal(0, rng.uniform(0, 0.03), crop.shape)
    return encoded(picture, FORMATS[rng.integers(2)], quality=int(rng.integers(40, 96))), polarity


def uci_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's UCI handwritten digits: 1,797 8x8 pictures (white on black, 0-1) and labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16).astype(np.float32), digits.target


def uci_picture(image: np.ndarray, polarity: str, factor: int) -> Image.Image:
    """One UCI digit `factor` times larger (bicubic), in `polarity`, as a PNG."""
    picture = scaled(image, 8 * factor, 8 * factor) if factor > 1 else image
    return encoded(picture if polarity == "white on black" else 1 - picture, "PNG")


def read_pictures(model, pictures: list[Image.Image]) -> np.ndarray:
    """The digit `model` reads in each picture, preprocessed as `--image` does (-1: no ink)."""
    from mnist_pipeline.handwriting import NoInk, to_mnist
    from mnist_pipeline.picture import grey_levels

    fields, found = [], []
    for picture in pictures:
        try:
            fields.append(to_mnist(grey_levels(picture)))
            found.append(True)
        except NoInk:
            fields.append(np.zeros((28, 28), np.float32))
            found.append(False)
    digits = model.predict(np.stack(fields).reshape(len(fields), -1), verbose=0).argmax(axis=1)
    return np.where(found, digits, -1)
