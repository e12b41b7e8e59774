"""The `--input=a.wav,b.flac --output=out.npz` job shared by the embedding CLIs.

It prints what it wrote (one `path -> shape dtype` line per input, then the .npz path) on
stdout: the result of the program, shown however quiet its logs are.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np

from earshot import fileio, progress
from earshot.errors import UserError


def embed_to_npz(paths: Sequence[str], embed: Callable[[str], np.ndarray], output: str) -> None:
    """Embeds every file and writes one array per input, keyed by its path as given.

    The .npz appears only once every input has been embedded, so a failure on the last file
    leaves no partial result behind.
    """
    if not paths:
        raise UserError("--input names no files")
    if len(set(paths)) != len(paths):
        raise UserError("--input names a file more than once")
    results = {path: embed(path) for path in progress.track(paths, "embedding")}
    with fileio.atomic_file(output) as staging:
        np.savez(staging, **results)
    for path, array in results.items():
        print(f"{path} -> {array.shape} {array.dtype}")
    print(f"wrote {len(results)} array{'s' * (len(results) != 1)} to {os.path.abspath(output)}")
