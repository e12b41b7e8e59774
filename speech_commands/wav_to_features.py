r"""Writes the features of a WAV file as a C source array, for on-device feature code tests.

    python -m speech_commands.wav_to_features --input_wav=my.wav --output_c_file=my_wav_data.c \
        --preprocess=micro --window_stride_ms=20 --quantize

The reference's tool: the clip goes through the training pipeline's features (no
augmentation) and the file defines `g_<name>_width`, `g_<name>_height` and `g_<name>_data`
(float, or `unsigned char` scaled over the front end's range with `--quantize`), `<name>`
being the WAV's file name. TFLite Micro's micro_speech compares its own front end's output
with such an array. `wav_to_features` is the reference's function, with its arguments.
"""

from __future__ import annotations

import numpy as np
from absl import flags, logging

from earshot import cli, fileio
from speech_commands import c_source, features

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_integer("sample_rate", 16000, "Expected sample rate of the wavs.")
    flags.DEFINE_integer("clip_duration_ms", 1000, "Expected duration in milliseconds of the "
                         "wavs.")
    flags.DEFINE_float("window_size_ms", 30.0, "How long each spectrogram timeslice is.")
    flags.DEFINE_float("window_stride_ms", 10.0, "How far to move in time between spectrogram "
                       "timeslices.")
    flags.DEFINE_integer("feature_bin_count", 40, "How many bins to use for the fingerprint.")
    flags.DEFINE_bool("quantize", False, "Write unsigned char values scaled over the front "
                      "end's range, as the eight-bit models take them.")
    flags.DEFINE_enum("preprocess", "mfcc", features.names(), "Spectrogram processing mode.")
    flags.DEFINE_string("input_wav", None, "Path to the audio WAV file to read.", required=True)
    flags.DEFINE_string("output_c_file", None, "Where to save the generated C source file "
                        "containing the features.", required=True)


def wav_to_features(sample_rate: int, clip_duration_ms: float, window_size_ms: float,
                    window_stride_ms: float, feature_bin_count: int, quantize: bool,
                    preprocess: str, input_wav: str, output_c_file: str) -> np.ndarray:
    """The reference's `wav_to_features`: writes the features of `input_wav` as a C source
    file (`c_source.write_features`), its header the command that made it.

    Returns:
      the float32 features `[spectrogram_length, fingerprint_width]` written.
    """
    settings = features.model_settings(0, sample_rate, clip_duration_ms, window_size_ms,
                                       window_stride_ms, feature_bin_count, preprocess)
    header = ["speech_commands/wav_to_features.py", "--sample_rate=%d" % sample_rate,
              "--clip_duration_ms=%d" % clip_duration_ms, "--window_size_ms=%d" % window_size_ms,
              "--window_stride_ms=%d" % window_stride_ms,
              "--feature_bin_count=%d" % feature_bin_count]
    header += ["--quantize=1"] if quantize else []
    header += [f'--preprocess="{preprocess}"', f'--input_wav="{input_wav}"',
               f'--output_c_file="{output_c_file}"']
    return c_source.write_features(settings, quantize, input_wav, output_c_file, header)


def main(argv):
    del argv
    fileio.check_output(FLAGS.output_c_file)
    wav_to_features(FLAGS.sample_rate, FLAGS.clip_duration_ms, FLAGS.window_size_ms,
                    FLAGS.window_stride_ms, FLAGS.feature_bin_count, FLAGS.quantize,
                    FLAGS.preprocess, FLAGS.input_wav, FLAGS.output_c_file)
    logging.info('Wrote to "%s"', FLAGS.output_c_file)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
