"""The trained keyword spotter (front end, speech embedding, head) as an `export` model.

    python -m export.hub --model=keyword_spotter --format=saved_model_2 \
        --model_dir=/tmp/speech_commands_train --output_dir=/tmp/hub/kws/1

`--model_dir` is the training folder (its newest `embedding_head` checkpoint) or one
checkpoint prefix; the words and whether the embedding was fine-tuned come from the run's
`settings.json` (`--spec_arg=wanted_words=...`, `train_embedding=...` are checked against it).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import keras
import tensorflow as tf

from earshot.errors import UserError
from export import spec, stateless
from speech_commands import features, run_folder
from speech_commands.settings import ModelSettings


class SpecArgumentError(UserError, ValueError):
    """`--model_dir` or a `--spec_arg` that the keyword spotter cannot take."""


CARD = spec.ModelCard(
    title="keyword_spotter",
    description=("A Speech Commands keyword spotter: Google's speech embedding with the small "
                 "convolutional head of arXiv:2002.01322, trained with speech_commands.train "
                 "--model_architecture=embedding_head."),
    task="audio-command-detection",
    input=("float32 `[batch_size, num_samples]`: mono 16 kHz audio in [-1, 1], normally one "
           "1 s clip (16000 samples). Clips are zero-padded in front (or cut from the front) "
           "to 31600 samples, the 16-embedding context the model was trained on."),
    output=("`default`: float32 `[batch_size, labels]` softmax over `_silence_`, `_unknown_` "
            "and the wanted words, in training's label order; `logits`: the same before softmax."),
    usage="Score 1 s clips; for a live stream use `python -m speech_commands.listen`.",
    fine_tuning="Only the head is meant to be trained further; the embedding is frozen unless "
                "the model was trained with --train_embedding.",
    network_architecture="keywordspottingnet",
    language="en",
    architecture="speech_embedding (330k weights) + conv head (~57k weights).",
    training_data="Whatever --data_dir the model was trained on.",
    references=("Lin et al., *Training Keyword Spotters with Limited and Synthesized Speech "
                "Data*, ICASSP 2020, arXiv:2002.01322.",),
)


def spotter_model(model: keras.Model, model_settings: ModelSettings) -> keras.Model:
    """One Keras model holding every variable: padded waveform `[batch, 31600]` -> logits."""
    if features.of(model_settings).embedding_in_model:
        return model
    waveform = keras.Input((features.CONTEXT_SAMPLES,), name="waveform")
    vectors = features.embedding_model()(waveform)
    logits = model(keras.layers.Reshape((model_settings.fingerprint_size,))(vectors))
    return keras.Model(waveform, logits, name="keyword_spotter")


def hub_spec(weights_path: Optional[str] = None, **kwargs: str) -> spec.ModelSpec:
    """The keyword spotter of a training folder (or checkpoint) for `export.hub`.

    `kwargs` (`--spec_arg`s) `wanted_words` and `train_embedding` are optional and must equal
    the run's settings.
    """
    unknown = set(kwargs) - {"wanted_words", "train_embedding"}
    if unknown:
        raise SpecArgumentError(f"unknown --spec_arg {', '.join(sorted(unknown))}: use wanted_words, "
                        "train_embedding")
    if not weights_path:
        raise SpecArgumentError("pass the training folder (or a checkpoint) as --model_dir")
    given = dict(kwargs)
    if "train_embedding" in given:
        given["train_embedding"] = given["train_embedding"].lower() in ("1", "true", "yes")
    model, run = run_folder.load_model(weights_path, model_architecture="embedding_head",
                                       **given)
    whole = spotter_model(model, run.model_settings)

    def scores(inputs, training=False):
        """float32 `[batch, samples]` -> softmax `default` and `logits`, `[batch, labels]`."""

        def compute() -> dict[str, tf.Tensor]:
            clips = features.pad_to_context(tf.transpose(inputs))
            logits = whole(clips, training=training)
            return {"default": tf.nn.softmax(logits), "logits": logits}

        def no_clips() -> dict[str, tf.Tensor]:
            empty = tf.zeros([0, len(run.labels)])
            return {"default": empty, "logits": empty}

        return stateless.cond(tf.shape(inputs)[0] > 0, whole, compute, no_clips)

    card = dataclasses.replace(CARD, output=CARD.output + f" Labels: {', '.join(run.labels)}.")
    return spec.ModelSpec(model=whole, input_spec=tf.TensorSpec([None, None], tf.float32),
                          card=card, fn=scores)
