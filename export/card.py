"""The model card: the tfhub.dev model page `DIR.md` beside the model folder `DIR`.

tfhub.dev pages start with `# Module publisher/name/version`, a one-line description, and
metadata as HTML comments (`<!-- task: ... -->`, `<!-- format: hub -->`) holding ids of
its tag vocabularies; the sections below are free Markdown. The page lives beside the model
folder and its archive (`speech_embedding/1`, `1.tar.gz`, `1.md`), as in tfhub.dev's
`assets/docs/<publisher>/models/<name>/<version>.md`: an archive may hold only files a
SavedModel reads, so a card inside it would be refused. `export.conformance` checks both.
"""

from __future__ import annotations

import os
import pathlib

import tensorflow as tf

from export import spec as spec_lib

PUBLISHER = "earshot"
# Each format gets its own handle (`earshot/speech_embedding/1` and
# `earshot/speech_embedding_tf2/1`): tfhub.dev files a page under its handle, and one
# handle must name one archive. The TF1 Hub format, Google's original, keeps the bare name.
HANDLE_SUFFIXES = {"tf1_hub": "", "saved_model_2": "_tf2"}
CARD_SUFFIX = ".md"


def handle(card: spec_lib.ModelCard, fmt: str, version: int = 1) -> str:
    """`earshot/<title><suffix of fmt>/<version>`, the handle of one export."""
    return f"{PUBLISHER}/{card.title}{HANDLE_SUFFIXES[fmt]}/{version}"


def card_path(output_dir: str) -> str:
    """Where the card of the model folder `output_dir` goes: `output_dir.md`, beside it."""
    return os.path.abspath(output_dir).rstrip(os.sep) + CARD_SUFFIX


def file_url(path: str) -> str:
    """A `file://` URL of a local path (the default `asset-path` of a card)."""
    return pathlib.Path(os.path.abspath(path)).as_uri()


def _signature_line(input_spec: tf.TensorSpec) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in input_spec.shape.as_list())
    return f"`default`: {input_spec.dtype.name} `[{dims}]`"


def _usage(fmt: str) -> str:
    if fmt == "tf1_hub":
        return (
            "```python\n"
            "import tensorflow_hub as hub\n\n"
            "module = hub.load(HANDLE)  # inference graph, tags set()\n"
            "outputs = module.signatures[\"default\"](default=inputs)\n"
            "embedding = outputs[\"default\"]\n\n"
            "# Batch norm with batch statistics (fine-tuning graph):\n"
            "train_module = hub.load(HANDLE, tags={\"train\"})\n"
            "```\n\n"
            "With TF 2 and tensorflow_hub 0.16, `hub.KerasLayer(HANDLE)` runs this format for "
            "inference only; fine-tune the `saved_model_2` export instead.\n")
    return (
        "```python\n"
        "import tensorflow_hub as hub\n"
        "import tf_keras\n\n"
        "model = hub.load(HANDLE)\n"
        "outputs = model(inputs)                   # training=False: moving statistics\n\n"
        "layer = hub.KerasLayer(HANDLE, trainable=True)  # a tf_keras layer\n"
        "```\n\n"
        "Build models around `hub.KerasLayer` with `tf_keras`, not Keras 3.\n")


def _metadata(card: spec_lib.ModelCard, fmt: str, asset_url: str) -> list[tuple[str, str]]:
    return [("asset-path", asset_url), ("task", card.task),
            ("fine-tunable", "true" if card.fine_tuning else "false"),
            ("format", spec_lib.CARD_FORMATS[fmt]),
            ("network-architecture", card.network_architecture), ("dataset", card.dataset),
            ("language", card.language), ("license", card.license)]


def render(spec: spec_lib.ModelSpec, fmt: str, asset_url: str, version: int = 1) -> str:
    """The card of `spec` exported as `fmt` ("tf1_hub" or "saved_model_2"), as Markdown text.

    Args:
      asset_url: where the archive of the export is published (`asset-path`), ending in
        `.tar.gz`.
    """
    card = spec.card
    lines = [f"# Module {handle(card, fmt, version)}", card.description, ""]
    lines += [f"<!-- {key}: {value} -->" for key, value in _metadata(card, fmt, asset_url)
              if value]
    lines += ["", "## Overview", "", card.description, "",
              "### Input", "", _signature_line(spec.input_spec), "", card.input, "",
              "### Output", "", card.output, ""]
    if card.architecture:
        lines += ["### Architecture", "", card.architecture, ""]
    if card.training_data:
        lines += ["### Training data", "", card.training_data, ""]
    lines += ["## Usage", "", _usage(fmt)]
    if card.usage:
        lines += [card.usage, ""]
    if card.fine_tuning:
        lines += ["## Fine-tuning", "", card.fine_tuning, ""]
    if card.references:
        lines += ["## References", ""] + [f"- {reference}" for reference in card.references]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
