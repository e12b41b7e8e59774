r"""Listens for the wake phrase in a recording or a live stream, 80 ms at a time.

    python -m wakeword.listen --model=/tmp/hey_jarvis --input=recording.wav
    arecord -f S16_LE -r 16000 -c 1 -t raw | python -m wakeword.listen --model=DIR --input=-

Each hop runs the streaming TFLite model once (LiteRT, no TensorFlow); the manifest's
smoothing, threshold and refractory time turn scores into detections, each printed as

    12.320 s  hey jarvis  (score 0.97)

with the time of the end of the hop that fired. `--input=-` reads raw 16-bit little-endian
mono PCM at 16 kHz from stdin and prints as it goes.
"""

from __future__ import annotations

import sys

from absl import flags, logging

from earshot import cli, streaming
from wakeword import detect, runtime

FLAGS = flags.FLAGS
READ_HOPS = 4  # stdin is read 320 ms at a time


def define_flags() -> None:
    flags.DEFINE_string("model", None, "Model folder written by wakeword.train.", required=True)
    flags.DEFINE_string("input", None, "Audio file, or '-' for raw 16-bit 16 kHz mono PCM on "
                        "stdin.", required=True)
    flags.DEFINE_integer("num_threads", 1, "TFLite interpreter threads.")


def main(argv: list[str]) -> None:
    del argv
    stream = runtime.WakeWordStream(FLAGS.model, num_threads=FLAGS.num_threads)
    manifest = stream.manifest
    trigger = detect.Trigger(detect.Detector(manifest.threshold, manifest.smoothing_hops,
                                             manifest.refractory_s))
    chunks = streaming.input_chunks(FLAGS.input, manifest.sample_rate,
                                    READ_HOPS * manifest.hop_samples, sys.stdin.buffer)
    count = 0
    for chunk in chunks:
        first = stream.hop
        for index, score in enumerate(stream.push(chunk)):
            if trigger.update(score):
                seconds = (first + index + 1) * manifest.hop_samples / manifest.sample_rate
                print(f"{seconds:8.3f} s  {manifest.phrase}  (score {trigger.smoothed:.2f})",
                      flush=True)
                count += 1
    logging.info("%d detections in %.1f s of audio", count,
                 stream.hop * manifest.hop_samples / manifest.sample_rate)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
