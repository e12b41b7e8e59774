"""TFLite models run with LiteRT (`ai-edge-litert`): the inference runtime without TensorFlow.

`tf.lite.Interpreter` is deprecated since TF 2.20 and needs all of TensorFlow; LiteRT is the
same interpreter in its own wheel (about 60 MB installed) without TensorFlow, which is how
keyword spotters deploy on a Raspberry Pi. This module imports no TensorFlow, so the models
exported by earshot run in an environment of `ai-edge-litert`, numpy, soundfile, soxr and
absl-py alone.

Two ways to drive a model, as the exports need them:
  * by position (`invoke`): the Android contract models and the VGGish / speech embedding
    networks, whose inputs carry no names the apps rely on;
  * by name (`signature_runner`): the streaming models, whose state tensors go in and come out
    under the names of their one signature.
"""

from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np
from ai_edge_litert import interpreter as litert_interpreter

from earshot.errors import require_file

Interpreter = litert_interpreter.Interpreter
SignatureRunner = litert_interpreter.SignatureRunner
Model = Union[str, os.PathLike, bytes]


def load(model: Model, num_threads: int | None = None, xnnpack: bool = True) -> Interpreter:
    """A LiteRT interpreter for a `.tflite` path or flatbuffer bytes, tensors allocated.

    Args:
      model: path of a `.tflite` file, or its content.
      num_threads: CPU threads of the kernels; None lets LiteRT choose.
      xnnpack: False leaves out the default XNNPACK delegate, which takes the graph over and
        hides its ops and weights from `get_tensor`; for reading weights out of a model rather
        than for speed.

    Raises:
      FileNotFoundError: `model` is a path and no file is there.
      ValueError: the file or bytes are not a TFLite model.
    """
    resolver = (litert_interpreter.OpResolverType.AUTO if xnnpack
                else litert_interpreter.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    if isinstance(model, bytes):
        source = {"model_content": model}
    else:
        model = os.fspath(model)
        require_file(model, "TFLite model")
        source = {"model_path": model}
    interpreter = Interpreter(**source, num_threads=num_threads,
                              experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    return interpreter


def invoke(interpreter: Interpreter, *inputs: np.ndarray) -> list[np.ndarray]:
    """Runs the model on `inputs`, in the order of `get_input_details()`; returns every output.

    Each input is cast to the dtype the model declares for it. An input whose shape differs
    from the allocated one resizes that input (e.g. a new batch size) and reallocates, so one
    interpreter serves calls of any batch. The outputs are copies, safe to keep across calls.
    """
    details = interpreter.get_input_details()
    if len(inputs) != len(details):
        raise ValueError(f"the model takes {len(details)} inputs, got {len(inputs)}")
    arrays = [np.ascontiguousarray(value, detail["dtype"])
              for value, detail in zip(inputs, details)]
    resized = False
    for array, detail in zip(arrays, details):
        if tuple(array.shape) != tuple(detail["shape"]):
            interpreter.resize_tensor_input(detail["index"], array.shape)
            resized = True
    if resized:
        interpreter.allocate_tensors()
    for array, detail in zip(arrays, details):
        interpreter.set_tensor(detail["index"], array)
    interpreter.invoke()
    return [interpreter.get_tensor(detail["index"]).copy()
            for detail in interpreter.get_output_details()]


def signature_runner(interpreter: Interpreter, required: Sequence[str] = ()) -> SignatureRunner:
    """The runner of the model's only signature, whose inputs and outputs go by name.

    Called as `runner(**inputs)`, it returns a dict of output name -> array.

    Raises:
      ValueError: the model has no signature or several, or its inputs miss one of `required`
        (the message lists the inputs it has, to tell a wrong model from a corrupt one).
    """
    signatures = interpreter.get_signature_list()
    inputs = next(iter(signatures.values()))["inputs"] if len(signatures) == 1 else []
    missing = [name for name in required if name not in inputs]
    if len(signatures) != 1 or missing:
        raise ValueError(f"expected one signature with inputs {', '.join(required) or 'any'}; "
                         f"the model has {len(signatures)} signature(s), inputs: "
                         f"{', '.join(sorted(inputs)) or 'none'}")
    return interpreter.get_signature_runner()
