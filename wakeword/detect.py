"""From per-hop scores to detections, false accepts per hour, recall, and the calibrated threshold.

Scores come one per 80 ms hop. A detection is a hop whose score, averaged over the last
`smoothing_hops` hops, reaches the threshold, at least `refractory_s` after the previous
detection of the same stream (a device that just woke does not wake again). False accepts
per hour = detections on negative audio / its hours. A positive event counts as detected
when a detection falls between its start and `DETECTION_TOLERANCE_S` after its end.
No TensorFlow here.
"""

from __future__ import annotations

import dataclasses

import numpy as np

HOP_S = 0.08
REFRACTORY_S = 2.0
DETECTION_TOLERANCE_S = 1.0  # after the phrase's end, to allow for the window's reach


@dataclasses.dataclass(frozen=True)
class Detector:
    threshold: float
    smoothing_hops: int = 1
    refractory_s: float = REFRACTORY_S


def smooth(scores: np.ndarray, hops: int) -> np.ndarray:
    """Causal mean over the last `hops` scores (fewer at the start of the stream)."""
    scores = np.asarray(scores, np.float64)
    if hops <= 1:
        return scores
    total = np.cumsum(scores)
    shifted = np.concatenate([np.zeros(hops), total[:-hops]])
    counts = np.minimum(np.arange(1, scores.size + 1), hops)
    return (total - shifted[:scores.size]) / counts


def detection_hops(smoothed: np.ndarray, threshold: float, refractory_s: float = REFRACTORY_S
                   ) -> list[int]:
    """Hops where a detection fires on an already smoothed stream."""
    refractory = int(round(refractory_s / HOP_S))
    found, next_allowed = [], 0
    for hop in np.flatnonzero(smoothed >= threshold):
        if hop >= next_allowed:
            found.append(int(hop))
            next_allowed = hop + refractory
    return found


def count_false_accepts(streams: list[np.ndarray], detector: Detector) -> int:
    """Detections on negative streams (per-hop scores of each file)."""
    return sum(len(detection_hops(smooth(s, detector.smoothing_hops), detector.threshold,
                                  detector.refractory_s)) for s in streams)


def hours(streams: list[np.ndarray]) -> float:
    return sum(s.size for s in streams) * HOP_S / 3600.0


def event_peaks(scores: np.ndarray, events: list[tuple[float, float]], smoothing_hops: int
                ) -> np.ndarray:
    """The highest smoothed score of each (start_s, end_s) event's detection span.

    Hop h scores the audio up to `(h + 1) * HOP_S`; an event is detected at a threshold
    when its peak reaches it.
    """
    smoothed = smooth(scores, smoothing_hops)
    times = (np.arange(smoothed.size) + 1) * HOP_S
    peaks = []
    for start, end in events:
        inside = (times >= start) & (times <= end + DETECTION_TOLERANCE_S)
        peaks.append(smoothed[inside].max() if inside.any() else 0.0)
    return np.array(peaks)


def calibrate(streams: list[np.ndarray], target_fa_per_hour: float, smoothing_hops: int,
              refractory_s: float = REFRACTORY_S) -> float:
    """The lowest threshold whose false accepts per hour on `streams` are <= the target.

    Candidates are the smoothed scores themselves (just above each), searched by bisection
    since detections only fall as the threshold rises.
    """
    smoothed = [smooth(s, smoothing_hops) for s in streams]
    allowed = target_fa_per_hour * hours(streams)
    candidates = np.unique(np.concatenate([s[s > 0.01] for s in smoothed] + [np.array([1.0])]))
    candidates = np.nextafter(candidates, 2.0)  # a threshold just above each score
    low, high = 0, candidates.size - 1

    def false_accepts(threshold: float) -> int:
        return sum(len(detection_hops(s, threshold, refractory_s)) for s in smoothed)

    while low < high:
        middle = (low + high) // 2
        if false_accepts(candidates[middle]) <= allowed:
            high = middle
        else:
            low = middle + 1
    return float(candidates[low])


def det_curve(negatives: list[np.ndarray], peaks: np.ndarray, smoothing_hops: int,
              thresholds: np.ndarray, refractory_s: float = REFRACTORY_S
              ) -> tuple[np.ndarray, np.ndarray]:
    """(false-reject rate, false accepts per hour) at each threshold."""
    smoothed = [smooth(s, smoothing_hops) for s in negatives]
    duration = hours(negatives)
    frr, fa = [], []
    for threshold in thresholds:
        frr.append(float(np.mean(peaks < threshold)) if peaks.size else 0.0)
        fa.append(sum(len(detection_hops(s, threshold, refractory_s)) for s in smoothed)
                  / duration)
    return np.array(frr), np.array(fa)


class Trigger:
    """`detection_hops` one score at a time, for a live stream: `update(score)` -> fired?"""

    def __init__(self, detector: Detector):
        self.detector = detector
        self._recent: list[float] = []
        self._refractory = int(round(detector.refractory_s / HOP_S))
        self._hop = -1
        self._next_allowed = 0
        self.smoothed = 0.0

    def update(self, score: float) -> bool:
        self._hop += 1
        self._recent = (self._recent + [float(score)])[-max(1, self.detector.smoothing_hops):]
        self.smoothed = sum(self._recent) / len(self._recent)
        if self.smoothed >= self.detector.threshold and self._hop >= self._next_allowed:
            self._next_allowed = self._hop + self._refractory
            return True
        return False
