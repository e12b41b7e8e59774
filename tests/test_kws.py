"""Few-shot keyword spotting on the speech embedding: embedding_head training (cached
embeddings, exact resume, few speakers, fine-tuning), Android/Hub/streaming exports, listen."""

import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import numerics
from earshot import audio, fileio, litert
from speech_commands import (architectures, classifier, dataset, detection, features,
                             inference_export, run_folder, settings, spotter_runtime,
                             streaming_spotter, streaming_test_audio, synthetic_dataset, training)
from speech_commands.reference import input_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ["yes", "no", "up"]
UNKNOWN = ["cat", "dog"]
SPLIT = dict(validation_percentage=25, testing_percentage=25)
STEPS = "60,20"


def run(module, *args, stdin=None, env=None, timeout=600):
    result = subprocess.run([sys.executable, "-m", f"speech_commands.{module}", *args],
                            capture_output=True, cwd=ROOT, timeout=timeout, input=stdin,
                            env={**os.environ, **(env or {})})
    out = result.stdout.decode() + result.stderr.decode()
    return result.returncode, result.stdout.decode(), out


def spotter_terms(head) -> int:
    """Roundings behind one score (`numerics.float32_rounding_bound`): the speech embedding's
    front end and convs, then the head."""
    return (numerics.network_terms(features.embedding_model()) + numerics.LOG_MEL_TERMS
            + numerics.network_terms(head))


def config(root, data_dir, **overrides):
    config_values = dict(
        data_url="", data_dir=data_dir, train_dir=str(root / "train"),
        summaries_dir=str(root / "logs"), model_architecture="embedding_head",
        wanted_words=",".join(WORDS), how_many_training_steps=STEPS,
        learning_rate="0.002,0.0005", optimizer="adam", batch_size=32, eval_step_interval=40,
        save_step_interval=40, seed=3, **SPLIT)
    return settings.TrainConfig(**{**config_values, **overrides})


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private earshot cache (embeddings land there) sharing the fetched weights."""
    from speech_embedding import pretrained
    pretrained.fetch()
    root = tmp_path_factory.mktemp("kws_cache")
    os.symlink(fileio.cache_dir("speech_embedding"), root / "speech_embedding")
    previous = os.environ.get("EARSHOT_CACHE")
    os.environ["EARSHOT_CACHE"] = str(root)
    yield root
    if previous is None:
        del os.environ["EARSHOT_CACHE"]
    else:
        os.environ["EARSHOT_CACHE"] = previous


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache):
    """A small synthesized dataset, an embedding_head trained on it and its exports."""
    root = tmp_path_factory.mktemp("kws")
    data_dir = str(root / "speech")
    synthetic_dataset.synthesize(data_dir, WORDS, UNKNOWN, speakers=16, background_seconds=8.0,
                                 seed=2, **SPLIT)
    result = training.train(config(root, data_dir))
    checkpoint = str(root / "train" / "embedding_head.ckpt-80")
    model_dir = str(root / "model")
    model, run = run_folder.load_model(checkpoint)
    paths = streaming_spotter.export_spotter(model, run, model_dir)
    stream = spotter_runtime.SpotterStream(paths["streaming"])
    return {"root": root, "data_dir": data_dir, "result": result, "checkpoint": checkpoint,
            "model_dir": model_dir, "paths": paths, "model": model,
            "settings": run.model_settings, "timing": stream.timing}


@pytest.fixture(scope="module")
def stream_wav(trained):
    """20 s of test-speaker words over noise, as generate_streaming_test_wav makes it."""
    processor = input_data.AudioProcessor("", trained["data_dir"], 10, 10, WORDS, 25, 25,
                                          trained["settings"])
    waveform, truth = streaming_test_audio.generate(processor, WORDS, 20, 1500, 0.1, 30,
                                                    np.random.default_rng(4))
    path = str(trained["root"] / "stream.wav")
    audio.write_wav(path, waveform, 16000)
    return path, audio.load(path, 16000), truth


def test_head_is_the_colab_head():
    model_settings = features.model_settings(12, 16000, 1000, 30, 10, 40, "embedding")
    assert (model_settings.spectrogram_length, model_settings.fingerprint_width) == (16, 96)
    assert model_settings.fingerprint_size == 16 * 96
    model = architectures.build_model(model_settings, "embedding_head")
    # 2 x 3*96*96 conv kernels, 2 x 4*96 batch norm, 96*12 + 12 dense: "~55k" in the paper.
    assert model.count_params() == 2 * 27648 + 2 * 384 + 1164 == 57228
    assert architectures.preprocess_for("embedding_head", "mfcc", False) == "embedding"
    assert architectures.preprocess_for("embedding_head", "mfcc", True) == "waveform"
    assert architectures.preprocess_for("conv", "mfcc", False) == "mfcc"
    with pytest.raises(ValueError, match="--train_embedding needs"):
        architectures.preprocess_for("conv", "mfcc", True)
    assert features.CONTEXT_SAMPLES == 31600


@pytest.mark.numerics
def test_front_end_pads_in_front_and_matches_the_embedding():
    clip = np.random.default_rng(0).uniform(-0.3, 0.3, 16000).astype(np.float32)
    model_settings = features.model_settings(12, 16000, 1000, 30, 10, 40, "embedding")
    vectors = features.compute(tf.constant(clip[:, None]), tf.constant(16000),
                               model_settings).numpy()
    padded = np.concatenate([np.zeros(15600, np.float32), clip])
    reference = features.embedding_model()(padded[None], training=False).numpy()
    # The front end runs the embedding on its own padding and batch: other shapes.
    numerics.assert_float32_rounding(
        vectors, reference.reshape(1, 16, 96), what="front end and the embedding model",
        terms=numerics.network_terms(features.embedding_model()) + numerics.LOG_MEL_TERMS)
    with pytest.raises(ValueError, match="16000"):
        features.model_settings(12, 8000, 1000, 30, 10, 40, "embedding")


def test_training_learns_and_caches_embeddings(trained, cache):
    result = trained["result"]
    assert result.test_accuracy >= 0.75, result
    assert result.last_step == 80
    files = glob.glob(str(cache / "speech_commands" / "embeddings" / "*" / "*.npy"))
    training_files = {e["file"] for e in input_data.AudioProcessor(
        "", trained["data_dir"], 10, 10, WORDS, 25, 25, trained["settings"]
    ).data_index["training"] if e["label"] != dataset.SILENCE_LABEL}
    assert len(files) == len(training_files) + 1  # one per clip, plus the silence pool
    versions = np.load(files[0])
    assert versions.shape[1:] == (16 * 96,) and versions.shape[0] in (4, 64)
    for name in ("embedding_head_labels.txt", "embedding_head_test_confusion.png",
                 "embedding_head.ckpt-80.index"):
        assert os.path.exists(trained["root"] / "train" / name)


def test_resume_continues_the_identical_run(trained, tmp_path, cache):
    """Cached batches come from the checkpointed RNG: a resumed run repeats the losses."""
    stored = sorted(glob.glob(str(cache / "speech_commands" / "embeddings" / "*" / "*.npy")))
    resumed = training.train(config(tmp_path, trained["data_dir"],
                                 start_checkpoint=str(trained["root"] / "train" /
                                                      "embedding_head.ckpt-40")))
    for step in (41, 42, 80):
        assert resumed.losses[step] == pytest.approx(trained["result"].losses[step], rel=1e-5)
    # Same clips and settings: the cache is reused, nothing new is stored.
    assert sorted(glob.glob(str(cache / "speech_commands" / "embeddings" / "*" / "*.npy"))) == stored


def test_few_speakers_keeps_k_speakers_per_word(trained):
    model_settings = trained["settings"]
    full = input_data.AudioProcessor("", trained["data_dir"], 10, 10, WORDS, 25, 25,
                                     model_settings)
    few = input_data.AudioProcessor("", trained["data_dir"], 10, 10, WORDS, 25, 25,
                                    model_settings, examples_per_word=2)
    for word in WORDS:
        kept = {dataset.speaker_of(e["file"]) for e in few.data_index["training"]
                if e["label"] == word}
        assert len(kept) == 2
    one = dataset.few_speakers(full.data_index["training"], 1)
    two = dataset.few_speakers(full.data_index["training"], 2)
    assert {e["file"] for e in one} < {e["file"] for e in two}
    # Negatives keep the full set's share.
    count = lambda p, label: sum(e["label"] == label for e in p.data_index["training"])
    assert count(few, "_unknown_") + count(few, "cat") + count(few, "dog") == (
        count(full, "cat") + count(full, "dog"))
    assert count(few, dataset.SILENCE_LABEL) == count(full, dataset.SILENCE_LABEL)
    with pytest.raises(ValueError, match="examples_per_word"):
        dataset.few_speakers(full.data_index["training"], 0)


@pytest.mark.numerics
def test_train_embedding_fine_tunes_the_embedding(trained, tmp_path):
    result = training.train(config(tmp_path, trained["data_dir"], train_embedding=True,
                                   how_many_training_steps="2", learning_rate="0.001",
                                   batch_size=4,
                                   eval_step_interval=100, save_step_interval=100))
    model, run = run_folder.load_model(str(tmp_path / "train" / "embedding_head.ckpt-2"),
                                       wanted_words=WORDS, train_embedding=True)
    embedding, head = streaming_spotter.split(model, run.model_settings)
    pretrained = features.embedding_model()
    changed = [not np.array_equal(a, b) for a, b in zip(embedding.get_weights(),
                                                        pretrained.get_weights())]
    assert any(changed) and result.last_step == 2
    clip = np.random.default_rng(1).uniform(-0.2, 0.2, (1, 31600)).astype(np.float32)
    whole = model(clip, training=False).numpy()
    split = head(tf.reshape(embedding(clip, training=False), [1, -1]), training=False).numpy()
    numerics.assert_float32_rounding(
        whole, split, terms=numerics.network_terms(model) + numerics.LOG_MEL_TERMS,
        what="whole model and embedding then head")


@pytest.mark.numerics
def test_android_tflite_keeps_the_contract_and_the_scores(trained):
    clip = dataset.load_clip(sorted(glob.glob(os.path.join(trained["data_dir"], "up",
                                                              "*.wav")))[0], 16000, 16000)
    interpreter = litert.load(trained["paths"]["float"])
    inputs = interpreter.get_input_details()
    assert [list(d["shape"]) for d in inputs] == [[16000, 1], [1]]
    assert [d["dtype"] for d in inputs] == [np.float32, np.int32]
    assert list(interpreter.get_output_details()[0]["shape"]) == [1, len(WORDS) + 2]
    tflite = classifier.Classifier(trained["paths"]["float"]).scores(clip, 16000)
    keras_scores = inference_export.InferenceModule(
        trained["model"], trained["settings"]).from_audio(
            clip[:, None], np.array([16000], np.int32))["labels_softmax"].numpy()[0]
    numerics.assert_float32_rounding(tflite, keras_scores, terms=spotter_terms(trained["model"]),
                                     scale=numerics.logit_scale(keras_scores),
                                     what="Android TFLite and Keras scores")
    assert dataset.read_labels(trained["paths"]["labels"]) == ["_silence_", "_unknown_", *WORDS]


@pytest.mark.numerics
def test_streaming_model_equals_the_offline_model(trained, stream_wav):
    _, waveform, truth = stream_wav
    stream = spotter_runtime.SpotterStream(trained["paths"]["streaming"])
    times, scores = spotter_runtime.recording_scores(stream, waveform)
    module = inference_export.InferenceModule(trained["model"], trained["settings"])
    offline_times, offline = streaming_spotter.offline_scores(module, waveform, stream.timing)
    np.testing.assert_array_equal(times, offline_times)
    assert times[0] == stream.timing.time_ms(stream.timing.first_full_hop) == 975
    # The streaming model computes only each hop's new frames: the offline function, reordered.
    numerics.assert_float32_rounding(scores, offline, terms=spotter_terms(trained["model"]),
                                     scale=numerics.logit_scale(offline),
                                     what="streaming and offline scores")
    labels = dataset.prepare_words_list(WORDS)
    rules = detection.DetectionSettings(detection_threshold=0.5)
    found = detection.detect(labels, times, scores, rules)
    assert found and [f[:2] for f in found] == [
        f[:2] for f in detection.detect(labels, offline_times, offline, rules)]
    stats = detection.evaluate(labels, times, scores, truth, rules)
    assert stats.how_many_correct_words >= 1


def test_listen_prints_the_offline_detections_from_a_file_and_stdin(trained, stream_wav):
    path, waveform, _ = stream_wav
    module = inference_export.InferenceModule(trained["model"], trained["settings"])
    times, scores = streaming_spotter.offline_scores(module, waveform, trained["timing"])
    expected = [f"{t / 1000:8.3f} s  {label}  (score {s:.2f})" for label, t, s in detection.detect(
        dataset.prepare_words_list(WORDS), times, scores, detection.DetectionSettings(
            detection_threshold=0.5))]
    code, out, log = run("listen", f"--model_dir={trained['model_dir']}", f"--input={path}",
                         "--detection_threshold=0.5")
    assert code == 0, log
    lines = [line.split("(")[0].strip() for line in out.splitlines()]
    assert lines == [e.split("(")[0].strip() for e in expected] and lines
    pcm = (np.round(waveform * 32767)).astype("<i2").tobytes()
    code, out_stdin, log = run("listen", f"--model_dir={trained['model_dir']}", "--input=-",
                               "--detection_threshold=0.5", stdin=pcm)
    assert code == 0, log
    assert [line.split("(")[0].strip() for line in out_stdin.splitlines()] == lines


def test_listen_and_stream_refuse_bad_models(trained, tmp_path):
    code, _, log = run("listen", f"--model_dir={tmp_path}", "--input=x.wav")
    assert code != 0 and "export_kws" in log
    with pytest.raises(ValueError, match="not a streaming keyword spotter"):
        spotter_runtime.SpotterStream(trained["paths"]["float"])
    with pytest.raises(ValueError, match=r"the recording: 1\.2500 s of audio is too short"):
        spotter_runtime.recording_scores(
            spotter_runtime.SpotterStream(trained["paths"]["streaming"]),
            np.zeros(20000, np.float32))


@pytest.mark.numerics
def test_hub_export_scores_like_the_android_model(trained, tmp_path):
    import tensorflow_hub as hub
    from export import exporter
    from speech_commands import hub_spec
    spec = hub_spec.hub_spec(str(trained["root"] / "train"), wanted_words=",".join(WORDS))
    out = exporter.export(spec, "saved_model_2", str(tmp_path / "kws" / "1"))
    clips = np.stack([dataset.load_clip(p, 16000, 16000) for p in sorted(glob.glob(
        os.path.join(trained["data_dir"], "yes", "*.wav")))[:2]])
    scores = hub.load(out).signatures["serving_default"](default=tf.constant(clips))
    android = classifier.Classifier(trained["paths"]["float"])
    for clip, row in zip(clips, scores["default"].numpy()):
        expected = android.scores(clip, 16000)
        numerics.assert_float32_rounding(row, expected, terms=spotter_terms(trained["model"]),
                                         scale=numerics.logit_scale(expected),
                                         what="Hub export and Android TFLite scores")
    with pytest.raises(ValueError, match="unknown --spec_arg"):
        hub_spec.hub_spec(str(trained["root"] / "train"), colour="red")


def test_fewshot_study_writes_table_csv_and_plot(trained, tmp_path):
    out = tmp_path / "study"
    code, stdout, log = run("fewshot_study", f"--output_dir={out}",
                            f"--data_dir={trained['data_dir']}", "--examples=1,0",
                            "--head_steps=8", "--conv_steps=4", f"--wanted_words={','.join(WORDS)}",
                            "--validation_percentage=25", "--testing_percentage=25",
                            env={"EARSHOT_CACHE": os.environ["EARSHOT_CACHE"]})
    assert code == 0, log
    import csv
    with open(out / "fewshot.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["architecture"], r["examples_per_word"]) for r in rows] == [
        ("embedding_head", "1"), ("conv", "1"), ("embedding_head", "0"), ("conv", "0")]
    assert [r["steps"] for r in rows] == ["8", "4", "8", "4"]
    # K=1 trains on one speaker per keyword; K=0 on every training speaker.
    assert int(rows[0]["training_clips"]) == len(WORDS) < int(rows[2]["training_clips"])
    assert all(0 <= float(r["test_accuracy"]) <= 1 for r in rows)
    table = (out / "fewshot.md").read_text()
    assert table.startswith("| examples per word | keyword clips | embedding_head | conv |")
    assert "| all |" in table and table in stdout
    assert (out / "fewshot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_listen_runs_without_tensorflow_and_finds_the_same_commands(trained, stream_wav,
                                                                    tf_free_python, tmp_path):
    """`listen` in a virtualenv of ai-edge-litert, numpy, soundfile, soxr and absl-py only."""
    path = stream_wav[0]
    args = [f"--model_dir={trained['model_dir']}", f"--input={path}", "--detection_threshold=0.5"]
    code, with_tf, log = run("listen", *args)
    assert code == 0, log
    result = subprocess.run([tf_free_python, "-m", "speech_commands.listen", *args],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout == with_tf and with_tf.strip()
    imports = subprocess.run(
        [sys.executable, "-c", "import sys, speech_commands.listen; "
         "print('tensorflow' in sys.modules, 'keras' in sys.modules)"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert imports.stdout.split() == ["False", "False"], imports.stderr
