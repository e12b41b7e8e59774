"""Trained models on disk and the waveform -> speaker vector path shared by every CLI.

A model folder, as `train` writes it:

    MODEL_DIR/config.json          network depth and width
    MODEL_DIR/model.weights.h5     inference weights (refreshed at every checkpoint)
    MODEL_DIR/split.json           the speakers held out of training
    MODEL_DIR/checkpoints/         full training state, for resuming
    MODEL_DIR/train/               TensorBoard logs
"""

from __future__ import annotations

import hashlib
import json
import os

import keras
import numpy as np
import tensorflow as tf

from earshot import audio, fileio
from speaker_embedding import features, model as model_lib
from speaker_embedding.vectors import mean_vector

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
CONFIG_FORMAT = "earshot.speaker_embedding.model/1"
MIN_SECONDS = 0.5   # less than this is mostly one or two phonemes: not enough to tell speakers


def write_config(model_dir: str, config: model_lib.ResCNNConfig) -> None:
    with fileio.atomic_open(os.path.join(model_dir, CONFIG_FILE), "w") as f:
        json.dump({"format": CONFIG_FORMAT, "filters": list(config.filters),
                   "blocks": config.blocks}, f, indent=1)


def read_config(model_dir: str) -> model_lib.ResCNNConfig:
    """The network shape stored in a model folder.

    Raises:
      ValueError: no config, or one that is not a speaker_embedding model's.
    """
    path = os.path.join(model_dir, CONFIG_FILE)
    try:
        with open(path) as f:
            stored = json.load(f)
    except FileNotFoundError as error:
        raise ValueError(f"{model_dir}: not a speaker_embedding model folder (no {CONFIG_FILE}; "
                         "train one with python -m speaker_embedding.train)") from error
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: unreadable ({error})") from error
    if not isinstance(stored, dict) or stored.get("format") != CONFIG_FORMAT:
        raise ValueError(f"{path}: not a speaker_embedding model config")
    return model_lib.ResCNNConfig(tuple(stored["filters"]), int(stored["blocks"]))


def save_weights(model: keras.Model, model_dir: str) -> None:
    """Writes MODEL_DIR/model.weights.h5 atomically (the staging name keeps `.weights.h5`)."""
    with fileio.atomic_file(os.path.join(model_dir, WEIGHTS_FILE)) as staging:
        model.save_weights(staging)


def load_model(model_dir: str) -> keras.Model:
    """Rebuilds the network of a model folder and loads its inference weights."""
    network = model_lib.build(config=read_config(model_dir))
    weights = os.path.join(model_dir, WEIGHTS_FILE)
    if not os.path.exists(weights):
        raise ValueError(f"{model_dir}: no {WEIGHTS_FILE} yet; training writes it at its first "
                         "checkpoint")
    network.load_weights(weights)
    return network


def load_waveform(source: audio.AudioSource, name: str | None = None) -> np.ndarray:
    """Audio -> 16 kHz mono float32, refusing clips too short to characterise a voice.

    Raises:
      audio.AudioError: unreadable, empty, NaN, out of range, or shorter than MIN_SECONDS.
    """
    waveform = audio.load(source, features.SAMPLE_RATE)
    seconds = waveform.size / features.SAMPLE_RATE
    if seconds < MIN_SECONDS:
        label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "audio")
        raise audio.AudioError(f"{label}: {seconds:.2f} s of audio is too short; speaker "
                               f"embeddings need at least {MIN_SECONDS} s")
    return waveform


class Embedder:
    """Speaker vectors of waveforms with a given network.

    Long utterances are cut into NUM_FRAMES windows (`features.windows`); each window gets a
    unit vector and the utterance vector is their normalised mean, the paper's averaging
    carried from frames to windows.
    """

    def __init__(self, network: keras.Model):
        self.network = network
        self._predict = tf.function(
            lambda x: network(x, training=False), reduce_retracing=True, autograph=False)

    def embed_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """float32 `[n, frames, 64, 1]` -> float32 `[n, 512]` unit vectors."""
        return self._predict(tf.convert_to_tensor(inputs, tf.float32)).numpy()

    def embed_windows(self, waveform: np.ndarray) -> np.ndarray:
        """16 kHz float32 `[samples]` -> float32 `[num_windows, 512]`, one per 1.6 s window."""
        return self.embed_inputs(features.windows(features.fbank(waveform)))

    def embed(self, waveform: np.ndarray) -> np.ndarray:
        """16 kHz float32 `[samples]` -> float32 `[512]` unit vector of the whole utterance."""
        return mean_vector(self.embed_windows(waveform))


def fingerprint(network: keras.Model) -> str:
    """12 hex digits identifying a network's weight values; stored with enrolled vectors."""
    digest = hashlib.sha1()
    for weight in network.get_weights():
        digest.update(np.ascontiguousarray(weight, np.float32).tobytes())
    return digest.hexdigest()[:12]
