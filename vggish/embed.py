r"""Audio -> VGGish embeddings: the `embed` API and the embedding CLI.

    python -m vggish.embed --input=a.wav,b.flac --output=out.npz [--postprocess] \
        [--weights_path=DIR]

writes one `[N, 128]` array per input file (float32, or uint8 with --postprocess), keyed by
the path as given.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Union

import numpy as np
import tensorflow as tf
from absl import app, flags, logging

from earshot import audio, embed_files
from vggish import convert, features, params, postprocess, weights

AudioInput = Union[str, os.PathLike, np.ndarray]

# Examples per forward pass: bounds memory (about 12 MB of activations per example) on
# long recordings while keeping batches large enough for efficient convolutions.
MAX_BATCH_EXAMPLES = 64


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
                os.path.join(self.weights_path, convert.PCA_PARAMS_FILE))
        return self._postprocessor

    def embed_waveform(self, waveform: np.ndarray) -> np.ndarray:
        """Validated mono 16 kHz float32 `[samples]` -> float32 `[N, 128]`.

        Long input runs in slices of MAX_BATCH_EXAMPLES examples that overlap by the 240
        samples two neighbouring examples share, so the result equals one pass over it all.
        """
        hop = params.EXAMPLE_HOP_FRAMES * params.STFT_HOP_LENGTH
        span = (MAX_BATCH_EXAMPLES - 1) * hop + params.MIN_SAMPLES
        num_examples = 1 + (waveform.size - params.MIN_SAMPLES) // hop
        slices = [waveform[start * hop:start * hop + span]
                  for start in range(0, num_examples, MAX_BATCH_EXAMPLES)]
        return np.concatenate([self._forward(tf.constant(piece)).numpy() for piece in slices])

    def __call__(self, audio_input: AudioInput, sample_rate: int = params.SAMPLE_RATE,
                 postprocess: bool = False) -> np.ndarray:
        """See `embed`."""
        if isinstance(audio_input, (str, os.PathLike)):
            samples, sample_rate = audio.read_file(audio_input)
            try:
                waveform = features.prepare_waveform(samples, sample_rate)
            except audio.AudioError as error:
                raise audio.AudioError(f"{os.fspath(audio_input)}: {error}") from error
        else:
            waveform = features.prepare_waveform(audio_input, sample_rate)
        embeddings = self.embed_waveform(waveform)
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


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    paths = [path for path in FLAGS.input.split(",") if path]
    try:
        model = embedder(FLAGS.weights_path and os.path.abspath(FLAGS.weights_path))
        embed_files.embed_to_npz(paths, functools.partial(model, postprocess=FLAGS.postprocess),
                                 FLAGS.output)
    except (weights.WeightsError, audio.AudioError, ValueError) as error:
        # Bad input or missing weights: the message says it all, a traceback would bury it.
        logging.error("%s", error)
        sys.exit(1)


if __name__ == "__main__":
    flags.DEFINE_string("input", None, "Comma-separated audio files (WAV, FLAC, OGG, MP3).",
                        required=True)
    flags.DEFINE_string("output", None, ".npz to write, one [N, 128] array per input.",
                        required=True)
    flags.DEFINE_bool("postprocess", False, "Write uint8 PCA-quantized embeddings, the "
                      "AudioSet release format, instead of float32.")
    flags.DEFINE_string("weights_path", None, "Folder from `python -m vggish.convert`; default: "
                        "the cache, downloaded and converted on first use.")
    app.run(main)
