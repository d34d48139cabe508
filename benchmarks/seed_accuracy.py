"""Test accuracy of `python model.py`'s training over several seeds (README's results table).

    python benchmarks/seed_accuracy.py --data ../shared/mnist --seeds 0 1 2 3 4

Each seed trains the default recipe (all 60,000 images, 5 epochs, batch 32, Adam 1e-3)
with the project's own `train` (the code `python model.py` runs), then evaluates once
on the 10,000 test images.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import model as recipe  # the project's model.py (the recipe), found from the line above
from mnist_pipeline.backend import device_name, import_keras
from mnist_pipeline.data import load_mnist, preprocess
from mnist_pipeline.training import train


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="MNIST folder or npz (default: $MNIST_DATA, else Keras' download)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()

    data = load_mnist(args.data)
    x_test = preprocess(data.x_test)
    keras = import_keras()
    accuracies = []
    print(f"{'seed':>4}  {'test accuracy':>13}  {'test loss':>9}")
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        model = recipe.build_model()
        train(model, data.x_train, data.y_train, recipe.EPOCHS, recipe.BATCH_SIZE, seed, verbose=False)
        loss, accuracy = model.evaluate(x_test, data.y_test, batch_size=1000, verbose=0)
        accuracies.append(accuracy)
        print(f"{seed:>4}  {accuracy:>13.4f}  {loss:>9.4f}", flush=True)
    mean, std = np.mean(accuracies), np.std(accuracies, ddof=1) if len(accuracies) > 1 else 0.0
    print(f"mean ± std over {len(accuracies)} seeds: {mean:.4f} ± {std:.4f} (min {min(accuracies):.4f})")
    print(f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, {device_name()}")


if __name__ == "__main__":
    main()
