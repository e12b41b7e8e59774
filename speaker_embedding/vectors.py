"""Unit-vector arithmetic shared by inference and the database; NumPy only, so the database
can be used (and locked, and tested from many processes) without importing TensorFlow."""

from __future__ import annotations

import numpy as np


def mean_vector(vectors: np.ndarray) -> np.ndarray:
    """Normalised mean of unit vectors `[n, d]` -> float32 `[d]`: the direction they agree on."""
    mean = np.mean(np.asarray(vectors, np.float64), axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
