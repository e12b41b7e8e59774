"""Running a Keras 3 model on variables it does not own.

Both exporters need the model's computation bound to variables they create themselves: a
TF1 graph cannot read Keras 3's eager variables, and a SavedModel should carry uniquely
named variables rather than Keras internals. `keras.StatelessScope` makes that generic: every
Keras variable read inside the scope returns the value we map it to, and every assignment
(batch-norm moving statistics, seed-generator state) is recorded instead of applied, so the
exporter decides how to apply it (UPDATE_OPS in TF1, an in-trace assign in TF2).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from export import spec as spec_lib


def variable_names(model: keras.Model) -> list[str]:
    """`<model name>/<Keras path>` for each of `model.variables`, in order.

    The model-name prefix keeps the names unique once a user nests the exported model in a
    model of their own (an outer `dense` layer must not collide with ours in an H5 file).

    Raises:
      ValueError: two variables share a path, which would merge them in a checkpoint.
    """
    names = [f"{model.name}/{variable.path}" for variable in model.variables]
    seen: set[str] = set()
    duplicates = sorted({name for name in names if name in seen or seen.add(name)})
    if duplicates:
        raise ValueError(f"model {model.name!r} has several variables named {duplicates}; give "
                         "its layers unique names")
    return names


def initial_values(model: keras.Model) -> list[np.ndarray]:
    """The current values of `model.variables` as numpy arrays (read eagerly).

    Raises:
      ValueError: a weight holds NaN or Inf; such a model exports and loads fine, then fails
        far from the cause.
    """
    values = [np.asarray(variable.numpy()) for variable in model.variables]
    for variable, value in zip(model.variables, values):
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            raise ValueError(f"{model.name}: variable {variable.path} holds NaN or Inf; "
                             "refusing to export it")
    return values


def regularizers(model: keras.Model) -> list[tuple[int, Callable[[tf.Tensor], tf.Tensor]]]:
    """(index into `model.variables`, regularizer) for every weight with a regularizer."""
    index = {id(variable): i for i, variable in enumerate(model.variables)}
    return [(index[id(variable)], variable.regularizer) for variable in model.trainable_variables
            if getattr(variable, "regularizer", None) is not None]


def call(spec: spec_lib.ModelSpec, inputs: tf.Tensor, training: bool,
         values: Sequence[tf.Tensor | tf.Variable]
         ) -> tuple[spec_lib.Outputs, Mapping[int, tf.Tensor]]:
    """Runs `spec(inputs, training)` with `spec.model.variables[i]` reading `values[i]`.

    Returns:
      (outputs, updates): the spec's outputs, and {index: new value} for every variable the
      call assigned (moving statistics when `training` is True).
    """
    model_variables = spec.model.variables
    mapping = list(zip(model_variables, values))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        # The scope maps each variable to a tensor read from `values`; an assignment replaces
        # that tensor, so the updated variables are those whose tensor changed.
        read = [scope.get_current_value(variable) for variable in model_variables]
        outputs = spec(inputs, training)
        updates = {}
        for i, variable in enumerate(model_variables):
            new_value = scope.get_current_value(variable)
            if new_value is not read[i]:
                updates[i] = new_value
    if not isinstance(outputs, (tf.Tensor, dict)):
        raise TypeError(f"{spec.card.title}: the model function returned "
                        f"{type(outputs).__name__}; expected a tensor or a dict of tensors")
    return outputs, updates
