r"""Exports a trained `embedding_head` keyword spotter for apps and for `listen`.

    python -m speech_commands.export_kws --train_dir=/tmp/speech_commands_train \
        --wanted_words=yes,no,up,down,left,right,on,off,stop,go --output_dir=/tmp/kws_model

Writes into `--output_dir`:
* `conv_actions_frozen.tflite`, `conv_actions_frozen_int8.tflite`, `conv_actions_labels.txt`:
  the Android speech app's drop-in files, same contract as `freeze --tflite_dir` (input 0
  float32 `[16000, 1]`, input 1 int32 `[1]` rate, output `[1, labels]` softmax); inside, the
  clip is zero-padded in front to 31600 samples, embedded and scored by the head.
* `streaming_kws.tflite`: the hop-by-hop model `listen` runs (input `samples` float32
  `[1280]` plus named states, output `scores` `[labels]` plus the new states).

The Hub SavedModel of the same spotter goes through the `export` package:
`python -m export.hub --model=keyword_spotter --weights_path=TRAIN_DIR ...`.
"""

from __future__ import annotations

import os

from absl import app, flags, logging

from earshot import fileio
from speech_commands import export, features, freeze, input_data, models, spotter, train

FLAGS = flags.FLAGS
ARCHITECTURE = "embedding_head"


def latest_checkpoint(train_dir: str) -> str:
    """The newest `embedding_head.ckpt-N` in a training folder; a clear error if none."""
    import tensorflow as tf
    checkpoint = tf.train.latest_checkpoint(train_dir)
    if not checkpoint or not os.path.basename(checkpoint).startswith(ARCHITECTURE + ".ckpt"):
        raise FileNotFoundError(f"no {ARCHITECTURE} checkpoint in {train_dir} (train with "
                                f"--model_architecture={ARCHITECTURE} --train_dir={train_dir})")
    return checkpoint


def spotter_settings(wanted_words: list[str], train_embedding: bool) -> dict:
    return features.prepare_model_settings(
        len(input_data.prepare_words_list(wanted_words)), 16000, 1000, 30.0, 10.0, 40,
        models.preprocess_for(ARCHITECTURE, "mfcc", train_embedding))


def load(checkpoint: str, wanted_words: list[str], train_embedding: bool = False):
    """(Keras model with restored weights, its model settings) of a training checkpoint."""
    settings = spotter_settings(wanted_words, train_embedding)
    return export.load_model(settings, ARCHITECTURE, checkpoint), settings


def export_spotter(checkpoint: str, wanted_words: list[str], output_dir: str,
                   train_embedding: bool = False, data_dir: str = "") -> dict[str, str]:
    """Writes the Android files and the streaming model; returns their paths by kind."""
    model, settings = load(checkpoint, wanted_words, train_embedding)
    words_list = input_data.prepare_words_list(wanted_words)
    clips = freeze.calibration_clips(data_dir, wanted_words, settings) if data_dir else None
    paths = export.write_tflite(export.InferenceModule(model, settings), output_dir, words_list,
                                clips)
    paths["streaming"] = os.path.join(output_dir, "streaming_kws.tflite")
    content = spotter.to_tflite(*spotter.split(model, settings))
    with fileio.atomic_open(paths["streaming"], "wb") as out:
        out.write(content)
    logging.info("Saved streaming TFLite model (%d bytes) to %s", len(content),
                 paths["streaming"])
    return paths


def define_flags() -> None:
    flags.DEFINE_string("train_dir", "/tmp/speech_commands_train",
                        "Training folder; its newest embedding_head checkpoint is exported.")
    flags.DEFINE_string("start_checkpoint", "", "A checkpoint to export instead of the newest.")
    flags.DEFINE_string("wanted_words", train.DEFAULT_WANTED_WORDS, "Words the model was "
                        "trained on, as given to train.")
    flags.DEFINE_bool("train_embedding", False, "The model was trained with --train_embedding.")
    flags.DEFINE_string("output_dir", None, "Folder for the Android and streaming files.")
    flags.DEFINE_string("data_dir", "", "Optional dataset whose training clips calibrate the "
                        "int8 model.")
    flags.mark_flag_as_required("output_dir")


def main(argv):
    del argv
    checkpoint = FLAGS.start_checkpoint or latest_checkpoint(FLAGS.train_dir)
    paths = export_spotter(checkpoint, FLAGS.wanted_words.split(","), FLAGS.output_dir,
                           FLAGS.train_embedding, FLAGS.data_dir)
    for kind, path in sorted(paths.items()):
        print(f"{kind}: {path}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
