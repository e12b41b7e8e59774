"""The VGGish network in Keras 3, with the layer names of the reference `vggish_slim.py`.

Log-mel examples `[batch, 96, 64]` -> 128-D embeddings. Six 3x3 ReLU convolutions in four
blocks with 2x2 max pooling, two 4096-unit ReLU layers and a linear 128-unit `fc2` (linear
since tensorflow/models PR #9080: the released AudioSet features and the TF Hub model are
pre-activation). There is no batch norm or dropout, so `training=True` and `training=False`
compute the same function; fine-tuning only needs the variables to be trainable.
"""

from __future__ import annotations

import keras

from vggish import params

# (layer name, filters) of each 3x3 convolution, in order; None marks a 2x2 max pool.
CONV_LAYERS = (("conv1", 64), None, ("conv2", 128), None, ("conv3_1", 256), ("conv3_2", 256),
               None, ("conv4_1", 512), ("conv4_2", 512), None)
FC_LAYERS = (("fc1_1", 4096), ("fc1_2", 4096))
EMBEDDING_LAYER = "fc2"
NUM_PARAMETERS = 72_141_184


def vggish(name: str = "vggish", kernel_initializer: str | None = None) -> keras.Model:
    """VGGish with the reference initialisation (truncated normal, stddev 0.01, zero biases).

    Args:
      name: model name.
      kernel_initializer: Keras initializer name to use instead, e.g. "zeros" when the
        weights are about to be loaded: sampling 72M truncated normals takes seconds.

    Returns:
      A built functional `keras.Model`: float32 `[batch, 96, 64]` -> float32 `[batch, 128]`.
      Its layers are named like the slim scopes (`conv1` ... `conv4_2`, `fc1_1`, `fc1_2`,
      `fc2`), whose kernels have the checkpoint's shapes: HWIO for convolutions and
      `[inputs, units]` for dense layers, flattened in (height=time, width=mel, channel) order.
    """
    initializer = kernel_initializer or keras.initializers.TruncatedNormal(
        stddev=params.INIT_STDDEV)
    inputs = keras.Input((params.NUM_FRAMES, params.NUM_BANDS), name="input_features")
    x = keras.layers.Reshape((params.NUM_FRAMES, params.NUM_BANDS, 1), name="reshape")(inputs)
    pool_index = 0
    for layer in CONV_LAYERS:
        if layer is None:
            pool_index += 1
            # Every feature map has even sides, so the reference's SAME pooling pads nothing.
            x = keras.layers.MaxPooling2D(2, strides=2, padding="same",
                                          name=f"pool{pool_index}")(x)
            continue
        layer_name, filters = layer
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                kernel_initializer=initializer, name=layer_name)(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for layer_name, units in FC_LAYERS:
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=initializer,
                               name=layer_name)(x)
    outputs = keras.layers.Dense(params.EMBEDDING_SIZE, kernel_initializer=initializer,
                                 name=EMBEDDING_LAYER)(x)
    return keras.Model(inputs, outputs, name=name)


def weight_shapes() -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Layer name -> (kernel shape, bias shape), in network order, without building a model.

    These are also the shapes of the slim checkpoint's `weights` and `biases` tensors.
    """
    shapes = {}
    height, width, channels = params.NUM_FRAMES, params.NUM_BANDS, 1
    for layer in CONV_LAYERS:
        if layer is None:
            height, width = height // 2, width // 2
            continue
        layer_name, filters = layer
        shapes[layer_name] = ((3, 3, channels, filters), (filters,))
        channels = filters
    inputs = height * width * channels
    for layer_name, units in FC_LAYERS + ((EMBEDDING_LAYER, params.EMBEDDING_SIZE),):
        shapes[layer_name] = ((inputs, units), (units,))
        inputs = units
    return shapes
