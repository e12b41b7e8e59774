"""Scores streaming detections against a ground-truth list (reference `accuracy_utils`).

Ground truth lines are `label, time_ms` (the output of `generate_streaming_test_wav`). A
detection within `time_tolerance_ms` of a ground-truth word matches it: correctly if the
labels agree and that word was not matched before, wrongly otherwise; a detection near no
word is a false positive. All figures are percentages of the ground-truth words.
"""

from __future__ import annotations

import dataclasses

from absl import logging

from earshot.errors import InvalidInput, require_file


@dataclasses.dataclass
class StreamingAccuracyStats:
    """How the detections of a stream match its ground truth (counts of words).

    The fields are the C++ `StreamingAccuracyStats`; the methods are the reference's Python
    class, which keeps the ground truth (`read_ground_truth_file`) and recomputes the counts
    from all detections so far (`calculate_accuracy_stats`). `StreamingAccuracyStats()` is
    all zeros.
    """

    how_many_ground_truth_words: int = 0
    how_many_ground_truth_matched: int = 0
    how_many_false_positives: int = 0
    how_many_correct_words: int = 0
    how_many_wrong_words: int = 0
    ground_truth: list[tuple[str, int]] = dataclasses.field(default_factory=list, repr=False,
                                                            compare=False)
    _previous: tuple[int, int, int] = dataclasses.field(default=(0, 0, 0), repr=False,
                                                        compare=False)

    def percentages(self) -> tuple[float, float, float, float]:
        """(matched, correct, wrong, false positive) as % of ground-truth words."""
        total = max(self.how_many_ground_truth_words, 1)
        return (100.0 * self.how_many_ground_truth_matched / total,
                100.0 * self.how_many_correct_words / total,
                100.0 * self.how_many_wrong_words / total,
                100.0 * self.how_many_false_positives / total)

    def summary(self) -> str:
        """The reference's one-line summary (C++ `PrintAccuracyStats`)."""
        if self.how_many_ground_truth_words == 0:
            return f"No ground truth yet, {self.how_many_false_positives} false positives"
        return ("%.1f%% matched, %.1f%% correctly, %.1f%% wrongly, %.1f%% false positives"
                % self.percentages())

    def read_ground_truth_file(self, file_name: str) -> None:
        """Keeps the `label, time_ms` lines of `file_name` as this stream's ground truth."""
        self.ground_truth = read_ground_truth_file(file_name)

    def calculate_accuracy_stats(self, found_words: list[tuple[str, float]],
                                 up_to_time_ms: float, time_tolerance_ms: float) -> None:
        """Recounts the fields for all detections so far against the kept ground truth."""
        counts = calculate_accuracy_stats(self.ground_truth, found_words, up_to_time_ms,
                                          time_tolerance_ms)
        for field in COUNT_FIELDS:
            setattr(self, field, getattr(counts, field))

    def delta(self) -> str:
        """What the latest detection was, from the counts' change since the last call:
        `(False Positive)`, `(Correct)` or `(Wrong)`.

        Raises:
          ValueError: the counts did not change by exactly one detection.
        """
        now = (self.how_many_false_positives, self.how_many_correct_words,
               self.how_many_wrong_words)
        change = tuple(n - p for n, p in zip(now, self._previous))
        states = {(1, 0, 0): "(False Positive)", (0, 1, 0): "(Correct)", (0, 0, 1): "(Wrong)"}
        if change not in states:
            raise ValueError(f"Unexpected state in statistics: {change}")
        self._previous = now
        return states[change]

    def print_accuracy_stats(self) -> None:
        """Logs `summary()` (the reference writes it to the log too)."""
        logging.info("%s", self.summary())


# The counted fields, in the C++ struct's order.
COUNT_FIELDS = ("how_many_ground_truth_words", "how_many_ground_truth_matched",
                "how_many_false_positives", "how_many_correct_words", "how_many_wrong_words")


def read_ground_truth_file(path: str) -> list[tuple[str, float]]:
    """`label, time_ms` lines -> [(label, time_ms)] sorted by time; other lines are skipped.

    Raises:
      InvalidInput: not a text file, or not one `label, time_ms` line in it (a stream's
        accuracy against no words means nothing).
    """
    require_file(path, "ground truth file")
    ground_truth = []
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                fields = line.split(",")
                if len(fields) != 2:
                    continue
                try:
                    ground_truth.append((fields[0].strip(), round(float(fields[1]))))
                except ValueError:
                    continue
    except UnicodeDecodeError as error:
        raise InvalidInput(f"ground truth file {path} is not a text file ({error})") from error
    if not ground_truth:
        raise InvalidInput(f"ground truth file {path} is not a ground truth: no `label, "
                           "time_ms` line in it")
    ground_truth.sort(key=lambda entry: entry[1])
    return ground_truth


def calculate_accuracy_stats(ground_truth: list[tuple[str, float]],
                             found_words: list[tuple[str, float]], up_to_time_ms: float,
                             time_tolerance_ms: float) -> StreamingAccuracyStats:
    """Matches detections to ground truth up to `up_to_time_ms` (-1: the whole stream).

    The C++ `CalculateAccuracyStats`, returning the stats. A ground-truth word matched by
    several detections counts once in `how_many_ground_truth_matched` (the C++ keeps a set;
    the reference's Python class appends to a list and counts it each time).
    """
    if up_to_time_ms == -1:
        latest_possible_time = float("inf")
    else:
        latest_possible_time = up_to_time_ms + time_tolerance_ms
    how_many_ground_truth_words = sum(1 for _, time in ground_truth
                                      if time <= latest_possible_time)
    has_been_matched = set()
    correct = wrong = false_positives = 0
    for found_label, found_time in found_words:
        earliest_time = found_time - time_tolerance_ms
        latest_time = found_time + time_tolerance_ms
        has_match_been_found = False
        for truth_label, truth_time in ground_truth:
            if truth_time > latest_time or truth_time > latest_possible_time:
                break
            if truth_time < earliest_time:
                continue
            if found_label == truth_label and truth_time not in has_been_matched:
                correct += 1
            else:
                wrong += 1
            has_been_matched.add(truth_time)
            has_match_been_found = True
            break
        if not has_match_been_found:
            false_positives += 1
    return StreamingAccuracyStats(how_many_ground_truth_words, len(has_been_matched),
                                  false_positives, correct, wrong)
