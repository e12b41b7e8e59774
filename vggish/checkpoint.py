"""Reads Google's TF-Slim VGGish checkpoint into the Keras model.

The official `vggish_model.ckpt` is a V1 checkpoint (one file, no `.index`/`.data` pair);
re-saved copies are V2 (a prefix with `.index` and `.data-*` files). `tf.train.load_checkpoint`
reads both, so no TF1 graph or tf_slim is needed. The 18 tensors are copied verbatim: slim's
conv kernels are HWIO and its dense kernels `[inputs, units]`, as in Keras.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from earshot.errors import UserError
from vggish import model as model_lib

# Keras layer name -> variable scope in the reference graph.
SLIM_SCOPES = {
    "conv1": "vggish/conv1",
    "conv2": "vggish/conv2",
    "conv3_1": "vggish/conv3/conv3_1",
    "conv3_2": "vggish/conv3/conv3_2",
    "conv4_1": "vggish/conv4/conv4_1",
    "conv4_2": "vggish/conv4/conv4_2",
    "fc1_1": "vggish/fc1/fc1_1",
    "fc1_2": "vggish/fc1/fc1_2",
    "fc2": "vggish/fc2",
}


class CheckpointError(UserError, ValueError):
    """A checkpoint that is missing, unreadable, or does not hold VGGish's 18 tensors."""


def _reader(path: str) -> tf.train.CheckpointReader:
    if path.endswith(".gz"):
        raise CheckpointError(f"{path} is gzipped: run `gunzip -k {path}` and pass "
                              f"{path[:-3]}")
    if not (os.path.isfile(path) or os.path.isfile(path + ".index") or os.path.isdir(path)):
        raise CheckpointError(f"{path}: no such checkpoint (neither a V1 checkpoint file nor "
                              "a V2 prefix with a .index file)")
    try:
        return tf.train.load_checkpoint(path)
    except (tf.errors.OpError, ValueError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: not a readable TensorFlow checkpoint ({message})") \
            from error


def read_checkpoint(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """Reads the VGGish tensors of a V1 or V2 checkpoint.

    Args:
      path: a V1 checkpoint file (`vggish_model.ckpt`), a V2 prefix, or a folder holding a
        V2 checkpoint.

    Returns:
      Keras layer name -> `[kernel, bias]`, float32, with the shapes of `model.vggish()`.

    Raises:
      CheckpointError: unreadable, gzipped, or a VGGish tensor missing or of the wrong shape.
    """
    path = os.fspath(path)
    reader = _reader(path)
    available = reader.get_variable_to_shape_map()
    expected = model_lib.weight_shapes()
    problems, weights = [], {}
    for layer_name, scope in SLIM_SCOPES.items():
        arrays = []
        for suffix, shape in zip(("weights", "biases"), expected[layer_name]):
            name = f"{scope}/{suffix}"
            if name not in available:
                problems.append(f"{name} missing")
            elif tuple(available[name]) != shape:
                problems.append(f"{name} has shape {tuple(available[name])}, expected {shape}")
            else:
                arrays.append(reader.get_tensor(name).astype(np.float32))
        weights[layer_name] = arrays
    if problems:
        found = ", ".join(sorted(available)[:6]) or "no tensors"
        raise CheckpointError(f"{path} is not a VGGish checkpoint: {'; '.join(problems)} "
                              f"(it holds {found}{', ...' if len(available) > 6 else ''})")
    return weights


def load_checkpoint(path: str | os.PathLike) -> keras.Model:
    """A Keras VGGish with the weights of a TF-Slim checkpoint."""
    model = model_lib.vggish(kernel_initializer="zeros")
    for layer_name, arrays in read_checkpoint(path).items():
        model.get_layer(layer_name).set_weights(arrays)
    return model
