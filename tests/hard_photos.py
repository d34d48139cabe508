"""Photos of handwritten digits as people really take them: notebook paper, shadows, pencil.

`hard_photo(digit, conditions, rng)` turns one MNIST-style 28x28 digit (white on black)
into an RGB "phone photo" of that digit written on paper, with each of the named
conditions; `hard_set(digits, labels, seed)` makes a whole set, two to four conditions
per photo. Used by tests/test_images.py (a set kept aside, checked in CI) and
benchmarks/hard_photos_accuracy.py (accuracy per condition).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

CONDITIONS = (
    "hard shadow",
    "squared paper",
    "ruled paper",
    "small digit, large photo",
    "rotated 12-20 degrees",
    "thin pen",
    "blur",
    "heavy JPEG",
    "coloured paper and ink",
    "pencil",
    "thick pen",
    "touching the edge",
    "tiny photo (36-60 px)",
)
# Conditions that cannot be in the same photo.
EXCLUSIVE = (
    {"squared paper", "ruled paper"},
    {"thin pen", "thick pen"},
    {"small digit, large photo", "tiny photo (36-60 px)", "touching the edge"},
    {"pencil", "coloured paper and ink"},
)
PASTEL_PAPERS = [
    (1.0, 0.96, 0.70),
    (1.0, 0.85, 0.88),
    (0.80, 0.90, 1.0),
    (0.84, 1.0, 0.84),
    (1.0, 0.90, 0.75),
]
COLOURED_INKS = [(0.10, 0.20, 0.65), (0.70, 0.08, 0.10), (0.05, 0.45, 0.15), (0.40, 0.10, 0.55)]
DARK_INKS = [(0.08, 0.08, 0.10), (0.10, 0.12, 0.35), (0.20, 0.20, 0.22)]


def pick_conditions(rng: np.random.Generator) -> list[str]:
    """Two to four conditions that can go together."""
    count = int(rng.integers(2, 5))
    chosen: list[str] = []
    for name in rng.permutation(CONDITIONS):
        if len(chosen) < count and not any(name in group and group & set(chosen) for group in EXCLUSIVE):
            chosen.append(str(name))
    return chosen


def hard_photo(digit: np.ndarray, conditions: list[str], rng: np.random.Generator) -> Image.Image:
    """An RGB photo of `digit` (28x28 uint8, white on black; or a strip of digits 28 rows
    tall) written on paper, with `conditions`."""
    has = set(conditions).__contains__
    uniform = rng.uniform

    # The ink: the digit's 20-pixel box drawn `box` pixels tall, its strokes as alpha.
    box = int(uniform(60, 110)) if has("small digit, large photo") else int(uniform(140, 320))
    scale = box / 20
    side, wide = round(digit.shape[0] * scale), round(digit.shape[1] * scale)
    alpha = (
        np.asarray(Image.fromarray(digit).resize((wide, side), Image.Resampling.BICUBIC), np.float32) / 255
    )
    alpha = np.clip(alpha, 0, 1)
    if has("thin pen"):
        alpha = ndimage.grey_erosion(alpha, size=max(2, round(scale * 0.9)))
        alpha = np.clip(alpha * 1.6, 0, 1)
    if has("thick pen"):
        alpha = ndimage.grey_dilation(alpha, size=max(2, round(scale * 1.2)))
    if has("pencil"):  # graphite: lighter, and grainy along the stroke
        grain = ndimage.gaussian_filter(rng.uniform(0.3, 1.0, alpha.shape).astype(np.float32), 0.7)
        alpha = alpha * grain * uniform(0.8, 1.0)

    # The page around it.
    if has("small digit, large photo"):
        height, width = int(uniform(900, 1500)), int(uniform(1100, 1800))
    else:
        height, width = round(side * uniform(1.3, 2.2)), round(side * uniform(1.3, 2.2)) + wide - side
    height, width = max(height, side + 2), max(width, wide + 2)  # a long number in a small photo
    top, left = int(uniform(0, height - side)), int(uniform(0, width - wide))
    if has("touching the edge"):  # flush with one edge, a sliver of the digit cut off
        height, width = max(height, side), max(width, wide)
        cut = int(side * uniform(0.0, 0.06))
        edge = int(rng.integers(4))
        top, left = [(-cut, left), (height - side + cut, left), (top, -cut), (top, width - wide + cut)][edge]

    paper = np.array(PASTEL_PAPERS[rng.integers(len(PASTEL_PAPERS))] if has("coloured paper and ink")
                     else (uniform(0.86, 0.97),) * 3, np.float32)  # fmt: skip
    paper = paper * np.array([1.0, uniform(0.97, 1.0), uniform(0.92, 1.0)], np.float32)  # warm light
    if has("coloured paper and ink"):
        ink = np.array(COLOURED_INKS[rng.integers(len(COLOURED_INKS))], np.float32)
    elif has("pencil"):
        ink = paper * uniform(0.35, 0.55)
    else:
        ink = np.array(DARK_INKS[rng.integers(len(DARK_INKS))], np.float32)
    page = np.empty((height, width, 3), np.float32)
    page[:] = paper

    # Printed lines: light blue, thin, across the whole page; the ink goes over them.
    line_width = max(1, round(box / 120))
    line_colour = np.array([0.55, 0.70, 0.92], np.float32) * uniform(0.9, 1.05)
    if has("ruled paper") or has("squared paper"):
        spacing = box * (uniform(0.45, 0.75) if has("ruled paper") else uniform(0.22, 0.35))
        offset = uniform(0, spacing)
        rows = np.arange(height)
        page[((rows - offset) % spacing) < line_width] = line_colour
        if has("squared paper"):
            columns = np.arange(width)
            page[:, ((columns - offset) % spacing) < line_width] = line_colour

    # Write the digit.
    full = np.zeros((height, width), np.float32)
    source = alpha[
        max(0, -top) : side - max(0, top + side - height), max(0, -left) : wide - max(0, left + wide - width)
    ]
    full[max(0, top) : max(0, top) + source.shape[0], max(0, left) : max(0, left) + source.shape[1]] = source
    page = page * (1 - full[..., None]) + ink * full[..., None]

    # Light: a gentle gradient, and maybe a hard-edged shadow across part of the page.
    rows, columns = np.indices((height, width), dtype=np.float32)
    angle = uniform(0, 2 * np.pi)
    slope = (np.cos(angle) * rows + np.sin(angle) * columns) / max(height, width)
    page *= (1 - 0.15 * (slope - slope.min()) / max(float(np.ptp(slope)), 1e-6))[..., None]
    if has("hard shadow"):
        angle = uniform(0, 2 * np.pi)
        across = np.cos(angle) * (rows - height / 2) + np.sin(angle) * (columns - width / 2)
        cut = uniform(-0.3, 0.3) * max(height, width)
        softness = max(1.0, box / 150)
        shade = 1 / (1 + np.exp(np.clip((cut - across) / softness, -50, 50)))  # 0 to 1 across 1-3 px
        page *= (1 - uniform(0.4, 0.65) * shade)[..., None]

    photo = Image.fromarray(
        np.round(np.clip(page + rng.normal(0, 0.015, page.shape), 0, 1) * 255).astype(np.uint8)
    )
    if has("rotated 12-20 degrees"):
        turn = uniform(12, 20) * rng.choice([-1, 1])
        fill = tuple(int(v) for v in np.round(np.asarray(photo)[0, 0]))
        photo = photo.rotate(turn, resample=Image.Resampling.BICUBIC, fillcolor=fill)
    if has("blur"):
        photo = photo.filter(ImageFilter.GaussianBlur(max(1.5, box * uniform(0.015, 0.03))))
    if has("tiny photo (36-60 px)"):
        longest = int(uniform(36, 61))
        factor = longest / max(photo.size)
        photo = photo.resize(
            (max(1, round(photo.width * factor)), max(1, round(photo.height * factor))), Image.BOX
        )
    quality = int(uniform(5, 15)) if has("heavy JPEG") else int(uniform(75, 95))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def hard_set(digits: np.ndarray, seed: int) -> list[tuple[Image.Image, list[str]]]:
    """One photo per digit, each with two to four conditions."""
    rng = np.random.default_rng(seed)
    photos = []
    for digit in digits:
        conditions = pick_conditions(rng)
        photos.append((hard_photo(digit, conditions, rng), conditions))
    return photos


def read_right(
    model, digits: np.ndarray, labels: np.ndarray, seed: int, folder: Path, check=None
) -> tuple[list, np.ndarray]:
    """Photograph `digits` (`hard_set`), save the photos in `folder` and classify them as
    `--image` does (with the not-a-digit `check`, if given: "not a digit" is wrong);
    returns the photos with their conditions, and which were read right."""
    from mnist_pipeline.classify import classify_images

    photos = hard_set(digits, seed)
    paths = [folder / f"{i}.jpg" for i in range(len(photos))]
    for path, (photo, _) in zip(paths, photos, strict=True):
        photo.save(path, format="JPEG", quality=100)  # already JPEG-compressed as generated
    results = classify_images(model, paths, save_dir=None, check=check)
    right = np.array([result.get("digit") == label for result, label in zip(results, labels, strict=True)])
    return photos, right
