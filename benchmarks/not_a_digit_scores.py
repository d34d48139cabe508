"""Is this picture a digit at all? How well candidate scores tell, before choosing one.

    python benchmarks/not_a_digit_scores.py --model artifacts/model.keras --data ../shared/mnist

Each score is computed from the model `python model.py` trains and statistics of the
training digits only (no non-digit is used to fit anything):
- top probability: 1 - the highest softmax probability (Hendrycks & Gimpel, 2017);
- energy: minus the log-sum-exp of the logits (Liu et al., 2020);
- Mahalanobis, layer k: distance of hidden layer k's activations to the nearest class
  mean, with one covariance shared by the classes (Lee et al., 2018);
- PCA residual: how far the 28x28 lies from the training digits' 40 main components;
- combined: Fisher's sum of -log(1 - p) of three of them, p each one's percentile among
  training digits.
Each score's threshold turns away --reject (2%) of training digits drawn the way the
page sends them (dark strokes on white, 280x280, then the same preprocessing). Printed:
the share of MNIST test digits, drawn the same way, that it turns away, and the share
of each non-digit category it calls "not a digit", for both generated sets of
tests/not_digits.py (the hand-drawn set, and the set made differently).
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
from not_digits import CATEGORIES, as_page_drawing, drawn_set, preprocessed_set, typed_set  # noqa: E402

from mnist_pipeline.data import INPUT_SIZE, load_mnist, preprocess  # noqa: E402
from mnist_pipeline.saved_model import load_classifier  # noqa: E402

COMPONENTS = 40  # the PCA residual's main components of the training digits


class Scores:
    """Every candidate score of a batch of 28x28s, from training-digit statistics."""

    def __init__(self, model, images: np.ndarray, labels: np.ndarray) -> None:
        self.weights = [layer.get_weights() for layer in model.layers]
        activations = self.layers(images)
        self.classes = []
        for hidden in activations[:-1]:
            means = np.stack([hidden[labels == c].mean(0) for c in range(10)])
            centred = hidden - means[labels]
            covariance = centred.T @ centred / len(hidden) + 1e-3 * np.eye(hidden.shape[1])
            self.classes.append((means, np.linalg.inv(covariance)))
        self.mean = images.mean(0)
        self.components = np.linalg.svd(images[::3] - self.mean, full_matrices=False)[2][:COMPONENTS]
        self.reference: dict[str, np.ndarray] = {}

    def layers(self, images: np.ndarray) -> list[np.ndarray]:
        """Each hidden layer's activations, then the logits (the softmax's input)."""
        outputs, values = [], images
        for i, (kernel, bias) in enumerate(self.weights):
            values = values @ kernel + bias
            if i < len(self.weights) - 1:
                values = np.maximum(values, 0)
            outputs.append(values)
        return outputs

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        activations = self.layers(images)
        logits = activations[-1]
        top = logits.max(1, keepdims=True)
        log_total = np.log(np.exp(logits - top).sum(1)) + top[:, 0]
        scores = {"top probability": 1 - np.exp(top[:, 0] - log_total), "energy": -log_total}
        for k, (hidden, (means, inverse)) in enumerate(zip(activations, self.classes, strict=False), start=1):
            difference = hidden[:, None, :] - means[None]
            distance = np.einsum("nci,ij,ncj->nc", difference, inverse, difference).min(1)
            scores[f"Mahalanobis, layer {k}"] = distance
        centred = images - self.mean
        residual = centred - centred @ self.components.T @ self.components
        scores["PCA residual"] = (residual**2).sum(1)
        if self.reference:
            parts = ("top probability", "Mahalanobis, layer 3", "PCA residual")
            percentiles = [
                np.searchsorted(self.reference[p], scores[p]) / len(self.reference[p]) for p in parts
            ]
            scores["combined"] = -np.log(1 - np.clip(percentiles, 0, 1 - 1e-4)).sum(0)
        return scores


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model.keras")
    parser.add_argument("--data", help="MNIST folder or npz (default: $MNIST_DATA)")
    parser.add_argument(
        "--digits", type=int, default=1000, help="training and test digits each (default: 1000)"
    )
    parser.add_argument(
        "--not-digits", type=int, default=400, help="pictures per non-digit set (default: 400)"
    )
    parser.add_argument(
        "--reject", type=float, default=0.02, help="training digits turned away (default: 0.02)"
    )
    parser.add_argument("--seed", type=int, default=1, help="which digits and non-digits (default: 1)")
    args = parser.parse_args()

    model = load_classifier(args.model)
    mnist = load_mnist(args.data)
    train = preprocess(mnist.x_train).reshape(-1, INPUT_SIZE)
    scores = Scores(model, train, mnist.y_train)
    rng = np.random.default_rng(args.seed)
    chosen_train = rng.choice(len(mnist.x_train), args.digits, replace=False)
    chosen_test = rng.choice(len(mnist.x_test), args.digits, replace=False)
    train_drawn = np.stack([as_page_drawing(mnist.x_train[i]) for i in chosen_train]).reshape(-1, INPUT_SIZE)
    test_drawn = np.stack([as_page_drawing(mnist.x_test[i]) for i in chosen_test]).reshape(-1, INPUT_SIZE)
    scores.reference = {name: np.sort(values) for name, values in scores(train).items()}
    on_train, on_test = scores(train_drawn), scores(test_drawn)
    sets = {}
    for name, make in (("hand-drawn set", drawn_set), ("set made differently", typed_set)):
        images, categories, blanks = preprocessed_set(make(args.not_digits, args.seed))
        sets[name] = (scores(images), categories, blanks)

    print(
        f"Thresholds turn away {args.reject:.0%} of {args.digits} training digits drawn as the page"
        " sends them;"
        f" {args.digits} test digits drawn the same way; {args.not_digits} pictures per non-digit set"
        f" (half drawings, half photos). Share called 'not a digit':\n"
    )
    print(f"| score | test digits | {' | '.join(f'{s}: all' for s in sets)} | lowest category (hand-drawn) |")
    print("| --- | --- | " + " | ".join("---" for _ in sets) + " | --- |")
    for score in on_train:
        threshold = np.quantile(on_train[score], 1 - args.reject)
        cells = [f"{(values[score] > threshold).mean():.2f}" for values, _, _ in sets.values()]
        values, categories, _ = sets["hand-drawn set"]
        lowest = min(CATEGORIES, key=lambda c: (values[score][categories == c] > threshold).mean())
        share = (values[score][categories == lowest] > threshold).mean()
        turned_away = (on_test[score] > threshold).mean()
        print(f"| {score} | {turned_away:.3f} | {' | '.join(cells)} | {lowest} {share:.2f} |")
    for name, (_, _, blank) in sets.items():
        if blank:
            print(f"\n{name}: {blank} pictures had no ink after preprocessing (not counted)")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
