"""Weights the benchmarks share: the VGGish parity fixture, converted once into the cache.

The fixture checkpoint (`../shared/fixtures/vggish` beside the checkout) holds the full-size
network with values that are not Google's trained ones: the same speed and memory as the
real weights (dense layers are stored dense), without the 277 MB download.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile

VGGISH_FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "shared", "fixtures", "vggish")


def vggish_fixture_weights() -> str:
    """The folder of the VGGish parity fixture converted into the earshot cache (once)."""
    from earshot import fileio
    from vggish import weights
    target = os.path.join(fileio.cache_dir("vggish", "benchmark"), "fixture_weights")
    if not os.path.isdir(target):
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = os.path.join(tmp, weights.CHECKPOINT_FILE)
            with gzip.open(os.path.join(VGGISH_FIXTURES, "vggish_model.ckpt.gz"), "rb") as source, \
                    open(checkpoint, "wb") as sink:
                shutil.copyfileobj(source, sink, length=1 << 24)
            weights.convert(checkpoint, os.path.join(VGGISH_FIXTURES, weights.PCA_PARAMS_FILE),
                            target)
    return target
