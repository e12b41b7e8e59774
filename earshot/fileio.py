"""Atomic outputs and the download cache.

Every file or folder earshot writes goes to a temporary sibling first and is renamed into
place, so a killed job leaves either the old output or the complete new one, never a
half-written model that a later `hub.load` would trip over.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import IO, Iterator, Union

PathLike = Union[str, os.PathLike]

CACHE_ENV = "EARSHOT_CACHE"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(staging: str, directory: bool) -> None:
    """Gives a staged file or folder the permissions a plain open()/mkdir() would have.

    mkstemp/mkdtemp create them private (0600/0700); published outputs should not be.
    """
    os.chmod(staging, (0o777 if directory else 0o666) & ~_current_umask())


def cache_dir(*parts: str) -> str:
    """`$EARSHOT_CACHE` (default `~/.cache/earshot`) joined with `parts`; created on demand."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "earshot")
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_dir(path: PathLike, overwrite: bool = False) -> Iterator[str]:
    """Yields a temporary folder that replaces `path` when the block exits cleanly.

    Raises:
      FileExistsError: `path` exists and `overwrite` is False (checked before any work).
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=parent)
    try:
        yield staging
        _publish(staging, directory=True)
        if os.path.exists(path):
            retired = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".old",
                                       dir=parent)
            os.rename(path, os.path.join(retired, "old"))
            os.rename(staging, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, path)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """`open(path, mode)` whose content appears at `path` only when the block exits cleanly."""
    with atomic_file(path) as staging, open(staging, mode, **open_kwargs) as file:
        yield file


@contextlib.contextmanager
def atomic_file(path: PathLike) -> Iterator[str]:
    """Yields a temporary file name in the same folder that is renamed to `path` on success.

    The temporary name keeps every extension of `path` (`.weights.h5`, `.tar.gz`), since
    writers such as Keras, `soundfile` and `np.savez` pick or check their format by it.
    """
    path = os.path.abspath(os.fspath(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    name = os.path.basename(path)
    extensions = name[name.index("."):] if "." in name.lstrip(".") else ""
    handle, staging = tempfile.mkstemp(prefix=f".{name}.tmp.", suffix=extensions,
                                       dir=os.path.dirname(path))
    os.close(handle)
    try:
        yield staging
        _publish(staging, directory=False)
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.remove(staging)
