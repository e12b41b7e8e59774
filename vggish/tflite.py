r"""VGGish as TFLite: float32, dynamic-range or full-int8 models of the network.

    python -m vggish.tflite --output=vggish_int8.tflite --quantization=int8 \
        [--weights_path=DIR] [--calibration_audio=a.wav,b.flac]

The TFLite model maps log-mel examples float32 `[N, 96, 64]` to embeddings float32
`[N, 128]` (quantization happens inside); the front end stays in `vggish.features`, since
TFLite has no float64 FFT. `int8` quantizes weights and activations with ranges measured on
calibration audio (`vggish.calibration`: synthetic signals, plus `--calibration_audio`);
`dynamic_range` quantizes weights only. `TfliteEmbedder` runs such a file on audio.
"""

from __future__ import annotations

from typing import Iterator, Optional

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging

from earshot import fileio
from vggish import calibration, examples_embedder, weights

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
    return converter.convert()


class TfliteEmbedder(examples_embedder.ExamplesEmbedder):
    """Runs a VGGish TFLite file on audio; same inputs and outputs as `vggish.embed`."""

    kind, maker = "TFLite", "vggish.tflite"

    def __init__(self, model_path: str, num_threads: Optional[int] = None,
                 pca_params_path: Optional[str] = None):
        """`pca_params_path` is needed only for `postprocess=True`."""
        super().__init__(model_path, pca_params_path)
        self.interpreter = tf.lite.Interpreter(model_path=model_path, num_threads=num_threads)
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]
        self._batch = 0

    def embed_examples(self, examples: np.ndarray) -> np.ndarray:
        """float32 `[N, 96, 64]` -> float32 `[N, 128]`."""
        if len(examples) != self._batch:
            self.interpreter.resize_tensor_input(self._input, examples.shape)
            self.interpreter.allocate_tensors()
            self._batch = len(examples)
        self.interpreter.set_tensor(self._input, np.ascontiguousarray(examples, np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output).copy()


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    model = weights.load(FLAGS.weights_path)
    examples = calibration.for_quantization(FLAGS.quantization, FLAGS.calibration_audio)
    flatbuffer = to_tflite(model, FLAGS.quantization, examples)
    with fileio.atomic_open(FLAGS.output, "wb") as file:
        file.write(flatbuffer)
    logging.info("wrote %s (%s, %.1f MB)", FLAGS.output, FLAGS.quantization,
                 len(flatbuffer) / 1e6)


if __name__ == "__main__":
    flags.DEFINE_string("output", None, ".tflite file to write.", required=True)
    flags.DEFINE_enum("quantization", "int8", QUANTIZATIONS, "float32: exact; dynamic_range: "
                      "int8 weights; int8: int8 weights and activations (fastest).")
    flags.DEFINE_string("weights_path", None, "Folder from `python -m vggish.convert`; "
                        "default: the cached weights.")
    flags.DEFINE_string("calibration_audio", "", "Comma-separated audio files added to the "
                        "synthetic calibration signals for --quantization=int8.")
    app.run(main)
