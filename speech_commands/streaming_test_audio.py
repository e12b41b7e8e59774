"""The streaming test recording: words of the testing split over background noise.

`generate` builds the reference's streaming test audio (`generate_streaming_test_wav`): one
word every `1 s + word_gap_ms` (randomly placed in the gap) over background noise, with its
ground truth. `detection` scores a model on it.
"""

from __future__ import annotations

import numpy as np

from earshot.errors import UserError
from speech_commands import batches, dataset

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


def generate(source: batches.BatchSource, wanted_words: tuple[str, ...],
             test_duration_seconds: float, word_gap_ms: int, background_volume: float,
             unknown_percentage: int, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """Streaming test audio and its ground truth.

    Args:
      source: the dataset; words come from its testing split, noise from its background.

    Returns:
      (float32 `[duration * rate]` in [-1, 1], [(label, time_ms)]) with `_unknown_` labels
      for words outside `wanted_words`.
    """
    settings = source.model_settings
    sample_rate, clip_samples = settings.sample_rate, settings.desired_samples
    output = np.zeros(int(test_duration_seconds * sample_rate), np.float64)
    background = source.background_data
    if background:
        segment = clip_samples + int(BACKGROUND_EXTRA_MS * sample_rate / 1000)
        ramp = int(BACKGROUND_RAMP_MS * sample_rate / 1000)
        for offset in range(0, len(output), clip_samples):
            noise = background[int(rng.integers(len(background)))]
            start = int(rng.integers(0, len(noise) - segment)) if len(noise) > segment else 0
            length = min(segment, len(noise) - start)
            mix_in_audio_sample(output, offset, noise, start, length,
                                rng.uniform(0, background_volume), ramp, ramp)
    clips, labels = source.unprocessed("testing")
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        if label == dataset.SILENCE_LABEL:
            continue
        key = label if label in wanted_words else dataset.UNKNOWN_WORD_LABEL
        by_label.setdefault(key, []).append(index)
    available = [word for word in wanted_words if word in by_label]
    if not available:
        raise UserError("the testing split has no clips of the wanted words; synthesize more "
                         "speakers or raise --testing_percentage")
    word_stride = int((clip_samples + word_gap_ms * sample_rate / 1000))
    gap_samples = int(word_gap_ms * sample_rate / 1000)
    how_many_words = int(len(output) // word_stride)
    ground_truth = []
    for i in range(how_many_words):
        offset = i * word_stride + int(rng.integers(gap_samples))
        if dataset.UNKNOWN_WORD_LABEL in by_label and rng.integers(100) < unknown_percentage:
            label = dataset.UNKNOWN_WORD_LABEL
        else:
            label = available[int(rng.integers(len(available)))]
        clip = clips[by_label[label][int(rng.integers(len(by_label[label])))]]
        mix_in_audio_sample(output, offset, clip, 0, clip_samples, 1.0, WORD_RAMP_SAMPLES,
                            WORD_RAMP_SAMPLES)
        ground_truth.append((label, offset * 1000 / sample_rate))
    return np.clip(output, -1.0, 1.0).astype(np.float32), ground_truth
