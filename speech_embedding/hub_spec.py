"""What `python -m export.hub --model=speech_embedding` exports: the pretrained model and its card.

The card follows Google's `speech_embedding/1` page, so the export can stand in for it.
"""

from __future__ import annotations

import os
from typing import Optional

import tensorflow as tf

from earshot.errors import InvalidInput
from export import spec, stateless
from speech_embedding import model as model_lib
from speech_embedding import pretrained

CARD = spec.ModelCard(
    title="speech_embedding",
    description=("Speech embedding: 16 kHz audio -> one 96-dimensional vector per 80 ms, for "
                 "training keyword spotters from few (or synthetic) examples."),
    task="audio-embedding",
    input=("float32 `[batch_size, num_samples]`: mono audio at 16 kHz, samples in [-1, 1], "
           "12400 samples (775 ms) or more per clip for a vector."),
    output=("`default`: float32 `[batch_size, T, 1, 96]` with "
            "`T = 1 + (num_samples - 12400) // 1280`, or `T = 0` below 12400 samples: an empty "
            "`[batch_size, 0, 1, 96]`, not an error (and an empty batch gives `[0, T, 1, 96]`). "
            "The first vector covers the first 775 ms, each further one 80 ms more. The model "
            "computes its own 32-bin log-mel features (25 ms window, 10 ms step, 60-3800 Hz)."),
    usage=("Pad clips shorter than 12400 samples: they give no vectors. For a 1 s keyword, "
           "Google's Colabs pad to 48000 samples (zeros on both sides), giving 28 vectors."),
    fine_tuning=("Batch norm uses batch statistics in training mode: the `{\"train\"}` graph of "
                 "the `tf1_hub` export, or `training=True` (`hub.KerasLayer(..., "
                 "trainable=True)` in a tf_keras model) with the `saved_model_2` export. Use a "
                 "small learning rate (1e-4 with Adam) so the pretrained features survive."),
    network_architecture="keywordspottingnet",
    language="en",
    architecture="5 convolutional blocks, 19 batch norms, 330k weights.",
    training_data="YouTube (about 200 million 2-second clips, per the paper).",
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
        raise InvalidInput(f"speech_embedding takes no --spec_arg, got {', '.join(sorted(kwargs))}")
    if weights_path is None:
        model = pretrained.load(trainable=True)
    else:
        if not os.path.isfile(weights_path):
            problem = ("a folder, not a .weights.h5 file" if os.path.isdir(weights_path)
                       else "no such weights file")
            raise InvalidInput(f"{weights_path}: {problem}")
        model = model_lib.build()
        try:
            model.load_weights(weights_path)
        except (OSError, ValueError) as error:
            raise InvalidInput(f"{weights_path}: not a speech_embedding weights file "
                               f"({error})") from error

    def embed(waveforms: tf.Tensor, training: bool) -> tf.Tensor:
        """float32 `[batch, samples]` -> `[batch, T, 1, 96]`, T = 0 below 12400 samples.

        A clip too short for one embedding, or an empty batch, gives an empty result
        without running the network: the conv stack cannot shrink fewer than 76 frames, and
        oneDNN's convs fail on a zero-sized batch. Batch norm's moving statistics are left
        alone then, even in training.
        """
        batch, samples = tf.unstack(tf.shape(waveforms))
        rows = tf.maximum(0, 1 + (samples - model_lib.MIN_SAMPLES) // model_lib.HOP_SAMPLES)
        return stateless.cond(
            tf.logical_and(batch > 0, rows > 0), model,
            lambda: model(waveforms, training=training),
            lambda: tf.zeros([batch, rows, 1, model_lib.EMBEDDING_SIZE]))

    return spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None, None], tf.float32),
                          card=CARD, fn=embed)
