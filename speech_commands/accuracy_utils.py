"""Scores streaming detections against a ground-truth list (reference `accuracy_utils`).

Ground truth lines are `label, time_ms` (the output of `generate_streaming_test_wav`). A
detection within `time_tolerance_ms` of a ground-truth word matches it: correctly if the
labels agree and that word was not matched before, wrongly otherwise; a detection near no
word is a false positive. All figures are percentages of the ground-truth words.
"""

from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class AccuracyStats:
    how_many_ground_truth_words: int
    how_many_ground_truth_matched: int
    how_many_false_positives: int
    how_many_correct_words: int
    how_many_wrong_words: int

    def percentages(self) -> tuple[float, float, float, float]:
        """(matched, correct, wrong, false positive) as % of ground-truth words."""
        total = max(self.how_many_ground_truth_words, 1)
        return (100.0 * self.how_many_ground_truth_matched / total,
                100.0 * self.how_many_correct_words / total,
                100.0 * self.how_many_wrong_words / total,
                100.0 * self.how_many_false_positives / total)

    def summary(self) -> str:
        """The reference's one-line summary."""
        if self.how_many_ground_truth_words == 0:
            return f"No ground truth yet, {self.how_many_false_positives} false positives"
        return ("%.1f%% matched, %.1f%% correctly, %.1f%% wrongly, %.1f%% false positives"
                % self.percentages())


def read_ground_truth_file(path: str) -> list[tuple[str, float]]:
    """`label, time_ms` lines -> [(label, time_ms)] sorted by time; other lines are skipped."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ground truth file {path} not found")
    ground_truth = []
    with open(path) as lines:
        for line in lines:
            fields = line.split(",")
            if len(fields) != 2:
                continue
            try:
                ground_truth.append((fields[0].strip(), round(float(fields[1]))))
            except ValueError:
                continue
    ground_truth.sort(key=lambda entry: entry[1])
    return ground_truth


def calculate_accuracy_stats(ground_truth: list[tuple[str, float]],
                             found_words: list[tuple[str, float]], up_to_time_ms: float,
                             time_tolerance_ms: float) -> AccuracyStats:
    """Matches detections to ground truth up to `up_to_time_ms` (-1: the whole stream)."""
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
    return AccuracyStats(how_many_ground_truth_words, len(has_been_matched), false_positives,
                         correct, wrong)
