// The live page: runs a streaming model on the microphone in the page, with LiteRT.js.
//
// Audio path: getUserMedia (browser processing off) -> an AudioContext at the model's rate
// (16 kHz) -> hop-worklet.js (hops of 1280 samples) -> this thread, which runs one model step
// per hop (LiteRT.js, WebAssembly, one thread), feeds the state outputs back as the next
// step's inputs, and turns the scores into detections (live-detect.js). What the model is,
// which output holds its scores, when they count, what time a hop stands for and which rule
// detects: GET /api/live (recorder/live_model.py), the one place that knows model folders.
//
// `?keep_audio=1` keeps every sample fed to the model and every hop's scores, for
// `window.earshotLive` (a test compares them with the Python listener on the same samples).

import {CommandRecognizer, SILENCE_LABEL, Trigger} from '/static/live-detect.js';

const WASM_DIR = '/vendor/@litertjs/core/wasm/';
const SAMPLES = 'samples';  // the hop's input of every streaming export
const PLOT_HOPS = 150;      // 12 s of hops on the plot
const FRESH_MS = 1500;      // a new detection stands out this long
const KEEP_AUDIO = new URLSearchParams(location.search).has('keep_audio');
const TRAIN_POLL_MS = 500;  // how often the page asks for the trainer's new lines

const ui = {};
let litert = null;       // the LiteRT.js module, loaded once
let listener = null;     // the running Listener
let audioStarted = false; // the microphone feeds `listener`, whichever model it runs

function $(id) { return document.getElementById(id); }

function setStatus(kind, html) {
  ui.status.dataset.kind = kind;
  ui.status.innerHTML = html;
}

function fail(message) {
  document.body.dataset.liveReady = '0';
  setStatus('error', escapeHtml(message));
}

function escapeHtml(text) {
  const span = document.createElement('span');
  span.textContent = text;
  return span.innerHTML;
}

// One model step per hop, the states carried from one step to the next.
class StreamingModel {
  constructor(compiled, description) {
    this.compiled = compiled;
    this.scoresOutput = description.scores_output;
    const inputs = compiled.getInputDetails();
    const samples = inputs.find((input) => input.name === SAMPLES);
    const size = samples ? samples.shape.reduce((a, b) => a * b, 1) : 0;
    if (size !== description.hop_samples) {
      throw new Error(`the model takes no input "${SAMPLES}" of ${description.hop_samples} ` +
                      'samples: not a streaming model');
    }
    this.states = inputs.filter((input) => input.name !== SAMPLES).map((input) => ({
      name: input.name, shape: Array.from(input.shape),
      value: new Float32Array(input.shape.reduce((a, b) => a * b, 1))}));
    this.hopShape = Array.from(samples.shape);
  }

  // Float32Array hop -> {scores: Float32Array, ms: the model call's wall time}.
  async step(hop) {
    const inputs = {[SAMPLES]: new litert.Tensor(hop, this.hopShape)};
    for (const state of this.states) {
      inputs[state.name] = new litert.Tensor(state.value, state.shape);
    }
    const start = performance.now();
    const outputs = await this.compiled.run(inputs);
    const ms = performance.now() - start;
    for (const tensor of Object.values(inputs)) tensor.delete();
    for (const state of this.states) state.value = outputs[state.name].toTypedArray().slice();
    const scores = outputs[this.scoresOutput].toTypedArray().slice();
    for (const tensor of Object.values(outputs)) tensor.delete();
    return {scores, ms};
  }
}

// The scores of one stream: hop count, detections, the plotted line and the per-hop cost.
class Listener {
  constructor(model, description) {
    this.model = model;
    this.description = description;
    this.keywords = description.detector.rule === 'recognize';
    this.detector = this.keywords
      ? new CommandRecognizer(description.labels, description.detector)
      : new Trigger(description.detector);
    this.hops = 0;
    this.queue = [];
    this.running = false;
    this.costMs = 0;
    this.plotted = [];
    this.kept = {audio: [], scores: [], costs: []};
  }

  // The time hop `hop` stands for, in ms, as its Python tool prints it.
  timeMs(hop) {
    const d = this.description;
    return Math.floor((hop * d.hop_samples + d.time_end_offset) * 1000 / d.sample_rate) -
           d.time_back_ms;
  }

  push(hop) {
    this.queue.push(hop);
    if (!this.running) this.drain();
  }

  async drain() {
    this.running = true;
    while (this.queue.length) await this.run(this.queue.shift());
    this.running = false;
  }

  async run(samples) {
    const hop = this.hops++;
    const {scores, ms} = await this.model.step(samples);
    this.costMs += ms;
    if (KEEP_AUDIO) {
      this.kept.audio.push(samples);
      this.kept.scores.push(Array.from(scores));
      this.kept.costs.push(ms);
    }
    const found = this.keywords ? this.recognize(hop, scores) : this.trigger(hop, scores);
    if (found) addDetection(this.timeMs(hop), found.label, found.score);
    document.body.dataset.hops = String(this.hops);
    ui.cost.textContent = `LiteRT.js (WebAssembly, 1 thread): ${(this.costMs / this.hops)
      .toFixed(2)} ms of model per ${1000 * this.description.hop_samples /
      this.description.sample_rate} ms hop, mean of ${this.hops} hops`;
    document.body.dataset.hopMs = String(this.costMs / this.hops);
    drawPlot(this);
  }

  trigger(hop, scores) {
    const fired = this.detector.update(scores[0]);
    this.plot(this.detector.smoothed, this.description.name);
    return fired ? {label: this.description.name, score: this.detector.smoothed} : null;
  }

  recognize(hop, scores) {
    if (hop < this.description.first_scored_hop) {
      this.plot(0, '');
      return null;
    }
    // The plot shows the best keyword's score of this hop (not _silence_ or _unknown_).
    let best = -1;
    this.description.labels.forEach((label, index) => {
      if (!label.startsWith('_') && (best < 0 || scores[index] > scores[best])) best = index;
    });
    this.plot(best < 0 ? 0 : scores[best], best < 0 ? '' : this.description.labels[best]);
    const result = this.detector.process(scores, this.timeMs(hop));
    return result.isNew && result.label !== SILENCE_LABEL
      ? {label: result.label, score: result.score} : null;
  }

  plot(value, label) {
    this.plotted.push(value);
    if (this.plotted.length > PLOT_HOPS) this.plotted.shift();
    ui.now.textContent = label ? `${label}: ${value.toFixed(2)}` : '\u00a0';
  }
}

function threshold(description) {
  const detector = description.detector;
  return detector.rule === 'recognize' ? detector.detection_threshold : detector.threshold;
}

function drawPlot(current) {
  const canvas = ui.plot;
  const context = canvas.getContext('2d');
  const {width, height} = canvas;
  const y = (value) => height - 8 - value * (height - 16);
  context.clearRect(0, 0, width, height);
  const limit = y(threshold(current.description));
  context.strokeStyle = '#c0392b';
  context.setLineDash([6, 4]);
  context.beginPath();
  context.moveTo(0, limit);
  context.lineTo(width, limit);
  context.stroke();
  context.setLineDash([]);
  context.fillStyle = '#c0392b';
  context.font = '12px system-ui, sans-serif';
  context.fillText(`threshold ${threshold(current.description).toFixed(2)}`, 6, limit - 4);
  context.strokeStyle = '#2471a3';
  context.lineWidth = 2;
  context.beginPath();
  const step = width / (PLOT_HOPS - 1);
  const offset = PLOT_HOPS - current.plotted.length;
  current.plotted.forEach((value, index) => {
    const x = (offset + index) * step;
    if (index === 0) context.moveTo(x, y(value));
    else context.lineTo(x, y(value));
  });
  context.stroke();
  context.lineWidth = 1;
}

function addDetection(timeMs, label, score) {
  const time = (timeMs / 1000).toFixed(3);
  const item = document.createElement('li');
  item.dataset.detectionTime = time;
  item.dataset.label = label;
  item.textContent = `${time} s  ${label}  (score ${score.toFixed(2)})`;
  item.className = 'fresh';
  ui.detections.append(item);
  setTimeout(() => item.classList.remove('fresh'), FRESH_MS);
}

// The model of the --model_dir folder, compiled; its description from the server.
async function loadModel() {
  const description = await api('/api/live');
  ui.modelName.textContent = description.name;
  ui.modelAbout.textContent = description.kind === 'wakeword'
    ? 'wake word (wakeword.train)'
    : `keyword spotter (speech_commands.export_kws): ${description.labels.join(', ')}`;
  if (!litert) {
    try {
      litert = await import('@litertjs/core');
    } catch (error) {
      throw new Error('LiteRT.js did not load (run `make web`, which installs it with npm ci ' +
                      `into recorder/web): ${error.message}`);
    }
    await litert.loadLiteRt(WASM_DIR);
  }
  const compiled = await litert.loadAndCompile('/api/live/model.tflite', {accelerator: 'wasm'});
  return new Listener(new StreamingModel(compiled, description), description);
}

function microphoneProblem(error) {
  if (error.name === 'NotAllowedError' || error.name === 'SecurityError') {
    return 'Microphone permission denied: allow the microphone for this page (the icon in ' +
           'the address bar) and reload.';
  }
  if (error.name === 'NotFoundError') return 'No microphone found: connect one and reload.';
  return `Cannot open the microphone: ${error.message || error.name}`;
}

// Microphone -> 16 kHz context -> hop worklet -> the current listener.
async function startAudio(rate, hopSamples) {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    throw new Error('The microphone is only available on http://127.0.0.1 or HTTPS pages.');
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({audio: {
      channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  } catch (error) {
    throw new Error(microphoneProblem(error));
  }
  let context, source;
  try {
    context = new AudioContext({sampleRate: rate});
    source = context.createMediaStreamSource(stream);
  } catch (error) {
    throw new Error(`This browser cannot give ${rate} Hz audio, which the model takes ` +
                    `(${error.message || error.name}); try a current Chromium or Firefox.`);
  }
  if (context.sampleRate !== rate) {
    throw new Error(`This browser gives ${context.sampleRate} Hz audio, and the model takes ` +
                    `${rate} Hz; try a current Chromium or Firefox.`);
  }
  await context.audioWorklet.addModule('/static/hop-worklet.js');
  const hops = new AudioWorkletNode(context, 'hop-processor',
                                    {processorOptions: {hopSamples}});
  hops.port.onmessage = (event) => { if (listener) listener.push(event.data); };
  // A muted sink keeps the worklet pulled by the graph without playing the microphone back.
  const mute = context.createGain();
  mute.gain.value = 0;
  source.connect(hops).connect(mute).connect(context.destination);
  await context.resume();
  return context;
}

function listening() {
  document.body.dataset.liveReady = '1';
  setStatus('ok', `Listening (${listener.description.sample_rate} Hz, a model step every ` +
            `${listener.description.hop_samples} samples).`);
}

// Loads the model and, the first time, starts the microphone; after training, the new model
// takes over the running microphone.
async function start() {
  setStatus('info', 'Loading the model&hellip;');
  try {
    listener = await loadModel();
  } catch (error) {
    fail(error.message);
    return;
  }
  ui.detections.replaceChildren();
  if (audioStarted) {
    listening();
  } else {
    await listen();
  }
}

// The Train button (when recording with --model_dir): runs the trainer on the server and shows
// its output, then listens with what it exported.
async function initTraining() {
  const progress = await api('/api/train');
  if (!progress.available) return;
  ui.trainPanel.hidden = false;
  ui.trainModel.textContent = progress.model_dir;
  ui.train.addEventListener('click', async () => {
    ui.train.disabled = true;
    ui.trainLog.textContent = '';
    try {
      await api('/api/train', {method: 'POST', headers: {'X-Recorder': '1'}});
      await followTraining(0);
    } catch (error) {
      ui.trainLog.textContent += `${error.message}\n`;
    }
    ui.train.disabled = false;
  });
  if (progress.state === 'running') {
    ui.train.disabled = true;
    await followTraining(0);
    ui.train.disabled = false;
  }
}

async function followTraining(since) {
  document.body.dataset.training = 'running';
  let next = since;
  for (;;) {
    const progress = await api(`/api/train?from=${next}`);
    if (progress.lines.length) {
      ui.trainLog.textContent += progress.lines.join('\n') + '\n';
      ui.trainLog.scrollTop = ui.trainLog.scrollHeight;
    }
    next = progress.next;
    if (progress.state !== 'running') {
      document.body.dataset.training = progress.state;
      if (progress.state === 'done') await start();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, TRAIN_POLL_MS));
  }
}

async function listen() {
  let context;
  try {
    context = await startAudio(listener.description.sample_rate,
                               listener.description.hop_samples);
  } catch (error) {
    fail(error.message);
    return;
  }
  audioStarted = true;
  if (context.state === 'running') {
    listening();
    return;
  }
  // Browsers start audio only after a click on the page.
  setStatus('info', 'Press <b>Start listening</b>.');
  ui.start.hidden = false;
  ui.start.onclick = async () => {
    await context.resume();
    ui.start.hidden = true;
    listening();
  };
}

// For tests: what the page fed the model and what it got back (with ?keep_audio=1), all at
// one hop: {audio: base64 of little-endian float32 samples, scores: per hop, costs: ms per hop}.
window.earshotLive = {
  kept() {
    const kept = listener ? listener.kept : {audio: [], scores: [], costs: []};
    const hopBytes = kept.audio.length ? kept.audio[0].byteLength : 0;
    const bytes = new Uint8Array(kept.audio.length * hopBytes);
    kept.audio.forEach((hop, index) => bytes.set(new Uint8Array(hop.buffer), index * hopBytes));
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return {audio: btoa(binary), scores: kept.scores, costs: kept.costs};
  },
};

function init() {
  for (const [key, id] of Object.entries({
    modelName: 'model-name', modelAbout: 'model-about', plot: 'plot', now: 'now',
    start: 'start', status: 'status', cost: 'cost', detections: 'detections',
    trainPanel: 'train-panel', train: 'train', trainLog: 'train-log',
    trainModel: 'train-model'})) {
    ui[key] = $(id);
  }
  start();
  initTraining().catch((error) => { ui.trainLog.textContent = error.message; });
}

init();
