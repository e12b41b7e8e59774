"""A drop-in for Towhee's `ops.audio_embedding.vggish(weights_path=None)` operator.

Towhee pipelines decode audio with `ops.audio_decode.ffmpeg()` into a list of `AudioFrame`s
(NumPy arrays `[channels, samples]` carrying `sample_rate` and `layout`) and hand the list
to the operator, which returns one 128-D embedding per 0.96 s clip. `VggishOperator` takes
such lists, Towhee's own frames included, and also a file path or `(waveform, sample_rate)`.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import numpy as np

from earshot import audio
from vggish.embedding import embedder


class AudioFrame(np.ndarray):
    """A block of decoded audio, like `towhee.types.AudioFrame`: an array plus its metadata.

    The array is `[samples]` or `[channels, samples]` (planar), or `[1, channels * samples]`
    with `layout='stereo'` (packed, interleaved: what PyAV returns for s16 audio).
    """

    def __new__(cls, data: np.ndarray, sample_rate: Optional[int] = None,
                timestamp: Optional[int] = None, layout: Optional[str] = None) -> "AudioFrame":
        frame = np.asarray(data).view(cls)
        frame.sample_rate, frame.timestamp, frame.layout = sample_rate, timestamp, layout
        return frame

    def __array_finalize__(self, source: Optional[np.ndarray]) -> None:
        self.sample_rate = getattr(source, "sample_rate", None)
        self.timestamp = getattr(source, "timestamp", None)
        self.layout = getattr(source, "layout", None)


def _frame_to_mono(frame: np.ndarray) -> np.ndarray:
    """One frame -> float mono `[samples]`; int16 is scaled by 1/32768."""
    samples = np.asarray(frame)
    if samples.dtype == np.int16:
        samples = samples.astype(np.float32) / 32768.0
    if samples.ndim == 2 and samples.shape[0] == 1 and getattr(frame, "layout", None) == "stereo":
        samples = samples.reshape(-1, 2).T
    if samples.ndim not in (1, 2):
        raise audio.AudioError(f"audio frame of shape {samples.shape}: expected [samples] or "
                               "[channels, samples]")
    return audio.to_mono(samples, channel_axis=0)


def frames_to_waveform(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Towhee-style frames -> (float mono `[samples]`, sample rate), concatenated in order.

    Raises:
      earshot.audio.AudioError: no frames, a frame without `sample_rate`, or mixed rates.
    """
    if not frames:
        raise audio.AudioError("no audio frames given")
    rates = {getattr(frame, "sample_rate", None) for frame in frames}
    if None in rates:
        raise audio.AudioError("audio frames must carry a sample_rate (like Towhee's "
                               "AudioFrame); wrap arrays in vggish.operator.AudioFrame(data, "
                               "sample_rate)")
    if len(rates) > 1:
        raise audio.AudioError(f"audio frames have different sample rates: {sorted(rates)}")
    return np.concatenate([_frame_to_mono(frame) for frame in frames]), rates.pop()


class VggishOperator:
    """`VggishOperator(weights_path=None)(data) -> float32 [num_clips, 128]`.

    `data` is a file path, a `(waveform, sample_rate)` pair (`[samples]` or
    `[samples, channels]`), or a list of audio frames (see `AudioFrame`). Any sample rate and
    channel count; the audio must last at least 0.975 s. Embeddings are pre-activation and not
    PCA-processed, as Towhee's operator returns them.
    """

    def __init__(self, weights_path: Optional[str] = None, framework: str = "tensorflow"):
        """`framework` is accepted for Towhee compatibility (a legacy parameter there too)."""
        del framework
        path = None if weights_path is None else os.path.abspath(os.fspath(weights_path))
        self.embedder = embedder(path)

    def __call__(self, data: Union[str, os.PathLike, tuple, Sequence[np.ndarray], np.ndarray]
                 ) -> np.ndarray:
        if isinstance(data, (str, os.PathLike)):
            return self.embedder(data)
        if isinstance(data, tuple) and len(data) == 2 and np.isscalar(data[1]):
            waveform, sample_rate = data
            return self.embedder(np.asarray(waveform), int(sample_rate))
        if isinstance(data, np.ndarray):
            if getattr(data, "sample_rate", None) is None:
                raise audio.AudioError("a bare array has no sample rate: pass (waveform, "
                                       "sample_rate) or a list of AudioFrame")
            data = [data]
        waveform, sample_rate = frames_to_waveform(list(data))
        return self.embedder(waveform, sample_rate)

