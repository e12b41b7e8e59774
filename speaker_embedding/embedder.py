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
import itertools
import json
import os
from typing import Iterable, Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from earshot import audio, fileio
from earshot.errors import UserError
from speaker_embedding import features, model as model_lib
from speaker_embedding.vectors import mean_vector

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
CONFIG_FORMAT = "earshot.speaker_embedding.model/1"
MIN_SECONDS = 0.5   # less than this is mostly one or two phonemes: not enough to tell speakers
# Windows per forward pass: 51 s of audio and about 150 MB of activations for the full
# network, whatever the length of the recording.
CHUNK_WINDOWS = 32


class ModelFolderError(UserError, ValueError):
    """A folder that is not a trained speaker_embedding model, or not the one a command needs."""


def write_config(model_dir: str, config: model_lib.ResCNNConfig) -> None:
    with fileio.atomic_open(os.path.join(model_dir, CONFIG_FILE), "w") as f:
        json.dump({"format": CONFIG_FORMAT, "filters": list(config.filters),
                   "blocks": config.blocks}, f, indent=1)


def read_config(model_dir: str) -> model_lib.ResCNNConfig:
    """The network shape stored in a model folder.

    Raises:
      ModelFolderError: no config, or one that is not a speaker_embedding model's.
    """
    if not os.path.isdir(model_dir):
        raise ModelFolderError(f"{model_dir}: no such speaker_embedding model folder")
    path = os.path.join(model_dir, CONFIG_FILE)
    try:
        with open(path) as f:
            stored = json.load(f)
    except FileNotFoundError as error:
        raise ModelFolderError(f"{model_dir}: not a speaker_embedding model folder (no "
                               f"{CONFIG_FILE}; train one with python -m speaker_embedding.train)"
                               ) from error
    except (OSError, json.JSONDecodeError) as error:
        raise ModelFolderError(f"{path}: unreadable ({error})") from error
    if not isinstance(stored, dict) or stored.get("format") != CONFIG_FORMAT:
        raise ModelFolderError(f"{path}: not a speaker_embedding model config")
    return model_lib.ResCNNConfig(tuple(stored["filters"]), int(stored["blocks"]))


def save_weights(model: keras.Model, model_dir: str) -> None:
    """Writes MODEL_DIR/model.weights.h5 atomically (the staging name keeps `.weights.h5`)."""
    with fileio.atomic_file(os.path.join(model_dir, WEIGHTS_FILE)) as staging:
        model.save_weights(staging)


def load_model(model_dir: str) -> keras.Model:
    """Rebuilds the network of a model folder and loads its inference weights.

    Raises:
      ModelFolderError: not a model folder, no weights yet, or weights that do not load.
    """
    network = model_lib.build(config=read_config(model_dir))
    weights = os.path.join(model_dir, WEIGHTS_FILE)
    if not os.path.exists(weights):
        raise ModelFolderError(f"{model_dir}: no {WEIGHTS_FILE} yet; training writes it at its "
                               "first checkpoint")
    try:
        network.load_weights(weights)
    except (OSError, ValueError) as error:
        raise ModelFolderError(f"{weights}: cannot load the weights ({error})") from error
    return network


def load_waveform(source: audio.AudioSource, name: str | None = None) -> np.ndarray:
    """Audio -> 16 kHz mono float32, refusing clips too short to characterise a voice.

    Raises:
      audio.AudioError: unreadable, empty, NaN, out of range, or shorter than MIN_SECONDS.
    """
    waveform = audio.load(source, features.SAMPLE_RATE)
    _check_length(waveform.size, source, name)
    return waveform


def stream_waveform(source: audio.AudioSource, name: str | None = None) -> Iterator[np.ndarray]:
    """`load_waveform` in blocks (`earshot.audio.stream`), for recordings of any length.

    The length is checked once the stream ends, so a clip too short for one chunk of
    `Embedder` raises before the network has run.
    """
    num_samples = 0
    for block in audio.stream(source, features.SAMPLE_RATE):
        num_samples += block.size
        yield block
    _check_length(num_samples, source, name)


def _check_length(num_samples: int, source: audio.AudioSource, name: str | None) -> None:
    seconds = num_samples / features.SAMPLE_RATE
    if seconds < MIN_SECONDS:
        label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "audio")
        raise audio.AudioError(f"{label}: {seconds:.2f} s of audio is too short; speaker "
                               f"embeddings need at least {MIN_SECONDS} s")


def fbank_chunks(blocks: Iterable[np.ndarray], chunk_frames: int) -> Iterator[np.ndarray]:
    """`features.fbank` of a waveform given in blocks, `chunk_frames` frames at a time.

    Frame f covers samples `[160 f, 160 f + 400)`, and pre-emphasis reaches one sample further
    back, so each chunk after the first starts one hop early and drops that hop's frame.
    The stream is led by one hop of zeros to keep that grid uniform; the first chunk, which
    has no earlier sample, skips them. Every frame is normalised on its own, so the chunks,
    concatenated, are `features.fbank` of the whole waveform.

    Yields:
      float32 `[chunk_frames, 64]`, the last chunk shorter.
    """
    hop = features.HOP_SAMPLES
    size = hop + (chunk_frames - 1) * hop + features.WINDOW_SAMPLES
    led = itertools.chain([np.zeros(hop, np.float32)], blocks)
    for index, chunk in enumerate(audio.overlapping_chunks(led, size, chunk_frames * hop)):
        frames = features.fbank(chunk[hop:]) if index == 0 else features.fbank(chunk)[1:]
        if frames.shape[0]:
            yield frames


class Embedder:
    """Speaker vectors of waveforms with a given network.

    Long utterances are cut into NUM_FRAMES windows (`features.windows`); each window gets a
    unit vector and the utterance vector is their normalised mean, the paper's averaging
    carried from frames to windows. The windows are made and embedded CHUNK_WINDOWS at a
    time, with the same windows and vectors as all at once, so memory does not grow with the
    recording.
    """

    def __init__(self, network: keras.Model):
        self.network = network
        self._predict = tf.function(
            lambda x: network(x, training=False), reduce_retracing=True, autograph=False)

    def embed_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """float32 `[n, frames, 64, 1]` -> float32 `[n, 512]` unit vectors."""
        return self._predict(tf.convert_to_tensor(inputs, tf.float32)).numpy()

    def embed_windows(self, waveform: audio.AudioSource,
                      chunk_windows: int = CHUNK_WINDOWS) -> np.ndarray:
        """Audio -> float32 `[num_windows, 512]`, one per 1.6 s window.

        Args:
          waveform: 16 kHz float32 `[samples]`, or an audio file (any format, rate and
            channels; decoded in blocks and checked like `load_waveform`).
          chunk_windows: windows per forward pass.
        """
        if isinstance(waveform, (str, os.PathLike)):
            name, blocks = os.fspath(waveform), stream_waveform(waveform)
        else:
            name, blocks = "audio", [np.asarray(waveform, np.float32)]
        chunks = _window_chunks(blocks, chunk_windows)
        seconds_per_chunk = chunk_windows * features.NUM_FRAMES * features.HOP_SECONDS
        return np.concatenate([self.embed_inputs(inputs) for inputs in
                               audio.log_progress(chunks, name, seconds_per_chunk)])

    def embed(self, waveform: audio.AudioSource) -> np.ndarray:
        """Audio (as for `embed_windows`) -> float32 `[512]` unit vector of the whole utterance."""
        return mean_vector(self.embed_windows(waveform))

    def embed_all(self, waveforms: Sequence[audio.AudioSource]) -> np.ndarray:
        """Recordings of one speaker -> float32 `[512]`: the normalised mean of their vectors
        (what enrolment stores and verification scores)."""
        return mean_vector(np.stack([self.embed(waveform) for waveform in waveforms]))


def _window_chunks(blocks: Iterable[np.ndarray], chunk_windows: int) -> Iterator[np.ndarray]:
    """`features.windows(features.fbank(waveform))` of a waveform in blocks, in pieces.

    Full chunks of frames hold whole windows. The last window of an utterance is pulled back
    to end at its last frame, so it may start in the previous chunk: each chunk after the
    first is windowed behind the previous chunk's last window, which is then dropped.

    Yields:
      float32 `[n, NUM_FRAMES, 64, 1]` network inputs, n <= chunk_windows.
    """
    previous_window = None
    for frames in fbank_chunks(blocks, chunk_windows * features.NUM_FRAMES):
        if previous_window is None:
            yield features.windows(frames)
        else:
            yield features.windows(np.concatenate([previous_window, frames]))[1:]
        previous_window = frames[-features.NUM_FRAMES:]


def fingerprint(network: keras.Model) -> str:
    """12 hex digits identifying a network's weight values; stored with enrolled vectors."""
    digest = hashlib.sha1()
    for weight in network.get_weights():
        digest.update(np.ascontiguousarray(weight, np.float32).tobytes())
    return digest.hexdigest()[:12]
