"""A training run folder -> its newest checkpoint, its settings and its restored model.

`train` writes `settings.json` next to its checkpoints (`settings.RunSettings`), so the model
of a run is rebuilt from the run alone: no flag has to repeat the architecture, the words or
the front end, and a checkpoint is never restored into a model of another shape.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from speech_commands import architectures, settings
from speech_commands.settings import RunSettings


def latest_checkpoint(train_dir: str, model_architecture: str) -> str:
    """The newest `<architecture>.ckpt-N` in a training folder; a clear error if none."""
    checkpoint = tf.train.latest_checkpoint(train_dir)
    if not checkpoint or not os.path.basename(checkpoint).startswith(
            model_architecture + ".ckpt"):
        raise settings.SettingsError(f"no {model_architecture} checkpoint in {train_dir} (its "
                                     f"{settings.SETTINGS_NAME} names {model_architecture})")
    return checkpoint


def resolve(path: str) -> tuple[str, RunSettings]:
    """(checkpoint prefix, run settings) of a run folder (newest checkpoint) or a checkpoint."""
    if not path:
        raise settings.SettingsError("no run given: pass the training folder (--train_dir) or "
                                     "one of its checkpoints")
    run = settings.read(path)
    if os.path.isdir(path):
        return latest_checkpoint(path, run.model_architecture), run
    if not tf.io.gfile.exists(path + ".index"):
        raise FileNotFoundError(f"{path}: no checkpoint there (expected {path}.index)")
    return path, run


def restore(model: keras.Model, checkpoint: str) -> None:
    """Reads a `train` checkpoint's model variables into `model` (built from its settings)."""
    tf.train.Checkpoint(model_variables=list(model.variables)).read(checkpoint).expect_partial()


def load_model(path: str, **given) -> tuple[keras.Model, RunSettings]:
    """The trained model of a run folder or checkpoint, with its settings.

    Args:
      path: a `--train_dir` (its newest checkpoint is loaded) or one checkpoint prefix in it.
      given: flags the caller was given that repeat recorded settings (e.g.
        `model_architecture="conv"`); each must equal the recorded value.

    Raises:
      settings.SettingsError: no settings, or a `given` value that differs from them.
    """
    checkpoint, run = resolve(path)
    run.check(checkpoint, **given)
    model = architectures.build_model(run.model_settings, run.model_architecture,
                                      quantize=run.quantize)
    restore(model, checkpoint)
    return model, run
