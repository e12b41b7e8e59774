r"""Listens for the wake phrase in a recording or a live stream, 80 ms at a time.

    python -m wakeword.listen --model_dir=/tmp/hey_jarvis --input=recording.wav
    arecord -f S16_LE -r 16000 -c 1 -t raw | python -m wakeword.listen --model_dir=DIR --input=-

Each hop runs the streaming TFLite model once (LiteRT, no TensorFlow); the manifest's
smoothing, threshold and refractory time turn scores into detections, each printed as

    12.320 s  hey jarvis  (score 0.97)

with the time of the end of the hop that fired. `--input=-` reads raw 16-bit little-endian
mono PCM at 16 kHz from stdin and prints as it goes. Input that ends before the model's first
scored hop (`first_scored_hop` in the manifest) is an error, not "0 detections".

With `--owner=DB:NAME --speaker_model_dir=DIR` (`wakeword.owner`), each detection is also
checked against NAME's voice, enrolled in the speaker database DB by the speaker_embedding
model in DIR, on the last 2 s of audio, and the line ends with the verdict:

    12.320 s  hey jarvis  (score 0.97)  owner alice (similarity 0.81)
    20.080 s  hey jarvis  (score 0.93)  rejected: not alice (similarity 0.12)

(`grep -v rejected` keeps the owner's). The owner check needs TensorFlow, loaded only when
`--owner` is given.
"""

from __future__ import annotations

import sys

from absl import flags, logging

from earshot import cli, streaming
from wakeword import detector as detector_lib, owner

FLAGS = flags.FLAGS
READ_HOPS = 4  # stdin is read 320 ms at a time, and files are fed 320 ms at a time


def define_flags() -> None:
    flags.DEFINE_string("model_dir", None, "Model folder written by wakeword.train.", required=True)
    flags.DEFINE_string("input", None, "Audio file, or '-' for raw 16-bit 16 kHz mono PCM on "
                        "stdin.", required=True)
    flags.DEFINE_integer("num_threads", 1, "TFLite interpreter threads.")
    flags.DEFINE_string("owner", None, "DB:NAME: accept a detection only if it is spoken by "
                        "NAME, enrolled in the speaker database DB (speaker_embedding.enroll).")
    flags.DEFINE_string("speaker_model_dir", None, "With --owner: the speaker_embedding model "
                        "folder that enrolled DB.")
    flags.DEFINE_float("owner_threshold", None, "With --owner: the cosine similarity that "
                       "accepts (default: the EER threshold stored in "
                       "SPEAKER_MODEL_DIR/eval_whole/metrics.json).")


def main(argv: list[str]) -> None:
    del argv
    # Before the model and the audio: a wrong --owner fails first (and alone loads TensorFlow).
    check = owner.from_flags(FLAGS.owner, FLAGS.speaker_model_dir, FLAGS.owner_threshold)
    detector = detector_lib.Detector(FLAGS.model_dir, num_threads=FLAGS.num_threads)
    manifest, stream = detector.manifest, detector.stream
    piece = READ_HOPS * manifest.hop_samples
    chunks = streaming.input_chunks(FLAGS.input, manifest.sample_rate, piece, sys.stdin.buffer)
    heard = int(owner.OWNER_SECONDS * manifest.sample_rate)
    # A hop a chunk completes ends at most `piece` samples before the chunk's end.
    recent = owner.RecentAudio(heard + piece) if check is not None else None
    count = accepted = 0
    for chunk in chunks:
        if recent is not None:
            recent.push(chunk)
        for found in detector.push(chunk):
            line = f"{found.time_s:8.3f} s  {found.phrase}  (score {found.score:.2f})"
            if check is not None:
                verdict = check.check(recent.window(found.end_sample, heard))
                line += f"  {'owner' if verdict.accepted else 'rejected: not'} {check.name} " \
                        f"(similarity {verdict.similarity:.2f})"
                accepted += verdict.accepted
            print(line, flush=True)
            count += 1
    stream.check_scored(FLAGS.input)
    logging.info("%d detections in %.1f s of audio%s", count,
                 stream.hop * manifest.hop_samples / manifest.sample_rate,
                 f", {accepted} by {check.name}" if check is not None else "")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
