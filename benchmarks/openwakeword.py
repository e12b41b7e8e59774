"""openWakeWord 0.5.1's ONNX feature models, the comparator of the speech embedding benchmarks.

Both files come from the same wheel the speech embedding weights are converted from.
"""

from __future__ import annotations

import zipfile

import onnxruntime

from speech_embedding import pretrained

MODELS = "openwakeword/resources/models/"
WINDOW_FRAMES = 76  # log-mel frames of one embedding window
HOP_FRAMES = 8  # frames between windows (80 ms)


def sessions(threads: int) -> tuple[onnxruntime.InferenceSession, onnxruntime.InferenceSession]:
    """(`melspectrogram.onnx`, `embedding_model.onnx`) on the CPU with `threads` intra-op threads."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    with zipfile.ZipFile(pretrained.wheel_path()) as wheel:
        return tuple(onnxruntime.InferenceSession(wheel.read(MODELS + name), options,
                                                  providers=["CPUExecutionProvider"])
                     for name in ("melspectrogram.onnx", "embedding_model.onnx"))
