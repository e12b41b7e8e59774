"""earshot.tensorboard: what it writes is what TensorBoard's event reader gets back."""

import glob
import os

import numpy as np
import tensorflow as tf

from earshot import tensorboard


def _events(logdir):
    [path] = glob.glob(os.path.join(logdir, "events.*"))
    return [(event.step, value) for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value]


def test_scalars_and_images_read_back(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    tensorboard.scalar(writer, "loss/triplet", 0.25, 3)
    tensorboard.scalar(writer, "loss/triplet", np.float32(0.125), 4)
    pixels = np.array([[-1.0, 0.0], [1.0, 3.0]])
    tensorboard.image(writer, "mfcc/0", pixels, 0)
    writer.flush()
    scalars, [(image_step, image)] = (
        [(step, value) for step, value in _events(tmp_path) if value.HasField("simple_value")],
        [(step, value) for step, value in _events(tmp_path) if value.HasField("image")])
    assert [(step, value.tag, value.simple_value) for step, value in scalars] == [
        (3, "loss/triplet", 0.25), (4, "loss/triplet", 0.125)]
    assert (image_step, image.tag, image.image.height, image.image.width) == (0, "mfcc/0", 2, 2)
    decoded = tf.io.decode_png(image.image.encoded_image_string).numpy()[..., 0]
    np.testing.assert_array_equal(decoded, [[0, 64], [128, 255]])
