"""Verification metrics of the Deep Speaker evaluation: EER and the best-F operating point.

Scores are cosine similarities; a pair is declared "same speaker" when its score is above
the threshold. Thresholds are swept on a 0.001 grid as in the reference evaluation, but over
[-1, 1] rather than [0, 1] because an untrained network gives negative cosines too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

THRESHOLDS = np.arange(-1000, 1000) / 1000


@dataclasses.dataclass(frozen=True)
class Verification:
    """Figures of one score set.

    Attributes:
      eer: equal error rate, (FAR + FRR) / 2 where |FAR - FRR| is smallest.
      eer_threshold: the threshold where that happens.
      f_measure, accuracy, tpr, far: at `f_threshold`, the threshold of the best F-measure.
        Accuracy is dominated by the negatives (99 of 100 in the reference protocol).
    """

    eer: float
    eer_threshold: float
    f_measure: float
    accuracy: float
    tpr: float
    far: float
    f_threshold: float


def rates(scores: np.ndarray, labels: np.ndarray, thresholds: np.ndarray = THRESHOLDS):
    """(true positive rate, false accept rate) at each threshold, float64 `[len(thresholds)]`.

    Args:
      scores: float `[n]` similarities. labels: bool-like `[n]`, 1 for same-speaker pairs.
    """
    scores, labels = np.ravel(scores), np.ravel(labels).astype(bool)
    if labels.all() or not labels.any():
        raise ValueError("scores need both same-speaker and different-speaker pairs")
    accepted = scores[None, :] > thresholds[:, None]
    tpr = (accepted & labels).sum(axis=1) / labels.sum()
    far = (accepted & ~labels).sum(axis=1) / (~labels).sum()
    return tpr, far


def verification(scores: np.ndarray, labels: np.ndarray) -> Verification:
    scores, labels = np.ravel(scores), np.ravel(labels).astype(bool)
    tpr, far = rates(scores, labels)
    frr = 1.0 - tpr
    at_eer = int(np.argmin(np.abs(frr - far)))
    true_pos = tpr * labels.sum()
    false_pos = far * (~labels).sum()
    precision = np.divide(true_pos, true_pos + false_pos, out=np.zeros_like(true_pos),
                          where=(true_pos + false_pos) > 0)
    f_measure = np.divide(2 * precision * tpr, precision + tpr, out=np.zeros_like(tpr),
                          where=(precision + tpr) > 0)
    best = int(np.argmax(f_measure))
    accuracy = (true_pos[best] + (~labels).sum() - false_pos[best]) / labels.size
    return Verification(
        eer=float((frr[at_eer] + far[at_eer]) / 2), eer_threshold=float(THRESHOLDS[at_eer]),
        f_measure=float(f_measure[best]), accuracy=float(accuracy), tpr=float(tpr[best]),
        far=float(far[best]), f_threshold=float(THRESHOLDS[best]))
