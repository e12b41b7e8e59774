"""The enrolled-speaker database: one .npz of named unit vectors, safe under concurrent writers.

File contents (np.savez, no pickles):
  format   "earshot.speaker_embedding.db/1"; anything else is refused as a foreign file.
  model    fingerprint of the weights that made the vectors; vectors of two networks live in
           different spaces, so mixing them would make every score meaningless.
  names    unicode `[n]`, the speaker of each row (a speaker enrolled twice has two rows).
  vectors  float32 `[n, d]` unit vectors, one per enrolment call.

Writers take an exclusive `flock` on `<db>.lock` around read-modify-write and replace the
file atomically, so concurrent `enroll`s all land and a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import zipfile
from typing import Iterator

import numpy as np

from earshot import fileio
from earshot.errors import UserError
from speaker_embedding import vectors as vectors_lib

FORMAT = "earshot.speaker_embedding.db/1"
ZIP_MAGIC = b"PK\x03\x04"   # every .npz is a zip archive


class DatabaseError(UserError, ValueError):
    """A database file that is unreadable, foreign, or made by another model."""


@dataclasses.dataclass(frozen=True)
class SpeakerDatabase:
    model: str
    names: np.ndarray      # unicode [n]
    vectors: np.ndarray    # float32 [n, d]

    @classmethod
    def empty(cls, model: str, dimension: int) -> "SpeakerDatabase":
        return cls(model, np.zeros([0], dtype="<U1"), np.zeros([0, dimension], np.float32))

    def speakers(self) -> list[str]:
        return sorted(set(self.names.tolist()))

    def centroid(self, name: str) -> np.ndarray:
        """Normalised mean of a speaker's enrolment vectors, float32 `[d]`."""
        rows = self.vectors[self.names == name]
        if rows.size == 0:
            enrolled = ", ".join(self.speakers()) or "nobody"
            raise DatabaseError(f"{name!r} is not enrolled; enrolled: {enrolled}")
        return vectors_lib.mean_vector(rows)

    def score(self, name: str, vector: np.ndarray) -> float:
        """Cosine similarity of a unit vector with an enrolled speaker."""
        return float(self.centroid(name) @ vector)

    def rank(self, vector: np.ndarray) -> list[tuple[str, float]]:
        """Every enrolled speaker with its score, best first."""
        return sorted(((n, self.score(n, vector)) for n in self.speakers()),
                      key=lambda item: -item[1])

    def with_entry(self, name: str, vector: np.ndarray) -> "SpeakerDatabase":
        vector = np.asarray(vector, np.float32)
        if vector.shape != self.vectors.shape[1:]:
            raise DatabaseError(f"vector of shape {vector.shape} does not fit a database of "
                                f"{self.vectors.shape[1]}-d vectors")
        return SpeakerDatabase(self.model, np.append(self.names, name),
                               np.concatenate([self.vectors, vector[None]]))


def read(path: str) -> SpeakerDatabase:
    """Loads a database file.

    Raises:
      DatabaseError: missing, unreadable, or not a speaker database.
    """
    if not os.path.exists(path):
        raise DatabaseError(f"{path}: no such speaker database; create it with "
                            "python -m speaker_embedding.enroll")
    try:
        with open(path, "rb") as f:
            magic = f.read(len(ZIP_MAGIC))
    except OSError as error:
        raise DatabaseError(f"{path}: cannot read ({error})") from error
    if magic != ZIP_MAGIC:
        raise DatabaseError(f"{path}: not a speaker database (not an .npz archive); refusing to "
                            "read or overwrite it")
    try:
        stored = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatabaseError(f"{path}: cannot read as a speaker database ({error})") from error
    with stored:
        if "format" not in stored.files or str(stored["format"]) != FORMAT:
            raise DatabaseError(f"{path}: not a speaker database (no '{FORMAT}' format "
                                "marker); refusing to read or overwrite it")
        try:
            database = SpeakerDatabase(str(stored["model"]), stored["names"],
                                       stored["vectors"].astype(np.float32))
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
            raise DatabaseError(f"{path}: corrupt speaker database ({error})") from error
    if database.vectors.ndim != 2 or len(database.names) != len(database.vectors):
        raise DatabaseError(f"{path}: corrupt speaker database ({len(database.names)} names, "
                            f"vectors of shape {database.vectors.shape})")
    return database


def write(path: str, database: SpeakerDatabase) -> None:
    """Replaces `path` atomically."""
    with fileio.atomic_file(path) as staging:
        np.savez(staging, format=np.asarray(FORMAT), model=np.asarray(database.model),
                 names=database.names, vectors=database.vectors)


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Exclusive lock on `<path>.lock` for the duration of a read-modify-write."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def enroll(path: str, name: str, vector: np.ndarray, model: str) -> SpeakerDatabase:
    """Adds one enrolment vector for `name`, creating the database if needed.

    Raises:
      DatabaseError: the existing file is foreign or was made with another model.
    """
    if not name or name != name.strip():
        raise DatabaseError(f"speaker name {name!r} must be non-empty without surrounding spaces")
    with locked(path):
        if os.path.exists(path):
            database = read(path)
            check_model(database, model, path)
        else:
            database = SpeakerDatabase.empty(model, np.asarray(vector).shape[-1])
        database = database.with_entry(name, vector)
        write(path, database)
    return database


def check_model(database: SpeakerDatabase, model: str, path: str) -> None:
    if database.model != model:
        raise DatabaseError(f"{path}: enrolled with model {database.model}, but this model is "
                            f"{model}; vectors of different models cannot be compared")
