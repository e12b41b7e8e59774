"""ResCNN of Deep Speaker: residual conv stages, time average, dense 512, L2 normalisation.

Each stage is a 5x5 stride-2 conv followed by identity blocks of two 3x3 convs. Stride 2 halves
time and frequency while the filters double, so (frequency bins x channels) stays 2048 at every
stage of the full network (64 bins / 2 x 64 = 32 x 64 = ... = 4 x 512); the network folds those
two axes into one feature per remaining time step, averages over time, and projects to a
512-d vector on the unit sphere, where cosine similarity is a dot product.

Layer names follow the public re-implementation (`conv64-s`, `res1_0_branch_2a`, `affine`) so
weights can be matched by name.
"""

from __future__ import annotations

import dataclasses

import keras
from keras import layers

from speaker_embedding import features

EMBEDDING_SIZE = 512
CLIP_VALUE = 20.0         # clipped ReLU min(max(x, 0), 20)
WEIGHT_DECAY = 1e-4       # L2 on conv kernels


@dataclasses.dataclass(frozen=True)
class ResCNNConfig:
    """Depth and width of a ResCNN.

    Attributes:
      filters: filters of each stage; its length is the number of stride-2 stages.
      blocks: identity blocks per stage.
    """

    filters: tuple[int, ...]
    blocks: int

    @property
    def time_stride(self) -> int:
        return 2 ** len(self.filters)

    @property
    def frame_features(self) -> int:
        """Width of the per-time-step vector: remaining frequency bins x last stage's filters."""
        bins = features.NUM_FBANKS
        for _ in self.filters:
            bins = -(-bins // 2)
        return bins * self.filters[-1]


MODEL_SIZES = {
    # The paper's network: 4 stages, 3 blocks each, about 24.2 M parameters.
    "full": ResCNNConfig(filters=(64, 128, 256, 512), blocks=3),
    # CPU budget: 3 stages (time / 8) of half width, one block each: 1.17 M parameters and
    # 0.21 G multiply-adds per 1.6 s window, against 2.7 G for "full".
    "small": ResCNNConfig(filters=(32, 64, 128), blocks=1),
}


def config_for(model_size: str) -> ResCNNConfig:
    if model_size not in MODEL_SIZES:
        raise ValueError(f"unknown model size {model_size!r}; use one of {', '.join(MODEL_SIZES)}")
    return MODEL_SIZES[model_size]


def _conv_bn(x, filters: int, kernel: int, strides: int, name: str, activate: bool = True):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same",
                      kernel_regularizer=keras.regularizers.L2(WEIGHT_DECAY), name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    if activate:
        x = layers.ReLU(max_value=CLIP_VALUE, name=f"{name}_relu")(x)
    return x


def _identity_block(x, filters: int, stage: int, block: int):
    prefix = f"res{stage}_{block}_branch"
    y = _conv_bn(x, filters, 3, 1, f"{prefix}_2a")
    y = _conv_bn(y, filters, 3, 1, f"{prefix}_2b")
    y = layers.Add(name=f"res{stage}_{block}_add")([x, y])
    return layers.ReLU(max_value=CLIP_VALUE, name=f"res{stage}_{block}_relu")(y)


def build(model_size: str = "full", config: ResCNNConfig | None = None,
          name: str = "rescnn") -> keras.Model:
    """The embedding network.

    Args:
      model_size: a key of MODEL_SIZES; ignored when `config` is given.
      config: explicit depth and width (tests use tiny ones).

    Returns:
      A Keras model from float32 `[batch, frames, 64, 1]` normalised filterbanks (any number of
      frames, NUM_FRAMES in training) to float32 `[batch, 512]` unit vectors. Its layer
      `affine` gives the vector before normalisation (the softmax pre-training input).
    """
    config = config or config_for(model_size)
    inputs = keras.Input((None, features.NUM_FBANKS, 1), name="fbank")
    x = inputs
    for stage, filters in enumerate(config.filters, start=1):
        x = _conv_bn(x, filters, 5, 2, f"conv{filters}-s")
        for block in range(config.blocks):
            x = _identity_block(x, filters, stage, block)
    x = layers.Reshape((-1, config.frame_features), name="reshape")(x)
    x = layers.GlobalAveragePooling1D(name="average")(x)
    x = layers.Dense(EMBEDDING_SIZE, name="affine")(x)
    outputs = layers.UnitNormalization(axis=-1, name="ln")(x)
    return keras.Model(inputs, outputs, name=name)
