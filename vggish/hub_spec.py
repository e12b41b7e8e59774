"""What `python -m export.hub --model=vggish` exports: Google's `vggish/1` interface, fine-tunable.

`hub.load(DIR)(waveform)` takes one rank-1 float32 16 kHz waveform of any length and returns
`[N, 128]`, as Google's module does; unlike it, the export also carries trainable variables
and a `training` argument, so `hub.KerasLayer(DIR, trainable=True)` fine-tunes it.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from earshot.errors import InvalidInput
from export import spec, stateless
from vggish import features, params, weights

CARD = spec.ModelCard(
    title="vggish",
    description=("VGGish: an audio embedding network trained on a preliminary version of "
                 "YouTube-8M, as used for the AudioSet embeddings; one 128-D vector per 0.96 s "
                 "of 16 kHz audio."),
    task="audio-embedding",
    input=("float32 `[num_samples]`: one mono waveform at 16 kHz, samples in [-1, 1], any "
           "length (no batch axis)."),
    output=("float32 `[N, 128]`, `N = 1 + (num_samples - 15600) // 15360` (0 below 15600 "
            "samples): pre-activation embeddings of consecutive non-overlapping 0.96 s "
            "examples. The model computes its own log-mel features (25 ms periodic Hann "
            "window, 10 ms hop, 64 HTK mel bands from 125 to 7500 Hz, log(mel + 0.01))."),
    usage=("Resample to 16 kHz and mix down to mono first (`vggish.embed` does both). "
           "Trailing audio shorter than 0.96 s is dropped; nothing is padded. The PCA and "
           "8-bit quantization of the AudioSet release are not part of the model: use "
           "`vggish.embed(..., postprocess=True)`."),
    fine_tuning=("VGGish has no batch norm or dropout, so `training=True` computes the same "
                 "function; `hub.KerasLayer(..., trainable=True)` exposes all 72M weights. "
                 "The reference trained with Adam at a learning rate of 1e-4 (epsilon 1e-8)."),
    network_architecture="vgg-style",
    dataset="youtube-8m",
    architecture=("6 convolutions (3x3) in 4 blocks with max pooling, 2 fully connected layers "
                  "of 4096, linear 128-D embedding; 72,141,184 weights."),
    training_data="YouTube-100M (a preliminary YouTube-8M), per the paper.",
    references=("Hershey et al., *CNN Architectures for Large-Scale Audio Classification*, "
                "ICASSP 2017, arXiv:1609.09430.",
                "Reference code: https://github.com/tensorflow/models/tree/master/research/"
                "audioset/vggish",
                "Google's module: https://tfhub.dev/google/vggish/1"),
)


def hub_spec(weights_path: Optional[str] = None, **kwargs: str) -> spec.ModelSpec:
    """VGGish with its front end, for `export`.

    Args:
      weights_path: a folder from `python -m vggish.convert`; None: the cached weights
        (downloaded and converted on first use).
      **kwargs: `--spec_arg`s; VGGish takes none.
    """
    if kwargs:
        raise InvalidInput(f"vggish takes no --spec_arg, got {', '.join(sorted(kwargs))}")
    model = weights.load(weights_path)

    def waveform_to_embeddings(waveform: tf.Tensor, training: bool) -> tf.Tensor:
        """float32 `[samples]` -> `[N, 128]`; below 15600 samples an empty `[0, 128]`,
        made without running the network: oneDNN's convs fail on a zero-sized batch."""
        examples = features.log_mel_examples(waveform)
        return stateless.cond(tf.shape(examples)[0] > 0, model,
                              lambda: model(examples, training=training),
                              lambda: tf.zeros([0, params.EMBEDDING_SIZE]))

    return spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None], tf.float32), card=CARD,
                          fn=waveform_to_embeddings)
