"""Training state on disk: everything a resumed run needs to continue bit for bit.

A checkpoint is one .npz (written atomically) holding the step, every model and head weight
(batch-norm moving statistics included), every optimizer variable (Adam moments, iteration
count) and the hard-negative mining table in use. Batches are a function of (seed, step), so
these arrays are the whole state of a run.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Sequence

import keras
import numpy as np

from earshot import fileio
from earshot.errors import InvalidInput

PATTERN = re.compile(r"ckpt-(\d+)\.npz$")


def path_for(directory: str, step: int) -> str:
    return os.path.join(directory, f"ckpt-{step:07d}.npz")


def latest(directory: str) -> str | None:
    """The checkpoint with the highest step in `directory`, or None."""
    found = [p for p in glob.glob(os.path.join(directory, "ckpt-*.npz")) if PATTERN.search(p)]
    return max(found, key=lambda p: int(PATTERN.search(p).group(1)), default=None)


def _variables(owner) -> list:
    if isinstance(owner, keras.optimizers.Optimizer):
        return list(owner.variables)
    return list(owner.weights)


def save(directory: str, step: int, owners: dict[str, object], extra: dict[str, np.ndarray],
         keep: int = 2) -> str:
    """Writes `ckpt-<step>.npz` with the variables of each model/optimizer in `owners`.

    Args:
      owners: {name: keras.Model or keras.optimizers.Optimizer}; names must be stable.
      extra: further arrays (mining table, ...), stored under their own names.
      keep: most recent checkpoints to keep; older ones are deleted after the write.
    """
    arrays = {"step": np.asarray(step)}
    for name, owner in owners.items():
        for index, variable in enumerate(_variables(owner)):
            arrays[f"{name}/{index:04d}"] = np.asarray(variable.numpy())
    arrays.update({f"extra/{k}": v for k, v in extra.items()})
    os.makedirs(directory, exist_ok=True)
    path = path_for(directory, step)
    with fileio.atomic_file(path) as staging:
        np.savez(staging, **arrays)
    for old in sorted(glob.glob(os.path.join(directory, "ckpt-*.npz")))[:-keep]:
        os.remove(old)
    return path


def restore(path: str, owners: dict[str, object]) -> tuple[int, dict[str, np.ndarray]]:
    """Assigns the saved variables to `owners` (optimizers must be built); returns (step, extra).

    Raises:
      InvalidInput: the file does not match the models (another model size, another dataset).
    """
    with np.load(path, allow_pickle=False) as stored:
        for name, owner in owners.items():
            variables = _variables(owner)
            keys = sorted(k for k in stored.files if k.startswith(f"{name}/"))
            if len(keys) != len(variables):
                raise InvalidInput(f"{path}: {len(keys)} saved variables for {name!r}, the model "
                                   f"has {len(variables)}; was it written with other flags?")
            for key, variable in zip(keys, variables):
                value = stored[key]
                if tuple(value.shape) != tuple(variable.shape):
                    raise InvalidInput(f"{path}: {key} has shape {value.shape}, the model "
                                       f"expects {tuple(variable.shape)}; was it written with "
                                       "other flags?")
                variable.assign(value)
        extra = {k[len("extra/"):]: stored[k] for k in stored.files if k.startswith("extra/")}
        return int(stored["step"]), extra


def build_optimizers(optimizers: Sequence[keras.optimizers.Optimizer],
                 var_lists: Sequence[list]) -> None:
    """Creates optimizer slots so that a fresh optimizer can receive saved moments."""
    for optimizer, var_list in zip(optimizers, var_lists):
        if not optimizer.built:
            optimizer.build(var_list)
