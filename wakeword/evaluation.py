"""The metrics of one model's per-hop scores on an evaluation set (`evalset`).

For the model's operating point (threshold, smoothing, refractory time):
  * false-reject rate per condition: positive events with no detection in their span;
  * false accepts per hour on the negative files (ordinary speech and the confusables file),
    and on ordinary speech alone;
  * confusable events that fire.
And at the threshold that gives `TARGET_FA_PER_HOUR` on the negative files (searched on the
scores): that threshold and the recall per condition. Plus the DET curve over all positives.
"""

from __future__ import annotations

import numpy as np

from wakeword import detect, evalset

TARGET_FA_PER_HOUR = 0.5
DET_THRESHOLDS = np.concatenate([np.linspace(0.01, 0.9, 90), 1 - np.logspace(-1, -5, 41)])


def detected(scores: np.ndarray, events: list, detector: detect.Detector) -> np.ndarray:
    """bool `[events]`: a detection fired within each event's span."""
    hops = detect.detection_hops(detect.smooth(scores, detector.smoothing_hops),
                                 detector.threshold, detector.refractory_s)
    times = (np.array(hops) + 1) * detect.HOP_S
    return np.array([bool(np.any((times >= start) & (times <= end + detect.DETECTION_TOLERANCE_S)))
                     for start, end, _ in events], bool)


def metrics(files: list[evalset.EvalFile], scores: dict[str, np.ndarray],
            detector: detect.Detector) -> dict:
    """`scores`: file path -> per-hop scores. Returns the metrics as a JSON-ready dict."""
    negatives = [scores[f.path] for f in files if f.kind in ("speech", "confusable")]
    speech = [scores[f.path] for f in files if f.kind == "speech"]
    positives = {f.kind.split(":", 1)[1]: f for f in files if f.kind.startswith("positive:")}
    confusable = next(f for f in files if f.kind == "confusable")
    frr = {name: float(1 - np.mean(detected(scores[f.path], f.events, detector)))
           for name, f in positives.items()}
    fired = detected(scores[confusable.path], confusable.events, detector)
    peaks = {name: detect.event_peaks(scores[f.path], [e[:2] for e in f.events],
                                      detector.smoothing_hops) for name, f in positives.items()}
    threshold, recall = detect.recall_at_fa(negatives, peaks, detector.smoothing_hops,
                                            TARGET_FA_PER_HOUR)
    all_peaks = np.concatenate(list(peaks.values()))
    det_frr, det_fa = detect.det_curve(negatives, all_peaks, detector.smoothing_hops,
                                       DET_THRESHOLDS, detector.refractory_s)
    return {
        "threshold": detector.threshold, "smoothing_hops": detector.smoothing_hops,
        "refractory_s": detector.refractory_s,
        "positives_per_condition": {name: len(f.events) for name, f in positives.items()},
        "frr": frr,
        "negative_hours": detect.hours(negatives), "speech_hours": detect.hours(speech),
        "fa_per_hour": detect.count_false_accepts(negatives, detector) / detect.hours(negatives),
        "fa_per_hour_speech": detect.count_false_accepts(speech, detector) / detect.hours(speech),
        "confusables_fired": int(fired.sum()), "confusables": len(fired),
        "confusable_texts_fired": sorted({e[2] for e, f in zip(confusable.events, fired) if f}),
        f"threshold_at_{TARGET_FA_PER_HOUR}_fa_per_hour": threshold,
        f"recall_at_{TARGET_FA_PER_HOUR}_fa_per_hour": recall,
        "det": {"threshold": DET_THRESHOLDS.tolist(), "frr": det_frr.tolist(),
                "fa_per_hour": det_fa.tolist()},
    }


def table(results: dict[str, dict]) -> str:
    """The comparison as a Markdown table: one row per model."""
    conditions = list(next(iter(results.values()))["frr"])
    header = (["model", "threshold"] + [f"FRR {c}" for c in conditions] + ["FA/h", "confusables fired"]
              + [f"recall {c} @0.5 FA/h" for c in conditions] + ["threshold @0.5 FA/h"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, m in results.items():
        recall = m[f"recall_at_{TARGET_FA_PER_HOUR}_fa_per_hour"]
        row = ([name, f"{m['threshold']:.4f}"] + [f"{m['frr'][c]:.3f}" for c in conditions]
               + [f"{m['fa_per_hour']:.2f}", f"{m['confusables_fired']}/{m['confusables']}"]
               + [f"{recall[c]:.3f}" for c in conditions]
               + [f"{m[f'threshold_at_{TARGET_FA_PER_HOUR}_fa_per_hour']:.4f}"])
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
