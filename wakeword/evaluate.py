r"""Evaluates a wake-word model, and openWakeWord's and microWakeWord's pretrained ones, alike.

    python -m wakeword.evaluate --model_dir=/tmp/hey_jarvis [--openwakeword=hey_jarvis_v0.1] \
        [--microwakeword=hey_jarvis] [--output=metrics.json] [--negative_hours=2]

The evaluation set (`wakeword.evalset`: voices no training run hears, flite's and festival's
kal_diphone, and the real speech of warzone2100 and hedgewars) is built once into
`--data_dir` (default: the cache). The model folder's scores are computed offline
(`export.file_scores`, which equals the streaming model's, see tests); openWakeWord's and
microWakeWord's are their streams' (`wakeword.openwakeword`, `wakeword.microwakeword`),
cached per file. Every model is read at its own operating point and at the threshold giving
0.5 false accepts per hour of ordinary speech (`wakeword.evaluation`). Prints a Markdown table and
writes the metrics (and `--det_plot`, every model's DET curve) atomically.
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import flags

from earshot import audio, cache, cli, fileio, progress
from earshot.errors import InvalidInput
from wakeword import (detect, evalset, evaluation, export, microwakeword, openwakeword, plots,
                      real_speech, runtime)

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("model_dir", None, "Model folder written by wakeword.train.", required=True)
    flags.DEFINE_string("openwakeword", None, "An openWakeWord 0.5.1 model to compare with, "
                        "e.g. hey_jarvis_v0.1 (default: none).")
    flags.DEFINE_string("microwakeword", None, "A microWakeWord model of the pymicro-wakeword "
                        "wheel to compare with, e.g. hey_jarvis (default: none).")
    flags.DEFINE_string("data_dir", None, "Evaluation set folder (built if missing; default: "
                        "in the cache, per phrase).")
    flags.DEFINE_float("negative_hours", 2.0, "Hours of ordinary speech in the evaluation set "
                       "(real speech included).")
    flags.DEFINE_list("real_speech", list(real_speech.EVALUATION_SOURCES),
                      "Real-speech packages heard as ordinary speech (evaluation-only ones).")
    flags.DEFINE_string("output", None,
                        "Metrics JSON to write (default: MODEL_DIR/evaluation.json).")
    flags.DEFINE_string("det_plot", None,
                        "DET plot PNG to write (default: MODEL_DIR/evaluation_det.png).")


def _cached_scores(path: str, name: str, score) -> np.ndarray:
    with open(path, "rb") as wav:
        entry = cache.cache_path(("wakeword", "scores"), wav.read(), ".npy", name=name, digits=16)
    return cache.cached_npy(entry, lambda: score(audio.load(path, audio.SAMPLE_RATE)))


def main(argv: list[str]) -> None:
    del argv
    output = fileio.check_output(FLAGS.output or os.path.join(FLAGS.model_dir, "evaluation.json"))
    det_plot = fileio.check_output(FLAGS.det_plot
                                   or os.path.join(FLAGS.model_dir, "evaluation_det.png"))
    manifest = runtime.Manifest.read(FLAGS.model_dir)
    head = export.load_head(FLAGS.model_dir)
    models = {"earshot": (lambda path: export.file_scores(head,
                                                          audio.load(path, audio.SAMPLE_RATE)),
                          detect.Detector(manifest.threshold, manifest.smoothing_hops,
                                          manifest.refractory_s))}
    if FLAGS.openwakeword:
        name = FLAGS.openwakeword
        models[f"openWakeWord {name}"] = (
            lambda path: _cached_scores(path, name,
                                        lambda waveform: openwakeword.file_scores(waveform, name)),
            detect.Detector(openwakeword.DEFAULT_THRESHOLD, 1, manifest.refractory_s))
    if FLAGS.microwakeword:
        micro = FLAGS.microwakeword
        models[f"microWakeWord {micro}"] = (
            lambda path: _cached_scores(path, f"microwakeword-{micro}", lambda waveform:
                                        microwakeword.file_scores(waveform, micro)),
            microwakeword.detector(micro, manifest.refractory_s))
    sources = tuple(FLAGS.real_speech)
    unknown = sorted(set(sources) - set(real_speech.EVALUATION_SOURCES))
    if unknown:
        raise InvalidInput(f"--real_speech: {', '.join(unknown)} is not an evaluation-only source "
                           f"({', '.join(real_speech.EVALUATION_SOURCES)})")
    folder = FLAGS.data_dir or evalset.default_folder(manifest.phrase, FLAGS.negative_hours,
                                                      sources)
    files = evalset.build(manifest.phrase, folder, FLAGS.negative_hours, real_sources=sources)
    results = {}
    for label, (score, detector) in models.items():
        scores = {f.path: score(f.path) for f in progress.track(files, f"scoring with {label}")}
        results[label] = evaluation.metrics(files, scores, detector)
    with fileio.atomic_open(output, "w") as out:
        json.dump({"phrase": manifest.phrase, "data_dir": folder, "models": results}, out, indent=2)
    plots.det({label: (np.array(m["det"]["frr"]), np.array(m["det"]["fa_per_hour"]))
               for label, m in results.items()},
              f'"{manifest.phrase}": held-out voices, '
              f'{next(iter(results.values()))["speech_hours"]:.2f} h of ordinary speech',
              det_plot,
              {label: (m["own"]["fa_per_hour"], 1 - float(np.mean(list(m["own"]["recall"].values()))))
               for label, m in results.items()})
    print(evaluation.table(results))


if __name__ == "__main__":
    define_flags()
    cli.run(main)
