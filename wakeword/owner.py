r"""The owner check: a detection counts only if the phrase was said by an enrolled voice.

    python -m speaker_embedding.enroll --model_dir=/tmp/spk --db=speakers.npz --name=alice \
        --input=alice1.wav,alice2.wav
    python -m wakeword.listen --model_dir=/tmp/hey_jarvis --input=- \
        --owner=speakers.npz:alice --speaker_model_dir=/tmp/spk

No wake-word peer has this (openWakeWord issue #21 asks for it). At each detection, the audio
the head heard, the last OWNER_SECONDS ending at the hop that fired (kept by `RecentAudio`),
goes through the speaker_embedding model, and its vector is scored against the speaker's
enrolled vectors with the database's own cosine (`speaker_embedding.Verifier`, as
`speaker_embedding.verify` scores a recording). The detection is the owner's when that
similarity reaches the threshold:

- by default the speaker model's equal-error-rate threshold, which
  `speaker_embedding.evaluate --whole_utterances` measured on held-out speakers and stored in
  MODEL_DIR/eval_whole/metrics.json (`speaker_embedding.verifier.default_threshold`, verify's
  default too: utterance vectors, the normalised mean of 1.6 s windows, are what is scored
  here);
- or the one given (`--owner_threshold`), e.g. higher to let fewer other voices through.

The database records only a fingerprint of the model that enrolled it, not its folder, so
the folder is given too, and its fingerprint must match the database's.

Everything that can be wrong with the owner (the DB:NAME value, the database, the name, the
model folder, the threshold) raises a UserError when the `OwnerCheck` is made, before any
audio is read. This module and the database need only NumPy; the speaker model needs
TensorFlow, imported only when an `OwnerCheck` is made, so that `listen` without `--owner`
runs on LiteRT alone.
"""

from __future__ import annotations

import numpy as np

from earshot.errors import UserError
from speaker_embedding import database

# The audio the head's window of 16 embeddings spans (1.975 s), rounded up: the whole phrase
# that fired, and at least the 0.5 s the speaker model needs, since no hop before the 24th
# (1.92 s) can fire.
OWNER_SECONDS = 2.0
SEPARATOR = ":"


class OwnerError(UserError, ValueError):
    """An owner that cannot be checked: a malformed --owner, or its model or threshold."""


def parse(spec: str) -> tuple[str, str]:
    """'DB:NAME' -> (DB, NAME), split at the last ':' so that the path may hold colons."""
    path, separator, name = spec.rpartition(SEPARATOR)
    if not separator or not path or not name:
        raise OwnerError(f"--owner={spec}: expected DB:NAME, a speaker database and a name "
                         "enrolled in it (python -m speaker_embedding.enroll)")
    return path, name


class OwnerCheck:
    """`check(waveform)` -> is a detection's audio the enrolled speaker's?

    Raises (on construction):
      speaker_embedding.database.DatabaseError: the database is missing, foreign, corrupt,
        or was enrolled with another model.
      OwnerError: `name` is not enrolled; no measured threshold and none given; a threshold
        outside [-1, 1].
      speaker_embedding.embedder.ModelFolderError: `model_dir` is not a trained model.
    """

    def __init__(self, database_path: str, name: str, model_dir: str,
                 threshold: float | None = None):
        self.name = name
        enrolled = database.read(database_path)
        if name not in enrolled.names:
            names = ", ".join(enrolled.speakers()) or "nobody"
            raise OwnerError(f"{database_path}: {name!r} is not enrolled; enrolled: {names}")
        if threshold is not None and not -1.0 <= threshold <= 1.0:
            raise OwnerError(f"--owner_threshold={threshold}: a cosine similarity threshold "
                             "must be in [-1, 1]")
        # TensorFlow loads here, only when there is an owner to check (see the module doc).
        from speaker_embedding import embedder, verifier
        self._verifier = verifier.Verifier(model_dir, database_path, threshold)
        try:
            self.threshold = self._verifier.threshold
        except embedder.ModelFolderError as error:
            raise OwnerError(
                f"{model_dir}: no verification threshold measured ({error.__cause__}); run "
                "python -m speaker_embedding.evaluate --whole_utterances on this model, or "
                "pass --owner_threshold") from error

    def check(self, waveform: np.ndarray):
        """float32 `[samples]` at 16 kHz (0.5 s or more) -> the `speaker_embedding.Verdict`
        (accepted, similarity) on its speaker."""
        return self._verifier.verify(self.name, waveform)


def from_flags(spec: str | None, model_dir: str | None, threshold: float | None
               ) -> OwnerCheck | None:
    """The check `listen --owner=DB:NAME --speaker_model_dir=DIR [--owner_threshold=T]` asks for,
    or None without --owner."""
    if spec is None:
        if model_dir is not None or threshold is not None:
            raise OwnerError("--speaker_model_dir and --owner_threshold only apply with "
                             "--owner=DB:NAME")
        return None
    path, name = parse(spec)
    if model_dir is None:
        raise OwnerError(f"--owner={spec} needs --speaker_model_dir=DIR, the speaker_embedding "
                         "model folder the database was enrolled with")
    return OwnerCheck(path, name, model_dir, threshold)


class RecentAudio:
    """The last `capacity` samples of a stream, addressed by their index in the whole stream.

    A fixed float32 array used as a ring, so memory stays `capacity` samples however long
    the stream runs.

    Attributes:
      end: samples pushed since the start of the stream.
    """

    def __init__(self, capacity: int):
        self._ring = np.zeros(capacity, np.float32)
        self.end = 0

    def push(self, samples: np.ndarray) -> None:
        """Appends float32 `[n]` samples (any n; of more than `capacity`, the last are kept)."""
        samples = np.asarray(samples, np.float32)
        kept = samples[samples.size - min(samples.size, self._ring.size):]
        first = self.end + samples.size - kept.size
        self._ring[np.arange(first, first + kept.size) % self._ring.size] = kept
        self.end += samples.size

    def window(self, end: int, length: int) -> np.ndarray:
        """float32 `[min(length, end)]`: samples `[end - length, end)` of the stream (from 0
        near its start).

        Raises:
          ValueError: some of them have not been pushed yet or have left the ring.
        """
        start = max(0, end - length)
        if end > self.end or start < self.end - self._ring.size:
            held = max(0, self.end - self._ring.size)
            raise ValueError(f"samples [{start}, {end}) are not all in the ring, which holds "
                             f"[{held}, {self.end})")
        return self._ring[np.arange(start, end) % self._ring.size]

