r"""Converts Google's VGGish checkpoint and PCA parameters into an earshot weights folder.

    python -m vggish.convert --checkpoint=vggish_model.ckpt \
        --pca_params=vggish_pca_params.npz --output=DIR

The folder holds `vggish.weights.h5` (Keras 3 weights of `vggish.model.vggish()`) and
`vggish_pca_params.npz` (the PCA parameters, validated); pass it as `weights_path`.
It is written atomically: an interrupted run leaves no half-converted folder
(`vggish.weights.convert`).
"""

from __future__ import annotations

from absl import app, flags

from earshot import cli
from vggish import weights


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    output = weights.convert(FLAGS.checkpoint, FLAGS.pca_params, FLAGS.output_dir,
                             overwrite=FLAGS.overwrite)
    print(f"wrote {output}")


FLAGS = flags.FLAGS

if __name__ == "__main__":
    flags.DEFINE_string("checkpoint", None, "VGGish TF-Slim checkpoint: the official V1 file "
                        "vggish_model.ckpt, or a V2 prefix.", required=True)
    flags.DEFINE_string("pca_params", None, "vggish_pca_params.npz (pca_eigen_vectors, "
                        "pca_means).", required=True)
    flags.DEFINE_string("output_dir", None, "Weights folder to write.", required=True)
    flags.DEFINE_bool("overwrite", False, "Replace --output_dir if it exists.")
    cli.run(main)
