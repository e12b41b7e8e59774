"""TensorBoard event files without the tensorboard package: the one way trainers log.

`tf.summary.scalar` / `image` need the tensorboard package installed; the classic `Summary`
protos written through `write_raw_pb` need only TensorFlow, and TensorBoard reads them the
same way. Writers come from `tf.summary.create_file_writer(logdir)`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _write(writer: tf.summary.SummaryWriter, value: tf.compat.v1.Summary.Value,
           step: int) -> None:
    summary = tf.compat.v1.Summary(value=[value])
    with writer.as_default():
        tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=step)


def scalar(writer: tf.summary.SummaryWriter, tag: str, value: float, step: int) -> None:
    """One scalar (stored as float32) at `step`."""
    _write(writer, tf.compat.v1.Summary.Value(tag=tag, simple_value=float(value)), step)


def image(writer: tf.summary.SummaryWriter, tag: str, pixels: np.ndarray, step: int) -> None:
    """A grey PNG of float `[height, width]` values, scaled so they fill 0..255."""
    low, high = float(pixels.min()), float(pixels.max())
    grey = np.round((pixels - low) / max(high - low, 1e-9) * 255).astype(np.uint8)
    png = tf.io.encode_png(grey[..., np.newaxis]).numpy()
    encoded = tf.compat.v1.Summary.Image(height=grey.shape[0], width=grey.shape[1], colorspace=1,
                                         encoded_image_string=png)
    _write(writer, tf.compat.v1.Summary.Value(tag=tag, image=encoded), step)
