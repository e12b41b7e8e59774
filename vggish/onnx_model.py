"""VGGish as ONNX, float32 or int8, for ONNX Runtime: the fastest CPU variant.

Written by `python -m vggish.export_network --format=onnx`. The ONNX model maps log-mel
examples float32 `[N, 96, 64]` to embeddings float32 `[N, 128]`; the front end stays outside
(`vggish.numpy_features`). `int8` is ONNX Runtime's static quantization
(QLinearConv / QLinearMatMul, per-channel int8 weights, uint8 activations with ranges from
`vggish.calibration`). Weights are quantized to 7 bits (`reduce_range`):
on CPUs without VNNI, the uint8 x int8 multiply-adds saturate 16-bit sums with full 8-bit
weights, which cost more than 3% cosine similarity on VGGish; with 7 bits it stays > 0.999.
Building needs the `onnx` package; running (`vggish.examples_embedder.OnnxEmbedder`) needs
only `onnxruntime`.
"""

from __future__ import annotations

import os
import tempfile
from typing import Optional

import keras
import numpy as np

from earshot import fileio
from vggish import calibration, examples_embedder, model as model_lib, params

QUANTIZATIONS = ("float32", "int8")
INPUT_NAME = examples_embedder.ONNX_INPUT_NAME
OUTPUT_NAME = examples_embedder.ONNX_OUTPUT_NAME
# ONNX Runtime 1.31 reads models up to IR version 13; 9 goes with opset 17.
IR_VERSION = 9
OPSET = 17
CALIBRATION_BATCH = 8


def to_onnx(model: keras.Model):
    """The Keras VGGish as an `onnx.ModelProto` (NCHW convolutions, slim layer names).

    The flatten before `fc1_1` transposes back to NHWC order first, since the checkpoint's
    `fc1_1` kernel rows follow (time, mel, channel).
    """
    import onnx
    from onnx import helper, numpy_helper

    nodes, initializers = [], []

    def constant(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    x = "image"
    nodes.append(helper.make_node("Reshape", [INPUT_NAME, constant(
        "image_shape", np.array([-1, 1, params.NUM_FRAMES, params.NUM_BANDS], np.int64))], [x]))
    pool_index = 0
    for layer in model_lib.CONV_LAYERS:
        if layer is None:
            pool_index += 1
            nodes.append(helper.make_node("MaxPool", [x], [f"pool{pool_index}"],
                                          kernel_shape=[2, 2], strides=[2, 2]))
            x = f"pool{pool_index}"
            continue
        name = layer[0]
        kernel, bias = model.get_layer(name).get_weights()
        nodes.append(helper.make_node(
            "Conv", [x, constant(f"{name}/weights", kernel.transpose(3, 2, 0, 1)),
                     constant(f"{name}/biases", bias)], [name],
            kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [name], [f"{name}/relu"]))
        x = f"{name}/relu"
    nodes.append(helper.make_node("Transpose", [x], ["nhwc"], perm=[0, 2, 3, 1]))
    nodes.append(helper.make_node("Reshape", ["nhwc", constant(
        "flatten_shape", np.array([-1, 12288], np.int64))], ["flatten"]))
    x = "flatten"
    for name in [name for name, _ in model_lib.FC_LAYERS] + [model_lib.EMBEDDING_LAYER]:
        kernel, bias = model.get_layer(name).get_weights()
        output = OUTPUT_NAME if name == model_lib.EMBEDDING_LAYER else name
        nodes.append(helper.make_node("Gemm", [x, constant(f"{name}/weights", kernel),
                                               constant(f"{name}/biases", bias)], [output]))
        x = output
        if name != model_lib.EMBEDDING_LAYER:
            nodes.append(helper.make_node("Relu", [name], [f"{name}/relu"]))
            x = f"{name}/relu"
    graph = helper.make_graph(
        nodes, "vggish",
        [helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT,
                                       ["batch", params.NUM_FRAMES, params.NUM_BANDS])],
        [helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT,
                                       ["batch", params.EMBEDDING_SIZE])],
        initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             ir_version=IR_VERSION, producer_name="earshot.vggish")


def write(model: keras.Model, output: str, quantization: str = "int8",
          calibration_examples: Optional[np.ndarray] = None) -> str:
    """Writes the ONNX model (atomically) and returns the absolute path.

    Args:
      model: `vggish.load()` or any model of `vggish.model.vggish()`.
      output: `.onnx` path.
      quantization: "float32" or "int8".
      calibration_examples: float32 `[N, 96, 64]` examples for "int8" ranges; default
        `vggish.calibration.examples()`.
    """
    import onnx

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; use one of "
                         f"{', '.join(QUANTIZATIONS)}")
    float_model = to_onnx(model)
    with fileio.atomic_file(output) as staging:
        if quantization == "float32":
            onnx.save(float_model, staging)
        else:
            from onnxruntime import quantization as ort_quantization
            examples = (calibration.examples() if calibration_examples is None
                        else calibration_examples)

            class Reader(ort_quantization.CalibrationDataReader):
                def __init__(self):
                    self.batches = iter([{INPUT_NAME: examples[start:start + CALIBRATION_BATCH]}
                                         for start in range(0, len(examples),
                                                            CALIBRATION_BATCH)])

                def get_next(self):
                    return next(self.batches, None)

            with tempfile.TemporaryDirectory() as tmp:
                float_path = os.path.join(tmp, "vggish_float32.onnx")
                onnx.save(float_model, float_path)
                ort_quantization.quantize_static(
                    float_path, staging, Reader(),
                    quant_format=ort_quantization.QuantFormat.QOperator,
                    activation_type=ort_quantization.QuantType.QUInt8,
                    weight_type=ort_quantization.QuantType.QInt8,
                    per_channel=True, reduce_range=True)
    return os.path.abspath(output)
