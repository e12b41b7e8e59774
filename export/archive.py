"""TF Hub's compressed layout: a tar.gz whose root is the model folder (`./saved_model.pb`).

This is what `hub.load(URL)` downloads (`URL?tf-hub-format=compressed`) and what
`tar -cz --owner=0 --group=0 -C DIR .` produces. tensorflow_hub extracts regular files and
folders only and raises on anything else, so a symlink is refused here, at export time,
rather than by every user's download.
"""

from __future__ import annotations

import os
import tarfile
from typing import BinaryIO

from earshot import fileio

COMPRESS_LEVEL = 6


def _reset_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def members(directory: str) -> list[str]:
    """Paths relative to `directory` ("." first), sorted so archives list in a stable order.

    Raises:
      ValueError: `directory` contains a symlink or a special file.
    """
    paths = ["."]
    for parent, folders, files in os.walk(directory):
        folders.sort()
        for name in sorted(folders) + sorted(files):
            path = os.path.join(parent, name)
            if os.path.islink(path) or not (os.path.isdir(path) or os.path.isfile(path)):
                raise ValueError(f"{path}: symlinks and special files cannot go into a TF Hub "
                                 "archive; copy the file in instead")
            paths.append(os.path.relpath(path, directory))
    return [paths[0]] + sorted(paths[1:])


def write_to(directory: str, stream: BinaryIO) -> None:
    """Writes the tar.gz of `directory` to an open binary stream."""
    # Level 6, not tarfile's 9: float weights barely compress further, and a VGGish-sized
    # model (280 MB) is archived in about half the time.
    with tarfile.open(fileobj=stream, mode="w:gz", format=tarfile.GNU_FORMAT,
                      compresslevel=COMPRESS_LEVEL) as tar:
        for relative in members(directory):
            name = "." if relative == "." else f"./{relative}"
            tar.add(os.path.join(directory, relative), arcname=name, recursive=False,
                    filter=_reset_owner)


def write(directory: str, path: str) -> str:
    """Writes `directory` as the tar.gz `path` atomically; returns `path`."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory}: no such model folder")
    with fileio.atomic_open(path, "wb") as stream:
        write_to(directory, stream)
    return path
