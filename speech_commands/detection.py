"""Streaming detection and its scores: sliding-window scores, detections, accuracy, ROC.

`sliding_window_scores` runs a clip model every `clip_stride_ms` over the last clip of audio
(as the reference's `test_streaming_accuracy`); `detect` replays scores through
`RecognizeCommands`. Scores are computed once, so sweeping the detection threshold for an ROC
curve costs no inference. No TensorFlow: the model is whatever `classifier.Classifier` runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from earshot import progress
from earshot.errors import UserError
from speech_commands import accuracy_utils, recognize_commands


def sliding_window_scores(classifier, waveform: np.ndarray, sample_rate: int,
                  clip_stride_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores every clip start `0, stride, ...` while a whole clip fits.

    Returns:
      (times_ms int64 `[n]` of clip starts, scores float32 `[n, labels]`).
    """
    clip_samples = classifier.clip_samples
    stride = max(1, int(clip_stride_ms * sample_rate / 1000))
    if waveform.size <= clip_samples:
        raise UserError(f"streaming audio of {waveform.size} samples is not longer than one "
                         f"clip ({clip_samples} samples)")
    offsets = range(0, waveform.size - clip_samples, stride)
    scores = np.stack([classifier.scores(waveform[o:o + clip_samples], sample_rate)
                       for o in progress.track(offsets, "scoring the stream")])
    times = np.array([o * 1000 // sample_rate for o in offsets], np.int64)
    return times, scores


@dataclasses.dataclass(frozen=True)
class DetectionSettings:
    """How scores become detections, and how detections are matched to the ground truth.

    The defaults are the reference's `test_streaming_accuracy` flags, and the defaults of every
    tool here that detects (`listen`, `streaming_accuracy`, the demo): they read them from
    `DEFAULTS`.

    Attributes:
      average_window_ms: scores are averaged over this long.
      detection_threshold: the averaged score a command needs.
      suppression_ms: no new command for this long after one.
      minimum_count: scores a window needs before it is trusted.
      time_tolerance_ms: the largest gap between a detection and the word it matches.
    """

    average_window_ms: float = 500
    detection_threshold: float = 0.7
    suppression_ms: float = 1500
    minimum_count: int = 3
    time_tolerance_ms: float = 750


DEFAULTS = DetectionSettings()


def detect(labels: list[str], times: np.ndarray, scores: np.ndarray,
           settings: DetectionSettings) -> list[tuple[str, int, float]]:
    """New non-silence commands as [(label, time_ms, score)]."""
    recognizer = recognize_commands.RecognizeCommands(
        labels, settings.average_window_ms, settings.detection_threshold,
        settings.suppression_ms, settings.minimum_count)
    found = []
    for time_ms, result_scores in zip(times, scores):
        result = recognizer.process_latest_result(result_scores, int(time_ms))
        if result.is_new_command and result.founded_command != recognize_commands.SILENCE_LABEL:
            found.append((result.founded_command, int(time_ms), result.score))
    return found


def evaluate(labels: list[str], times: np.ndarray, scores: np.ndarray,
             ground_truth: list[tuple[str, float]],
             settings: DetectionSettings) -> accuracy_utils.StreamingAccuracyStats:
    found = [(label, time) for label, time, _ in detect(labels, times, scores, settings)]
    return accuracy_utils.calculate_accuracy_stats(ground_truth, found, -1,
                                                   settings.time_tolerance_ms)


def roc(labels: list[str], times: np.ndarray, scores: np.ndarray,
        ground_truth: list[tuple[str, float]], settings: DetectionSettings,
        thresholds: np.ndarray, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(correct-word rate, false positives per hour) for each detection threshold."""
    rates, false_per_hour = [], []
    for threshold in thresholds:
        stats = evaluate(labels, times, scores, ground_truth,
                         dataclasses.replace(settings, detection_threshold=float(threshold)))
        rates.append(stats.how_many_correct_words / max(stats.how_many_ground_truth_words, 1))
        false_per_hour.append(stats.how_many_false_positives * 3600.0 / duration_s)
    return np.array(rates), np.array(false_per_hour)
