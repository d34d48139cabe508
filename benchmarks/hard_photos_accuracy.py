"""`--image` on hard photos: accuracy per condition, and the preprocessing's speed.

    python benchmarks/hard_photos_accuracy.py --model artifacts/model.keras --data ../shared/mnist

Renders --count MNIST test digits (or, without MNIST, digits drawn from a font) as phone
photos with two to four hard conditions each (tests/hard_photos.py: shadows, ruled and
squared paper, pencil, coloured ink, blur, heavy JPEG, ...), classifies them the way
`mnist_classification.py --image` does, and prints the share answered correctly, overall
and for the photos with each condition. Then it times the preprocessing of a plain and a
hard 12-megapixel phone photo and of one 280x280 drawing (medians).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from conftest import make_split  # noqa: E402  (the tests' rendered digits, without MNIST)
from hard_photos import CONDITIONS, read_right  # noqa: E402

from mnist_pipeline.data import load_mnist  # noqa: E402
from mnist_pipeline.digit_check import load_digit_check  # noqa: E402
from mnist_pipeline.handwriting import read_digit  # noqa: E402
from mnist_pipeline.saved_model import load_classifier  # noqa: E402


def test_digits(data: str | None, count: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    if data or os.environ.get("MNIST_DATA"):
        mnist = load_mnist(data)
        chosen = np.random.default_rng(seed).choice(len(mnist.x_test), count, replace=False)
        return mnist.x_test[chosen], mnist.y_test[chosen], "MNIST test digits"
    images, labels = make_split(count, seed)
    return images, labels, "digits drawn from a font"


def accuracy_table(
    model, check, digits: np.ndarray, labels: np.ndarray, seed: int
) -> list[tuple[str, int, float, float]]:
    """(condition, photos, share right, share right with the not-a-digit check) for each
    condition, then 'all'."""
    with tempfile.TemporaryDirectory() as folder:
        photos, right = read_right(model, digits, labels, seed, Path(folder))
        _, checked = read_right(model, digits, labels, seed, Path(folder), check)
    rows = []
    for condition in CONDITIONS:
        has = np.array([condition in conditions for _, conditions in photos])
        shares = [float(r[has].mean()) if has.any() else float("nan") for r in (right, checked)]
        rows.append((condition, int(has.sum()), *shares))
    rows.append(("all", len(right), float(right.mean()), float(checked.mean())))
    return rows


def median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def hard_12_megapixel_photo() -> Image.Image:
    """The slowest path: squared paper (lines found, page turned level, twice), a hard
    shadow, a small digit (looked at again, closer), the photo turned by 15 degrees."""
    photo = Image.new("RGB", (4000, 3000), (230, 228, 220))
    draw = ImageDraw.Draw(photo)
    for x in range(0, 4000, 60):
        draw.line([(x, 0), (x, 3000)], fill=(140, 170, 225), width=3)
    for y in range(0, 3000, 60):
        draw.line([(0, y), (4000, y)], fill=(140, 170, 225), width=3)
    draw.line([(2000, 1500), (2150, 1500), (2050, 1750)], fill=(30, 30, 40), width=18)
    pixels = np.asarray(photo, np.float32)
    pixels[:, 2600:] *= 0.5
    photo = Image.fromarray(pixels.astype(np.uint8))
    return photo.rotate(15, resample=Image.Resampling.BICUBIC, fillcolor=(200, 200, 200))


def speed(repeats: int) -> tuple[float, float, float]:
    """Median seconds to preprocess (read + to_mnist) a plain 12-megapixel photo, a hard
    one, and a 280x280 drawing."""
    with tempfile.TemporaryDirectory() as folder:
        photo = Image.new("RGB", (4000, 3000), (225, 222, 214))
        ImageDraw.Draw(photo).line([(1500, 900), (2400, 900), (1800, 2200)], fill=(30, 30, 40), width=70)
        photo_path, hard_path = Path(folder, "photo.jpg"), Path(folder, "hard.jpg")
        photo.save(photo_path, quality=90)
        hard_12_megapixel_photo().save(hard_path, quality=90)
        drawing = Image.new("RGBA", (280, 280), "white")
        ImageDraw.Draw(drawing).line([(70, 60), (210, 60), (120, 240)], fill="black", width=18)
        drawing_path = Path(folder, "drawing.png")
        drawing.save(drawing_path)
        return (
            median_seconds(lambda: read_digit(photo_path), repeats),
            median_seconds(lambda: read_digit(hard_path), repeats),
            median_seconds(lambda: read_digit(drawing_path), repeats * 10),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model.keras")
    parser.add_argument("--data", help="MNIST folder or npz (default: $MNIST_DATA; without: font digits)")
    parser.add_argument("--count", type=int, default=600, help="photos (default: 600)")
    parser.add_argument("--seed", type=int, default=1, help="which digits and conditions (default: 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timing runs (default: 5)")
    args = parser.parse_args()

    model = load_classifier(args.model)
    digits, labels, source = test_digits(args.data, args.count, args.seed)
    rows = accuracy_table(model, load_digit_check(args.model), digits, labels, args.seed)
    print(f"{args.count} photos of {source} (seed {args.seed}), two to four conditions each:\n")
    print("| condition | photos with it | share right | with the not-a-digit check |")
    print("| --- | --- | --- | --- |")
    for condition, count, share, checked in rows:
        print(f"| {condition} | {count} | {share:.2f} | {checked:.2f} |")
    photo, hard, drawing = speed(args.repeats)
    print(
        f"\npreprocessing, median: 12-megapixel photo {photo:.3f} s (squared paper, shadow, small"
        f" digit, turned: {hard:.3f} s), 280x280 drawing {drawing * 1000:.1f} ms"
    )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
