// From per-hop scores to detections, as the Python listeners do it, so that the page detects
// what `python -m wakeword.listen` and `python -m speech_commands.listen` print for the same
// audio: `Trigger` is wakeword.detect.Trigger, `CommandRecognizer` is
// speech_commands.recognize_commands.RecognizeCommands. Sums run in the same order as there,
// in doubles, so that equal scores give equal decisions.

export const SILENCE_LABEL = '_silence_';
// RecognizeCommands' window must be at least this fraction full before a result counts.
const MINIMUM_TIME_FRACTION = 4;

// A wake word: the mean of the last `smoothing_hops` scores reaches `threshold`, at least
// `refractory_hops` hops after the last detection.
export class Trigger {
  constructor({threshold, smoothing_hops: smoothingHops, refractory_hops: refractoryHops}) {
    this.threshold = threshold;
    this.smoothingHops = Math.max(1, smoothingHops);
    this.refractoryHops = refractoryHops;
    this.recent = [];
    this.hop = -1;
    this.nextAllowed = 0;
    this.smoothed = 0;
  }

  // One hop's score (every hop, the unscored first ones included) -> whether it fires.
  update(score) {
    this.hop += 1;
    this.recent.push(score);
    if (this.recent.length > this.smoothingHops) this.recent.shift();
    let sum = 0;
    for (const value of this.recent) sum += value;
    this.smoothed = sum / this.recent.length;
    if (this.smoothed >= this.threshold && this.hop >= this.nextAllowed) {
      this.nextAllowed = this.hop + this.refractoryHops;
      return true;
    }
    return false;
  }
}

// Keywords: scores averaged over the last `average_window_ms`; a label is a new command when
// its average exceeds `detection_threshold`, differs from the last command and comes more than
// `suppression_ms` after it.
export class CommandRecognizer {
  constructor(labels, settings) {
    this.labels = labels;
    this.windowMs = settings.average_window_ms;
    this.threshold = settings.detection_threshold;
    this.suppressionMs = settings.suppression_ms;
    this.minimumCount = settings.minimum_count;
    this.previous = [];  // [time_ms, scores] in time order
    this.topLabel = SILENCE_LABEL;
    this.topLabelTime = null;
  }

  // One scored hop -> {label, score, isNew}.
  process(scores, timeMs) {
    this.previous.push([timeMs, Float64Array.from(scores)]);
    const limit = timeMs - this.windowMs;
    while (limit > this.previous[0][0]) this.previous.shift();
    const duration = timeMs - this.previous[0][0];
    if (this.previous.length < this.minimumCount ||
        duration < this.windowMs / MINIMUM_TIME_FRACTION) {
      return {label: this.topLabel, score: 0, isNew: false};
    }
    const average = new Float64Array(this.labels.length);
    for (const [, values] of this.previous) {
      for (let i = 0; i < average.length; i++) average[i] += values[i];
    }
    let top = 0;
    for (let i = 0; i < average.length; i++) {
      average[i] /= this.previous.length;
      if (average[i] > average[top]) top = i;
    }
    const label = this.labels[top];
    const score = average[top];
    const sinceLast = this.topLabel === SILENCE_LABEL || this.topLabelTime === null
      ? Infinity : timeMs - this.topLabelTime;
    const isNew = score > this.threshold && label !== this.topLabel &&
                  sinceLast > this.suppressionMs;
    if (isNew) {
      this.topLabel = label;
      this.topLabelTime = timeMs;
    }
    return {label, score, isNew};
  }
}
