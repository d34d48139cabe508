"""Train the classic 784-100-50-25-10 MNIST classifier and save it.

    python model.py                          # MNIST via Keras' download (cached)
    python model.py --data ../shared/mnist   # offline: a folder of IDX files or an mnist.npz

The recipe is here: the network and its constants, read top to bottom. The rest
(loading MNIST, the compiled training loop, saving files atomically, plots) lives in
the `mnist_pipeline` package. TensorFlow is imported after the arguments are read,
so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mnist_pipeline.backend import import_keras
from mnist_pipeline.cli import OneLineParser, exit_now, positive_float, positive_int, run_command
from mnist_pipeline.compile_cache import CACHE_ENV, kept_compile_cache
from mnist_pipeline.data import INPUT_SIZE, NUM_CLASSES, add_data_argument, load_mnist
from mnist_pipeline.digit_check import CHECK_FILE, fit_digit_check
from mnist_pipeline.files import prepare_output_dir, write_json
from mnist_pipeline.plots import plot_training_curves
from mnist_pipeline.saved_model import MODEL_FILE, save_model
from mnist_pipeline.training import train, training_record

# The recipe
HIDDEN_UNITS = (100, 50, 25)  # 784-100-50-25-10, 85,085 parameters in all
EPOCHS = 5
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
SEED = 42
OUTPUT_DIR = Path("artifacts")


def build_model(learning_rate: float = LEARNING_RATE):
    """The 784-100-50-25-10 network, compiled with Adam and sparse cross-entropy."""
    keras = import_keras()
    model = keras.Sequential(
        [keras.Input(shape=(INPUT_SIZE,), name="pixels")]
        + [keras.layers.Dense(units, activation="relu") for units in HIDDEN_UNITS]
        + [keras.layers.Dense(NUM_CLASSES, activation="softmax")],
        name="mnist_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser("Train the 784-100-50-25-10 MNIST classifier and save it.")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=EPOCHS, help="passes over the training set")
    parser.add_argument(
        "--batch-size", type=positive_int, default=BATCH_SIZE, help="images per optimizer step"
    )
    parser.add_argument(
        "--learning-rate", type=positive_float, default=LEARNING_RATE, help="Adam's learning rate"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed for weights and shuffling")
    parser.add_argument(
        "--output-dir", type=Path, default=OUTPUT_DIR, help="where to write the model and plots"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--skip-digit-check",
        action="store_true",
        help=f"train the network only: no {CHECK_FILE} (about two minutes on 2 cores), so --image "
        "and the page tell 'not a digit' by the top probability alone",
    )
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help=f"compile the training loop afresh and keep nothing; by default it is kept in "
        f"${CACHE_ENV}, else ~/.cache/mnist-mlp, so a rerun skips compiling",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    output_dir = prepare_output_dir(args.output_dir)
    # The cache is opened before anything imports TensorFlow, which reads its flag once.
    with kept_compile_cache(enabled=not args.no_compile_cache) as compile_cache:
        data = load_mnist(args.data)
        keras = import_keras()
        keras.utils.set_random_seed(args.seed)  # same seed, same initial weights
        model = build_model(args.learning_rate)
        print(
            f"Training {model.count_params():,}-parameter network on {len(data.x_train):,} images "
            f"({args.epochs} epochs, batch {args.batch_size}) from {data.source}"
        )
        started = time.perf_counter()
        history = train(
            model,
            data.x_train,
            data.y_train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            verbose=not args.quiet,
            compile_cache=compile_cache,
        )
        seconds = time.perf_counter() - started

    model_path = output_dir / MODEL_FILE
    save_model(model, model_path)
    settings = {
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "n_train": len(data.x_train),
        "data_source": data.source,
    }
    write_json(output_dir / "history.json", training_record(history, settings, seconds))
    plot_training_curves(history, output_dir / "training_curves.png")
    print(
        f"Trained in {seconds:.1f} s: final training accuracy {history['accuracy'][-1]:.4f}. "
        f"Saved {model_path}, history.json and training_curves.png in {output_dir}/"
    )
    check_path = output_dir / CHECK_FILE
    if args.skip_digit_check:
        check_path.unlink(missing_ok=True)  # one fitted for an earlier model does not fit this one
    else:
        # "Is this a digit at all?": fitted on the same training digits, saved beside the model.
        started = time.perf_counter()
        check = fit_digit_check(model, data.x_train, data.y_train, args.seed)
        check.save(check_path, model_path)
        print(f"Saved {check_path} (the not-a-digit check, fitted in {time.perf_counter() - started:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    exit_now(main())
