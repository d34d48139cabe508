"""Numbers written with MNIST digits, made by code (seeded): what people photograph or
draw when they want a number read, not one digit.

`number_set(digits, labels, count, seed)` writes 2-6 MNIST test digits side by side as
one number, with one of four spacings (wide and narrow gaps, digits whose strokes touch,
digits whose boxes overlap without touching), as a page drawing, a photo on paper or a
hard photo (`hard_photos`), and on a slightly slanted line one time in three.
`number_set(..., made="other")` is made differently (every digit a little larger or
smaller than its neighbours, wider gaps between digits drawn thinner or thicker, the line
bent), and is used to check the result, never while tuning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from conftest import make_photo
from hard_photos import hard_photo, pick_conditions
from PIL import Image, ImageDraw
from scipy import ndimage

SPACINGS = ("wide", "narrow", "touching", "overlapping")
STYLES = ("drawing", "photo", "hard photo")
MARGIN = 6  # rows above and below the 28-row line, for slant and wobble
INK = 80  # a pixel brighter than this (of 255) is ink, for "touching"
# Hard-photo conditions that cannot hold a whole number: it would run off the photo or
# shrink to a few pixels a digit.
NOT_FOR_NUMBERS = {"touching the edge", "tiny photo (36-60 px)"}


@dataclass
class Number:
    text: str  # the digits, left to right
    chosen: np.ndarray  # which of the given digits they are
    spacing: str
    style: str
    picture: Image.Image


def columns_with_ink(digit: np.ndarray) -> np.ndarray:
    """The digit's columns from its first to its last inked one (all 28 rows kept)."""
    inked = np.flatnonzero(digit.max(axis=0) > 0)
    return digit[:, inked[0] : inked[-1] + 1]


def touches(strip: np.ndarray, digit: np.ndarray, top: int, left: int) -> bool:
    """Would `digit`, placed at (top, left), touch the ink already in `strip`?"""
    region = strip[top : top + digit.shape[0], left : left + digit.shape[1]]
    near = ndimage.binary_dilation(region > INK, np.ones((3, 3), bool))
    return bool((near & (digit > INK)).any())


def write_line(digits: list[np.ndarray], spacing: str, rng: np.random.Generator, sizes=None) -> np.ndarray:
    """The digits (28x28 uint8, bright on black) written left to right as one strip."""
    crops = [columns_with_ink(d) for d in digits]
    if sizes is not None:  # each digit its own size, on the same baseline
        crops = [resized(c, s) for c, s in zip(crops, sizes, strict=True)]
    height = max(c.shape[0] for c in crops) + 2 * MARGIN
    strip = np.zeros((height, sum(c.shape[1] for c in crops) + 12 * len(crops)), np.uint8)
    right = previous_width = 0
    for i, crop in enumerate(crops):
        top = height - MARGIN - crop.shape[0] + int(rng.integers(-2, 3))
        left = right + int(rng.integers(4, 10) if spacing == "wide" else rng.integers(1, 4))
        joined = False
        if i and spacing in ("touching", "overlapping"):
            # Boxes abutting; slide left until the strokes meet (or nearly): touching
            # digits overlap by at most a quarter of the narrower one's width, and are
            # joined by a stroke when they do not meet by then (the pen not lifted).
            left = right
            share = 0.25 if spacing == "touching" else 0.45
            reach = right - int(share * min(crop.shape[1], previous_width))
            while left > reach and not touches(strip, crop, top, left - 1):
                left -= 1
            if spacing == "touching":
                joined = not touches(strip, crop, top, left - 1)
                left -= int(not joined)
            elif left == right:  # they would touch at once: leave a pixel between the boxes
                left += 1
        left = max(left, 0) if i else int(rng.integers(2, 6))
        before = strip > INK
        region = strip[top : top + crop.shape[0], left : left + crop.shape[1]]
        np.maximum(region, crop, out=region)
        if joined:
            join(strip, before, top, left, crop)
        previous_width = crop.shape[1]
        right = left + crop.shape[1]
    return strip[:, : right + int(rng.integers(2, 6))]


def join(strip: np.ndarray, before: np.ndarray, top: int, left: int, digit: np.ndarray) -> None:
    """Draw a short stroke from the ink already in `strip` to the nearest ink of `digit`
    (just placed at top, left), as a pen that is not lifted between two digits."""
    start = max(0, left - digit.shape[1])
    old = np.argwhere(before[:, start:]) + np.array([0, start])
    new = np.argwhere(digit > INK) + np.array([top, left])
    distances = ((old[:, None, :] - new[None, :, :]) ** 2).sum(axis=2)
    a, b = np.unravel_index(int(distances.argmin()), distances.shape)
    canvas = Image.fromarray(strip)
    ImageDraw.Draw(canvas).line([tuple(old[a][::-1]), tuple(new[b][::-1])], fill=220, width=2)
    strip[:] = np.asarray(canvas)


def resized(digit: np.ndarray, factor: float) -> np.ndarray:
    size = (max(1, round(digit.shape[1] * factor)), max(1, round(digit.shape[0] * factor)))
    return np.asarray(Image.fromarray(digit).resize(size, Image.Resampling.BICUBIC))


def slanted(strip: np.ndarray, degrees: float) -> np.ndarray:
    return np.asarray(Image.fromarray(strip).rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True))


def bent(strip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The line of writing drifting up and down along its length (a gentle wave)."""
    rows, columns = np.indices(strip.shape, dtype=np.float32)
    phase = columns / strip.shape[1] * np.pi * rng.uniform(1, 2) + rng.uniform(0, 6)
    wave = rng.uniform(1.5, 3.0) * np.sin(phase)
    return ndimage.map_coordinates(strip, [rows + wave, columns], order=1).astype(np.uint8)


def drawn(strip: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """As the page sends it: dark strokes on white, a digit about 200 px tall on the pad."""
    factor = rng.uniform(6, 9)
    big = np.asarray(resized(strip, factor), np.float32) / 255
    return Image.fromarray(np.round(255 * (1 - np.clip(big, 0, 1))).astype(np.uint8))


def number_set(
    digits: np.ndarray, labels: np.ndarray, count: int, seed: int, made: str = "tuning"
) -> list[Number]:
    """`count` numbers of 2-6 of the given digits, spacings and styles in turn."""
    rng = np.random.default_rng(seed)
    numbers = []
    for i in range(count):
        spacing, style = SPACINGS[i % len(SPACINGS)], STYLES[(i // len(SPACINGS)) % len(STYLES)]
        chosen = rng.choice(len(digits), int(rng.integers(2, 7)), replace=False)
        sizes = rng.uniform(0.85, 1.15, len(chosen)) if made == "other" else None
        strip = write_line(list(digits[chosen]), spacing, rng, sizes)
        if made == "other":
            strip = bent(strip, rng)
            if rng.random() < 0.5:  # a finer or bolder pen
                grow = ndimage.grey_dilation if rng.random() < 0.5 else ndimage.grey_erosion
                strip = grow(strip, size=(2, 2))
        elif rng.random() < 1 / 3:
            strip = slanted(strip, rng.uniform(-6, 6))
        if style == "drawing":
            picture = drawn(strip, rng)
        elif style == "photo":
            picture = make_photo(strip, rng)
        else:
            conditions = [c for c in pick_conditions(rng) if c not in NOT_FOR_NUMBERS]
            picture = hard_photo(strip, conditions, rng)
        numbers.append(Number("".join(str(d) for d in labels[chosen]), chosen, spacing, style, picture))
    return numbers
