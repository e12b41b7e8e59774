"""VGGish as TFLite: float32, dynamic-range or full-int8 models of the network.

Written by `python -m vggish.export_network --format=tflite`. The TFLite model maps log-mel
examples float32 `[N, 96, 64]` to embeddings float32 `[N, 128]` (quantization happens
inside); the front end stays outside (`vggish.numpy_features`), since TFLite has no float64
FFT. `int8` quantizes weights and activations with ranges measured on calibration audio
(`vggish.calibration`: synthetic signals, plus `--calibration_audio`); `dynamic_range`
quantizes weights only. `vggish.examples_embedder.TfliteEmbedder` runs such a file on audio
with LiteRT, without TensorFlow.
"""

from __future__ import annotations

import os
from typing import Iterator, Optional

import keras
import numpy as np
import tensorflow as tf

from earshot import fileio, quiet
from vggish import calibration

QUANTIZATIONS = ("float32", "dynamic_range", "int8")


def to_tflite(model: keras.Model, quantization: str = "int8",
              calibration_examples: Optional[np.ndarray] = None) -> bytes:
    """Converts the Keras VGGish to a TFLite flatbuffer.

    Args:
      model: `vggish.load()` or any model of `vggish.model.vggish()`.
      quantization: "float32", "dynamic_range" (int8 weights, float activations) or "int8"
        (int8 weights and activations, float32 input and output).
      calibration_examples: float32 `[N, 96, 64]` examples for "int8" ranges; default
        `vggish.calibration.examples()`.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; use one of "
                         f"{', '.join(QUANTIZATIONS)}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "int8":
        examples = (calibration.examples() if calibration_examples is None
                    else calibration_examples)

        def representative_dataset() -> Iterator[list[np.ndarray]]:
            for example in examples:
                yield [example[None]]

        converter.representative_dataset = representative_dataset
    with quiet.native_stderr_silenced():  # the quantizer's "fully_quantize: 0, ..." line
        return converter.convert()


def write(model: keras.Model, output: str, quantization: str = "int8",
          calibration_examples: Optional[np.ndarray] = None) -> str:
    """Writes the TFLite model (atomically) and returns the absolute path; args of `to_tflite`."""
    flatbuffer = to_tflite(model, quantization, calibration_examples)
    with fileio.atomic_open(output, "wb") as file:
        file.write(flatbuffer)
    return os.path.abspath(output)
