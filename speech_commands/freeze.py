r"""Turns a training checkpoint into the files apps load.

    python -m speech_commands.freeze --start_checkpoint=/tmp/speech_commands_train/conv.ckpt-18000 \
        --output_file=/tmp/my_frozen_graph.pb --tflite_dir=/tmp/android_assets

`--output_file` gets the frozen graph (`wav_data` -> `labels_softmax`, with
`decoded_sample_data:0/:1`), or with `--save_format=saved_model` a SavedModel folder.
`--tflite_dir` gets `conv_actions_frozen.tflite` (float), `conv_actions_frozen_int8.tflite`
and `conv_actions_labels.txt`: drop the first and the labels into the Android speech app's
assets. With `--data_dir`, the int8 model's activations are calibrated on training clips;
without it only its weights are int8. The settings flags must match those of training.
"""

from __future__ import annotations

import os

from absl import app, flags, logging

from speech_commands import export, features, input_data, models, train

FLAGS = flags.FLAGS
CALIBRATION_CLIPS = 100


def define_flags() -> None:
    flags.DEFINE_integer("sample_rate", 16000, "Expected sample rate of the wavs.")
    flags.DEFINE_integer("clip_duration_ms", 1000, "Expected duration in milliseconds of the wavs.")
    flags.DEFINE_integer("clip_stride_ms", 30, "How often to run recognition (kept for "
                         "compatibility; low_latency_svdf scores whole clips here).")
    flags.DEFINE_float("window_size_ms", 30.0, "How long each spectrogram timeslice is.")
    flags.DEFINE_float("window_stride_ms", 10.0, "How long the stride is between timeslices.")
    flags.DEFINE_integer("feature_bin_count", 40, "How many bins to use for the MFCC fingerprint.")
    flags.DEFINE_string("start_checkpoint", "", "If specified, restore this pretrained model.")
    flags.DEFINE_string("model_architecture", "conv", "What model architecture to use.")
    flags.DEFINE_string("wanted_words", train.DEFAULT_WANTED_WORDS,
                        "Words to use (others will be added to an unknown label).")
    flags.DEFINE_string("output_file", "", "Where to save the frozen graph.")
    flags.DEFINE_bool("quantize", False, "Whether the model was trained with --quantize.")
    flags.DEFINE_string("preprocess", "mfcc", "Spectrogram processing mode: " +
                        ", ".join(features.names()))
    flags.DEFINE_enum("save_format", "graph_def", ["graph_def", "saved_model"],
                      "How to save the result: a frozen GraphDef file or a SavedModel folder.")
    flags.DEFINE_string("tflite_dir", "", "Folder for conv_actions_frozen(.tflite, _int8.tflite) "
                        "and conv_actions_labels.txt (the Android app's assets).")
    flags.DEFINE_bool("train_embedding", False, "embedding_head only: the checkpoint was trained "
                      "with --train_embedding (it holds the speech embedding's weights too).")
    flags.DEFINE_string("data_dir", "", "Optional dataset whose training clips calibrate the int8 "
                        "TFLite model's activations.")


def calibration_clips(data_dir: str, words: list[str], model_settings: dict) -> list:
    """Up to CALIBRATION_CLIPS training clips (silence and unknown included), in index order."""
    processor = input_data.AudioProcessor("", data_dir, 10.0, 10.0, words, 10, 10, model_settings)
    clips, _ = processor.get_unprocessed_data(-1, "training")
    return list(clips[:CALIBRATION_CLIPS])


def main(argv):
    del argv
    if not FLAGS.output_file and not FLAGS.tflite_dir:
        raise app.UsageError("pass --output_file and/or --tflite_dir")
    words = FLAGS.wanted_words.split(",")
    words_list = input_data.prepare_words_list(words)
    settings = features.prepare_model_settings(
        len(words_list), FLAGS.sample_rate, FLAGS.clip_duration_ms, FLAGS.window_size_ms,
        FLAGS.window_stride_ms, FLAGS.feature_bin_count,
        models.preprocess_for(FLAGS.model_architecture, FLAGS.preprocess, FLAGS.train_embedding))
    model = export.load_model(settings, FLAGS.model_architecture, FLAGS.start_checkpoint,
                              FLAGS.quantize)
    module = export.InferenceModule(model, settings)
    if FLAGS.output_file:
        if FLAGS.save_format == "saved_model":
            export.write_saved_model(module, FLAGS.output_file)
        else:
            export.write_frozen_graph(module, FLAGS.output_file)
    if FLAGS.tflite_dir:
        clips = (calibration_clips(FLAGS.data_dir, words, settings) if FLAGS.data_dir else None)
        paths = export.write_tflite(module, FLAGS.tflite_dir, words_list, clips)
        logging.info("Android assets: %s and %s", os.path.basename(paths["float"]),
                     os.path.basename(paths["labels"]))


if __name__ == "__main__":
    define_flags()
    app.run(main)
