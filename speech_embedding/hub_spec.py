"""What `python -m export.hub --model=speech_embedding` exports: the pretrained model and its card.

The card follows Google's `speech_embedding/1` page, so the export can stand in for it.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from export import spec
from speech_embedding import model as model_lib
from speech_embedding import weights

CARD = spec.ModelCard(
    title="speech_embedding",
    description=("Speech embedding: 16 kHz audio -> one 96-dimensional vector per 80 ms, for "
                 "training keyword spotters from few (or synthetic) examples."),
    module_type="audio-embedding",
    input=("float32 `[batch_size, num_samples]`: mono audio at 16 kHz, samples in [-1, 1], "
           "at least 12400 samples (775 ms) per clip."),
    output=("`default`: float32 `[batch_size, T, 1, 96]` with "
            "`T = 1 + (num_samples - 12400) // 1280`: the first vector covers the first 775 ms, "
            "each further one 80 ms more. The model computes its own 32-bin log-mel features "
            "(25 ms window, 10 ms step, 60-3800 Hz)."),
    usage=("Pad clips shorter than 12400 samples. For a 1 s keyword, Google's Colabs pad to "
           "48000 samples (zeros on both sides), giving 28 vectors."),
    fine_tuning=("Batch norm uses batch statistics in training mode: the `{\"train\"}` graph of "
                 "the `tf1_hub` export, or `training=True` (`hub.KerasLayer(..., "
                 "trainable=True)` in a tf_keras model) with the `saved_model_2` export. Use a "
                 "small learning rate (1e-4 with Adam) so the pretrained features survive."),
    network_architecture="5 convolutional blocks, 19 batch norms, 330k weights",
    dataset="YouTube (about 200 million 2-second clips, per the paper)",
    language="en",
    references=("Lin et al., *Training Keyword Spotters with Limited and Synthesized Speech "
                "Data*, ICASSP 2020, arXiv:2002.01322.",
                "Google's module: https://tfhub.dev/google/speech_embedding/1"),
)


def hub_spec(weights_path: Optional[str] = None, **kwargs: str) -> spec.ModelSpec:
    """The pretrained speech embedding (trainable) for `export`.

    Args:
      weights_path: a `.weights.h5` file of `speech_embedding.model.build()`; default the
        weights `python -m speech_embedding.weights fetch` put in the cache.
      **kwargs: `--spec_arg`s; speech_embedding takes none.
    """
    if kwargs:
        raise ValueError(f"speech_embedding takes no --spec_arg, got {', '.join(sorted(kwargs))}")
    if weights_path is None:
        model = weights.load(trainable=True)
    else:
        model = model_lib.build()
        model.load_weights(weights_path)
    return spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None, None], tf.float32),
                          card=CARD)
