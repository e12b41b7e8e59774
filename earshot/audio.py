"""Audio input for every earshot package: files or arrays -> float32 mono at a requested rate.

All models in this project take float32 waveforms in [-1, 1]. This module is the single
place where files are decoded, channels are mixed down, and sample rates are converted, so
that each model sees the same numbers for the same audio whatever route it came by.
"""

from __future__ import annotations

import os
from typing import Union

import numpy as np
import soundfile
import soxr

from earshot import fileio

AudioSource = Union[str, os.PathLike, np.ndarray]

# Containers libsndfile decodes; checked up front so the error names the format, not libsndfile.
SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3")
# Subtypes whose samples are stored as given, so a value outside [-1, 1] is a real error.
STORED_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


class AudioError(ValueError):
    """Audio that cannot be turned into a valid waveform; the message names the source and problem."""


def read_file(path: Union[str, os.PathLike]) -> tuple[np.ndarray, int]:
    """Decodes a WAV, FLAC, OGG or MP3 file.

    Integer PCM is scaled to [-1, 1) by 1 / 2**(bits - 1) (so int16 by 1/32768, as the
    reference pipelines do); float WAV/FLAC samples are returned as stored; lossy formats are
    clipped to [-1, 1].

    Returns:
      (samples, sample_rate): float32 `[num_samples, num_channels]` and the rate in Hz.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(f"{path}: no such file")
    if os.path.isdir(path):
        raise AudioError(f"{path}: is a directory, not an audio file")
    try:
        with soundfile.SoundFile(path) as sound:
            samples = sound.read(dtype="float32", always_2d=True)
            sample_rate, subtype = sound.samplerate, sound.subtype
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(
            f"{path}: cannot decode as audio ({error}); expected one of "
            f"{', '.join(SUPPORTED_EXTENSIONS)}") from error
    if subtype not in STORED_FLOAT_SUBTYPES:
        # Lossy decoders (MP3, Vorbis, Opus) overshoot full scale slightly; that is not bad input.
        samples = np.clip(samples, -1.0, 1.0)
    return samples, int(sample_rate)


def to_mono(samples: np.ndarray, channel_axis: int = -1) -> np.ndarray:
    """Mixes channels down by their mean; a 1-D array is returned unchanged."""
    samples = np.asarray(samples)
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise AudioError(f"expected audio of rank 1 or 2, got shape {samples.shape}")
    return samples.mean(axis=channel_axis)


def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Converts a mono float32 waveform between sample rates with soxr (VHQ)."""
    if from_rate <= 0 or to_rate <= 0:
        raise AudioError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    if from_rate == to_rate:
        return waveform
    return soxr.resample(waveform, from_rate, to_rate, quality="VHQ").astype(np.float32)


def check_waveform(waveform: np.ndarray, name: str = "audio") -> np.ndarray:
    """Validates a mono waveform and returns it as float32.

    Raises:
      AudioError: empty, not finite, or outside [-1, 1] (the usual sign of unscaled int16).
    """
    waveform = np.asarray(waveform)
    if waveform.ndim != 1:
        raise AudioError(f"{name}: expected a 1-D waveform, got shape {waveform.shape}")
    if waveform.size == 0:
        raise AudioError(f"{name}: zero samples")
    if np.issubdtype(waveform.dtype, np.integer):
        raise AudioError(
            f"{name}: integer samples ({waveform.dtype}); scale to float in [-1, 1] first, "
            "e.g. int16 / 32768")
    waveform = waveform.astype(np.float32, copy=False)
    bad = ~np.isfinite(waveform)
    if bad.any():
        raise AudioError(
            f"{name}: {int(bad.sum())} NaN or Inf samples, first at index {int(np.argmax(bad))}")
    peak = float(np.max(np.abs(waveform)))
    if peak > 1.0:
        raise AudioError(
            f"{name}: samples outside [-1, 1] (peak {peak:.4g}); float audio must be scaled "
            "to [-1, 1]")
    return waveform


def load(source: AudioSource, sample_rate: int, source_rate: int | None = None) -> np.ndarray:
    """Any supported audio -> validated float32 mono waveform at `sample_rate` Hz.

    Args:
      source: a file path, or a waveform: 1-D `[samples]`, or 2-D `[samples, channels]`.
      sample_rate: the rate the caller's model needs, in Hz.
      source_rate: the rate of an array `source`, in Hz (default `sample_rate`); ignored for
        files, whose header gives it.

    Returns:
      float32 `[num_samples]` in [-1, 1].
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        samples, source_rate = read_file(source)
    else:
        name = "audio array"
        samples = np.asarray(source)
        source_rate = sample_rate if source_rate is None else source_rate
    waveform = check_waveform(to_mono(samples), name)
    # Resampling can ring a hair past full scale; clipping keeps the [-1, 1] contract.
    return np.clip(resample(waveform, source_rate, sample_rate), -1.0, 1.0)


def write_wav(path: Union[str, os.PathLike], waveform: np.ndarray, sample_rate: int) -> None:
    """Writes a float waveform in [-1, 1] as 16-bit PCM WAV (the Speech Commands format), atomically."""
    with fileio.atomic_file(path) as staging:
        soundfile.write(staging, np.clip(waveform, -1.0, 1.0), sample_rate, format="WAV",
                        subtype="PCM_16")
