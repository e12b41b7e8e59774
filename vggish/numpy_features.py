"""VGGish front end in NumPy: waveform -> log-mel examples `[N, 96, 64]` without TensorFlow.

The runtime without TensorFlow (LiteRT or ONNX Runtime running the exported network) needs
the features too; this is the reference's own recipe (`vggish_input.py`, `mel_features.py`:
NumPy float64), so the examples equal those of `vggish.features`, whose TF ops in float64
follow the same recipe, to float32 precision. It also holds what both front ends share: the
mel matrix and the checks and conversions of the input waveform.
"""

from __future__ import annotations

import functools
import os
from typing import Iterable, Iterator

import numpy as np

from earshot import audio
from vggish import params

# HTK mel scale: mel = 1127 ln(1 + f / 700).
MEL_BREAK_FREQUENCY_HERTZ = 700.0
MEL_HIGH_FREQUENCY_Q = 1127.0


def hertz_to_mel(frequencies_hertz: np.ndarray) -> np.ndarray:
    """Frequencies in Hz -> HTK mel, float64, same shape."""
    return MEL_HIGH_FREQUENCY_Q * np.log(1.0 + np.asarray(frequencies_hertz, np.float64)
                                         / MEL_BREAK_FREQUENCY_HERTZ)


@functools.cache
def mel_matrix() -> np.ndarray:
    """The reference's spectrogram-to-mel matrix, float64 `[257, 64]`.

    Triangles with peak 1 that are linear in mel (no area normalisation), band edges equally
    spaced in mel from MEL_MIN_HZ to MEL_MAX_HZ; the DC row is zeroed, as HTK ignores it.
    """
    num_spectrogram_bins = params.FFT_LENGTH // 2 + 1
    nyquist_hertz = params.SAMPLE_RATE / 2.0
    bins_mel = hertz_to_mel(np.linspace(0.0, nyquist_hertz, num_spectrogram_bins))
    band_edges_mel = np.linspace(hertz_to_mel(params.MEL_MIN_HZ),
                                 hertz_to_mel(params.MEL_MAX_HZ), params.NUM_MEL_BINS + 2)
    lower, center, upper = band_edges_mel[:-2], band_edges_mel[1:-1], band_edges_mel[2:]
    lower_slope = (bins_mel[:, None] - lower) / (center - lower)
    upper_slope = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    weights[0, :] = 0.0
    return weights


@functools.cache
def periodic_hann() -> np.ndarray:
    """The reference's analysis window: periodic Hann of STFT_WINDOW_LENGTH, float64 `[400]`.

    Periodic (denominator N, not N - 1) as in `mel_features.periodic_hann` and
    `tf.signal.hann_window`, so that overlapped windows sum to a constant.
    """
    n = np.arange(params.STFT_WINDOW_LENGTH)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / params.STFT_WINDOW_LENGTH)


def _frames(signal: np.ndarray, length: int, hop: int) -> np.ndarray:
    """`[samples, ...]` -> read-only view `[num_frames, length, ...]`, partial frame dropped."""
    num_frames = max(0, 1 + (len(signal) - length) // hop)
    return np.lib.stride_tricks.as_strided(
        signal, (num_frames, length, *signal.shape[1:]), (signal.strides[0] * hop, *signal.strides),
        writeable=False)


def log_mel_examples(waveform: np.ndarray) -> np.ndarray:
    """Mono 16 kHz waveform `[samples]` -> log-mel examples, float32 `[N, 96, 64]`.

    Periodic 400-sample Hann window, 160-sample hop, 512-point FFT magnitude, mel matrix,
    log(mel + 0.01), then non-overlapping 96-frame examples. Nothing is padded: a trailing
    partial example is dropped and fewer than 15600 samples give N = 0, as in the reference.
    All in float64 up to the log, as the reference: as fast here as TF's float32 ops (about
    17 ms per minute of audio), and memory is about 5 KB per 10 ms frame.

    Args:
      waveform: float32 `[samples]`.
    """
    waveform = np.asarray(waveform, np.float64)
    frames = _frames(waveform, params.STFT_WINDOW_LENGTH, params.STFT_HOP_LENGTH)
    spectrogram = np.abs(np.fft.rfft(frames * periodic_hann(), params.FFT_LENGTH))
    log_mel = np.log(spectrogram @ mel_matrix() + params.LOG_OFFSET).astype(np.float32)
    return np.ascontiguousarray(_frames(log_mel, params.NUM_FRAMES, params.EXAMPLE_HOP_FRAMES))


def prepare_waveform(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Any waveform array -> validated float32 mono 16 kHz, at least one example long.

    Args:
      waveform: `[samples]` or `[samples, channels]`; float in [-1, 1] or int16 (scaled by
        1/32768 like the reference's WAV reader).
      sample_rate: its rate in Hz; other rates than 16 kHz are resampled (soxr).

    Raises:
      earshot.audio.AudioError: empty, NaN/Inf, out of range, channels-first, or shorter
        than 0.975 s once at 16 kHz.
    """
    waveform = np.asarray(waveform)
    if waveform.dtype == np.int16:
        waveform = waveform.astype(np.float32) / 32768.0
    if waveform.ndim == 2 and waveform.shape[1] > waveform.shape[0]:
        raise audio.AudioError(
            f"audio array of shape {waveform.shape} looks channels-first; VGGish takes "
            "[samples, channels], so pass waveform.T")
    mono = audio.load(waveform, params.SAMPLE_RATE, source_rate=sample_rate)
    check_length(mono.size)
    return mono


def check_length(num_samples: int, name: str | None = None) -> None:
    """Raises `earshot.audio.AudioError` (naming `name`, if given) below one example at 16 kHz."""
    if num_samples < params.MIN_SAMPLES:
        prefix = f"{name}: " if name else ""
        raise audio.AudioError(
            f"{prefix}audio too short for VGGish: {num_samples / params.SAMPLE_RATE:.3f} s "
            f"({num_samples} samples at 16 kHz); one example needs "
            f"{params.MIN_SAMPLES / params.SAMPLE_RATE:.3f} s ({params.MIN_SAMPLES} samples)")


def input_blocks(audio_input, sample_rate: int) -> tuple[str | None, Iterable[np.ndarray]]:
    """(name, float32 mono 16 kHz blocks) of a file path, decoded in blocks as it is read (so
    memory does not grow with its length), or of a waveform array at `sample_rate`
    (`prepare_waveform`; name None)."""
    if isinstance(audio_input, (str, os.PathLike)):
        name = os.fspath(audio_input)
        return name, audio.stream(name, params.SAMPLE_RATE)
    return None, [prepare_waveform(audio_input, sample_rate)]


def example_slices(blocks: Iterable[np.ndarray], batch_examples: int,
                   name: str | None = None) -> Iterator[np.ndarray]:
    """A validated mono 16 kHz waveform, given as consecutive float32 blocks -> its slices.

    Each slice holds `batch_examples` examples (the last one fewer) and starts at an example
    boundary; neighbours overlap by the 240 samples two examples share, so the examples of
    the slices are those of one pass over it all, while memory follows `batch_examples`.
    Progress is logged for long input.

    Raises:
      earshot.audio.AudioError: shorter than one example in all (naming `name`).
    """
    hop = params.EXAMPLE_HOP_FRAMES * params.STFT_HOP_LENGTH
    span = (batch_examples - 1) * hop + params.MIN_SAMPLES
    pieces = audio.overlapping_chunks(blocks, span, batch_examples * hop)
    num_samples, yielded = 0, False
    for piece in audio.log_progress(pieces, name or "audio",
                                    batch_examples * hop / params.SAMPLE_RATE):
        num_samples = piece.size  # the first slice is short only when it is all there is
        if piece.size >= params.MIN_SAMPLES:
            yielded = True
            yield piece
    if not yielded:
        check_length(num_samples, name)


def waveform_to_examples(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """The reference's `vggish_input.waveform_to_examples`, in NumPy.

    Args:
      waveform: `[samples]` or `[samples, channels]` (channels are averaged), float in
        [-1, 1] or int16.
      sample_rate: rate of `waveform` in Hz; resampled to 16 kHz if different.

    Returns:
      float32 `[N, 96, 64]` log-mel examples, N = 1 + (samples - 15600) // 15360 at 16 kHz.
    """
    return log_mel_examples(prepare_waveform(waveform, sample_rate))
