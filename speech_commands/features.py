"""Audio -> fingerprint: the model settings and the `--preprocess` front ends.

The reference computes features with the TF ops `AudioSpectrogram` and `Mfcc` (or the
micro frontend); re-deriving them with `tf.signal` gives different numbers (periodic Hann
with a power-of-two FFT, a sqrt-magnitude HTK mel bank, a natural-log floor of 1e-12), so
this module calls the very same ops. `AudioSpectrogram` treats its second axis as channels,
which lets a whole batch of clips go through one op call: audio here is laid out
`[samples, batch]` for that reason, and it is also the `[16000, 1]` layout of the Android
model's input.

A front end is registered by name (`register`) with its geometry, its compute function and
the properties the pipeline asks of it (`Frontend`), so another feature extractor plugs into
`model_settings`, training, freezing and export without touching them. Two such front ends
feed the `embedding_head` architecture:
`embedding` (the frozen speech_embedding's vectors) and `waveform` (the padded audio itself,
for a model that holds the embedding so it can be fine-tuned).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Callable

import numpy as np
import tensorflow as tf

import speech_embedding
from speech_commands.settings import ModelSettings

# Mfcc op attributes used by the reference (all at the op's defaults except the DCT count).
MFCC_UPPER_FREQUENCY_LIMIT = 4000.0
MFCC_LOWER_FREQUENCY_LIMIT = 20.0
MFCC_FILTERBANK_CHANNEL_COUNT = 40
# The micro frontend's float output is scaled by this to land in roughly [0, 26].
MICRO_OUTPUT_SCALE = 10.0 / 256.0
# int16 scale the reference's training uses before the micro frontend; its freeze.py uses
# 32767, here training and inference share 32768 so they see the same numbers.
MICRO_INT16_SCALE = 32768.0

# Speech embedding context: 16 vectors, 80 ms apart, need 12400 + 15 * 1280 = 31600 samples
# (1.975 s). A 1 s clip is zero-padded in front to that length, so the clip ends where the
# streaming detector's window ends and a word is scored as soon as it is over.
CONTEXT_EMBEDDINGS = 16
CONTEXT_SAMPLES = (speech_embedding.MIN_SAMPLES +
                   (CONTEXT_EMBEDDINGS - 1) * speech_embedding.HOP_SAMPLES)
# Pieces a batch is cut into for featurizing in parallel (one per core, at most 8).
FEATURE_SHARDS = min(os.cpu_count() or 1, 8)

# (spectrogram_length, window_size_samples, feature_bin_count, sample_rate) ->
# (spectrogram_length, fingerprint_width, average_window_width)
GeometryFn = Callable[[int, int, int, int], tuple[int, int, int]]
ComputeFn = Callable[[tf.Tensor, tf.Tensor, ModelSettings], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class Frontend:
    """A `--preprocess` choice and what the rest of the pipeline needs to know about it.

    Attributes:
      geometry: the fingerprint's frames and width for the clip and window settings.
      compute: (audio float32 `[samples, batch]` in [-1, 1], sample_rate int32 scalar tensor,
        settings) -> float32 `[batch, spectrogram_length, fingerprint_width]`.
      features_range: (min, max) of the output, for 8-bit fake quantization; None if unknown.
      stock_tflite_ops: its ops are in the stock TFLite op resolver, so the Android model can
        hold it (the micro front end's AudioMicrofrontend is not).
      frozen_embedding: fingerprints are the pretrained speech embedding's vectors, computed
        by a frozen model: they can be cached, and the model is the head only.
      embedding_in_model: fingerprints are the padded waveform; the model holds the speech
        embedding itself (fine-tuning).
    """

    geometry: GeometryFn
    compute: ComputeFn
    features_range: tuple[float, float] | None = None
    stock_tflite_ops: bool = True
    frozen_embedding: bool = False
    embedding_in_model: bool = False

    @property
    def uses_speech_embedding(self) -> bool:
        """The features come from the speech embedding (frozen or inside the model)."""
        return self.frozen_embedding or self.embedding_in_model


_FRONTENDS: dict[str, Frontend] = {}


def register(name: str, frontend: Frontend) -> None:
    """Makes `name` a valid `--preprocess` value."""
    _FRONTENDS[name] = frontend


def names() -> list[str]:
    return sorted(_FRONTENDS)


def get(name: str) -> Frontend:
    if name not in _FRONTENDS:
        raise ValueError(
            f'Unknown preprocess mode "{name}" (should be one of {", ".join(names())})')
    return _FRONTENDS[name]


def of(settings: ModelSettings) -> Frontend:
    """The front end a model was built for."""
    return get(settings.preprocess)


def next_power_of_two(x: int) -> int:
    """Smallest power of two >= x (the FFT length AudioSpectrogram uses); 1 for 0."""
    return 1 if x == 0 else 2 ** (int(x) - 1).bit_length()


def model_settings(label_count: int, sample_rate: int, clip_duration_ms: float,
                   window_size_ms: float, window_stride_ms: float, feature_bin_count: int,
                   preprocess: str) -> ModelSettings:
    """The reference's `models.prepare_model_settings`, formula for formula, typed.

    Defaults (16 kHz, 1000 ms, 30/10 ms, 40 bins, mfcc) give 98 frames x 40 = 3920 features.
    """
    return settings_in_samples(label_count, sample_rate,
                               int(sample_rate * clip_duration_ms / 1000),
                               int(sample_rate * window_size_ms / 1000),
                               int(sample_rate * window_stride_ms / 1000), feature_bin_count,
                               preprocess)


def with_preprocess(settings: ModelSettings, preprocess: str) -> ModelSettings:
    """The same clip and window settings with another front end (geometry recomputed)."""
    return settings_in_samples(settings.label_count, settings.sample_rate,
                               settings.desired_samples, settings.window_size_samples,
                               settings.window_stride_samples, settings.feature_bin_count,
                               preprocess)


def settings_in_samples(label_count: int, sample_rate: int, desired_samples: int,
                        window_size_samples: int, window_stride_samples: int,
                        feature_bin_count: int, preprocess: str) -> ModelSettings:
    """`model_settings` with the clip, window and stride given in samples: the front end's
    geometry (frames, features per frame, fingerprint size) computed for them."""
    length_minus_window = desired_samples - window_size_samples
    if length_minus_window < 0:
        spectrogram_length = 0
    else:
        spectrogram_length = 1 + int(length_minus_window / window_stride_samples)
    spectrogram_length, fingerprint_width, average_window_width = get(preprocess).geometry(
        spectrogram_length, window_size_samples, feature_bin_count, sample_rate)
    return ModelSettings(
        desired_samples=desired_samples, window_size_samples=window_size_samples,
        window_stride_samples=window_stride_samples, spectrogram_length=spectrogram_length,
        feature_bin_count=feature_bin_count, label_count=label_count, sample_rate=sample_rate,
        preprocess=preprocess, fingerprint_width=fingerprint_width,
        fingerprint_size=fingerprint_width * spectrogram_length,
        average_window_width=average_window_width)


def features_range(preprocess: str) -> tuple[float, float]:
    """(min, max) of a front end's output, for fake-quantizing fingerprints.

    Raises:
      ValueError: a front end with no known range.
    """
    known = get(preprocess).features_range
    if known is None:
        raise ValueError(f'No feature range known for preprocess mode "{preprocess}"')
    return known


def compute(audio: tf.Tensor, sample_rate: tf.Tensor, settings: ModelSettings) -> tf.Tensor:
    """float32 `[samples, batch]` audio -> float32 `[batch, frames, fingerprint_width]`."""
    return of(settings).compute(audio, sample_rate, settings)


class BatchFeaturizer:
    """float32 `[batch, desired_samples]` audio -> float32 `[batch, fingerprint_size]`.

    The DSP kernels are single-threaded, so a batch is cut into one shard per core (never an
    empty one: a zero-clip batch takes kernels some CPUs reject) and the shards' ops run side
    by side in one graph. There is one traced function per shard count, since a function
    traced with `reduce_retracing` must always get the same number of arguments.
    """

    def __init__(self, settings: ModelSettings, shards: int = FEATURE_SHARDS):
        self.settings = settings
        self.shards = shards
        self._functions: dict[int, Callable[..., tf.Tensor]] = {}

    def _featurize_shards(self, *shards: tf.Tensor) -> tf.Tensor:
        rate = tf.constant(self.settings.sample_rate, tf.int32)
        fingerprints = [compute(tf.transpose(shard), rate, self.settings) for shard in shards]
        return tf.reshape(tf.concat(fingerprints, 0), [-1, self.settings.fingerprint_size])

    def __call__(self, audio_batch: np.ndarray) -> np.ndarray:
        if not len(audio_batch):
            return np.zeros((0, self.settings.fingerprint_size), np.float32)
        shards = np.array_split(audio_batch, min(self.shards, len(audio_batch)))
        if len(shards) not in self._functions:
            self._functions[len(shards)] = tf.function(self._featurize_shards,
                                                       reduce_retracing=True)
        tensors = [tf.convert_to_tensor(shard, tf.float32) for shard in shards]
        return self._functions[len(shards)](*tensors).numpy()


def spectrogram(audio: tf.Tensor, settings: ModelSettings) -> tf.Tensor:
    """Power spectrogram `[batch, frames, 1 + fft/2]` of `[samples, batch]` audio."""
    return tf.raw_ops.AudioSpectrogram(input=audio,
                                       window_size=settings.window_size_samples,
                                       stride=settings.window_stride_samples,
                                       magnitude_squared=True)


def _spectrogram_geometry(frames: int, window_size_samples: int, feature_bin_count: int,
                          sample_rate: int) -> tuple[int, int, int]:
    return frames, feature_bin_count, -1


def _mfcc(audio: tf.Tensor, sample_rate: tf.Tensor, settings: ModelSettings) -> tf.Tensor:
    return tf.raw_ops.Mfcc(spectrogram=spectrogram(audio, settings),
                           sample_rate=tf.reshape(tf.cast(sample_rate, tf.int32), []),
                           upper_frequency_limit=MFCC_UPPER_FREQUENCY_LIMIT,
                           lower_frequency_limit=MFCC_LOWER_FREQUENCY_LIMIT,
                           filterbank_channel_count=MFCC_FILTERBANK_CHANNEL_COUNT,
                           dct_coefficient_count=settings.fingerprint_width)


def _average_geometry(frames: int, window_size_samples: int, feature_bin_count: int,
                      sample_rate: int) -> tuple[int, int, int]:
    fft_bin_count = 1 + next_power_of_two(window_size_samples) / 2
    average_window_width = int(math.floor(fft_bin_count / feature_bin_count))
    return frames, int(math.ceil(fft_bin_count / average_window_width)), average_window_width


def _average(audio: tf.Tensor, sample_rate: tf.Tensor, settings: ModelSettings) -> tf.Tensor:
    del sample_rate  # Pooling frequency bins does not depend on the rate.
    width = settings.average_window_width
    pooled = tf.nn.pool(tf.expand_dims(spectrogram(audio, settings), -1),
                        window_shape=[1, width], strides=[1, width], pooling_type="AVG",
                        padding="SAME")
    return tf.squeeze(pooled, -1)


def _micro_frontend_op():
    """The microfrontend op module, shipped (as a custom-op .so) inside the TF wheel."""
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op
    return audio_microfrontend_op


def _micro(audio: tf.Tensor, sample_rate: tf.Tensor, settings: ModelSettings) -> tf.Tensor:
    del sample_rate  # The op takes the rate as a static attribute.
    op = _micro_frontend_op()
    rate = settings.sample_rate
    window_size_ms = int(settings.window_size_samples * 1000 / rate)
    window_step_ms = int(settings.window_stride_samples * 1000 / rate)

    def one_clip(clip: tf.Tensor) -> tf.Tensor:
        samples = tf.cast(clip * MICRO_INT16_SCALE, tf.int16)
        frames = op.audio_microfrontend(samples, sample_rate=rate,
                                        window_size=window_size_ms, window_step=window_step_ms,
                                        num_channels=settings.fingerprint_width,
                                        out_scale=1, out_type=tf.float32)
        return frames * MICRO_OUTPUT_SCALE

    shape = [settings.spectrogram_length, settings.fingerprint_width]
    return tf.map_fn(one_clip, tf.transpose(audio),
                     fn_output_signature=tf.TensorSpec(shape, tf.float32))


def pad_to_context(audio: tf.Tensor) -> tf.Tensor:
    """float32 `[samples, batch]` -> `[batch, CONTEXT_SAMPLES]`: zeros in front (or the
    start cut off when the clip is longer than the context)."""
    clips = tf.transpose(audio)[:, -CONTEXT_SAMPLES:]
    padding = CONTEXT_SAMPLES - tf.shape(clips)[1]
    return tf.pad(clips, [[0, 0], [padding, 0]])


_EMBEDDING_MODELS: dict[str, object] = {}


def embedding_model():
    """The pretrained speech embedding (frozen), loaded once per process."""
    if "frozen" not in _EMBEDDING_MODELS:
        with tf.init_scope():  # Variables are made eagerly even when first asked in a graph.
            _EMBEDDING_MODELS["frozen"] = speech_embedding.load(trainable=False)
    return _EMBEDDING_MODELS["frozen"]


def trainable_embedding_model():
    """A fresh pretrained speech embedding whose weights a training run may change."""
    return speech_embedding.load(trainable=True)


def _check_embedding_rate(sample_rate: int) -> None:
    if sample_rate != speech_embedding.SAMPLE_RATE:
        raise ValueError(f"the speech embedding front ends need --sample_rate="
                         f"{speech_embedding.SAMPLE_RATE}, got {sample_rate}")


def _embedding_geometry(frames: int, window_size_samples: int, feature_bin_count: int,
                        sample_rate: int) -> tuple[int, int, int]:
    _check_embedding_rate(sample_rate)
    return CONTEXT_EMBEDDINGS, speech_embedding.EMBEDDING_SIZE, -1


def _embedding(audio: tf.Tensor, sample_rate: tf.Tensor, settings: ModelSettings) -> tf.Tensor:
    """`[samples, batch]` -> the 16 speech embeddings of each padded clip `[batch, 16, 96]`."""
    del sample_rate  # The embedding is defined at 16 kHz only (checked in the settings).
    vectors = embedding_model()(pad_to_context(audio), training=False)
    return tf.reshape(vectors, [-1, CONTEXT_EMBEDDINGS, speech_embedding.EMBEDDING_SIZE])


def _waveform_geometry(frames: int, window_size_samples: int, feature_bin_count: int,
                       sample_rate: int) -> tuple[int, int, int]:
    _check_embedding_rate(sample_rate)
    return 1, CONTEXT_SAMPLES, -1


def _waveform(audio: tf.Tensor, sample_rate: tf.Tensor, settings: ModelSettings) -> tf.Tensor:
    """`[samples, batch]` -> the padded clips `[batch, 1, CONTEXT_SAMPLES]`."""
    del sample_rate
    return pad_to_context(audio)[:, tf.newaxis]


register("mfcc", Frontend(_spectrogram_geometry, _mfcc, features_range=(-247.0, 30.0)))
register("average", Frontend(_average_geometry, _average, features_range=(0.0, 127.5)))
register("micro", Frontend(_spectrogram_geometry, _micro, features_range=(0.0, 26.0),
                           stock_tflite_ops=False))
register("embedding", Frontend(_embedding_geometry, _embedding, frozen_embedding=True))
register("waveform", Frontend(_waveform_geometry, _waveform, embedding_in_model=True))
