"""Every writer and every tool that writes a file, given each kind of output name (issue 19).

An output name is answered in one of two ways: the file written whole under exactly the name
given (and read back), or one line on stderr, `error: <path>: <problem>`, exit status 2,
before any work where the name alone decides it. Either way no temporary file is left beside
the output (`earshot.fileio`: writers write into a private staging folder that is removed).

The cases: a name without an extension (`np.savez` used to add `.npz` to the staging name and
publish an empty placeholder), a name with another extension, an existing folder, a folder on
a read-only file system, and a full device during the write. The last two are real: a tmpfs
mounted read-only, and one filled to its last block before the write. Mounting needs root (as
here and in CI); without it those cases are skipped, saying why.

`WRITERS` runs every writer the project hands `atomic_file`/`atomic_open` in this process,
every case in the default suite (seconds). `TOOLS` runs every tool that writes a file named
by a flag, and every tool that writes a folder, in a subprocess, two at a time, on a 1 s clip
and tiny untrained models (about 6 s of CPU each, mostly importing TensorFlow). The default
suite runs every case of `speech_embedding.embed` and at least one of every other tool
(`Tool.default`); the slow sweep runs every case.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import errno
import functools
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from typing import Callable

import numpy as np
import pytest
import soundfile

import programs
from earshot import audio, fileio

ROOT = programs.ROOT
WORKERS = 2
TIMEOUT_SECONDS = 300
TMPFS_SIZE = "256k"


# --- output-name cases ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NameCase:
    """One kind of output name, and what the error line says when it is refused."""

    name: str
    problem: str  # regex the error line must match besides the path (case-insensitive)


NO_EXTENSION = NameCase("no_extension", r"must end in|cannot tell the format")
OTHER_EXTENSION = NameCase("other_extension", r"must end in|cannot tell the format")
FOLDER = NameCase("folder", r"is a folder")
READ_ONLY = NameCase("read_only", r"read-only file system")
FULL_DISK = NameCase("full_disk", r"no space left")
NAME_CASES = (NO_EXTENSION, OTHER_EXTENSION, FOLDER, READ_ONLY, FULL_DISK)
# Where the name alone decides: these are refused by every writer and every tool.
REFUSED = (FOLDER, READ_ONLY, FULL_DISK)


def _mount_tmpfs(folder: str, options: str) -> str | None:
    """Mounts a tmpfs on `folder`; returns why not if it cannot (not root, no mount)."""
    os.makedirs(folder)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", folder], check=True,
                       capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        return f"cannot mount a tmpfs ({getattr(error, 'stderr', None) or error})"
    return None


def _fill(folder: str) -> None:
    """Writes zeros into `folder` until its device has no free block left."""
    with open(os.path.join(folder, "filler"), "wb", buffering=0) as filler:
        try:
            while filler.write(b"\0" * 4096):
                pass
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    assert os.statvfs(folder).f_bavail == 0


@dataclasses.dataclass(frozen=True)
class Places:
    """Where each case's output goes: a scratch folder, a read-only tmpfs, a full tmpfs.

    A mount that failed is None, with the reason in `unavailable`.
    """

    scratch: str
    read_only: str | None
    full: str | None
    unavailable: str = ""

    def output(self, case: NameCase, label: str, extension: str) -> str | None:
        """The output path of `case` for the writer or tool `label` (None: no such place).

        Each case and label gets a folder of its own, so a stray file is seen as its own.
        """
        base = {READ_ONLY: self.read_only, FULL_DISK: self.full}.get(case, self.scratch)
        if base is None:
            return None
        folder = os.path.join(base, re.sub(r"[^\w.]+", "_", f"{label}-{case.name}"))
        if case is not READ_ONLY:
            os.makedirs(folder)
        name = {NO_EXTENSION: "out", OTHER_EXTENSION: "out.data"}.get(case, f"out{extension}")
        path = os.path.join(folder, name)
        if case is FOLDER:
            os.makedirs(path)
        return path


@pytest.fixture(scope="session")
def places(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("bad_outputs"))
    read_only, full = os.path.join(root, "read_only"), os.path.join(root, "full")
    why_not = [_mount_tmpfs(read_only, f"ro,size={TMPFS_SIZE}"),
               _mount_tmpfs(full, f"size={TMPFS_SIZE}")]
    try:
        if why_not[1] is None:
            _fill(full)
        scratch = os.path.join(root, "scratch")
        os.makedirs(scratch)
        yield Places(scratch, read_only if why_not[0] is None else None,
                     full if why_not[1] is None else None, "; ".join(filter(None, why_not)))
    finally:
        for folder, failed in zip((read_only, full), why_not):
            if failed is None:
                subprocess.run(["umount", folder], check=True)


def _left_in(folder: str, expected: set[str]) -> list[str]:
    """Entries of `folder` besides `expected` (a stray staging folder or file)."""
    return sorted(set(os.listdir(folder)) - expected) if os.path.isdir(folder) else []


# --- writers ----------------------------------------------------------------------------------

ARRAY = np.arange(3000, dtype=np.float32).reshape(1000, 3) / 3000
WAVEFORM = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) * 0.5
RECORDS = [b"first", b"second record", b"\0" * 100]


def _staged(write: Callable[[str], None]) -> Callable[[str], None]:
    """A writer given the staging name of `fileio.atomic_file`."""

    def atomically(path: str) -> None:
        with fileio.atomic_file(path) as staging:
            write(staging)

    return atomically


def _write_json(path: str) -> None:
    with fileio.atomic_open(path, "w") as out:
        json.dump({"values": ARRAY[:5].tolist()}, out)


def _read_json(path: str) -> None:
    with open(path) as table:
        assert json.load(table) == {"values": ARRAY[:5].tolist()}


def _write_tfrecord(staging: str) -> None:
    import tensorflow as tf
    with tf.io.TFRecordWriter(staging) as writer:
        for record in RECORDS:
            writer.write(record)


def _read_tfrecord(path: str) -> None:
    import tensorflow as tf
    assert [r.numpy() for r in tf.data.TFRecordDataset(path)] == RECORDS


def _write_png_bytes(staging: str) -> None:
    import tensorflow as tf
    tf.io.write_file(staging, tf.io.encode_png(np.full([4, 5, 1], 7, np.uint8)))


def _read_png_bytes(path: str) -> None:
    import tensorflow as tf
    image = tf.io.decode_png(tf.io.read_file(path)).numpy()
    assert image.shape == (4, 5, 1) and (image == 7).all()


def _write_archive(path: str) -> None:
    from export import archive
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "saved_model.pb"), "wb") as f:
            f.write(b"model bytes")
        archive.write(folder, path)


def _read_archive(path: str) -> None:
    with tarfile.open(path, "r:gz") as tar:
        assert tar.extractfile("./saved_model.pb").read() == b"model bytes"


@functools.cache
def _tiny_keras_model():
    import keras
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input([3]), keras.layers.Dense(2)])


def _read_keras_weights(path: str) -> None:
    import keras
    model = keras.models.clone_model(_tiny_keras_model())
    model.load_weights(path)
    for loaded, saved in zip(model.get_weights(), _tiny_keras_model().get_weights()):
        np.testing.assert_array_equal(loaded, saved)


def _read_keras_model(path: str) -> None:
    import keras
    model = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(ARRAY[:4], verbose=0),
                                  _tiny_keras_model().predict(ARRAY[:4], verbose=0))


def _write_figure(staging: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    figure = plt.figure(figsize=(2, 1))
    figure.gca().plot(ARRAY[:, 0])
    try:
        figure.savefig(staging, dpi=50)
    finally:
        plt.close(figure)


def _read_figure(path: str) -> None:
    from matplotlib import image
    assert image.imread(path, format="png").shape == (50, 100, 4)


def _read_wav(path: str) -> None:
    samples, rate = soundfile.read(path, dtype="float32")
    assert rate == 16000 and soundfile.info(path).format == "WAV"
    np.testing.assert_allclose(samples, WAVEFORM, atol=1 / 32768)  # 16-bit PCM's step


@dataclasses.dataclass(frozen=True)
class Writer:
    """A writer the project gives a staging name (or an open file), as the project uses it.

    `names`: the name cases it writes whole; it refuses the others before writing (a writer
    that picks its format by the name, given one it does not know).
    """

    extension: str
    write: Callable[[str], None]  # writes the output, atomically, at the given path
    read: Callable[[str], None]  # reads it back, failing unless it is whole
    names: tuple[NameCase, ...] = (NO_EXTENSION, OTHER_EXTENSION)


WRITERS = {
    "np.savez": Writer(".npz", _staged(lambda staging: np.savez(staging, a=ARRAY)),
                       lambda path: np.testing.assert_array_equal(np.load(path)["a"], ARRAY)),
    "np.save": Writer(".npy", _staged(lambda staging: np.save(staging, ARRAY)),
                      lambda path: np.testing.assert_array_equal(np.load(path), ARRAY)),
    "soundfile (audio.write_wav)": Writer(
        ".wav", lambda path: audio.write_wav(path, WAVEFORM, 16000), _read_wav),
    "json (atomic_open)": Writer(".json", _write_json, _read_json),
    "TFRecordWriter": Writer(".tfrecord", _staged(_write_tfrecord), _read_tfrecord),
    "tf.io.write_file (PNG)": Writer(".png", _staged(_write_png_bytes), _read_png_bytes),
    "tar.gz (export.archive)": Writer(".tar.gz", _write_archive, _read_archive),
    "matplotlib savefig": Writer(".png", _staged(_write_figure), _read_figure,
                                 names=(NO_EXTENSION,)),  # PNG by default; `.data` unknown
    "Keras save_weights": Writer(
        ".weights.h5", _staged(lambda staging: _tiny_keras_model().save_weights(staging)),
        _read_keras_weights, names=()),  # Keras wants `.weights.h5`
    "Keras model.save": Writer(
        ".keras", _staged(lambda staging: _tiny_keras_model().save(staging)),
        _read_keras_model, names=()),  # Keras wants `.keras`
}


@pytest.mark.parametrize("case", NAME_CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("label", sorted(WRITERS))
def test_writer_writes_the_name_given_or_refuses_it(label, case, places):
    writer = WRITERS[label]
    path = places.output(case, label, writer.extension)
    if path is None:
        pytest.skip(places.unavailable)
    folder = os.path.dirname(path)
    if case in REFUSED:
        with pytest.raises(fileio.OutputError, match=case.problem) as raised:
            writer.write(path)
        assert str(raised.value).startswith(f"{path}: ")
        assert _left_in(folder, {os.path.basename(path)} if case is FOLDER else set()) == []
        assert case is not FOLDER or os.listdir(path) == []
    elif case in writer.names:
        writer.write(path)
        writer.read(path)
        assert _left_in(folder, {os.path.basename(path)}) == []
    else:  # the writer itself refuses a name whose format it cannot tell, before writing
        with pytest.raises(ValueError):
            writer.write(path)
        assert _left_in(folder, set()) == []


def test_a_block_that_writes_nothing_publishes_nothing(tmp_path):
    path = tmp_path / "out.npz"
    with pytest.raises(RuntimeError, match="made 0 files"):
        with fileio.atomic_file(path):
            pass
    assert os.listdir(tmp_path) == []


def test_a_failed_write_keeps_the_old_output(tmp_path):
    path = tmp_path / "out"
    with open(path, "wb") as old:
        np.savez(old, a=ARRAY)
    with pytest.raises(ZeroDivisionError):
        with fileio.atomic_file(path) as staging:
            np.savez(staging, a=ARRAY[:1])
            1 / 0  # pylint: disable=pointless-statement
    np.testing.assert_array_equal(np.load(path)["a"], ARRAY)
    assert os.listdir(tmp_path) == ["out"]


# --- tools ------------------------------------------------------------------------------------

class Files(programs.Inputs):
    """The inputs the tools read, in `root`, and a path never read (the tool refuses its
    output before any work)."""

    def __init__(self, root: str):
        super().__init__(root)
        self.unread = self.path("never_read")


def _read_npz(size: int) -> Callable[[str, Files], None]:
    def read(path: str, files: Files) -> None:
        with np.load(path) as arrays:
            assert arrays.files == [files.ok_wav]
            rows = arrays[files.ok_wav]
            assert rows.ndim == 2 and rows.shape[1] == size and len(rows) > 0
            assert np.isfinite(rows.astype(np.float32)).all()
    return read


def _read_database(path: str, files: Files) -> None:
    from speaker_embedding import database
    assert database.read(path).speakers() == ["ann"]  # what verify and identify read


def _read_keras_classifier(path: str, files: Files) -> None:
    import keras
    assert keras.models.load_model(path).output_shape == (None, 2)


def _read_spectrogram(path: str, files: Files) -> None:
    import tensorflow as tf
    image = tf.io.decode_png(tf.io.read_file(path)).numpy()
    assert image.ndim == 3 and image.shape[2] == 1 and image.size > 0


def _read_c_source(path: str, files: Files) -> None:
    with open(path) as source:
        text = source.read()
    assert "_data[] = {" in text and text.endswith("};\n")


def _read_scores(path: str, files: Files) -> None:
    with open(path, newline="") as table:
        rows = list(csv.reader(table))
    assert rows[0] == ["file", "time_s", "score"] and len(rows) > 1
    assert all(row[0] == files.ok_wav and 0 <= float(row[2]) <= 1 for row in rows[1:])


# (output path, files) -> the tool's arguments.
Arguments = Callable[[str, Files], list[str]]


@dataclasses.dataclass(frozen=True)
class Tool:
    """A tool that writes a file named by a flag, and the cases it is given.

    `read`: reads the output back, failing unless it is whole; None for a tool whose writing
    runs are too long for this table (its outputs' writers are covered in `WRITERS`), given
    only the cases it refuses before any work. `picks_format`: the name chooses the format,
    so a name without a known extension is refused before any work. `side_files`: suffixes
    of files the tool keeps beside its output by design. `folder`: the output is a folder
    (an existing one is the `--overwrite` rule's, not this table's), given a read-only place.
    """

    extension: str
    arguments: Arguments
    read: Callable[[str, Files], None] | None
    default: tuple[NameCase, ...]
    picks_format: bool = False
    side_files: tuple[str, ...] = ()
    folder: bool = False

    @property
    def cases(self) -> tuple[NameCase, ...]:
        if self.folder:
            return (READ_ONLY,)
        if self.read is None:
            return (FOLDER, READ_ONLY) + (NAME_CASES[:2] if self.picks_format else ())
        return NAME_CASES


def _folder_tool(arguments: Arguments) -> Tool:
    """A tool that writes a folder, refused before any work on a read-only file system."""
    return Tool("", arguments, None, default=(READ_ONLY,), folder=True)


TOOLS = {
    "speech_embedding.embed": Tool(
        ".npz", lambda out, f: [f"--input={f.ok_wav}", f"--output={out}"], _read_npz(96),
        default=NAME_CASES),
    "vggish.embed": Tool(
        ".npz", lambda out, f: [f"--input={f.ok_wav}", f"--output={out}",
                                f"--model_dir={f.vggish_weights}"], _read_npz(128),
        default=(NO_EXTENSION, FULL_DISK)),
    "speaker_embedding.enroll": Tool(
        ".npz", lambda out, f: [f"--model_dir={f.speaker_model}", f"--db={out}", "--name=ann",
                                f"--input={f.ok_wav}"], _read_database,
        default=(NO_EXTENSION, READ_ONLY), side_files=(".lock",)),
    "corpus.train_classifier": Tool(
        ".keras", lambda out, f: [f"--records={f.records}", "--num_classes=2", "--epochs=1",
                                  f"--output={out}"], _read_keras_classifier,
        default=(NO_EXTENSION, FOLDER), picks_format=True),
    "speech_commands.wav_to_spectrogram": Tool(
        ".png", lambda out, f: [f"--input_wav={f.ok_wav}", f"--output_image={out}"],
        _read_spectrogram, default=(NO_EXTENSION, READ_ONLY)),
    "speech_commands.wav_to_features": Tool(
        ".c", lambda out, f: [f"--input_wav={f.ok_wav}", f"--output_c_file={out}"],
        _read_c_source, default=(OTHER_EXTENSION, FULL_DISK)),
    "wakeword.score": Tool(
        ".csv", lambda out, f: [f"--model_dir={f.wakeword_model}", f"--input={f.ok_wav}",
                                f"--output={out}"], _read_scores, default=()),
    # VGGish as a 288 MB TFLite model: only the cases refused before the conversion.
    "vggish.export_network": Tool(
        ".tflite", lambda out, f: [f"--output={out}", f"--model_dir={f.unread}"], None,
        default=(NO_EXTENSION, READ_ONLY), picks_format=True),
    # Tools whose writing runs need a trained model or an evaluation set: the refusals.
    "wakeword.score (refused)": Tool(
        ".csv", lambda out, f: [f"--model_dir={f.unread}", f"--input={f.ok_wav}",
                                f"--output={out}"], None, default=(FOLDER, READ_ONLY)),
    "wakeword.evaluate": Tool(
        ".json", lambda out, f: [f"--model_dir={f.unread}", f"--output={out}"], None,
        default=(FOLDER,)),
    "speech_commands.freeze": Tool(
        ".pb", lambda out, f: [f"--train_dir={f.unread}", f"--output_file={out}"], None,
        default=(READ_ONLY,)),
    "speech_commands.generate_streaming_test_wav": Tool(
        ".wav", lambda out, f: [f"--train_dir={f.unread}", f"--output_audio_file={out}",
                                f"--output_labels_file={f.root}/labels.never_written"], None,
        default=(FOLDER,)),
    # Tools that write a folder.
    "speech_commands.synthesize": _folder_tool(lambda out, f: [
        f"--output_dir={out}", "--words=yes", "--unknown_words=no", "--speakers=3"]),
    "speech_commands.export_kws": _folder_tool(lambda out, f: [
        f"--model_dir={f.unread}", f"--output_dir={out}"]),
    "speech_commands.freeze (tflite_dir)": _folder_tool(lambda out, f: [
        f"--train_dir={f.unread}", f"--tflite_dir={out}"]),
    "speaker_embedding.synthesize": _folder_tool(lambda out, f: [
        f"--output_dir={out}", "--speakers=2", "--utterances=1"]),
    "speaker_embedding.train": _folder_tool(lambda out, f: [
        f"--data_dir={f.unread}", f"--model_dir={out}"]),
    "speaker_embedding.evaluate": _folder_tool(lambda out, f: [
        f"--data_dir={f.unread}", f"--model_dir={f.unread}", f"--output_dir={out}"]),
    "vggish.convert": _folder_tool(lambda out, f: [
        f"--checkpoint={f.unread}", f"--pca_params={f.unread}", f"--output_dir={out}"]),
    "wakeword.train": _folder_tool(lambda out, f: [
        "--phrase=hey test", f"--output_dir={out}"]),
    "export.hub": _folder_tool(lambda out, f: [
        "--model=speech_embedding", "--format=saved_model_2", f"--output_dir={out}"]),
}


def _module(label: str) -> str:
    return label.split(" ")[0]


@dataclasses.dataclass(frozen=True)
class ToolCase:
    label: str
    case: NameCase

    @property
    def id(self) -> str:
        return f"{self.label.replace(' ', '_')}-{self.case.name}"


TOOL_CASES = [pytest.param(ToolCase(label, case), id=ToolCase(label, case).id,
                           marks=() if case in tool.default else pytest.mark.slow)
              for label, tool in TOOLS.items() for case in tool.cases]


@dataclasses.dataclass(frozen=True)
class Outcome:
    command: list[str]
    path: str | None  # None: the case's place is not available (no mount)
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


def run(tool_case: ToolCase, files: Files, places: Places) -> Outcome:
    tool = TOOLS[tool_case.label]
    path = places.output(tool_case.case, tool_case.label, tool.extension)
    if path is None:
        return Outcome([], None)
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("EARSHOT_VERBOSE", None)
    command = [sys.executable, "-m", _module(tool_case.label), *tool.arguments(path, files)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    return Outcome(command, path, result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> Files:
    return Files(str(tmp_path_factory.mktemp("bad_outputs_inputs")))


@pytest.fixture(scope="session")
def outcomes(request, files, places) -> dict[str, Outcome]:
    """Runs every selected tool case, WORKERS at a time; case id -> outcome."""
    selected = [item.callspec.params["tool_case"] for item in request.session.items
                if getattr(item, "originalname", None) == TOOL_TEST]
    for tool_case in selected:  # inputs are made here, before the processes start
        TOOLS[tool_case.label].arguments(files.unread, files)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {c.id: pool.submit(run, c, files, places) for c in selected}
    return {name: future.result() for name, future in futures.items()}


TOOL_TEST = "test_tool_writes_the_name_given_or_refuses_it"


@pytest.mark.parametrize("tool_case", TOOL_CASES)
def test_tool_writes_the_name_given_or_refuses_it(tool_case, outcomes, files, places):
    tool, case = TOOLS[tool_case.label], tool_case.case
    outcome = outcomes[tool_case.id]
    if outcome.path is None:
        pytest.skip(places.unavailable)
    report = (f"{' '.join(outcome.command)}\nexit {outcome.returncode}, stdout:\n"
              f"{outcome.stdout}\nstderr:\n{outcome.stderr}")
    name = os.path.basename(outcome.path)
    side_files = {name + suffix for suffix in tool.side_files}
    refused = case in REFUSED or (tool.picks_format and case in (NO_EXTENSION, OTHER_EXTENSION))
    if refused:
        lines = outcome.stderr.splitlines()
        assert outcome.returncode == 2 and "Traceback" not in outcome.stderr, report
        # Before any work: the error line alone. A full disk is found after the work, so
        # the work's progress lines come first.
        assert len(lines) == 1 or case is FULL_DISK, report
        assert [line for line in lines if line.startswith("error: ")] == lines[-1:], report
        assert outcome.path in lines[-1], report
        assert re.search(case.problem, lines[-1], re.IGNORECASE), report
        kept = {name} if case is FOLDER else set()
        assert _left_in(os.path.dirname(outcome.path), kept | side_files) == [], report
        assert case is not FOLDER or os.listdir(outcome.path) == [], report
    else:
        assert outcome.returncode == 0, report
        tool.read(outcome.path, files)
        assert _left_in(os.path.dirname(outcome.path), {name} | side_files) == [], report
