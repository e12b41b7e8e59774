"""Deep Speaker front end: 64 linear mel filterbank energies, normalised frame by frame.

The numbers follow `python_speech_features.fbank(signal, 16000, nfilt=64)` as called by the
public Deep Speaker re-implementations: pre-emphasis 0.97, 25 ms rectangular frames every
10 ms, zero-padded tail, 512-point power spectrum |FFT|^2 / 512, 64 triangular mel filters from
0 to 8 kHz, linear energies (no log) with zeros replaced by eps. Each frame is then scaled to
zero mean and unit variance across its 64 bins (not per-utterance CMVN), which removes the
loudness of the recording from every frame.

There are two implementations with the same numbers: NumPy (data pipelines, CLIs) and
TensorFlow (inside the exported SavedModel, so it takes waveforms).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import tensorflow as tf

from earshot.audio import SAMPLE_RATE
WINDOW_SECONDS = 0.025   # 25 ms analysis window
HOP_SECONDS = 0.010      # 10 ms hop
WINDOW_SAMPLES = 400     # WINDOW_SECONDS * SAMPLE_RATE
HOP_SAMPLES = 160        # HOP_SECONDS * SAMPLE_RATE
FFT_LENGTH = 512
NUM_FBANKS = 64
PREEMPHASIS = 0.97
NUM_FRAMES = 160         # frames per network input: 1.59 s of audio (1 + (25,440 - 400) / 160)
# python_speech_features replaces zero energies by float64 eps; kept for identical numbers.
ENERGY_FLOOR = float(np.finfo(np.float64).eps)
STD_FLOOR = 1e-12        # per-frame std floor: an all-silent frame normalises to zeros


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """HTK mel scale, as python_speech_features uses."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=1)
def mel_matrix() -> np.ndarray:
    """Triangular filters on whole FFT bins: float32 `[FFT_LENGTH // 2 + 1, NUM_FBANKS]`.

    Band edges are floored to FFT bins with `(nfft + 1) * hz / rate`, the rounding the reference
    uses; it is what makes the lowest filters only one or two bins wide. Cached: treat the
    result as read-only.
    """
    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), NUM_FBANKS + 2)
    edges = np.floor((FFT_LENGTH + 1) * mel_to_hz(mels) / SAMPLE_RATE).astype(int)
    matrix = np.zeros([FFT_LENGTH // 2 + 1, NUM_FBANKS])
    for j in range(NUM_FBANKS):
        low, centre, high = edges[j], edges[j + 1], edges[j + 2]
        for i in range(low, centre):
            matrix[i, j] = (i - low) / (centre - low)
        for i in range(centre, high):
            matrix[i, j] = (high - i) / (high - centre)
    matrix = matrix.astype(np.float32)
    matrix.setflags(write=False)
    return matrix


def num_frames(num_samples: int) -> int:
    """Frames of a waveform: one for anything up to a window, then one per started hop."""
    if num_samples <= WINDOW_SAMPLES:
        return 1
    return 1 + math.ceil((num_samples - WINDOW_SAMPLES) / HOP_SAMPLES)


def fbank(waveform: np.ndarray) -> np.ndarray:
    """Normalised filterbank energies of a 16 kHz waveform.

    Args:
      waveform: float `[samples]` at 16 kHz, at least one sample.

    Returns:
      float32 `[num_frames(samples), NUM_FBANKS]`, each row with mean 0 and std 1 (or all
      zeros for a silent frame).
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1 or waveform.size == 0:
        raise ValueError(f"fbank expects a non-empty 1-D waveform, got shape {waveform.shape}")
    emphasised = np.append(waveform[0], waveform[1:] - PREEMPHASIS * waveform[:-1])
    frames = num_frames(waveform.size)
    padded = np.zeros((frames - 1) * HOP_SAMPLES + WINDOW_SAMPLES, np.float32)
    padded[:waveform.size] = emphasised
    starts = np.arange(frames) * HOP_SAMPLES
    framed = padded[starts[:, None] + np.arange(WINDOW_SAMPLES)]
    power = np.abs(np.fft.rfft(framed, FFT_LENGTH)).astype(np.float32) ** 2 / FFT_LENGTH
    energies = np.maximum(power @ mel_matrix(), ENERGY_FLOOR)
    return normalize_frames(energies)


def normalize_frames(energies: np.ndarray) -> np.ndarray:
    """Per-frame z-score across the filterbank axis (the last one)."""
    mean = energies.mean(axis=-1, keepdims=True)
    std = np.maximum(energies.std(axis=-1, keepdims=True), STD_FLOOR)
    return ((energies - mean) / std).astype(np.float32)


def window_starts(total_frames: int) -> np.ndarray:
    """First frame of each NUM_FRAMES window that tiles an utterance for inference.

    Windows are laid end to end and the last one is pulled back to end at the last frame, so
    every frame is covered and no window holds padding. An utterance shorter than one window
    gets one window (see `windows`).
    """
    count = max(1, math.ceil(total_frames / NUM_FRAMES))
    starts = np.arange(count) * NUM_FRAMES
    return np.minimum(starts, max(total_frames - NUM_FRAMES, 0))


def fit_frames(features: np.ndarray, length: int = NUM_FRAMES) -> np.ndarray:
    """Repeats a clip shorter than `length` frames until it fills them; longer clips unchanged.

    Repeating (rather than the reference's zero padding) keeps the network's time average made
    of speech frames only, so a 1 s enrolment clip is not pulled towards the padding vector.
    """
    frames = features.shape[0]
    if frames >= length:
        return features
    return features[np.arange(length) % frames]


def windows(features: np.ndarray) -> np.ndarray:
    """`[frames, NUM_FBANKS]` -> float32 `[num_windows, NUM_FRAMES, NUM_FBANKS, 1]` inputs."""
    features = fit_frames(features)
    starts = window_starts(features.shape[0])
    return np.stack([features[s:s + NUM_FRAMES] for s in starts])[..., None]


def tf_fbank(waveform: tf.Tensor) -> tf.Tensor:
    """`fbank` in TensorFlow ops for a float32 `[samples]` tensor; same shape and numbers."""
    waveform = tf.convert_to_tensor(waveform, tf.float32)
    samples = tf.shape(waveform)[0]
    emphasised = tf.concat([waveform[:1], waveform[1:] - PREEMPHASIS * waveform[:-1]], axis=0)
    extra = tf.maximum(samples - WINDOW_SAMPLES, 0)
    frames = 1 + (extra + HOP_SAMPLES - 1) // HOP_SAMPLES
    padded_length = (frames - 1) * HOP_SAMPLES + WINDOW_SAMPLES
    padded = tf.pad(emphasised, [[0, padded_length - samples]])
    framed = tf.signal.frame(padded, WINDOW_SAMPLES, HOP_SAMPLES, pad_end=False)
    spectrum = tf.signal.rfft(framed, [FFT_LENGTH])
    power = tf.math.square(tf.abs(spectrum)) / FFT_LENGTH
    energies = tf.maximum(tf.matmul(power, tf.constant(mel_matrix())), ENERGY_FLOOR)
    mean, variance = tf.nn.moments(energies, axes=[-1], keepdims=True)
    return (energies - mean) / tf.maximum(tf.sqrt(variance), STD_FLOOR)


def tf_windows(features: tf.Tensor) -> tf.Tensor:
    """`windows` in TensorFlow ops: `[frames, 64]` -> `[num_windows, NUM_FRAMES, 64, 1]`."""
    frames = tf.shape(features)[0]
    fitted_length = tf.maximum(frames, NUM_FRAMES)
    features = tf.gather(features, tf.range(fitted_length) % frames)
    count = (fitted_length + NUM_FRAMES - 1) // NUM_FRAMES
    starts = tf.minimum(tf.range(count) * NUM_FRAMES, fitted_length - NUM_FRAMES)
    indices = starts[:, None] + tf.range(NUM_FRAMES)[None, :]
    return tf.gather(features, indices)[..., None]


def random_crop(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One training input: a random NUM_FRAMES window, `[NUM_FRAMES, NUM_FBANKS, 1]`."""
    features = fit_frames(features)
    start = rng.integers(0, features.shape[0] - NUM_FRAMES + 1)
    return features[start:start + NUM_FRAMES, :, None]
