"""`export` spec of the speaker embedding: 16 kHz waveform -> per-window and utterance vectors.

    python -m export.hub --model=speaker_embedding --format=saved_model_2 \
        --weights_path=/tmp/spk_model --output_dir=/tmp/speaker_embedding/1

The exported function computes the filterbanks in TensorFlow (`features.tf_fbank`), cuts
them into the same 1.6 s windows as `Embedder` and runs the network, so `hub.load(...)(x)`
gives the vectors `Embedder.embed_windows(x)` / `Embedder.embed(x)` give in Python.
"""

from __future__ import annotations

import tensorflow as tf

from export import spec
from speaker_embedding import embedder, features

CARD = spec.ModelCard(
    title="speaker_embedding",
    description=("Deep Speaker (Li et al. 2017) speaker embedding: a ResCNN trained with a "
                 "cosine triplet loss maps speech to 512-d unit vectors whose cosine similarity "
                 "is high for the same speaker."),
    module_type="audio-embedding",
    input=("float32 `[samples]`: one mono waveform at 16 kHz in [-1, 1], at least one sample "
           "(0.5 s or more for a useful vector)."),
    output=("dict: `default` float32 `[windows, 512]`, one unit vector per 1.6 s window "
            "(160 frames of 10 ms; windows tile the clip, the last one ends at its end, a "
            "shorter clip is repeated to fill one); `mean` float32 `[512]`, the normalised "
            "mean of the windows: the utterance's vector."),
    usage=("Compare speakers by the dot product of `mean` vectors (cosine similarity). Trim "
           "long silences first: silence embeds close to every speaker. Features are 64 "
           "linear mel filterbank energies (25 ms / 10 ms, pre-emphasis 0.97) normalised per "
           "frame, computed inside the model."),
    fine_tuning=("Batch norm uses batch statistics when called with `training=True`; train "
                 "with a triplet loss on the `default` output at a learning rate near 1e-4."),
    network_architecture="ResCNN: stride-2 5x5 conv stages with residual 3x3 blocks, time "
                         "average, dense 512, L2 normalisation.",
    dataset="Synthetic espeak-ng speakers (speaker_embedding.synthesize) unless retrained.",
    language="en",
    references=("Li et al., *Deep Speaker: an End-to-End Neural Speaker Embedding System*, "
                "arXiv:1705.02304",),
)


def hub_spec(weights_path: str | None = None, **kwargs: str) -> spec.ModelSpec:
    """The spec of a trained model folder.

    Args:
      weights_path: a folder written by `python -m speaker_embedding.train` (it holds the
        network shape in config.json next to model.weights.h5). No weights ship with the
        package, so it is required.
    """
    if kwargs:
        raise ValueError(f"speaker_embedding takes no --spec_arg, got {', '.join(kwargs)}")
    if weights_path is None:
        raise ValueError("speaker_embedding needs --weights_path=MODEL_DIR, a folder written by "
                         "python -m speaker_embedding.train")
    network = embedder.load_model(weights_path)

    def embed(waveform: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        tf.debugging.assert_positive(tf.size(waveform), message="empty waveform")
        tf.debugging.assert_all_finite(waveform, message="waveform holds NaN or Inf")
        windows = features.tf_windows(features.tf_fbank(waveform))
        vectors = network(windows, training=training)
        mean = tf.reduce_mean(vectors, axis=0)
        return {"default": vectors, "mean": mean / tf.maximum(tf.norm(mean), 1e-12)}

    return spec.ModelSpec(model=network, input_spec=tf.TensorSpec([None], tf.float32),
                          card=CARD, fn=embed)
