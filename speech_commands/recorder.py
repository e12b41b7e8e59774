r"""Records keyword clips of your own voice from the browser into the Speech Commands layout.

    python -m speech_commands.recorder --output_dir=/tmp/my_words --words=yes,no,up,down

serves a page on http://127.0.0.1:8000/ (Google's record_train Colab as a small local app).
The page prompts the words in turn, shows a level meter and the takes recorded so far, lets
you discard the last take, and gives the command that trains on the folder:

    DIR/<word>/<speaker>_nohash_<k>.wav                 16 kHz, 16-bit mono, --clip_seconds long
    DIR/_background_noise_/<speaker>_nohash_<k>.wav     --background_seconds long

How a take travels: the page captures raw float32 PCM with an AudioWorklet at its
AudioContext's rate (usually 48 kHz) for `--clip_seconds + RECORD_MARGIN_SECONDS`, since
people start speaking a few hundred ms after the prompt, and POSTs it as little-endian float32.
The server checks size, rate and values, resamples to 16 kHz with `earshot.audio`, refuses a
silent take with a message the page shows, keeps the loudest `--clip_seconds` window (what
Speech Commands' `extract_loudest_section` did to its crowd-sourced clips) and writes the WAV
atomically. Re-running on the same folder continues the numbering.

`which_set` splits by the speaker part of the file name, so one speaker's clips all land in one
split. The page says which, and when no speaker on disk falls in training, the suggested
command sets `--validation_percentage=0 --testing_percentage=0` so that training has data.
"""

from __future__ import annotations

import dataclasses
import getpass
import glob
import http.server
import json
import os
import re
import shlex
import threading
import urllib.parse
from typing import Any

import numpy as np
from absl import app, flags, logging

from earshot import audio
from speech_commands import split

SAMPLE_RATE = 16000
# Extra recording time for the reaction to the prompt; the server keeps the loudest clip.
RECORD_MARGIN_SECONDS = 0.5
# AudioContext rates browsers use lie well inside this range.
MIN_SOURCE_RATE, MAX_SOURCE_RATE = 8000, 192000
# A take may run this much longer than the page was asked to record (scheduling jitter).
LENGTH_SLACK_SECONDS = 1.0
# Takes shorter than this fraction of what the page records mean a broken capture.
MIN_LENGTH_FRACTION = 0.5
# Level frames: 30 ms, the Speech Commands analysis window.
FRAME_SECONDS = 0.03
DEFAULT_MIN_LEVEL_DB = -50.0
# Background may be quiet, but not digitally silent (a muted microphone).
BACKGROUND_MIN_LEVEL_DB = -90.0
# A take is flagged as clipped when this share of its samples sits at full scale.
CLIP_LEVEL, CLIP_FRACTION = 0.999, 0.001
# Speech this close (dB) to the take's loudest frame in the clip's edge frame may be cut off.
EDGE_MARGIN_DB = 10.0
DEFAULT_SPLIT_PERCENTAGES = (10, 10)  # train.py's --validation_percentage, --testing_percentage
BACKGROUND_DIR = "_background_noise_"
WORD_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# No '_': `which_set` hashes what precedes `_nohash_`, so the speaker part must be unambiguous.
SPEAKER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
CLIP_NAME = re.compile(r"^(?P<speaker>[A-Za-z0-9-]+)_nohash_(?P<index>\d+)\.wav$")
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorder_static")
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8"}
# Non-simple header the page sends with every POST, so that another site's page cannot post
# takes without a CORS preflight (which this server never approves).
CSRF_HEADER = "X-Recorder"
# Bodies of refused requests up to this size are read and dropped before answering.
MAX_DRAIN_BYTES = 64 << 20
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")

FLAGS = flags.FLAGS


class RequestError(ValueError):
    """A take or request the server refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class RecorderConfig:
    """What the recorder writes and how it judges takes."""

    output_dir: str
    words: tuple[str, ...]
    speaker: str
    clip_seconds: float = 1.0
    background_seconds: float = 10.0
    takes_per_word: int = 10
    min_level_db: float = DEFAULT_MIN_LEVEL_DB

    @property
    def record_seconds(self) -> float:
        """How long the page records a word take."""
        return self.clip_seconds + RECORD_MARGIN_SECONDS

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * SAMPLE_RATE))


def parse_words(words: str) -> tuple[str, ...]:
    """`--words` as folder names; lower-cased, since `input_data` lower-cases folders too."""
    parsed = tuple(word.strip().lower() for word in words.split(",") if word.strip())
    if not parsed:
        raise ValueError("--words is empty: give the keywords to record, e.g. --words=yes,no")
    for word in parsed:
        if not WORD_PATTERN.match(word):
            raise ValueError(f"--words: {word!r} cannot be a dataset folder; use letters, digits, "
                             "'-' and '_' (not first: '_' folders are reserved)")
    duplicates = sorted({word for word in parsed if parsed.count(word) > 1})
    if duplicates:
        raise ValueError(f"--words lists {', '.join(duplicates)} more than once")
    return parsed


def check_speaker(speaker: str) -> str:
    if not SPEAKER_PATTERN.match(speaker):
        raise ValueError(f"--speaker={speaker!r}: use letters, digits and '-' only (it becomes "
                         "the file-name part before '_nohash_' that splits the dataset)")
    return speaker


def default_speaker() -> str:
    """The login name reduced to what `SPEAKER_PATTERN` allows, or 'speaker'."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    name = re.sub(r"[^A-Za-z0-9-]", "", name).lstrip("-")
    return name or "speaker"


def speaker_split(speaker: str, validation_percentage: float = DEFAULT_SPLIT_PERCENTAGES[0],
                  testing_percentage: float = DEFAULT_SPLIT_PERCENTAGES[1]) -> str:
    """'training', 'validation' or 'testing': where `which_set` puts the speaker's clips."""
    return split.which_set(f"{speaker}_nohash_0.wav", validation_percentage, testing_percentage)


def frame_levels_db(waveform: np.ndarray, frame: int) -> np.ndarray:
    """RMS level in dBFS of consecutive `frame`-sample frames: float64 `[ceil(n / frame)]`."""
    padded = np.pad(waveform.astype(np.float64), (0, -len(waveform) % frame))
    rms = np.sqrt(np.mean(padded.reshape(-1, frame) ** 2, axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-10))


def loudest_window(waveform: np.ndarray, length: int) -> np.ndarray:
    """The `length`-sample stretch of `waveform` with the most energy (zero-padded at the end
    when shorter, as `decode_wav` pads Speech Commands clips): float32 `[length]`."""
    if len(waveform) <= length:
        return np.pad(waveform, (0, length - len(waveform))).astype(np.float32)
    energy = np.concatenate([[0.0], np.cumsum(waveform.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[length:] - energy[:-length]))
    return waveform[start:start + length].astype(np.float32)


def decode_take(body: bytes, source_rate: int) -> tuple[np.ndarray, list[str]]:
    """The page's little-endian float32 PCM -> (float32 `[samples]` in [-1, 1], warnings).

    Browsers may hand over samples a hair beyond full scale; those are clipped with a warning
    rather than refused, since the user can do nothing about them but lower the gain.
    """
    if len(body) % 4:
        raise RequestError(f"body of {len(body)} bytes is not whole float32 samples", 400)
    samples = np.frombuffer(body, dtype="<f4").astype(np.float32)
    bad = ~np.isfinite(samples)
    if bad.any():
        raise RequestError(f"take has {int(bad.sum())} NaN or Inf samples (first at "
                        f"{int(np.argmax(bad)) / source_rate:.3f} s): the capture is broken", 400)
    warnings = []
    if samples.size and np.mean(np.abs(samples) >= CLIP_LEVEL) > CLIP_FRACTION:
        warnings.append("the take is clipped (too loud): move back from the microphone or "
                        "lower its input gain")
    return np.clip(samples, -1.0, 1.0), warnings


def prepare_word_clip(samples: np.ndarray, source_rate: int,
                      config: RecorderConfig) -> tuple[np.ndarray, float, list[str]]:
    """A word take -> (float32 `[clip_samples]` at 16 kHz, loudest 30 ms in dBFS, warnings).

    Raises:
      RequestError: the take is silent (its loudest frame is below `config.min_level_db`).
    """
    waveform = audio.load(samples, SAMPLE_RATE, source_rate=source_rate)
    frame = int(FRAME_SECONDS * SAMPLE_RATE)
    level_db = float(frame_levels_db(waveform, frame).max())
    if level_db < config.min_level_db:
        raise RequestError(f"silent take: the loudest 30 ms reached {level_db:.0f} dBFS, below "
                        f"{config.min_level_db:.0f} dBFS. Check that the microphone is not muted, "
                        "then speak after pressing Record")
    clip = loudest_window(waveform, config.clip_samples)
    levels = frame_levels_db(clip, frame)
    warnings = []
    if len(waveform) > len(clip) and max(levels[0], levels[-1]) > level_db - EDGE_MARGIN_DB:
        warnings.append("speech reaches the edge of the clip and may be cut off: say the word "
                        "once, shortly after pressing Record")
    return clip, level_db, warnings


def prepare_background(samples: np.ndarray, source_rate: int) -> tuple[np.ndarray, float]:
    """A background take -> (float32 `[samples]` at 16 kHz, kept whole, loudest 30 ms in dBFS)."""
    waveform = audio.load(samples, SAMPLE_RATE, source_rate=source_rate)
    level_db = float(frame_levels_db(waveform, int(FRAME_SECONDS * SAMPLE_RATE)).max())
    if level_db < BACKGROUND_MIN_LEVEL_DB:
        raise RequestError("silent background take: the microphone delivered digital silence "
                        "(is it muted?)")
    return waveform, level_db


class Dataset:
    """The output folder: numbering, counts, this session's takes and the training command.

    One lock serialises writes and discards, since the server handles requests on threads.
    """

    def __init__(self, config: RecorderConfig):
        self.config = config
        self.root = os.path.abspath(config.output_dir)
        self._lock = threading.Lock()
        self._session: list[str] = []  # relative paths written by this process, oldest first

    def _clips(self, folder: str) -> list[tuple[str, int]]:
        """(speaker, index) of every clip named like Speech Commands in `folder`."""
        found = []
        for path in glob.glob(os.path.join(self.root, folder, "*.wav")):
            match = CLIP_NAME.match(os.path.basename(path))
            if match:
                found.append((match["speaker"], int(match["index"])))
        return found

    def save(self, folder: str, waveform: np.ndarray) -> str:
        """Writes the next `<speaker>_nohash_<k>.wav` in `folder`; returns its relative path."""
        with self._lock:
            taken = [index for speaker, index in self._clips(folder)
                     if speaker == self.config.speaker]
            name = f"{self.config.speaker}_nohash_{max(taken, default=-1) + 1}.wav"
            relative = f"{folder}/{name}"
            audio.write_wav(os.path.join(self.root, folder, name), waveform, SAMPLE_RATE)
            self._session.append(relative)
        logging.info("saved %s", relative)
        return relative

    def discard_last(self) -> str:
        """Deletes the newest take of this session; returns its relative path."""
        with self._lock:
            while self._session:
                relative = self._session.pop()
                path = os.path.join(self.root, relative)
                if os.path.exists(path):
                    os.remove(path)
                    logging.info("discarded %s", relative)
                    return relative
        raise RequestError("nothing to discard: no take recorded in this session", 409)

    def last_take(self) -> str | None:
        with self._lock:
            return self._session[-1] if self._session else None

    def counts(self) -> dict[str, dict[str, int]]:
        """Per folder (each word, then background): clips by this speaker and by everyone."""
        counts = {}
        for folder in self.config.words + (BACKGROUND_DIR,):
            clips = self._clips(folder)
            counts[folder] = {"speaker": sum(s == self.config.speaker for s, _ in clips),
                              "total": len(clips)}
        return counts

    def speaker_splits(self) -> dict[str, str]:
        """Split (train.py's default percentages) of this speaker and every word speaker."""
        speakers = {speaker for word in self.config.words for speaker, _ in self._clips(word)}
        speakers.add(self.config.speaker)
        return {speaker: speaker_split(speaker) for speaker in sorted(speakers)}

    def train_command(self) -> tuple[str, str]:
        """(command that trains on the folder, a note on how the speakers split)."""
        counts = self.counts()
        recorded = [word for word in self.config.words if counts[word]["total"]]
        splits = self.speaker_splits()
        speakers = {speaker for word in recorded for speaker, _ in self._clips(word)}
        held_out = sorted(s for s in speakers if splits[s] != "training")
        trained = sorted(s for s in speakers if splits[s] == "training")
        command = ["python", "-m", "speech_commands.train", f"--data_dir={self.root}",
                   f"--wanted_words={','.join(recorded or self.config.words)}",
                   "--model_architecture=embedding_head"]
        if round(self.config.clip_seconds * 1000) != 1000:
            command.append(f"--clip_duration_ms={round(self.config.clip_seconds * 1000)}")
        if not speakers:
            note = "Nothing recorded yet."
        elif not trained:
            command += ["--validation_percentage=0", "--testing_percentage=0"]
            note = (f"Speaker(s) {', '.join(held_out)} hash into validation/testing, so every "
                    "clip is used for training; record another speaker (--speaker) to get a "
                    "held-out accuracy.")
        elif not held_out:
            note = ("Every speaker hashes into training: validation and testing stay empty. "
                    "Record another speaker (--speaker) to get a held-out accuracy.")
        else:
            note = (f"Training on {', '.join(trained)}; held out: "
                    + ", ".join(f"{s} ({splits[s]})" for s in held_out) + ".")
        return " ".join(shlex.quote(part) for part in command), note

    def state(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready values."""
        command, note = self.train_command()
        config = self.config
        return {"speaker": config.speaker, "words": list(config.words),
                "clip_seconds": config.clip_seconds, "record_seconds": config.record_seconds,
                "background_seconds": config.background_seconds,
                "takes_per_word": config.takes_per_word, "counts": self.counts(),
                "background_dir": BACKGROUND_DIR, "last_take": self.last_take(),
                "split": self.speaker_splits()[config.speaker], "output_dir": self.root,
                "train_command": command, "train_note": note}


class RecorderServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server that carries the dataset its handlers write to."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], dataset: Dataset):
        super().__init__(address, RecorderHandler)
        self.dataset = dataset

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class RecorderHandler(http.server.BaseHTTPRequestHandler):
    """GET: the page, its static files, state and saved takes; POST: takes and discards."""

    server: RecorderServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler's name)
        logging.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        if status >= 500:
            logging.error("%s %s: %s", self.command, self.path, message)
        else:
            logging.warning("%s %s refused: %s", self.command, self.path.split("?")[0], message)
        self._json(status, {"error": message})

    def _check_origin(self) -> None:
        """Refuses requests a page from another origin (or a rebound DNS name) makes."""
        host, port = self.server.server_address[:2]
        host_header = self.headers.get("Host", "")
        if host in LOOPBACK_HOSTS and host_header not in {f"{name}:{port}"
                                                          for name in LOOPBACK_HOSTS}:
            raise RequestError(f"unexpected Host header {host_header!r}", 403)
        origin = self.headers.get("Origin")
        if origin is not None and urllib.parse.urlsplit(origin).netloc != host_header:
            raise RequestError(f"requests from {origin} are not accepted", 403)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urllib.parse.urlsplit(self.path).path
        try:
            self._check_origin()
            if path in ("/", "/index.html"):
                self._static("index.html")
            elif path.startswith("/static/"):
                self._static(path[len("/static/"):])
            elif path == "/api/state":
                self._json(200, self.server.dataset.state())
            elif path.startswith("/takes/"):
                self._take_file(path[len("/takes/"):])
            else:
                raise RequestError(f"no page at {path}", 404)
        except RequestError as error:
            self._error(error.status, str(error))

    def _static(self, name: str) -> None:
        extension = os.path.splitext(name)[1]
        if "/" in name or name.startswith(".") or extension not in STATIC_TYPES:
            raise RequestError(f"no static file {name!r}", 404)
        path = os.path.join(STATIC_DIR, name)
        if not os.path.isfile(path):
            raise RequestError(f"no static file {name!r}", 404)
        with open(path, "rb") as file:
            self._send(200, file.read(), STATIC_TYPES[extension])

    def _take_file(self, relative: str) -> None:
        """Serves a saved clip for playback; only `<word>/<clip name>` of this dataset."""
        dataset = self.server.dataset
        folder, _, name = relative.partition("/")
        if folder not in dataset.config.words + (BACKGROUND_DIR,) or not CLIP_NAME.match(name):
            raise RequestError(f"no take {relative!r}", 404)
        path = os.path.join(dataset.root, folder, name)
        if not os.path.isfile(path):
            raise RequestError(f"no take {relative!r}", 404)
        with open(path, "rb") as file:
            self._send(200, file.read(), "audio/wav")

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        self._body_left: int | None = None  # unknown until read; handlers serve many requests
        try:
            self._check_origin()
            if self.headers.get(CSRF_HEADER) != "1":
                raise RequestError(f"missing the {CSRF_HEADER} header the page sends", 403)
            if url.path == "/api/take":
                self._post_take(query)
            elif url.path == "/api/discard":
                self._drain_body()
                discarded = self.server.dataset.discard_last()
                self._json(200, {"discarded": discarded, "state": self.server.dataset.state()})
            else:
                raise RequestError(f"no endpoint {url.path}", 404)
        except RequestError as error:
            self._refuse(error.status, str(error))
        except audio.AudioError as error:
            self._refuse(422, str(error))

    def _body_length(self) -> int:
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            raise RequestError("Content-Length is not a number", 400)

    def _read_body(self, length: int) -> bytes:
        self._body_left = 0
        return self.rfile.read(length)

    def _drain_body(self) -> None:
        """Reads and drops an unread body, so the client gets the answer, not a reset."""
        left = self._body_left
        if left is None:
            left = self._body_length()
        self._body_left = 0
        if left > MAX_DRAIN_BYTES:
            return
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                return
            left -= len(chunk)

    def _refuse(self, status: int, message: str) -> None:
        try:
            self._drain_body()
        except (RequestError, OSError):
            pass
        self.close_connection = True
        self._error(status, message)

    def _post_take(self, query: dict[str, list[str]]) -> None:
        """`POST /api/take?word=W&rate=R` (W a word or `_background_noise_`), float32 body."""
        dataset = self.server.dataset
        config = dataset.config
        word = query.get("word", [""])[0]
        if word not in config.words + (BACKGROUND_DIR,):
            raise RequestError(f"word {word!r} is not one of --words={','.join(config.words)}", 400)
        try:
            rate = int(query.get("rate", [""])[0])
        except ValueError:
            raise RequestError("missing or non-integer rate= (the page's sample rate in Hz)", 400)
        if not MIN_SOURCE_RATE <= rate <= MAX_SOURCE_RATE:
            raise RequestError(f"sample rate {rate} Hz is outside {MIN_SOURCE_RATE}-"
                            f"{MAX_SOURCE_RATE} Hz", 400)
        if self.headers.get("Content-Type") != "application/octet-stream":
            raise RequestError("send the take as application/octet-stream float32 PCM", 415)
        seconds = config.background_seconds if word == BACKGROUND_DIR else config.record_seconds
        length = self._body_length()
        max_bytes = int((seconds + LENGTH_SLACK_SECONDS) * rate) * 4
        if length > max_bytes:
            raise RequestError(f"take of {length} bytes is longer than the {seconds:g} s the page "
                            f"records ({max_bytes} bytes at {rate} Hz)", 413)
        samples, warnings = decode_take(self._read_body(length), rate)
        if len(samples) < MIN_LENGTH_FRACTION * seconds * rate:
            raise RequestError(f"take is {len(samples) / rate:.2f} s long; the page records "
                            f"{seconds:g} s: the capture stopped early")
        if word == BACKGROUND_DIR:
            waveform, level_db = prepare_background(samples, rate)
        else:
            waveform, level_db, clip_warnings = prepare_word_clip(samples, rate, config)
            warnings += clip_warnings
        saved = dataset.save(word, waveform)
        self._json(201, {"saved": saved, "level_db": round(level_db, 1), "warnings": warnings,
                         "state": dataset.state()})


def make_server(config: RecorderConfig, host: str = "127.0.0.1", port: int = 8000
                ) -> RecorderServer:
    """Creates the output folder and binds the server (port 0: any free port)."""
    os.makedirs(config.output_dir, exist_ok=True)
    return RecorderServer((host, port), Dataset(config))


def define_flags() -> None:
    flags.DEFINE_string("output_dir", None, "Dataset folder the clips are written to (created "
                        "if missing; existing clips are kept and counted).")
    flags.DEFINE_string("words", None, "Comma-separated keywords to record, e.g. yes,no,up.")
    flags.DEFINE_string("speaker", None, "Speaker name used in file names "
                        "(<speaker>_nohash_<k>.wav); default: your login name.")
    flags.DEFINE_string("host", "127.0.0.1", "Address to bind. Browsers only allow the "
                        "microphone on localhost or HTTPS pages.")
    flags.DEFINE_integer("port", 8000, "Port to serve on (0: any free port).")
    flags.DEFINE_float("clip_seconds", 1.0, "Length of each saved word clip, in seconds.")
    flags.DEFINE_float("background_seconds", 10.0, "Length of a background-noise take, in "
                       "seconds.")
    flags.DEFINE_integer("takes_per_word", 10, "Takes per word the page asks for.")
    flags.DEFINE_float("min_level_db", DEFAULT_MIN_LEVEL_DB, "Takes whose loudest 30 ms stay "
                       "below this level (dBFS) are refused as silent.")
    flags.mark_flags_as_required(["output_dir", "words"])


def config_from_flags() -> RecorderConfig:
    """Validated flags; a ValueError names the flag at fault."""
    if not 0.1 <= FLAGS.clip_seconds <= 10.0:
        raise ValueError(f"--clip_seconds={FLAGS.clip_seconds} must be within 0.1-10 s")
    if FLAGS.background_seconds < 2 * FLAGS.clip_seconds or FLAGS.background_seconds > 600:
        raise ValueError(f"--background_seconds={FLAGS.background_seconds} must be at least twice "
                         "--clip_seconds (training cuts clips out of it) and at most 600")
    if FLAGS.takes_per_word < 1:
        raise ValueError(f"--takes_per_word={FLAGS.takes_per_word} must be at least 1")
    if not 0 <= FLAGS.port <= 65535:
        raise ValueError(f"--port={FLAGS.port} is not a TCP port")
    if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
        raise ValueError(f"--output_dir={FLAGS.output_dir} exists and is not a folder")
    return RecorderConfig(
        output_dir=FLAGS.output_dir, words=parse_words(FLAGS.words),
        speaker=check_speaker(FLAGS.speaker or default_speaker()),
        clip_seconds=FLAGS.clip_seconds, background_seconds=FLAGS.background_seconds,
        takes_per_word=FLAGS.takes_per_word, min_level_db=FLAGS.min_level_db)


def main(argv):
    del argv
    try:
        config = config_from_flags()
    except ValueError as error:
        raise app.UsageError(str(error))
    try:
        server = make_server(config, FLAGS.host, FLAGS.port)
    except OSError as error:
        raise app.UsageError(f"cannot serve on {FLAGS.host}:{FLAGS.port} ({error.strerror}); "
                             "pick another --port, or --port=0 for any free one")
    if FLAGS.host not in LOOPBACK_HOSTS:
        logging.warning("serving on %s: browsers grant the microphone only to localhost or "
                        "HTTPS pages, and anyone who can reach this address can add takes",
                        FLAGS.host)
    logging.info("recording %s as speaker %s into %s", ",".join(config.words), config.speaker,
                 server.dataset.root)
    logging.info("Recorder page: %s (Ctrl-C to stop)", server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    counts = server.dataset.counts()
    logging.info("clips per word: %s", ", ".join(f"{word} {c['total']}"
                                                 for word, c in counts.items()))
    command, note = server.dataset.train_command()
    logging.info("train on them with:\n  %s\n%s", command, note)


if __name__ == "__main__":
    define_flags()
    app.run(main)
