"""Training speed: the plain-Keras recipe against model.py's `train`, side by side in one process.

    python benchmarks/train_speed.py --data ../shared/mnist --repeats 3

Both get the same arrays, already in memory; runs alternate (plain, project, plain, ...)
so that a busy machine slows both alike. "Plain" is the way most tutorials write it:
Sequential 784-100-50-25-10, `fit(x / 255.0, y, epochs=5, batch_size=32,
validation_data=test set)` on float64 arrays. "Project" is `mnist_pipeline.training.train`, the code
`python model.py` runs, given the uint8 images as loaded, without the compile cache: each
run here compiles its training loop, as `python model.py` does on its first run
(process_speed.py measures reruns). Seconds are wall time of the training call alone
(fit, or train); the table gives medians and each side's test accuracies.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import model as recipe  # the project's model.py (the recipe), found from the line above
from mnist_pipeline.backend import device_name, import_keras
from mnist_pipeline.data import load_mnist, preprocess
from mnist_pipeline.training import train


def plain_keras_fit(keras, data, seed: int) -> tuple[float, float]:
    """The recipe as tutorials write it; returns (fit seconds, test accuracy)."""
    from plain_recipe import plain_model  # imported only now: after model.py has set up TensorFlow

    x_train = data.x_train.reshape(-1, 784) / 255.0  # float64, as `/ 255.0` gives
    x_test = data.x_test.reshape(-1, 784) / 255.0
    keras.utils.set_random_seed(seed)
    model = plain_model()
    started = time.perf_counter()
    model.fit(
        x_train, data.y_train, epochs=5, batch_size=32, validation_data=(x_test, data.y_test), verbose=0
    )
    seconds = time.perf_counter() - started
    return seconds, model.evaluate(x_test, data.y_test, batch_size=1000, verbose=0)[1]


def project_train(keras, data, seed: int) -> tuple[float, float]:
    """model.py's training on the same data; returns (train seconds, test accuracy)."""
    keras.utils.set_random_seed(seed)
    model = recipe.build_model()
    started = time.perf_counter()
    train(model, data.x_train, data.y_train, recipe.EPOCHS, recipe.BATCH_SIZE, seed, verbose=False)
    seconds = time.perf_counter() - started
    return seconds, model.evaluate(preprocess(data.x_test), data.y_test, batch_size=1000, verbose=0)[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="MNIST folder or npz (default: $MNIST_DATA, else Keras' download)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default: 3)")
    args = parser.parse_args()

    data = load_mnist(args.data)
    keras = import_keras()
    runs: dict[str, list[tuple[float, float]]] = {"plain Keras fit": [], "project train": []}
    for repeat in range(args.repeats):
        for name, method in (("plain Keras fit", plain_keras_fit), ("project train", project_train)):
            seconds, accuracy = method(keras, data, seed=repeat)
            runs[name].append((seconds, accuracy))
            print(
                f"  run {repeat + 1}/{args.repeats} {name:<16} {seconds:6.2f} s  accuracy {accuracy:.4f}",
                flush=True,
            )

    medians = {name: statistics.median(s for s, _ in results) for name, results in runs.items()}
    plain = medians["plain Keras fit"]
    print()
    print(f"| training | seconds (median of {args.repeats}) | speed-up | test accuracies |")
    print("| --- | --- | --- | --- |")
    for name, results in runs.items():
        accuracies = ", ".join(f"{a:.4f}" for _, a in results)
        print(f"| {name} | {medians[name]:.2f} | {plain / medians[name]:.1f}x | {accuracies} |")
    print()
    print(
        f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, {device_name()}, "
        f"TensorFlow {sys.modules['tensorflow'].__version__}, Keras {keras.__version__}"
    )


if __name__ == "__main__":
    main()
