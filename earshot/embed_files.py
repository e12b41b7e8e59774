"""The `--input=a.wav,b.flac --output=out.npz` job shared by the embedding CLIs."""

from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np
from absl import logging

from earshot import fileio, progress


def embed_to_npz(paths: Sequence[str], embed: Callable[[str], np.ndarray], output: str) -> None:
    """Embeds every file and writes one array per input, keyed by its path as given.

    The .npz appears only once every input has been embedded, so a failure on the last file
    leaves no partial result behind.
    """
    if not paths:
        raise ValueError("--input names no files")
    if len(set(paths)) != len(paths):
        raise ValueError("--input names a file more than once")
    results = {path: embed(path) for path in progress.track(paths, "embedding")}
    with fileio.atomic_file(output) as staging:
        np.savez(staging, **results)
    for path, array in results.items():
        logging.info("%s -> %s %s", path, array.shape, array.dtype)
    logging.info("wrote %d arrays to %s", len(results), os.path.abspath(output))
