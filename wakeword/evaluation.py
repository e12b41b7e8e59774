"""The metrics of one model's per-hop scores on an evaluation set (`evalset`), in the field's reading.

A wake word is judged on ordinary speech: false accepts per hour are counted on the files of
ordinary speech alone (real voices and synthesized sentences), never on the near-miss file,
whose 3.2 s per deliberate near-miss is far denser than any day's audio. Near-misses are a
column of their own: how many of them fire.

Each model is read at two operating points:
  * its own (the threshold, smoothing and refractory time it ships with): recall per
    condition, false accepts per hour of ordinary speech, near-misses fired;
  * the threshold that gives `TARGET_FA_PER_HOUR` on ordinary speech (searched on its
    scores): that threshold, recall per condition, near-misses fired there.
Plus the DET curve (all positives against ordinary speech).
"""

from __future__ import annotations

import numpy as np

from wakeword import detect, evalset

TARGET_FA_PER_HOUR = 0.5
DET_THRESHOLDS = np.concatenate([np.linspace(0.01, 0.9, 90), 1 - np.logspace(-1, -5, 41)])
AT_TARGET = f"at_{TARGET_FA_PER_HOUR}_fa_per_hour"


def detected(scores: np.ndarray, events: list, detector: detect.Detector) -> np.ndarray:
    """bool `[events]`: a detection fired within each event's span."""
    hops = detect.detection_hops(detect.smooth(scores, detector.smoothing_hops),
                                 detector.threshold, detector.refractory_s)
    times = (np.array(hops) + 1) * detect.HOP_S
    return np.array([bool(np.any((times >= start) & (times <= end + detect.DETECTION_TOLERANCE_S)))
                     for start, end, _ in events], bool)


def _operating_point(files: list[evalset.EvalFile], scores: dict[str, np.ndarray],
                     detector: detect.Detector) -> dict:
    """Recall per condition, false accepts per hour of ordinary speech and near-misses fired."""
    speech = [scores[f.path] for f in files if f.kind == "speech"]
    confusable = next(f for f in files if f.kind == "confusable")
    fired = detected(scores[confusable.path], confusable.events, detector)
    return {
        "threshold": float(detector.threshold),
        "recall": {f.kind.split(":", 1)[1]: float(np.mean(detected(scores[f.path], f.events,
                                                                   detector)))
                   for f in files if f.kind.startswith("positive:")},
        "fa_per_hour": detect.count_false_accepts(speech, detector) / detect.hours(speech),
        "near_misses_fired": int(fired.sum()),
        "near_miss_texts_fired": sorted({e[2] for e, f in zip(confusable.events, fired) if f}),
    }


def metrics(files: list[evalset.EvalFile], scores: dict[str, np.ndarray],
            detector: detect.Detector) -> dict:
    """`scores`: file path -> per-hop scores. Returns the metrics as a JSON-ready dict."""
    speech = [scores[f.path] for f in files if f.kind == "speech"]
    positives = [f for f in files if f.kind.startswith("positive:")]
    confusable = next(f for f in files if f.kind == "confusable")
    at_target = detect.Detector(detect.calibrate(speech, TARGET_FA_PER_HOUR,
                                                 detector.smoothing_hops, detector.refractory_s),
                                detector.smoothing_hops, detector.refractory_s)
    peaks = np.concatenate([detect.event_peaks(scores[f.path], [e[:2] for e in f.events],
                                               detector.smoothing_hops) for f in positives])
    det_frr, det_fa = detect.det_curve(speech, peaks, detector.smoothing_hops, DET_THRESHOLDS,
                                       detector.refractory_s)
    return {
        "smoothing_hops": detector.smoothing_hops, "refractory_s": detector.refractory_s,
        "positives_per_condition": {f.kind.split(":", 1)[1]: len(f.events) for f in positives},
        "speech_hours": detect.hours(speech), "near_misses": len(confusable.events),
        "own": _operating_point(files, scores, detector),
        AT_TARGET: _operating_point(files, scores, at_target),
        "det": {"threshold": DET_THRESHOLDS.tolist(), "frr": det_frr.tolist(),
                "fa_per_hour": det_fa.tolist()},
    }


def table(results: dict[str, dict]) -> str:
    """The comparison as a Markdown table: one row per model and operating point."""
    conditions = list(next(iter(results.values()))["positives_per_condition"])
    header = (["model", "operating point", "threshold"] + [f"recall {c}" for c in conditions]
              + ["FA/h ordinary speech", "near-misses fired"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, m in results.items():
        for point, label in (("own", "own threshold"),
                             (AT_TARGET, f"{TARGET_FA_PER_HOUR} FA/h of speech")):
            p = m[point]
            row = ([name, label, f"{p['threshold']:.4f}"]
                   + [f"{p['recall'][c]:.3f}" for c in conditions]
                   + [f"{p['fa_per_hour']:.2f}", f"{p['near_misses_fired']}/{m['near_misses']}"])
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
