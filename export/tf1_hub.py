"""The TF1 Hub format: `saved_model.pb` with MetaGraphs tagged `set()` and `{"train"}`.

tensorflow_hub 0.16 can only read this format (`hub.create_module_spec` is gone), so it is
written by hand with `tf.compat.v1.saved_model.Builder`: one `tf.Graph` per tag set, built
from the same spec with `training` False or True, over resource variables that carry the
same names in both graphs (the Builder writes the checkpoint once, for the first graph).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from typing import Iterator

import tensorflow as tf

from export import spec as spec_lib
from export import stateless

tf1 = tf.compat.v1

# (tags, training): inference first, so its session writes the shared checkpoint.
TAGS_AND_TRAINING = (((), False), (("train",), True))
SIGNATURE = "default"
# `ModuleDef{format: FORMAT_V3}` serialized; hub.load only checks that the file exists.
TFHUB_MODULE_PB = b"\x08\x03"


def _output_dict(outputs: spec_lib.Outputs, title: str) -> dict[str, tf.Tensor]:
    if isinstance(outputs, tf.Tensor):
        return {SIGNATURE: outputs}
    if SIGNATURE not in outputs:
        raise ValueError(f"{title}: the model function returns a dict with keys "
                         f"{sorted(outputs)}; the tf1_hub format needs one named 'default'")
    return dict(outputs)


def _with_checks(graph: tf.Graph, outputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Makes every output wait for the graph's unconnected `tf.debugging.assert_*` ops.

    In a TF1 graph nothing runs an Assert that no op depends on (tf.function adds those
    dependencies automatically, a plain graph does not), so a model's own input checks
    (too short, NaN) would be silently dropped and bad input would fail deep inside a conv.
    """
    waited_for = {control for op in graph.get_operations() for control in op.control_inputs}
    checks = [op for op in graph.get_operations()
              if op.type == "Assert" and op not in waited_for]
    if not checks:
        return outputs
    with tf.control_dependencies(checks):
        return {key: tf.identity(value) for key, value in outputs.items()}


class _WiredAssertsFilter(logging.Filter):
    """Drops TF's "Object was never used" errors about Assert ops, which `_with_checks` wires."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("Object was never used" in message and "type=Assert" in message)


@contextlib.contextmanager
def _quiet_wired_asserts() -> Iterator[None]:
    """While graphs are built (and their discarded assert wrappers collected), keeps TF's log
    free of warnings about asserts this module connects anyway."""
    log_filter = _WiredAssertsFilter()
    tf.get_logger().addFilter(log_filter)
    try:
        yield
    finally:
        gc.collect()
        tf.get_logger().removeFilter(log_filter)


def _build_graph(spec: spec_lib.ModelSpec, names: list[str], training: bool
                 ) -> tuple[tf.Graph, tf.Tensor, dict[str, tf.Tensor], list[tf.Variable]]:
    """One graph variant: placeholder `default` -> outputs, plus its variables (model order)."""
    graph = tf.Graph()
    with graph.as_default():
        inputs = tf1.placeholder(spec.input_spec.dtype, spec.input_spec.shape, name=SIGNATURE)
        graph_variables = [
            tf1.get_variable(name, shape=variable.shape, dtype=variable.dtype,
                             initializer=tf1.zeros_initializer(), trainable=variable.trainable,
                             use_resource=True)
            for name, variable in zip(names, spec.model.variables)]
        reads = [variable.read_value() for variable in graph_variables]
        outputs, updates = stateless.call(spec, inputs, training, reads)
        if training:
            for i, value in updates.items():
                tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS,
                                      graph_variables[i].assign(value, read_value=False))
        for i, regularizer in stateless.regularizers(spec.model):
            tf1.add_to_collection(tf1.GraphKeys.REGULARIZATION_LOSSES,
                                  regularizer(graph_variables[i]))
        outputs = _with_checks(graph, _output_dict(outputs, spec.card.title))
    return graph, inputs, outputs, graph_variables


def write(spec: spec_lib.ModelSpec, directory: str) -> None:
    """Writes `spec` as a TF1 Hub module into `directory`, which must be empty or absent.

    Signature `default` (in both MetaGraphs): input `default` (`spec.input_spec`), output
    `default` plus any further keys the model function returns.
    """
    names = stateless.variable_names(spec.model)
    values = stateless.initial_values(spec.model)
    builder = tf1.saved_model.Builder(directory)
    for i, (tags, training) in enumerate(TAGS_AND_TRAINING):
        with _quiet_wired_asserts():
            graph, inputs, outputs, graph_variables = _build_graph(spec, names, training)
        with graph.as_default():
            signature = tf1.saved_model.signature_def_utils.predict_signature_def(
                inputs={SIGNATURE: inputs}, outputs=outputs)
            with tf1.Session(graph=graph) as session:
                for variable, value in zip(graph_variables, values):
                    # Fed, not baked into the graph: a 72M-weight VGGish must not become
                    # graph constants (GraphDefs are capped at 2 GB and load slowly).
                    session.run(variable.initializer, {variable.initializer.inputs[1]: value})
                if i == 0:
                    builder.add_meta_graph_and_variables(
                        session, list(tags), signature_def_map={SIGNATURE: signature},
                        strip_default_attrs=True)
                else:
                    builder.add_meta_graph(list(tags), signature_def_map={SIGNATURE: signature},
                                           strip_default_attrs=True)
    builder.save()
    with open(os.path.join(directory, "tfhub_module.pb"), "wb") as module_def:
        module_def.write(TFHUB_MODULE_PB)

