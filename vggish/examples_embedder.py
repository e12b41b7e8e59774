"""Audio -> VGGish rows through an exported network that takes log-mel examples.

The TFLite and ONNX variants cannot run the float64 front end themselves, so they take
`[N, 96, 64]` examples; this base class puts the shared front end and postprocessor around
whatever runs the network.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np
import tensorflow as tf

from earshot import audio
from vggish import features, params
from vggish import postprocess as postprocess_lib


class ExamplesEmbedder:
    """Same inputs and outputs as `vggish.embed`; subclasses provide `embed_examples`."""

    # The file kind and the command that writes one, for the missing-file error.
    kind: str = ""
    maker: str = ""

    def __init__(self, model_path: str, pca_params_path: Optional[str] = None):
        """`pca_params_path` is needed only for `postprocess=True`."""
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"{model_path}: no such {self.kind} model; make one with "
                                    f"`python -m {self.maker} --output=...`")
        self.pca_params_path = pca_params_path

    def embed_examples(self, examples: np.ndarray) -> np.ndarray:
        """float32 `[N, 96, 64]` -> float32 `[N, 128]`."""
        raise NotImplementedError

    def __call__(self, audio_input, sample_rate: int = params.SAMPLE_RATE,
                 postprocess: bool = False) -> np.ndarray:
        """Audio (path, or array and rate) -> `[N, 128]` float32, or uint8 if `postprocess`."""
        if isinstance(audio_input, (str, os.PathLike)):
            audio_input, sample_rate = audio.read_file(audio_input)
        # Float32 features: their error is far below the int8 network's.
        examples = features.waveform_to_examples(audio_input, sample_rate, tf.float32)
        embeddings = self.embed_examples(examples)
        if not postprocess:
            return embeddings
        if self.pca_params_path is None:
            raise ValueError("postprocess=True needs pca_params_path")
        return postprocess_lib.Postprocessor(self.pca_params_path)(embeddings)
