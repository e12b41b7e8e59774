"""PNG figures: confusion matrices, ROC curves of streaming detection. Written atomically."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from earshot import fileio  # noqa: E402


def _save(figure, path: str) -> None:
    with fileio.atomic_file(path) as staging:
        figure.savefig(staging, dpi=100, bbox_inches="tight")
    plt.close(figure)


def confusion_matrix(matrix: np.ndarray, labels: list[str], title: str, path: str) -> None:
    """Counts with rows = true label, columns = predicted label, as the training log prints."""
    size = len(labels)
    figure, axes = plt.subplots(figsize=(1.0 + 0.6 * size, 0.8 + 0.6 * size))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(size), labels, rotation=60, ha="right")
    axes.set_yticks(range(size), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(column, row, str(count), ha="center", va="center", fontsize=7,
                      color="white" if count > threshold else "black")
    _save(figure, path)


def roc_curve(thresholds: np.ndarray, true_positive_rate: np.ndarray,
              false_positives_per_hour: np.ndarray, title: str, path: str) -> None:
    """Detection rate against false alarms per hour, one point per detection threshold."""
    figure, axes = plt.subplots(figsize=(6, 4.5))
    axes.plot(false_positives_per_hour, true_positive_rate * 100, marker="o", markersize=3)
    for threshold, x, y in zip(thresholds, false_positives_per_hour, true_positive_rate):
        axes.annotate(f"{threshold:.2f}", (x, y * 100), fontsize=6, xytext=(3, 3),
                      textcoords="offset points")
    axes.set_xlabel("false positives per hour")
    axes.set_ylabel("correctly detected words (%)")
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.set_title(title, fontsize=9)
    _save(figure, path)
