r"""VGGish speed, end to end (waveform -> embeddings), against torchvggish in the same run.

    python -m benchmarks.vggish [--seconds=60] [--threads=2] [--repeats=5] [--model_dir=DIR]

Prints audio seconds embedded per wall-clock second for: earshot's Keras float32 pipeline
(`vggish.embed`); TFLite float32, dynamic-range and int8 models (`vggish.tflite`, on LiteRT)
and ONNX Runtime float32 and int8 models (`vggish.onnx_model`) of the same weights, with the
NumPy front end (`vggish.examples_embedder`); and torchvggish 0.2 (NumPy front end + PyTorch
model) with the same converted weights loaded, all with the same thread count; then each ratio
to torchvggish and the cosine similarity of the quantized embeddings to the float32 ones.

Without --model_dir the parity fixture checkpoint (`../shared/fixtures/vggish` beside the checkout)
is converted and used: its values are not Google's trained ones, which does not change speed
(dense layers are stored dense), but makes the cosine figures those of the fixture weights.
Needs the `bench` extra: torch==2.13.0 (CPU), torchvggish==0.2 and onnx (+ onnxruntime).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
from absl import flags, logging

from benchmarks import fixtures
from earshot import cache, cli
from earshot.audio import SAMPLE_RATE

# Pause before each timed run: the previous runtime's idle threads spin for a while (OpenMP,
# Eigen), and would otherwise slow whichever variant comes next.
SETTLE_SECONDS = 0.5

FLAGS = flags.FLAGS


def benchmark_audio(seconds: float) -> np.ndarray:
    """Deterministic float32 16 kHz test audio: a chirp over tones over noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    signal = (0.3 * np.sin(2 * np.pi * (200 + 60 * t) * t) + 0.2 * np.sin(2 * np.pi * 440 * t)
              + 0.1 * rng.standard_normal(t.size))
    return np.clip(signal, -1, 1).astype(np.float32)


def torchvggish_model(keras_model):
    """torchvggish's network with the Keras weights (conv HWIO -> OIHW, dense transposed)."""
    import torch
    import torchvggish
    model = torchvggish.torchvggish._vgg(postprocess=False).eval()
    state = {}
    conv_indices = {"conv1": 0, "conv2": 3, "conv3_1": 6, "conv3_2": 8, "conv4_1": 11,
                    "conv4_2": 13}
    for name, index in conv_indices.items():
        kernel, bias = keras_model.get_layer(name).get_weights()
        state[f"features.{index}.weight"] = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        state[f"features.{index}.bias"] = torch.from_numpy(bias)
    for name, index in {"fc1_1": 0, "fc1_2": 2, "fc2": 4}.items():
        kernel, bias = keras_model.get_layer(name).get_weights()
        state[f"embeddings.{index}.weight"] = torch.from_numpy(kernel.T.copy())
        state[f"embeddings.{index}.bias"] = torch.from_numpy(bias)
    model.load_state_dict(state)
    return model


def converted_model(weights_path: str, model, runtime: str, quantization: str) -> str:
    """Path of the TFLite or ONNX conversion of `weights_path`, made once and cached."""
    from vggish import onnx_model, tflite

    def convert(staging: str) -> None:
        logging.info("converting to %s (%s), once", runtime, quantization)
        {"onnx": onnx_model.write, "tflite": tflite.write}[runtime](model, staging, quantization)

    key = [os.path.abspath(weights_path), os.path.getmtime(weights_path), quantization]
    return cache.cached_file(cache.cache_path(("vggish", "benchmark", runtime), key,
                                              f".{runtime}", digits=16), convert)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest row-wise cosine similarity."""
    return float(np.min(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def main(argv: list[str]) -> None:
    del argv
    threads = FLAGS.threads
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import torch
    import torchvggish
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    # TensorFlow flushes denormals to zero in its threads; give torch the same advantage.
    torch.set_flush_denormal(True)
    from vggish import embedding as embed_lib, examples_embedder, onnx_model, tflite

    weights_path = FLAGS.model_dir or fixtures.vggish_fixture_weights()
    waveform = benchmark_audio(FLAGS.seconds)
    embedder = embed_lib.Embedder(weights_path)
    torch_model = torchvggish_model(embedder.model)

    def run_torch() -> np.ndarray:
        with torch.no_grad():
            examples = torchvggish.vggish_input.waveform_to_examples(waveform, SAMPLE_RATE)
            return torch_model(examples).numpy()

    variants = {"earshot keras float32": lambda: embedder(waveform, SAMPLE_RATE)}
    runners = {}
    for quantization in tflite.QUANTIZATIONS:
        runners[f"earshot tflite {quantization}"] = examples_embedder.TfliteEmbedder(
            converted_model(weights_path, embedder.model, "tflite", quantization),
            num_threads=threads)
    for quantization in onnx_model.QUANTIZATIONS:
        runners[f"earshot onnx {quantization}"] = examples_embedder.OnnxEmbedder(
            converted_model(weights_path, embedder.model, "onnx", quantization),
            num_threads=threads)
    for name, runner in runners.items():
        variants[name] = lambda runner=runner: runner(waveform, SAMPLE_RATE)
    variants["torchvggish 0.2 float32"] = run_torch

    outputs = {name: run() for name, run in variants.items()}  # Warm-up, and the results.
    times = {name: [] for name in variants}
    for _ in range(FLAGS.repeats):
        for name, run in variants.items():  # Interleaved, so load changes hit all alike.
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)

    reference = outputs["earshot keras float32"]
    torch_speed = FLAGS.seconds / statistics.median(times["torchvggish 0.2 float32"])
    print(f"VGGish, {FLAGS.seconds:g} s of 16 kHz audio -> {len(reference)} embeddings, "
          f"{threads} threads, median of {FLAGS.repeats}; weights: {weights_path}")
    print(f"torch {torch.__version__}, tensorflow {tf.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'variant':28s} {'audio s / wall s':>17s} {'vs torchvggish':>15s} {'cosine':>8s}")
    for name in variants:
        speed = FLAGS.seconds / statistics.median(times[name])
        similarity = cosine(outputs[name], reference) if name in runners else float("nan")
        print(f"{name:28s} {speed:17.1f} {speed / torch_speed:14.2f}x {similarity:8.4f}")
    # torchvggish keeps the pre-2020 final ReLU; with it, both networks agree.
    agreement = np.abs(np.maximum(reference, 0) - outputs["torchvggish 0.2 float32"]).max()
    print(f"max |relu(earshot) - torchvggish| = {agreement:.2e} (same weights loaded)")


if __name__ == "__main__":
    flags.DEFINE_float("seconds", 60.0, "Length of the benchmark audio, in seconds.")
    flags.DEFINE_integer("threads", 2, "Threads for TensorFlow, TFLite and PyTorch alike.")
    flags.DEFINE_integer("repeats", 5, "Timed runs per variant (the median is reported).")
    flags.DEFINE_string("model_dir", None, "Converted weights folder; default: the fixture.")
    cli.run(main)
