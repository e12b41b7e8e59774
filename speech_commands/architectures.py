"""The reference's keyword-spotting architectures as Keras models.

Every model takes the flattened fingerprint, float32 `[batch, fingerprint_size]`, reshapes it
to `[batch, time, frequency, 1]` (time is the image height, so a (20, 8) kernel spans 20
frames by 8 bins) and returns unnormalized logits `[batch, label_count]`. Weights start from
TruncatedNormal(stddev=0.01) (single_fc: 0.001) with zero biases, layer names follow the
reference's variable names, and kernels have the reference's layouts, so parameter counts
match line by line (`conv`: 926,860 at the default settings).

Dropout is applied where the reference applies it and is only active with `training=True`.

New architectures register with `register(name, builder)`; `build_model` dispatches on the
name, so training and export pick them up without changes.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf
from google.protobuf import text_format

from earshot import fileio
from earshot.errors import UserError
from speech_commands import dataset, features
from speech_commands.settings import ModelSettings, TrainConfig

DEFAULT_DROPOUT_RATE = 0.5
WEIGHT_STDDEV = 0.01
SINGLE_FC_WEIGHT_STDDEV = 0.001
# low_latency_svdf: rank-constrained layer sizes from the reference.
SVDF_RANK = 2
SVDF_NUM_UNITS = 1280
HEAD_FILTERS = 96  # embedding_head conv width (Google's Colab)

Builder = Callable[[keras.KerasTensor, ModelSettings, float], keras.KerasTensor]
_ARCHITECTURES: dict[str, Builder] = {}


def register(name: str, builder: Builder) -> None:
    """Makes `name` a valid `--model_architecture`.

    `builder(fingerprint, model_settings, dropout_rate)` gets the `[batch, fingerprint_size]`
    Keras input and returns the logits tensor.
    """
    _ARCHITECTURES[name] = builder


def architectures() -> list[str]:
    return sorted(_ARCHITECTURES)


class ArchitectureError(UserError, ValueError):
    """A `--model_architecture` that is not registered, or flags it cannot take."""


def check_architecture(model_architecture: str) -> None:
    if model_architecture not in _ARCHITECTURES:
        raise ArchitectureError(
            f'model_architecture argument "{model_architecture}" not recognized, should be one '
            f'of {", ".join(architectures())}')


def build_model(model_settings: ModelSettings, model_architecture: str,
                dropout_rate: float = DEFAULT_DROPOUT_RATE, quantize: bool = False) -> keras.Model:
    """Builds `model_architecture` for `model_settings` (from `features.model_settings`).

    Args:
      quantize: fake-quantize the fingerprint to 8 bits over the front end's range, as the
        reference's `--quantize` does to its input.

    Returns:
      A Keras model, float32 `[batch, fingerprint_size]` -> logits `[batch, label_count]`.
    """
    check_architecture(model_architecture)
    fingerprint = keras.Input((model_settings.fingerprint_size,), name="fingerprint_input")
    x = fingerprint
    if quantize:
        x = FakeQuant(*features.features_range(model_settings.preprocess),
                      name="fingerprint_quant")(x)
    logits = _ARCHITECTURES[model_architecture](x, model_settings, dropout_rate)
    return keras.Model(fingerprint, logits, name=model_architecture)


def write_graph(model: keras.Model, path: str) -> None:
    """Writes the model's forward pass (fingerprints -> logits) as a text GraphDef, atomically:
    the reference's `<architecture>.pbtxt` in the training folder, to read the network in
    TensorBoard's graph view or by eye."""
    forward = tf.function(lambda fingerprints: model(fingerprints, training=False))
    graph = forward.get_concrete_function(
        tf.TensorSpec(model.input_shape, tf.float32, name="fingerprint_input")).graph
    with fileio.atomic_open(path, "w") as out:
        out.write(text_format.MessageToString(graph.as_graph_def()))


class FakeQuant(keras.layers.Layer):
    """8-bit fake quantization of the input over a fixed [min, max] (training and inference)."""

    def __init__(self, minimum: float, maximum: float, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def call(self, x):
        return tf.quantization.fake_quant_with_min_max_args(x, self.minimum, self.maximum)

    def get_config(self):
        return {**super().get_config(), "minimum": self.minimum, "maximum": self.maximum}


def _weights(stddev: float = WEIGHT_STDDEV) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=stddev)


def _image(fingerprint, model_settings: ModelSettings):
    """`[batch, fingerprint_size]` -> `[batch, time, frequency, 1]`."""
    return keras.layers.Reshape((model_settings.spectrogram_length,
                                 model_settings.fingerprint_width, 1),
                                name="fingerprint_4d")(fingerprint)


def _conv(x, name: str, filters: int, kernel: tuple[int, int], strides=(1, 1), padding="same",
          dropout_rate: float = DEFAULT_DROPOUT_RATE):
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, activation="relu",
                            kernel_initializer=_weights(), name=f"{name}_conv")(x)
    return keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(x)


def _dense(x, name: str, units: int, dropout_rate: float | None = None,
           stddev: float = WEIGHT_STDDEV):
    """A linear (no activation) fully connected layer, optionally followed by dropout."""
    x = keras.layers.Dense(units, kernel_initializer=_weights(stddev), name=name)(x)
    if dropout_rate is not None:
        x = keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(x)
    return x


def single_fc(fingerprint, model_settings: ModelSettings, dropout_rate: float):
    """One matmul from fingerprint to logits; no dropout. 47,052 parameters at defaults."""
    del dropout_rate
    return _dense(fingerprint, "final_fc", model_settings.label_count,
                  stddev=SINGLE_FC_WEIGHT_STDDEV)


def conv(fingerprint, model_settings: ModelSettings, dropout_rate: float):
    """cnn-trad-fpool3 (Sainath & Parada 2015): conv 20x8x64, pool 2x2, conv 10x4x64, fc."""
    x = _conv(_image(fingerprint, model_settings), "first", 64, (20, 8),
              dropout_rate=dropout_rate)
    x = keras.layers.MaxPool2D(2, 2, padding="same", name="max_pool")(x)
    x = _conv(x, "second", 64, (10, 4), dropout_rate=dropout_rate)
    x = keras.layers.Flatten(name="flatten")(x)
    return _dense(x, "final_fc", model_settings.label_count)


def low_latency_conv(fingerprint, model_settings: ModelSettings, dropout_rate: float):
    """cnn-one-fstride4: one conv spanning the whole clip in time, then three linear FCs."""
    x = _conv(_image(fingerprint, model_settings), "first", 186,
              (model_settings.spectrogram_length, 8), padding="valid",
              dropout_rate=dropout_rate)
    x = keras.layers.Flatten(name="flatten")(x)
    x = _dense(x, "first_fc", 128, dropout_rate)
    x = _dense(x, "second_fc", 128, dropout_rate)
    return _dense(x, "final_fc", model_settings.label_count)


class SVDF(keras.layers.Layer):
    """Rank-constrained layer of Nakkiran et al. 2015 over a whole clip.

    Each of `num_units * rank` filters is a frequency filter `[F]` followed by a time filter
    `[T]`; pairs of `rank` filters are summed into one unit, plus bias, then ReLU. This is the
    reference's training path (all frames new); its frame-by-frame inference memory is not
    kept, so a clip is always scored as a whole.

    Input `[batch, T, F]`, output `[batch, num_units]`.
    """

    def __init__(self, num_units: int, rank: int, **kwargs):
        super().__init__(**kwargs)
        self.num_units, self.rank = num_units, rank

    def build(self, input_shape):
        _, frames, width = input_shape
        filters = self.num_units * self.rank
        self.weights_frequency = self.add_weight(name="weights_frequency", shape=(width, filters),
                                                 initializer=_weights())
        self.weights_time = self.add_weight(name="weights_time", shape=(filters, frames),
                                            initializer=_weights())
        self.bias = self.add_weight(name="bias", shape=(self.num_units,), initializer="zeros")

    def call(self, x):
        activations = tf.einsum("btf,fn->bnt", x, self.weights_frequency)
        filtered = tf.einsum("bnt,nt->bn", activations, self.weights_time)
        units = tf.reduce_sum(tf.reshape(filtered, [-1, self.num_units, self.rank]), axis=-1)
        return tf.nn.relu(units + self.bias)

    def get_config(self):
        return {**super().get_config(), "num_units": self.num_units, "rank": self.rank}


def low_latency_svdf(fingerprint, model_settings: ModelSettings, dropout_rate: float):
    """SVDF (rank 2, 1280 units) then linear FCs 256, 256. 751,372 parameters at defaults."""
    x = keras.layers.Reshape((model_settings.spectrogram_length,
                              model_settings.fingerprint_width), name="fingerprint_3d")(
                                  fingerprint)
    x = SVDF(SVDF_NUM_UNITS, SVDF_RANK, name="svdf")(x)
    x = keras.layers.Dropout(dropout_rate, name="svdf_dropout")(x)
    x = _dense(x, "first_fc", 256, dropout_rate)
    x = _dense(x, "second_fc", 256, dropout_rate)
    return _dense(x, "final_fc", model_settings.label_count)


def tiny_conv(fingerprint, model_settings: ModelSettings, dropout_rate: float):
    """Microcontroller model: one strided conv 10x8x8, then fc. 16,652 params for micro_speech."""
    x = _conv(_image(fingerprint, model_settings), "first", 8, (10, 8), strides=(2, 2),
              dropout_rate=dropout_rate)
    x = keras.layers.Flatten(name="flatten")(x)
    return _dense(x, "final_fc", model_settings.label_count)


def tiny_embedding_conv(fingerprint, model_settings: ModelSettings, dropout_rate: float):
    """tiny_conv with a second conv (stride 8) shrinking the embedding before the fc."""
    x = _conv(_image(fingerprint, model_settings), "first", 8, (10, 8), strides=(2, 2),
              dropout_rate=dropout_rate)
    x = _conv(x, "second", 8, (10, 8), strides=(8, 8), dropout_rate=dropout_rate)
    x = keras.layers.Flatten(name="flatten")(x)
    return _dense(x, "final_fc", model_settings.label_count)


def settings_for(config: TrainConfig) -> ModelSettings:
    """The model settings of a training configuration (its architecture's front end)."""
    return features.model_settings(
        len(dataset.prepare_words_list(config.words)), config.sample_rate, config.clip_duration_ms,
        config.window_size_ms, config.window_stride_ms, config.feature_bin_count,
        preprocess_for(config.model_architecture, config.preprocess, config.train_embedding))


def preprocess_for(model_architecture: str, preprocess: str, train_embedding: bool) -> str:
    """The front end a run uses: `embedding_head` brings its own (frozen vectors, or the
    padded waveform when the embedding is fine-tuned); other models use `--preprocess`."""
    if model_architecture == "embedding_head":
        return "waveform" if train_embedding else "embedding"
    if train_embedding:
        raise ArchitectureError("--train_embedding needs --model_architecture=embedding_head, got "
                         f"{model_architecture!r}")
    return preprocess


def _head_block(x, index: int):
    """conv [3,1] x 96 (no bias: batch norm follows) -> batch norm -> ELU."""
    x = keras.layers.Conv2D(HEAD_FILTERS, (3, 1), padding="same", use_bias=False,
                            name=f"head_conv{index}")(x)
    x = keras.layers.BatchNormalization(name=f"head_bn{index}")(x)
    return keras.layers.ELU(name=f"head_elu{index}")(x)


def embedding_head(fingerprint, model_settings: ModelSettings, dropout_rate: float):
    """The head of Google's speech-embedding Colabs (paper arXiv 2002.01322, ~55k weights).

    16 embeddings `[16, 1, 96]` -> conv block -> max-pool [2,1] -> conv block -> max over
    time -> dense logits. With the `waveform` front end the pretrained speech embedding is
    part of the model (trainable, batch norm in training mode when training), so
    `--train_embedding` fine-tunes it; with `embedding` the vectors come precomputed.
    The Colab keeps batch norm in training mode at evaluation; here inference uses the
    moving statistics, so a single clip scores the same alone or in a batch.
    """
    del dropout_rate  # The Colab head has no dropout.
    if features.of(model_settings).embedding_in_model:
        x = keras.layers.Reshape((model_settings.fingerprint_width,), name="waveform")(
            fingerprint)
        x = features.trainable_embedding_model()(x)
    else:
        x = keras.layers.Reshape((model_settings.spectrogram_length, 1,
                                  model_settings.fingerprint_width),
                                 name="embeddings")(fingerprint)
    x = _head_block(x, 1)
    x = keras.layers.MaxPool2D((2, 1), (2, 1), padding="valid", name="head_pool")(x)
    x = _head_block(x, 2)
    x = keras.layers.GlobalMaxPooling2D(name="head_global_max")(x)
    return keras.layers.Dense(model_settings.label_count, name="final_fc")(x)


for _builder in (single_fc, conv, low_latency_conv, low_latency_svdf, tiny_conv,
                 tiny_embedding_conv, embedding_head):
    register(_builder.__name__, _builder)
