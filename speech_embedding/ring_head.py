"""A head on the last 16 speech embeddings, streamed hop by hop and scored offline: written once.

Keyword spotting (`speech_commands.streaming_spotter`) and the wake word (`wakeword.model`)
both score windows of 16 embeddings (1.28 s of embedding hops, 1.975 s of audio) with a small
Keras head. Streaming, each 80 ms hop of 1280 samples runs `StreamingEmbedding` (only the new
frames), pushes its embedding into a ring of the last 16 (part of the state) and scores the
ring: `RingHeadStep`, exported as TFLite and driven without TensorFlow by
`earshot.streaming.HopStream`. Offline, the embedding runs once over a whole recording and
`offline_scores` scores the same windows, which is how hours of audio are scored quickly.

Timing: hop `h` emits offline embedding `h - 9`, so the ring holds offline embeddings
`h - 24 .. h - 9` and is first full of the stream's own audio at hop `FIRST_SCORED_HOP` = 24;
hop `h`'s window is stream samples `[1280 (h - 24), 1280 h + WINDOW_END_OFFSET)`.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from speech_embedding import model as model_lib, streaming

WINDOW = 16  # embeddings per window (openWakeWord's 1.28 s)
HOP_SAMPLES = streaming.HOP_SAMPLES  # 1280: 80 ms
FIRST_SCORED_HOP = streaming.WARMUP_HOPS + WINDOW - 1  # 24
WINDOW_SAMPLES = model_lib.MIN_SAMPLES + (WINDOW - 1) * HOP_SAMPLES  # 31600: 1.975 s
WINDOW_END_OFFSET = WINDOW_SAMPLES - FIRST_SCORED_HOP * HOP_SAMPLES  # 880

# float32 `[n, 16, 96]` windows -> float32 `[n, k]` scores, the head and its output activation.
ScoreWindows = Callable[[tf.Tensor], tf.Tensor]


class RingHeadStep(streaming.StatefulStep):
    """`step(samples[1280], *state) -> {scores: [k], <state name>: new state}`.

    States are the streaming embedding's, the ring of the last 16 embeddings `[16, 96]`
    (input and output `ring_state`) and, with `hops_state`, a hop counter `[1]` that makes the
    scores of hops before `FIRST_SCORED_HOP` exactly 0 (without it they are the head's scores
    of a ring that still holds zeros, and the caller skips them).

    Args:
      embedding: the speech embedding Keras model (pretrained or fine-tuned).
      head: the Keras head, whose weights become constants of the step.
      score_windows: the head and its activation on float32 `[n, 16, 96]` -> `[n, k]`.
      name, ring_state, scores, hops_state: names of the module, the ring's state, the scores
        output and the hop counter; the exported TFLite models keep them.
    """

    def __init__(self, embedding: keras.Model, head: keras.Model, score_windows: ScoreWindows,
                 name: str, ring_state: str, scores: str, hops_state: str | None = None):
        self._embedding = streaming.StreamingEmbedding(embedding)
        super().__init__(self._embedding.hop_samples, name=name)
        self._head_weights = streaming.ConstantWeights(head)
        self._score_windows = score_windows
        self._embedding_states = len(self._embedding.state_specs)
        self._names = (ring_state, scores, hops_state)
        self.state_specs = self._embedding.state_specs + [tf.TensorSpec(
            [WINDOW, self._embedding.embedding_size], tf.float32, name=ring_state)]
        if hops_state:
            self.state_specs.append(tf.TensorSpec([1], tf.float32, name=hops_state))

    def step(self, samples: tf.Tensor, *state: tf.Tensor) -> dict[str, tf.Tensor]:
        ring_state, scores, hops_state = self._names
        hop = self._embedding.step(samples, *state[:self._embedding_states])
        ring = tf.concat([state[self._embedding_states][1:],
                          hop[streaming.EMBEDDING][tf.newaxis]], axis=0)
        with self._head_weights.scope():
            outputs = {scores: self._score_windows(ring[tf.newaxis])[0]}
        outputs.update({name: hop[name] for name in self._embedding.state_names})
        outputs[ring_state] = ring
        if hops_state:
            hops = state[-1]
            outputs[scores] *= tf.cast(hops >= FIRST_SCORED_HOP, tf.float32)
            outputs[hops_state] = tf.minimum(hops + 1.0, FIRST_SCORED_HOP)
        return outputs


def windows(embeddings: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """float32 `[n, 16, 96]`: the 16 embeddings ending at each index of `ends` (inclusive)."""
    return embeddings[np.asarray(ends)[:, None] + np.arange(1 - WINDOW, 1)]


def scored_hops(num_samples: int) -> np.ndarray:
    """int64 `[n]`: the hops of a stream of `num_samples` samples whose window is full."""
    return np.arange(FIRST_SCORED_HOP, num_samples // HOP_SAMPLES)


def offline_scores(score_windows: ScoreWindows, embeddings: np.ndarray, hops: np.ndarray,
                   batch: int = 4096) -> np.ndarray:
    """float32 `[len(hops), k]`: the streaming step's scores of `hops` (non-empty, each at least
    `FIRST_SCORED_HOP`), from the offline embeddings `[T, 96]` of the same audio."""
    ends = np.asarray(hops) - streaming.WARMUP_HOPS
    return np.concatenate([
        np.asarray(score_windows(tf.constant(windows(embeddings, ends[i:i + batch]))), np.float32)
        for i in range(0, ends.size, batch)])


def embed(embedding: keras.Model, waveform: np.ndarray) -> np.ndarray:
    """float32 `[T, 96]`: `embedding`'s vectors of a whole float32 16 kHz waveform, one pass."""
    return embedding(waveform[np.newaxis], training=False).numpy()[0, :, 0, :]
