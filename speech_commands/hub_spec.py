"""The trained keyword spotter (front end, speech embedding, head) as an `export` model.

    python -m export.hub --model=keyword_spotter --format=saved_model_2 \
        --weights_path=/tmp/speech_commands_train --output_dir=/tmp/hub/kws/1 \
        --spec_arg=wanted_words=yes,no,up,down,left,right,on,off,stop,go

`--weights_path` is the training folder (its newest `embedding_head` checkpoint) or one
checkpoint prefix; `--spec_arg`s: `wanted_words` (as in training, default the ten commands),
`train_embedding=true` for a model fine-tuned with `--train_embedding`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import keras
import tensorflow as tf

from export import spec
from speech_commands import export_kws, features, input_data, train

CARD = spec.ModelCard(
    title="earshot keyword spotter (speech embedding + head)",
    description=("A Speech Commands keyword spotter: Google's speech embedding with the small "
                 "convolutional head of arXiv:2002.01322, trained with speech_commands.train "
                 "--model_architecture=embedding_head."),
    module_type="audio-command-detection",
    input=("float32 `[batch_size, num_samples]`: mono 16 kHz audio in [-1, 1], normally one "
           "1 s clip (16000 samples). Clips are zero-padded in front (or cut from the front) "
           "to 31600 samples, the 16-embedding context the model was trained on."),
    output=("`default`: float32 `[batch_size, labels]` softmax over `_silence_`, `_unknown_` "
            "and the wanted words, in training's label order; `logits`: the same before softmax."),
    usage="Score 1 s clips; for a live stream use `python -m speech_commands.listen`.",
    fine_tuning="Only the head is meant to be trained further; the embedding is frozen unless "
                "the model was trained with --train_embedding.",
    network_architecture="speech_embedding (330k weights) + conv head (~57k weights)",
    dataset="whatever --data_dir the model was trained on",
    language="en",
    references=("Lin et al., *Training Keyword Spotters with Limited and Synthesized Speech "
                "Data*, ICASSP 2020, arXiv:2002.01322.",),
)


def spotter_model(model: keras.Model, model_settings: dict) -> keras.Model:
    """One Keras model holding every variable: padded waveform `[batch, 31600]` -> logits."""
    if model_settings["preprocess"] == "waveform":
        return model
    waveform = keras.Input((features.CONTEXT_SAMPLES,), name="waveform")
    vectors = features.embedding_model()(waveform)
    logits = model(keras.layers.Reshape((model_settings["fingerprint_size"],))(vectors))
    return keras.Model(waveform, logits, name="keyword_spotter")


def hub_spec(weights_path: Optional[str] = None, **kwargs: str) -> spec.ModelSpec:
    """The keyword spotter of a training folder (or checkpoint) for `export.hub`."""
    unknown = set(kwargs) - {"wanted_words", "train_embedding"}
    if unknown:
        raise ValueError(f"unknown --spec_arg {', '.join(sorted(unknown))}: use wanted_words, "
                         "train_embedding")
    if not weights_path:
        raise ValueError("pass the training folder (or a checkpoint) as --weights_path")
    checkpoint = (export_kws.latest_checkpoint(weights_path) if os.path.isdir(weights_path)
                  else weights_path)
    words = kwargs.get("wanted_words", train.DEFAULT_WANTED_WORDS).split(",")
    train_embedding = kwargs.get("train_embedding", "false").lower() in ("1", "true", "yes")
    model, settings = export_kws.load(checkpoint, words, train_embedding)
    whole = spotter_model(model, settings)

    def scores(inputs, training=False):
        clips = features.pad_to_context(tf.transpose(inputs))
        logits = whole(clips, training=training)
        return {"default": tf.nn.softmax(logits), "logits": logits}

    labels = ", ".join(input_data.prepare_words_list(words))
    card = dataclasses.replace(CARD, output=CARD.output + f" Labels: {labels}.")
    return spec.ModelSpec(model=whole, input_spec=tf.TensorSpec([None, None], tf.float32),
                          card=card, fn=scores)
