r"""Renders a WAV file's spectrogram as a greyscale PNG, like the reference's C++ tool.

    python -m speech_commands.wav_to_spectrogram --input_wav=speech.wav \
        --output_image=spectrogram.png

AudioSpectrogram magnitudes (not squared) times `--brightness`, capped at 255; rows are
time (top to bottom), columns frequency (low to high).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from absl import flags, logging

from earshot import audio, cli, fileio
from earshot.errors import UserError

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("input_wav", None, "Audio file to load (WAV, FLAC, OGG, MP3).",
                        required=True)
    flags.DEFINE_integer("window_size", 256, "Frequency analysis window size, in samples.")
    flags.DEFINE_integer("stride", 128, "How far apart analysis windows are, in samples.")
    flags.DEFINE_float("brightness", 64.0, "Multiplier applied to the magnitudes.")
    flags.DEFINE_string("output_image", "spectrogram.png", "Where to write the PNG.")


def spectrogram_image(waveform: np.ndarray, window_size: int, stride: int,
                      brightness: float, name: str = "audio") -> np.ndarray:
    """float32 `[samples]` -> uint8 `[frames, 1 + fft/2]` image; `name` is the audio's, for
    errors."""
    if window_size <= 0 or stride <= 0:
        raise UserError(f"--window_size and --stride must be positive, got {window_size}, "
                        f"{stride}")
    if waveform.size < window_size:
        raise UserError(f"{name}: {waveform.size} samples is shorter than one window "
                        f"({window_size} samples)")
    magnitudes = tf.raw_ops.AudioSpectrogram(input=waveform[:, np.newaxis], window_size=window_size,
                                             stride=stride, magnitude_squared=False)[0]
    return tf.cast(tf.minimum(magnitudes * brightness, 255.0), tf.uint8).numpy()


def wav_to_spectrogram(input_wav: str, window_size: int, stride: int, brightness: float,
                       output_image: str) -> np.ndarray:
    """Writes the PNG; returns the image. The file's own sample rate is kept."""
    samples, rate = audio.read_file(input_wav)
    waveform = audio.check_waveform(audio.to_mono(samples), input_wav)
    image = spectrogram_image(waveform, window_size, stride, brightness, input_wav)
    with fileio.atomic_file(output_image) as staging:
        tf.io.write_file(staging, tf.io.encode_png(image[..., np.newaxis]))
    logging.info("Wrote %dx%d spectrogram of %s (%d Hz) to %s", image.shape[1], image.shape[0],
                 input_wav, rate, output_image)
    return image


def main(argv):
    del argv
    fileio.check_output(FLAGS.output_image)
    wav_to_spectrogram(FLAGS.input_wav, FLAGS.window_size, FLAGS.stride, FLAGS.brightness,
                       FLAGS.output_image)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
