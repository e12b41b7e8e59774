r"""Writes the VGGish network for a runtime without TensorFlow: TFLite (LiteRT) or ONNX.

    python -m vggish.export_network --output=vggish_int8.tflite [--format=tflite|onnx] \
        [--quantization=int8|dynamic_range|float32] [--model_dir=DIR] \
        [--calibration_audio=a.wav,b.flac]

Both formats map log-mel examples float32 `[N, 96, 64]` to embeddings float32 `[N, 128]`, and
`vggish.examples_embedder` runs either on audio with the NumPy front end. `--format` defaults
to the output's extension. `int8` calibrates activation ranges on `vggish.calibration`'s
synthetic signals plus `--calibration_audio`; `dynamic_range` (int8 weights only) is TFLite's.
"""

from __future__ import annotations

import os
from typing import Callable, NamedTuple

from absl import app, flags, logging

from earshot import cli, fileio
from earshot.errors import UserError
from vggish import calibration, onnx_model, tflite, weights


class Format(NamedTuple):
    quantizations: tuple[str, ...]
    write: Callable[..., str]  # (model, output, quantization, calibration_examples) -> path


FORMATS = {"tflite": Format(tflite.QUANTIZATIONS, tflite.write),
           "onnx": Format(onnx_model.QUANTIZATIONS, onnx_model.write)}
QUANTIZATIONS = ("float32", "dynamic_range", "int8")


def output_format(output: str, format_name: str | None) -> str:
    """`format_name`, or the one named by `output`'s extension; UserError if neither is known."""
    if format_name is None:
        format_name = os.path.splitext(output)[1].lstrip(".")
        if format_name not in FORMATS:
            raise UserError(f"--output={output}: cannot tell the format from the extension; "
                            f"give --format={'|'.join(FORMATS)}")
    return format_name


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    fileio.check_output(FLAGS.output)
    format_name = output_format(FLAGS.output, FLAGS.format)
    chosen = FORMATS[format_name]
    if FLAGS.quantization not in chosen.quantizations:
        raise UserError(f"--quantization={FLAGS.quantization} is not available for "
                        f"--format={format_name}; use one of {', '.join(chosen.quantizations)}")
    model = weights.load(FLAGS.model_dir)
    examples = calibration.for_quantization(FLAGS.quantization, FLAGS.calibration_audio)
    path = chosen.write(model, FLAGS.output, FLAGS.quantization, examples)
    logging.info("wrote %s (%s %s, %.1f MB)", path, format_name, FLAGS.quantization,
                 os.path.getsize(path) / 1e6)


def define_flags() -> None:
    flags.DEFINE_string("output", None, ".tflite or .onnx file to write.", required=True)
    flags.DEFINE_enum("format", None, list(FORMATS), "tflite: for LiteRT (Android, Raspberry "
                      "Pi); onnx: for ONNX Runtime (fastest on x86). Default: from --output.")
    flags.DEFINE_enum("quantization", "int8", QUANTIZATIONS, "float32: exact; dynamic_range "
                      "(tflite only): int8 weights; int8: int8 weights and activations.")
    flags.DEFINE_string("model_dir", None, "Folder from `python -m vggish.convert`; "
                        "default: the cached weights.")
    flags.DEFINE_string("calibration_audio", "", "Comma-separated audio files added to the "
                        "synthetic calibration signals for --quantization=int8.")


if __name__ == "__main__":
    define_flags()
    weights.define_flags()
    cli.run(main)
