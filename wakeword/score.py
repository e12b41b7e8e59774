r"""Scores audio files with a wake-word model, one row per 80 ms hop, without TensorFlow.

    python -m wakeword.score --model_dir=/tmp/hey_jarvis --input=a.wav[,b.wav,...] \
        --output=scores.csv

writes `file,time_s,score` rows: `file` as given, `time_s` the end of the hop in that file
(hop h covers audio up to (h + 1) * 0.08 s), `score` the streaming TFLite model's output,
the model started afresh for each file. Scores of the first 24 hops (1.92 s) are 0: the
window of 16 embeddings is not full yet, so a file too short to reach a real score is
refused (one error line, nothing written). Files are decoded in blocks, so any length runs in
bounded memory.
"""

from __future__ import annotations

import csv

from absl import flags

from earshot import audio, cli, fileio, progress
from wakeword import runtime

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("model_dir", None, "Model folder written by wakeword.train.", required=True)
    flags.DEFINE_list("input", None, "Comma-separated audio files.", required=True)
    flags.DEFINE_string("output", None, "The CSV to write.", required=True)
    flags.DEFINE_integer("num_threads", 1, "TFLite interpreter threads.")


def main(argv: list[str]) -> None:
    del argv
    fileio.check_output(FLAGS.output)
    stream = runtime.WakeWordStream(FLAGS.model_dir, num_threads=FLAGS.num_threads)
    rate, hop = stream.manifest.sample_rate, stream.manifest.hop_samples
    with fileio.atomic_open(FLAGS.output, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "time_s", "score"])
        for path in progress.track(FLAGS.input, "scoring files"):
            stream.reset()
            for block in audio.stream(path, rate):
                first = stream.hop
                for index, score in enumerate(stream.push(block)):
                    writer.writerow([path, f"{(first + index + 1) * hop / rate:.2f}", f"{score:.6f}"])
            stream.check_scored(path)
    print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
