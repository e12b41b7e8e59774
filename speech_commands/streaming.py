"""Streaming evaluation: a long test recording, per-stride scores, detections, ROC.

`generate` builds the reference's streaming test audio (words from the testing split every
~3 s over background noise); `stream_scores` runs a model every `clip_stride_ms` over the
last clip of audio; `detect` replays those scores through `RecognizeCommands`. Scores are
computed once, so sweeping the detection threshold for an ROC curve costs no inference.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from earshot import progress
from speech_commands import accuracy_utils, input_data, recognize_commands

# Envelope ramps of the reference generator: background segments and words.
BACKGROUND_RAMP_MS = 250
BACKGROUND_EXTRA_MS = 500
WORD_RAMP_SAMPLES = 500


def mix_in_audio_sample(track: np.ndarray, track_offset: int, sample: np.ndarray,
                        sample_offset: int, clip_duration: int, sample_volume: float,
                        ramp_in: int, ramp_out: int) -> None:
    """Adds `sample[sample_offset:][:clip_duration] * volume` into `track` at `track_offset`,
    with linear fades of `ramp_in` / `ramp_out` samples (the reference's envelope)."""
    i = np.arange(clip_duration)
    envelope = np.ones(clip_duration)
    envelope[:ramp_in] = i[:ramp_in] / ramp_in
    tail = i > clip_duration - ramp_out
    envelope[tail] = (clip_duration - i[tail]) / ramp_out
    end = min(len(track), track_offset + clip_duration)
    count = end - track_offset
    if count <= 0:
        return
    segment = sample[sample_offset:sample_offset + count] * envelope[:count] * sample_volume
    track[track_offset:track_offset + len(segment)] += segment


def generate(processor: input_data.AudioProcessor, wanted_words: list[str],
             test_duration_seconds: float, word_gap_ms: int, background_volume: float,
             unknown_percentage: int, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """Streaming test audio and its ground truth.

    Returns:
      (float32 `[duration * rate]` in [-1, 1], [(label, time_ms)]) with `_unknown_` labels
      for words outside `wanted_words`.
    """
    settings = processor.model_settings
    sample_rate, clip_samples = settings["sample_rate"], settings["desired_samples"]
    output = np.zeros(int(test_duration_seconds * sample_rate), np.float64)
    background = processor.background_data
    if background:
        segment = clip_samples + int(BACKGROUND_EXTRA_MS * sample_rate / 1000)
        ramp = int(BACKGROUND_RAMP_MS * sample_rate / 1000)
        for offset in range(0, len(output), clip_samples):
            noise = background[int(rng.integers(len(background)))]
            start = int(rng.integers(0, len(noise) - segment)) if len(noise) > segment else 0
            length = min(segment, len(noise) - start)
            mix_in_audio_sample(output, offset, noise, start, length,
                                rng.uniform(0, background_volume), ramp, ramp)
    clips, labels = processor.get_unprocessed_data(-1, "testing")
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        if label == input_data.SILENCE_LABEL:
            continue
        key = label if label in wanted_words else input_data.UNKNOWN_WORD_LABEL
        by_label.setdefault(key, []).append(index)
    available = [word for word in wanted_words if word in by_label]
    if not available:
        raise ValueError("the testing split has no clips of the wanted words; synthesize more "
                         "speakers or raise --testing_percentage")
    word_stride = int((clip_samples + word_gap_ms * sample_rate / 1000))
    gap_samples = int(word_gap_ms * sample_rate / 1000)
    how_many_words = int(len(output) // word_stride)
    ground_truth = []
    for i in range(how_many_words):
        offset = i * word_stride + int(rng.integers(gap_samples))
        if input_data.UNKNOWN_WORD_LABEL in by_label and rng.integers(100) < unknown_percentage:
            label = input_data.UNKNOWN_WORD_LABEL
        else:
            label = available[int(rng.integers(len(available)))]
        clip = clips[by_label[label][int(rng.integers(len(by_label[label])))]]
        mix_in_audio_sample(output, offset, clip, 0, clip_samples, 1.0, WORD_RAMP_SAMPLES,
                            WORD_RAMP_SAMPLES)
        ground_truth.append((label, offset * 1000 / sample_rate))
    return np.clip(output, -1.0, 1.0).astype(np.float32), ground_truth


def stream_scores(classifier, waveform: np.ndarray, sample_rate: int,
                  clip_stride_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores every clip start `0, stride, ...` while a whole clip fits.

    Returns:
      (times_ms int64 `[n]` of clip starts, scores float32 `[n, labels]`).
    """
    clip_samples = classifier.clip_samples
    stride = max(1, int(clip_stride_ms * sample_rate / 1000))
    if waveform.size <= clip_samples:
        raise ValueError(f"streaming audio of {waveform.size} samples is not longer than one "
                         f"clip ({clip_samples} samples)")
    offsets = range(0, waveform.size - clip_samples, stride)
    scores = np.stack([classifier.scores(waveform[o:o + clip_samples], sample_rate)
                       for o in progress.track(offsets, "scoring the stream")])
    times = np.array([o * 1000 // sample_rate for o in offsets], np.int64)
    return times, scores


@dataclasses.dataclass(frozen=True)
class DetectionSettings:
    average_window_ms: float = 500
    detection_threshold: float = 0.7
    suppression_ms: float = 1500
    minimum_count: int = 3
    time_tolerance_ms: float = 750


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
             settings: DetectionSettings) -> accuracy_utils.AccuracyStats:
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
