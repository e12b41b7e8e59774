"""Writes a trained head as a model folder: streaming TFLite, manifest, SavedModel, head weights.

    DIR/wakeword.tflite      the streaming step (runtime.WakeWordStream drives it)
    DIR/manifest.json        phrase, threshold, smoothing, refractory time, rate, hop
    DIR/saved_model/         TF2 SavedModel: `score(waveform) -> per-hop scores` (hub.load)
    DIR/head.weights.h5      the head alone, for fast offline scoring of hours of audio
"""

from __future__ import annotations

import os

import keras
import numpy as np

import speech_embedding
from earshot import fileio
from wakeword import model as model_lib, runtime

SAVED_MODEL_NAME = "saved_model"
HEAD_WEIGHTS_NAME = "head.weights.h5"


def write(folder: str, head: keras.Model, manifest: runtime.Manifest) -> None:
    """Writes every model file into `folder` (itself written atomically by the caller)."""
    embedding = speech_embedding.load()
    content = model_lib.streaming_step(embedding, head).to_tflite()
    with fileio.atomic_open(os.path.join(folder, manifest.model), "wb") as out:
        out.write(content)
    manifest.write(os.path.join(folder, runtime.MANIFEST_NAME))
    model_lib.write_saved_model(embedding, head, os.path.join(folder, SAVED_MODEL_NAME))
    with fileio.atomic_file(os.path.join(folder, HEAD_WEIGHTS_NAME)) as staging:
        head.save_weights(staging)


def load_head(folder: str) -> keras.Model:
    """The head of a model folder, for `model.offline_scores`."""
    path = os.path.join(folder, HEAD_WEIGHTS_NAME)
    if not os.path.isfile(path):
        raise runtime.ModelFolderError(f"{folder}: no {HEAD_WEIGHTS_NAME}; --model_dir must be a "
                                       "folder written by `python -m wakeword.train`")
    head = model_lib.build_head(branches=runtime.Manifest.read(folder).head_branches)
    head.load_weights(path)
    return head


def file_scores(head: keras.Model, waveform: np.ndarray) -> np.ndarray:
    """Per-hop scores of a whole 16 kHz waveform, offline (as the streaming model gives them)."""
    if waveform.size < speech_embedding.MIN_SAMPLES:
        return np.zeros(waveform.size // model_lib.HOP_SAMPLES, np.float32)
    return model_lib.offline_scores(head, speech_embedding.embed(waveform), waveform.size)
