"""PCA, whitening and 8-bit quantization: embeddings -> the released AudioSet feature format.

Same arithmetic as the reference `vggish_postprocess.Postprocessor`: float64 PCA with the
whitening folded into the eigenvector matrix, clip to [-2, 2], scale to [0, 255] and
truncate (not round, unlike torchvggish) to uint8.
"""

from __future__ import annotations

import os

import numpy as np

from earshot.errors import UserError
from vggish import params


class PCAParamsError(UserError, ValueError):
    """A PCA parameter file that is missing, unreadable or of the wrong shape."""


def load_pca_params(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Reads a `vggish_pca_params.npz`.

    Returns:
      (eigen_vectors, means): float64 `[128, 128]` (rows are whitened components) and
      float64 `[128, 1]`.

    Raises:
      PCAParamsError: the file is missing, not an .npz, lacks a key or has a wrong shape.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise PCAParamsError(f"{path}: is a directory, not a PCA parameter file")
    if not os.path.isfile(path):
        raise PCAParamsError(f"{path}: no such PCA parameter file")
    try:
        with np.load(path) as data:
            arrays = {key: np.asarray(data[key], np.float64) for key in data.files}
    except (OSError, ValueError, EOFError) as error:
        raise PCAParamsError(f"{path}: not a readable .npz file ({error})") from error
    missing = {params.PCA_EIGEN_VECTORS_NAME, params.PCA_MEANS_NAME} - set(arrays)
    if missing:
        raise PCAParamsError(f"{path}: missing {', '.join(sorted(missing))}; has "
                             f"{', '.join(sorted(arrays)) or 'nothing'}")
    eigen_vectors = arrays[params.PCA_EIGEN_VECTORS_NAME]
    means = arrays[params.PCA_MEANS_NAME].reshape(-1, 1)
    size = params.EMBEDDING_SIZE
    if eigen_vectors.shape != (size, size) or means.shape != (size, 1):
        raise PCAParamsError(
            f"{path}: expected {params.PCA_EIGEN_VECTORS_NAME} {(size, size)} and "
            f"{params.PCA_MEANS_NAME} of {size} values, got {eigen_vectors.shape} and "
            f"{arrays[params.PCA_MEANS_NAME].shape}")
    if not (np.isfinite(eigen_vectors).all() and np.isfinite(means).all()):
        raise PCAParamsError(f"{path}: PCA parameters contain NaN or Inf")
    return eigen_vectors, means


class Postprocessor:
    """Turns float embeddings `[N, 128]` into uint8 `[N, 128]` codes."""

    def __init__(self, pca_params_path: str | os.PathLike):
        self.eigen_vectors, self.means = load_pca_params(pca_params_path)

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        """float32 `[N, 128]` pre-activation embeddings -> uint8 `[N, 128]`."""
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2 or embeddings.shape[1] != params.EMBEDDING_SIZE:
            raise ValueError(f"expected embeddings of shape [N, {params.EMBEDDING_SIZE}], got "
                             f"{embeddings.shape}")
        pca_applied = np.dot(self.eigen_vectors, embeddings.T - self.means).T
        clipped = np.clip(pca_applied, params.QUANTIZE_MIN_VAL, params.QUANTIZE_MAX_VAL)
        scale = 255.0 / (params.QUANTIZE_MAX_VAL - params.QUANTIZE_MIN_VAL)
        # astype truncates toward zero; the released features were made this way.
        return ((clipped - params.QUANTIZE_MIN_VAL) * scale).astype(np.uint8)
