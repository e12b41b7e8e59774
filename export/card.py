"""The model card: README.md beside `saved_model.pb`, in the Markdown form of tfhub.dev pages.

tfhub.dev pages start with `# Module publisher/name/version`, a one-line description, and
metadata as HTML comments (`<!-- module-type: ... -->`, `<!-- format: hub -->`) that its
indexer read; the sections below are free Markdown. Keeping that shape lets a card be
published unchanged and tells a reader at a glance which format the folder holds.
"""

from __future__ import annotations

import tensorflow as tf

from export import spec as spec_lib

PUBLISHER = "earshot"


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


def render(spec: spec_lib.ModelSpec, fmt: str, version: int = 1) -> str:
    """The card of `spec` exported as `fmt` ("tf1_hub" or "saved_model_2"), as Markdown text."""
    card = spec.card
    meta = [("module-type", card.module_type), ("format", spec_lib.CARD_FORMATS[fmt]),
            ("fine-tunable", "true" if card.fine_tuning else "false"),
            ("network-architecture", card.network_architecture), ("dataset", card.dataset),
            ("language", card.language), ("license", card.license)]
    lines = [f"# Module {PUBLISHER}/{card.title}/{version}", card.description, ""]
    lines += [f"<!-- {key}: {value} -->" for key, value in meta if value]
    lines += ["", "## Overview", "", card.description, "",
              "### Input", "", _signature_line(spec.input_spec), "", card.input, "",
              "### Output", "", card.output, "",
              "## Usage", "", _usage(fmt)]
    if card.usage:
        lines += [card.usage, ""]
    if card.fine_tuning:
        lines += ["## Fine-tuning", "", card.fine_tuning, ""]
    if card.references:
        lines += ["## References", ""] + [f"- {reference}" for reference in card.references]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
