"""What a training run is, as typed, frozen values, and the run folder's `settings.json`.

Imports no TensorFlow: the runtime that only plays an exported model (`listen`) reads a run
folder too.

* `ModelSettings`: the reference's `model_settings` dict as a frozen dataclass, with the
  reference's key names as field names (`as_dict()` gives the dict form back). It is made by
  `features.model_settings`, which knows each front end's geometry.
* `TrainConfig`: every `train` flag, with the reference's defaults and its help text.
* `RunSettings`: what `train` writes into `--train_dir` as `settings.json` next to the
  checkpoints (architecture, labels, model settings, and every flag of the run), so `freeze`,
  `export_kws`, `export.hub --model=keyword_spotter`, `listen` and the streaming tools need the
  run folder only. A flag a tool still accepts and that repeats a recorded value is checked
  against it (`RunSettings.check`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from absl import flags

from earshot import fileio
from earshot.audio import SAMPLE_RATE
from earshot.errors import UserError

SETTINGS_NAME = "settings.json"
FORMAT = "earshot.speech_commands.run"
FORMAT_VERSION = 1
# The tutorial's dataset: what `train --data_url=` names to download it.
SPEECH_COMMANDS_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                       "speech_commands_v0.02.tar.gz")
DEFAULT_WANTED_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
# The fields a flag gives as a comma list, and the type of their items.
LIST_FIELDS = {"wanted_words": str, "how_many_training_steps": int, "learning_rate": float}


class SettingsError(UserError, ValueError):
    """A run folder without readable settings, or a flag that contradicts them."""


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """Audio and fingerprint geometry of a model (the reference's `model_settings`).

    Attributes:
      desired_samples: samples per clip (16000 for 1 s at 16 kHz).
      window_size_samples, window_stride_samples: spectrogram frame length and hop, samples.
      spectrogram_length: frames per fingerprint (embedding front ends: embeddings or 1).
      feature_bin_count: the `--feature_bin_count` asked for.
      label_count: model outputs (silence, unknown and the wanted words).
      sample_rate: Hz.
      preprocess: front end name (`features.get`).
      fingerprint_width: features per frame.
      fingerprint_size: `spectrogram_length * fingerprint_width`, the model's input width.
      average_window_width: frequency bins pooled per feature (`average`), else -1.
    """

    desired_samples: int
    window_size_samples: int
    window_stride_samples: int
    spectrogram_length: int
    feature_bin_count: int
    label_count: int
    sample_rate: int
    preprocess: str
    fingerprint_width: int
    fingerprint_size: int
    average_window_width: int

    def as_dict(self) -> dict[str, Any]:
        """The reference's dict form."""
        return dataclasses.asdict(self)


def _field(default: Any, help_text: str) -> Any:
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass
class TrainConfig:
    """Every `train` flag, with the reference's defaults; the help text is the flag's."""

    # Empty by default, unlike the reference: a mistyped --data_dir must not start a download.
    data_url: str = _field("", "Location of the speech training data archive, downloaded into "
                           "--data_dir if it holds no wavs; the tutorial's is "
                           f"{SPEECH_COMMANDS_URL}. Empty: never download.")
    data_dir: str = _field("/tmp/speech_dataset/", "Where to download the speech training data "
                           "to / find it.")
    background_volume: float = _field(0.1, "How loud the background noise should be, between "
                                      "0 and 1.")
    background_frequency: float = _field(0.8, "How many of the training samples have background "
                                         "noise mixed in.")
    silence_percentage: float = _field(10.0, "How much of the training data should be silence.")
    unknown_percentage: float = _field(10.0, "How much of the training data should be unknown "
                                       "words.")
    time_shift_ms: float = _field(100.0, "Range to randomly shift the training audio by in time.")
    testing_percentage: int = _field(10, "What percentage of wavs to use as a test set.")
    validation_percentage: int = _field(10, "What percentage of wavs to use as a validation set.")
    sample_rate: int = _field(SAMPLE_RATE, "Expected sample rate of the wavs.")
    clip_duration_ms: int = _field(1000, "Expected duration in milliseconds of the wavs.")
    window_size_ms: float = _field(30.0, "How long each spectrogram timeslice is.")
    window_stride_ms: float = _field(10.0, "How far to move in time between spectrogram "
                                     "timeslices.")
    feature_bin_count: int = _field(40, "How many bins to use for the MFCC fingerprint.")
    how_many_training_steps: tuple[int, ...] = _field((15000, 3000), "How many training loops "
                                                      "to run (comma list, one per stage).")
    eval_step_interval: int = _field(400, "How often to evaluate the training results.")
    learning_rate: tuple[float, ...] = _field((0.001, 0.0001), "How large a learning rate to "
                                              "use when training (comma list per stage).")
    batch_size: int = _field(100, "How many items to train with at once.")
    summaries_dir: str = _field("/tmp/retrain_logs", "Where to save summary logs for "
                                "TensorBoard.")
    wanted_words: tuple[str, ...] = _field(DEFAULT_WANTED_WORDS, "Words to use (others will be "
                                           "added to an unknown label).")
    train_dir: str = _field("/tmp/speech_commands_train", "Directory to write event logs, "
                            "checkpoints and settings.json.")
    save_step_interval: int = _field(100, "Save model checkpoint every save_steps.")
    start_checkpoint: str = _field("", "If specified, restore this pretrained model before any "
                                   "training.")
    model_architecture: str = _field("conv", "What model architecture to use (see "
                                     "speech_commands.architectures).")
    check_nans: bool = _field(False, "Whether to check for invalid numbers during processing.")
    quantize: bool = _field(False, "Whether to train the model for eight-bit deployment "
                            "(fake-quantized input).")
    preprocess: str = _field("mfcc", "Spectrogram processing mode: mfcc, average, micro (see "
                             "speech_commands.features).")
    optimizer: str = _field("gradient_descent", "Optimizer: gradient_descent (reference "
                            "default), momentum (Nesterov, 0.9) or adam (earshot addition, for "
                            "short runs).")
    seed: int = _field(0, "Seed of weight init, dropout and data sampling (the split uses the "
                       "reference's).")
    train_embedding: bool = _field(False, "embedding_head only: fine-tune the speech embedding "
                                   "too (batch norm in training mode; embeddings are then "
                                   "computed at every step, not cached).")
    examples_per_word: int = _field(0, "If > 0, keep the training clips of only this many "
                                    "speakers per wanted word (few-shot training); 0 keeps all.")

    def __post_init__(self):
        # A comma list as a flag (or an older settings.json) gives it is parsed here, once;
        # every field in LIST_FIELDS is a typed tuple from then on.
        for name in LIST_FIELDS:
            setattr(self, name, as_list(name, getattr(self, name)))

    @property
    def words(self) -> tuple[str, ...]:
        """The wanted words (`wanted_words`)."""
        return self.wanted_words


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Everything a tool needs to rebuild, export or run the model of one training run.

    Attributes:
      model_architecture: the `architectures` name.
      labels: model output order: `_silence_`, `_unknown_`, the wanted words.
      model_settings: the front end and fingerprint geometry the model was built for.
      training: every flag of the run (data_dir, seed, splits, augmentation, ...).
    """

    model_architecture: str
    labels: tuple[str, ...]
    model_settings: ModelSettings
    training: TrainConfig

    @property
    def wanted_words(self) -> tuple[str, ...]:
        return self.training.wanted_words

    @property
    def quantize(self) -> bool:
        return self.training.quantize

    @property
    def train_embedding(self) -> bool:
        return self.training.train_embedding

    @property
    def data_dir(self) -> str:
        return self.training.data_dir

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION,
                           "model_architecture": self.model_architecture,
                           "labels": list(self.labels),
                           "model_settings": self.model_settings.as_dict(),
                           "training": dataclasses.asdict(self.training)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "settings") -> "RunSettings":
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
                raise ValueError(f"not {FORMAT} version {FORMAT_VERSION} settings")
            return cls(data["model_architecture"], tuple(data["labels"]),
                       ModelSettings(**data["model_settings"]), TrainConfig(**data["training"]))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise SettingsError(f"{source}: unreadable run settings ({error})") from error

    def check(self, source: str, **given: Any) -> None:
        """Raises SettingsError if a flag value in `given` differs from the recorded one.

        Args:
          source: what is being loaded (a run folder or checkpoint), named in the message.
          given: flag name -> the value the user passed (`TrainConfig` field names).
        """
        for name, value in given.items():
            recorded = (self.model_architecture if name == "model_architecture"
                        else getattr(self.training, name))
            if name in LIST_FIELDS:
                value = as_list(name, value)
            if value == recorded:
                continue
            if name == "model_architecture":
                raise SettingsError(f"{source} does not hold a {value} model: its run trained "
                                    f"{recorded} (see its {SETTINGS_NAME})")
            value, recorded = flag_text(value), flag_text(recorded)
            raise SettingsError(f"{source} was trained with --{name}={recorded}, not {value} "
                                f"(see its {SETTINGS_NAME}); drop the flag or pass the run's "
                                "value")


def flags_given(flag_values, names: tuple[str, ...]) -> dict[str, Any]:
    """{name: value} of the absl flags among `names` that the command line set, for
    `RunSettings.check` (a flag left at its default repeats nothing)."""
    return {name: flag_values[name].value for name in names if flag_values[name].present}


def as_list(name: str, value: str | Any) -> tuple:
    """A `LIST_FIELDS` value as its typed tuple: a comma list (`'15000,3000'`, as the flag
    gives it) is parsed, a sequence is converted item by item.

    Raises:
      SettingsError: an empty list, or an item that is not of the field's type.
    """
    kind = LIST_FIELDS[name]
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        parsed = tuple(kind(item) for item in items)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"--{name}={flag_text(value)}: not a comma list of "
                            f"{kind.__name__} values ({error})") from error
    if not parsed or (kind is str and not all(parsed)):
        raise SettingsError(f"--{name}={flag_text(value)}: an empty list or list item")
    return parsed


def flag_text(value: Any) -> str:
    """A setting as a flag spells it: tuples as comma lists (`(15000, 3000)` -> `15000,3000`)."""
    if isinstance(value, (tuple, list)):
        return ",".join(str(item) for item in value)
    return str(value)


def define_flags(names: tuple[str, ...] | None = None, help_text: str | None = None) -> None:
    """One absl flag per `TrainConfig` field in `names` (all by default), with the field's name
    and default (a comma list for a tuple field), and its help or `help_text`."""
    definers = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
                float: flags.DEFINE_float, bool: flags.DEFINE_bool}
    for field in dataclasses.fields(TrainConfig):
        if names is not None and field.name not in names:
            continue
        text = help_text or field.metadata["help"]
        if field.name in LIST_FIELDS:
            flags.DEFINE_string(field.name, flag_text(field.default), text)
        else:
            definers[type(field.default)](field.name, field.default, text)


def settings_path(path: str) -> str:
    """The `settings.json` of a run folder, of a checkpoint prefix in it, or the file itself."""
    if os.path.isdir(path):
        return os.path.join(path, SETTINGS_NAME)
    if os.path.basename(path) == SETTINGS_NAME:
        return path
    return os.path.join(os.path.dirname(path) or ".", SETTINGS_NAME)


def write(train_dir: str, run: RunSettings) -> str:
    """Writes `train_dir/settings.json` (atomically); returns its path."""
    path = os.path.join(train_dir, SETTINGS_NAME)
    with fileio.atomic_open(path, "w") as out:
        out.write(run.to_json())
    return path


def read(path: str) -> RunSettings:
    """The settings of a run folder (or of a checkpoint in it, or the `settings.json` itself).

    Raises:
      SettingsError: nothing at `path`, no settings there (not a run folder of this version
        of `train`) or an unreadable file.
    """
    json_path = settings_path(path)
    if not (os.path.exists(path) or os.path.exists(path + ".index")):
        raise SettingsError(f"{path}: no such training run folder or checkpoint")
    if not os.path.isfile(json_path):
        raise SettingsError(f"{path}: not a training run folder (no {json_path}); pass the "
                            "--train_dir of `python -m speech_commands.train`")
    with open(json_path, encoding="utf-8") as settings_file:
        return RunSettings.from_json(settings_file.read(), json_path)
