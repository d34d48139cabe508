"""Evaluate the saved MNIST model on the 10,000 test images and draw what it got wrong.

    python mnist_classification.py                       # after `python model.py`
    python mnist_classification.py --data ../shared/mnist

It never trains: it loads `artifacts/model.keras` (Keras' safe mode on), predicts
every test image once, and writes metrics.json and four PNGs next to the model:
confusion_matrix.png, misclassified.png, roc_curves.png, precision_recall_curves.png.
Data loading and atomic saving come from model.py.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from model import (
    INPUT_SIZE,
    MODEL_FILE,
    NUM_CLASSES,
    OUTPUT_DIR,
    OneLineParser,
    PipelineError,
    add_data_argument,
    exit_now,
    import_keras,
    load_mnist,
    prepare_output_dir,
    preprocess,
    run_command,
    save_figure,
    write_json,
)

PREDICT_BATCH = 1000  # inference only: big batches are faster and give the same numbers
MISCLASSIFIED_SHOWN = 25  # a 5x5 grid


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------
def load_classifier(path: Path):
    """Load a saved Keras model (safe mode on) and check it maps 784 pixels to 10 classes."""
    if not path.is_file():
        raise PipelineError(f"{path}: no model here; run `python model.py` first to train one")
    if not zipfile.is_zipfile(path):
        raise PipelineError(f"{path}: not a Keras model file (.keras files are zip archives)")
    keras = import_keras()
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - Keras raises many types for a bad archive
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PipelineError(f"{path}: cannot load as a Keras model ({reason[:200]})") from None
    input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
    if input_shape[1:] != (INPUT_SIZE,) or output_shape[1:] != (NUM_CLASSES,):
        raise PipelineError(
            f"{path}: model maps {input_shape[1:]} to {output_shape[1:]}; "
            f"this script needs ({INPUT_SIZE},) pixels in and ({NUM_CLASSES},) class probabilities out"
        )
    return model


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Test metrics from the predicted class probabilities (n, 10)."""
    from sklearn.metrics import (
        average_precision_score,
        classification_report,
        confusion_matrix,
        roc_auc_score,
    )

    keras = import_keras()
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, labels=range(NUM_CLASSES))
    # The model's own compiled loss on the same predictions, as `model.evaluate` computes it.
    loss = float(np.mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities)))
    report = classification_report(
        labels, predicted, labels=range(NUM_CLASSES), output_dict=True, zero_division=0
    )
    one_hot = np.eye(NUM_CLASSES, dtype=bool)[labels]
    per_class = {}
    for digit in range(NUM_CLASSES):
        scores, is_digit = probabilities[:, digit], one_hot[:, digit]
        both_kinds = 0 < is_digit.sum() < len(labels)  # ROC AUC needs positives and negatives
        per_class[str(digit)] = {
            "precision": report[str(digit)]["precision"],
            "recall": report[str(digit)]["recall"],
            "f1": report[str(digit)]["f1-score"],
            "support": int(report[str(digit)]["support"]),
            "roc_auc": float(roc_auc_score(is_digit, scores)) if both_kinds else None,
            "average_precision": float(average_precision_score(is_digit, scores)) if both_kinds else None,
        }
    return {
        "test_loss": loss,
        "test_accuracy": float(np.trace(matrix) / matrix.sum()),
        "n_test": int(matrix.sum()),
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class,
    }


def print_report(metrics: dict, labels: np.ndarray, probabilities: np.ndarray) -> None:
    from sklearn.metrics import classification_report

    print(f"Test loss:     {metrics['test_loss']:.4f}")
    print(f"Test accuracy: {metrics['test_accuracy']:.4f} ({metrics['n_test']:,} images)")
    print()
    print(classification_report(labels, probabilities.argmax(axis=1), digits=4, zero_division=0))


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------
def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(metrics: dict, path: Path) -> None:
    import seaborn as sns

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 6.8))
    sns.heatmap(
        np.array(metrics["confusion_matrix"]),
        annot=True,
        fmt="d",
        cmap="Blues",
        square=True,
        cbar_kws={"label": "Test images", "shrink": 0.8},
        annot_kws={"fontsize": 9},
        ax=axis,
    )
    axis.set_xlabel("Predicted label")
    axis.set_ylabel("True label")
    axis.set_title(f"MNIST test set: accuracy {metrics['test_accuracy']:.2%} ({metrics['n_test']:,} images)")
    axis.tick_params(axis="y", rotation=0)
    save_figure(figure, path)


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, path: Path) -> None:
    """The most confidently wrong predictions, most confident first."""
    plt = pyplot()
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    shown = wrong[np.argsort(-confidence, kind="stable")][:MISCLASSIFIED_SHOWN]
    columns = 5
    rows = max(1, -(-len(shown) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.2 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, shown, strict=False):
        axis.imshow(images[index], cmap="gray_r")
        axis.set_title(
            f"true {labels[index]}, said {predicted[index]}\n"
            f"p = {probabilities[index, predicted[index]]:.2f}",
            fontsize=9,
        )
    title = f"Most confidently wrong test digits ({len(wrong):,} wrong in all)"
    figure.suptitle(title if len(wrong) else "No test digit was misclassified")
    save_figure(figure, path)


def plot_curves(labels: np.ndarray, probabilities: np.ndarray, metrics: dict, kind: str, path: Path) -> None:
    """One-vs-rest ROC (kind='roc') or precision-recall (kind='pr') curve per digit."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 6))
    colors = plt.get_cmap("tab10")
    for digit in range(NUM_CLASSES):
        stats = metrics["per_class"][str(digit)]
        if stats["roc_auc"] is None:
            continue  # a digit absent from the test set has no curve
        is_digit = labels == digit
        if kind == "roc":
            x, y, _ = roc_curve(is_digit, probabilities[:, digit])
            label = f"{digit}  (AUC {stats['roc_auc']:.4f})"
        else:
            y, x, _ = precision_recall_curve(is_digit, probabilities[:, digit])
            label = f"{digit}  (AP {stats['average_precision']:.4f})"
        axis.plot(x, y, color=colors(digit), linewidth=1.2, label=label)
    if kind == "roc":
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        axis.set(
            xlabel="False positive rate",
            ylabel="True positive rate",
            title="ROC curves, one digit vs the rest",
        )
        axis.legend(loc="lower right", fontsize=8)
    else:
        axis.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curves, one digit vs the rest")
        axis.legend(loc="lower left", fontsize=8)
    axis.grid(alpha=0.3)
    save_figure(figure, path)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser("Evaluate the saved MNIST model on the test set and write metrics and plots.")
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / MODEL_FILE, help="the .keras file to load")
    add_data_argument(parser)
    parser.add_argument(
        "--output-dir", type=Path, default=OUTPUT_DIR, help="where to write metrics and plots"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    output_dir = prepare_output_dir(args.output_dir)
    model = load_classifier(args.model)
    data = load_mnist(args.data)
    images, labels = data.x_test, data.y_test.astype(np.int64)
    probabilities = model.predict(preprocess(images), batch_size=PREDICT_BATCH, verbose=0)

    metrics = evaluate(probabilities, labels)
    metrics |= {"model": str(args.model), "data_source": data.source}
    print_report(metrics, labels, probabilities)

    write_json(output_dir / "metrics.json", metrics)
    plot_confusion_matrix(metrics, output_dir / "confusion_matrix.png")
    plot_misclassified(images, labels, probabilities, output_dir / "misclassified.png")
    plot_curves(labels, probabilities, metrics, "roc", output_dir / "roc_curves.png")
    plot_curves(labels, probabilities, metrics, "pr", output_dir / "precision_recall_curves.png")
    print(
        f"Wrote metrics.json, confusion_matrix.png, misclassified.png, roc_curves.png "
        f"and precision_recall_curves.png in {output_dir}/"
    )


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv))


if __name__ == "__main__":
    exit_now(main())
