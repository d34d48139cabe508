"""Pictures that are not digits, made by code (seeded): what people draw or photograph
when they try a digit recognizer with something else.

Two sets, made differently:
- `drawn_set`: hand-drawn strokes (polylines with a wobbly pen) of letters not written
  like digits, symbols and doodles, scribbles, and two different digits drawn over each
  other. Used while choosing the check.
- `typed_set`: other shapes made another way (a font's letters and symbols, curves
  through random points, rings and boxes, a font's digits overlaid), never looked at
  while choosing; it checks the result.
Each picture comes as a page drawing (dark strokes on white, 280x280, as the page sends
it) or as a photo on paper (`conftest.make_photo`).
"""

from __future__ import annotations

import numpy as np
from conftest import make_photo, png_bytes
from PIL import Image, ImageDraw, ImageFont

PAD = 280
PHOTO_SIDE = 56  # a drawing is photographed from this size (a digit photo, from 28)
CATEGORIES = ("letters", "symbols", "scribbles", "two digits")
Strokes = list[list[tuple[float, float]]]  # each stroke a polyline in the unit square (x right, y down)

# Letters whose usual shapes are not a digit's (no O, I, l, S, Z, B, G, q, g, b, T).
LETTERS: dict[str, Strokes] = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.85, 0), (0.15, 0), (0.15, 1), (0.85, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0), (0.15, 0), (0.15, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "H": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.85, 1)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.15, 0.55)], [(0.4, 0.35), (0.85, 1)]],
    "M": [[(0.05, 1), (0.15, 0), (0.5, 0.7), (0.85, 0), (0.95, 1)]],
    "N": [[(0.15, 1), (0.15, 0), (0.85, 1), (0.85, 0)]],
    "R": [
        [(0.15, 1), (0.15, 0), (0.7, 0), (0.85, 0.15), (0.85, 0.35), (0.7, 0.5), (0.15, 0.5)],
        [(0.45, 0.5), (0.9, 1)],
    ],
    "W": [[(0.0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1.0, 0)]],
    "X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "Y": [[(0.1, 0), (0.5, 0.5), (0.9, 0)], [(0.5, 0.5), (0.5, 1)]],
    "h": [[(0.2, 0), (0.2, 1)], [(0.2, 0.6), (0.45, 0.42), (0.7, 0.45), (0.8, 0.6), (0.8, 1)]],
    "k": [[(0.2, 0), (0.2, 1)], [(0.75, 0.4), (0.2, 0.75)], [(0.4, 0.65), (0.8, 1)]],
    "m": [
        [(0.05, 1), (0.05, 0.4)],
        [(0.05, 0.55), (0.25, 0.4), (0.45, 0.5), (0.5, 1)],
        [(0.5, 0.55), (0.7, 0.4), (0.9, 0.5), (0.95, 1)],
    ],
    "w": [[(0.0, 0.4), (0.25, 1), (0.5, 0.55), (0.75, 1), (1.0, 0.4)]],
    "x": [[(0.15, 0.35), (0.85, 1)], [(0.85, 0.35), (0.15, 1)]],
    "y": [[(0.15, 0.3), (0.5, 0.7)], [(0.85, 0.3), (0.35, 1.1)]],
    "e": [
        [
            (0.2, 0.65),
            (0.85, 0.65),
            (0.8, 0.45),
            (0.55, 0.35),
            (0.3, 0.42),
            (0.18, 0.65),
            (0.3, 0.9),
            (0.55, 1),
            (0.85, 0.9),
        ]
    ],
    "u": [[(0.15, 0.35), (0.2, 0.85), (0.5, 1), (0.8, 0.85), (0.85, 0.35), (0.88, 1)]],
}


def circle(cx: float, cy: float, r: float, start: float = 0, end: float = 2 * np.pi, n: int = 24):
    angles = np.linspace(start, end, n)
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles]


def symbol(name: str) -> Strokes:
    if name == "star":
        points = [
            (0.5 + 0.5 * np.sin(k * 4 * np.pi / 5), 0.55 - 0.5 * np.cos(k * 4 * np.pi / 5)) for k in range(6)
        ]
        return [points]
    if name == "heart":
        t = np.linspace(0, 2 * np.pi, 40)
        x, y = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        return [list(zip(0.5 + x / 34, 0.45 - y / 34, strict=True))]
    if name == "house":
        return [[(0.15, 0.45), (0.15, 1), (0.85, 1), (0.85, 0.45), (0.15, 0.45), (0.5, 0.05), (0.85, 0.45)]]
    if name == "arrow":
        return [[(0.0, 0.5), (1.0, 0.5)], [(0.7, 0.25), (1.0, 0.5), (0.7, 0.75)]]
    if name == "hash":
        return [
            [(0.35, 0), (0.25, 1)],
            [(0.75, 0), (0.65, 1)],
            [(0.05, 0.33), (0.95, 0.33)],
            [(0.0, 0.67), (0.9, 0.67)],
        ]
    if name == "plus":
        return [[(0.5, 0.05), (0.5, 0.95)], [(0.05, 0.5), (0.95, 0.5)]]
    if name == "equals":
        return [[(0.05, 0.35), (0.95, 0.35)], [(0.05, 0.65), (0.95, 0.65)]]
    if name == "dash":
        return [[(0.05, 0.5), (0.95, 0.5)]]
    if name == "smiley":
        return [
            circle(0.5, 0.5, 0.48),
            circle(0.33, 0.38, 0.04),
            circle(0.67, 0.38, 0.04),
            circle(0.5, 0.5, 0.3, 0.2 * np.pi, 0.8 * np.pi, 12),
        ]
    if name == "stick figure":
        return [
            circle(0.5, 0.14, 0.13),
            [(0.5, 0.27), (0.5, 0.65)],
            [(0.15, 0.42), (0.85, 0.42)],
            [(0.2, 1.0), (0.5, 0.65), (0.8, 1.0)],
        ]
    if name == "triangle":
        return [[(0.5, 0.05), (0.95, 0.9), (0.05, 0.9), (0.5, 0.05)]]
    if name == "check mark":
        return [[(0.05, 0.55), (0.35, 0.9), (0.95, 0.1)]]
    raise ValueError(name)


SYMBOLS = (
    "star",
    "heart",
    "house",
    "arrow",
    "hash",
    "plus",
    "equals",
    "dash",
    "smiley",
    "stick figure",
    "triangle",
    "check mark",
)


def scribble(name: str, rng: np.random.Generator) -> Strokes:
    if name == "zigzag":
        n = int(rng.integers(4, 9))
        return [[(i / n, 0.2 + 0.6 * (i % 2)) for i in range(n + 1)]]
    if name == "spiral":
        t = np.linspace(0, rng.uniform(3, 6) * np.pi, 80)
        r = 0.48 * t / t[-1]
        return [list(zip(0.5 + r * np.cos(t), 0.5 + r * np.sin(t), strict=True))]
    if name == "wave":
        x = np.linspace(0, 1, 60)
        return [list(zip(x, 0.5 + 0.3 * np.sin(x * rng.uniform(2, 5) * 2 * np.pi), strict=True))]
    if name == "cross-hatching":
        lines = [[(i / 6, 0.0), (i / 6 + 0.3, 1.0)] for i in range(-1, 6)]
        return lines + [[(0.0, i / 6), (1.0, i / 6 + 0.2)] for i in range(0, 5)]
    if name == "random walk":
        steps = rng.normal(0, 0.12, (int(rng.integers(15, 40)), 2))
        points = np.cumsum(steps, axis=0)
        points = (points - points.min(0)) / max(np.ptp(points, axis=0).max(), 1e-6)
        return [[tuple(p) for p in points]]
    raise ValueError(name)


SCRIBBLES = ("zigzag", "spiral", "wave", "cross-hatching", "random walk")


def draw(strokes: Strokes, rng: np.random.Generator) -> Image.Image:
    """Strokes drawn on the 280x280 pad with a wobbly pen, at a random size and slant."""
    pad = Image.new("L", (PAD, PAD), 255)
    pen = ImageDraw.Draw(pad)
    size = rng.uniform(0.45, 0.8) * PAD
    aspect = rng.uniform(0.8, 1.2)
    angle = np.radians(rng.uniform(-15, 15))
    centre = PAD / 2 + rng.uniform(-0.12, 0.12, 2) * PAD
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    width = int(rng.integers(12, 25))
    for stroke in strokes:
        points = np.array(stroke, dtype=float) - 0.5
        points[:, 0] *= aspect
        points = points + rng.normal(0, 0.015, points.shape)  # a hand's wobble
        points = points @ rotation.T * size + centre
        pen.line([tuple(p) for p in points], fill=0, width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round pen ends, as the page draws them
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=0)
    return pad


def glyph(text: str, rng: np.random.Generator, size: int, slant: float = 12) -> np.ndarray:
    """A font's glyph, bright on black on the 280x280 pad, a little off-centre and slanted."""
    canvas = Image.new("L", (PAD, PAD), 0)
    centre = PAD / 2 + rng.uniform(-0.08, 0.08, 2) * PAD
    ImageDraw.Draw(canvas).text(
        tuple(centre),
        text,
        fill=255,
        font=ImageFont.load_default(size=size),
        anchor="mm",
        stroke_width=int(rng.integers(3, 9)),
        stroke_fill=255,
    )
    return np.asarray(canvas.rotate(float(rng.uniform(-slant, slant)), resample=Image.Resampling.BILINEAR))


def two_digits(rng: np.random.Generator) -> Image.Image:
    """Two different digits drawn over each other, a little apart."""
    first, second = rng.choice(10, 2, replace=False)
    size = int(rng.integers(170, 230))
    return Image.fromarray(255 - np.maximum(glyph(str(first), rng, size), glyph(str(second), rng, size)))


def as_photo(drawing: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The drawing written on paper and photographed (`conftest.make_photo`), from PHOTO_SIDE
    pixels: the photo is 5-15 times that (made from the 280x280 drawing, it was up to
    16,000 pixels a side and took seconds to make)."""
    small = drawing.convert("L").resize((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.BOX)
    return make_photo(255 - np.asarray(small), rng)


def made_set(count: int, seed: int, make) -> list[tuple[str, str, Image.Image]]:
    """(category, what, picture) for `count` pictures, the categories in turn, every other
    round as a photo; `make(category, rng)` gives (what, drawing)."""
    rng = np.random.default_rng(seed)
    pictures = []
    for i in range(count):
        category = CATEGORIES[i % len(CATEGORIES)]
        what, picture = make(category, rng)
        if (i // len(CATEGORIES)) % 2:
            picture = as_photo(picture, rng)
        pictures.append((category, what, picture))
    return pictures


def drawn_set(count: int, seed: int) -> list[tuple[str, str, Image.Image]]:
    """`count` hand-drawn non-digits, half drawings, half photos."""

    def make(category: str, rng: np.random.Generator) -> tuple[str, Image.Image]:
        if category == "letters":
            what = str(rng.choice(list(LETTERS)))
            return what, draw(LETTERS[what], rng)
        if category == "symbols":
            what = str(rng.choice(SYMBOLS))
            return what, draw(symbol(what), rng)
        if category == "scribbles":
            what = str(rng.choice(SCRIBBLES))
            return what, draw(scribble(what, rng), rng)
        return "two digits", two_digits(rng)

    return made_set(count, seed, make)


TYPED_LETTERS = "AEFHKMNRWXYhkmnrwxyeu"
TYPED_SYMBOLS = "#+=-*&@%$!?<>~/"


def typed(text: str, rng: np.random.Generator) -> Image.Image:
    """A font's letter or symbol, dark on the white pad, at a random size, place and slant."""
    return Image.fromarray(255 - glyph(text, rng, int(rng.integers(150, 240)), slant=15))


def bezier_scribble(rng: np.random.Generator) -> Strokes:
    """A smooth curve through random control points (cubic Bezier pieces)."""
    points = rng.uniform(0, 1, (3 * int(rng.integers(1, 4)) + 1, 2))
    t = np.linspace(0, 1, 20)[:, None]
    curve = []
    for i in range(0, len(points) - 1, 3):
        p0, p1, p2, p3 = points[i : i + 4]
        curve += [
            tuple(q)
            for q in (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
        ]
    return [curve]


def rings_and_boxes(rng: np.random.Generator) -> Strokes:
    """Two or three outlines (ellipses, boxes) side by side or nested."""
    strokes = []
    for _ in range(int(rng.integers(2, 4))):
        cx, cy, r = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75), rng.uniform(0.12, 0.3)
        if rng.random() < 0.5:
            strokes.append(circle(cx, cy, r))
        else:
            strokes.append(
                [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r), (cx - r, cy - r)]
            )
    return strokes


def typed_set(count: int, seed: int) -> list[tuple[str, str, Image.Image]]:
    """`count` non-digits made differently from `drawn_set` (a font's letters and symbols,
    smooth curves, rings and boxes, a font's digits overlaid), half drawings, half photos.
    Kept for checking; never used to choose."""

    def make(category: str, rng: np.random.Generator) -> tuple[str, Image.Image]:
        if category in ("letters", "symbols"):
            what = str(rng.choice(list(TYPED_LETTERS if category == "letters" else TYPED_SYMBOLS)))
            return what, typed(what, rng)
        if category == "scribbles":
            what = "curve" if rng.random() < 0.5 else "rings and boxes"
            return what, draw(bezier_scribble(rng) if what == "curve" else rings_and_boxes(rng), rng)
        return "two digits", two_digits(rng)

    return made_set(count, seed, make)


def as_page_drawing(digit: np.ndarray) -> np.ndarray:
    """A 28x28 MNIST digit (bright on black) as the page sends it (dark on white, 280x280),
    preprocessed."""
    from mnist_pipeline.handwriting import to_mnist

    big = Image.fromarray(digit).resize((PAD, PAD), Image.Resampling.BICUBIC)
    return to_mnist(1 - np.clip(np.asarray(big, np.float32) / 255, 0, 1))


def preprocessed(pictures: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
    """The 28x28s (n, 784) of the pictures with ink, and which had ink at all."""
    from mnist_pipeline.handwriting import NoInk, to_mnist

    fields, found = [], []
    for picture in pictures:
        try:
            fields.append(to_mnist(np.asarray(picture.convert("L"), np.float32) / 255).reshape(-1))
            found.append(True)
        except NoInk:
            found.append(False)
    return np.stack(fields), np.array(found)


def preprocessed_set(pictures: list[tuple[str, str, Image.Image]]) -> tuple[np.ndarray, np.ndarray, int]:
    """A set made by `drawn_set` or `typed_set`, preprocessed: the 28x28s with ink, their
    categories, and how many pictures had no ink."""
    images, found = preprocessed([picture for _, _, picture in pictures])
    categories = np.array([category for category, _, _ in pictures])[found]
    return images, categories, int((~found).sum())


def read_as_image(pictures: list[tuple[str, str, Image.Image]], reader) -> tuple[np.ndarray, np.ndarray]:
    """Which pictures `--image` answers "not a digit" (the number reader included; blank
    ones left out), and their categories. A refusal (more than 20 marks) is not "not a
    digit", nor is a number with a "?" in it."""
    from mnist_pipeline.classify import number_answer
    from mnist_pipeline.handwriting import NoInk
    from mnist_pipeline.number import TooManyPieces, read_pieces

    caught, categories = [], []
    for category, _, picture in pictures:
        try:
            caught.append(number_answer(read_pieces(png_bytes(picture), reader))["number"] is None)
        except NoInk:
            continue
        except TooManyPieces:
            caught.append(False)
        categories.append(category)
    return np.array(caught), np.array(categories)
