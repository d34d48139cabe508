"""Is this picture a digit at all? A check fitted beside the model, used on every answer.

The network answers some digit for anything: a letter, a star, a scribble. Its top
probability alone tells them apart poorly (a fifth of such pictures score 0.99), so
`python model.py` also fits three small detectors after training:

- each is an MLP that reads the 28x28 and the network's log-probabilities and learns
  "training digit" against non-digits generated here (two digits over each other or
  touching side by side, digits flipped, turned or cut and mixed, a digit with extra
  strokes, letter-like strokes, polylines, curves, grids, closed shapes, shuffled
  quarters, slices of letters and scribbles as the number reader's cuts make them);
- two see every picture as drawn (each its own examples), the third with strokes made
  thicker or thinner, so that no one of them alone decides what a pen's width means;
- a picture's oddness is the sum of its three scores' ranks among training digits the
  detectors never saw; the threshold turns away TURNED_AWAY of those digits.

The result is saved beside the model as `digit_check.npz` (plain arrays, read with
pickling off) with the model file's SHA-256: a check fitted for another model is not
used. Without it, the check falls back to the network's top probability.
Answering costs three small MLPs per picture (numpy, well under 1 ms).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnist_pipeline.cli import warn
from mnist_pipeline.data import INPUT_SIZE, NUM_CLASSES
from mnist_pipeline.files import atomic_path, file_digest
from mnist_pipeline.handwriting import centred_field

CHECK_FILE = "digit_check.npz"  # beside model.keras
# Share of unseen training digits the threshold calls "not a digit". Drawn on the page,
# digits come out a little odder than placed here: at 1.5%, 1.81% of the 10,000 test
# digits drawn on the page were (benchmarks/not_a_digit_check.py); 2% had given 2.3%.
TURNED_AWAY = 0.015
# Without digit_check.npz: "not a digit" when the top probability is below this. For
# 2,000 training digits drawn as the page sends them, it turned away 1.4% (model of seed 42).
FALLBACK_MIN_PROBABILITY = 0.6
# `Check.surprise` of a picture at the learned check's threshold is about this; the
# fallback's surprise is scaled to put its own threshold there too, so that the number
# reader weighs pieces alike with or without digit_check.npz.
THRESHOLD_SURPRISE = 10.0
# Three detectors: their sum is steadier than any one (each alone varied from fit to fit).
DETECTORS = ("as drawn", "thicker or thinner", "as drawn, other examples")
EXAMPLES = 30_000  # generated non-digits, and as many training digits, per detector
HELD_OUT = 5_000  # training digits kept out of the fit to place the threshold
HIDDEN = (256, 64)  # each detector's hidden layers
EPOCHS = 10
BATCH = 128
LEARNING_RATE = 1e-3  # Adam's, falling to 0 along a cosine over the fit
PARTS = 8  # pieces per detector that the examples are made in, on every core
SIDE = 112  # non-digits are drawn at this size, then placed in 28x28 like a photo's digit
LOG_FLOOR = -20.0  # log-probabilities below this carry no more news


class Check:
    """A picture is "not a digit" when its oddness is above the threshold."""

    threshold: float
    name: str

    def oddness(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def not_digits(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        return self.oddness(pixels, probabilities) > self.threshold

    def surprise(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """How unlike a digit each picture is, in nats: about 1 per detector for a digit,
        several for a non-digit, so that the costs of pieces add up (`number`)."""
        raise NotImplementedError

    def judge(self, pixels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`surprise` and `not_digits` at once (the learned check scores each picture once)."""
        return self.surprise(pixels, probabilities), self.not_digits(pixels, probabilities)


class DigitCheck(Check):
    """The fitted check: each detector's weights, ranks of unseen training digits, a threshold."""

    name = "learned (digit_check.npz)"

    def __init__(self, layers: list[list[np.ndarray]], references: list[np.ndarray], threshold: float):
        self.layers, self.references, self.threshold = layers, references, threshold

    def oddness(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """(n, 784) pixels and (n, 10) probabilities -> (n,) oddness, from 0 to the number
        of detectors; higher is odder."""
        return self.ranks(pixels, probabilities).sum(axis=0)

    def surprise(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        return self.judge(pixels, probabilities)[0]

    def judge(self, pixels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Surprise: -log of the share of unseen training digits at least as odd, per
        detector, summed; not a digit: the ranks' sum above the threshold."""
        ranks = self.ranks(pixels, probabilities)
        share = 1 - ranks + 1 / len(self.references[0])
        return -np.log(share).sum(axis=0), ranks.sum(axis=0) > self.threshold

    def ranks(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """(detectors, n): each detector's score as the share of unseen training digits below it."""
        features = detector_input(pixels, probabilities)
        return np.stack(
            [
                np.searchsorted(reference, mlp(weights, features)) / len(reference)
                for weights, reference in zip(self.layers, self.references, strict=True)
            ]
        )

    def save(self, path: Path, model_file: Path) -> None:
        model_sha256 = file_digest(model_file, "sha256")  # a check is used only with its own model
        arrays = {"threshold": np.array(self.threshold), "model_sha256": np.array(model_sha256)}
        for d, (weights, reference) in enumerate(zip(self.layers, self.references, strict=True)):
            arrays[f"reference_{d}"] = reference
            arrays |= {f"layer_{d}_{k}": w for k, w in enumerate(weights)}
        with atomic_path(path) as temporary, temporary.open("wb") as f:
            np.savez(f, **arrays)


class TopProbability(Check):
    """The fallback: "not a digit" when the network's top probability is low."""

    threshold = 1 - FALLBACK_MIN_PROBABILITY
    name = "top probability (fallback)"

    def oddness(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        return 1 - probabilities.max(axis=1)

    def surprise(self, pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        nats = -np.log(np.maximum(probabilities.max(axis=1), 1e-30))
        return nats * THRESHOLD_SURPRISE / -np.log(FALLBACK_MIN_PROBABILITY)


def load_digit_check(model_file: Path) -> Check:
    """The check saved beside `model_file`; if missing, stale or unreadable, one `note:`
    line and the top-probability fallback."""
    path = model_file.parent / CHECK_FILE
    fallback = f"falls back to the top probability (under {FALLBACK_MIN_PROBABILITY:.0%}: not a digit)"
    if not path.is_file():
        warn(f"no {CHECK_FILE} beside {model_file.name}; the not-a-digit check {fallback}", "note")
        return TopProbability()
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["model_sha256"]) != file_digest(model_file, "sha256"):
                warn(f"{path} was made for another model; the not-a-digit check {fallback}", "note")
                return TopProbability()
            layers = [
                [saved[f"layer_{d}_{k}"].astype(np.float32) for k in range(2 * (len(HIDDEN) + 1))]
                for d in range(len(DETECTORS))
            ]
            references = [np.sort(saved[f"reference_{d}"]) for d in range(len(DETECTORS))]
            check = DigitCheck(layers, references, float(saved["threshold"]))
            check.oddness(np.zeros((1, INPUT_SIZE), np.float32), np.full((1, NUM_CLASSES), 0.1))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        warn(f"{path} is unreadable ({error}); the not-a-digit check {fallback}", "note")
        return TopProbability()
    return check


def detector_input(pixels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The 784 pixels and the network's 10 log-probabilities (scaled to a similar range)."""
    logs = np.maximum(np.log(np.maximum(probabilities, 1e-30)), LOG_FLOOR) / -LOG_FLOOR
    return np.hstack([pixels.reshape(len(pixels), INPUT_SIZE), logs]).astype(np.float32)


def mlp(weights: list[np.ndarray], values: np.ndarray) -> np.ndarray:
    """A detector's score: ReLU hidden layers, one linear output."""
    for k in range(0, len(weights) - 2, 2):
        values = np.maximum(values @ weights[k] + weights[k + 1], 0)
    return (values @ weights[-2] + weights[-1])[:, 0]


# Fitting, in `python model.py` -------------------------------------------------------


def fit_digit_check(
    model, images: np.ndarray, labels: np.ndarray, seed: int, say: Callable[[str], None] = print
) -> DigitCheck:
    """Fit the detectors on `images` (the training digits, uint8 28x28) and place the
    threshold on HELD_OUT of them that no detector saw."""
    from mnist_pipeline.backend import import_keras

    keras = import_keras()
    order = np.random.default_rng(seed).permutation(len(images))
    held_out = order[: max(1, min(HELD_OUT, len(images) // 5))]
    seen = order[len(held_out) :]
    count = min(EXAMPLES, len(seen))
    say(
        f"Fitting the not-a-digit check: {len(DETECTORS)} detectors, each on {count:,} training digits "
        f"and {count:,} generated non-digits"
    )
    started = time.perf_counter()
    examples = generate(images, labels, seen, held_out, count, seed)
    say(f"  examples made in {time.perf_counter() - started:.0f} s")
    probabilities = lambda x: model.predict(x, batch_size=1024, verbose=0)  # noqa: E731
    unseen = examples.pop()  # the held-out digits, placed as every picture is
    unseen_input = detector_input(unseen, probabilities(unseen))
    layers, references = [], []
    for d, (digits, others) in enumerate(examples):
        x = np.vstack([digits, others])
        y = np.r_[np.zeros(len(digits)), np.ones(len(others))].astype(np.float32)
        features = detector_input(x, probabilities(x))
        keras.utils.set_random_seed(seed + d)
        detector = keras.Sequential(
            [keras.Input((features.shape[1],))]
            + [keras.layers.Dense(units, activation="relu") for units in HIDDEN]
            + [keras.layers.Dense(1)]
        )
        # The learning rate falls to 0 by the last step: a detector ends where it settled,
        # not where the last batches threw it, so one fit differs less from another.
        steps = EPOCHS * math.ceil(len(x) / BATCH)
        schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
        detector.compile(
            optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.BinaryCrossentropy(from_logits=True)
        )
        detector.fit(features, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, shuffle=True)
        weights = [w.astype(np.float32) for w in detector.get_weights()]
        say(f"  detector {d + 1} of {len(DETECTORS)} ({DETECTORS[d]}) fitted")
        layers.append(weights)
        references.append(np.sort(mlp(weights, unseen_input)))
    check = DigitCheck(layers, references, 0.0)
    check.threshold = float(np.quantile(check.oddness(unseen, probabilities(unseen)), 1 - TURNED_AWAY))
    return check


def generate(
    images: np.ndarray, labels: np.ndarray, seen: np.ndarray, held_out: np.ndarray, count: int, seed: int
) -> list:
    """[(digits, non-digits) per detector..., held-out digits], made on every core.

    The work is cut into PARTS pieces per detector, each with its own seed, so the
    result is the same on any number of cores. Workers are started fresh ("spawn"):
    this process has TensorFlow loaded, and forking it is unsafe.
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    tasks = [
        (seed, d, part, int(share.sum()))
        for d in range(len(DETECTORS))
        for part, share in enumerate(np.array_split(np.ones(count, int), PARTS))
    ]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        os.cpu_count(), spawn, initializer=share_digits, initargs=(images, labels, seen)
    ) as pool:
        held = pool.submit(placed_digits, held_out)
        made = []
        for part in pool.map(make_examples, tasks):
            made.append(part)
            if sys.stdout.isatty():  # a live count in a terminal; logs get the summary line only
                print(f"\r  making examples: part {len(made)} of {len(tasks)}", end="", flush=True)
        placed = held.result()
    if sys.stdout.isatty():
        print()
    per_detector = [
        tuple(np.vstack([part[k] for part in made[d * PARTS : (d + 1) * PARTS]]) for k in (0, 1))
        for d in range(len(DETECTORS))
    ]
    return [*per_detector, placed]


SHARED: dict[str, np.ndarray] = {}  # a worker's copy of the training digits


def share_digits(images: np.ndarray, labels: np.ndarray, seen: np.ndarray) -> None:
    """In a worker, once: all training digits, and those the detectors may see."""
    SHARED.update(images=images, labels=labels, seen_images=images[seen], seen_labels=labels[seen])


def make_examples(task: tuple) -> tuple[np.ndarray, np.ndarray]:
    """In a worker: one part's training digits and non-digits for one detector."""
    seed, detector, part, count = task
    rng = np.random.default_rng([seed, detector, part])
    restroke = DETECTORS[detector] == "thicker or thinner"
    maker = Maker(SHARED["seen_images"], SHARED["seen_labels"], rng, restroke)
    return maker.digits(count), maker.non_digits(count)


def placed_digits(chosen: np.ndarray) -> np.ndarray:
    """In a worker: the `chosen` training digits, as drawn, placed as every picture is."""
    maker = Maker(SHARED["images"], SHARED["labels"], np.random.default_rng(0), restroke=False)
    return np.stack([maker.placed(maker.enlarged(SHARED["images"][i])) for i in chosen])


# Generated non-digits ----------------------------------------------------------------

# Digits that stay digits when flipped or turned are not used as non-digits that way.
SYMMETRIC = {"flipped": {0, 1, 8}, "upside down": {0, 1, 6, 8, 9}, "on its side": {0, 8}}
KINDS = (  # two digits over each other, the hardest, get four shares; side by side, two;
    # parts of shapes, two
    "two digits", "two digits", "two digits", "two digits", "side by side", "side by side", "flipped",
    "upside down", "on its side", "halves", "quarters", "digit and strokes", "letter-like",
    "polyline", "segments", "curve", "grid", "closed shape", "part of shapes", "part of shapes",
)  # fmt: skip
SLICED = ("letter-like", "polyline", "curve", "closed shape", "grid")  # the shapes "part of shapes" slices


class Maker:
    """Training digits and generated non-digits, each drawn at SIDE px and placed in
    28x28 the way a picture's digit is (`centred_field`), so that the detectors learn
    shapes, not how the 28x28s were made."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, restroke: bool):
        self.images, self.labels, self.rng, self.restroke = images, labels, rng, restroke

    def digits(self, count: int) -> np.ndarray:
        """`count` training digits, enlarged and placed again."""
        chosen = self.rng.choice(len(self.images), count, replace=False)
        return np.stack([self.placed(self.enlarged(self.images[i])) for i in chosen])

    def non_digits(self, count: int) -> np.ndarray:
        made = []
        while len(made) < count:
            field = self.placed(self.make(KINDS[len(made) % len(KINDS)]))
            if field is not None:
                made.append(field)
        return np.stack(made)

    def placed(self, ink: np.ndarray) -> np.ndarray | None:
        """Ink (bright on black, SIDE x SIDE) -> 784 values as the network reads them."""
        from scipy import ndimage

        if self.restroke:  # a quarter thinner, a quarter thicker, the rest as they are
            u = self.rng.random()
            if u < 0.25:
                ink = ndimage.grey_erosion(ink, size=int(self.rng.choice([3, 5, 7])))
            elif u < 0.5:
                ink = ndimage.grey_dilation(ink, size=int(self.rng.choice([3, 5])))
        if ink.max() < 0.05:
            return None
        return centred_field(np.clip(ink / ink.max(), 0, 1)).reshape(INPUT_SIZE)

    def enlarged(self, image: np.ndarray) -> np.ndarray:
        """A training digit (uint8 28x28) at SIDE x SIDE, in [0, 1]."""
        from PIL import Image

        grey = Image.fromarray(np.ascontiguousarray(image.reshape(28, 28), dtype=np.uint8))
        return np.asarray(grey.resize((SIDE, SIDE), Image.Resampling.BICUBIC), np.float32) / 255

    def pick(self, avoid: set[int] = frozenset(), unlike: int | None = None) -> int:
        """A random training digit's index, not of a class in `avoid`, nor `unlike`'s class."""
        while True:
            i = int(self.rng.integers(len(self.images)))
            if self.labels[i] not in avoid and (unlike is None or self.labels[i] != self.labels[unlike]):
                return i

    def side_by_side(self) -> np.ndarray:
        """Two digits whose strokes touch, whole (two digits taken for one) or cut in the
        wrong place (a digit with a part of its neighbour): the pieces a number's reader
        weighs when it cuts touching digits apart (`number`)."""
        rng = self.rng
        first, second = (self.inked_columns(self.enlarged(self.images[self.pick()])) for _ in "ab")
        # The second starts up to 0.15 SIDE before the first ends (their strokes overlap)
        # or up to 0.03 SIDE after it (nearly touching), never left of the first's middle.
        start = max(first.shape[1] + int(rng.uniform(-0.15, 0.03) * SIDE), first.shape[1] // 2)
        second = np.roll(second, int(np.clip(rng.normal(0, 6), -15, 15)), axis=0)  # not quite level
        pair = self.joined(first, second, start)
        u = rng.random()
        if u < 0.5:
            return pair
        if u < 0.75:  # the first digit and a part of the second
            return pair[:, : start + int(rng.uniform(0.15, 0.6) * second.shape[1])]
        return pair[:, int(rng.uniform(0.4, 0.85) * first.shape[1]) :]  # a part of the first, the second

    def part_of_shapes(self) -> np.ndarray:
        """A slice of two shapes side by side (letter-like strokes, scribbles, rings), as the
        number reader's cuts slice a letter or a scribble wider than a digit (an M cut into
        "1" and "4"): no digit either."""
        rng = self.rng
        shapes = [self.make(str(rng.choice(SLICED))) for _ in "ab"]
        if min(shape.max() for shape in shapes) <= 0.1:  # one drawn off the canvas
            return shapes[0]
        first, second = (self.inked_columns(shape) for shape in shapes)
        start = max(first.shape[1] + int(rng.uniform(-0.2, 0.03) * SIDE), first.shape[1] // 2)
        pair = self.joined(first, second, start)
        left = int(rng.uniform(0.1, 0.5) * pair.shape[1])
        return pair[:, left : left + int(rng.uniform(0.3, 0.6) * pair.shape[1])]

    @staticmethod
    def joined(first: np.ndarray, second: np.ndarray, start: int) -> np.ndarray:
        """One strip: `first`, and `second` drawn over it from column `start`."""
        end = start + second.shape[1]
        pair = np.zeros((SIDE, max(end, first.shape[1])), np.float32)
        pair[:, : first.shape[1]] = first
        pair[:, start:end] = np.maximum(pair[:, start:end], second)
        return pair

    @staticmethod
    def inked_columns(ink: np.ndarray) -> np.ndarray:
        """The columns from the first to the last with ink: a digit's own width."""
        columns = np.flatnonzero(ink.max(axis=0) > 0.1)
        return ink[:, columns[0] : columns[-1] + 1]

    def strokes(self, lines: list[np.ndarray], width: int) -> np.ndarray:
        """Polylines drawn with a round pen, bright on black."""
        from PIL import Image, ImageDraw

        canvas = Image.new("L", (SIDE, SIDE), 0)
        pen = ImageDraw.Draw(canvas)
        for line in lines:
            points = [tuple(p) for p in line]
            pen.line(points, fill=255, width=width, joint="curve")
            for x, y in (points[0], points[-1]):
                pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
        return np.asarray(canvas, np.float32) / 255

    def make(self, kind: str) -> np.ndarray:
        """One non-digit of `kind`, SIDE x SIDE, bright on black."""
        rng, s = self.rng, SIDE
        width = int(rng.integers(3, 23) if self.restroke else rng.integers(6, 15))
        image = lambda i: self.images[i].reshape(28, 28)  # noqa: E731
        if kind == "two digits":
            first = self.pick()
            shift = np.clip(rng.normal(0, 10, 2), -30, 30).astype(int)
            second = np.roll(self.enlarged(image(self.pick(unlike=first))), tuple(shift), (0, 1))
            return np.maximum(self.enlarged(image(first)), second)
        if kind == "side by side":  # what the number reader must not take for one digit
            return self.side_by_side()
        if kind == "part of shapes":
            return self.part_of_shapes()
        if kind in SYMMETRIC:
            digit = image(self.pick(avoid=SYMMETRIC[kind]))
            turns = {"flipped": 0, "upside down": 2, "on its side": int(rng.choice([1, 3]))}[kind]
            digit = digit[:, ::-1] if kind == "flipped" else np.rot90(digit, turns)
            return self.enlarged(np.ascontiguousarray(digit))
        if kind == "halves":  # the top (or left) of one digit, the rest of another
            first = self.pick()
            mixed, other, cut = image(first).copy(), image(self.pick(unlike=first)), int(rng.integers(10, 19))
            if rng.random() < 0.5:
                mixed[cut:] = other[cut:]
            else:
                mixed[:, cut:] = other[:, cut:]
            return self.enlarged(mixed)
        if kind == "quarters":  # a digit's quarters shuffled
            digit = image(self.pick())
            parts = [digit[:14, :14], digit[:14, 14:], digit[14:, :14], digit[14:, 14:]]
            order = rng.permutation(4)
            while (order == np.arange(4)).all():
                order = rng.permutation(4)
            return self.enlarged(
                np.block([[parts[order[0]], parts[order[1]]], [parts[order[2]], parts[order[3]]]])
            )
        if kind == "digit and strokes":
            lines = [rng.uniform(20, s - 20, (int(rng.integers(2, 4)), 2)) for _ in range(rng.integers(1, 3))]
            return np.maximum(self.enlarged(image(self.pick())), self.strokes(lines, 9))
        if kind == "letter-like":  # 2-4 strokes between points of a 3x3 grid, or arcs
            grid = np.array([(x, y) for y in (20, 56, 92) for x in (28, 56, 84)], float)
            lines = []
            for _ in range(int(rng.integers(2, 5))):
                if rng.random() < 0.3:
                    lines.append(ellipse(*rng.uniform(35, 77, 2), *rng.uniform(12, 36, 2),
                                         *np.sort(rng.uniform(0, 2 * np.pi, 2)), n=20))  # fmt: skip
                else:
                    corners = rng.choice(9, int(rng.integers(2, 4)), replace=False)
                    lines.append(grid[corners] + rng.normal(0, 5, (len(corners), 2)))
            return self.strokes(lines, width)
        if kind == "polyline":
            return self.strokes([rng.uniform(10, s - 10, (int(rng.integers(2, 8)), 2))], width)
        if kind == "segments":
            return self.strokes([rng.uniform(10, s - 10, (2, 2)) for _ in range(rng.integers(2, 6))], width)
        if kind == "curve":  # spirals and loops
            t = np.linspace(0, rng.uniform(1, 6) * np.pi, 60)
            r = rng.uniform(10, 50) * (t / t[-1]) ** rng.uniform(0, 1)
            return self.strokes(
                [np.stack([s / 2 + r * np.cos(t), s / 2 + r * np.sin(rng.uniform(0.5, 3) * t)], 1)], width
            )
        if kind == "grid":
            lines, n = [], int(rng.integers(2, 6))
            for k in range(n):
                o = 10 + k * (s - 20) / max(n - 1, 1)
                lines.append(np.array([(o, 10), (o + rng.uniform(-15, 15), s - 10)]))
                if rng.random() < 0.7:
                    lines.append(np.array([(10, o), (s - 10, o + rng.uniform(-15, 15))]))
            return self.strokes(lines, width)
        if kind == "closed shape":  # a polygon or an ellipse, maybe with marks
            if rng.random() < 0.5:
                k = int(rng.integers(3, 9))
                angles, radii = np.sort(rng.uniform(0, 2 * np.pi, k)), rng.uniform(20, 50, k)
                outline = np.stack([s / 2 + radii * np.cos(angles), s / 2 + radii * np.sin(angles)], 1)
                lines = [np.vstack([outline, outline[:1]])]
            else:
                lines = [ellipse(s / 2, s / 2, rng.uniform(15, 50), rng.uniform(15, 50))]
            for _ in range(rng.integers(0, 4)):
                mark = rng.random() < 0.6
                lines.append(
                    rng.uniform(15, s - 15, (2, 2)) if mark else ellipse(*rng.uniform(25, s - 25, 2), 5, 5)
                )
            return self.strokes(lines, width)
        raise ValueError(kind)


def ellipse(
    cx: float, cy: float, rx: float, ry: float, start: float = 0, end: float = 2 * np.pi, n: int = 30
):
    t = np.linspace(start, end, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)
