"""Embedding audio files or arrays with the pretrained model.

Any length runs in bounded memory: files are decoded in blocks (`earshot.audio.stream`) and
the network runs on overlapping chunks whose rows are exactly the rows of one pass.
`python -m speech_embedding.embed` is the command-line tool over `embed`.
"""

from __future__ import annotations

import functools
import os
from typing import Callable, Iterable, Iterator

import numpy as np
import tensorflow as tf

from earshot import audio as audio_lib
from speech_embedding import features, model as model_lib, pretrained

# Embeddings per forward pass: 60 s of audio. A pass holds about 100 MB of activations per
# minute of audio, and the 12,400 samples neighbouring chunks share cost 1% extra work.
CHUNK_EMBEDDINGS = 750


@functools.cache
def compiled() -> Callable[[tf.Tensor], tf.Tensor]:
    """The pretrained model behind one compiled function, loaded on first use; shared by every
    caller in the process (one model in memory, traced once for any batch and length).

    The function takes float32 `[batch, samples]` (16 kHz, at least 12400 samples) and returns
    float32 `[batch, 1 + (samples - 12400) // 1280, 96]`, in inference mode.

    Raises:
      WeightsNotFoundError: as `pretrained.load`.
    """
    model = pretrained.load()

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def run(waveforms):
        return model(waveforms, training=False)[:, :, 0, :]

    return run


def embed(audio: audio_lib.AudioSource, sample_rate: int = features.SAMPLE_RATE) -> np.ndarray:
    """Embeds one clip.

    Args:
      audio: a file path (WAV, FLAC, OGG, MP3; any rate, any channels) or a 1-D float waveform
        in [-1, 1] at `sample_rate` Hz; resampled to 16 kHz as needed.
      sample_rate: the rate of an array `audio`, in Hz.

    Returns:
      float32 `[1 + (samples_16k - 12400) // 1280, 96]`, one row per 80 ms.

    Raises:
      earshot.audio.AudioError: unreadable or invalid audio, or shorter than 775 ms.
    """
    name = os.fspath(audio) if isinstance(audio, (str, os.PathLike)) else "audio"
    blocks = audio_lib.stream(audio, features.SAMPLE_RATE, source_rate=sample_rate)
    return embed_blocks(blocks, name=name)


def passes(blocks: Iterable[np.ndarray], name: str = "audio",
           chunk_embeddings: int = CHUNK_EMBEDDINGS) -> Iterator[tuple[np.ndarray, int]]:
    """The forward passes that make one clip's rows, in bounded memory: the one chunk geometry
    of `embed_blocks` and of the corpus job (`corpus.models`), which batches the passes of
    many clips.

    Embedding `t` sees samples `[1280 t, 1280 t + 12400)` and nothing else: every time kernel
    is VALID and the three 2x time pools stay aligned when a pass starts at a multiple of
    1280 samples (8 frames). So passes over chunks that start every `chunk_embeddings - 1`
    embeddings give, concatenated, the rows of one pass over the whole clip. Neighbouring
    chunks share one embedding, which the later one drops: that way no row comes from a pass
    that makes a single embedding, which TensorFlow's Eigen kernels (oneDNN off) round
    differently, up to 4e-5 off the one-pass values.

    Args:
      blocks: float32 `[n]` pieces of a validated 16 kHz waveform in [-1, 1], in order.
      name: the clip's name for errors.
      chunk_embeddings: rows per full chunk, at least 2; memory grows with it, not with the
        clip.

    Yields:
      (chunk, shared): float32 `[m]` samples, `m <= 12400 + (chunk_embeddings - 1) * 1280`,
      a view valid until the next pass is drawn; and how many of its
      `num_embeddings(m)` rows to drop from the front (0 for the first chunk, else 1).

    Raises:
      earshot.audio.AudioError: fewer than 12400 samples in all (once the blocks run out).
    """
    if chunk_embeddings < 2:
        raise ValueError(f"chunk_embeddings must be at least 2, got {chunk_embeddings}")
    step = (chunk_embeddings - 1) * model_lib.HOP_SAMPLES
    num_samples, made = 0, 0
    for index, chunk in enumerate(audio_lib.overlapping_chunks(
            blocks, model_lib.MIN_SAMPLES + step, step)):
        num_samples = chunk.size  # the first chunk is short only when it is the whole clip
        shared = 1 if index else 0  # the embedding the previous chunk ended with
        if chunk.size >= model_lib.MIN_SAMPLES + shared * model_lib.HOP_SAMPLES:
            made += 1
            yield chunk, shared
    if not made:
        raise audio_lib.AudioError(
            f"{name}: {num_samples} samples at 16 kHz is too short: the first embedding "
            f"needs {model_lib.MIN_SAMPLES} (775 ms)")


def embed_blocks(blocks: Iterable[np.ndarray], name: str = "audio",
                 chunk_embeddings: int = CHUNK_EMBEDDINGS) -> np.ndarray:
    """Embeds one clip given as consecutive blocks, one forward pass per chunk of `passes`.

    Args:
      blocks: float32 `[n]` pieces of a validated 16 kHz waveform in [-1, 1], in order.
      name: the clip's name for errors and progress.
      chunk_embeddings: rows per forward pass, at least 2; memory grows with it, not with
        the clip.

    Returns:
      float32 `[1 + (samples - 12400) // 1280, 96]`, the rows of one pass over the whole clip.

    Raises:
      earshot.audio.AudioError: fewer than 12400 samples in all.
    """
    seconds_per_chunk = (chunk_embeddings - 1) * model_lib.HOP_SAMPLES / features.SAMPLE_RATE
    rows = [compiled()(chunk[np.newaxis]).numpy()[0, shared:]
            for chunk, shared in audio_lib.log_progress(
                passes(blocks, name, chunk_embeddings), name, seconds_per_chunk)]
    return np.concatenate(rows)
