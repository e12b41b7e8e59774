"""Calibration audio for int8 quantization: the activation ranges VGGish needs to cover."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from earshot import audio
from vggish import features, params

SECONDS_PER_SIGNAL = 8.0


def synthetic_audio(seed: int = 0) -> list[np.ndarray]:
    """Signals that span VGGish's input range: float32 16 kHz waveforms of 8 s each.

    White noise at two levels, a tone, a chord, a chirp, and near-silence: log-mel values
    from about -4.6 (silence) to the level of full-scale noise.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECONDS_PER_SIGNAL * params.SAMPLE_RATE)) / params.SAMPLE_RATE
    signals = [
        rng.uniform(-0.8, 0.8, t.size),
        0.01 * rng.standard_normal(t.size),
        0.5 * np.sin(2 * np.pi * 440 * t),
        sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220, 554, 1318, 3520)),
        0.4 * np.sin(2 * np.pi * (100 + 450 * t) * t),
        1e-4 * rng.standard_normal(t.size),
    ]
    return [np.clip(signal, -1, 1).astype(np.float32) for signal in signals]


def examples(paths: Sequence[str] = ()) -> np.ndarray:
    """Log-mel examples float32 `[N, 96, 64]` of the synthetic signals and of `paths`."""
    waveforms = synthetic_audio()
    for path in paths:
        waveforms.append(audio.load(path, params.SAMPLE_RATE))
        features.check_length(waveforms[-1].size, path)  # an error naming the file
    return np.concatenate([features.waveform_to_examples(waveform, params.SAMPLE_RATE)
                           for waveform in waveforms])


def for_quantization(quantization: str, calibration_audio: str) -> np.ndarray | None:
    """Calibration examples if `quantization` is "int8" (static ranges), else None.

    `calibration_audio` is the CLIs' comma-separated list of extra audio files.
    """
    if quantization != "int8":
        return None
    return examples([path for path in calibration_audio.split(",") if path])
