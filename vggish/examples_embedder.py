"""Audio -> VGGish rows through an exported network that takes log-mel examples: no TensorFlow.

The TFLite and ONNX variants cannot run the float64 front end themselves, so they take
`[N, 96, 64]` examples; `ExamplesEmbedder` puts the NumPy front end (`vggish.numpy_features`)
and the postprocessor around whatever runs the network. This module and the runtimes it drives
(LiteRT for TFLite, ONNX Runtime for ONNX) import no TensorFlow, so VGGish runs where only
`ai-edge-litert` (or `onnxruntime`), numpy, soundfile and soxr are installed.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from earshot import litert
from vggish import numpy_features, params
from vggish import postprocess as postprocess_lib

# The tool that writes the networks, for the missing-file error.
MAKER = "vggish.export_network"
# Examples per network call: a slice of 15.6 s, about 1 MB of float64 features.
BATCH_EXAMPLES = 16
# The names of the ONNX network's input and output (`vggish.onnx_model`).
ONNX_INPUT_NAME = "log_mel_examples"
ONNX_OUTPUT_NAME = "embedding"


class ExamplesEmbedder:
    """Same inputs and outputs as `vggish.embed`; subclasses provide `embed_examples`."""

    # The `--format` of the exported file, for the missing-file error.
    format: str = ""

    def __init__(self, model_path: str, pca_params_path: Optional[str] = None):
        """`pca_params_path` is needed only for `postprocess=True`."""
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"{model_path}: no such {self.format} model; make one with "
                                    f"`python -m {MAKER} --format={self.format} --output=...`")
        self.pca_params_path = pca_params_path

    def embed_examples(self, examples: np.ndarray) -> np.ndarray:
        """float32 `[N, 96, 64]` -> float32 `[N, 128]`."""
        raise NotImplementedError

    def __call__(self, audio_input, sample_rate: int = params.SAMPLE_RATE,
                 postprocess: bool = False) -> np.ndarray:
        """Audio (path, or array and rate) -> `[N, 128]` float32, or uint8 if `postprocess`.

        A file is decoded in blocks and embedded BATCH_EXAMPLES examples at a time, so memory
        does not grow with its length.
        """
        name, blocks = numpy_features.input_blocks(audio_input, sample_rate)
        embeddings = np.concatenate([
            self.embed_examples(numpy_features.log_mel_examples(piece))
            for piece in numpy_features.example_slices(blocks, BATCH_EXAMPLES, name)])
        if not postprocess:
            return embeddings
        if self.pca_params_path is None:
            raise ValueError("postprocess=True needs pca_params_path")
        return postprocess_lib.Postprocessor(self.pca_params_path)(embeddings)


class TfliteEmbedder(ExamplesEmbedder):
    """Runs a VGGish TFLite file with LiteRT; same inputs and outputs as `vggish.embed`."""

    format = "tflite"

    def __init__(self, model_path: str, num_threads: Optional[int] = None,
                 pca_params_path: Optional[str] = None):
        """`num_threads` None lets LiteRT choose; `pca_params_path` is for postprocess."""
        super().__init__(model_path, pca_params_path)
        self.interpreter = litert.load(model_path, num_threads=num_threads)

    def embed_examples(self, examples: np.ndarray) -> np.ndarray:
        """float32 `[N, 96, 64]` -> float32 `[N, 128]`."""
        return litert.invoke(self.interpreter, examples)[0]


class OnnxEmbedder(ExamplesEmbedder):
    """Runs a VGGish ONNX file with ONNX Runtime; same inputs and outputs as `vggish.embed`."""

    format = "onnx"

    def __init__(self, model_path: str, num_threads: Optional[int] = None,
                 pca_params_path: Optional[str] = None):
        """`num_threads` None lets ONNX Runtime choose; `pca_params_path` is for postprocess."""
        super().__init__(model_path, pca_params_path)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        # Idle workers that spin steal the cores from the front end that runs in between.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(model_path, options,
                                                    providers=["CPUExecutionProvider"])

    def embed_examples(self, examples: np.ndarray) -> np.ndarray:
        """float32 `[N, 96, 64]` -> float32 `[N, 128]`."""
        return self.session.run([ONNX_OUTPUT_NAME], {
            ONNX_INPUT_NAME: np.ascontiguousarray(examples, np.float32)})[0]
