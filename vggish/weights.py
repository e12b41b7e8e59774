"""Where VGGish weights come from: a given folder, the cache, or Google's public files.

`resolve(None)` returns the converted weights in the earshot cache
(`$EARSHOT_CACHE/vggish/weights`), filling the cache on first use: it downloads
`vggish_model.ckpt` and `vggish_pca_params.npz` from BASE_URL, checks their MD5 digests,
converts them with `convert` (what `python -m vggish.convert` runs) and deletes the 277 MB
checkpoint.

A weights folder holds `vggish.weights.h5` (Keras 3 weights of `vggish.model.vggish()`) and
`vggish_pca_params.npz` (the PCA parameters, validated; named as Google's download).

The base URL can point at a mirror: `--vggish_base_url` or `$VGGISH_BASE_URL` (the flag wins).
A mirror serving other weights than Google's (e.g. a fine-tuned checkpoint) declares their
digests with `--vggish_md5` or `$VGGISH_MD5`:
`vggish_model.ckpt=<md5>,vggish_pca_params.npz=<md5>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request

import h5py
import keras
import numpy as np
import tensorflow as tf
from absl import flags, logging

from earshot import fileio, progress
from earshot.errors import UserError
from vggish import checkpoint, postprocess
from vggish import model as model_lib

BASE_URL = "https://storage.googleapis.com/audioset/"
BASE_URL_ENV = "VGGISH_BASE_URL"
MD5_ENV = "VGGISH_MD5"
CHECKPOINT_FILE = "vggish_model.ckpt"
PCA_PARAMS_FILE = "vggish_pca_params.npz"
WEIGHTS_FILE = "vggish.weights.h5"
# Digests of Google's files as published (also listed by cosmir/openmic-2018 `params.py`).
OFFICIAL_MD5 = {
    CHECKPOINT_FILE: "d1c7011e6366aa34176bb05c705e31a8",
    PCA_PARAMS_FILE: "c80cae691033abe7c7ecd11ea39fc834",
}
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60

FLAGS = flags.FLAGS


class WeightsError(UserError, RuntimeError):
    """Weights that cannot be found, downloaded, or verified; the message says what to do."""


def define_flags() -> None:
    """`--vggish_base_url` and `--vggish_md5`, for the programs that fetch weights.

    Called from a program's `__main__` block, never at import, so `import vggish` registers
    no flags.
    """
    flags.DEFINE_string("vggish_base_url", None,
                        f"Where to download {CHECKPOINT_FILE} and {PCA_PARAMS_FILE} from when no "
                        f"converted weights are cached (default ${BASE_URL_ENV}, else {BASE_URL}).")
    flags.DEFINE_string("vggish_md5", None,
                        f"Expected MD5 digests of the downloads, as 'name=md5,name=md5' (default "
                        f"${MD5_ENV}, else the digests of Google's files).")


def _flag_value(name: str) -> str | None:
    # Library users define and parse no flags; reading an unparsed flag would raise.
    return FLAGS[name].value if name in FLAGS and FLAGS.is_parsed() else None


def base_url() -> str:
    """The download base URL (`--vggish_base_url`, `$VGGISH_BASE_URL`, or Google's), ending in /."""
    url = _flag_value("vggish_base_url") or os.environ.get(BASE_URL_ENV) or BASE_URL
    return url if url.endswith("/") else url + "/"


def expected_md5() -> dict[str, str]:
    """File name -> expected MD5 hex digest (`--vggish_md5`, `$VGGISH_MD5`, or Google's)."""
    spec = _flag_value("vggish_md5") or os.environ.get(MD5_ENV)
    if not spec:
        return dict(OFFICIAL_MD5)
    digests = dict(OFFICIAL_MD5)
    for item in spec.split(","):
        name, _, digest = item.strip().partition("=")
        if name not in OFFICIAL_MD5 or len(digest) != 32:
            raise WeightsError(f"bad VGGish MD5 override {item!r}: expected "
                               f"'{CHECKPOINT_FILE}=<32 hex digits>' or "
                               f"'{PCA_PARAMS_FILE}=<32 hex digits>'")
        digests[name] = digest.lower()
    return digests


def cache_path() -> str:
    """The cached weights folder (it may not exist yet)."""
    return os.path.join(fileio.cache_dir("vggish"), "weights")


def is_weights_dir(path: str) -> bool:
    """Whether `path` is a complete folder written by `convert`."""
    return all(os.path.isfile(os.path.join(path, name))
               for name in (WEIGHTS_FILE, PCA_PARAMS_FILE))


def manual_steps(target: str) -> str:
    """What to run by hand when the download is impossible."""
    return (f"download {BASE_URL}{CHECKPOINT_FILE} and {BASE_URL}{PCA_PARAMS_FILE} where "
            "there is internet access, then run `python -m vggish.convert "
            f"--checkpoint={CHECKPOINT_FILE} --pca_params={PCA_PARAMS_FILE} --output={target}`")


def resolve(weights_path: str | os.PathLike | None = None) -> str:
    """The folder of converted weights to use.

    Args:
      weights_path: a folder written by `python -m vggish.convert`, or None for the cache,
        which is downloaded and converted on first use.

    Raises:
      WeightsError: `weights_path` is not a converted folder, or the download fails (the
        message names the files to fetch and the command that converts them).
    """
    if weights_path is not None:
        path = os.fspath(weights_path)
        if not os.path.isdir(path):
            raise WeightsError(f"{path}: no such VGGish weights folder")
        if not is_weights_dir(path):
            raise WeightsError(
                f"{path} is not a VGGish weights folder (it needs {WEIGHTS_FILE} and "
                f"{PCA_PARAMS_FILE}); make one with `python -m vggish.convert "
                f"--checkpoint={CHECKPOINT_FILE} --pca_params={PCA_PARAMS_FILE} --output={path}`")
        return path
    target = cache_path()
    if not is_weights_dir(target):
        download_and_convert(target)
    return target


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, destination: str, md5: str) -> None:
    """Downloads `url` to `destination` (atomically), logging progress, and checks its MD5.

    Raises:
      WeightsError: the server cannot be reached, answers with an error, sends a truncated
        body, or the digest differs from `md5`.
    """
    logging.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, \
                fileio.atomic_file(destination) as staging:
            size = int(response.headers.get("Content-Length") or 0)
            chunks = iter(lambda: response.read(CHUNK_BYTES), b"")
            received = 0
            with open(staging, "wb") as file:
                for chunk in progress.track(chunks, f"downloading {os.path.basename(url)}",
                                            total=-(-size // CHUNK_BYTES) or None):
                    file.write(chunk)
                    received += len(chunk)
            if size and received != size:
                raise WeightsError(f"{url}: connection closed after {received} of {size} bytes")
            digest = _md5(staging)
            if digest != md5:
                raise WeightsError(f"{url}: MD5 {digest} differs from the expected {md5}; the "
                                   f"file is corrupt or not the one expected (a mirror with other "
                                   f"weights must set --vggish_md5 or ${MD5_ENV})")
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise WeightsError(f"cannot download {url} ({reason}). To install VGGish offline, "
                           f"{manual_steps(cache_path())}") from error


def convert(checkpoint_path: str, pca_params_path: str, output: str,
            overwrite: bool = False) -> str:
    """Reads and checks Google's checkpoint and PCA parameters, then writes the weights folder
    `output` atomically: an interrupted run leaves no half-converted folder.

    Returns:
      The absolute path of `output`.

    Raises:
      checkpoint.CheckpointError, postprocess.PCAParamsError: bad inputs (nothing is written).
      FileExistsError: `output` exists and `overwrite` is False.
      fileio.OutputError: `output` cannot be written (checked first, before any work).
    """
    fileio.check_output(output, folder=True, overwrite=overwrite)
    postprocess.load_pca_params(pca_params_path)
    model = checkpoint.load_checkpoint(checkpoint_path)
    with fileio.atomic_dir(output, overwrite=overwrite) as staging:
        model.save_weights(os.path.join(staging, WEIGHTS_FILE))
        shutil.copyfile(pca_params_path, os.path.join(staging, PCA_PARAMS_FILE))
    logging.info("converted %s and %s -> %s", checkpoint_path, pca_params_path, output)
    return os.path.abspath(output)


def download_and_convert(target: str) -> None:
    """Fills the weights folder `target` from the base URL (see the module docstring)."""
    downloads = fileio.cache_dir("vggish", "downloads")
    url, digests = base_url(), expected_md5()
    paths = {}
    for name in (PCA_PARAMS_FILE, CHECKPOINT_FILE):
        paths[name] = os.path.join(downloads, name)
        if os.path.isfile(paths[name]) and _md5(paths[name]) == digests[name]:
            logging.info("using %s downloaded earlier", paths[name])
            continue
        download(urllib.parse.urljoin(url, name), paths[name], digests[name])
    try:
        convert(paths[CHECKPOINT_FILE], paths[PCA_PARAMS_FILE], target)
    except FileExistsError:
        # Another process converted into the cache meanwhile; its folder is complete.
        logging.info("%s was filled by another process", target)
    if not is_weights_dir(target):
        raise WeightsError(f"{target} exists but is not a VGGish weights folder; delete it "
                           "and retry")
    for path in paths.values():
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def load(weights_path: str | os.PathLike | None = None) -> keras.Model:
    """VGGish with converted weights (see `resolve` for `weights_path`).

    Returns:
      The Keras model of `vggish.model.vggish()`: float32 `[batch, 96, 64]` log-mel examples
      -> float32 `[batch, 128]` pre-activation embeddings. Its variables are trainable.
    """
    path = resolve(weights_path)
    model = model_lib.vggish(kernel_initializer="zeros")
    _load_weights(model, os.path.join(path, WEIGHTS_FILE))
    return model


# Keras 3 stores a layer's variables under `layers/<snake_case class name>[_<k>]/vars/<i>`.
_STORED_LAYER_NAMES = {keras.layers.Conv2D: "conv2d", keras.layers.Dense: "dense"}


def _load_weights(model: keras.Model, path: str) -> None:
    """`model.load_weights(path)` holding one variable's values twice at most, not four times.

    Keras's `assign` converts through two copies and writes into a third buffer beside the
    zeros the variable was built with: 800 MB for the 12288 x 4096 kernel of fc1_1, which made
    loading the peak of any VGGish process (1.6 GB). Here each variable first drops its zeros
    (an empty value, shape unchecked), then adopts the tensor converted from the stored array.
    """
    seen: dict[str, int] = {}
    with h5py.File(path, "r") as stored:
        for layer in model.layers:
            if not layer.weights:
                continue
            kind = _STORED_LAYER_NAMES[type(layer)]
            group = f"layers/{kind}{f'_{seen[kind]}' if kind in seen else ''}/vars"
            seen[kind] = seen.get(kind, 0) + 1
            for index, variable in enumerate(layer.weights):
                values = stored[f"{group}/{index}"][()]
                if values.shape != tuple(variable.shape):
                    raise WeightsError(f"{path}: {group}/{index} has shape {values.shape}, "
                                       f"{layer.name} needs {tuple(variable.shape)}")
                handle = variable.value.handle
                tf.raw_ops.AssignVariableOp(resource=handle, validate_shape=False,
                                            value=np.zeros([0] * values.ndim, np.float32))
                tf.raw_ops.AssignVariableOp(resource=handle, value=values)
                del values
