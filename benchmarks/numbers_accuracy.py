"""Reading whole numbers: how many of them `--image` gets exactly right, and how fast.

    python benchmarks/numbers_accuracy.py --model artifacts/model.keras --data ../shared/mnist

Numbers of 2-6 MNIST test digits (tests/written_numbers.py): wide and narrow gaps,
digits whose strokes touch, digits whose boxes overlap; as page drawings, photos on
paper and hard photos. Each is read exactly as `--image` reads it (`classify_images`).
Prints, per spacing and per style: the share of numbers read exactly, the share of
digits read right among numbers cut into the right count of pieces, and beside them the
ceiling: the same digits read one by one as MNIST's own 28x28s (a number is right there
when all its digits are). Two sets: the one used while tuning (seed 1) and one made
differently (`made="other"`, seed 2), never looked at while tuning. Then the speed:
medians on this machine of page drawings of 4-digit numbers (one of each spacing) and
of a 12-megapixel photo of one (time per picture, reading and classifying, model loaded).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from written_numbers import SPACINGS, STYLES, number_set  # noqa: E402

from mnist_pipeline.classify import DigitReader, classify_images, number_answer  # noqa: E402
from mnist_pipeline.data import INPUT_SIZE, load_mnist  # noqa: E402
from mnist_pipeline.digit_check import load_digit_check  # noqa: E402
from mnist_pipeline.number import read_pieces  # noqa: E402
from mnist_pipeline.saved_model import load_classifier  # noqa: E402


def accuracy_table(model, check, mnist, count: int, seed: int, made: str, folder: Path) -> None:
    numbers = number_set(mnist.x_test, mnist.y_test, count, seed, made)
    paths = []
    for i, number in enumerate(numbers):
        paths.append(folder / f"{made}-{i}.png")
        number.picture.save(paths[-1])
    results = classify_images(model, paths, None, check)
    raw = model.predict(mnist.x_test.reshape(-1, INPUT_SIZE) / np.float32(255), batch_size=1024, verbose=0)
    raw_right = raw.argmax(axis=1) == mnist.y_test
    exact, ceiling, digits = defaultdict(list), defaultdict(list), defaultdict(list)
    for number, result in zip(numbers, results, strict=True):
        read = result.get("number") or ""
        for key in ("all", number.spacing, number.style):
            exact[key].append(read == number.text)
            ceiling[key].append(bool(raw_right[number.chosen].all()))
            if len(read) == len(number.text):
                digits[key] += [a == b for a, b in zip(read, number.text, strict=True)]
    print(f"\n{made} set (seed {seed}), {count} numbers:\n")
    print("| numbers | count | read exactly | ceiling (28x28s one by one) | digits right, when cut right |")
    print("| --- | --- | --- | --- | --- |")
    for key in ("all", *SPACINGS, *STYLES):
        print(
            f"| {key} | {len(exact[key])} | {np.mean(exact[key]):.3f} | {np.mean(ceiling[key]):.3f} "
            f"| {np.mean(digits[key]) if digits[key] else float('nan'):.3f} |"
        )


def speed(model, check, mnist, folder: Path, repeats: int) -> None:
    """Medians of reading one picture: page drawings of 4-digit numbers, the first of each
    spacing (the first of all, whose digits touch, is the one timed since 2026-12-02), and
    that first number as a 12-megapixel photo (4000x3000 JPEG)."""
    from PIL import Image

    reader = DigitReader(model, check)
    rng = np.random.default_rng(0)
    numbers = [
        n for n in number_set(mnist.x_test, mnist.y_test, 200, 3) if n.style == "drawing" and len(n.text) == 4
    ]
    first = numbers[0]
    pictures = {f"drawing_{first.spacing}.png": first.picture}
    for spacing in SPACINGS:
        drawing = next(n for n in numbers if n.spacing == spacing)
        pictures.setdefault(f"drawing_{spacing}.png", drawing.picture)
    width, height = first.picture.size
    ink = 255 - np.asarray(first.picture.convert("L").resize((2400, round(2400 * height / width))))
    page = np.full((3000, 4000), 215, np.uint8)
    page[1000 : 1000 + ink.shape[0], 800:3200] = 215 - (ink * 0.75).astype(np.uint8)
    pictures["photo.jpg"] = Image.fromarray(
        (page + rng.normal(0, 3, page.shape)).clip(0, 255).astype(np.uint8)
    )
    for name, picture in pictures.items():
        path = folder / name
        picture.save(path, **({"quality": 90} if name.endswith(".jpg") else {}))
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            pieces = read_pieces(path, reader)
            number_answer(pieces)
            times.append(time.perf_counter() - started)
        size = Image.open(path).size
        print(f"{name} ({size[0]}x{size[1]}, {len(pieces)} pieces): median {np.median(times) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model.keras")
    parser.add_argument("--data", help="MNIST folder or npz (default: $MNIST_DATA)")
    parser.add_argument(
        "--numbers", type=int, default=600, help="numbers per set, 0 for the speed only (default: 600)"
    )
    parser.add_argument("--repeats", type=int, default=21, help="timed reads per picture (default: 21)")
    args = parser.parse_args()

    model = load_classifier(args.model)
    check = load_digit_check(args.model)
    mnist = load_mnist(args.data)
    with tempfile.TemporaryDirectory() as folder:
        if args.numbers:
            accuracy_table(model, check, mnist, args.numbers, 1, "tuning", Path(folder))
            accuracy_table(model, check, mnist, args.numbers, 2, "other", Path(folder))
            print()
        speed(model, check, mnist, Path(folder), args.repeats)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
