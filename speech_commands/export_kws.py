r"""Exports a trained `embedding_head` keyword spotter for apps and for `listen`.

    python -m speech_commands.export_kws --model_dir=/tmp/speech_commands_train

Reads the run's `settings.json` and newest checkpoint (or `--start_checkpoint`) and writes,
into `--output_dir` (default: the run folder's `export/`):
* `conv_actions_frozen.tflite`, `conv_actions_frozen_int8.tflite`, `conv_actions_labels.txt`:
  the Android speech app's drop-in files, same contract as `freeze --tflite_dir` (input 0
  float32 `[16000, 1]`, input 1 int32 `[1]` rate, output `[1, labels]` softmax); inside, the
  clip is zero-padded in front to 31600 samples, embedded and scored by the head.
* `streaming_kws.tflite` and `streaming_kws.json`: the hop-by-hop model `listen` runs (input
  `samples` float32 `[1280]` plus named states, output `scores` `[labels]` plus the new
  states) and its timing.

The Hub SavedModel of the same spotter goes through the `export` package:
`python -m export.hub --model=keyword_spotter --model_dir=TRAIN_DIR ...`.
"""

from __future__ import annotations

import os

from absl import flags

from earshot import cli, fileio
from speech_commands import run_folder, settings, spotter_runtime, streaming_spotter

FLAGS = flags.FLAGS
SETTINGS_FLAGS = ("wanted_words", "train_embedding")


def define_flags() -> None:
    flags.DEFINE_string("model_dir", "/tmp/speech_commands_train",
                        "Training folder; its newest embedding_head checkpoint is exported.")
    flags.DEFINE_string("start_checkpoint", "", "A checkpoint to export instead of the newest.")
    flags.DEFINE_string("output_dir", "", "Folder for the Android and streaming files "
                        "(default: export/ in the run folder).")
    flags.DEFINE_string("data_dir", "", "Optional dataset whose training clips calibrate the "
                        "int8 model.")
    flags.DEFINE_string("wanted_words", "", "As given to train; checked against settings.json.")
    flags.DEFINE_bool("train_embedding", False, "As given to train; checked against "
                      "settings.json.")


def main(argv):
    del argv
    source = FLAGS.start_checkpoint or FLAGS.model_dir
    output_dir = FLAGS.output_dir or os.path.join(
        os.path.dirname(settings.settings_path(source)), spotter_runtime.EXPORT_DIR_NAME)
    fileio.check_output(output_dir, folder=True)
    model, run = run_folder.load_model(source, **settings.flags_given(FLAGS, SETTINGS_FLAGS))
    paths = streaming_spotter.export_spotter(model, run, output_dir, FLAGS.data_dir)
    for kind, path in sorted(paths.items()):
        print(f"{kind}: {path}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
