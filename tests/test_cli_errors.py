"""Every `python -m` entry point, given each kind of bad input it can be given (issue 10).

The convention (`earshot.cli.run`): exactly one line on stderr, `error: ...`, naming the file
and the problem, exit status 2, no traceback. Flag errors keep absl's usage message.

`ENTRY_POINTS` says how each program takes its inputs; `test_every_entry_point_is_in_the_table`
finds the programs (modules with a `__main__` block) by reading the sources, so a new one
fails until it has a row. Each program runs in a subprocess, two at a time (about 3 s of CPU
each, mostly importing TensorFlow). The default suite gives every input of every program one
bad-input class (the one given least so far, so every class runs somewhere); the slow sweep
gives every input every class that applies, also to the inputs that need an expensive good
companion (a streaming spotter or wake-word model). A few classes an issue named run in the
default suite whatever the rotation picks (`Input.always`): issue 19's download offline, empty
dataset folder, folder given as a file, mistyped model folder, busy port and too-short stream.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
from typing import Callable

import numpy as np
import pytest
import soundfile

import programs

ROOT = programs.ROOT
WORKERS = 2
TIMEOUT_SECONDS = 300


# --- bad-input classes ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class BadInput:
    """One kind of bad input: the file name it is written under, and how errors name it."""

    name: str
    problem: str  # regex the error line must match (case-insensitive) besides the path
    stdin: str | None = None  # given on stdin (as --input=-); None: no stdin


MISSING = BadInput("missing", r"no such|not found|does not exist")
DIRECTORY = BadInput("directory", r"directory|folder")
CORRUPT = BadInput("corrupt", r"cannot decode|not an? |corrupt|unreadable|cannot read")
EMPTY = BadInput("empty", r"zero samples|empty|no data|not an? ")
NAN = BadInput("nan", r"NaN")
SHORT = BadInput("short", r"too short|shorter than")
WRONG_FOLDER = BadInput("wrong_folder", r"not an? |\bno \S+ |must be")
NO_WEIGHTS = BadInput("no_weights", r"not in|fetch|download")
EMPTY_FOLDER = BadInput("empty_folder", r"holds no|empty|\bno \S+ ")
URL_NOT_FOUND = BadInput("url_not_found", r"cannot download .*404")  # a server that 404s
URL_CLOSED_PORT = BadInput("url_closed_port", r"cannot download .*refused")
BUSY_PORT = BadInput("busy_port", r"in use")  # a port another socket listens on
ONE_SECOND = BadInput("one_second", r"too short")  # one Speech Commands clip
SHORT_STDIN = BadInput("short_stdin", r"too short", stdin="abc")  # one sample and a half

# What each kind of input can be given. An audio file: the audio classes. A non-audio file
# (checkpoint, database, wheel, model file): missing, a folder, junk, zero bytes. A folder
# (model, dataset, training run): missing, or a folder of something else. Weights from the
# cache: not fetched.
AUDIO = (MISSING, DIRECTORY, CORRUPT, EMPTY, NAN, SHORT)
# Audio a program takes at any length: a stream, or a clip it pads to one second.
ANY_LENGTH_AUDIO = (MISSING, DIRECTORY, CORRUPT, EMPTY, NAN)
FILE = (MISSING, DIRECTORY, CORRUPT, EMPTY)
FOLDER = (MISSING, WRONG_FOLDER)
CACHED_WEIGHTS = (NO_WEIGHTS,)
# A dataset folder: missing, empty, or of something else. A download: from a server that
# 404s, or from a port nobody listens on (offline). A stream scored from its first full
# window (2 s for the streaming models): any audio that ends before it.
DATASET = (MISSING, EMPTY_FOLDER, WRONG_FOLDER)
DOWNLOAD = (URL_NOT_FOUND, URL_CLOSED_PORT)
STREAM = (*AUDIO, ONE_SECOND, SHORT_STDIN)
SCORED_FILE = (*AUDIO, ONE_SECOND)  # the same, from files only
PORT = (BUSY_PORT,)


class Files(programs.Inputs):
    """The bad inputs of one run, beside the good ones a program needs to reach them.

    Sockets and servers live until `close`.
    """

    def __init__(self, root: str):
        super().__init__(root)
        self._open: list[Callable[[], None]] = []  # closes what the bad inputs hold open

    def close(self) -> None:
        for close in self._open:
            close()

    def bad(self, kind: tuple[BadInput, ...], bad: BadInput, case: str) -> str:
        """Writes the bad input `bad` for an input of `kind`; returns its path (or the URL,
        port or '-' it is given as)."""
        audio = kind in (AUDIO, ANY_LENGTH_AUDIO, STREAM, SCORED_FILE)
        path = self.path(f"{case}.{bad.name}" + (".wav" if audio else ""))
        if bad is URL_NOT_FOUND:
            return self.not_found_server + "speech_commands_v0.02.tar.gz"
        if bad is URL_CLOSED_PORT:
            return f"http://127.0.0.1:{self.closed_port()}/speech_commands_v0.02.tar.gz"
        if bad is BUSY_PORT:
            return str(self.busy_port())
        if bad is SHORT_STDIN:
            return "-"
        if bad is DIRECTORY:
            os.makedirs(path)
        elif bad is CORRUPT:
            with open(path, "wb") as f:
                f.write(b"RIFF\x00\x00\x00\x00WAVEjunk" if audio else b"\x00junk" * 9)
        elif bad is EMPTY and audio:
            soundfile.write(path, np.zeros(0, np.float32), 16000, subtype="PCM_16")
        elif bad is EMPTY:
            open(path, "wb").close()
        elif bad is NAN:
            soundfile.write(path, np.full(16000, np.nan, np.float32), 16000, subtype="FLOAT")
        elif bad is SHORT:  # 12.5 ms: shorter than any model's window, or a spectrogram's
            soundfile.write(path, np.zeros(200, np.float32), 16000, subtype="PCM_16")
        elif bad is ONE_SECOND:
            soundfile.write(path, np.zeros(16000, np.float32), 16000, subtype="PCM_16")
        elif bad is EMPTY_FOLDER:
            os.makedirs(path)
        elif bad is WRONG_FOLDER:
            os.makedirs(path)
            with open(os.path.join(path, "notes.txt"), "w") as f:
                f.write("not a model\n")
        elif bad is NO_WEIGHTS:
            os.makedirs(path)  # the empty EARSHOT_CACHE
        return path

    @functools.cached_property
    def not_found_server(self) -> str:
        """The URL of an HTTP server on 127.0.0.1 that answers every request with 404."""
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._open += [server.shutdown, server.server_close]
        return f"http://127.0.0.1:{server.server_address[1]}/"

    def closed_port(self) -> int:
        """A port of 127.0.0.1 that nothing listens on (it was free a moment ago)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def busy_port(self) -> int:
        """A port of 127.0.0.1 that a socket of this process listens on until `close`."""
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self._open.append(busy.close)
        return busy.getsockname()[1]


class NotFound(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 404, quietly."""

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_error(404)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        del format, args


# --- the table --------------------------------------------------------------------------------

# (bad path, files, scratch folder of the case) -> the program's arguments.
Arguments = Callable[[str, Files, str], list[str]]


@dataclasses.dataclass(frozen=True)
class Input:
    """One input of a program: what kind it is and the command line that feeds it."""

    name: str
    kind: tuple[BadInput, ...]
    arguments: Arguments
    slow: bool = False  # its good inputs take long to make: only in the slow sweep
    always: tuple[BadInput, ...] = ()  # in the default suite too, whatever the rotation picks


ENTRY_POINTS: dict[str, tuple[Input, ...]] = {
    # Programs that read no input file: synthesizers, demos, servers of new data, benchmarks.
    "benchmarks.corpus": (),
    "benchmarks.export": (),
    "benchmarks.memory": (),
    "benchmarks.speaker_embedding": (),
    "benchmarks.speech_commands": (),
    "benchmarks.speech_embedding": (),
    "benchmarks.streaming": (),
    "benchmarks.vggish": (),
    "benchmarks.wakeword": (),
    "benchmarks.wakeword_ablation": (
        Input("build_times", FILE, lambda bad, f, out: [
            f"--build_times={bad}", f"--output_dir={out}/ablation"]),
    ),
    "wakeword.train": (
        Input("negatives", (MISSING, EMPTY_FOLDER), lambda bad, f, out: [
            "--phrase=hey test", f"--output_dir={out}/model", f"--negatives={bad}"]),
    ),
    "speaker_embedding.synthesize": (),
    "speech_embedding.demo": (),
    "speech_commands.demo": (),
    "speech_commands.synthesize": (),

    "speech_commands.label_wav": (
        Input("wav", ANY_LENGTH_AUDIO, lambda bad, f, out: [
            f"--wav={bad}", f"--graph={f.unread_model}", f"--labels={f.labels}"],
              always=(DIRECTORY,)),
        Input("graph", FILE, lambda bad, f, out: [
            f"--wav={f.ok_wav}", f"--graph={bad}", f"--labels={f.labels}"]),
        Input("labels", (MISSING, DIRECTORY), lambda bad, f, out: [
            f"--wav={f.ok_wav}", f"--graph={f.unread_model}", f"--labels={bad}"]),
    ),
    "speech_commands.listen": (
        Input("model", FOLDER, lambda bad, f, out: [f"--model_dir={bad}", f"--input={f.ok_wav}"]),
        Input("input", STREAM, lambda bad, f, out: [
            f"--model_dir={f.spotter_model}", f"--input={bad}"], slow=True,
              always=(ONE_SECOND, SHORT_STDIN)),
    ),
    "speech_commands.wav_to_features": (
        Input("input_wav", AUDIO, lambda bad, f, out: [
            f"--input_wav={bad}", f"--output_c_file={out}/features.c"]),
    ),
    "speech_commands.wav_to_spectrogram": (
        Input("input_wav", AUDIO, lambda bad, f, out: [
            f"--input_wav={bad}", f"--output_image={out}/s.png"]),
    ),
    "speech_commands.streaming_accuracy": (
        Input("train_dir", FOLDER, lambda bad, f, out: [f"--train_dir={bad}"]),
        Input("ground_truth", (MISSING, DIRECTORY, CORRUPT), lambda bad, f, out: [
            f"--wav={f.ok_wav}", f"--graph={f.unread_model}", f"--labels={f.labels}",
            f"--ground_truth={bad}"]),
        Input("graph", FILE, lambda bad, f, out: [
            f"--wav={f.ok_wav}", f"--graph={bad}", f"--labels={f.labels}",
            f"--ground_truth={f.ground_truth}"]),
    ),
    "speech_commands.train": (
        Input("data_dir", DATASET, lambda bad, f, out: [
            f"--data_dir={bad}", f"--train_dir={out}/train", f"--summaries_dir={out}/logs"],
              always=(MISSING, EMPTY_FOLDER)),
        Input("data_url", DOWNLOAD, lambda bad, f, out: [
            f"--data_url={bad}", f"--data_dir={out}/data", f"--train_dir={out}/train",
            f"--summaries_dir={out}/logs"], always=DOWNLOAD),
    ),
    "speech_commands.freeze": (
        Input("train_dir", FOLDER, lambda bad, f, out: [
            f"--train_dir={bad}", f"--output_file={out}/frozen.pb"]),
    ),
    "speech_commands.export_kws": (
        Input("model_dir", FOLDER, lambda bad, f, out: [
            f"--model_dir={bad}", f"--output_dir={out}/export"]),
    ),
    "speech_commands.generate_streaming_test_wav": (
        Input("train_dir", FOLDER, lambda bad, f, out: [
            f"--train_dir={bad}", f"--output_audio_file={out}/s.wav",
            f"--output_labels_file={out}/s.txt"]),
    ),
    "speech_commands.fewshot_study": (
        Input("data_dir", DATASET, lambda bad, f, out: [
            f"--data_dir={bad}", f"--output_dir={out}/study"]),
    ),

    "speech_embedding.embed": (
        Input("input", AUDIO, lambda bad, f, out: [f"--input={bad}", f"--output={out}/e.npz"]),
        Input("weights", CACHED_WEIGHTS,
              lambda bad, f, out: [f"--input={f.ok_wav}", f"--output={out}/e.npz"]),
    ),
    "speech_embedding.weights": (
        Input("wheel", FILE, lambda bad, f, out: ["fetch", f"--wheel={bad}"]),
    ),
    "vggish.embed": (
        Input("input", AUDIO, lambda bad, f, out: [
            f"--input={bad}", f"--output={out}/e.npz", f"--model_dir={f.vggish_weights}"]),
        Input("model_dir", FOLDER, lambda bad, f, out: [
            f"--input={f.ok_wav}", f"--output={out}/e.npz", f"--model_dir={bad}"]),
        Input("weights", CACHED_WEIGHTS,
              lambda bad, f, out: [f"--input={f.ok_wav}", f"--output={out}/e.npz"]),
    ),
    "vggish.convert": (
        Input("checkpoint", FILE, lambda bad, f, out: [
            f"--checkpoint={bad}", f"--pca_params={f.pca_params}", f"--output_dir={out}/w"]),
        Input("pca_params", FILE, lambda bad, f, out: [
            f"--checkpoint={f.path('absent.ckpt')}", f"--pca_params={bad}",
            f"--output_dir={out}/w"]),
    ),
    "vggish.export_network": (
        Input("model_dir", FOLDER, lambda bad, f, out: [
            f"--output={out}/v.tflite", f"--model_dir={bad}"]),
        Input("calibration_audio", AUDIO, lambda bad, f, out: [
            f"--output={out}/v.tflite", f"--model_dir={f.vggish_weights}",
            f"--calibration_audio={bad}"]),
    ),
    "speaker_embedding.enroll": (
        Input("input", AUDIO, lambda bad, f, out: [
            f"--model_dir={f.speaker_model}", f"--db={out}/db.npz", "--name=bob",
            f"--input={bad}"]),
        Input("model_dir", FOLDER, lambda bad, f, out: [
            f"--model_dir={bad}", f"--db={out}/db.npz", "--name=bob", f"--input={f.ok_wav}"]),
        Input("db", (DIRECTORY, CORRUPT, EMPTY), lambda bad, f, out: [
            f"--model_dir={f.speaker_model}", f"--db={bad}", "--name=bob",
            f"--input={f.ok_wav}"]),
    ),
    "speaker_embedding.verify": (
        Input("input", AUDIO, lambda bad, f, out: [
            f"--model_dir={f.speaker_model}", f"--db={f.speaker_db}", "--name=ann",
            "--threshold=0.5", f"--input={bad}"]),
        Input("model_dir", FOLDER, lambda bad, f, out: [
            f"--model_dir={bad}", f"--db={f.speaker_db}", "--name=ann", "--threshold=0.5",
            f"--input={f.ok_wav}"]),
        Input("db", FILE, lambda bad, f, out: [
            f"--model_dir={f.speaker_model}", f"--db={bad}", "--name=ann", "--threshold=0.5",
            f"--input={f.ok_wav}"]),
        # Without --threshold, the threshold is looked up in the model folder.
        Input("model_dir without threshold", (MISSING,), lambda bad, f, out: [
            f"--model_dir={bad}", f"--db={f.speaker_db}", "--name=ann",
            f"--input={f.ok_wav}"]),
    ),
    "speaker_embedding.identify": (
        Input("input", AUDIO, lambda bad, f, out: [
            f"--model_dir={f.speaker_model}", f"--db={f.speaker_db}", f"--input={bad}"]),
        Input("model_dir", FOLDER, lambda bad, f, out: [
            f"--model_dir={bad}", f"--db={f.speaker_db}", f"--input={f.ok_wav}"]),
        Input("db", FILE, lambda bad, f, out: [
            f"--model_dir={f.speaker_model}", f"--db={bad}", f"--input={f.ok_wav}"]),
    ),
    "speaker_embedding.train": (
        Input("data_dir", FOLDER, lambda bad, f, out: [
            f"--data_dir={bad}", f"--model_dir={out}/model"]),
    ),
    "speaker_embedding.evaluate": (
        Input("data_dir", FOLDER, lambda bad, f, out: [
            f"--data_dir={bad}", f"--model_dir={f.speaker_model}", f"--output_dir={out}/e"]),
        Input("model_dir", FOLDER, lambda bad, f, out: [
            f"--data_dir={f.root}", f"--model_dir={bad}"]),
    ),
    "export.hub": (
        Input("speech_embedding weights", FILE, lambda bad, f, out: [
            "--model=speech_embedding", f"--output_dir={out}/h", f"--model_dir={bad}"]),
        Input("vggish weights", FOLDER, lambda bad, f, out: [
            "--model=vggish", f"--output_dir={out}/h", f"--model_dir={bad}"]),
        Input("speaker_embedding model", FOLDER, lambda bad, f, out: [
            "--model=speaker_embedding", f"--output_dir={out}/h", f"--model_dir={bad}"]),
        Input("keyword_spotter run", FOLDER, lambda bad, f, out: [
            "--model=keyword_spotter", f"--output_dir={out}/h", f"--model_dir={bad}"]),
        Input("speech_embedding cache", CACHED_WEIGHTS, lambda bad, f, out: [
            "--model=speech_embedding", f"--output_dir={out}/h"]),
    ),
    "export.serve": (
        Input("root", (MISSING,), lambda bad, f, out: [f"--root={bad}", "--port=0"]),
        Input("port", PORT, lambda bad, f, out: [f"--root={f.root}", f"--port={bad}"]),
    ),
    # Only the live page: the model folder is read before the server starts.
    "recorder": (
        Input("model_dir", FOLDER, lambda bad, f, out: [f"--model_dir={bad}", "--port=0"]),
    ),
    "corpus.embed": (
        Input("input_pattern", (MISSING,), lambda bad, f, out: [
            "--model=speech_embedding", f"--input_pattern={bad}", f"--output_dir={out}/c"]),
        Input("model_dir", FOLDER, lambda bad, f, out: [
            "--model=vggish", f"--model_dir={bad}", f"--input_pattern={f.ok_wav}",
            f"--output_dir={out}/c"]),
    ),
    "corpus.train_classifier": (
        Input("records", FILE, lambda bad, f, out: [
            f"--records={bad}", "--num_classes=2", f"--output={out}/c.keras"]),
    ),
    "wakeword.listen": (
        Input("model", FOLDER, lambda bad, f, out: [f"--model_dir={bad}", f"--input={f.ok_wav}"]),
        Input("input", STREAM, lambda bad, f, out: [
            f"--model_dir={f.wakeword_model}", f"--input={bad}"], slow=True,
              always=(ONE_SECOND, SHORT_STDIN)),
        # --owner is checked before the wake-word model is read.
        Input("owner database", FILE, lambda bad, f, out: [
            f"--model_dir={f.unread_model}", f"--input={f.ok_wav}", f"--owner={bad}:ann",
            f"--speaker_model_dir={f.speaker_model}"]),
        Input("speaker_model_dir", FOLDER, lambda bad, f, out: [
            f"--model_dir={f.unread_model}", f"--input={f.ok_wav}", f"--owner={f.speaker_db}:ann",
            f"--speaker_model_dir={bad}"]),
    ),
    "wakeword.score": (
        Input("model", FOLDER, lambda bad, f, out: [
            f"--model_dir={bad}", f"--input={f.ok_wav}", f"--output={out}/s.csv"]),
        Input("input", SCORED_FILE, lambda bad, f, out: [
            f"--model_dir={f.wakeword_model}", f"--input={bad}", f"--output={out}/s.csv"],
              slow=True, always=(ONE_SECOND,)),
    ),
    "wakeword.evaluate": (
        Input("model", FOLDER, lambda bad, f, out: [f"--model_dir={bad}"]),
    ),
}


@dataclasses.dataclass(frozen=True)
class Case:
    module: str
    input: Input
    bad: BadInput

    @property
    def id(self) -> str:
        return f"{self.module}-{self.input.name.replace(' ', '_')}-{self.bad.name}"


def all_cases() -> list[Case]:
    return [Case(module, put, bad) for module, inputs in ENTRY_POINTS.items()
            for put in inputs for bad in put.kind]


def default_cases() -> list[Case]:
    """One class per input: of those that apply, the one given least so far down the table,
    so that every class runs somewhere; and the classes an input runs `always`, slow or not."""
    cases, given = [], {}
    for module, inputs in ENTRY_POINTS.items():
        for put in inputs:
            picked = [] if put.slow else [
                min(put.kind, key=lambda candidate: given.get(candidate.name, 0))]
            for bad in dict.fromkeys([*picked, *put.always]):
                given[bad.name] = given.get(bad.name, 0) + 1
                cases.append(Case(module, put, bad))
    return cases


DEFAULT_IDS = {case.id for case in default_cases()}
CASES = [pytest.param(case, id=case.id,
                      marks=() if case.id in DEFAULT_IDS else pytest.mark.slow)
         for case in all_cases()]


# --- running ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Outcome:
    command: list[str]
    path: str  # what the error line must name
    returncode: int
    stderr: str
    left: list[str]  # what the run left in its scratch folder (its outputs' parent)


def run(case: Case, files: Files) -> Outcome:
    scratch = files.path(f"out.{case.id}")
    os.makedirs(scratch)
    bad = files.bad(case.input.kind, case.bad, case.id)
    stdin = ({"stdin": subprocess.DEVNULL} if case.bad.stdin is None
             else {"input": case.bad.stdin})
    cache = bad if case.bad is NO_WEIGHTS else files.path(f"cache.{case.id}")
    # Nothing is downloaded: an empty cache, and VGGish's mirror on a port nobody serves.
    env = dict(os.environ, EARSHOT_CACHE=cache, VGGISH_BASE_URL="http://127.0.0.1:9/",
               PYTHONPATH=ROOT)
    env.pop("EARSHOT_VERBOSE", None)
    command = [sys.executable, "-m", case.module, *case.input.arguments(bad, files, scratch)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=TIMEOUT_SECONDS, **stdin)
    return Outcome(command, "stdin" if bad == "-" else bad, result.returncode, result.stderr,
                   sorted(os.listdir(scratch)))


@pytest.fixture(scope="session")
def outcomes(request, tmp_path_factory) -> dict[str, Outcome]:
    """Runs every selected case, WORKERS at a time; case id -> outcome."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_bad_input_gives_one_error_line"]
    files = Files(str(tmp_path_factory.mktemp("cli_errors")))
    for case in selected:  # good inputs are made here, before the processes start
        case.input.arguments(files.path("probe"), files, files.path("probe"))
    try:
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            futures = {case.id: pool.submit(run, case, files) for case in selected}
        return {name: future.result() for name, future in futures.items()}
    finally:
        files.close()


# --- tests ------------------------------------------------------------------------------------

def test_every_entry_point_is_in_the_table():
    found = programs.discovered_entry_points()
    assert not found - set(ENTRY_POINTS), "entry points without a row in ENTRY_POINTS"
    assert not set(ENTRY_POINTS) - found, "rows of ENTRY_POINTS that are not entry points"


def test_the_default_suite_covers_every_class():
    assert {case.bad for case in default_cases()} == {case.bad for case in all_cases()}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_error_line(case, outcomes):
    outcome = outcomes[case.id]
    report = f"{' '.join(outcome.command)}\nexit {outcome.returncode}, stderr:\n{outcome.stderr}"
    lines = outcome.stderr.splitlines()
    assert "Traceback" not in outcome.stderr, report
    assert outcome.returncode == 2, report
    assert len(lines) == 1 and lines[0].startswith("error: "), report
    assert outcome.path in lines[0], report
    # The problem is said in words, not only in the bad input's name ("x.directory.wav").
    assert re.search(case.bad.problem, lines[0].replace(outcome.path, ""), re.IGNORECASE), report
    assert not outcome.left, f"a failed run left {outcome.left}\n{report}"


@pytest.mark.parametrize("module, arguments", [
    ("speech_embedding.embed", ["--output=out.npz"]),
    ("vggish.embed", ["--input=a.wav", "--output=out.npz", "--no_such_flag"]),
])
def test_flag_errors_keep_absl_usage_message(module, arguments, tmp_path):
    result = subprocess.run([sys.executable, "-m", module, *arguments], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                            text=True, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 1, result.stderr
    assert "FATAL Flags parsing error" in result.stderr, result.stderr
    assert "Pass --helpshort or --helpfull to see help on flags." in result.stderr
    assert "Traceback" not in result.stderr
