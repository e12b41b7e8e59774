"""recorder's live page: a model trained here runs in headless Chromium on a fake microphone.

The session trains a tiny wake-word head on the speech embedding ("hey jarvis", espeak-ng
voices, about 20 s), exports the streaming TFLite model as `wakeword.train` does, and writes
a WAV with the phrase twice (once by a voice it never heard). `python -m recorder --model_dir=DIR`
serves the live page; Chromium plays the WAV as its microphone, and the page runs the model
with LiteRT.js (WebAssembly) hop by hop.

Chromium's fake device resamples the WAV (16 kHz file, 48 kHz device, 16 kHz AudioContext),
so the page's samples are not the WAV's. So the page keeps what it fed the model
(`?keep_audio=1`), and the test checks two things: on those very samples the page's scores
equal the Python LiteRT runtime's (float32 rounding) and its detections equal what
`python -m wakeword.listen` prints; and the detections are the WAV's known events, one per
phrase, between its start and 0.5 s after its end. It also measures the model's cost per hop
in the page against the Python runtime's, and takes the screenshot of recorder/README.md.
Needs Debian's `chromium` and `chromium-driver`, pip `selenium`, and `make web` (LiteRT.js).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile

import numerics
from browser import CHROMEDRIVER, CHROMIUM, chromium_options
from earshot import audio, tts
from recorder import live_model, server as server_lib

RATE, HOP = 16000, 1280
PHRASE = "hey jarvis"
FILLERS = ("the weather is nice today", "hey there", "a jar of jam", "service please",
           "the harvest moon", "a quick brown fox")
WINDOW_SAMPLES = 31600  # the audio behind a hop's score: 16 embeddings, 1.975 s
SPOTTED = "jarvis"  # the keyword spotter's one word (it hears the whole phrase)
SPEECH_PEAK = 0.05  # a window louder than this holds speech: _unknown_, not _silence_
EVENT_TOLERANCE_S = 0.5  # a detection comes at most this long after its phrase ends
MAX_HOP_MS = 10.0  # the page keeps up with real time with room to spare: 10 ms per 80 ms hop
TIMEOUT_S = 60


# ---------------------------------------------------------------- a tiny wake-word model


def voiced(waveform: np.ndarray) -> np.ndarray:
    """`waveform` without the near-silence espeak-ng leaves around the words."""
    loud = np.flatnonzero(np.abs(waveform) > 0.02)
    return 0.6 * waveform[loud[0]:loud[-1] + 1]


def quiet_noise(rng: np.random.Generator, seconds: float) -> np.ndarray:
    return (0.003 * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


def labelled_windows(waveform: np.ndarray, phrase: tuple[int, int]):
    """The streaming models' windows of `waveform` (one per scored hop), their labels (1
    where the window holds the whole phrase, 0 where it holds less than half of it; the hops
    in between are left out) and the loudest sample of each window's audio."""
    import speech_embedding
    from speech_embedding import streaming as streaming_embedding
    from wakeword import model as model_lib
    embeddings = speech_embedding.embed(waveform)
    start, end = phrase
    half = (end - start) // 2
    hops, labels, peaks = [], [], []
    for hop in range(model_lib.FIRST_SCORED_HOP, waveform.size // HOP):
        window_end = (hop + 1) * HOP
        if end <= window_end <= start + WINDOW_SAMPLES - HOP:
            label = 1
        elif window_end < start + half or window_end - WINDOW_SAMPLES > end - half:
            label = 0
        else:
            continue
        hops.append(hop - streaming_embedding.WARMUP_HOPS)
        labels.append(label)
        peaks.append(np.abs(waveform[max(0, window_end - WINDOW_SAMPLES):window_end]).max())
    return (model_lib.windows(embeddings, np.array(hops)), np.array(labels, np.float32),
            np.array(peaks))


@pytest.fixture(scope="module")
def voices() -> list:
    return tts.speakers(8, seed=5)


@pytest.fixture(scope="module")
def training_windows(voices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows of the phrase and of other speech by six voices, as `labelled_windows`."""
    rng = np.random.default_rng(0)
    found = []
    for voice, filler in zip(voices, FILLERS):
        phrase = voiced(tts.speak(PHRASE, voice))
        parts = [quiet_noise(rng, 2.2), phrase, quiet_noise(rng, 1.5),
                 voiced(tts.speak(filler, voice)), quiet_noise(rng, 2.2)]
        start = parts[0].size
        found.append(labelled_windows(np.concatenate(parts), (start, start + phrase.size)))
    return tuple(np.concatenate(column) for column in zip(*found))


def fit(model, windows: np.ndarray, labels: np.ndarray, loss) -> None:
    """A few seconds of Adam on `windows`, the phrase's windows weighted up to balance."""
    import keras
    weights = {int(label): float(labels.size / np.sum(labels == label) / np.unique(labels).size)
               for label in np.unique(labels)}
    model.compile(keras.optimizers.Adam(1e-3), loss)
    model.fit(windows, labels, batch_size=64, epochs=40, verbose=0, class_weight=weights)


def microphone_wav(voices, second, path: str) -> tuple[str, list[tuple[float, float]], float]:
    """(path, phrase (start, end) seconds, length) of the fake microphone's WAV: the phrase by
    a training voice and by the voice `second`, other speech between."""
    rng = np.random.default_rng(1)
    parts = [quiet_noise(rng, 2.5), voiced(tts.speak(PHRASE, voices[0])), quiet_noise(rng, 2.0),
             voiced(tts.speak("the harvest is over", voices[7])), quiet_noise(rng, 2.0),
             voiced(tts.speak(PHRASE, second)), quiet_noise(rng, 2.5)]
    bounds = np.cumsum([0] + [part.size for part in parts]) / RATE
    audio.write_wav(path, np.concatenate(parts), RATE)
    return path, [tuple(bounds[1:3]), tuple(bounds[5:7])], bounds[-1]


@pytest.fixture(scope="module")
def wake_model(tmp_path_factory, voices, training_windows) -> dict:
    """A wake-word folder as `wakeword.train` writes it (streaming TFLite and manifest), and
    the microphone WAV."""
    import keras
    import speech_embedding
    from wakeword import model as model_lib, runtime
    windows, labels, _ = training_windows
    head = model_lib.build_head(seed=0)
    fit(head, windows, labels, keras.losses.BinaryCrossentropy(from_logits=True))
    folder = tmp_path_factory.mktemp("live") / "hey_jarvis"
    folder.mkdir()
    step = model_lib.streaming_step(speech_embedding.load(), head)
    (folder / runtime.MODEL_NAME).write_bytes(step.to_tflite())
    runtime.Manifest(PHRASE, 0.5, 1, 2.0, RATE, HOP, model_lib.FIRST_SCORED_HOP, 0.5).write(
        str(folder / runtime.MANIFEST_NAME))
    # The second phrase by a voice the model never heard.
    wav, events, seconds = microphone_wav(voices, voices[6], str(folder.parent / "microphone.wav"))
    return {"folder": str(folder), "wav": wav, "events": events, "seconds": seconds,
            "kind": "wakeword", "label": PHRASE}


@pytest.fixture(scope="module")
def spotter_model(tmp_path_factory, voices, training_windows) -> dict:
    """A keyword-spotter folder as `speech_commands.export_kws` writes it (streaming TFLite,
    timing, labels) for the word `jarvis`: the phrase's windows, other speech as _unknown_,
    quiet as _silence_."""
    import keras
    from speech_commands import (architectures, dataset, settings, spotter_runtime,
                                 streaming_spotter)
    windows, labels, peaks = training_windows
    config = settings.TrainConfig(model_architecture="embedding_head", wanted_words=SPOTTED)
    model_settings = architectures.settings_for(config)
    head = architectures.build_model(model_settings, "embedding_head")
    classes = np.where(labels == 1, 2, np.where(peaks > SPEECH_PEAK, 1, 0))
    fit(head, windows.reshape(len(windows), -1), classes,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    folder = tmp_path_factory.mktemp("live") / "jarvis"
    folder.mkdir()
    streaming_spotter.write_streaming_model(
        head, model_settings, str(folder / spotter_runtime.STREAMING_MODEL_NAME))
    (folder / dataset.TFLITE_LABELS_NAME).write_text(
        "\n".join(dataset.prepare_words_list([SPOTTED])) + "\n")
    # Both phrases by training voices: a spotter fitted in seconds misses others.
    wav, events, seconds = microphone_wav(voices, voices[1], str(folder.parent / "microphone.wav"))
    return {"folder": str(folder), "wav": wav, "events": events, "seconds": seconds,
            "kind": "keywords", "label": SPOTTED}


# ---------------------------------------------------------------- the server and the browser


class LiveProcess:
    """`python -m recorder --model_dir=DIR --port=0`, its log collected on a thread."""

    def __init__(self, *flags: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "recorder", "--port=0", *flags], stderr=subprocess.PIPE,
            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.log: list[str] = []
        found = threading.Event()

        def collect():
            for line in self.process.stderr:
                self.log.append(line)
                if "Live page:" in line:
                    found.set()
        threading.Thread(target=collect, daemon=True).start()
        if not found.wait(TIMEOUT_S):
            self.process.kill()
            pytest.fail("the recorder did not start:\n" + "".join(self.log))
        self.url = re.search(r"Live page: (\S+)", "".join(self.log))[1]

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(30) == 0, "".join(self.log)
        return "".join(self.log)


def chromium(microphone: str, profile: str):
    """Headless Chromium (tests/browser.py's flags) whose microphone plays `microphone`
    once: Chromium's `%noloop` suffix stops it from starting over."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    for program in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(program):
            pytest.fail(f"{program} is missing: apt-get install -y chromium chromium-driver")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                              options=chromium_options(microphone + "%noloop", profile))
    driver.set_window_size(860, 640)
    return driver


def wait_for(driver, script: str, timeout: float = TIMEOUT_S):
    """The value of `script` once it is truthy."""
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(script))


def page_text(driver, element_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{element_id}').textContent")


def detections(driver) -> list[tuple[str, str, str]]:
    """(data-detection-time, data-label, text) of each detection the page lists."""
    return [tuple(row) for row in driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-detection-time]')).map("
        "e => [e.dataset.detectionTime, e.dataset.label, e.textContent])")]


def open_with(driver, url: str, script: str) -> None:
    """Loads `url` with `script` run before the page's own (a browser that refuses
    something), then forgets the script."""
    added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})
    driver.get(url)
    driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                           {"identifier": added["identifier"]})


# The page's message once it shows an error.
ERROR_SHOWN = ("const status = document.getElementById('status');"
               "return status && status.dataset.kind === 'error' && status.textContent;")
DENY_MICROPHONE = ("navigator.mediaDevices.getUserMedia = () => Promise.reject("
                   "new DOMException('Permission denied', 'NotAllowedError'));")
REFUSE_16K = ("window.AudioContext = class extends AudioContext { constructor(options) {"
              "super(); throw new DOMException('sample rate 16000 is not supported', "
              "'NotSupportedError'); } };")


def through_page(model: dict, root, check_messages: bool = False) -> dict:
    """The model's WAV through the live page: detections, the samples fed to the model, its
    scores and cost per hop, and a screenshot just after the first detection. With
    `check_messages`, then the page's messages on the same server for a missing manifest, a
    missing folder, a refused microphone and a refused sample rate."""
    process = LiveProcess(f"--model_dir={model['folder']}")
    driver = chromium(model["wav"], str(root / "profile"))
    run = {"screenshot": str(root / "live.png")}
    try:
        driver.get(process.url + "?keep_audio=1")
        wait_for(driver, "return document.body.dataset.liveReady === '1'")
        run["status"] = page_text(driver, "status")
        wait_for(driver, "return document.querySelector('[data-detection-time]')")
        time.sleep(0.4)  # the score's peak on the plot
        driver.save_screenshot(run["screenshot"])
        # The whole WAV, and the silence after it for as long as a detection may lag.
        hops = int((model["seconds"] + EVENT_TOLERANCE_S) * RATE) // HOP + 1
        wait_for(driver, f"return Number(document.body.dataset.hops) >= {hops}", 3 * TIMEOUT_S)
        run["detections"] = detections(driver)
        kept = driver.execute_script("return window.earshotLive.kept()")
        run["audio"] = np.frombuffer(base64.b64decode(kept["audio"]), "<f4")
        run["scores"] = np.array(kept["scores"], np.float32)
        run["costs"] = np.array(kept["costs"])
        run["cost_text"] = page_text(driver, "cost")
        if check_messages:
            run.update(page_messages(driver, process.url, model["folder"]))
    finally:
        driver.quit()
        process.stop()
    return run


def page_messages(driver, url: str, folder: str) -> dict[str, str]:
    """What the page says when the folder lost its manifest, when the folder is gone, when
    the microphone is refused, and when 16 kHz audio is refused."""
    said = {}
    manifest = os.path.join(folder, live_model.WAKEWORD_MANIFEST)
    for case, moved in (("no_manifest", manifest), ("no_folder", folder)):
        os.rename(moved, moved + ".away")
        try:
            driver.get(url)
            said[case] = wait_for(driver, ERROR_SHOWN)
        finally:
            os.rename(moved + ".away", moved)
    for case, script in (("denied", DENY_MICROPHONE), ("rate", REFUSE_16K)):
        open_with(driver, url, script)
        said[case] = wait_for(driver, ERROR_SHOWN)
        said[case + "_ready"] = driver.execute_script("return document.body.dataset.liveReady")
    return said


@pytest.fixture(scope="module")
def wake_run(wake_model, tmp_path_factory) -> dict:
    return through_page(wake_model, tmp_path_factory.mktemp("wake_browser"), check_messages=True)


@pytest.fixture(scope="module")
def spotter_run(spotter_model, tmp_path_factory) -> dict:
    return through_page(spotter_model, tmp_path_factory.mktemp("spotter_browser"))


def python_listener(model: dict, samples: np.ndarray, path: str) -> tuple[np.ndarray, list[str],
                                                                          float]:
    """(per-hop scores, printed lines, ms per hop) of the Python LiteRT runtime on `samples`:
    the scores and the timing in this process, the lines from the model's `listen` tool."""
    if model["kind"] == "wakeword":
        from wakeword import runtime
        stream, output = runtime.WakeWordStream(model["folder"], num_threads=1), runtime.SCORE
        tool = "wakeword.listen"
    else:
        from speech_commands import spotter_runtime
        stream = spotter_runtime.SpotterStream(
            spotter_runtime.model_paths(model["folder"])[0], num_threads=1)
        output, tool = spotter_runtime.SCORES, "speech_commands.listen"
    stream.run_hop(samples[:HOP])  # the first call allocates; time the steady state
    stream.reset()
    hops = [samples[i:i + HOP] for i in range(0, samples.size - HOP + 1, HOP)]
    start = time.perf_counter()
    scores = np.array([stream.run_hop(hop)[output] for hop in hops], np.float32)
    per_hop_ms = 1000 * (time.perf_counter() - start) / len(hops)
    soundfile.write(path, samples, RATE, subtype="FLOAT")
    result = subprocess.run([sys.executable, "-m", tool, f"--model_dir={model['folder']}",
                             f"--input={path}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return scores, result.stdout.splitlines(), per_hop_ms


def offset_in_wav(fed: np.ndarray, wav: np.ndarray) -> float:
    """Seconds into the WAV at which the page's first sample was played (the page starts
    listening a moment after the fake device starts playing)."""
    size = fed.size + wav.size
    correlation = np.fft.irfft(np.fft.rfft(wav, size) * np.conj(np.fft.rfft(fed, size)), size)
    lag = int(np.argmax(correlation))
    return (lag if lag < wav.size else lag - size) / RATE


def model_terms(model: dict) -> int:
    """Roundings behind one score: the speech embedding's front end and convolutions, then
    the head (`tests/numerics.py`)."""
    import speech_embedding
    from speech_commands import architectures, settings
    from wakeword import model as model_lib
    if model["kind"] == "wakeword":
        head = model_lib.build_head()
    else:
        config = settings.TrainConfig(model_architecture="embedding_head", wanted_words=SPOTTED)
        head = architectures.build_model(architectures.settings_for(config), "embedding_head")
    return (numerics.network_terms(speech_embedding.load()) + numerics.LOG_MEL_TERMS
            + numerics.network_terms(head))


# ---------------------------------------------------------------- the checks of a run


def check_like_python(run: dict, model: dict, folder, capsys) -> None:
    """The page's scores and detections on the samples it fed the model, against the
    Python runtime and listener on the same samples; the cost per hop of both, printed."""
    fed = run["audio"]
    assert fed.size == run["scores"].shape[0] * HOP > model["seconds"] * RATE
    scores, lines, python_ms = python_listener(model, fed, str(folder / "fed.wav"))
    page = run["scores"].reshape(scores.shape)
    # The same model on the same samples, on LiteRT's WebAssembly and native kernels.
    numerics.assert_float32_rounding(page, scores, terms=model_terms(model),
                                     scale=numerics.logit_scale(scores[scores > 0]),
                                     what="page and Python scores")
    assert np.abs(page - scores).max() < 1e-4
    # The same detections, stamped and printed alike.
    assert run["detections"] and [text for _, _, text in run["detections"]] == [
        line.strip() for line in lines]
    assert [time_s for time_s, _, _ in run["detections"]] == [line.split()[0] for line in lines]
    page_ms = float(np.mean(run["costs"]))
    with capsys.disabled():
        print(f"\n{model['kind']}, per 80 ms hop: LiteRT.js in headless Chromium (WebAssembly, "
              f"1 thread) {page_ms:.2f} ms (median {np.median(run['costs']):.2f}, "
              f"{run['costs'].size} hops); Python LiteRT (1 thread) {python_ms:.2f} ms")
    assert page_ms <= MAX_HOP_MS
    assert re.fullmatch(r"LiteRT\.js \(WebAssembly, 1 thread\): \d+\.\d\d ms of model per 80 ms "
                        r"hop, mean of \d+ hops", run["cost_text"]), run["cost_text"]


def check_known_events(run: dict, model: dict) -> None:
    """One detection of the model's word per phrase of the WAV, within 0.5 s of it (a
    keyword spotter's `_unknown_` commands, printed by its listener too, are not words)."""
    offset = offset_in_wav(run["audio"], audio.load(model["wav"], RATE))
    assert abs(offset) < 1.0, offset
    times = [float(time_s) + offset for time_s, label, _ in run["detections"]
             if label == model["label"]]
    assert len(times) == len(model["events"]), (run["detections"], offset, model["events"])
    for found, (start, end) in zip(times, model["events"]):
        assert start - EVENT_TOLERANCE_S <= found <= end + EVENT_TOLERANCE_S, (found, start, end)
    assert {label for _, label, _ in run["detections"]} <= {model["label"], "_unknown_"}
    with open(run["screenshot"], "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    assert run["status"].startswith("Listening (16000 Hz")


# ---------------------------------------------------------------- the tests


@pytest.mark.numerics
def test_wake_word_page_detects_like_the_python_listener(wake_run, wake_model, tmp_path,
                                                         capsys):
    check_like_python(wake_run, wake_model, tmp_path, capsys)


def test_wake_word_page_detects_the_known_events(wake_run, wake_model):
    check_known_events(wake_run, wake_model)


def test_wake_word_page_says_what_is_wrong(wake_run, wake_model):
    folder = wake_model["folder"]
    assert wake_run["no_manifest"].startswith(f"{folder}: no manifest.json")
    assert wake_run["no_folder"] == f"{folder}: no such folder; {live_model.ABOUT}"
    assert wake_run["denied"].startswith("Microphone permission denied")
    assert wake_run["rate"].startswith("This browser cannot give 16000 Hz audio")
    assert wake_run["denied_ready"] == wake_run["rate_ready"] == "0"


@pytest.mark.slow
@pytest.mark.numerics
def test_keyword_page_detects_like_the_python_listener(spotter_run, spotter_model, tmp_path,
                                                       capsys):
    check_like_python(spotter_run, spotter_model, tmp_path, capsys)


@pytest.mark.slow
def test_keyword_page_detects_the_known_events(spotter_run, spotter_model):
    check_known_events(spotter_run, spotter_model)


# ---------------------------------------------------------------- the server, without a browser


class Serving:
    """The recorder's server on a free 127.0.0.1 port, on a thread."""

    def __init__(self, model_dir: str | None, config=None):
        self.server = server_lib.make_server(config, "127.0.0.1", 0, model_dir=model_dir)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def get(self, path: str, method: str = "GET", headers=None) -> tuple[int, bytes, str]:
        connection = http.client.HTTPConnection(*self.server.server_address[:2], timeout=30)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read(), response.getheader("Content-Type", "")
        finally:
            connection.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_server_serves_the_model_and_litert_and_nothing_else(wake_model):
    serving = Serving(wake_model["folder"])
    try:
        status, body, kind = serving.get("/api/live")
        assert (status, kind) == (200, "application/json")
        assert json.loads(body) == live_model.read(wake_model["folder"]).description()
        status, body, _ = serving.get("/api/live/model.tflite")
        with open(os.path.join(wake_model["folder"], "wakeword.tflite"), "rb") as model:
            assert status == 200 and body == model.read()
        status, body, kind = serving.get("/vendor/@litertjs/core/wasm/litert_wasm_internal.wasm")
        assert (status, kind, body[:4]) == (200, "application/wasm", b"\0asm")
        for page in ("/", "/live"):
            status, body, _ = serving.get(page)
            assert status == 200 and b"/static/live.js" in body, page
        refused = {path: serving.get(path)[0] for path in (
            "/vendor/@litertjs/core/package.json", "/vendor/@litertjs/core/../../package.json",
            "/vendor/@litertjs/core/wasm/%2e%2e/%2e%2e/package.json", "/vendor/other/x.js",
            "/api/state")}
        assert refused == dict.fromkeys(refused, 404), refused
        status, body, _ = serving.get("/api/train", "POST", {"X-Recorder": "1"})
        assert status == 404 and b"not recording" in body
    finally:
        serving.close()


def test_model_folders_that_cannot_run_are_named(tmp_path, wake_model):
    def problem(folder) -> str:
        with pytest.raises(live_model.ModelFolderError) as error:
            live_model.read(str(folder))
        return str(error.value)

    assert problem(tmp_path / "none") == f"{tmp_path / 'none'}: no such folder; {live_model.ABOUT}"
    assert "no manifest.json (a wake word) and no streaming_kws.tflite" in problem(tmp_path)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json")
    assert "unreadable manifest" in problem(folder)
    with open(os.path.join(wake_model["folder"], "manifest.json")) as manifest:
        fields = json.load(manifest)
    (folder / "manifest.json").write_text(json.dumps({**fields, "threshold": "high"}))
    assert problem(folder).endswith("not a wake-word manifest (missing or wrong: threshold)")
    (folder / "manifest.json").write_text(json.dumps(fields))
    (folder / "wakeword.tflite").write_bytes(b"\0junk" * 9)
    assert problem(folder).startswith(f"{folder / 'wakeword.tflite'}: not a streaming model")


# ---------------------------------------------------------------- record, train, try


@pytest.mark.slow
def test_live_page_trains_on_the_recordings_and_listens(tmp_path, voices):
    """The loop from one command: clips recorded into --output_dir (written here as the
    recording page writes them), the live page's Train button, its progress, then listening
    with the exported spotter on the same page."""
    from recorder import dataset
    config = dataset.RecorderConfig(output_dir=str(tmp_path / "words"), words=("yes", "no"),
                                    speaker="tester")
    recorded = dataset.Dataset(config)
    for voice in voices[:4]:
        for word in config.words:
            recorded.save(word, np.pad(voiced(tts.speak(word, voice)), (2000, 0))[:RATE])
    model_dir = str(tmp_path / "model")
    process = LiveProcess(f"--output_dir={config.output_dir}", "--words=yes,no",
                          "--speaker=tester", f"--model_dir={model_dir}")
    microphone = str(tmp_path / "microphone.wav")
    audio.write_wav(microphone, quiet_noise(np.random.default_rng(2), 3.0), RATE)
    driver = chromium(microphone, str(tmp_path / "profile"))
    try:
        driver.get(process.url)
        before = wait_for(driver, ERROR_SHOWN)
        wait_for(driver, "return !document.getElementById('train-panel').hidden")
        driver.find_element("id", "train").click()
        state = wait_for(driver, "const s = document.body.dataset.training;"
                                 "return s && s !== 'running' && s", 900)
        log = page_text(driver, "train-log")
        wait_for(driver, "return document.body.dataset.liveReady === '1'")
        title = page_text(driver, "model-name")
        wait_for(driver, "return Number(document.body.dataset.hops) > 30")
    finally:
        driver.quit()
        process.stop()
    assert before.startswith(f"{model_dir}: no such folder")
    assert state == "done", log[-3000:]
    assert "$ python -m speech_commands.train --data_dir=" in log
    assert "$ python -m speech_commands.export_kws" in log
    assert log.rstrip().endswith("trained and exported: listening with the new model")
    assert title == "yes, no"
    assert live_model.read(model_dir).path == os.path.join(model_dir, "export",
                                                           "streaming_kws.tflite")
