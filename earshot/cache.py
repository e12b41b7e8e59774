"""Content-keyed files in the cache: built once, named by a digest of what they depend on.

A cached result (embeddings of a group of clips, speech said by a list of voices, scores of
a file) is named by the SHA1 of everything that made it, so a changed input is a new entry,
never a stale one, and nothing needs invalidating. Each file is written atomically
(`earshot.fileio.atomic_file`): an interrupted build leaves no entry, and two processes
building the same entry both publish a whole file.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Callable, Sequence

import numpy as np

from earshot import fileio

DIGEST_DIGITS = 40  # a whole SHA1 in hex


def digest(key: Any) -> str:
    """The SHA1 of `key` in hex (40 digits).

    `bytes` are hashed as they are, a `str` as its UTF-8 text, anything else as its `repr`
    (so a list of strings, numbers and tuples keys by value).
    """
    if isinstance(key, str):
        key = key.encode("utf-8")
    elif not isinstance(key, bytes):
        key = repr(key).encode("utf-8")
    return hashlib.sha1(key).hexdigest()


def file_digest(path: str) -> str:
    """The SHA1 of a file's bytes in hex (40 digits): keys a cache by a file's content."""
    with open(path, "rb") as content:
        return hashlib.sha1(content.read()).hexdigest()


def cache_path(namespace: Sequence[str], key: Any, suffix: str = "", name: str = "",
               digits: int = DIGEST_DIGITS) -> str:
    """`cache_dir(*namespace)/[name-]DIGEST[suffix]`, DIGEST the first `digits` of `digest(key)`.

    `name` is only for people reading the folder; `key` alone must tell entries apart. The
    folder is made, not the entry.
    """
    stem = digest(key)[:digits]
    return os.path.join(fileio.cache_dir(*namespace), (f"{name}-{stem}" if name else stem) + suffix)


def cached_file(path: str, write: Callable[[str], None]) -> str:
    """`path`, after `write(staging)` made it if it did not exist (published atomically).

    `write` gets a file name with `path`'s base name (writers that pick their format by the
    extension see the right one) and must write exactly one file there.
    """
    if not os.path.exists(path):
        with fileio.atomic_file(path) as staging:
            write(staging)
    return path


def cached_npz(path: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored at `path` (an `.npz`), or `build()`'s, stored there first.

    Returns:
      name -> array, read into memory (the archive is closed).
    """
    if os.path.exists(path):
        with np.load(path) as stored:
            return {name: stored[name] for name in stored.files}
    arrays = build()
    cached_file(path, lambda staging: np.savez(staging, **arrays))
    return arrays


def cached_npy(path: str, build: Callable[[], np.ndarray]) -> np.ndarray:
    """The array stored at `path` (an `.npy`), or `build()`'s, stored there first."""
    if os.path.exists(path):
        return np.load(path)
    array = build()
    cached_file(path, lambda staging: np.save(staging, array))
    return array
