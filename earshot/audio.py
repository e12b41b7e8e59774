"""Audio input for every earshot package: files or arrays -> float32 mono at a requested rate.

All models in this project take float32 waveforms in [-1, 1]. This module is the single
place where files are decoded, channels are mixed down, and sample rates are converted, so
that each model sees the same numbers for the same audio whatever route it came by.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Union

import numpy as np
import soundfile
import soxr

from earshot import fileio, progress
from earshot.errors import UserError

AudioSource = Union[str, os.PathLike, np.ndarray]

# The rate every model here takes, in Hz: each package loads and resamples its input to it.
SAMPLE_RATE = 16000

# Containers libsndfile decodes; checked up front so the error names the format, not libsndfile.
SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3")
# Subtypes whose samples are stored as given, so a value outside [-1, 1] is a real error.
STORED_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
# Frames `stream` decodes at a time: a few seconds at any common rate, so a block's float32
# copies stay a few MB whatever the file's length or channel count.
STREAM_BLOCK_FRAMES = 1 << 16
RESAMPLE_QUALITY = "VHQ"


class AudioError(UserError, ValueError):
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
    try:
        with _open(path) as sound:
            samples = sound.read(dtype="float32", always_2d=True)
            sample_rate, subtype = sound.samplerate, sound.subtype
    except _DECODE_ERRORS as error:
        raise _decode_error(path, error) from error
    return _clip_decoded(samples, subtype), int(sample_rate)


# What libsndfile raises for a file it cannot decode, at open or mid-read.
_DECODE_ERRORS = (soundfile.LibsndfileError, RuntimeError, TypeError)


def _open(path: str) -> soundfile.SoundFile:
    """Opens an audio file for decoding; a missing path or a folder is an AudioError."""
    if not os.path.exists(path):
        raise AudioError(f"{path}: no such file")
    if os.path.isdir(path):
        raise AudioError(f"{path}: is a directory, not an audio file")
    return soundfile.SoundFile(path)


def _decode_error(path: str, error: Exception) -> AudioError:
    return AudioError(f"{path}: cannot decode as audio ({error}); expected one of "
                      f"{', '.join(SUPPORTED_EXTENSIONS)}")


def _clip_decoded(samples: np.ndarray, subtype: str) -> np.ndarray:
    if subtype in STORED_FLOAT_SUBTYPES:
        return samples
    # Lossy decoders (MP3, Vorbis, Opus) overshoot full scale slightly; that is not bad input.
    return np.clip(samples, -1.0, 1.0)


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
    return soxr.resample(waveform, from_rate, to_rate, quality=RESAMPLE_QUALITY).astype(np.float32)


def check_waveform(waveform: np.ndarray, name: str = "audio", first_index: int = 0) -> np.ndarray:
    """Validates a mono waveform and returns it as float32.

    `first_index` is the position of `waveform[0]` in its recording when `waveform` is one
    block of it, so that errors give the index in the whole recording.

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
            f"{name}: {int(bad.sum())} NaN or Inf samples, first at index "
            f"{first_index + int(np.argmax(bad))}")
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


def stream(source: AudioSource, sample_rate: int, source_rate: int | None = None,
           block_frames: int = STREAM_BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """`load` in blocks: memory stays bounded whatever the length of a file.

    A file is decoded `block_frames` frames at a time, mixed down by channel mean, checked
    like `load` checks the whole waveform (an error gives the index in the whole file), and
    resampled with soxr's streaming resampler at `load`'s quality. The blocks concatenated
    equal `load(source, ...)` sample for sample. An array, already in memory, is loaded
    whole and yielded in slices.

    Args:
      source, sample_rate, source_rate: as for `load`.
      block_frames: frames decoded at a time, at the file's rate.

    Yields:
      float32 `[n]` blocks in [-1, 1] at `sample_rate` Hz, n > 0 and varying.

    Raises:
      AudioError: as `load`; a problem part-way through a file is raised when its block is
        reached, after the blocks before it have been yielded.
    """
    if not isinstance(source, (str, os.PathLike)):
        waveform = load(source, sample_rate, source_rate)
        for start in range(0, waveform.size, block_frames):
            yield waveform[start:start + block_frames]
        return
    path = os.fspath(source)
    try:
        sound = _open(path)
    except _DECODE_ERRORS as error:
        raise _decode_error(path, error) from error
    with sound:
        resampler = None
        if sound.samplerate != sample_rate:
            resampler = soxr.ResampleStream(sound.samplerate, sample_rate, 1, dtype="float32",
                                            quality=RESAMPLE_QUALITY)
        decoded = 0
        while True:
            try:
                samples = sound.read(block_frames, dtype="float32", always_2d=True)
            except _DECODE_ERRORS as error:
                raise _decode_error(path, error) from error
            last = samples.shape[0] < block_frames
            if samples.shape[0]:
                block = check_waveform(to_mono(_clip_decoded(samples, sound.subtype)), path,
                                       first_index=decoded)
                decoded += block.size
            elif not decoded:
                raise AudioError(f"{path}: zero samples")
            else:
                block = samples[:, 0]
            if resampler is not None:
                block = np.clip(resampler.resample_chunk(block, last=last), -1.0, 1.0)
            if block.size:
                yield block
            if last:
                return


def overlapping_chunks(blocks: Iterable[np.ndarray], size: int, step: int
                       ) -> Iterator[np.ndarray]:
    """Re-cuts a stream of 1-D blocks into chunks of `size` samples starting every `step`.

    Chunk k holds samples `[k * step, k * step + size)` of the concatenated stream, so
    neighbours share `size - step` samples: a model whose outputs each see a fixed span of
    input, at a fixed hop that divides `step`, gives on each chunk exactly the rows a single
    pass would give for that stretch. At the end comes one shorter chunk if samples remain
    that no chunk has held (and a stream shorter than `size` is one short chunk); nothing for
    an empty stream. Only about `size` samples plus one block are held at a time.

    Yields:
      `[n]` views into the stream's buffer (read-only by convention), n <= size.
    """
    if not 0 < step <= size:
        raise ValueError(f"need 0 < step <= size, got step {step}, size {size}")
    buffer = np.zeros(0, np.float32)
    pending, held, fresh = [], 0, False  # fresh: `buffer` + `pending` hold unchunked samples
    for block in blocks:
        if not block.size:
            continue
        pending.append(block)
        held += block.size
        fresh = True
        if held < size:
            continue
        buffer = np.concatenate([buffer, *pending])
        pending = []
        start = 0
        while buffer.size - start >= size:
            yield buffer[start:start + size]
            start += step
            fresh = buffer.size > start + size - step
        buffer = buffer[start:]
        held = buffer.size
    if fresh:
        yield np.concatenate([buffer, *pending])


def log_progress(chunks: Iterable[np.ndarray], name: str, seconds_per_chunk: float,
                 every_seconds: float | None = None) -> Iterator[np.ndarray]:
    """Yields `chunks` of recording `name`, counted on stderr by `earshot.progress.track`.

    A recording that takes a while shows lines like `long.wav (60 s chunks): 12, 30.1s
    elapsed`; a clip done within a second prints nothing.
    """
    return progress.track(chunks, f"{name} ({seconds_per_chunk:.3g} s chunks)",
                          every_seconds=every_seconds)


def write_wav(path: Union[str, os.PathLike], waveform: np.ndarray, sample_rate: int) -> None:
    """Writes a float waveform in [-1, 1] as 16-bit PCM WAV (the Speech Commands format), atomically."""
    with fileio.atomic_file(path) as staging:
        soundfile.write(staging, np.clip(waveform, -1.0, 1.0), sample_rate, format="WAV",
                        subtype="PCM_16")
