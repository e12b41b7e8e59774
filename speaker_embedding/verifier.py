"""`Verifier`: a speaker model and its database of enrolled voices, as one object.

    import speaker_embedding
    verifier = speaker_embedding.Verifier("spk", "speakers.npz")   # model folder, database
    verdict = verifier.verify("ada", "c.wav")      # a file, a float32 16 kHz array, or a list
    print(verdict.accepted, verdict.similarity)
    print(verifier.identify("c.wav")[:3])          # [(name, similarity)], best first

What `python -m speaker_embedding.verify` and `identify` do, and what `wakeword.owner` checks
a detection with: the audio's utterance vector (the normalised mean over the recordings) is
scored against the enrolled speakers with the database's cosine.
"""

from __future__ import annotations

import functools
import json
import os
from typing import NamedTuple, Sequence, Union

import numpy as np

from earshot import audio as audio_lib
from speaker_embedding import database, embedder

Audio = Union[audio_lib.AudioSource, Sequence[audio_lib.AudioSource]]


def default_threshold(model_dir: str) -> float:
    """The EER threshold `evaluate --whole_utterances` measured on held-out speakers.

    Whole-utterance scores are what verification computes, so their threshold is the one to
    reuse. The model folder is checked first: a mistyped --model_dir is named as such, not as
    a threshold to measure.
    """
    embedder.read_config(model_dir)
    path = os.path.join(model_dir, "eval_whole", "metrics.json")
    try:
        with open(path) as f:
            return float(json.load(f)["eer_threshold"])
    except (OSError, ValueError, KeyError) as error:
        raise embedder.ModelFolderError(
            f"no --threshold given and none measured in {path} ({error}); run "
            "python -m speaker_embedding.evaluate --whole_utterances first, or pass "
            "--threshold") from error


class Verdict(NamedTuple):
    accepted: bool
    similarity: float  # cosine with the enrolled speaker, in [-1, 1]


class Verifier:
    """Scores audio against the speakers a database enrolled with the same model.

    Args:
      model_dir: a folder written by `python -m speaker_embedding.train`.
      db: a database written by `python -m speaker_embedding.enroll` with that model.
      threshold: the cosine similarity that accepts; None reads the EER threshold that
        `evaluate --whole_utterances` stored in the model folder (when `verify` first needs it).

    Raises:
      database.DatabaseError: the database is missing, foreign, corrupt, or was enrolled with
        another model.
      embedder.ModelFolderError: `model_dir` is not a trained model.
    """

    def __init__(self, model_dir: str, db: str, threshold: float | None = None):
        self.model_dir = model_dir
        self.database = database.read(db)
        network = embedder.load_model(model_dir)
        database.check_model(self.database, embedder.fingerprint(network), db)
        self._given_threshold = threshold
        self._embedder = embedder.Embedder(network)

    @functools.cached_property
    def threshold(self) -> float:
        """The similarity that accepts (raises embedder.ModelFolderError if none was given or
        measured)."""
        if self._given_threshold is not None:
            return float(self._given_threshold)
        return default_threshold(self.model_dir)

    def embed(self, audio: Audio) -> np.ndarray:
        """float32 `[512]`: the normalised mean of the recordings' utterance vectors (each at
        least 0.5 s; a list of files or arrays, or one)."""
        single = isinstance(audio, (str, os.PathLike, np.ndarray))
        return self._embedder.embed_all([audio] if single else list(audio))

    def verify(self, name: str, audio: Audio) -> Verdict:
        """Is `audio` spoken by `name`? (database.DatabaseError if `name` is not enrolled)."""
        self.database.centroid(name)  # an unknown name fails before any audio is decoded
        threshold = self.threshold  # and so does a missing threshold
        similarity = self.database.score(name, self.embed(audio))
        return Verdict(similarity >= threshold, similarity)

    def identify(self, audio: Audio) -> list[tuple[str, float]]:
        """Every enrolled speaker with the similarity of `audio` to it, best first."""
        return self.database.rank(self.embed(audio))
