"""The reusable TF2 SavedModel that `hub.KerasLayer(path, trainable=True)` fine-tunes.

The root is a `tf.train.Checkpoint` (not a `tf.Module`, whose `variables` attributes are
read-only properties) holding fresh `tf.Variable`s named `<model>/<layer path>`.
`__call__(inputs, training=False)` is traced for both Python values of `training`, because a
restored function only has the traces made before saving; the `training=True` trace
assigns the batch-norm moving statistics itself, since nothing outside the SavedModel will.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from export import spec as spec_lib
from export import stateless

SERVING_SIGNATURE = "serving_default"
SERVING_INPUT = "default"


def _regularization_loss(variable: tf.Variable, regularizer: Callable[[tf.Tensor], tf.Tensor]
                         ) -> tf.types.experimental.PolymorphicFunction:
    """A zero-argument tf.function returning the scalar penalty on `variable`."""
    return tf.function(lambda: regularizer(variable), input_signature=[])


class Reusable(tf.train.Checkpoint):
    """The SavedModel root: TF Hub's reusable SavedModel interface over `spec`'s computation."""

    def __init__(self, spec: spec_lib.ModelSpec):
        super().__init__()
        names = stateless.variable_names(spec.model)
        values = stateless.initial_values(spec.model)
        self.variables = [
            tf.Variable(value, name=name, trainable=model_variable.trainable)
            for name, value, model_variable in zip(names, values, spec.model.variables)]
        self.trainable_variables = [variable for variable in self.variables if variable.trainable]
        self.regularization_losses = [
            _regularization_loss(self.variables[i], regularizer)
            for i, regularizer in stateless.regularizers(spec.model)]
        variables = self.variables

        @tf.function
        def call(inputs: tf.Tensor, training: bool = False) -> spec_lib.Outputs:
            outputs, updates = stateless.call(spec, inputs, training, variables)
            if training:
                for i, value in updates.items():
                    variables[i].assign(value)
            return outputs

        self.__call__ = call


def write(spec: spec_lib.ModelSpec, directory: str) -> None:
    """Writes `spec` as a reusable SavedModel into `directory`.

    Signature `serving_default`: input `default` (`spec.input_spec`), the outputs of
    `__call__(training=False)` (a single tensor under the key `default`).
    """
    root = Reusable(spec)
    for training in (False, True):
        root.__call__.get_concrete_function(spec.input_spec, training=training)

    @tf.function(input_signature=[tf.TensorSpec(spec.input_spec.shape, spec.input_spec.dtype,
                                                name=SERVING_INPUT)])
    def serve(default):
        outputs = root.__call__(default, training=False)
        return outputs if isinstance(outputs, dict) else {"default": outputs}

    tf.saved_model.save(root, directory, signatures={SERVING_SIGNATURE: serve})
