"""speech_commands end to end: train CLI, exact resume, freeze, Android TFLite, streaming."""

import glob
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import tensorflow as tf

import numerics
from earshot import audio, litert
from speech_commands import (accuracy_utils, classifier, dataset, detection, features,
                             inference_export, label_wav, recognize_commands, run_folder, settings,
                             synthetic_dataset, training)
from speech_commands.reference import input_data

WORDS = ["yes", "no"]
UNKNOWN = ["cat", "dog"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A quarter of the speakers each for validation and testing, so those sets hold 3-4 voices.
SPLIT_FLAGS = ["--validation_percentage=25", "--testing_percentage=25"]
TRAIN_FLAGS = ["--model_architecture=tiny_conv", "--how_many_training_steps=60,20",
               "--learning_rate=0.003,0.001", "--optimizer=momentum", "--batch_size=32",
               "--eval_step_interval=40", "--save_step_interval=40", "--wanted_words=yes,no",
               "--data_url=", "--seed=1", *SPLIT_FLAGS]


def run(module, *args, timeout=600):
    """Runs `python -m speech_commands.<module>` and returns its combined output."""
    result = subprocess.run([sys.executable, "-m", f"speech_commands.{module}", *args],
                            capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A dataset, a trained tiny_conv (through the train CLI) and its frozen files."""
    root = tmp_path_factory.mktemp("sc_pipeline")
    data_dir = str(root / "speech")
    synthetic_dataset.synthesize(data_dir, WORDS, UNKNOWN, speakers=16, repetitions=2,
                          background_seconds=8.0, validation_percentage=25,
                          testing_percentage=25, seed=2)
    train_dir, summaries = str(root / "train"), str(root / "logs")
    log = run("train", f"--data_dir={data_dir}", f"--train_dir={train_dir}",
              f"--summaries_dir={summaries}", *TRAIN_FLAGS)
    checkpoint = os.path.join(train_dir, "tiny_conv.ckpt-80")
    run("freeze", f"--start_checkpoint={checkpoint}", "--model_architecture=tiny_conv",
        "--wanted_words=yes,no", f"--output_file={root / 'frozen.pb'}",
        f"--tflite_dir={root / 'android'}", f"--data_dir={data_dir}")
    return {"root": root, "data_dir": data_dir, "train_dir": train_dir, "summaries": summaries,
            "log": log, "checkpoint": checkpoint}


def test_train_cli_logs_like_the_reference(workdir):
    log = workdir["log"]
    assert "Training from step: 1 " in log
    assert re.search(r"Step #1: rate 0\.003000, accuracy \d+\.\d%, cross entropy \d+\.\d{6}", log)
    assert "Step #61: rate 0.001000" in log
    assert re.search(r"Confusion Matrix:\n \[\[", log)
    assert re.search(r"Step 40: Validation accuracy = \d+\.\d% \(N=\d+\)", log)
    assert f'Saving to "{workdir["train_dir"]}/tiny_conv.ckpt-80"' in log
    assert re.search(r"Final test accuracy = \d+\.\d% \(N=\d+\)", log)
    accuracy = float(re.search(r"Step 80: Validation accuracy = (\d+\.\d)%", log).group(1))
    assert accuracy > 50.0  # Chance is 25% over silence, unknown, yes, no.


def test_train_cli_runs_with_batches_of_one_clip(workdir, tmp_path):
    """`--batch_size=1` gives the featurizer one shard after batches of several (issue 10:
    a retrace with fewer arguments crashed `train`); every step must log a finite loss."""
    log = run("train", f"--data_dir={workdir['data_dir']}", f"--train_dir={tmp_path / 'train'}",
              f"--summaries_dir={tmp_path / 'logs'}", "--model_architecture=tiny_conv",
              "--how_many_training_steps=6", "--learning_rate=0.001", "--batch_size=1",
              "--eval_step_interval=3", "--save_step_interval=6", "--wanted_words=yes,no",
              "--data_url=", *SPLIT_FLAGS)
    losses = [float(x) for x in re.findall(r"Step #\d+: rate [\d.]+, accuracy [\d.]+%, "
                                           r"cross entropy ([\d.]+)", log)]
    assert len(losses) == 6 and all(np.isfinite(losses)), log
    assert os.path.isfile(tmp_path / "train" / "tiny_conv.ckpt-6.index")


def test_train_writes_labels_checkpoints_summaries_and_pngs(workdir):
    train_dir = workdir["train_dir"]
    with open(os.path.join(train_dir, "tiny_conv_labels.txt")) as labels:
        assert labels.read() == "_silence_\n_unknown_\nyes\nno"
    for step in (40, 80):
        assert os.path.exists(os.path.join(train_dir, f"tiny_conv.ckpt-{step}.index"))
    for name in ("validation_confusion", "test_confusion"):
        with open(os.path.join(train_dir, f"tiny_conv_{name}.png"), "rb") as png:
            assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    tags = set()
    for event_file in glob.glob(os.path.join(workdir["summaries"], "*", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(event_file):
            tags.update(value.tag for value in event.summary.value)
    assert {"cross_entropy", "accuracy", "eval/accuracy", "eval/cross_entropy",
            "mfcc/0"} <= tags


def test_resume_continues_the_identical_run(workdir, tmp_path):
    """Steps 3-4 resumed from the step-2 checkpoint equal an uninterrupted run's steps 3-4."""
    config = settings.TrainConfig(
        data_url="", data_dir=workdir["data_dir"], wanted_words="yes,no",
        model_architecture="tiny_conv", how_many_training_steps="3,1", learning_rate="0.02,0.01",
        optimizer="momentum", batch_size=16, eval_step_interval=100, save_step_interval=2,
        validation_percentage=25, testing_percentage=25, train_dir=str(tmp_path / "a"),
        summaries_dir=str(tmp_path / "logs_a"), seed=4)
    whole = training.train(config)
    config.train_dir, config.summaries_dir = str(tmp_path / "b"), str(tmp_path / "logs_b")
    config.start_checkpoint = str(tmp_path / "a" / "tiny_conv.ckpt-2")
    resumed = training.train(config)
    assert sorted(resumed.losses) == [3, 4]
    assert resumed.losses[3] == whole.losses[3]
    assert resumed.losses[4] == whole.losses[4]
    assert resumed.test_accuracy == whole.test_accuracy


def test_resuming_another_architecture_is_a_clear_error(workdir, tmp_path):
    config = settings.TrainConfig(data_url="", data_dir=workdir["data_dir"],
                                  wanted_words="yes,no", model_architecture="single_fc",
                                  train_dir=str(tmp_path), summaries_dir=str(tmp_path / "logs"),
                                  start_checkpoint=workdir["checkpoint"])
    with pytest.raises(ValueError, match="does not hold a single_fc model"):
        training.train(config)


def test_schedule_and_flag_errors():
    steps, rates = training.parse_schedule("15000,3000", "0.001,0.0001")
    assert [training.learning_rate_at(s, steps, rates) for s in (1, 15000, 15001, 18000)] == [
        0.001, 0.001, 0.0001, 0.0001]
    with pytest.raises(ValueError, match="must be equal length lists, but are 2 and 1"):
        training.parse_schedule("1,2", "0.1")


def _app_input(wav_path):
    """What SpeechActivity feeds: 16-bit samples / 32767 into float[16000][1], and {16000}."""
    samples, rate = soundfile.read(wav_path, dtype="int16")
    assert rate == 16000
    recording = np.zeros(16000, np.int16)
    recording[:len(samples)] = samples[:16000]
    return (recording / 32767.0).astype(np.float32).reshape(16000, 1), np.array([16000], np.int32)


def _training_clip(workdir, word):
    processor = input_data.AudioProcessor("", workdir["data_dir"], 10, 10, WORDS, 25, 25,
                                          features.model_settings(4, 16000, 1000, 30, 10, 40,
                                                                  "mfcc"))
    return next(e["file"] for e in processor.data_index["training"] if e["label"] == word)


@pytest.mark.numerics
@pytest.mark.parametrize("model_name", [classifier.TFLITE_MODEL_NAME,
                                        classifier.TFLITE_INT8_MODEL_NAME])
def test_android_tflite_contract_and_label(workdir, model_name):
    android = workdir["root"] / "android"
    interpreter = litert.load(android / model_name)
    interpreter.resize_tensor_input(0, [16000, 1])  # As the app does before running.
    interpreter.resize_tensor_input(1, [1])
    interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    assert [(d["dtype"], list(d["shape"])) for d in inputs] == [(np.float32, [16000, 1]),
                                                               (np.int32, [1])]
    assert len(outputs) == 1 and outputs[0]["dtype"] == np.float32
    assert list(outputs[0]["shape"]) == [1, 4]
    # The app's labels: every line kept as is, indices match the model output.
    with open(android / dataset.TFLITE_LABELS_NAME) as labels_file:
        labels = labels_file.read().split("\n")
    assert labels == ["_silence_", "_unknown_", "yes", "no"]
    # The app shows lines not starting with "_" and maps a hit to its button by index - 2.
    assert [label for label in labels if not label.startswith("_")] == WORDS
    for word in WORDS:
        audio, rate = _app_input(_training_clip(workdir, word))
        interpreter.set_tensor(inputs[0]["index"], audio)
        interpreter.set_tensor(inputs[1]["index"], rate)
        interpreter.invoke()
        scores = interpreter.get_tensor(outputs[0]["index"])[0]
        # int8 softmax comes in steps of 1/256: each score within half a step.
        numerics.assert_within_steps(scores.sum(), 1.0, step=1 / 256, steps=len(scores) / 2,
                                     what="sum of the int8 scores")
        assert labels[int(np.argmax(scores))] == word
        assert WORDS[int(np.argmax(scores)) - 2] == word


@pytest.mark.numerics
def test_tflite_frozen_graph_and_keras_agree(workdir):
    """The float TFLite model, the frozen graph fed WAV bytes, and Keras give the same scores."""
    model, run = run_folder.load_model(workdir["checkpoint"])
    assert run.model_settings == features.model_settings(4, 16000, 1000, 30, 10, 40, "mfcc")
    wav = _training_clip(workdir, "no")
    processor = input_data.AudioProcessor("", workdir["data_dir"], 10, 10, WORDS, 25, 25,
                                          run.model_settings)
    keras_scores = tf.nn.softmax(model(processor.fingerprint_for_wav(wav))).numpy()[0]
    tflite = classifier.Classifier(str(workdir["root"] / "android" /
                                       classifier.TFLITE_MODEL_NAME))
    graph_scores = label_wav.scores_from_wav_bytes(str(workdir["root"] / "frozen.pb"), wav,
                                                   "wav_data:0", "labels_softmax:0")
    frozen = classifier.Classifier(str(workdir["root"] / "frozen.pb"))
    # One function (MFCC front end, network, softmax) on three runtimes.
    terms = numerics.network_terms(model) + numerics.front_end_terms(
        run.model_settings.window_size_samples, run.model_settings.fingerprint_width)
    for name, scores in [("TFLite", tflite.scores_for_file(wav)), ("frozen graph", graph_scores),
                         ("frozen graph classifier", frozen.scores_for_file(wav))]:
        numerics.assert_float32_rounding(scores, keras_scores, terms=terms,
                                         scale=numerics.logit_scale(keras_scores),
                                         what=f"{name} and Keras")


def test_label_wav_cli_prints_top_labels(workdir):
    wav = _training_clip(workdir, "yes")
    output = run("label_wav", f"--graph={workdir['root'] / 'frozen.pb'}", f"--wav={wav}",
                 f"--labels={workdir['train_dir']}/tiny_conv_labels.txt", "--how_many_labels=2")
    lines = re.findall(r"^(\S+) \(score = (\d\.\d{5})\)$", output, re.MULTILINE)
    assert len(lines) == 2 and lines[0][0] == "yes"


def test_freeze_rejects_a_checkpoint_of_another_architecture(workdir, tmp_path):
    with pytest.raises(ValueError, match="does not hold a conv model"):
        run_folder.load_model(workdir["checkpoint"], model_architecture="conv")
    result = subprocess.run(
        [sys.executable, "-m", "speech_commands.freeze", f"--train_dir={workdir['train_dir']}",
         "--model_architecture=conv", f"--output_file={tmp_path / 'frozen.pb'}"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if line.startswith("error:")]
    assert "does not hold a conv model" in result.stderr and "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "frozen.pb")


def test_streaming_tools_print_figures_and_write_roc(workdir):
    root = workdir["root"]
    run("generate_streaming_test_wav", f"--data_dir={workdir['data_dir']}", "--wanted_words=yes,no",
        *SPLIT_FLAGS,
        f"--output_audio_file={root / 'stream.wav'}",
        f"--output_labels_file={root / 'stream_labels.txt'}", "--test_duration_seconds=30")
    truth = accuracy_utils.read_ground_truth_file(str(root / "stream_labels.txt"))
    assert len(truth) == 10  # One word every 1 s + 2 s gap.
    assert {label for label, _ in truth} <= {"yes", "no", "_unknown_"}
    assert soundfile.info(str(root / "stream.wav")).duration == 30.0
    output = run("streaming_accuracy", f"--wav={root / 'stream.wav'}",
                 f"--ground_truth={root / 'stream_labels.txt'}",
                 f"--graph={root / 'android' / classifier.TFLITE_MODEL_NAME}",
                 f"--labels={root / 'android' / dataset.TFLITE_LABELS_NAME}",
                 "--clip_stride_ms=100", f"--roc_png={root / 'roc.png'}", "--verbose")
    assert re.search(r"^\d+\.\d% matched, \d+\.\d% correctly, \d+\.\d% wrongly, "
                     r"\d+\.\d% false positives$", output, re.MULTILINE)
    with open(root / "roc.png", "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def test_recognize_commands_averages_and_suppresses():
    labels = ["_silence_", "_unknown_", "yes", "no"]
    recognizer = recognize_commands.RecognizeCommands(labels, 1000, 0.5, 500, 3)
    yes = np.array([0.0, 0.1, 0.8, 0.1])
    results = [recognizer.process_latest_result(yes, t) for t in (0, 100, 200, 300)]
    # Too few results / too short a window first, then a new command, then no repeat.
    assert [r.is_new_command for r in results] == [False, False, False, True]
    assert results[3].founded_command == "yes" and results[3].score == pytest.approx(0.8)
    no = np.array([0.0, 0.1, 0.0, 0.9])
    later = [recognizer.process_latest_result(no, t) for t in range(1400, 2000, 100)]
    assert any(r.is_new_command and r.founded_command == "no" for r in later)
    with pytest.raises(ValueError, match="should contain 4 elements"):
        recognizer.process_latest_result(np.ones(3), 3000)
    with pytest.raises(ValueError, match="increasing time order"):
        recognizer.process_latest_result(yes, 10)


def test_accuracy_stats_match_by_time_tolerance(tmp_path):
    path = tmp_path / "truth.txt"
    path.write_text("yes, 1000.0\nno, 4000.4\nbad line\nyes, 7000\n")
    truth = accuracy_utils.read_ground_truth_file(str(path))
    assert truth == [("yes", 1000), ("no", 4000), ("yes", 7000)]
    found = [("yes", 1200), ("yes", 4100), ("no", 9000)]
    stats = accuracy_utils.calculate_accuracy_stats(truth, found, -1, 750)
    assert (stats.how_many_ground_truth_words, stats.how_many_ground_truth_matched,
            stats.how_many_correct_words, stats.how_many_wrong_words,
            stats.how_many_false_positives) == (3, 2, 1, 1, 1)
    assert stats.summary() == ("66.7% matched, 33.3% correctly, 33.3% wrongly, "
                               "33.3% false positives")


def test_streaming_detection_finds_words_in_known_scores():
    labels = ["_silence_", "_unknown_", "yes", "no"]
    times = np.arange(0, 6000, 30)
    scores = np.tile([0.9, 0.1, 0.0, 0.0], (len(times), 1))
    scores[(times >= 1000) & (times < 1600)] = [0.0, 0.0, 1.0, 0.0]
    scores[(times >= 4000) & (times < 4600)] = [0.0, 0.0, 0.0, 1.0]
    found = detection.detect(labels, times, scores, detection.DetectionSettings())
    assert [label for label, _, _ in found] == ["yes", "no"]
    stats = detection.evaluate(labels, times, scores, [("yes", 1000), ("no", 4000)],
                               detection.DetectionSettings())
    assert stats.how_many_correct_words == 2 and stats.how_many_false_positives == 0


@pytest.mark.numerics
def test_saved_model_format_serves_fingerprints_and_audio(workdir, tmp_path):
    model, run = run_folder.load_model(workdir["checkpoint"])
    module = inference_export.InferenceModule(model, run.model_settings)
    inference_export.write_saved_model(module, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    audio, rate = _app_input(_training_clip(workdir, "yes"))
    from_audio = loaded.signatures["from_audio"](audio=audio, sample_rate=rate)
    fingerprint = features.compute(tf.constant(audio), tf.constant(16000), run.model_settings)
    from_fingerprint = loaded.signatures["serving_default"](input=tf.reshape(fingerprint,
                                                                             [1, -1]))
    # The same front end and network in one graph or two.
    numerics.assert_float32_rounding(
        from_audio["labels_softmax"], from_fingerprint["output"],
        terms=numerics.network_terms(model) + numerics.front_end_terms(
            run.model_settings.window_size_samples, run.model_settings.fingerprint_width),
        scale=numerics.logit_scale(from_fingerprint["output"]),
        what="from_audio and serving_default")
    assert int(np.argmax(from_audio["labels_softmax"])) == 2  # yes


def test_label_wav_reads_flac_and_names_a_corrupt_file(workdir, tmp_path):
    wav = _training_clip(workdir, "no")
    samples, rate = soundfile.read(wav)
    flac = str(tmp_path / "no.flac")
    soundfile.write(flac, samples, rate)
    frozen = str(workdir["root"] / "frozen.pb")
    labels = f"{workdir['train_dir']}/tiny_conv_labels.txt"
    top = label_wav.label_wav(flac, labels, frozen, "wav_data:0", "labels_softmax:0", 1)
    assert top[0] == label_wav.label_wav(wav, labels, frozen, "wav_data:0", "labels_softmax:0",
                                         1)[0]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(audio.AudioError, match="broken.wav: cannot decode"):
        label_wav.label_wav(str(broken), labels, frozen, "wav_data:0", "labels_softmax:0", 1)
