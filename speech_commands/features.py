"""Audio -> fingerprint: the model settings and the `--preprocess` front ends.

The reference computes features with the TF ops `AudioSpectrogram` and `Mfcc` (or the
micro frontend); re-deriving them with `tf.signal` gives different numbers (periodic Hann
with a power-of-two FFT, a sqrt-magnitude HTK mel bank, a natural-log floor of 1e-12), so
this module calls the very same ops. `AudioSpectrogram` treats its second axis as channels,
which lets a whole batch of clips go through one op call: audio here is laid out
`[samples, batch]` for that reason, and it is also the `[16000, 1]` layout of the Android
model's input.

A front end is registered by name (`register`) with a width function and a compute
function, so another feature extractor plugs into `prepare_model_settings`, training and
freezing without touching them. Two such front ends feed the `embedding_head` architecture:
`embedding` (the frozen speech_embedding's vectors) and `waveform` (the padded audio itself,
for a model that holds the embedding so it can be fine-tuned).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import tensorflow as tf

# Mfcc op attributes used by the reference (all at the op's defaults except the DCT count).
MFCC_UPPER_FREQUENCY_LIMIT = 4000.0
MFCC_LOWER_FREQUENCY_LIMIT = 20.0
MFCC_FILTERBANK_CHANNEL_COUNT = 40
# The micro frontend's float output is scaled by this to land in roughly [0, 26].
MICRO_OUTPUT_SCALE = 10.0 / 256.0
# int16 scale the reference's training uses before the micro frontend; its freeze.py uses
# 32767, here training and inference share 32768 so they see the same numbers.
MICRO_INT16_SCALE = 32768.0

# Ranges of each front end's output, used to quantize fingerprints (`get_features_range`).
FEATURES_RANGE = {"average": (0.0, 127.5), "mfcc": (-247.0, 30.0), "micro": (0.0, 26.0)}

# Speech embedding context: 16 vectors, 80 ms apart, need 12400 + 15 * 1280 = 31600 samples
# (1.975 s). A 1 s clip is zero-padded in front to that length, so the clip ends where the
# streaming detector's window ends and a word is scored as soon as it is over.
CONTEXT_EMBEDDINGS = 16
EMBEDDING_MIN_SAMPLES = 12400
EMBEDDING_HOP_SAMPLES = 1280
EMBEDDING_SIZE = 96
CONTEXT_SAMPLES = EMBEDDING_MIN_SAMPLES + (CONTEXT_EMBEDDINGS - 1) * EMBEDDING_HOP_SAMPLES

ComputeFn = Callable[[tf.Tensor, tf.Tensor, dict], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class Frontend:
    """A `--preprocess` choice.

    Attributes:
      fingerprint_width: settings-so-far -> (features per frame, average_window_width).
      compute: (audio float32 `[samples, batch]` in [-1, 1], sample_rate int32 scalar tensor,
        model_settings) -> float32 `[batch, spectrogram_length, fingerprint_width]`.
    """

    fingerprint_width: Callable[[dict, int], tuple[int, int]]
    compute: ComputeFn


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


def next_power_of_two(x: int) -> int:
    """Smallest power of two >= x (the FFT length AudioSpectrogram uses); 1 for 0."""
    return 1 if x == 0 else 2 ** (int(x) - 1).bit_length()


def prepare_model_settings(label_count: int, sample_rate: int, clip_duration_ms: float,
                           window_size_ms: float, window_stride_ms: float, feature_bin_count: int,
                           preprocess: str) -> dict:
    """The reference's `models.prepare_model_settings`, formula for formula.

    Defaults (16 kHz, 1000 ms, 30/10 ms, 40 bins, mfcc) give 98 frames x 40 = 3920 features.
    """
    desired_samples = int(sample_rate * clip_duration_ms / 1000)
    window_size_samples = int(sample_rate * window_size_ms / 1000)
    window_stride_samples = int(sample_rate * window_stride_ms / 1000)
    length_minus_window = desired_samples - window_size_samples
    if length_minus_window < 0:
        spectrogram_length = 0
    else:
        spectrogram_length = 1 + int(length_minus_window / window_stride_samples)
    settings = {
        "desired_samples": desired_samples,
        "window_size_samples": window_size_samples,
        "window_stride_samples": window_stride_samples,
        "spectrogram_length": spectrogram_length,
        "feature_bin_count": feature_bin_count,
        "label_count": label_count,
        "sample_rate": sample_rate,
        "preprocess": preprocess,
    }
    fingerprint_width, average_window_width = get(preprocess).fingerprint_width(
        settings, feature_bin_count)
    settings.update(fingerprint_width=fingerprint_width,
                    fingerprint_size=fingerprint_width * settings["spectrogram_length"],
                    average_window_width=average_window_width)
    return settings


def get_features_range(model_settings: dict) -> tuple[float, float]:
    """(min, max) of the front end's output, for fake-quantizing fingerprints."""
    preprocess = model_settings["preprocess"]
    if preprocess not in FEATURES_RANGE:
        raise ValueError(f'No feature range known for preprocess mode "{preprocess}"')
    return FEATURES_RANGE[preprocess]


def compute(audio: tf.Tensor, sample_rate: tf.Tensor, model_settings: dict) -> tf.Tensor:
    """float32 `[samples, batch]` audio -> float32 `[batch, frames, fingerprint_width]`."""
    return get(model_settings["preprocess"]).compute(audio, sample_rate, model_settings)


def spectrogram(audio: tf.Tensor, model_settings: dict) -> tf.Tensor:
    """Power spectrogram `[batch, frames, 1 + fft/2]` of `[samples, batch]` audio."""
    return tf.raw_ops.AudioSpectrogram(input=audio,
                                       window_size=model_settings["window_size_samples"],
                                       stride=model_settings["window_stride_samples"],
                                       magnitude_squared=True)


def _spectrogram_width(model_settings: dict, feature_bin_count: int) -> tuple[int, int]:
    return feature_bin_count, -1


def _mfcc(audio: tf.Tensor, sample_rate: tf.Tensor, model_settings: dict) -> tf.Tensor:
    return tf.raw_ops.Mfcc(spectrogram=spectrogram(audio, model_settings),
                           sample_rate=tf.reshape(tf.cast(sample_rate, tf.int32), []),
                           upper_frequency_limit=MFCC_UPPER_FREQUENCY_LIMIT,
                           lower_frequency_limit=MFCC_LOWER_FREQUENCY_LIMIT,
                           filterbank_channel_count=MFCC_FILTERBANK_CHANNEL_COUNT,
                           dct_coefficient_count=model_settings["fingerprint_width"])


def _average_width(model_settings: dict, feature_bin_count: int) -> tuple[int, int]:
    fft_bin_count = 1 + next_power_of_two(model_settings["window_size_samples"]) / 2
    average_window_width = int(math.floor(fft_bin_count / feature_bin_count))
    return int(math.ceil(fft_bin_count / average_window_width)), average_window_width


def _average(audio: tf.Tensor, sample_rate: tf.Tensor, model_settings: dict) -> tf.Tensor:
    del sample_rate  # Pooling frequency bins does not depend on the rate.
    width = model_settings["average_window_width"]
    pooled = tf.nn.pool(tf.expand_dims(spectrogram(audio, model_settings), -1),
                        window_shape=[1, width], strides=[1, width], pooling_type="AVG",
                        padding="SAME")
    return tf.squeeze(pooled, -1)


def _micro_frontend_op():
    """The microfrontend op module, shipped (as a custom-op .so) inside the TF wheel."""
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op
    return audio_microfrontend_op


def _micro(audio: tf.Tensor, sample_rate: tf.Tensor, model_settings: dict) -> tf.Tensor:
    del sample_rate  # The op takes the rate as a static attribute.
    op = _micro_frontend_op()
    rate = model_settings["sample_rate"]
    window_size_ms = int(model_settings["window_size_samples"] * 1000 / rate)
    window_step_ms = int(model_settings["window_stride_samples"] * 1000 / rate)

    def one_clip(clip: tf.Tensor) -> tf.Tensor:
        samples = tf.cast(clip * MICRO_INT16_SCALE, tf.int16)
        frames = op.audio_microfrontend(samples, sample_rate=rate,
                                        window_size=window_size_ms, window_step=window_step_ms,
                                        num_channels=model_settings["fingerprint_width"],
                                        out_scale=1, out_type=tf.float32)
        return frames * MICRO_OUTPUT_SCALE

    shape = [model_settings["spectrogram_length"], model_settings["fingerprint_width"]]
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
        import speech_embedding  # Heavy and needs fetched weights: only when asked for.
        with tf.init_scope():  # Variables are made eagerly even when first asked in a graph.
            _EMBEDDING_MODELS["frozen"] = speech_embedding.load(trainable=False)
    return _EMBEDDING_MODELS["frozen"]


def trainable_embedding_model():
    """A fresh pretrained speech embedding whose weights a training run may change."""
    import speech_embedding
    return speech_embedding.load(trainable=True)


def _check_embedding_rate(model_settings: dict) -> None:
    if model_settings["sample_rate"] != 16000:
        raise ValueError("the speech embedding front ends need --sample_rate=16000, got "
                         f"{model_settings['sample_rate']}")


def _embedding_width(model_settings: dict, feature_bin_count: int) -> tuple[int, int]:
    _check_embedding_rate(model_settings)
    model_settings["spectrogram_length"] = CONTEXT_EMBEDDINGS
    return EMBEDDING_SIZE, -1


def _embedding(audio: tf.Tensor, sample_rate: tf.Tensor, model_settings: dict) -> tf.Tensor:
    """`[samples, batch]` -> the 16 speech embeddings of each padded clip `[batch, 16, 96]`."""
    del sample_rate  # The embedding is defined at 16 kHz only (checked in the settings).
    vectors = embedding_model()(pad_to_context(audio), training=False)
    return tf.reshape(vectors, [-1, CONTEXT_EMBEDDINGS, EMBEDDING_SIZE])


def _waveform_width(model_settings: dict, feature_bin_count: int) -> tuple[int, int]:
    _check_embedding_rate(model_settings)
    model_settings["spectrogram_length"] = 1
    return CONTEXT_SAMPLES, -1


def _waveform(audio: tf.Tensor, sample_rate: tf.Tensor, model_settings: dict) -> tf.Tensor:
    """`[samples, batch]` -> the padded clips `[batch, 1, CONTEXT_SAMPLES]`."""
    del sample_rate
    return pad_to_context(audio)[:, tf.newaxis]


register("mfcc", Frontend(_spectrogram_width, _mfcc))
register("average", Frontend(_average_width, _average))
register("micro", Frontend(_spectrogram_width, _micro))
register("embedding", Frontend(_embedding_width, _embedding))
register("waveform", Frontend(_waveform_width, _waveform))
