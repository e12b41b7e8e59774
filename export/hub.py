r"""Exports an earshot model in a TF Hub format.

    python -m export.hub --model=speech_embedding --format=tf1_hub \
        --output_dir=/tmp/speech_embedding/1 [--overwrite] [--archive]

The folder appears only when complete (written to a temporary sibling, then renamed), with
the model card `README.md` inside; `--archive` adds `DIR.tar.gz` for static hosting.
"""

from __future__ import annotations

import glob
import os
from typing import Callable

from absl import app, flags, logging

from earshot import cli, fileio
from export import archive as archive_lib
from export import card as card_lib
from export import models, saved_model_2, tf1_hub
from export import spec as spec_lib

WRITERS: dict[str, Callable[[spec_lib.ModelSpec, str], None]] = {
    "tf1_hub": tf1_hub.write,
    "saved_model_2": saved_model_2.write,
}
CARD_NAME = "README.md"


def archive_path(output_dir: str) -> str:
    """Where `--archive` puts the tarball of `output_dir`."""
    return os.path.abspath(output_dir).rstrip(os.sep) + ".tar.gz"


def _warn_about_leftovers(output_dir: str) -> None:
    path = os.path.abspath(output_dir)
    pattern = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.*.tmp")
    for leftover in glob.glob(pattern):
        logging.warning("%s is left from an interrupted export; delete it when no export is "
                        "running", leftover)


def check_output(output_dir: str, overwrite: bool, archive: bool) -> None:
    """Fails before any work if an output exists and `overwrite` is False."""
    targets = [os.path.abspath(output_dir)] + ([archive_path(output_dir)] if archive else [])
    for target in targets:
        if os.path.exists(target) and not overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
        if os.path.isdir(target) and target.endswith(".tar.gz"):
            raise IsADirectoryError(f"{target} is a folder, cannot write the archive there")


def export(spec: spec_lib.ModelSpec, fmt: str, output_dir: str, overwrite: bool = False,
           archive: bool = False, version: int = 1) -> str:
    """Writes `spec` as `fmt` into `output_dir` (atomically), with its model card.

    Returns:
      The absolute path of the model folder.
    """
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(WRITERS)}")
    check_output(output_dir, overwrite, archive)
    _warn_about_leftovers(output_dir)
    output_dir = os.path.abspath(output_dir)
    logging.info("exporting %s as %s to %s", spec.card.title, fmt, output_dir)
    if not spec.model.trainable_variables:
        logging.warning("%s has no trainable variables (model.trainable is False?): the export "
                        "cannot be fine-tuned and batch norm ignores training=True",
                        spec.card.title)
    with fileio.atomic_dir(output_dir, overwrite=overwrite) as staging:
        WRITERS[fmt](spec, staging)
        with open(os.path.join(staging, CARD_NAME), "w", encoding="utf-8") as card_file:
            card_file.write(card_lib.render(spec, fmt, version))
    logging.info("wrote %s", output_dir)
    if archive:
        logging.info("wrote %s", archive_lib.write(output_dir, archive_path(output_dir)))
    return output_dir


def _spec_kwargs(pairs: list[str]) -> dict[str, str]:
    kwargs = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.isidentifier():
            raise app.UsageError(f"--spec_arg={pair!r}: expected key=value")
        kwargs[key] = value
    return kwargs


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    options = flags.FLAGS
    check_output(options.output_dir, options.overwrite, options.archive)
    spec = models.load_spec(options.model, weights_path=options.weights_path,
                            **_spec_kwargs(options.spec_arg))
    export(spec, options.format, options.output_dir, overwrite=options.overwrite,
           archive=options.archive, version=options.version)


def define_flags() -> None:
    """The CLI's flags; defined only when run as a program, so importing this module (as a
    spec function's package may, indirectly) never defines them twice."""
    flags.DEFINE_string(
        "model", None, f"Registered model ({', '.join(sorted(models.MODELS))}) or "
        "'package.module:function' returning an export.spec.ModelSpec.")
    flags.DEFINE_enum("format", "tf1_hub", sorted(WRITERS), "TF Hub format to write.")
    flags.DEFINE_string("output_dir", None, "Model folder to create, e.g. .../name/1.")
    flags.DEFINE_boolean("overwrite", False, "Replace an existing output_dir (and archive).")
    flags.DEFINE_boolean("archive", False,
                         "Also write output_dir.tar.gz in TF Hub's compressed layout.")
    flags.DEFINE_string("weights_path", None,
                        "Weights passed to the model's spec function (default: its own).")
    flags.DEFINE_multi_string(
        "spec_arg", [], "key=value passed to the spec function as a string keyword argument.")
    flags.DEFINE_integer("version", 1, "Version shown in the model card heading.")
    flags.mark_flags_as_required(["model", "output_dir"])


if __name__ == "__main__":
    define_flags()
    cli.run(main)
