"""The not-a-digit check `python model.py` saves: what it catches, what it costs, how fast.

    python benchmarks/not_a_digit_check.py --model artifacts/model.keras --data ../shared/mnist

Uses the check saved beside the model (`digit_check.npz`) at its own threshold, the
way `--image`, the page and the API use it. Prints:
- the share of MNIST test digits it calls "not a digit" when each is given as the page
  sends it (dark strokes on white, 280x280, then the same preprocessing), and the
  accuracy on the digits it still answers;
- the share of each non-digit category it calls "not a digit", for both generated sets
  of tests/not_digits.py: the hand-drawn set, and the set made differently (a font's
  letters and symbols, other curves), which was never used to choose the check. Each
  set twice: its 28x28s (the check alone), and its pictures read as `--image`, the page
  and the API read them (the number reader may see several marks; only the answer
  "not a digit" counts, not a number with a "?" in it);
- the check's time per picture (median of single calls).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from not_digits import (  # noqa: E402
    CATEGORIES,
    as_page_drawing,
    drawn_set,
    preprocessed_set,
    read_as_image,
    typed_set,
)

from mnist_pipeline.classify import DigitReader  # noqa: E402
from mnist_pipeline.data import INPUT_SIZE, load_mnist  # noqa: E402
from mnist_pipeline.digit_check import load_digit_check  # noqa: E402
from mnist_pipeline.saved_model import load_classifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model.keras")
    parser.add_argument("--data", help="MNIST folder or npz (default: $MNIST_DATA)")
    parser.add_argument("--digits", type=int, default=10_000, help="test digits (default: all 10,000)")
    parser.add_argument(
        "--not-digits", type=int, default=800, help="pictures per non-digit set (default: 800)"
    )
    parser.add_argument("--seed", type=int, default=2, help="which non-digits (default: 2)")
    args = parser.parse_args()

    model = load_classifier(args.model)
    check = load_digit_check(args.model)
    predict = lambda x: model.predict(x, batch_size=1024, verbose=0)  # noqa: E731
    mnist = load_mnist(args.data)
    chosen = np.random.default_rng(args.seed).permutation(len(mnist.x_test))[: args.digits]
    started = time.perf_counter()
    drawn = np.stack([as_page_drawing(mnist.x_test[i]) for i in chosen]).reshape(-1, INPUT_SIZE)
    probabilities = predict(drawn)
    turned_away = check.not_digits(drawn, probabilities)
    right = probabilities.argmax(axis=1) == mnist.y_test[chosen]
    print(
        f"Check: {check.name}. {len(chosen):,} MNIST test digits drawn as the page sends them "
        f"({time.perf_counter() - started:.0f} s to make): {turned_away.mean():.2%} called 'not a digit'; "
        f"accuracy {right.mean():.4f} on all, {right[~turned_away].mean():.4f} on those answered.\n"
    )
    print("| non-digits (half drawings, half photos) | all | " + " | ".join(CATEGORIES) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in CATEGORIES) + " |")
    reader = DigitReader(model, check)
    for name, make in (("hand-drawn set", drawn_set), ("set made differently", typed_set)):
        pictures = make(args.not_digits, args.seed)
        images, categories, blanks = preprocessed_set(pictures)
        caught = check.not_digits(images, predict(images))
        cells = [f"{caught[categories == c].mean():.2f}" for c in CATEGORIES]
        blank = f" ({blanks} blank, not counted)" if blanks else ""
        print(f"| {name}, {len(images)}{blank}, 28x28s | {caught.mean():.3f} | {' | '.join(cells)} |")
        caught, categories = read_as_image(pictures, reader)
        cells = [f"{caught[categories == c].mean():.2f}" for c in CATEGORIES]
        print(f"| {name}, {len(caught)}, as `--image` reads | {caught.mean():.3f} | {' | '.join(cells)} |")

    one, times = drawn[:1], []
    for _ in range(1000):
        started = time.perf_counter()
        check.not_digits(one, probabilities[:1])
        times.append(time.perf_counter() - started)
    print(f"\nCheck per picture, median of 1000 single calls: {np.median(times) * 1e6:.0f} µs")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
