"""Flags and plumbing shared by the enroll, verify and identify commands.

They run on `earshot.cli.run`: a user error ends them with one `error:` line and exit
status 2 (`earshot.cli.EXIT_USER_ERROR`); verify answers 0 (accept) or 1 (reject).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from absl import flags

from earshot.errors import InvalidInput
from speaker_embedding import embedder

FLAGS = flags.FLAGS


def define_flags(with_name: bool) -> None:
    """Defines the flags every command shares (and --name for enroll and verify).

    Called only when a command runs as a program, so importing the commands (tests, other
    tools) never defines flags that another module might also define.
    """
    flags.DEFINE_string("db", "speakers.npz", "Speaker database file.")
    flags.DEFINE_string("model_dir", None,
                        "Trained model folder (python -m speaker_embedding.train).", required=True)
    flags.DEFINE_list("input", None, "Audio files (WAV/FLAC/OGG/MP3), comma-separated; any rate "
                      "or channel count, at least 0.5 s each.", required=True)
    if with_name:
        flags.DEFINE_string("name", None, "Speaker name: the one to enroll (enroll) or to check "
                            "the audio against (verify).", required=True)


def embed_files(model_dir: str, paths: Sequence[str]) -> tuple[np.ndarray, str]:
    """Loads the model and embeds the files together.

    Each file streams through the network in bounded memory, whatever its length; a bad
    file fails the command, naming that file.

    Returns:
      (float32 `[512]` normalised mean of the files' utterance vectors, model fingerprint).
    """
    if not paths:
        raise InvalidInput("--input names no files")
    network = embedder.load_model(model_dir)
    return embedder.Embedder(network).embed_all(paths), embedder.fingerprint(network)
