"""`export` spec of the speaker embedding: 16 kHz waveform -> per-window and utterance vectors.

    python -m export.hub --model=speaker_embedding --format=saved_model_2 \
        --model_dir=/tmp/spk_model --output_dir=/tmp/speaker_embedding/1

The exported function computes the filterbanks in TensorFlow (`features.tf_fbank`), cuts
them into the same 1.6 s windows as `Embedder` and runs the network, so `hub.load(...)(x)`
gives the vectors `Embedder.embed_windows(x)` / `Embedder.embed(x)` give in Python.
"""

from __future__ import annotations

import tensorflow as tf

from earshot.errors import InvalidInput
from export import spec, stateless
from speaker_embedding import embedder, features, model as model_lib

CARD = spec.ModelCard(
    title="speaker_embedding",
    description=("Deep Speaker (Li et al. 2017) speaker embedding: a ResCNN trained with a "
                 "cosine triplet loss maps speech to 512-d unit vectors whose cosine similarity "
                 "is high for the same speaker."),
    task="audio-embedding",
    input=("float32 `[samples]`: one mono waveform at 16 kHz in [-1, 1], any length "
           "(0.5 s or more for a useful vector)."),
    output=("dict: `default` float32 `[windows, 512]`, one unit vector per 1.6 s window "
            "(160 frames of 10 ms; windows tile the clip, the last one ends at its end, a "
            "shorter clip is repeated to fill one); `mean` float32 `[512]`, the normalised "
            "mean of the windows: the utterance's vector. An empty waveform gives `[0, 512]` "
            "and an all-zero `mean`, whose dot product with every vector is 0."),
    usage=("Compare speakers by the dot product of `mean` vectors (cosine similarity). Trim "
           "long silences first: silence embeds close to every speaker. Features are 64 "
           "linear mel filterbank energies (25 ms / 10 ms, pre-emphasis 0.97) normalised per "
           "frame, computed inside the model."),
    fine_tuning=("Batch norm uses batch statistics when called with `training=True`; train "
                 "with a triplet loss on the `default` output at a learning rate near 1e-4."),
    network_architecture="resnet",
    language="en",
    architecture=("ResCNN: stride-2 5x5 conv stages with residual 3x3 blocks, time average, "
                  "dense 512, L2 normalisation."),
    training_data="Synthetic espeak-ng speakers (speaker_embedding.synthesize) unless retrained.",
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
        raise InvalidInput(f"speaker_embedding takes no --spec_arg, got {', '.join(kwargs)}")
    if weights_path is None:
        raise InvalidInput("speaker_embedding needs --model_dir=MODEL_DIR, a folder written "
                           "by python -m speaker_embedding.train")
    network = embedder.load_model(weights_path)

    def embed(waveform: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        """float32 `[samples]` -> `default` `[windows, 512]` and `mean` `[512]`.

        One sample already fills a window (repeated). An empty waveform has no speaker: it
        gives no windows and an all-zero `mean` without running the network, which would
        otherwise embed the front end's zero padding as a voice (and, in training, move batch
        norm's statistics towards it).
        """
        tf.debugging.assert_all_finite(waveform, message="waveform holds NaN or Inf")

        def vectors_and_mean() -> dict[str, tf.Tensor]:
            windows = features.tf_windows(features.tf_fbank(waveform))
            vectors = network(windows, training=training)
            mean = tf.reduce_mean(vectors, axis=0)
            return {"default": vectors, "mean": mean / tf.maximum(tf.norm(mean), 1e-12)}

        def no_speech() -> dict[str, tf.Tensor]:
            return {"default": tf.zeros([0, model_lib.EMBEDDING_SIZE]),
                    "mean": tf.zeros([model_lib.EMBEDDING_SIZE])}

        return stateless.cond(tf.size(waveform) > 0, network, vectors_and_mean, no_speech)

    return spec.ModelSpec(model=network, input_spec=tf.TensorSpec([None], tf.float32),
                          card=CARD, fn=embed)
