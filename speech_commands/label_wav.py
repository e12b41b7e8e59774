r"""Prints the top labels of a WAV file according to a frozen graph or TFLite model.

    python -m speech_commands.label_wav --graph=/tmp/my_frozen_graph.pb \
        --labels=/tmp/speech_commands_train/conv_labels.txt \
        --wav=/tmp/speech_dataset/left/a5d485dc_nohash_0.wav

A frozen graph is fed the file's bytes at `--input_name` (the reference's behaviour) when the
file is 16-bit PCM WAV, which is all DecodeWav reads; other files (FLAC, OGG, MP3, float WAV)
and `.tflite` models get the decoded audio `[16000, 1]` and rate, as the Android app feeds it.
Prints `--how_many_labels` lines `label (score = 0.12345)`.
"""

from __future__ import annotations

import numpy as np
import soundfile
from absl import flags

from earshot import audio, cli
from earshot.errors import UserError, require_file
from speech_commands import classifier, dataset

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("wav", "", "Audio file to be identified.")
    flags.DEFINE_string("graph", "", "Model to use for identification (.pb or .tflite).")
    flags.DEFINE_string("labels", "", "Path to file containing labels.")
    flags.DEFINE_string("input_name", "wav_data:0", "Name of WAVE data input node in model.")
    flags.DEFINE_string("output_name", "labels_softmax:0", "Name of node outputting a "
                        "prediction.")
    flags.DEFINE_integer("how_many_labels", 3, "Number of results to show.")


def scores_from_wav_bytes(graph: str, wav: str, input_name: str, output_name: str) -> np.ndarray:
    """Runs a frozen graph on the raw bytes of `wav`; float32 `[labels]`."""
    with open(wav, "rb") as wav_file:
        wav_data = wav_file.read()
    return classifier.frozen_graph_scores(graph, {input_name: wav_data}, output_name)


def _is_16_bit_wav(path: str) -> bool:
    info = soundfile.info(path)
    return info.format == "WAV" and info.subtype == "PCM_16"


def label_wav(wav: str, labels: str, graph: str, input_name: str, output_name: str,
              how_many_labels: int) -> list[tuple[str, float]]:
    """Top `how_many_labels` (label, score), best first."""
    for path, what in ((wav, "audio file"), (graph, "model file"), (labels, "labels file")):
        require_file(path, what)
    label_names = dataset.read_labels(labels)
    audio.load(wav, audio.SAMPLE_RATE)  # One clear error for a bad file, before TF sees it.
    if graph.endswith(".tflite") or not _is_16_bit_wav(wav):
        # DecodeWav reads only 16-bit PCM WAV; other files are decoded here and fed as audio.
        scores = classifier.Classifier(graph).scores_for_file(wav)
    else:
        scores = scores_from_wav_bytes(graph, wav, input_name, output_name)
    if len(scores) != len(label_names):
        raise UserError(f"{graph} gives {len(scores)} scores but {labels} has "
                        f"{len(label_names)} labels")
    top = np.argsort(-scores)[:how_many_labels]
    return [(label_names[i], float(scores[i])) for i in top]


def main(argv):
    del argv
    for label, score in label_wav(FLAGS.wav, FLAGS.labels, FLAGS.graph, FLAGS.input_name,
                                  FLAGS.output_name, FLAGS.how_many_labels):
        print("%s (score = %.5f)" % (label, score))


if __name__ == "__main__":
    define_flags()
    cli.run(main)
