"""recorder's live page: a model trained here runs in headless Chromium on a fake microphone.

The session trains a tiny wake-word head on the speech embedding ("hey jarvis", espeak-ng
voices, about 20 s), exports the streaming TFLite model as `wakeword.train` does, and writes
a WAV with the phrase twice (once by a voice it never heard). `python -m recorder --model=DIR`
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
    """The streaming model's windows of `waveform` (one per scored hop) and their labels: 1
    where the window holds the whole phrase, 0 where it holds less than half of it; the hops
    in between are left out."""
    import speech_embedding
    from speech_embedding import streaming as streaming_embedding
    from wakeword import model as model_lib
    embeddings = speech_embedding.embed(waveform)
    start, end = phrase
    half = (end - start) // 2
    hops, labels = [], []
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
    return model_lib.windows(embeddings, np.array(hops)), np.array(labels, np.float32)


def train_head(voices) -> "keras.Model":
    """The wake-word head fitted on the phrase and other speech of `voices` (a few seconds)."""
    import keras
    from wakeword import model as model_lib
    rng = np.random.default_rng(0)
    windows, labels = [], []
    for voice, filler in zip(voices, FILLERS):
        phrase = voiced(tts.speak(PHRASE, voice))
        parts = [quiet_noise(rng, 2.2), phrase, quiet_noise(rng, 1.5),
                 voiced(tts.speak(filler, voice)), quiet_noise(rng, 2.2)]
        start = parts[0].size
        found = labelled_windows(np.concatenate(parts), (start, start + phrase.size))
        windows.append(found[0])
        labels.append(found[1])
    windows, labels = np.concatenate(windows), np.concatenate(labels)
    head = model_lib.build_head(seed=0)
    head.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    head.fit(windows, labels, batch_size=64, epochs=40, verbose=0,
             class_weight={0: 1.0, 1: float(np.sum(labels == 0) / np.sum(labels == 1))})
    return head


@pytest.fixture(scope="module")
def wake_model(tmp_path_factory) -> dict:
    """A wake-word folder as `wakeword.train` writes it (streaming TFLite and manifest), and
    a microphone WAV with the phrase at known times."""
    import speech_embedding
    from wakeword import model as model_lib, runtime
    voices = tts.speakers(8, seed=5)
    head = train_head(voices[:len(FILLERS)])
    folder = tmp_path_factory.mktemp("live") / "hey_jarvis"
    folder.mkdir()
    step = model_lib.WakeWordStep(speech_embedding.load(), head)
    (folder / runtime.MODEL_NAME).write_bytes(step.to_tflite())
    runtime.Manifest(PHRASE, 0.5, 1, 2.0, RATE, HOP, model_lib.FIRST_SCORED_HOP, 0.5).write(
        str(folder / runtime.MANIFEST_NAME))
    # The phrase by a training voice and by one it never heard, other speech between.
    rng = np.random.default_rng(1)
    parts = [quiet_noise(rng, 2.5), voiced(tts.speak(PHRASE, voices[0])), quiet_noise(rng, 2.0),
             voiced(tts.speak("the harvest is over", voices[7])), quiet_noise(rng, 2.0),
             voiced(tts.speak(PHRASE, voices[6])), quiet_noise(rng, 2.5)]
    bounds = np.cumsum([0] + [part.size for part in parts]) / RATE
    wav = str(folder.parent / "microphone.wav")
    audio.write_wav(wav, np.concatenate(parts), RATE)
    return {"folder": str(folder), "wav": wav, "events": [tuple(bounds[1:3]), tuple(bounds[5:7])],
            "seconds": bounds[-1]}


# ---------------------------------------------------------------- the server and the browser


class LiveProcess:
    """`python -m recorder --model=DIR --port=0`, its log collected on a thread."""

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


@pytest.fixture(scope="module")
def live_run(wake_model, tmp_path_factory) -> dict:
    """The WAV through the live page; then, on the same server, the page's messages for a
    missing manifest, a missing folder, a refused microphone and a refused sample rate."""
    root = tmp_path_factory.mktemp("live_browser")
    process = LiveProcess(f"--model={wake_model['folder']}")
    driver = chromium(wake_model["wav"], str(root / "profile"))
    run = {"screenshot": str(root / "live.png")}
    try:
        started = time.monotonic()
        driver.get(process.url + "?keep_audio=1")
        wait_for(driver, "return document.body.dataset.liveReady === '1'")
        run["ready_seconds"] = time.monotonic() - started
        wait_for(driver, "return document.querySelector('[data-detection-time]')")
        driver.save_screenshot(run["screenshot"])
        # The whole WAV, and half a second of the silence after it.
        hops = int((wake_model["seconds"] + EVENT_TOLERANCE_S) * RATE) // HOP + 1
        wait_for(driver, f"return Number(document.body.dataset.hops) >= {hops}", 3 * TIMEOUT_S)
        run["detections"] = detections(driver)
        kept = driver.execute_script("return window.earshotLive.kept()")
        run["audio"] = np.frombuffer(base64.b64decode(kept["audio"]), "<f4")
        run["scores"] = np.array(kept["scores"], np.float32)
        run["costs"] = np.array(kept["costs"])
        run["cost_text"] = page_text(driver, "cost")
        run["status"] = page_text(driver, "status")
        manifest = os.path.join(wake_model["folder"], live_model.WAKEWORD_MANIFEST)
        os.rename(manifest, manifest + ".away")
        driver.get(process.url)
        run["no_manifest"] = wait_for(driver, ERROR_SHOWN)
        os.rename(manifest + ".away", manifest)
        moved = wake_model["folder"] + ".moved"
        os.rename(wake_model["folder"], moved)
        driver.get(process.url)
        run["no_folder"] = wait_for(driver, ERROR_SHOWN)
        os.rename(moved, wake_model["folder"])
        for case, script in (("denied", DENY_MICROPHONE), ("rate", REFUSE_16K)):
            open_with(driver, process.url, script)
            run[case] = wait_for(driver, ERROR_SHOWN)
            run[case + "_ready"] = driver.execute_script("return document.body.dataset.liveReady")
    finally:
        driver.quit()
        run["log"] = process.stop()
    return run


def python_listener(folder: str, samples: np.ndarray, path: str) -> tuple[np.ndarray, list[str],
                                                                          float]:
    """(per-hop scores, printed lines, ms per hop) of the Python LiteRT runtime on `samples`:
    the scores and the timing in this process, the lines from `python -m wakeword.listen`."""
    from wakeword import runtime
    stream = runtime.WakeWordStream(folder, num_threads=1)
    stream.push(samples[:HOP])  # the first call allocates; time the steady state
    stream.reset()
    hops = [samples[i:i + HOP] for i in range(0, samples.size - HOP + 1, HOP)]
    start = time.perf_counter()
    scores = np.array([stream.run_hop(hop)[runtime.SCORE][0] for hop in hops], np.float32)
    per_hop_ms = 1000 * (time.perf_counter() - start) / len(hops)
    soundfile.write(path, samples, RATE, subtype="FLOAT")
    result = subprocess.run([sys.executable, "-m", "wakeword.listen", f"--model={folder}",
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


# ---------------------------------------------------------------- the tests


@pytest.mark.numerics
def test_live_page_detects_like_the_python_listener(live_run, wake_model, tmp_path, capsys):
    fed = live_run["audio"]
    assert fed.size == live_run["scores"].shape[0] * HOP > wake_model["seconds"] * RATE
    scores, lines, python_ms = python_listener(wake_model["folder"], fed,
                                               str(tmp_path / "fed.wav"))
    # The same model on the same samples, on LiteRT's WebAssembly and native kernels.
    numerics.assert_float32_rounding(
        live_run["scores"][:, 0], scores, terms=wake_model_terms(wake_model),
        scale=numerics.logit_scale(scores[scores > 0]), what="page and Python scores")
    assert np.abs(live_run["scores"][:, 0] - scores).max() < 1e-4
    # The same detections, stamped and printed alike.
    assert [text for _, _, text in live_run["detections"]] == [line.strip() for line in lines]
    assert [time_s for time_s, _, _ in live_run["detections"]] == [
        line.split()[0] for line in lines]
    assert {label for _, label, _ in live_run["detections"]} == {PHRASE}
    page_ms = float(np.mean(live_run["costs"]))
    with capsys.disabled():
        print(f"\nper 80 ms hop, {wake_model['folder']}: LiteRT.js in Chromium (WebAssembly, "
              f"1 thread) {page_ms:.2f} ms (median {np.median(live_run['costs']):.2f}, "
              f"{live_run['costs'].size} hops); Python LiteRT (1 thread) {python_ms:.2f} ms")
    assert page_ms <= MAX_HOP_MS
    assert re.fullmatch(r"LiteRT\.js \(WebAssembly, 1 thread\): \d+\.\d\d ms of model per 80 ms "
                        r"hop, mean of \d+ hops", live_run["cost_text"]), live_run["cost_text"]


def wake_model_terms(wake_model: dict) -> int:
    """Roundings behind one score: the speech embedding's front end and convolutions, then
    the head (`tests/numerics.py`)."""
    import speech_embedding
    from wakeword import model as model_lib
    return (numerics.network_terms(speech_embedding.load()) + numerics.LOG_MEL_TERMS
            + numerics.network_terms(model_lib.build_head()))


def test_live_page_detects_the_known_events(live_run, wake_model):
    wav = audio.load(wake_model["wav"], RATE)
    offset = offset_in_wav(live_run["audio"], wav)
    assert abs(offset) < 1.0, offset
    times = [float(time_s) + offset for time_s, _, _ in live_run["detections"]]
    assert len(times) == len(wake_model["events"]), (times, wake_model["events"])
    for found, (start, end) in zip(times, wake_model["events"]):
        assert start <= found <= end + EVENT_TOLERANCE_S, (found, start, end)
    with open(live_run["screenshot"], "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    assert live_run["status"].startswith("Listening (16000 Hz")


def test_live_page_says_what_is_wrong(live_run, wake_model):
    folder = wake_model["folder"]
    assert live_run["no_manifest"].startswith(f"{folder}: no manifest.json")
    assert live_run["no_folder"] == f"{folder}: no such folder; {live_model.ABOUT}"
    assert live_run["denied"].startswith("Microphone permission denied")
    assert live_run["rate"].startswith("This browser cannot give 16000 Hz audio")
    assert live_run["denied_ready"] == live_run["rate_ready"] == "0"
