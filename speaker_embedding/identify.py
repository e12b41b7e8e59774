r"""Ranks the enrolled speakers by how well they match recordings.

    python -m speaker_embedding.identify --model_dir=/tmp/spk_model --db=speakers.npz \
        --input=unknown.wav [--top_k=5]

Prints one `rank<TAB>name<TAB>score` line per speaker, best first.
"""

from __future__ import annotations

from typing import Sequence

from absl import flags

from earshot import cli as earshot_cli
from speaker_embedding import cli, database

FLAGS = flags.FLAGS


def identify(model_dir: str, db: str, audio: Sequence[str], top_k: int = 5) -> None:
    """Prints the `top_k` best-matching speakers (0: all)."""
    enrolled = database.read(db)
    if not enrolled.speakers():
        raise database.DatabaseError(f"{db}: no speakers enrolled")
    vector, model = cli.embed_files(model_dir, audio)
    database.check_model(enrolled, model, db)
    for rank, (name, score) in enumerate(enrolled.rank(vector)[:top_k or None], start=1):
        print(f"{rank}\t{name}\t{score:.4f}")


def main(argv: Sequence[str]) -> None:
    del argv
    identify(FLAGS.model_dir, FLAGS.db, FLAGS.input, FLAGS.top_k)


if __name__ == "__main__":
    cli.define_flags(with_name=False)
    flags.DEFINE_integer("top_k", 5, "How many speakers to list (0: all).", lower_bound=0)
    earshot_cli.run(main)
