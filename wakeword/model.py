"""The wake-word model: a small head on windows of 16 speech embeddings, offline and hop by hop.

The head (the mean logit of branches of 2 x [time conv 3 x 128, layer norm, ReLU], max over
time, 1 logit) scores a window of 16 embeddings, 1.28 s of embedding hops whose audio spans
1.975 s.

Streaming and offline scoring are speech_embedding's `ring_head`, shared with keyword
spotting: `streaming_step` is the step of `wakeword.tflite` (a hop counter in the state makes
the scores of hops before `FIRST_SCORED_HOP` = 24 exactly 0), and `offline_scores` gives the
same per-hop scores from one offline pass over a whole recording, which is how training,
calibration and evaluation score hours of audio quickly.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

import speech_embedding
from speech_embedding import ring_head, streaming as streaming_embedding

WINDOW = ring_head.WINDOW  # 16 embeddings per window (openWakeWord's 1.28 s)
EMBEDDING_SIZE = speech_embedding.EMBEDDING_SIZE
HIDDEN = 128
HOP_SAMPLES = ring_head.HOP_SAMPLES
FIRST_SCORED_HOP = ring_head.FIRST_SCORED_HOP  # 24
SCORE = "score"
RING_STATE = "ring_state"
HOPS_STATE = "hops_state"


def build_head(seed: int = 0, dropout: float = 0.0, input_noise: float = 0.0, branches: int = 1
               ) -> keras.Model:
    """float32 `[batch, 16, 96]` embeddings -> float32 `[batch, 1]` logits: the mean of
    `branches` independent branches' logits (`branch_logits` gives each, for training).

    A branch is two time convolutions (kernel 3, 128 filters, layer norm, ReLU) and the max
    over time: the same detector at every position of the window, so what it learns of the
    phrase does not depend on where in the 1.28 s it falls. On held-out engines this
    generalised better than openWakeWord's flattened dense head, which learns the training
    voices. Branches differ only in their initial weights and training noise, and their mean
    is an ensemble: one head's recall on voices it never heard moved by up to 0.2 from seed to
    seed, and the threshold with it. Training only: Gaussian noise of std `input_noise` on the
    embeddings (whose values have a std of about 10) and `dropout` before each convolution;
    both keep the head from learning the training voices' exact embeddings.
    """
    keras.utils.set_random_seed(seed)
    windows = keras.Input((WINDOW, EMBEDDING_SIZE), name="embeddings")
    logits = [_branch(windows, f"branch{index}_" if branches > 1 else "", dropout, input_noise)
              for index in range(branches)]
    mean = keras.layers.Average(name="mean_logit")(logits) if branches > 1 else logits[0]
    return keras.Model(windows, mean, name="wakeword_head")


def _branch(windows: keras.KerasTensor, prefix: str, dropout: float, input_noise: float
            ) -> keras.KerasTensor:
    x = windows
    if input_noise:
        x = keras.layers.GaussianNoise(input_noise, name=f"{prefix}input_noise")(x)
    for index in range(2):
        x = keras.layers.Dropout(dropout, name=f"{prefix}dropout{index}")(x)
        x = keras.layers.Conv1D(HIDDEN, 3, name=f"{prefix}conv{index}")(x)
        x = keras.layers.LayerNormalization(name=f"{prefix}norm{index}")(x)
        x = keras.layers.ReLU(name=f"{prefix}relu{index}")(x)
    x = keras.layers.GlobalMaxPooling1D(name=f"{prefix}max_over_time")(x)
    return keras.layers.Dense(1, name=f"{prefix}logit")(x)


def branch_logits(head: keras.Model) -> keras.Model:
    """`head`'s branches side by side, sharing its weights: `[batch, 16, 96]` ->
    `[batch, branches]` logits, so that each branch learns from its own loss."""
    if "mean_logit" not in {layer.name for layer in head.layers}:
        return head
    return keras.Model(head.input, keras.layers.Concatenate(name="branch_logits")(
        head.get_layer("mean_logit").input))


windows = ring_head.windows


def score_windows(head: keras.Model) -> ring_head.ScoreWindows:
    """float32 `[n, 16, 96]` windows -> `[n, 1]` scores in [0, 1] (the sigmoid of the logit)."""
    return lambda batch: tf.sigmoid(head(batch, training=False))


_SLIDING: "weakref.WeakKeyDictionary[keras.Model, tf.types.experimental.GenericFunction]" = \
    weakref.WeakKeyDictionary()
SLIDING_ROWS = 1 << 16  # embedding rows per pass of `window_logits` (memory bound)


def _sliding(head: keras.Model) -> tf.types.experimental.GenericFunction:
    """`head`'s layers as one pass over a stream: float32 `[1, T, 96]` -> `[1, T - 15, 1]`, the
    logit of every window of 16 consecutive embeddings. Each branch's convolutions and layer
    norms act at each time step alone, so computing them once per step and taking the max
    over each window's 12 steps gives every window's logit at a sixteenth of the work of
    scoring the windows one by one."""
    if head not in _SLIDING:
        stream = keras.Input((None, EMBEDDING_SIZE))
        prefixes = [layer.name[:-len("conv0")] for layer in head.layers
                    if layer.name.endswith("conv0")]
        logits = []
        for prefix in prefixes:
            x = stream
            for index in range(2):
                for layer in ("conv", "norm", "relu"):
                    x = head.get_layer(f"{prefix}{layer}{index}")(x)
            x = keras.layers.MaxPooling1D(WINDOW - 4, strides=1)(x)  # 12 steps after 2 convs
            logits.append(head.get_layer(f"{prefix}logit")(x))
        model = keras.Model(stream, keras.layers.Average()(logits) if len(logits) > 1
                            else logits[0])
        # One graph for any length: called eagerly, the layers' per-op overhead was most of
        # the time on short clips.
        _SLIDING[head] = tf.function(lambda rows: model(rows, training=False), input_signature=[
            tf.TensorSpec([1, None, EMBEDDING_SIZE], tf.float32)])
    return _SLIDING[head]


def window_logits(head: keras.Model, embeddings: np.ndarray, ends: np.ndarray,
                  pass_rows: int = SLIDING_ROWS) -> np.ndarray:
    """float32 `[len(ends)]`: `head`'s logit of the window ending at each row of `ends` (each
    at least 15) of `embeddings` `[T, 96]`, in passes of `pass_rows` rows (more than 15)."""
    ends = np.asarray(ends, np.int64)
    out = np.zeros(ends.size, np.float32)
    if not ends.size:
        return out
    sliding = _sliding(head)
    step = pass_rows - (WINDOW - 1)
    for first in range(int(ends.min()) - (WINDOW - 1), int(ends.max()) + 1 - (WINDOW - 1), step):
        rows = embeddings[first:first + pass_rows]
        inside = (ends >= first + WINDOW - 1) & (ends < first + rows.shape[0])
        if inside.any():
            logits = sliding(rows[np.newaxis]).numpy()[0, :, 0]
            out[inside] = logits[ends[inside] - first - (WINDOW - 1)]
    return out


def offline_scores(head: keras.Model, embeddings: np.ndarray, num_samples: int) -> np.ndarray:
    """float32 `[num_samples // 1280]`: the streaming model's score of every hop, from the
    offline embeddings `[T, 96]` of the same audio (0 before `FIRST_SCORED_HOP`)."""
    scores = np.zeros(num_samples // HOP_SAMPLES, np.float32)
    scored = ring_head.scored_hops(num_samples)
    if scored.size:
        ends = scored - streaming_embedding.WARMUP_HOPS
        scores[scored] = tf.sigmoid(window_logits(head, embeddings, ends)).numpy()
    return scores


def streaming_step(embedding: keras.Model, head: keras.Model) -> ring_head.RingHeadStep:
    """`step(samples[1280], *state) -> {"score": [1], <state name>: new state}`; scores of
    hops before `FIRST_SCORED_HOP` are exactly 0 (a hop counter is part of the state)."""
    return ring_head.RingHeadStep(embedding, head, score_windows(head), name="streaming_wakeword",
                                  ring_state=RING_STATE, scores=SCORE, hops_state=HOPS_STATE)


class HubModule(tf.Module):
    """The SavedModel: `score(waveform [samples] float32 16 kHz) -> [samples // 1280]` scores,
    the streaming model's, computed offline (the embedding once over the whole waveform)."""

    def __init__(self, embedding: keras.Model, head: keras.Model):
        super().__init__(name="wakeword")
        self._embedding = embedding
        self._head = head

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="waveform")])
    def score(self, waveform: tf.Tensor) -> tf.Tensor:
        hops = tf.shape(waveform)[0] // HOP_SAMPLES
        # Zeros past the end only make rows no hop reads; they keep short input valid.
        padded = tf.concat([waveform, tf.zeros([speech_embedding.MIN_SAMPLES], tf.float32)], 0)
        embeddings = self._embedding(padded[tf.newaxis], training=False)[0, :, 0, :]
        ends = tf.range(FIRST_SCORED_HOP, tf.maximum(hops, FIRST_SCORED_HOP)) - \
            streaming_embedding.WARMUP_HOPS
        gathered = tf.gather(embeddings, ends[:, None] + tf.range(1 - WINDOW, 1)[None, :])
        scores = tf.sigmoid(self._head(gathered, training=False)[:, 0])
        return tf.concat([tf.zeros([tf.minimum(hops, FIRST_SCORED_HOP)]), scores], 0)


def write_saved_model(embedding: keras.Model, head: keras.Model, path: str) -> None:
    module = HubModule(embedding, head)
    tf.saved_model.save(module, path, signatures={"serving_default": module.score})
