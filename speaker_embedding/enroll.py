r"""Adds a speaker to the database from one or more recordings.

    python -m speaker_embedding.enroll --model_dir=/tmp/spk_model --db=speakers.npz \
        --name=alice --input=alice1.wav,alice2.flac

Each call appends one vector (the normalised mean over the given files) under NAME, so
enrolling again with new recordings refines the speaker. Safe to run concurrently.
"""

from __future__ import annotations

import os
from typing import Sequence

from absl import flags

from earshot import cli as earshot_cli, fileio
from speaker_embedding import cli, database

FLAGS = flags.FLAGS


def enroll(model_dir: str, db: str, name: str, audio: Sequence[str]) -> None:
    """Embeds `audio` and appends it under `name`; prints a summary."""
    fileio.check_output(db)
    if os.path.lexists(db):
        database.read(db)  # a foreign or corrupt database fails before the network runs
    vector, model = cli.embed_files(model_dir, audio)
    enrolled = database.enroll(db, name, vector, model)
    count = int((enrolled.names == name).sum())
    speakers = len(enrolled.speakers())
    print(f"enrolled {name} ({count} enrolment{'s' * (count != 1)}); {db} holds "
          f"{speakers} speaker{'s' * (speakers != 1)}")


def main(argv: Sequence[str]) -> None:
    del argv
    enroll(FLAGS.model_dir, FLAGS.db, FLAGS.name, FLAGS.input)


if __name__ == "__main__":
    cli.define_flags(with_name=True)
    earshot_cli.run(main)
