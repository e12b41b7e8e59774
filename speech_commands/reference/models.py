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

import dataclasses
from typing import Any, Mapping

import tensorflow as tf

from earshot.audio import SAMPLE_RATE
from speech_commands import architectures, features
from speech_commands.settings import ModelSettings

ModelSettingsLike = ModelSettings | Mapping[str, Any]


def typed_settings(model_settings: ModelSettingsLike) -> ModelSettings:
    """Typed settings from the reference's `model_settings` dict (or typed ones, unchanged).

    The reference's own tests and tools pass partial dicts (`desired_samples`, window and
    stride, `fingerprint_width`, `preprocess`, ...) to functions that read only some keys.
    Keys given are kept as given; missing ones are derived as `prepare_model_settings`
    would: `sample_rate` 16000 (the reference's default), `feature_bin_count` =
    `fingerprint_width`, `label_count` 0, and the front end's geometry for the rest.

    Raises:
      ValueError: a key that is not a model setting, or no `preprocess`.
    """
    if isinstance(model_settings, ModelSettings):
        return model_settings
    given = dict(model_settings)
    unknown = sorted(set(given) - {field.name for field in dataclasses.fields(ModelSettings)})
    if unknown:
        raise ValueError(f"not model settings: {', '.join(unknown)}")
    if "preprocess" not in given:
        raise ValueError("model settings need a 'preprocess' mode")
    derived = features.settings_in_samples(
        given.get("label_count", 0), given.get("sample_rate", SAMPLE_RATE),
        given["desired_samples"], given["window_size_samples"], given["window_stride_samples"],
        given.get("feature_bin_count", given.get("fingerprint_width")), given["preprocess"])
    return dataclasses.replace(derived, **given)


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
    model = architectures.build_model(typed_settings(model_settings), model_architecture)
    logits = model(fingerprint_input, training=is_training)
    if is_training:
        return logits, tf.constant(architectures.DEFAULT_DROPOUT_RATE, tf.float32)
    return logits
