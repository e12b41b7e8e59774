"""Programs are quiet by default (issue 10): progress, results, their own lines and warnings;
TensorFlow's chatter only with `--verbosity=1` or `EARSHOT_VERBOSE=1`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import numpy as np

from earshot import audio, progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TensorFlow's banner while it loads, and a line of absl's C++ or Python log format.
TF_BANNER = re.compile(r"oneDNN custom operations|cuda drivers|absl::InitializeLog")
LOG_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)


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
    assert not TF_BANNER.search(quiet.stderr) and not LOG_LINE.search(quiet.stderr), quiet.stderr
    for verbose in (run("speech_embedding.embed", *arguments, EARSHOT_VERBOSE="1"),
                    run("speech_embedding.embed", *arguments, "--verbosity=1")):
        assert verbose.returncode == 0, verbose.stderr
        assert TF_BANNER.search(verbose.stderr), verbose.stderr
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
