"""Writes an earshot model in a TF Hub format: the model folder, its archive, its card.

`export` writes the folder atomically (to a temporary sibling, then renamed); with `archive`
it adds `DIR.tar.gz` for static hosting, and the model card `DIR.md` (tfhub.dev's model page,
whose `asset-path` is `asset_url`, by default the archive's `file://` URL) is written last,
beside them. The card is checked against tfhub.dev's rules (`export.conformance`) before any
work. `python -m export.hub` is its command line.
"""

from __future__ import annotations

import glob
import os
from typing import Callable, Optional

from absl import logging

from earshot import fileio
from export import archive as archive_lib
from export import card as card_lib
from export import conformance, saved_model_2, tf1_hub
from export import spec as spec_lib

WRITERS: dict[str, Callable[[spec_lib.ModelSpec, str], None]] = {
    "tf1_hub": tf1_hub.write,
    "saved_model_2": saved_model_2.write,
}


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
    """Fails before any work if an output exists and `overwrite` is False, or cannot be
    written (`fileio.check_output`): the model folder, its card and, with `archive`, the
    archive."""
    fileio.check_output(output_dir, folder=True, overwrite=overwrite)
    files = [card_lib.card_path(output_dir)] + ([archive_path(output_dir)] if archive else [])
    for target in files:
        if os.path.exists(target) and not overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
        fileio.check_output(target)


def export(spec: spec_lib.ModelSpec, fmt: str, output_dir: str, overwrite: bool = False,
           archive: bool = False, version: int = 1, asset_url: Optional[str] = None) -> str:
    """Writes `spec` as `fmt` into `output_dir` (atomically), its archive if asked, and its
    model card `output_dir.md`.

    Args:
      asset_url: the card's `asset-path`, where the archive is published; None: the
        `file://` URL of `archive_path(output_dir)`.

    Returns:
      The absolute path of the model folder.

    Raises:
      conformance.NonConformingError: the card breaks tfhub.dev's rules (checked first).
    """
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(WRITERS)}")
    if asset_url is None:
        asset_url = card_lib.file_url(archive_path(output_dir))
        if not archive:
            logging.warning("the card's asset-path %s names an archive this export does not "
                            "write: pass --archive, or --asset_url where you publish one",
                            asset_url)
    text = card_lib.render(spec, fmt, asset_url, version)
    conformance.check_page(text)
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
    logging.info("wrote %s", output_dir)
    if archive:
        logging.info("wrote %s", archive_lib.write(output_dir, archive_path(output_dir)))
    card_path = card_lib.card_path(output_dir)
    with fileio.atomic_open(card_path, "w", encoding="utf-8") as card_file:
        card_file.write(text)
    logging.info("wrote %s, the card of %s", card_path, card_lib.handle(spec.card, fmt, version))
    return output_dir

