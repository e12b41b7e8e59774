r"""VGGish as ONNX, float32 or int8, for ONNX Runtime: the fastest CPU variant.

    python -m vggish.onnx_model --output=vggish_int8.onnx [--quantization=int8] \
        [--weights_path=DIR] [--calibration_audio=a.wav,b.flac]

The ONNX model maps log-mel examples float32 `[N, 96, 64]` to embeddings float32 `[N, 128]`;
the front end stays in `vggish.features`. `int8` is ONNX Runtime's static quantization
(QLinearConv / QLinearMatMul, per-channel int8 weights, uint8 activations with ranges from
`vggish.calibration`). Weights are quantized to 7 bits (`reduce_range`):
on CPUs without VNNI, the uint8 x int8 multiply-adds saturate 16-bit sums with full 8-bit
weights, which cost more than 3% cosine similarity on VGGish; with 7 bits it stays > 0.999.
Building needs the `onnx` package; running needs only `onnxruntime`.
"""

from __future__ import annotations

import os
import tempfile
from typing import Optional

import keras
import numpy as np
from absl import app, flags, logging

from earshot import fileio
from vggish import calibration, examples_embedder, model as model_lib, params, weights

QUANTIZATIONS = ("float32", "int8")
INPUT_NAME = "log_mel_examples"
OUTPUT_NAME = "embedding"
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


class OnnxEmbedder(examples_embedder.ExamplesEmbedder):
    """Runs a VGGish ONNX file with ONNX Runtime; same inputs and outputs as `vggish.embed`."""

    kind, maker = "ONNX", "vggish.onnx_model"

    def __init__(self, model_path: str, num_threads: Optional[int] = None,
                 pca_params_path: Optional[str] = None):
        """`num_threads` None lets ONNX Runtime choose; `pca_params_path` is for postprocess."""
        super().__init__(model_path, pca_params_path)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        # Idle workers that spin steal the cores from the TF front end that runs in between.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(model_path, options,
                                                    providers=["CPUExecutionProvider"])

    def embed_examples(self, examples: np.ndarray) -> np.ndarray:
        """float32 `[N, 96, 64]` -> float32 `[N, 128]`."""
        return self.session.run([OUTPUT_NAME], {
            INPUT_NAME: np.ascontiguousarray(examples, np.float32)})[0]


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    model = weights.load(FLAGS.weights_path)
    examples = calibration.for_quantization(FLAGS.quantization, FLAGS.calibration_audio)
    path = write(model, FLAGS.output, FLAGS.quantization, examples)
    logging.info("wrote %s (%s, %.1f MB)", path, FLAGS.quantization,
                 os.path.getsize(path) / 1e6)


if __name__ == "__main__":
    flags.DEFINE_string("output", None, ".onnx file to write.", required=True)
    flags.DEFINE_enum("quantization", "int8", QUANTIZATIONS,
                      "float32: exact; int8: static int8 quantization (fastest on CPU).")
    flags.DEFINE_string("weights_path", None, "Folder from `python -m vggish.convert`; "
                        "default: the cached weights.")
    flags.DEFINE_string("calibration_audio", "", "Comma-separated audio files added to the "
                        "synthetic calibration signals for --quantization=int8.")
    app.run(main)
