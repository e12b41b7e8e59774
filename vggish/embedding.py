"""Audio -> VGGish embeddings: the `embed` API and the shared `Embedder`.

Files of any length are decoded in blocks and embedded in slices of examples, so memory does
not grow with the recording. `python -m vggish.embed` is the command-line tool over it.
"""

from __future__ import annotations

import functools
import os
from typing import Iterable, Union

import numpy as np
import tensorflow as tf

from vggish import features, numpy_features, params, postprocess, weights

AudioInput = Union[str, os.PathLike, np.ndarray]

# Examples per forward pass (31 s of audio): a pass adds about 150 MB to the 1.0 GB that
# TensorFlow and the weights hold, staying under the 1.2 GB that loading them peaks at.
MAX_BATCH_EXAMPLES = 32


class Embedder:
    """Loaded VGGish weights plus the compiled waveform -> embedding function.

    Loading takes seconds (288 MB of weights), so keep one Embedder per weights folder;
    `embed()` does this for you.
    """

    def __init__(self, weights_path: str | os.PathLike | None = None):
        self.weights_path = weights.resolve(weights_path)
        self.model = weights.load(self.weights_path)
        self._postprocessor: postprocess.Postprocessor | None = None
        self._forward = tf.function(self._embed_waveform, input_signature=[
            tf.TensorSpec([None], tf.float32)])

    def _embed_waveform(self, waveform: tf.Tensor) -> tf.Tensor:
        return self.model(features.log_mel_examples(waveform), training=False)

    @property
    def postprocessor(self) -> postprocess.Postprocessor:
        """PCA and quantization with the weights folder's PCA parameters (loaded on first use)."""
        if self._postprocessor is None:
            self._postprocessor = postprocess.Postprocessor(
                os.path.join(self.weights_path, weights.PCA_PARAMS_FILE))
        return self._postprocessor

    def embed_waveform(self, waveform: np.ndarray) -> np.ndarray:
        """Validated mono 16 kHz float32 `[samples]`, at least one example -> float32 `[N, 128]`."""
        return self.embed_blocks([waveform], batch_examples=MAX_BATCH_EXAMPLES)

    def embed_blocks(self, blocks: Iterable[np.ndarray], batch_examples: int,
                     name: str | None = None) -> np.ndarray:
        """A validated mono 16 kHz waveform given as consecutive float32 blocks -> `[N, 128]`.

        The network runs on slices of `batch_examples` examples that overlap by the 240
        samples two neighbouring examples share; slices start at example boundaries, so the
        rows equal those of one pass over it all while memory follows `batch_examples`.

        Raises:
          earshot.audio.AudioError: shorter than one example in all (naming `name`).
        """
        return np.concatenate([
            self._forward(tf.constant(piece)).numpy()
            for piece in numpy_features.example_slices(blocks, batch_examples, name)])

    def __call__(self, audio_input: AudioInput, sample_rate: int = params.SAMPLE_RATE,
                 postprocess: bool = False) -> np.ndarray:
        """See `embed`."""
        name, blocks = numpy_features.input_blocks(audio_input, sample_rate)
        embeddings = self.embed_blocks(blocks, MAX_BATCH_EXAMPLES, name)
        return self.postprocessor(embeddings) if postprocess else embeddings


@functools.lru_cache(maxsize=2)
def embedder(weights_path: str | None = None) -> Embedder:
    """The shared Embedder of a weights folder (None: the cached default weights)."""
    return Embedder(weights_path)


def embed(audio_input: AudioInput, sample_rate: int = params.SAMPLE_RATE,
          postprocess: bool = False, weights_path: str | os.PathLike | None = None) -> np.ndarray:
    """VGGish embeddings of one recording, one row per 0.96 s.

    Args:
      audio_input: a file path (WAV, FLAC, OGG, MP3), or a waveform `[samples]` or
        `[samples, channels]`, float in [-1, 1] or int16. Channels are averaged.
      sample_rate: rate of an array input in Hz (ignored for files); resampled to 16 kHz.
      postprocess: apply the reference PCA, whitening and 8-bit quantization.
      weights_path: a folder from `python -m vggish.convert`; None uses the cached weights,
        downloading and converting Google's on first use.

    Returns:
      `[N, 128]`, N = 1 + (samples - 15600) // 15360 at 16 kHz: float32 pre-activation
      embeddings, or uint8 codes if `postprocess`.

    Raises:
      earshot.audio.AudioError: unreadable, invalid, or shorter than 0.975 s audio.
      vggish.weights.WeightsError: no weights and no way to download them.
    """
    path = None if weights_path is None else os.path.abspath(os.fspath(weights_path))
    return embedder(path)(audio_input, sample_rate, postprocess=postprocess)

