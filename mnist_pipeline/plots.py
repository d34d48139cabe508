"""Every PNG the scripts write: training curves, confusion matrix, misclassified
digits, ROC and precision-recall curves. matplotlib draws to files only (Agg), and
each file is written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_pipeline.data import NUM_CLASSES
from mnist_pipeline.files import atomic_path

MISCLASSIFIED_SHOWN = 25  # a 5x5 grid


def pyplot():
    """matplotlib's pyplot, drawing to files only (never a window)."""
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
    """The most confidently wrong predictions, most confident first, five to a row.

    The digits are pasted into one picture with room for a caption above each, and
    drawn on a single axis: 25 separate axes took several times as long to draw.
    """
    plt = pyplot()
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    shown = wrong[np.argsort(-confidence, kind="stable")][:MISCLASSIFIED_SHOWN]
    columns, side = 5, images.shape[1]
    rows = max(1, -(-len(shown) // columns))
    cell_width, cell_height = side + 4, side + 10  # a margin between digits, a caption above each
    mosaic = np.zeros((rows * cell_height, columns * cell_width), dtype=images.dtype)
    width = 1.9 * columns
    figure = plt.figure(figsize=(width, width * mosaic.shape[0] / mosaic.shape[1] + 0.4))
    axis = figure.add_axes((0, 0, 1, 1 - 0.4 / figure.get_figheight()))  # the title above it
    for i, index in enumerate(shown):
        top, left = (i // columns) * cell_height + cell_height - side, (i % columns) * cell_width + 2
        mosaic[top : top + side, left : left + side] = images[index]
        axis.text(
            left + side / 2,
            top - 1,
            f"true {labels[index]}, said {predicted[index]}\n"
            f"p = {probabilities[index, predicted[index]]:.2f}",
            ha="center",
            va="bottom",
            fontsize=9,
        )
    axis.imshow(mosaic, cmap="gray_r", interpolation="nearest")
    axis.axis("off")
    title = f"Most confidently wrong test digits ({len(wrong):,} wrong in all)"
    figure.suptitle(title if len(wrong) else "No test digit was misclassified", y=0.995)
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


def save_figure(figure, path: Path) -> None:
    """Save a matplotlib figure atomically as PNG, then free it."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(figure)


def plot_training_curves(history: dict[str, list[float]], path: Path) -> None:
    """Training loss and accuracy per epoch, side by side."""
    plt = pyplot()
    epochs = range(1, len(history["loss"]) + 1)
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    loss_axis.plot(epochs, history["loss"], marker="o")
    loss_axis.set(title="Training loss", xlabel="Epoch", ylabel="Sparse categorical cross-entropy")
    accuracy_axis.plot(epochs, history["accuracy"], marker="o", color="tab:green")
    accuracy_axis.set(title="Training accuracy", xlabel="Epoch", ylabel="Accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.set_xticks(list(epochs))
        axis.grid(alpha=0.3)
    figure.suptitle("Means over each epoch's training batches (the test set is not used)", fontsize=9)
    save_figure(figure, path)


def plot_answered_accuracy(oddness: np.ndarray, correct: np.ndarray, check: dict, path: Path) -> None:
    """Accuracy on the test digits the not-a-digit check answers, against the share it
    answers, as its threshold moves; the chosen threshold marked."""
    plt = pyplot()
    order = np.argsort(oddness, kind="stable")  # least odd first: answered first
    answered = np.arange(1, len(order) + 1) / len(order)
    accuracy = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.plot(answered * 100, accuracy * 100, linewidth=1.5)
    chosen_share, chosen_accuracy = 1 - check["turned_away"], check["accuracy_answered"]
    if chosen_accuracy is not None:
        axis.plot(chosen_share * 100, chosen_accuracy * 100, "o", color="tab:red")
        axis.annotate(
            f"chosen: {chosen_share:.1%} answered, {chosen_accuracy:.2%} right",
            (chosen_share * 100, chosen_accuracy * 100),
            xytext=(-12, 14),
            textcoords="offset points",
            ha="right",
            arrowprops={"arrowstyle": "-", "color": "tab:red"},
        )
    axis.set(
        xlabel="Test digits answered (%): the rest are called 'not a digit'",
        ylabel="Accuracy on those answered (%)",
        title=f"Not-a-digit check ({check['check']}) as its threshold moves",
        xlim=(50, 100.5),
        ylim=(min(accuracy[-1], chosen_accuracy or 1) * 100 - 0.3, 100.05),  # all answered, at the bottom
    )
    axis.grid(alpha=0.3)
    save_figure(figure, path)
