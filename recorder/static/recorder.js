// The recorder page: captures raw microphone PCM, posts takes to the server, shows progress.
//
// Audio path: getUserMedia (browser processing off, so takes are raw) -> AudioWorklet
// (hop-worklet.js, mono float32 blocks) -> this thread, which feeds the level meter and,
// while a take runs, collects exactly `seconds * sampleRate` samples and posts them as
// little-endian float32 to /api/take. The server resamples, trims and writes the WAV.
'use strict';

const METER_FLOOR_DB = -60;   // left end of the level meter
const METER_DECAY_DB = 1.5;   // fall per animation frame, so short peaks stay visible
const CAPTURE_BLOCK = 2048;   // samples per message from the audio thread

const ui = {};
let state = null;        // last /api/state answer
let currentWord = null;  // word the page prompts
let audioContext = null;
let take = null;         // {word, chunks, collected, needed, resolve} while recording
let levelDb = -Infinity; // loudest block since the last meter frame
let shownDb = METER_FLOOR_DB;
let actionsDone = 0;     // finished takes and discards, exposed for scripted clients

function $(id) { return document.getElementById(id); }

function setPageState(name) {
  document.body.dataset.state = name;
  const ready = name === 'ready';
  ui.record.disabled = !ready;
  ui.background.disabled = !ready;
  ui.discard.disabled = !ready || !(state && state.last_take);
}

function finishAction() {
  document.body.dataset.actions = String(++actionsDone);
  setPageState('ready');
}

function setStatus(kind, html) {
  ui.status.dataset.kind = kind;
  ui.status.innerHTML = html;
}

function escapeHtml(text) {
  const span = document.createElement('span');
  span.textContent = text;
  return span.innerHTML;
}

function isBackground(word) { return state && word === state.background_dir; }

function nextWord(after) {
  // The word with the fewest takes of this speaker; ties go to the one after `after` in order.
  const words = state.words;
  const start = (words.indexOf(after) + 1) % words.length;
  let best = null;
  for (let i = 0; i < words.length; i++) {
    const word = words[(start + i) % words.length];
    if (best === null || state.counts[word].speaker < state.counts[best].speaker) best = word;
  }
  return best;
}

function render() {
  ui.speaker.textContent = `${state.speaker} (${state.split} split)`;
  ui.outputDir.textContent = state.output_dir;
  ui.promptWord.textContent = currentWord;
  const rows = state.words.map((word) => {
    const count = state.counts[word];
    const classes = [word === currentWord ? 'current' : '',
                     count.speaker >= state.takes_per_word ? 'done' : ''].join(' ');
    return `<tr data-word="${escapeHtml(word)}" class="${classes}">` +
      `<td>${escapeHtml(word)}</td><td class="count">${count.speaker}</td>` +
      `<td class="total">${count.total}</td><td><progress max="${state.takes_per_word}" ` +
      `value="${Math.min(count.speaker, state.takes_per_word)}"></progress></td></tr>`;
  });
  const background = state.counts[state.background_dir];
  rows.push(`<tr data-folder="${escapeHtml(state.background_dir)}"><td>background noise</td>` +
            `<td class="count">${background.speaker}</td><td class="total">${background.total}` +
            '</td><td></td></tr>');
  ui.counts.innerHTML = rows.join('');
  ui.trainCommand.textContent = state.train_command;
  ui.trainNote.textContent = state.train_note;
  if (state.last_take) {
    ui.lastTake.hidden = false;
    ui.lastTakeLink.textContent = state.last_take;
    ui.lastTakeLink.href = ui.lastTakeAudio.src = `/takes/${state.last_take}`;
  } else {
    ui.lastTake.hidden = true;
  }
}

function allDone() {
  return state.words.every((word) => state.counts[word].speaker >= state.takes_per_word);
}

async function refreshState() {
  state = await api('/api/state');
  if (!currentWord) currentWord = nextWord(state.words[state.words.length - 1]);
  render();
}

function onAudioBlock(block) {
  let peak = 0;
  for (let i = 0; i < block.length; i++) peak = Math.max(peak, Math.abs(block[i]));
  levelDb = Math.max(levelDb, 20 * Math.log10(Math.max(peak, 1e-6)));
  if (!take) return;
  const wanted = Math.min(block.length, take.needed - take.collected);
  take.chunks.push(block.slice(0, wanted));
  take.collected += wanted;
  ui.progressBar.style.width = `${100 * take.collected / take.needed}%`;
  if (take.collected >= take.needed) {
    const finished = take;
    take = null;
    finished.resolve(finished);
  }
}

function drawMeter() {
  shownDb = Math.max(levelDb, shownDb - METER_DECAY_DB, METER_FLOOR_DB);
  levelDb = -Infinity;
  const fraction = (shownDb - METER_FLOOR_DB) / -METER_FLOOR_DB;
  ui.meterBar.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  ui.meterText.textContent = shownDb <= METER_FLOOR_DB ? `below ${METER_FLOOR_DB} dBFS`
                                                        : `${shownDb.toFixed(0)} dBFS peak`;
  requestAnimationFrame(drawMeter);
}

async function startMicrophone() {
  ui.start.disabled = true;
  if (!window.isSecureContext || !navigator.mediaDevices) {
    setStatus('error', 'The microphone is only available on http://127.0.0.1 or HTTPS pages.');
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({audio: {
      channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
    audioContext = new AudioContext();
    await audioContext.audioWorklet.addModule('/static/hop-worklet.js');
    const source = audioContext.createMediaStreamSource(stream);
    const capture = new AudioWorkletNode(audioContext, 'hop-processor',
                                         {processorOptions: {hopSamples: CAPTURE_BLOCK}});
    capture.port.onmessage = (event) => onAudioBlock(event.data);
    // A muted sink keeps the worklet pulled by the graph without playing the microphone back.
    const mute = audioContext.createGain();
    mute.gain.value = 0;
    source.connect(capture).connect(mute).connect(audioContext.destination);
    await audioContext.resume();
  } catch (error) {
    ui.start.disabled = false;
    setStatus('error', `Cannot open the microphone: ${escapeHtml(error.message || error.name)}`);
    return;
  }
  ui.start.hidden = true;
  requestAnimationFrame(drawMeter);
  setPageState('ready');
  setStatus('info', `Microphone on (${audioContext.sampleRate} Hz). Press <b>Record</b> ` +
            '(or Space) and say the word.');
}

function capture(word, seconds) {
  return new Promise((resolve) => {
    take = {word, chunks: [], collected: 0, needed: Math.round(seconds * audioContext.sampleRate),
            resolve};
  });
}

async function recordTake(word) {
  const background = isBackground(word);
  const seconds = background ? state.background_seconds : state.record_seconds;
  setPageState('recording');
  setStatus('info', background ? `Recording ${seconds} s of background: stay quiet&hellip;`
                               : `Recording&hellip; say <b>${escapeHtml(word)}</b>`);
  const finished = await capture(word, seconds);
  ui.progressBar.style.width = '0';
  setPageState('uploading');
  const samples = new Float32Array(finished.collected);
  let offset = 0;
  for (const chunk of finished.chunks) {
    samples.set(chunk, offset);
    offset += chunk.length;
  }
  const query = new URLSearchParams({word, rate: String(audioContext.sampleRate)});
  try {
    const answer = await api(`/api/take?${query}`, {
      method: 'POST', headers: {'Content-Type': 'application/octet-stream', 'X-Recorder': '1'},
      body: samples.buffer});
    state = answer.state;
    let message = `Saved <code>${escapeHtml(answer.saved)}</code> ` +
                  `(loudest 30 ms at ${answer.level_db.toFixed(0)} dBFS).`;
    if (answer.warnings.length) {
      message += '<br>' + answer.warnings.map(escapeHtml).join('<br>');
    }
    if (allDone()) {
      message += `<br>Every word has ${state.takes_per_word} takes: train with the command ` +
                 'below, or keep recording.';
    }
    if (!background) currentWord = nextWord(word);
    render();
    setStatus(answer.warnings.length ? 'warning' : 'ok', message);
  } catch (error) {
    setStatus('error', `Not saved: ${escapeHtml(error.message)}`);
  }
  finishAction();
}

async function discardLast() {
  setPageState('uploading');
  try {
    const answer = await api('/api/discard', {method: 'POST', headers: {'X-Recorder': '1'}});
    state = answer.state;
    const folder = answer.discarded.split('/')[0];
    if (!isBackground(folder)) currentWord = folder;
    render();
    setStatus('ok', `Discarded <code>${escapeHtml(answer.discarded)}</code>: ` +
              'record it again.');
  } catch (error) {
    setStatus('error', escapeHtml(error.message));
  }
  finishAction();
}

function init() {
  for (const [key, id] of Object.entries({
    speaker: 'speaker', outputDir: 'output-dir', promptWord: 'prompt-word',
    meterBar: 'meter-bar', meterText: 'meter-text', progressBar: 'progress-bar',
    start: 'start', record: 'record', discard: 'discard', background: 'background',
    status: 'status', lastTake: 'last-take', lastTakeLink: 'last-take-link',
    lastTakeAudio: 'last-take-audio', counts: 'counts', trainCommand: 'train-command',
    trainNote: 'train-note', copyCommand: 'copy-command'})) {
    ui[key] = $(id);
  }
  ui.counts = ui.counts.querySelector('tbody');
  ui.start.addEventListener('click', startMicrophone);
  ui.record.addEventListener('click', () => recordTake(currentWord));
  ui.background.addEventListener('click', () => recordTake(state.background_dir));
  ui.discard.addEventListener('click', discardLast);
  ui.copyCommand.addEventListener('click', () => {
    navigator.clipboard.writeText(state.train_command).then(
      () => setStatus('ok', 'Command copied.'),
      () => setStatus('error', 'Copying was refused: select the command by hand.'));
  });
  ui.counts.addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-word]');
    if (!row || document.body.dataset.state === 'recording') return;
    currentWord = row.dataset.word;
    render();
  });
  document.addEventListener('keydown', (event) => {
    if (document.body.dataset.state !== 'ready' || event.repeat) return;
    if (event.code === 'Space') {
      event.preventDefault();
      recordTake(currentWord);
    } else if (event.code === 'Backspace' && !ui.discard.disabled) {
      event.preventDefault();
      discardLast();
    }
  });
  refreshState().then(() => setPageState('idle'),
                      (error) => setStatus('error', `Cannot reach the recorder: ${error.message}`));
  // With --model_dir, the live page trains on this folder and listens with the result.
  api('/api/train').then((progress) => { $('live-link').hidden = !progress.available; },
                         () => {});
}

init();
