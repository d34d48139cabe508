"""Test metrics: computed once from the predicted probabilities, saved, and printed.

The printed report reads the same dictionary that metrics.json holds, so the two
can never disagree.
"""

from __future__ import annotations

import numpy as np

from mnist_pipeline.backend import import_keras
from mnist_pipeline.data import NUM_CLASSES


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


def digit_check_metrics(oddness: np.ndarray, threshold: float, correct: np.ndarray, check: str) -> dict:
    """What the not-a-digit check costs on real digits: the share it turns away, and the
    accuracy on the digits it still answers."""
    answered = oddness <= threshold
    return {
        "check": check,
        "threshold": float(threshold),
        "turned_away": float(1 - answered.mean()),
        "accuracy_answered": float(correct[answered].mean()) if answered.any() else None,
    }


def print_report(metrics: dict) -> None:
    """Loss, accuracy and a per-digit table, all read from `metrics` (what metrics.json holds)."""
    print(f"Test loss:     {metrics['test_loss']:.4f}")
    print(f"Test accuracy: {metrics['test_accuracy']:.4f} ({metrics['n_test']:,} images)")
    print()
    keys = ("precision", "recall", "f1", "roc_auc", "average_precision")
    titles = ("precision", "recall", "f1", "ROC AUC", "avg prec")
    print("digit  " + "  ".join(f"{title:>9}" for title in titles) + "  support")
    for digit, row in metrics["per_class"].items():
        values = "  ".join("      n/a" if row[key] is None else f"{row[key]:9.4f}" for key in keys)
        print(f"{digit:>5}  {values}  {row['support']:7,}")
    if "not_a_digit" in metrics:
        check = metrics["not_a_digit"]
        accuracy = check["accuracy_answered"]
        print(
            f"\nNot-a-digit check ({check['check']}): turns away {check['turned_away']:.2%} of the test "
            f"digits; accuracy on the rest {'n/a' if accuracy is None else f'{accuracy:.4f}'}"
        )
