r"""Converts Google's VGGish checkpoint and PCA parameters into an earshot weights folder.

    python -m vggish.convert --checkpoint=vggish_model.ckpt \
        --pca_params=vggish_pca_params.npz --output=DIR

The folder holds `vggish.weights.h5` (Keras 3 weights of `vggish.model.vggish()`) and
`vggish_pca_params.npz` (the PCA parameters, validated); pass it as `weights_path`.
It is written atomically: an interrupted run leaves no half-converted folder.
"""

from __future__ import annotations

import os
import shutil
import sys

from absl import app, flags, logging

from vggish import checkpoint, postprocess

WEIGHTS_FILE = "vggish.weights.h5"
PCA_PARAMS_FILE = "vggish_pca_params.npz"


def convert(checkpoint_path: str, pca_params_path: str, output: str,
            overwrite: bool = False) -> str:
    """Reads and checks both inputs, then writes the weights folder `output`.

    Returns:
      The absolute path of `output`.

    Raises:
      checkpoint.CheckpointError, postprocess.PCAParamsError: bad inputs (nothing is written).
      FileExistsError: `output` exists and `overwrite` is False.
    """
    from earshot import fileio  # Imported here so `--help` stays fast.

    postprocess.load_pca_params(pca_params_path)
    model = checkpoint.load_checkpoint(checkpoint_path)
    with fileio.atomic_dir(output, overwrite=overwrite) as staging:
        model.save_weights(os.path.join(staging, WEIGHTS_FILE))
        shutil.copyfile(pca_params_path, os.path.join(staging, PCA_PARAMS_FILE))
    logging.info("converted %s and %s -> %s", checkpoint_path, pca_params_path, output)
    return os.path.abspath(output)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        convert(FLAGS.checkpoint, FLAGS.pca_params, FLAGS.output, overwrite=FLAGS.overwrite)
    except (checkpoint.CheckpointError, postprocess.PCAParamsError, FileExistsError) as error:
        logging.error("%s", error)
        sys.exit(1)


FLAGS = flags.FLAGS

if __name__ == "__main__":
    flags.DEFINE_string("checkpoint", None, "VGGish TF-Slim checkpoint: the official V1 file "
                        "vggish_model.ckpt, or a V2 prefix.", required=True)
    flags.DEFINE_string("pca_params", None, "vggish_pca_params.npz (pca_eigen_vectors, "
                        "pca_means).", required=True)
    flags.DEFINE_string("output", None, "Weights folder to write.", required=True)
    flags.DEFINE_bool("overwrite", False, "Replace --output if it exists.")
    app.run(main)
