"""Runs describe themselves: two architectures trained by the `train` CLI, then frozen,
exported and played by every downstream tool given only the run folder (and an output path)."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from earshot import fileio
from speech_commands import (classifier, dataset, features, settings, spotter_runtime,
                             synthetic_dataset)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ["yes", "no"]
SPLIT_FLAGS = ["--validation_percentage=25", "--testing_percentage=25"]
ARCHITECTURES = ("single_fc", "embedding_head")


def run(module, *args, env=None, expect=0):
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                            text=True, cwd=ROOT, timeout=900, env={**os.environ, **(env or {})})
    assert result.returncode == expect, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A small dataset and one run folder per architecture, trained through the CLI."""
    from speech_embedding import pretrained
    pretrained.fetch()
    root = tmp_path_factory.mktemp("runs")
    cache = root / "cache"  # embeddings of this dataset stay out of the user's cache
    cache.mkdir()
    os.symlink(fileio.cache_dir("speech_embedding"), cache / "speech_embedding")
    data_dir = str(root / "speech")
    synthetic_dataset.synthesize(data_dir, WORDS, ["cat"], speakers=12, background_seconds=4.0,
                                 validation_percentage=25, testing_percentage=25, seed=5)
    folders = {}
    for architecture in ARCHITECTURES:
        folders[architecture] = str(root / architecture)
        run("speech_commands.train", f"--data_dir={data_dir}", "--data_url=",
            f"--train_dir={folders[architecture]}", f"--summaries_dir={root / 'logs'}",
            f"--model_architecture={architecture}", "--wanted_words=yes,no",
            "--how_many_training_steps=4", "--learning_rate=0.001", "--optimizer=adam",
            "--batch_size=8", "--eval_step_interval=4", "--save_step_interval=4",
            *SPLIT_FLAGS, env={"EARSHOT_CACHE": str(cache)})
    return {"data_dir": data_dir, "folders": folders, "cache": str(cache)}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_train_writes_the_run_settings(runs, architecture):
    folder = runs["folders"][architecture]
    run_settings = settings.read(folder)
    assert run_settings.model_architecture == architecture
    assert run_settings.labels == ("_silence_", "_unknown_", "yes", "no")
    preprocess = "embedding" if architecture == "embedding_head" else "mfcc"
    assert run_settings.model_settings == features.model_settings(4, 16000, 1000, 30, 10, 40,
                                                                   preprocess)
    assert run_settings.training.data_dir == os.path.abspath(runs["data_dir"])
    assert run_settings.training.validation_percentage == 25 and run_settings.training.seed == 0
    with open(os.path.join(folder, settings.SETTINGS_NAME)) as settings_file:
        assert json.load(settings_file)["model_settings"]["fingerprint_size"] == (
            run_settings.model_settings.fingerprint_size)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_freeze_and_label_wav_from_the_run_folder(runs, architecture, tmp_path):
    folder = runs["folders"][architecture]
    export_dir = os.path.join(folder, spotter_runtime.EXPORT_DIR_NAME)
    run("speech_commands.freeze", f"--train_dir={folder}", f"--output_file={tmp_path / 'g.pb'}",
        f"--tflite_dir={export_dir}", env={"EARSHOT_CACHE": runs["cache"]})
    labels = os.path.join(export_dir, dataset.TFLITE_LABELS_NAME)
    assert dataset.read_labels(labels) == ["_silence_", "_unknown_", "yes", "no"]
    wav = sorted(os.listdir(os.path.join(runs["data_dir"], "yes")))[0]
    wav = os.path.join(runs["data_dir"], "yes", wav)
    tops = []
    for model in (tmp_path / "g.pb", os.path.join(export_dir, classifier.TFLITE_MODEL_NAME)):
        output = run("speech_commands.label_wav", f"--graph={model}", f"--labels={labels}",
                     f"--wav={wav}", "--how_many_labels=4").stdout
        tops.append(re.findall(r"^(\S+) \(score = (\d\.\d{5})\)$", output, re.MULTILINE))
    assert len(tops[0]) == 4 and tops[0] == tops[1]
    # A flag that contradicts the run is one error line, not a wrong model.
    result = run("speech_commands.freeze", f"--train_dir={folder}", "--wanted_words=yes,up",
                 f"--output_file={tmp_path / 'other.pb'}", expect=2)
    assert result.stderr.startswith("error: ") and "--wanted_words=yes,no, not yes,up" in (
        result.stderr) and "Traceback" not in result.stderr


@pytest.mark.slow
def test_streaming_tools_from_the_run_folder(runs):
    folder = runs["folders"]["single_fc"]
    run("speech_commands.freeze", f"--train_dir={folder}",
        f"--tflite_dir={os.path.join(folder, spotter_runtime.EXPORT_DIR_NAME)}")
    run("speech_commands.generate_streaming_test_wav", f"--train_dir={folder}",
        "--test_duration_seconds=12")
    assert os.path.isfile(os.path.join(folder, "streaming_test_labels.txt"))
    output = run("speech_commands.streaming_accuracy", f"--train_dir={folder}",
                 "--clip_stride_ms=200").stdout
    assert re.search(r"^\d+\.\d% matched, \d+\.\d% correctly, \d+\.\d% wrongly, "
                     r"\d+\.\d% false positives$", output, re.MULTILINE)


@pytest.mark.slow
def test_keyword_spotter_exports_and_listens_from_the_run_folder(runs, tmp_path):
    import tensorflow as tf
    import tensorflow_hub as hub
    folder = runs["folders"]["embedding_head"]
    env = {"EARSHOT_CACHE": runs["cache"]}
    printed = run("speech_commands.export_kws", f"--model_dir={folder}", env=env).stdout
    export_dir = os.path.join(folder, spotter_runtime.EXPORT_DIR_NAME)
    assert f"streaming: {os.path.join(export_dir, spotter_runtime.STREAMING_MODEL_NAME)}" in (
        printed)
    hub_dir = tmp_path / "hub" / "1"
    run("export.hub", "--model=keyword_spotter", "--format=saved_model_2",
        f"--model_dir={folder}", f"--output_dir={hub_dir}", env=env)
    clip = dataset.load_clip(os.path.join(runs["data_dir"], "no", sorted(os.listdir(
        os.path.join(runs["data_dir"], "no")))[0]), 16000, 16000)
    scores = hub.load(str(hub_dir)).signatures["serving_default"](
        default=tf.constant(clip[np.newaxis]))["default"].numpy()[0]
    android = classifier.Classifier(os.path.join(export_dir, classifier.TFLITE_MODEL_NAME))
    np.testing.assert_allclose(scores, android.scores(clip, 16000), atol=1e-4)
    stream = np.concatenate([np.zeros(16000, np.float32), clip, np.zeros(24000, np.float32)])
    wav = str(tmp_path / "stream.wav")
    from earshot import audio
    audio.write_wav(wav, stream, 16000)
    from_run = run("speech_commands.listen", f"--model_dir={folder}", f"--input={wav}",
                   "--detection_threshold=0").stdout
    from_export = run("speech_commands.listen", f"--model_dir={export_dir}", f"--input={wav}",
                      "--detection_threshold=0").stdout
    assert from_run == from_export and re.match(r"^ +\d+\.\d{3} s  \S+  \(score", from_run)
