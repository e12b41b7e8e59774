r"""Trains a wake-word model from the phrase's text alone.

    python -m wakeword.train --phrase="hey jarvis" --output_dir=/tmp/hey_jarvis \
        [--target_fa_per_hour=0.5] [--engines=espeak-ng,kokoro,festival] \
        [--real_speech=queen,fillets-cs,fillets-nl] [--negatives=DIR] [--overwrite]

Several speech engines say the phrase in many voices, and its near-misses
(`wakeword.voices`, `wakeword.phonemes`); ordinary sentences, real people's speech
(`wakeword.real_speech`, and your own recordings) and non-speech are added; everything goes
through rooms and noise and is embedded once (`wakeword.data`, cached), a head is trained on
windows of 16 embeddings (`wakeword.fit`) and its threshold calibrated on held-out voices and
real speech to the target false accepts per hour of ordinary speech (`wakeword.calibration`). The folder gets the streaming TFLite model, its
manifest, a SavedModel, the head's weights, `metrics.json` and `det.png`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

from absl import flags, logging

from earshot import cli, fileio, progress
from earshot.audio import SAMPLE_RATE
from earshot.errors import InvalidInput
from wakeword import calibration, data as data_lib, export, fit, plots, real_speech, runtime, voices
from wakeword import model as model_lib

FLAGS = flags.FLAGS
METRICS_NAME = "metrics.json"
DET_NAME = "det.png"


def define_flags() -> None:
    defaults = data_lib.Scale()
    flags.DEFINE_string("phrase", None, "The wake phrase, as text.", required=True)
    flags.DEFINE_string("output_dir", None, "The model folder to write.", required=True)
    flags.DEFINE_float("target_fa_per_hour", 0.5, "False accepts per hour the threshold is "
                       "calibrated to on held-out negative audio.")
    flags.DEFINE_bool("overwrite", False, "Replace --output_dir if it exists.")
    flags.DEFINE_integer("steps", fit.FitSettings().steps, "Training steps of the head.")
    flags.DEFINE_list("engines", None, "Speech engines that say the phrase, of "
                      f"{', '.join(voices.TRAINING_ENGINES_DEFAULT + voices.OPT_IN_ENGINES)} "
                      f"(default: {', '.join(voices.TRAINING_ENGINES_DEFAULT)} and the opt-in "
                      "ones installed).")
    flags.DEFINE_list("real_speech", list(real_speech.TRAINING_SOURCES), "Real-speech packages "
                      "heard as negatives (empty: none).")
    flags.DEFINE_string("negatives", None, "A folder of your own negative recordings (any audio "
                        "files, searched recursively; a fifth of them calibrate).")
    flags.DEFINE_integer("positives", defaults.positives, "espeak-ng positive utterances.")
    flags.DEFINE_integer("kokoro_positives", defaults.kokoro_positives,
                         "Kokoro positive utterances (each placed 4 times).")
    flags.DEFINE_integer("festival_positives", defaults.festival_positives,
                         "festival positive utterances (each placed 4 times).")
    flags.DEFINE_integer("confusable_speakers", defaults.confusable_speakers,
                         "Voices per confusable phrase.")
    flags.DEFINE_float("speech_minutes", defaults.speech_minutes, "Ordinary speech, minutes.")
    flags.DEFINE_float("noise_minutes", defaults.noise_minutes, "Non-speech, minutes.")
    flags.DEFINE_float("engine_speech_minutes", defaults.engine_speech_minutes,
                       "Ordinary speech by each engine other than espeak-ng, minutes.")
    flags.DEFINE_float("calibration_minutes", defaults.calibration_minutes,
                       "Held-out negative speech for the threshold, minutes.")
    flags.DEFINE_integer("calibration_positives", defaults.calibration_positives,
                         "Held-out positive utterances for the DET curve.")
    flags.DEFINE_integer("seed", 0, "Seed of voices, augmentation and training.")


def train(phrase: str, output_dir: str, target_fa_per_hour: float, scale: data_lib.Scale,
          settings: fit.FitSettings, overwrite: bool = False,
          sources: data_lib.Sources = data_lib.Sources()) -> dict:
    """Builds the model folder; returns its metrics."""
    if target_fa_per_hour <= 0:
        raise InvalidInput(f"--target_fa_per_hour must be > 0, got {target_fa_per_hour}")
    data_lib.check_sources(sources)
    started = time.monotonic()
    with fileio.atomic_dir(output_dir, overwrite=overwrite) as staging:
        training = data_lib.build(phrase, scale, settings.seed, sources)
        data_seconds = time.monotonic() - started
        head = fit.train_head(training, settings)
        progress.say("calibrating the threshold on held-out voices and speech")
        result = calibration.calibrate(head, training, target_fa_per_hour)
        manifest = runtime.Manifest(
            phrase=phrase, threshold=round(result.threshold, 6),
            smoothing_hops=result.smoothing_hops, refractory_s=calibration.detect.REFRACTORY_S,
            sample_rate=SAMPLE_RATE, hop_samples=model_lib.HOP_SAMPLES,
            first_scored_hop=model_lib.FIRST_SCORED_HOP, target_fa_per_hour=target_fa_per_hour,
            head_branches=settings.branches)
        progress.say("exporting the streaming model")
        export.write(staging, head, manifest)
        plots.det({"earshot (held-out voices)": (result.det_frr, result.det_fa_per_hour)},
                  f'"{phrase}": held-out voices, {result.negative_hours:.2f} h of negatives',
                  os.path.join(staging, DET_NAME),
                  {"manifest": (result.false_accepts / result.negative_hours, 1 - result.recall)})
        metrics = {
            "phrase": phrase, "threshold": manifest.threshold,
            "smoothing_hops": manifest.smoothing_hops,
            "calibration": {"negative_hours": result.negative_hours,
                            "false_accepts": result.false_accepts,
                            "fa_per_hour": result.false_accepts / result.negative_hours,
                            "held_out_positives": sum(len(g.stream_samples) for g in
                                                      training.calibration_positives),
                            "recall": result.recall,
                            "confusables_fired": result.confusables_fired},
            "det": {"threshold": result.det_thresholds.tolist(), "frr": result.det_frr.tolist(),
                    "fa_per_hour": result.det_fa_per_hour.tolist()},
            "training_windows": {
                "positive": sum(int((g.labels == data_lib.POSITIVE).sum())
                                for g in training.positives),
                "confusable": sum(g.labels.size for g in training.confusables),
                "negative": sum(int((g.labels == data_lib.NEGATIVE).sum())
                                for g in training.positives + training.negatives)},
            "scale": dataclasses.asdict(scale), "fit": dataclasses.asdict(settings),
            "sources": dataclasses.asdict(sources),
            "seconds": {"data": data_seconds, "total": time.monotonic() - started,
                        "sources": training.seconds},
        }
        with fileio.atomic_open(os.path.join(staging, METRICS_NAME), "w") as out:
            json.dump(metrics, out, indent=2)
    logging.info("wrote %s", output_dir)
    return metrics


def main(argv: list[str]) -> None:
    del argv
    scale = data_lib.Scale(FLAGS.positives, FLAGS.kokoro_positives, FLAGS.festival_positives,
                           FLAGS.confusable_speakers, FLAGS.speech_minutes, FLAGS.noise_minutes,
                           FLAGS.engine_speech_minutes, FLAGS.calibration_minutes,
                           FLAGS.calibration_positives)
    engines = voices.default_training_engines() if FLAGS.engines is None else tuple(FLAGS.engines)
    sources = data_lib.Sources(engines, tuple(FLAGS.real_speech), FLAGS.negatives)
    metrics = train(FLAGS.phrase, FLAGS.output_dir, FLAGS.target_fa_per_hour, scale,
                    fit.FitSettings(steps=FLAGS.steps, seed=FLAGS.seed), FLAGS.overwrite,
                    sources)
    calibrated = metrics["calibration"]
    print(f"{FLAGS.output_dir}: threshold {metrics['threshold']:.4f} "
          f"(smoothing {metrics['smoothing_hops']} hops): {calibrated['fa_per_hour']:.2f} false "
          f"accepts/h on {calibrated['negative_hours']:.2f} h of held-out speech, recall "
          f"{calibrated['recall']:.3f} on held-out voices; {metrics['seconds']['total']:.0f} s")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
