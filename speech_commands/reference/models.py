"""The reference's `models` module: its functions, over the Keras builders of `architectures`.

    settings = models.prepare_model_settings(12, 16000, 1000, 30, 10, 40, "mfcc")
    settings["fingerprint_size"]  # 3920
    logits, dropout_rate = models.create_model(fingerprints, settings, "conv", True)

earshot's own code passes the typed `settings.ModelSettings` (`features.model_settings`) and
builds Keras models (`architectures.build_model`); these are the reference's forms of the
same calls. `create_model` builds a fresh Keras model and applies it to `fingerprint_input`:
eagerly that gives the logits' values; on a `keras.Input` it gives the symbolic logits, so
`keras.Model(fingerprint_input, logits)` is the TF2 counterpart of the reference's graph.
"""

from __future__ import annotations

from typing import Any, Mapping

import tensorflow as tf

from speech_commands import architectures, features
from speech_commands.settings import ModelSettings

ModelSettingsLike = ModelSettings | Mapping[str, Any]


def prepare_model_settings(label_count: int, sample_rate: int, clip_duration_ms: float,
                           window_size_ms: float, window_stride_ms: float,
                           feature_bin_count: int, preprocess: str) -> dict:
    """The reference's settings dict (`features.model_settings(...).as_dict()`)."""
    return features.model_settings(label_count, sample_rate, clip_duration_ms, window_size_ms,
                                   window_stride_ms, feature_bin_count, preprocess).as_dict()


def create_model(fingerprint_input, model_settings: ModelSettingsLike, model_architecture: str,
                 is_training: bool, runtime_settings: Mapping[str, Any] | None = None):
    """Logits of `model_architecture` for `fingerprint_input` float32 `[batch, fingerprint_size]`.

    Args:
      model_settings: the reference's dict (`prepare_model_settings`) or typed settings.
      is_training: dropout active (Keras `training=True`).
      runtime_settings: the reference's `{'clip_stride_ms': ...}` for low_latency_svdf's
        frame-by-frame memory; earshot's SVDF scores whole clips, so it is not needed.

    Returns:
      logits `[batch, label_count]`, and when `is_training` also the dropout rate (a float32
      scalar tensor, the rate the model's dropout layers drop at: the reference's placeholder
      was fed this value while training).

    Raises:
      ValueError: `model_architecture` not recognized.
    """
    del runtime_settings  # Whole-clip scoring needs no streaming stride.
    model = architectures.build_model(features.model_settings_from(model_settings),
                                      model_architecture)
    logits = model(fingerprint_input, training=is_training)
    if is_training:
        return logits, tf.constant(architectures.DEFAULT_DROPOUT_RATE, tf.float32)
    return logits


def create_single_fc_model(fingerprint_input, model_settings: ModelSettingsLike,
                           is_training: bool):
    return create_model(fingerprint_input, model_settings, "single_fc", is_training)


def create_conv_model(fingerprint_input, model_settings: ModelSettingsLike, is_training: bool):
    return create_model(fingerprint_input, model_settings, "conv", is_training)


def create_low_latency_conv_model(fingerprint_input, model_settings: ModelSettingsLike,
                                  is_training: bool):
    return create_model(fingerprint_input, model_settings, "low_latency_conv", is_training)


def create_low_latency_svdf_model(fingerprint_input, model_settings: ModelSettingsLike,
                                  is_training: bool, runtime_settings: Mapping[str, Any]):
    return create_model(fingerprint_input, model_settings, "low_latency_svdf", is_training,
                        runtime_settings)


def create_tiny_conv_model(fingerprint_input, model_settings: ModelSettingsLike,
                           is_training: bool):
    return create_model(fingerprint_input, model_settings, "tiny_conv", is_training)


def create_tiny_embedding_conv_model(fingerprint_input, model_settings: ModelSettingsLike,
                                     is_training: bool):
    return create_model(fingerprint_input, model_settings, "tiny_embedding_conv", is_training)
