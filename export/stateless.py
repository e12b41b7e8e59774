"""Running a Keras 3 model on variables it does not own.

Both exporters need the model's computation bound to variables they create themselves: a
TF1 graph cannot read Keras 3's eager variables, and a SavedModel should carry uniquely
named variables rather than Keras internals. `keras.StatelessScope` makes that generic: every
Keras variable read inside the scope returns the value we map it to, and every assignment
(batch-norm moving statistics, seed-generator state) is recorded instead of applied, so the
exporter decides how to apply it (UPDATE_OPS in TF1, an in-trace assign in TF2). `cond`
lets a model function skip its network on empty input without losing those updates.
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


@tf.autograph.experimental.do_not_convert  # graph code already; keep the branches as written
def cond(predicate: tf.Tensor, model: keras.Model, compute: Callable[[], spec_lib.Outputs],
         empty: Callable[[], spec_lib.Outputs]) -> spec_lib.Outputs:
    """`compute()` where `predicate` holds, else `empty()`, keeping the state `compute` assigns.

    For a model function to skip its network on input too short for one output row: a conv
    must never see a zero-sized batch, because oneDNN's kernels (TensorFlow's default on
    x86) reject it or return a wrongly shaped result, so `compute` must not even run there.
    `empty()` builds the correctly shaped empty outputs (same structure and dtypes).

    Inside `call`'s scope a plain `tf.cond` would lose what the network assigns (batch-norm
    moving statistics in training): those values would live in the branch's graph. Here
    the network runs in a scope of its own inside the branch, every non-trainable variable
    (the only ones a forward pass assigns) leaves the branch as an output, unchanged when
    `empty` runs, and the ones `compute` changed are assigned after it: recorded by
    `call`'s scope, or applied to the variables outside one.

    Args:
      predicate: scalar bool tensor, e.g. `tf.shape(examples)[0] > 0`.
      model: the Keras model whose variables `compute` reads.
      compute: runs the model; returns a tensor or a dict of tensors.
      empty: returns outputs of the same structure and dtypes without running the model.
    """
    if tf.executing_eagerly():
        return compute() if bool(predicate) else empty()
    state = model.non_trainable_variables
    # Inside `call`'s scope `.value` is the tensor the scope maps the variable to.
    mapping = [(variable, variable.value) for variable in model.variables]
    before = [variable.value for variable in state]
    changed: list[int] = []

    def run() -> tuple[spec_lib.Outputs, list[tf.Tensor]]:
        with keras.StatelessScope(state_mapping=mapping) as scope:
            read = [scope.get_current_value(variable) for variable in state]
            outputs = compute()
            after = [scope.get_current_value(variable) for variable in state]
        changed[:] = [i for i, value in enumerate(after) if value is not read[i]]
        return outputs, after

    outputs, after = tf.cond(predicate, run, lambda: (empty(), before))
    for i in changed:
        state[i].assign(after[i])
    return outputs


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
