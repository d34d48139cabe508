"""Evaluate the saved MNIST model on the 10,000 test images, or classify your own images.

    python mnist_classification.py                       # after `python model.py`
    python mnist_classification.py --data ../shared/mnist
    python mnist_classification.py --image my_digit.jpg  # no MNIST data needed
    python mnist_classification.py --serve               # http://127.0.0.1:8000: draw a digit

It never trains: it loads `artifacts/model.keras` (Keras' safe mode on), predicts
every test image once, and writes metrics.json and five PNGs to the output folder:
confusion_matrix.png, misclassified.png, roc_curves.png, precision_recall_curves.png,
answered_accuracy.png (what the not-a-digit check costs on real digits).
With --image it turns each picture into an MNIST-style 28x28 digit first and prints
the answer; with --serve it opens a local page where you draw a digit and watch the
network answer. The work itself lives in the `mnist_pipeline` package.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mnist_pipeline.classify import classify_images, image_files, report_images
from mnist_pipeline.cli import OneLineParser, PipelineError, exit_now, port_number, positive_int, run_command
from mnist_pipeline.data import add_data_argument, load_mnist, preprocess
from mnist_pipeline.digit_check import load_digit_check
from mnist_pipeline.files import prepare_output_dir, write_json
from mnist_pipeline.metrics import digit_check_metrics, evaluate, print_report
from mnist_pipeline.plots import (
    plot_answered_accuracy,
    plot_confusion_matrix,
    plot_curves,
    plot_misclassified,
)
from mnist_pipeline.saved_model import MODEL_FILE, load_classifier

OUTPUT_DIR = Path("artifacts")
PREDICT_BATCH = 1000  # inference only: big batches are faster and give the same numbers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(
        "Evaluate the saved MNIST model on the test set and write metrics and plots, "
        "or, with --image, say which digit is in your own pictures."
    )
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / MODEL_FILE, help="the .keras file to load")
    add_data_argument(parser)
    parser.add_argument(
        "--output-dir", type=Path, default=OUTPUT_DIR, help="where to write metrics and plots"
    )
    mine = parser.add_argument_group("your own images (no MNIST data needed)")
    mine.add_argument(
        "--image",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="image files (PNG, JPEG, BMP, GIF, TIFF, ...) or folders of them; prints each one's digit",
    )
    mine.add_argument("--json", action="store_true", help="with --image: print the answers as JSON")
    mine.add_argument(
        "--save-preprocessed",
        type=Path,
        metavar="DIR",
        help="with --image: save the 28x28 input the network saw for each file, as PNG",
    )
    page = parser.add_argument_group("the drawing page (no MNIST data needed)")
    page.add_argument(
        "--serve", action="store_true", help="serve a page where you draw a digit and watch the answer"
    )
    page.add_argument("--host", default="127.0.0.1", help="with --serve: the address to listen on")
    page.add_argument(
        "--port", type=port_number, default=8000, help="with --serve: the port (0: any free one)"
    )
    page.add_argument(
        "--workers", type=positive_int, default=1, help="with --serve: server processes (one per core)"
    )
    args = parser.parse_args(argv)
    if args.image is None and (args.json or args.save_preprocessed):
        parser.error("--json and --save-preprocessed go with --image")
    if args.serve and args.image is not None:
        parser.error("--serve and --image are two ways to use the model; choose one")
    return args


def run(args: argparse.Namespace) -> None:
    if args.serve:
        from mnist_pipeline.serve import serve  # FastAPI and uvicorn load only for --serve

        serve(args.model, args.host, args.port, args.workers)
        return
    if args.image is not None:
        run_images(args)
        return
    output_dir = prepare_output_dir(args.output_dir)
    model = load_classifier(args.model)
    data = load_mnist(args.data)
    images, labels = data.x_test, data.y_test.astype(np.int64)
    pixels = preprocess(images)
    probabilities = model.predict(pixels, batch_size=PREDICT_BATCH, verbose=0)

    metrics = evaluate(probabilities, labels)
    metrics |= {"model": str(args.model), "data_source": data.source}
    check = load_digit_check(args.model)  # "is this a digit at all?": what it costs on real digits
    oddness = check.oddness(pixels, probabilities)
    correct = probabilities.argmax(axis=1) == labels
    metrics["not_a_digit"] = digit_check_metrics(oddness, check.threshold, correct, check.name)
    print_report(metrics)

    write_json(output_dir / "metrics.json", metrics)
    plot_confusion_matrix(metrics, output_dir / "confusion_matrix.png")
    plot_misclassified(images, labels, probabilities, output_dir / "misclassified.png")
    plot_curves(labels, probabilities, metrics, "roc", output_dir / "roc_curves.png")
    plot_curves(labels, probabilities, metrics, "pr", output_dir / "precision_recall_curves.png")
    plot_answered_accuracy(oddness, correct, metrics["not_a_digit"], output_dir / "answered_accuracy.png")
    print(
        f"Wrote metrics.json, confusion_matrix.png, misclassified.png, roc_curves.png, "
        f"precision_recall_curves.png and answered_accuracy.png in {output_dir}/"
    )


def run_images(args: argparse.Namespace) -> None:
    """--image: one answer per file; a file that fails is reported and the rest carry on."""
    save_dir = prepare_output_dir(args.save_preprocessed) if args.save_preprocessed else None
    files = image_files(args.image)
    if not files:
        raise PipelineError(f"no image files in {', '.join(map(str, args.image))}")
    model = load_classifier(args.model)
    results = classify_images(model, files, save_dir, load_digit_check(args.model))
    report_images(results, args.json)
    failed = sum("error" in result for result in results)
    if failed:
        raise PipelineError(f"{failed} of {len(results)} image(s) could not be classified")


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    exit_now(main())
