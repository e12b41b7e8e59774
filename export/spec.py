"""`ModelSpec`: what a package hands to `export` so its model can be written in TF Hub formats.

A spec is deliberately small: the Keras 3 model that owns the variables, the function that
turns a batch of inputs into outputs (by default the model itself), the input signature, and
the text of the model card. The exporters never look inside the model: they only call
`fn(inputs, training)` with the model's variables replaced by their own (TF1 graphs) or
shared with it (TF2 SavedModel), which is what makes one exporter serve every model.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Optional, Union

import keras
import tensorflow as tf

Outputs = Union[tf.Tensor, Mapping[str, tf.Tensor]]
# (inputs, training) -> one tensor, or a dict of named tensors.
ModelFn = Callable[[tf.Tensor, bool], Outputs]

# tfhub.dev model pages name both formats this way in their `<!-- format: ... -->` line.
CARD_FORMATS = {"tf1_hub": "hub", "saved_model_2": "saved_model_2"}


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """The human side of an export: rendered as the tfhub.dev model page `DIR.md` beside it.

    The metadata fields take ids of tfhub.dev's tag vocabularies (`export.conformance`
    lists the ones earshot uses); "" leaves a tag out, as tfhub.dev asks when no id fits.

    Attributes:
      title: the model's name in its handle `earshot/<title>/<version>`, e.g.
        "speech_embedding": letters, digits, '_', '.', '-'.
      description: one or two sentences on what the model computes.
      task: tfhub.dev task id, e.g. "audio-embedding", "audio-command-detection".
      input: what `default` takes: dtype, shape, units, sample rate, range.
      output: what it returns: dtype, shape, meaning of each axis (and of each dict key).
      usage: extra usage notes in Markdown; a `hub.load` example for each format is always
        generated, so this is for model-specific advice (padding, framing, streaming).
      fine_tuning: Markdown on how to fine-tune (batch norm, learning rates), or "" if not
        fine-tunable.
      network_architecture, dataset, language, license: tfhub.dev tag ids, e.g.
        "keywordspottingnet", "youtube-8m", "en", "apache-2.0".
      architecture, training_data: free text for the page's Architecture and Training data
        sections (what the ids cannot say: layer counts, corpus sizes).
      references: Markdown list items (papers, upstream code).
    """

    title: str
    description: str
    task: str
    input: str
    output: str
    usage: str = ""
    fine_tuning: str = ""
    network_architecture: str = ""
    dataset: str = ""
    language: str = ""
    license: str = "apache-2.0"
    architecture: str = ""
    training_data: str = ""
    references: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Everything the exporters need to know about one model.

    Attributes:
      model: the built Keras 3 model that owns every variable `fn` reads. Calling it with
        `training=True` must use batch statistics in batch norm and update the moving ones,
        `training=False` the moving statistics (standard Keras 3 behaviour).
      input_spec: the single input, e.g. `tf.TensorSpec([None, None], tf.float32)` for a batch of
        waveforms or `tf.TensorSpec([None], tf.float32)` for one waveform.
      card: model card text.
      fn: `fn(inputs, training: bool) -> tensor or {name: tensor}`; `None` means
        `model(inputs, training=training)`. Use it for work outside the model (framing a
        rank-1 waveform into examples) or for several outputs (per-window vectors and their
        mean). It may only read variables of `model` and must be traceable (TF ops only).
        A dict output needs a "default" key for the `tf1_hub` format, whose signature's main
        output is called `default`.
    """

    model: keras.Model
    input_spec: tf.TensorSpec
    card: ModelCard
    fn: Optional[ModelFn] = None

    def __post_init__(self):
        if not isinstance(self.model, keras.Model):
            raise TypeError(f"ModelSpec.model must be a Keras 3 keras.Model, got "
                            f"{type(self.model).__module__}.{type(self.model).__name__}")
        if not isinstance(self.input_spec, tf.TensorSpec):
            raise TypeError(f"ModelSpec.input_spec must be a tf.TensorSpec, got {self.input_spec!r}")
        if not self.model.built:
            raise ValueError(f"ModelSpec.model {self.model.name!r} is not built; call it once or "
                             "build it so its variables exist")

    def __call__(self, inputs: tf.Tensor, training: bool) -> Outputs:
        """Runs the model function: `fn(inputs, training)` or the model itself."""
        if self.fn is None:
            return self.model(inputs, training=training)
        return self.fn(inputs, training)
