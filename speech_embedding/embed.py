"""Embedding audio files or arrays with the pretrained model.

    python -m speech_embedding.embed --input=a.wav,b.flac --output=out.npz

writes one float32 `[T, 96]` array per input, keyed by the path as given.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf
from absl import flags

from earshot import audio as audio_lib
from earshot import cli, embed_files
from speech_embedding import features, model as model_lib, weights


@functools.cache
def _embedder():
    """The pretrained model behind one compiled function, built on first use."""
    model = weights.load()

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def run(waveforms):
        return model(waveforms, training=False)

    return run


def embed(audio: audio_lib.AudioSource, sample_rate: int = features.SAMPLE_RATE) -> np.ndarray:
    """Embeds one clip.

    Args:
      audio: a file path (WAV, FLAC, OGG, MP3; any rate, any channels) or a 1-D float waveform
        in [-1, 1] at `sample_rate` Hz; resampled to 16 kHz as needed.
      sample_rate: the rate of an array `audio`, in Hz.

    Returns:
      float32 `[1 + (samples_16k - 12400) // 1280, 96]`, one row per 80 ms.

    Raises:
      earshot.audio.AudioError: unreadable or invalid audio, or shorter than 775 ms.
    """
    waveform = audio_lib.load(audio, features.SAMPLE_RATE, source_rate=sample_rate)
    if waveform.shape[0] < model_lib.MIN_SAMPLES:
        name = audio if isinstance(audio, str) else "audio"
        raise audio_lib.AudioError(
            f"{name}: {waveform.shape[0]} samples at 16 kHz is too short: the first embedding "
            f"needs {model_lib.MIN_SAMPLES} (775 ms)")
    return _embedder()(waveform[np.newaxis]).numpy()[0, :, 0, :]


def main(argv: list[str]) -> None:
    del argv
    embed_files.embed_to_npz(flags.FLAGS.input, embed, flags.FLAGS.output)


if __name__ == "__main__":
    flags.DEFINE_list("input", None, "Comma-separated audio files to embed.", required=True)
    flags.DEFINE_string("output", None, "The .npz to write: one [T, 96] array per input.",
                        required=True)
    cli.run(main)
