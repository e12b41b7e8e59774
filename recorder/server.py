"""The recorder's page server: the recording page, the live page, their state and the takes.

| request | answer |
|---|---|
| `GET /`, `GET /static/<file>` | the recording page (`recorder/static/`), or the live page |
| `GET /api/state` | `Dataset.state()` as JSON |
| `POST /api/take?word=W&rate=R` (float32 body) | `201 {"saved", "level_db", "warnings", "state"}` |
| `POST /api/discard` | `200 {"discarded", "state"}` |
| `GET /takes/<word>/<speaker>_nohash_<k>.wav` | a saved clip, for playback |
| `GET /live` | the live page (`static/live.html`) |
| `GET /api/live` | the `--model_dir` folder as the page runs it (`live_model`), read afresh |
| `GET /api/live/model.tflite` | its streaming TFLite file |
| `POST /api/train` | `202`: trains on the recordings into `--model_dir` (`training`) |
| `GET /api/train?from=N` | `{"available", "model_dir", "state", "lines" from number N, "next"}` |
| `GET /vendor/<package>/<file>` | LiteRT.js and its WebAssembly (`recorder/web/node_modules`) |

Refusals are `{"error": message}` with their status, which the pages show. The server only
answers requests whose Host is the loopback address it is bound to and whose Origin (if any)
is the page itself, and every POST must carry the `X-Recorder: 1` header the page sends, so
another web site open in the browser cannot post takes to it.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Callable

from absl import logging

from earshot import audio
from earshot import http as http_lib
from earshot.http import Refused
from recorder import dataset as dataset_lib
from recorder import live_model, takes, training

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8"}
# LiteRT.js as `make web` installs it (npm ci in recorder/web): the packages the live page
# imports, and the types of their files.
VENDOR_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web", "node_modules")
VENDOR_PACKAGES = ("@litertjs/core", "@litertjs/wasm-utils")
VENDOR_TYPES = {".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm"}
VENDOR_MISSING = ("LiteRT.js is not installed beside the page: run `make web` (npm ci in "
                  "recorder/web) and reload")
# AudioContext rates browsers use lie well inside this range.
MIN_SOURCE_RATE, MAX_SOURCE_RATE = 8000, 192000
# A take may run this much longer than the page was asked to record (scheduling jitter).
LENGTH_SLACK_SECONDS = 1.0
# Takes shorter than this fraction of what the page records mean a broken capture.
MIN_LENGTH_FRACTION = 0.5
# Non-simple header the page sends with every POST, so that another site's page cannot post
# takes without a CORS preflight (which this server never approves).
CSRF_HEADER = "X-Recorder"
# Bodies of refused requests up to this size are read and dropped before answering.
MAX_DRAIN_BYTES = 64 << 20
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# The status each library error is answered with.
ERROR_STATUS = {takes.MalformedTake: 400, takes.RejectedTake: 422,
                dataset_lib.NothingToDiscard: 409, audio.AudioError: 422,
                live_model.ModelFolderError: 422, training.AlreadyRunning: 409}


def error_status(error: Exception) -> int:
    """The HTTP status a library error (a key of ERROR_STATUS) is answered with."""
    return next(status for kind, status in ERROR_STATUS.items() if isinstance(error, kind))


class RecorderServer(http_lib.Server):
    """A threaded HTTP server that carries the dataset its handlers write to and the model
    folder the live page runs; either may be None (only the live page, or no live model).

    `log(format, *args)` gets one line per take saved or discarded: the recorder's own
    narrative, so its tool passes a logger of its own (the library's INFO is hidden).
    """

    def __init__(self, address: tuple[str, int], dataset: dataset_lib.Dataset | None,
                 model_dir: str | None = None, log: Callable[..., None] = logging.info):
        super().__init__(address, RecorderHandler)
        self.dataset = dataset
        self.model_dir = model_dir
        self.log = log
        self.training = training.TrainingJob()

    def can_train(self) -> bool:
        """Whether the page may train: recording, with a --model_dir folder to train into."""
        return self.dataset is not None and self.model_dir is not None

    def recording(self) -> dataset_lib.Dataset:
        """The dataset, or a 404 refusal when the server only runs the live page."""
        if self.dataset is None:
            raise Refused(404, "not recording: start the recorder with --output_dir and --words")
        return self.dataset

    def live_model(self) -> live_model.LiveModel:
        """The `--model_dir` folder, read afresh (training may have just rewritten it)."""
        if self.model_dir is None:
            raise Refused(404, "no model to run: start the recorder with --model_dir=DIR")
        if not os.path.isdir(os.path.join(VENDOR_DIR, VENDOR_PACKAGES[0])):
            raise Refused(503, VENDOR_MISSING)
        return live_model.read(self.model_dir)


class RecorderHandler(http_lib.Handler):
    """GET: the page, its static files, state and saved takes; POST: takes and discards."""

    server: RecorderServer
    extra_headers = {"Cache-Control": "no-store"}
    json_errors = True

    def _check_origin(self) -> None:
        """Refuses requests a page from another origin (or a rebound DNS name) makes."""
        host, port = self.server.server_address[:2]
        host_header = self.headers.get("Host", "")
        if host in LOOPBACK_HOSTS and host_header not in {f"{name}:{port}"
                                                          for name in LOOPBACK_HOSTS}:
            raise Refused(403, f"unexpected Host header {host_header!r}")
        origin = self.headers.get("Origin")
        if origin is not None and urllib.parse.urlsplit(origin).netloc != host_header:
            raise Refused(403, f"requests from {origin} are not accepted")

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urllib.parse.urlsplit(self.path).path
        try:
            self._check_origin()
            if path in ("/", "/index.html"):
                self._static("index.html" if self.server.dataset is not None else "live.html")
            elif path == "/live":
                self._static("live.html")
            elif path.startswith("/static/"):
                self._static(path[len("/static/"):])
            elif path == "/api/state":
                self.send_json(200, self.server.recording().state())
            elif path.startswith("/takes/"):
                self._take_file(path[len("/takes/"):])
            elif path == "/api/live":
                self.send_json(200, self.server.live_model().description())
            elif path == "/api/live/model.tflite":
                with open(self.server.live_model().path, "rb") as file:
                    self.send_bytes(200, file.read(), "application/octet-stream")
            elif path.startswith("/vendor/"):
                self._vendor_file(path[len("/vendor/"):])
            elif path == "/api/train":
                self._train_progress()
            else:
                raise Refused(404, f"no page at {path}")
        except Refused as refused:
            self.send_refusal(refused)
        except live_model.ModelFolderError as error:
            self.send_refusal(Refused(error_status(error), str(error)))

    def _static(self, name: str) -> None:
        extension = os.path.splitext(name)[1]
        if "/" in name or name.startswith(".") or extension not in STATIC_TYPES:
            raise Refused(404, f"no static file {name!r}")
        path = os.path.join(STATIC_DIR, name)
        if not os.path.isfile(path):
            raise Refused(404, f"no static file {name!r}")
        with open(path, "rb") as file:
            self.send_bytes(200, file.read(), STATIC_TYPES[extension])

    def _vendor_file(self, relative: str) -> None:
        """Serves a script or WebAssembly file of the LiteRT.js packages, nothing else of
        node_modules."""
        package = next((p for p in VENDOR_PACKAGES if relative.startswith(p + "/")), None)
        extension = os.path.splitext(relative)[1]
        parts = relative.split("/")
        if package is None or extension not in VENDOR_TYPES or any(
                part in ("", ".", "..") or part.startswith(".") for part in parts[2:]):
            raise Refused(404, f"no vendor file {relative!r}")
        path = os.path.join(VENDOR_DIR, *parts)
        if not os.path.isfile(path):
            raise Refused(404, f"no vendor file {relative!r}" if os.path.isdir(os.path.join(
                VENDOR_DIR, package)) else VENDOR_MISSING)
        with open(path, "rb") as file:
            self.send_bytes(200, file.read(), VENDOR_TYPES[extension])

    def _train_progress(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            since = max(0, int(query.get("from", ["0"])[0]))
        except ValueError:
            raise Refused(400, "from= is not a line number")
        self.send_json(200, {"available": self.server.can_train(),
                             "model_dir": self.server.model_dir,
                             **self.server.training.progress(since)})

    def _take_file(self, relative: str) -> None:
        """Serves a saved clip for playback; only `<word>/<clip name>` of this dataset."""
        path = self.server.recording().take_path(relative)
        if path is None:
            raise Refused(404, f"no take {relative!r}")
        with open(path, "rb") as file:
            self.send_bytes(200, file.read(), "audio/wav")

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        self._body_left: int | None = None  # unknown until read; handlers serve many requests
        try:
            self._check_origin()
            if self.headers.get(CSRF_HEADER) != "1":
                raise Refused(403, f"missing the {CSRF_HEADER} header the page sends")
            if url.path == "/api/take":
                self._post_take(query)
            elif url.path == "/api/discard":
                dataset = self.server.recording()
                self._drain_body()
                discarded = dataset.discard_last()
                self.server.log("discarded %s", discarded)
                self.send_json(200, {"discarded": discarded, "state": dataset.state()})
            elif url.path == "/api/train":
                self._start_training()
            else:
                raise Refused(404, f"no endpoint {url.path}")
        except Refused as refused:
            self._refuse(refused)
        except tuple(ERROR_STATUS) as error:
            self._refuse(Refused(error_status(error), str(error)))

    def _start_training(self) -> None:
        dataset = self.server.recording()
        if not self.server.can_train():
            raise Refused(404, "no folder to train into: start the recorder with --model_dir=DIR "
                                "too")
        self._drain_body()
        self.server.training.start(dataset.train_command()[0], self.server.model_dir)
        self.server.log("training into %s", self.server.model_dir)
        self.send_json(202, self.server.training.progress())

    def _body_length(self) -> int:
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            raise Refused(400, "Content-Length is not a number")

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

    def _refuse(self, refused: Refused) -> None:
        try:
            self._drain_body()
        except (Refused, OSError):
            pass
        self.close_connection = True
        self.send_refusal(refused)

    def _post_take(self, query: dict[str, list[str]]) -> None:
        """`POST /api/take?word=W&rate=R` (W a word or `_background_noise_`), float32 body."""
        dataset = self.server.recording()
        config = dataset.config
        word = query.get("word", [""])[0]
        if word not in dataset.folders():
            raise Refused(400, f"word {word!r} is not one of --words={','.join(config.words)}")
        try:
            rate = int(query.get("rate", [""])[0])
        except ValueError:
            raise Refused(400, "missing or non-integer rate= (the page's sample rate in Hz)")
        if not MIN_SOURCE_RATE <= rate <= MAX_SOURCE_RATE:
            raise Refused(400, f"sample rate {rate} Hz is outside {MIN_SOURCE_RATE}-"
                          f"{MAX_SOURCE_RATE} Hz")
        if self.headers.get("Content-Type") != "application/octet-stream":
            raise Refused(415, "send the take as application/octet-stream float32 PCM")
        background = word == dataset_lib.BACKGROUND_DIR
        seconds = config.background_seconds if background else config.record_seconds
        length = self._body_length()
        max_bytes = int((seconds + LENGTH_SLACK_SECONDS) * rate) * 4
        if length > max_bytes:
            raise Refused(413, f"take of {length} bytes is longer than the {seconds:g} s the page "
                          f"records ({max_bytes} bytes at {rate} Hz)")
        samples, warnings = takes.decode_take(self._read_body(length), rate)
        if len(samples) < MIN_LENGTH_FRACTION * seconds * rate:
            raise Refused(422, f"take is {len(samples) / rate:.2f} s long; the page records "
                          f"{seconds:g} s: the capture stopped early")
        if background:
            waveform, level_db = takes.prepare_background(samples, rate)
        else:
            waveform, level_db, clip_warnings = takes.prepare_word_clip(
                samples, rate, config.clip_samples, config.min_level_db)
            warnings += clip_warnings
        saved = dataset.save(word, waveform)
        self.server.log("saved %s (%.1f dBFS)", saved, level_db)
        self.send_json(201, {"saved": saved, "level_db": round(level_db, 1),
                             "warnings": warnings, "state": dataset.state()})


def make_server(config: dataset_lib.RecorderConfig | None, host: str = "127.0.0.1",
                port: int = 8000, log: Callable[..., None] = logging.info,
                model_dir: str | None = None) -> RecorderServer:
    """Creates the output folder (when recording) and binds the server (port 0: any free
    port); `log` and `model_dir` as `RecorderServer` takes them."""
    dataset = None
    if config is not None:
        os.makedirs(config.output_dir, exist_ok=True)
        dataset = dataset_lib.Dataset(config)
    return RecorderServer((host, port), dataset, model_dir, log)
