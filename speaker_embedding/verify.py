r"""Checks whether recordings come from an enrolled speaker.

    python -m speaker_embedding.verify --model_dir=/tmp/spk_model --db=speakers.npz \
        --name=alice --input=unknown.wav [--threshold=0.8]

Prints the cosine score and the decision. Exit status, as grep uses them: 0 same speaker,
1 different speaker (a negative answer, not an error), 2 bad input (`earshot.cli`).
Without --threshold, the EER threshold that `evaluate --whole_utterances` stored in
MODEL_DIR/eval_whole/metrics.json is used.
"""

from __future__ import annotations

from typing import Sequence

from absl import flags

from earshot import cli as earshot_cli
from earshot.errors import InvalidInput
from speaker_embedding import cli, verifier

FLAGS = flags.FLAGS

EXIT_ACCEPT, EXIT_REJECT = 0, 1


def verify(model_dir: str, db: str, name: str, audio: Sequence[str],
           threshold: float | None = None) -> int:
    """Scores `audio` against `name`; prints the decision, returns EXIT_ACCEPT or EXIT_REJECT."""
    if not audio:
        raise InvalidInput("--audio names no files")
    speakers = verifier.Verifier(model_dir, db, threshold)
    accepted, score = speakers.verify(name, audio)
    print(f"{name}: score {score:.4f} {'>=' if accepted else '<'} threshold "
          f"{speakers.threshold:.4f}: {'ACCEPT' if accepted else 'REJECT'}")
    return EXIT_ACCEPT if accepted else EXIT_REJECT


def main(argv: Sequence[str]) -> int:
    del argv
    return verify(FLAGS.model_dir, FLAGS.db, FLAGS.name, FLAGS.input, FLAGS.threshold)


if __name__ == "__main__":
    cli.define_flags(with_name=True)
    flags.DEFINE_float("threshold", None, "Accept when the cosine score is at least this.")
    earshot_cli.run(main)
