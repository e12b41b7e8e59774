"""Keras model of Google's speech_embedding/1: waveform -> log-mel -> 5 conv blocks -> 96-d.

The conv stack is the published network layer for layer (reference §3): a 3x3 input conv on
the mel axis padded by one bin each side, then five blocks of (1x3 conv, 3x1 conv, max-pool,
1x3 conv, 3x1 conv), the last block without its final 1x3 because the mel axis is 1 by then.
Every conv but the last is followed by batch norm, LeakyReLU(0.2) and max(x, -0.4).

Time kernels are all VALID, so the stack is a 76-frame window sliding by 8 frames: one pass
over a whole clip gives every embedding the published per-window pipeline gives, at about a
seventh of the multiply-adds.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from speech_embedding import features

INPUT_CONV_WIDTH = 24
# (channels of the block's first two convs, pool size (time, mel)) for blocks 1..5.
BLOCKS = ((24, (2, 2)), (48, (1, 2)), (72, (2, 2)), (96, (1, 2)), (96, (2, 2)))
EMBEDDING_SIZE = 96
LEAKY_RELU_ALPHA = 0.2
ACTIVATION_FLOOR = -0.4
BATCH_NORM_EPSILON = 1e-3

WINDOW_FRAMES = 76  # receptive field of one embedding, in log-mel frames (775 ms)
HOP_FRAMES = 8  # frames between embeddings (80 ms)
MIN_SAMPLES = 12400  # samples for the first embedding
HOP_SAMPLES = HOP_FRAMES * features.STFT_HOP_SAMPLES  # 1280


def num_embeddings(num_samples: int) -> int:
    """Embeddings for a clip of `num_samples` samples: `1 + (samples - 12400) // 1280`."""
    if num_samples < MIN_SAMPLES:
        return 0
    return 1 + (num_samples - MIN_SAMPLES) // HOP_SAMPLES


class ZeroMeanConv2D(keras.layers.Conv2D):
    """Conv2D whose filters are re-centred to zero mean on every call.

    Google's graph centres the input conv's filters before use, which makes the embedding
    blind to a constant offset of the log-mel; keeping that inside the layer keeps it true
    while fine-tuning.
    """

    def convolution_op(self, inputs, kernel):
        kernel = kernel - tf.reduce_mean(kernel, axis=(0, 1, 2), keepdims=True)
        return super().convolution_op(inputs, kernel)


class ClampedLeakyReLU(keras.layers.Layer):
    """max(LeakyReLU(x, alpha), floor): the activation after every conv but the last."""

    def __init__(self, alpha: float = LEAKY_RELU_ALPHA, floor: float = ACTIVATION_FLOOR,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.floor = floor

    def call(self, x):
        return tf.maximum(tf.nn.leaky_relu(x, alpha=self.alpha), self.floor)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "floor": self.floor}


def _conv_bn_act(x, index: int, filters: int, kernel: tuple[int, int], conv_class=keras.layers.Conv2D):
    suffix = f"_{index}" if index else ""
    # Mel-only (1x3) kernels pad the mel axis; everything else, and the time axis always, is VALID.
    x = conv_class(filters, kernel, padding="same" if kernel == (1, 3) else "valid",
                   use_bias=False, name=f"conv2d{suffix}")(x)
    x = keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON,
                                        name=f"batch_normalization{suffix}")(x)
    return ClampedLeakyReLU(name=f"activation{suffix}")(x)


def build_backbone() -> keras.Model:
    """The conv stack: log-mel float32 `[batch, frames, 32, 1]` -> `[batch, 1 + (frames - 76) // 8, 1, 96]`.

    Layer names follow the published graph (`conv2d`, `conv2d_1`, ..., `batch_normalization_18`).
    """
    log_mel = keras.Input((None, features.NUM_MEL_BINS, 1), name="log_mel")
    # The input conv is VALID in both axes after padding only the mel axis, as published.
    x = keras.layers.ZeroPadding2D(((0, 0), (1, 1)), name="zero_padding2d")(log_mel)
    x = _conv_bn_act(x, 0, INPUT_CONV_WIDTH, (3, 3), conv_class=ZeroMeanConv2D)
    index = 1
    for block, (width, pool) in enumerate(BLOCKS):
        x = _conv_bn_act(x, index, width, (1, 3))
        x = _conv_bn_act(x, index + 1, width, (3, 1))
        x = keras.layers.MaxPooling2D(pool, name=f"max_pooling2d_{block}")(x)
        index += 2
        if block == len(BLOCKS) - 1:
            break
        next_width = BLOCKS[block + 1][0]
        x = _conv_bn_act(x, index, next_width, (1, 3))
        x = _conv_bn_act(x, index + 1, next_width, (3, 1))
        index += 2
    embedding = keras.layers.Conv2D(EMBEDDING_SIZE, (3, 1), use_bias=False,
                                    name=f"conv2d_{index}")(x)
    return keras.Model(log_mel, embedding, name="backbone")


def build() -> keras.Model:
    """The whole module: float32 waveform `[batch, samples]` in [-1, 1] at 16 kHz ->
    float32 `[batch, 1 + (samples - 12400) // 1280, 1, 96]`.

    Randomly initialised; `speech_embedding.load()` gives the pretrained one.
    """
    waveform = keras.Input((None,), name="waveform")
    log_mel = features.LogMel(MIN_SAMPLES, name="log_mel")(waveform)
    embedding = build_backbone()(log_mel)
    return keras.Model(waveform, embedding, name="speech_embedding")
