"""The reference's per-clip processing graph, and one WAV file's features through it.

The reference featurizes each clip in a TF1 graph fed six placeholders (file name, volume,
time-shift padding and offset, background noise and its volume). `process_clip` is that graph
as a function, `processing_graph` wraps it in a `tf.function` whose inputs carry the
placeholders' names, and `wav_features` runs it without augmentation: what the reference's
`wav_to_features` writes as a C array, and the yardstick earshot's batched NumPy pipeline
(`batches.BatchSource`) is tested against.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from earshot import audio
from speech_commands import features
from speech_commands.settings import ModelSettings


def load_wav(path: str) -> np.ndarray:
    """A WAV file's samples as float32 `[samples]` in [-1, 1], at the file's own rate.

    Channels are averaged (the reference's DecodeWav keeps the first).

    Raises:
      earshot.audio.AudioError: missing, unreadable, empty or NaN audio.
    """
    samples, _ = audio.read_file(path)
    return audio.check_waveform(audio.to_mono(samples), path)


def process_clip(settings: ModelSettings, wav_filename: tf.Tensor, foreground_volume: tf.Tensor,
                 time_shift_padding: tf.Tensor, time_shift_offset: tf.Tensor,
                 background_data: tf.Tensor, background_volume: tf.Tensor) -> tf.Tensor:
    """The reference's per-clip processing graph.

    Reads and decodes `wav_filename` (16-bit PCM WAV, padded or cut to `desired_samples`),
    scales it by `foreground_volume`, shifts it by padding `[[before, after], [0, 0]]` and
    slicing at `[offset, 0]`, adds `background_data` `[desired_samples, 1]` times
    `background_volume`, clips to [-1, 1] and featurizes with the file's sample rate.

    Returns:
      float32 `[1, spectrogram_length, fingerprint_width]`.
    """
    decoded = tf.audio.decode_wav(tf.io.read_file(wav_filename), desired_channels=1,
                                  desired_samples=settings.desired_samples)
    scaled = decoded.audio * foreground_volume
    shifted = tf.slice(tf.pad(scaled, time_shift_padding, mode="CONSTANT"), time_shift_offset,
                       [settings.desired_samples, -1])
    mixed = tf.clip_by_value(shifted + background_data * background_volume, -1.0, 1.0)
    return features.compute(mixed, decoded.sample_rate, settings)


def processing_graph(settings: ModelSettings) -> tf.types.experimental.GenericFunction:
    """`process_clip` for `settings` as a `tf.function` whose six inputs are named as the
    reference's placeholders (`wav_filename`, ..., `background_volume`); traced on first use."""
    desired = settings.desired_samples
    return tf.function(functools.partial(process_clip, settings), input_signature=[
        tf.TensorSpec([], tf.string, name="wav_filename"),
        tf.TensorSpec([], tf.float32, name="foreground_volume"),
        tf.TensorSpec([2, 2], tf.int32, name="time_shift_padding"),
        tf.TensorSpec([2], tf.int32, name="time_shift_offset"),
        tf.TensorSpec([desired, 1], tf.float32, name="background_data"),
        tf.TensorSpec([], tf.float32, name="background_volume")])


def wav_features(graph: tf.types.experimental.GenericFunction, settings: ModelSettings,
                 path: str) -> np.ndarray:
    """One WAV file through `graph` (`processing_graph(settings)`) without augmentation.

    The file is decoded as DecodeWav does (16-bit PCM WAV, padded or cut to the clip length,
    featurized at the file's own rate).

    Returns:
      float32 `[1, spectrogram_length, fingerprint_width]`.

    Raises:
      earshot.audio.AudioError: missing, unreadable, empty or NaN audio, or not a WAV
        DecodeWav reads.
    """
    load_wav(path)  # One clear error for a bad file, before TF sees it.
    desired = settings.desired_samples
    try:
        output = graph(tf.constant(path), tf.constant(1.0), tf.zeros([2, 2], tf.int32),
                       tf.zeros([2], tf.int32), tf.zeros([desired, 1]), tf.constant(0.0))
    except tf.errors.InvalidArgumentError as error:
        raise audio.AudioError(f"{path}: {error.message}") from error
    return output.numpy()
