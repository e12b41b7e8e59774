"""The one place that knows the streaming model folders, for the live page.

Two tools write a model the page can run, each in its own format:

* `wakeword.train`: `wakeword.tflite` (output `score`) and `manifest.json` (phrase,
  threshold, smoothing hops, refractory time, rate, hop, first scored hop);
* `speech_commands.export_kws`: `streaming_kws.tflite` (output `scores`), its timing
  `streaming_kws.json` and `conv_actions_labels.txt`, in the folder or in the `export/`
  folder of the training run; `speech_commands.listen` turns its scores into commands with
  `RecognizeCommands` under its flags' defaults (`speech_commands.detection.DEFAULTS`).

`read(folder)` turns either into one `LiveModel`, and `LiveModel.description()` into the JSON
the page runs on: the output holding the scores, the labels, the first scored hop, the time a
hop's score stands for, and the rule that makes detections. The page (`static/live.js`)
knows nothing else of the folders, so when the formats are unified only this module changes.

The wake word's manifest is read here as JSON rather than through `wakeword.runtime`:
`wakeword` is a package of the recorder's own layer, which the recorder does not import.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from earshot import streaming
from earshot.errors import UserError
from speech_commands import dataset, detection, spotter_runtime

WAKEWORD_MANIFEST = "manifest.json"  # wakeword.runtime.MANIFEST_NAME
WAKEWORD_FIELDS = {"phrase": str, "threshold": (int, float), "smoothing_hops": int,
                   "refractory_s": (int, float), "sample_rate": int, "hop_samples": int,
                   "first_scored_hop": int, "model": str}
WAKEWORD_SCORE = "score"  # wakeword.runtime.SCORE
ABOUT = ("--model_dir must be a folder written by `python -m wakeword.train`, or by `python -m "
         "speech_commands.export_kws` (or the training run folder it exported into)")


def _recognizer_defaults() -> dict[str, float]:
    """`python -m speech_commands.listen`'s flag defaults: the page detects what it prints."""
    rules = detection.DEFAULTS
    return {"average_window_ms": rules.average_window_ms,
            "detection_threshold": rules.detection_threshold,
            "suppression_ms": rules.suppression_ms, "minimum_count": rules.minimum_count}


class ModelFolderError(UserError, ValueError):
    """A folder the live page cannot run: missing, of something else, or with a bad file."""


@dataclasses.dataclass(frozen=True)
class LiveModel:
    """A streaming model as the page runs it.

    Attributes:
      kind: "wakeword" or "keywords".
      name: what it listens for, for the page's title.
      path: the streaming TFLite file.
      scores_output: the model's output that holds the scores (the others are states).
      labels: the label of each score.
      sample_rate, hop_samples: the audio one step takes.
      first_scored_hop: earlier hops give no score that counts.
      time_end_offset, time_back_ms: hop `h` is stamped
        `floor((h * hop_samples + time_end_offset) * 1000 / sample_rate) - time_back_ms` ms,
        the time its tool prints.
      detector: the rule and its settings: {"rule": "trigger", threshold, smoothing_hops,
        refractory_hops} (`wakeword.detect.Trigger`) or {"rule": "recognize", ...
        recognizer settings} (`speech_commands.recognize_commands`, `detection.DEFAULTS`).
    """

    kind: str
    name: str
    path: str
    scores_output: str
    labels: tuple[str, ...]
    sample_rate: int
    hop_samples: int
    first_scored_hop: int
    time_end_offset: int
    time_back_ms: int
    detector: dict[str, Any]

    def description(self) -> dict[str, Any]:
        """The page's view, as JSON: everything but the server's path."""
        fields = dataclasses.asdict(self)
        del fields["path"]
        fields["labels"] = list(self.labels)
        return fields


def read(folder: str) -> LiveModel:
    """The model in `folder`, checked down to the TFLite file's inputs and outputs.

    Raises:
      ModelFolderError: no such folder, neither kind of model there, or a file of it that
        is missing or unreadable; the message names the file and says what was expected.
    """
    if not os.path.isdir(folder):
        raise ModelFolderError(f"{folder}: no such folder; {ABOUT}")
    if os.path.isfile(os.path.join(folder, WAKEWORD_MANIFEST)):
        model = _wakeword(folder)
    else:
        model = _keyword_spotter(folder)
    _check_runs(model)
    return model


def _wakeword(folder: str) -> LiveModel:
    path = os.path.join(folder, WAKEWORD_MANIFEST)
    try:
        with open(path, encoding="utf-8") as file:
            manifest = json.load(file)
    except (OSError, ValueError) as error:
        raise ModelFolderError(f"{path}: unreadable manifest ({error})") from error
    wrong = [name for name, kind in WAKEWORD_FIELDS.items()
             if not isinstance(manifest.get(name) if isinstance(manifest, dict) else None, kind)]
    if wrong:
        raise ModelFolderError(f"{path}: not a wake-word manifest (missing or wrong: "
                               f"{', '.join(wrong)})")
    hop_seconds = manifest["hop_samples"] / manifest["sample_rate"]
    return LiveModel(
        kind="wakeword", name=manifest["phrase"], path=os.path.join(folder, manifest["model"]),
        scores_output=WAKEWORD_SCORE, labels=(manifest["phrase"],),
        sample_rate=manifest["sample_rate"], hop_samples=manifest["hop_samples"],
        first_scored_hop=manifest["first_scored_hop"], time_end_offset=manifest["hop_samples"],
        time_back_ms=0,
        detector={"rule": "trigger", "threshold": float(manifest["threshold"]),
                  "smoothing_hops": manifest["smoothing_hops"],
                  "refractory_hops": int(round(manifest["refractory_s"] / hop_seconds))})


def _keyword_spotter(folder: str) -> LiveModel:
    try:
        model_path, labels_path = spotter_runtime.model_paths(folder)
    except spotter_runtime.SpotterModelError:
        raise ModelFolderError(
            f"{folder}: no {WAKEWORD_MANIFEST} (a wake word) and no "
            f"{spotter_runtime.STREAMING_MODEL_NAME} with {dataset.TFLITE_LABELS_NAME} (a "
            f"keyword spotter) there or in its {spotter_runtime.EXPORT_DIR_NAME}/ folder; "
            f"{ABOUT}") from None
    try:
        timing = spotter_runtime.StreamTiming.read(spotter_runtime.timing_path(model_path))
        labels = tuple(dataset.read_labels(labels_path))
    except (UserError, OSError) as error:
        raise ModelFolderError(str(error)) from error
    return LiveModel(
        kind="keywords", name=", ".join(label for label in labels if not label.startswith("_")),
        path=model_path, scores_output=spotter_runtime.SCORES, labels=labels,
        sample_rate=timing.sample_rate, hop_samples=timing.hop_samples,
        first_scored_hop=timing.first_full_hop, time_end_offset=timing.window_end_offset,
        time_back_ms=timing.clip_duration_ms,
        detector={"rule": "recognize", **_recognizer_defaults()})


def _check_runs(model: LiveModel) -> None:
    """Loads the model as the Python listeners do, so that a file the page could not run
    fails here with its name, and checks its scores against the labels."""
    try:
        runner = streaming.load_runner(model.path)
    except (ValueError, FileNotFoundError) as error:
        raise ModelFolderError(f"{model.path}: not a streaming model ({error})") from error
    outputs = runner.get_output_details()
    if model.scores_output not in outputs:
        raise ModelFolderError(f"{model.path}: no output {model.scores_output!r} (outputs: "
                               f"{', '.join(sorted(outputs))})")
    size = int(outputs[model.scores_output]["shape"][-1])
    if size != len(model.labels):
        raise ModelFolderError(f"{model.path}: {size} scores, but {len(model.labels)} labels")
