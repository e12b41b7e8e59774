"""Turns a stream of per-clip scores into discrete command detections.

A model scored every ~30 ms on the last second of audio gives noisy, overlapping answers.
`RecognizeCommands` (the reference's `recognize_commands.{py,cc}`) averages the scores over
a time window, and reports a command only when the average is above a threshold, differs
from the last command, and is far enough from it in time. It is pure Python with no
TensorFlow, so streaming evaluation and live microphone detection share it.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

SILENCE_LABEL = "_silence_"
# The window must be at least this fraction full before a result counts.
MINIMUM_TIME_FRACTION = 4


@dataclasses.dataclass
class RecognizeResult:
    """The averaged top label, its score, and whether it is a newly detected command.

    `RecognizeResult()` is the reference's empty result (`_silence_`, 0, not new); the
    reference passes one to `process_latest_result` to be filled in.
    """

    founded_command: str = SILENCE_LABEL
    score: float = 0.0
    is_new_command: bool = False


class RecognizeCommands:
    """Smooths streaming scores into commands (C++ defaults: 1000 ms, 0.2, 500 ms, 3).

    Args:
      labels: label of each score index, e.g. from `conv_labels.txt`.
      average_window_duration_ms: scores newer than this (relative to the latest) are averaged.
      detection_threshold: minimum averaged score of a new command, 0-1.
      suppression_ms: minimum time after a command before another is reported.
      minimum_count: minimum number of results in the window before anything is reported.
    """

    def __init__(self, labels: list[str], average_window_duration_ms: float = 1000,
                 detection_threshold: float = 0.2, suppression_ms: float = 500,
                 minimum_count: int = 3):
        if not labels:
            raise ValueError("RecognizeCommands needs at least one label")
        self.labels = list(labels)
        self.average_window_duration_ms = average_window_duration_ms
        self.detection_threshold = detection_threshold
        self.suppression_ms = suppression_ms
        self.minimum_count = minimum_count
        self._previous_results: collections.deque[tuple[int, np.ndarray]] = collections.deque()
        self._previous_top_label = SILENCE_LABEL
        self._previous_top_label_time = None

    def process_latest_result(self, latest_results: np.ndarray, current_time_ms: int,
                              recognize_element: RecognizeResult | None = None
                              ) -> RecognizeResult:
        """Adds the scores of the clip starting (or ending) at `current_time_ms`.

        Args:
          latest_results: float `[labels]` scores of one clip.
          recognize_element: the reference's out-argument: filled in with the result, which
            is also returned (a new `RecognizeResult` when None).

        Raises:
          ValueError: wrong number of scores, or time earlier than a result already seen.
        """
        scores = np.asarray(latest_results, np.float64).reshape(-1)
        if scores.size != len(self.labels):
            raise ValueError(f"The results for recognition should contain {len(self.labels)} "
                             f"elements, but there are {scores.size}")
        if self._previous_results and current_time_ms < self._previous_results[0][0]:
            raise ValueError(f"Results must be fed in increasing time order, but received a "
                             f"timestamp of {current_time_ms} that was earlier than the previous "
                             f"one of {self._previous_results[0][0]}")
        self._previous_results.append((current_time_ms, scores))
        time_limit = current_time_ms - self.average_window_duration_ms
        while time_limit > self._previous_results[0][0]:
            self._previous_results.popleft()
        how_many_results = len(self._previous_results)
        earliest_time = self._previous_results[0][0]
        samples_duration = current_time_ms - earliest_time
        if (how_many_results < self.minimum_count or
                samples_duration < self.average_window_duration_ms / MINIMUM_TIME_FRACTION):
            return _fill(recognize_element, self._previous_top_label, 0.0, False)
        average_scores = np.mean([result for _, result in self._previous_results], axis=0)
        current_top_index = int(np.argmax(average_scores))
        current_top_label = self.labels[current_top_index]
        current_top_score = float(average_scores[current_top_index])
        if (self._previous_top_label == SILENCE_LABEL or
                self._previous_top_label_time is None):
            time_since_last_top = float("inf")
        else:
            time_since_last_top = current_time_ms - self._previous_top_label_time
        is_new_command = (current_top_score > self.detection_threshold and
                          current_top_label != self._previous_top_label and
                          time_since_last_top > self.suppression_ms)
        if is_new_command:
            self._previous_top_label = current_top_label
            self._previous_top_label_time = current_time_ms
        return _fill(recognize_element, current_top_label, current_top_score, is_new_command)


def _fill(element: RecognizeResult | None, founded_command: str, score: float,
          is_new_command: bool) -> RecognizeResult:
    element = RecognizeResult() if element is None else element
    element.founded_command, element.score = founded_command, score
    element.is_new_command = is_new_command
    return element
