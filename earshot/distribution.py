"""`--distribution_strategy` for the trainers: one process, or several with `tf.distribute`.

    python -m speech_commands.train --distribution_strategy=multi_worker_mirrored ...

* `mirrored`: `tf.distribute.MirroredStrategy`, one replica per device of this machine (on a
  CPU-only machine that is one replica).
* `multi_worker_mirrored`: `tf.distribute.MultiWorkerMirroredStrategy`. The same command
  runs once per worker, each told the cluster and its own place in it by TF_CONFIG:

      TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
                  "task": {"type": "worker", "index": 0}}'

  Worker 0 is the chief. Every worker takes every step on its slice of the global batch and
  the gradients are all-reduced, so the weights stay identical everywhere. Only the chief
  writes checkpoints, weights, logs and summaries; the others save to a scratch folder they
  delete at once (a save may run collective ops that every worker has to join, so they
  cannot skip it). Every worker must read the run's folder (shared storage, or one machine).

The trainers draw the same global batch on every worker (one data RNG, seeded alike) and
train on their slice of it, so the chief's checkpoint is everything a resumed run needs.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from earshot.errors import InvalidInput

STRATEGIES = ("none", "mirrored", "multi_worker_mirrored")
TF_CONFIG = "TF_CONFIG"
FLAG_HELP = ("none: one process; mirrored: the devices of this machine; multi_worker_mirrored: "
             "one process per worker, each given TF_CONFIG (see earshot.distribution).")


def make(name: str) -> tf.distribute.Strategy:
    """The strategy `name` (one of STRATEGIES); `none` is TensorFlow's default strategy.

    Raises:
      InvalidInput: an unknown name, or multi_worker_mirrored without a usable TF_CONFIG.
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker_mirrored":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise InvalidInput(f"unknown --distribution_strategy={name}: use one of "
                       f"{', '.join(STRATEGIES)}")


def _check_tf_config() -> None:
    text = os.environ.get(TF_CONFIG, "")
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        ok = isinstance(workers, list) and task["type"] in ("worker", "chief")
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput(f"--distribution_strategy=multi_worker_mirrored needs {TF_CONFIG} "
                           f"with cluster.worker and task (got {text!r}: {error})") from error
    if not ok:
        raise InvalidInput(f"{TF_CONFIG}: cluster.worker must be a list of host:port and "
                           f"task.type worker or chief, got {text!r}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: the chief, or worker 0 without one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if not task_type:
        return True
    if task_type == "chief":
        return True
    return (task_type == "worker" and resolver.task_id == 0
            and "chief" not in resolver.cluster_spec().as_dict())


def write_dir(directory: str, strategy: tf.distribute.Strategy) -> str:
    """Where this process saves checkpoints: `directory` on the chief, elsewhere a scratch
    folder beside it that `discard_scratch` removes after each save."""
    if is_chief(strategy):
        return directory
    return os.path.join(directory, f".worker{strategy.cluster_resolver.task_id}.tmp")


def discard_scratch(directory: str, strategy: tf.distribute.Strategy) -> None:
    """Removes a non-chief's scratch checkpoint (`write_dir`); nothing on the chief."""
    if not is_chief(strategy):
        shutil.rmtree(write_dir(directory, strategy), ignore_errors=True)


def split_batch(strategy: tf.distribute.Strategy, *arrays: np.ndarray,
                slicer: Callable[[np.ndarray, int, int], np.ndarray] | None = None):
    """Each replica's slice of a global batch, as per-replica values for `strategy.run`.

    Args:
      arrays: `[global_batch, ...]`, the same on every worker.
      slicer: (array, replica, replicas) -> that replica's rows; default: contiguous, near
        equal parts (`np.array_split`).

    Returns:
      One per-replica value per array (the arrays themselves under the default strategy).
    """
    slicer = slicer or (lambda array, replica, replicas: np.array_split(array, replicas)[replica])
    replicas = strategy.num_replicas_in_sync

    def replica_values(context: tf.distribute.experimental.ValueContext):
        return tuple(tf.constant(slicer(array, context.replica_id_in_sync_group, replicas))
                     for array in arrays)

    return strategy.experimental_distribute_values_from_function(replica_values)


def sum_over_replicas(strategy: tf.distribute.Strategy, values: Sequence) -> list[float]:
    """Per-replica scalars -> their sums over all replicas, as Python floats."""
    return [float(strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None))
            for value in values]


def any_worker(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """Whether `flag` is true on any worker (a collective: every worker must call it)."""
    if strategy.num_replicas_in_sync == 1:
        return flag
    flags = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(float(flag)))
    return float(strategy.reduce(tf.distribute.ReduceOp.SUM, flags, axis=None)) > 0
