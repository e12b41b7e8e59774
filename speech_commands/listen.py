r"""Spots keywords in a recording or a live stream, 80 ms at a time, without TensorFlow.

    python -m speech_commands.listen --model_dir=/tmp/speech_commands_train --input=stream.wav
    arecord -f S16_LE -r 16000 -c 1 -t raw | \
        python -m speech_commands.listen --model_dir=DIR --input=-

`--model_dir` is a folder written by `speech_commands.export_kws` (it holds
`streaming_kws.tflite`, its timing `streaming_kws.json` and `conv_actions_labels.txt`), or the
run folder it exported into (its `export/`). Each 1280-sample hop runs the streaming TFLite
model once on LiteRT (new embedding frames only, then the head on the ring of the last 16
embeddings); `RecognizeCommands` smooths the scores (`spotter.Spotter` does both, the API
of the same in Python). Every new command is printed as

    2.975 s  yes  (score 0.93)

with the time of the start of the last second of audio it was heard in (near the word's
start). `--input=-` reads raw 16-bit little-endian mono PCM at 16 kHz from stdin and prints
as it goes; a file is decoded (any format `earshot.audio` reads, resampled to 16 kHz). Input
that ends before the model's first full window (about 2 s) is an error, not "0 commands".
Runs with ai-edge-litert, numpy, soundfile, soxr and absl-py only (see the README).
"""

from __future__ import annotations

import sys

from absl import flags, logging

from earshot import cli, streaming
from speech_commands import detection, spotter as spotter_lib

FLAGS = flags.FLAGS
READ_HOPS = 4  # stdin is read 4 hops (320 ms) at a time


def define_flags() -> None:
    flags.DEFINE_string("model_dir", None, "Folder written by speech_commands.export_kws, or the "
                        "training run folder it exported into.", required=True)
    flags.DEFINE_string("input", None, "Audio file, or '-' for raw 16-bit 16 kHz mono PCM on "
                        "stdin.", required=True)
    defaults = detection.DEFAULTS
    flags.DEFINE_float("average_window_ms", defaults.average_window_ms,
                       "Scores are averaged over this long.")
    flags.DEFINE_float("detection_threshold", defaults.detection_threshold,
                       "Averaged score a command needs.")
    flags.DEFINE_float("suppression_ms", defaults.suppression_ms,
                       "No new command for this long after one.")
    flags.DEFINE_integer("minimum_count", defaults.minimum_count,
                         "Scores a window needs before it is trusted.")
    flags.DEFINE_integer("num_threads", 1, "TFLite interpreter threads.")


def main(argv):
    del argv
    spotter = spotter_lib.Spotter(FLAGS.model_dir, detection.DetectionSettings(
        average_window_ms=FLAGS.average_window_ms, detection_threshold=FLAGS.detection_threshold,
        suppression_ms=FLAGS.suppression_ms, minimum_count=FLAGS.minimum_count),
        num_threads=FLAGS.num_threads)
    timing = spotter.stream.timing
    read_samples = READ_HOPS * timing.hop_samples
    chunks = streaming.input_chunks(FLAGS.input, timing.sample_rate, read_samples,
                                    sys.stdin.buffer)
    count = 0
    for chunk in chunks:
        for label, time_ms, score in spotter.push(chunk):
            print(f"{time_ms / 1000:8.3f} s  {label}  (score {score:.2f})", flush=True)
            count += 1
    spotter.stream.check_scored(FLAGS.input)
    logging.info("%d commands in %.1f s of audio", count,
                 spotter.stream.hop * timing.hop_samples / timing.sample_rate)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
