r"""Turns a training run into the files apps load.

    python -m speech_commands.freeze --train_dir=/tmp/speech_commands_train \
        --output_file=/tmp/my_frozen_graph.pb --tflite_dir=/tmp/android_assets

`--train_dir` is a run folder of `train` (its newest checkpoint is frozen) or
`--start_checkpoint` one checkpoint in it; the architecture, words and front end come from the
run's `settings.json`. The reference's settings flags (`--model_architecture`,
`--wanted_words`, `--sample_rate`, `--window_size_ms`, ...) are still accepted and must equal
the run's. `--output_file` gets the frozen graph (`wav_data` -> `labels_softmax`, with
`decoded_sample_data:0/:1`), or with `--save_format=saved_model` a SavedModel folder.
`--tflite_dir` gets `conv_actions_frozen.tflite` (float), `conv_actions_frozen_int8.tflite`
and `conv_actions_labels.txt`: drop the first and the labels into the Android speech app's
assets. With `--data_dir`, the int8 model's activations are calibrated on training clips;
without it only its weights are int8. `--micro_dir` gets the micro_speech files of a
`--preprocess=micro` run: `model.tflite` (int8 fingerprint in, int8 scores out), `model.cc`
(the same bytes as the C array `g_model`) and `labels.txt`.

`create_inference_graph` (here) and `save_graph_def` (`inference_export`) are the reference's
functions.
"""

from __future__ import annotations

import os

import tensorflow as tf
from absl import app, flags, logging

from earshot import cli, fileio
from speech_commands import (architectures, classifier, dataset, features, inference_export,
                             run_folder, settings)
from speech_commands.inference_export import save_graph_def  # noqa: F401  (reference's)

FLAGS = flags.FLAGS
# Reference flags that repeat what settings.json records: checked when given.
SETTINGS_FLAGS = ("sample_rate", "clip_duration_ms", "window_size_ms", "window_stride_ms",
                  "feature_bin_count", "model_architecture", "wanted_words", "quantize",
                  "preprocess", "train_embedding")


def define_flags() -> None:
    flags.DEFINE_string("train_dir", "", "Training run folder; its newest checkpoint is frozen.")
    flags.DEFINE_string("start_checkpoint", "", "One checkpoint of a run to freeze instead.")
    flags.DEFINE_string("output_file", "", "Where to save the frozen graph.")
    flags.DEFINE_enum("save_format", "graph_def", ["graph_def", "saved_model"],
                      "How to save the result: a frozen GraphDef file or a SavedModel folder.")
    flags.DEFINE_string("tflite_dir", "", "Folder for conv_actions_frozen(.tflite, _int8.tflite) "
                        "and conv_actions_labels.txt (the Android app's assets).")
    flags.DEFINE_string("data_dir", "", "Optional dataset whose training clips calibrate the int8 "
                        "TFLite model's activations (--micro_dir: the run's dataset by default).")
    flags.DEFINE_string("micro_dir", "", "Folder for the micro_speech files: model.tflite (int8, "
                        "fingerprint in), model.cc (its C array g_model) and labels.txt.")
    flags.DEFINE_integer("clip_stride_ms", 30, "How often to run recognition (kept for "
                         "compatibility; low_latency_svdf scores whole clips here).")
    settings.define_flags(SETTINGS_FLAGS, "As given to train; checked against the run's "
                          "settings.json.")


def create_inference_graph(wanted_words: str, sample_rate: int, clip_duration_ms: float,
                           clip_stride_ms: float, window_size_ms: float, window_stride_ms: float,
                           feature_bin_count: int, model_architecture: str,
                           preprocess: str) -> tuple[tf.Tensor, tf.Tensor]:
    """The reference's `create_inference_graph`: an untrained model with the nodes the apps
    use, as the traced `wav_data -> labels_softmax` function of
    `inference_export.InferenceModule`.

    Args:
      wanted_words: comma-separated words (the labels are `_silence_`, `_unknown_`, them).
      clip_stride_ms: the reference's streaming stride for low_latency_svdf; earshot's SVDF
        scores whole clips, so it is not needed.

    Returns:
      (fingerprint `[batch, fingerprint_size]`, `labels_softmax` `[batch, labels]`): tensors of
      the traced graph (`labels_softmax.graph`), which also holds `wav_data` and
      `decoded_sample_data`. To freeze a trained run, use `InferenceModule` and
      `frozen_graph_def` (what `main` does).
    """
    del clip_stride_ms  # Whole-clip scoring needs no streaming stride.
    labels = dataset.prepare_words_list(settings.as_list("wanted_words", wanted_words))
    model_settings = features.model_settings(len(labels), sample_rate, clip_duration_ms,
                                             window_size_ms, window_stride_ms, feature_bin_count,
                                             preprocess)
    module = inference_export.InferenceModule(
        architectures.build_model(model_settings, model_architecture), model_settings)
    graph = module.from_wav.get_concrete_function().graph
    return (graph.get_tensor_by_name(f"{inference_export.FINGERPRINT_NAME}:0"),
            graph.get_tensor_by_name(f"{classifier.OUTPUT_NAME}:0"))


def main(argv):
    del argv
    if not FLAGS.output_file and not FLAGS.tflite_dir and not FLAGS.micro_dir:
        raise app.UsageError("pass --output_file, --tflite_dir and/or --micro_dir")
    if FLAGS.output_file:
        fileio.check_output(FLAGS.output_file, folder=FLAGS.save_format == "saved_model")
    for folder in filter(None, (FLAGS.tflite_dir, FLAGS.micro_dir)):
        fileio.check_output(folder, folder=True)
    model, run = run_folder.load_model(FLAGS.start_checkpoint or FLAGS.train_dir,
                                       **settings.flags_given(FLAGS, SETTINGS_FLAGS))
    module = inference_export.InferenceModule(model, run.model_settings)
    if FLAGS.output_file:
        if FLAGS.save_format == "saved_model":
            inference_export.write_saved_model(module, FLAGS.output_file)
        else:
            inference_export.write_frozen_graph(module, FLAGS.output_file)
    if FLAGS.tflite_dir:
        clips = (inference_export.calibration_clips(run, FLAGS.data_dir) if FLAGS.data_dir
                 else None)
        paths = inference_export.write_tflite(module, FLAGS.tflite_dir, list(run.labels), clips)
        logging.info("Android assets: %s and %s", os.path.basename(paths["float"]),
                     os.path.basename(paths["labels"]))
    if FLAGS.micro_dir:
        clips = inference_export.calibration_clips(run, FLAGS.data_dir or run.data_dir)
        inference_export.write_micro(model, run, FLAGS.micro_dir, clips)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
