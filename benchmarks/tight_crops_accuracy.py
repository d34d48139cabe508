"""Digits cut out tight: the share read right, beside the same digits read uncropped.

    python benchmarks/tight_crops_accuracy.py --model artifacts/model.keras --data ../shared/mnist

MNIST test digits cut to their ink box (tests/tight_crops.py), in both polarities,
scaled 1-6x, with 0 or 2 px of margin, as PNG and JPEG; the kept-aside set of crops made
another way (grey page and ink, noise, stretched, any JPEG quality); and scikit-learn's
1,797 UCI digits (8x8) as they are and enlarged. Each is read the way
`mnist_classification.py --image` reads a file, and printed beside the network's reading
of the same digits as 28x28 MNIST pictures (for the UCI digits, beside a plain placement:
crop, longer side to 20 px, centred by mass).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from tight_crops import (  # noqa: E402
    FORMATS,
    POLARITIES,
    read_pictures,
    rough_crop,
    tight_crop,
    uci_digits,
    uci_picture,
)

from mnist_pipeline.data import INPUT_SIZE, load_mnist  # noqa: E402
from mnist_pipeline.handwriting import centred_field  # noqa: E402
from mnist_pipeline.saved_model import load_classifier  # noqa: E402

FACTORS = (1, 2, 3, 6)
MARGINS = (0, 2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model.keras")
    parser.add_argument("--data", help="MNIST folder or npz (default: $MNIST_DATA)")
    parser.add_argument("--count", type=int, default=300, help="MNIST digits per group (default: 300)")
    parser.add_argument("--seed", type=int, default=1, help="which digits (default: 1)")
    args = parser.parse_args()

    model = load_classifier(args.model)
    mnist = load_mnist(args.data)
    chosen = np.random.default_rng(args.seed).choice(len(mnist.x_test), args.count, replace=False)
    digits, labels = mnist.x_test[chosen], mnist.y_test[chosen]
    uncropped = model.predict(digits.reshape(-1, INPUT_SIZE) / np.float32(255), verbose=0).argmax(axis=1)
    share = np.mean(uncropped == labels)
    print(f"{args.count} MNIST test digits (seed {args.seed}); read uncropped as 28x28: {share:.3f}\n")
    print("| picture | share right |")
    print("| --- | --- |")
    for polarity in POLARITIES:
        shares = []
        for factor in FACTORS:
            for margin in MARGINS:
                for image_format in FORMATS:
                    pictures = [tight_crop(d, polarity, factor, margin, image_format) for d in digits]
                    shares.append(np.mean(read_pictures(model, pictures) == labels))
                    print(f"| {polarity}, {factor}x, {margin} px margin, {image_format} | {shares[-1]:.3f} |")
        print(f"| **{polarity}, all tight crops** | **{np.mean(shares):.3f}** |")

    rng = np.random.default_rng(args.seed + 1000)
    crops = [rough_crop(d, rng) for d in digits]
    read = read_pictures(model, [picture for picture, _ in crops]) == labels
    for polarity in POLARITIES:
        mine = np.array([kind == polarity for _, kind in crops])
        print(f"| kept-aside crops, {polarity} ({mine.sum()}) | {np.mean(read[mine]):.3f} |")

    images, uci_labels = uci_digits()
    plain = np.stack([centred_field(image) for image in images]).reshape(-1, INPUT_SIZE)
    share = np.mean(model.predict(plain, verbose=0).argmax(axis=1) == uci_labels)
    print(f"| UCI digits, plain placement (crop, 20 px, centred by mass) | {share:.3f} |")
    for polarity in POLARITIES:
        for factor in (1, 4):
            pictures = [uci_picture(image, polarity, factor) for image in images]
            share = np.mean(read_pictures(model, pictures) == uci_labels)
            print(f"| UCI digits, {polarity}, {8 * factor}x{8 * factor} | {share:.3f} |")

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
