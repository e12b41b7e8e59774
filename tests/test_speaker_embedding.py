"""speaker_embedding: features, ResCNN, triplets, training, evaluation, database, CLIs, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import soundfile
import tensorflow as tf
import tensorflow_hub
from python_speech_features import base as psf

import numerics
from earshot import audio, cli
from speaker_embedding import (dataset, embedder, evaluate, features, metrics, model as model_lib,
                               synthesize, trainer, triplets)
from speaker_embedding import database
from speaker_embedding.enroll import enroll
from speaker_embedding.identify import identify
from speaker_embedding.verify import verify

TINY = model_lib.ResCNNConfig(filters=(8, 16), blocks=1)
SPEAKERS, UTTERANCES, HELD_OUT = 10, 4, 4
TRAIN_ARGS = dict(config=TINY, test_speakers=HELD_OUT, batch_size=4, softmax_steps=4,
                  triplet_steps=4, candidate_speakers=4, mining_refresh=3, checkpoint_every=3,
                  learning_rate=3e-3)


def reference_features(waveform: np.ndarray) -> np.ndarray:
    """The public re-implementations' front end, computed by python_speech_features."""
    energies, _ = psf.fbank(waveform.astype(np.float64), samplerate=16000, nfilt=64, winlen=0.025)
    return np.array([(v - v.mean()) / max(v.std(), 1e-12) for v in energies])


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A harmonic tone with vibrato and noise: energy in many mel bands, like a voice."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    pitch = 120 + 20 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / 16000
    wave = sum(np.sin(k * phase) / k for k in range(1, 20))
    return (0.3 * wave / np.abs(wave).max() + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> str:
    """10 espeak-ng speakers x 4 sentences in the LibriSpeech layout."""
    root = str(tmp_path_factory.mktemp("voices") / "set")
    synthesize.synthesize(root, synthesize.make_speakers(SPEAKERS, seed=3), UTTERANCES)
    return root


@pytest.fixture(scope="module")
def trained(voices, tmp_path_factory) -> str:
    """A tiny network trained for 8 steps; its folder."""
    model_dir = str(tmp_path_factory.mktemp("model"))
    trainer.train(voices, model_dir, **TRAIN_ARGS)
    return model_dir


# --- features -----------------------------------------------------------------------------

@pytest.mark.numerics
@pytest.mark.parametrize("seconds", [0.02, 0.3, 1.6, 2.345])
def test_fbank_matches_python_speech_features(seconds):
    waveform = speech_like(seconds)
    ours = features.fbank(waveform)
    reference = reference_features(waveform)
    assert ours.shape == reference.shape == (features.num_frames(waveform.size), 64)
    # python_speech_features in float64, ours in float32: the reference's numbers up to our
    # rounding over the FFT window and the filterbank.
    numerics.assert_float32_rounding(ours, reference, terms=numerics.LOG_MEL_TERMS,
                                     what="filterbanks against python_speech_features")


def test_frame_counts_follow_the_reference():
    assert features.num_frames(25600) == 159   # 1.60 s
    assert features.num_frames(25760) == 160   # 1.61 s: NUM_FRAMES
    assert features.num_frames(64000) == 399   # 4.00 s
    assert features.num_frames(1) == features.num_frames(400) == 1


@pytest.mark.numerics
def test_frames_are_normalised_and_silence_is_zero():
    waveform = speech_like(1.0)
    waveform[4000:8000] = 0.0
    result = features.fbank(waveform)
    speech = np.abs(result).sum(axis=1) > 0
    # Rounding of sums over a frame's 64 bands, at the scale of the values (their squares).
    values = np.abs(result[speech]).max()
    numerics.assert_float32_rounding(result[speech].mean(axis=1), 0, terms=64, scale=values,
                                     what="frame means")
    numerics.assert_float32_rounding(result[speech].std(axis=1), 1, terms=64,
                                     scale=values ** 2, what="frame standard deviations")
    assert (~speech).sum() >= 20  # the 0.25 s of digital silence
    assert np.all(result[~speech] == 0)


@pytest.mark.numerics
@pytest.mark.parametrize("seconds", [0.01, 0.7, 1.61, 3.3])
def test_tensorflow_front_end_matches_numpy(seconds):
    waveform = speech_like(seconds, seed=1)
    fbank = features.fbank(waveform)
    numerics.assert_float32_rounding(features.tf_fbank(tf.constant(waveform)).numpy(), fbank,
                                     terms=numerics.LOG_MEL_TERMS,
                                     what="TensorFlow and NumPy filterbanks")
    np.testing.assert_array_equal(features.tf_windows(tf.constant(fbank)).numpy(),
                                  features.windows(fbank))


def test_windows_tile_the_utterance_and_short_clips_repeat():
    frames = np.arange(400, dtype=np.float32)[:, None] * np.ones([1, 64], np.float32)
    result = features.windows(frames)
    assert result.shape == (3, 160, 64, 1)
    np.testing.assert_array_equal(result[:, 0, 0, 0], [0, 160, 240])  # last one ends at 399
    assert result[-1, -1, 0, 0] == 399
    short = features.windows(frames[:70])
    assert short.shape == (1, 160, 64, 1)
    np.testing.assert_array_equal(short[0, :, 0, 0], np.arange(160) % 70)
    crop = features.random_crop(frames[:70], np.random.default_rng(0))
    assert crop.shape == (160, 64, 1)


# --- model ---------------------------------------------------------------------------------

def test_full_rescnn_matches_the_reference_parameter_count():
    network = model_lib.build("full")
    assert network.count_params() == 24_185_728  # Walleclipse network.txt minus its softmax
    assert [network.get_layer(n).output.shape[-1] for n in
            ("conv64-s", "conv512-s", "affine")] == [64, 512, 512]


@pytest.mark.numerics
@pytest.mark.parametrize("size,frames,steps,width", [
    ("small", 160, 20, 1024), ("small", 300, 38, 1024), ("full", 300, 19, 2048)])
def test_embeddings_are_unit_vectors_for_any_length(size, frames, steps, width):
    network = model_lib.build(size)
    inputs = np.random.default_rng(0).standard_normal([2, frames, 64, 1]).astype(np.float32)
    assert network.get_layer("reshape").output.shape[-1] == width  # frequency bins x filters
    vectors = network(inputs, training=False).numpy()
    assert vectors.shape == (2, 512)
    numerics.assert_float32_rounding(np.linalg.norm(vectors, axis=1), 1, terms=512,
                                     what="norms of 512-d unit vectors")
    probe = keras.Model(network.input, network.get_layer("reshape").output)
    assert probe(inputs).shape[1] == steps  # ceil(frames / 2 ** stages)


def test_model_size_names_are_checked():
    with pytest.raises(ValueError, match="unknown model size 'huge'"):
        model_lib.config_for("huge")


# --- triplets ------------------------------------------------------------------------------

@pytest.mark.numerics
def test_triplet_loss_is_the_cosine_hinge():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal([3 * 5, 8])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    a, p, n = vectors[:5], vectors[5:10], vectors[10:]
    expected = np.mean(np.maximum((a * n).sum(1) - (a * p).sum(1) + 0.2, 0))
    # Cosines of unit vectors (8 terms) and a mean over 5 triplets, in float32.
    numerics.assert_float32_rounding(float(triplets.triplet_loss(tf.constant(vectors), 0.2)),
                                     expected, terms=8 + 5, scale=1, what="triplet loss")
    collapsed = np.tile(vectors[:1], [12, 1])
    assert float(triplets.triplet_loss(tf.constant(collapsed))) == pytest.approx(triplets.ALPHA)


def _labelled_utterances(counts):
    """Utterances whose every feature value is the speaker's number, so crops reveal it."""
    return [triplets.Utterance(f"s{s}", f"s{s}/{u}", np.full([170 + u, 64], s, np.float32))
            for s, count in enumerate(counts) for u in range(count)]


def test_random_batches_are_anchors_then_positives_then_negatives():
    batcher = triplets.TripletBatcher(_labelled_utterances([3, 2, 1, 2]))
    batch = batcher.random_batch(32, np.random.default_rng(0))
    assert batch.shape == (96, 160, 64, 1)
    speaker = batch[:, 0, 0, 0]
    np.testing.assert_array_equal(speaker[:32], speaker[32:64])
    assert np.all(speaker[:32] != speaker[64:])
    assert 2 not in speaker[:32]          # one utterance: never an anchor
    assert 2 in speaker[64:]              # but a negative
    again = batcher.random_batch(32, np.random.default_rng(0))
    np.testing.assert_array_equal(batch, again)


def test_hard_triplets_pick_the_farthest_positive_and_closest_negative():
    angles = np.array([0.0, 0.5, 0.1, 1.5, 0.3, 3.0])
    labels = np.array([0, 0, 0, 1, 1, 2])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    rows = triplets.hard_triplets(vectors, labels, 6, np.random.default_rng(0))
    anchors, positives, negatives = np.split(rows, 3)
    for a, p, n in zip(anchors, positives, negatives):
        assert labels[p] == labels[a] != labels[n] and p != a
        if a == 0:
            assert (p, n) == (1, 4)   # 0.5 rad away; the other speaker's 0.3 rad
        if a == 3:
            assert (p, n) == (4, 1)


# --- data ----------------------------------------------------------------------------------

def test_synthesized_set_has_librispeech_layout_and_stable_voices(voices, tmp_path):
    paths = dataset.find_utterances(voices)
    assert len(paths) == SPEAKERS and all(len(p) == UTTERANCES for p in paths.values())
    speaker, files = next(iter(paths.items()))
    relative = os.path.relpath(files[0], voices).split(os.sep)
    assert relative == [speaker, "00", f"{speaker}-00-0000.wav"]
    info = soundfile.info(files[0])
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    with open(os.path.join(voices, "SPEAKERS.tsv")) as f:
        rows = [line.split("\t") for line in f.read().splitlines()[1:]]
    assert sorted(r[0] for r in rows) == sorted(paths)
    formants = [float(r[5]) for r in rows]
    assert min(formants) >= 0.88 and max(formants) <= 1.12 and len(set(formants)) > 1
    # The same speaker says the same sentence identically in a second run.
    one = [s for s in synthesize.make_speakers(SPEAKERS, seed=3) if s.id == speaker]
    synthesize.synthesize(str(tmp_path / "again"), one, UTTERANCES)
    again = dataset.find_utterances(str(tmp_path / "again"))[speaker][0]
    np.testing.assert_array_equal(soundfile.read(again)[0], soundfile.read(files[0])[0])


def test_loader_reads_voxceleb_layout_and_rejects_empty_folders(tmp_path):
    layout = [("id10001", "1zcIwhmdeo4", "00001"), ("id10001", "7gWzIy6yIIk", "00002"),
              ("id10002", "0ZfSfBuJ-_I", "00001")]
    for speaker, video, utt in layout:
        path = tmp_path / "vox" / speaker / video / f"{utt}.wav"
        audio.write_wav(str(path), speech_like(0.6), 16000)
    found = dataset.find_utterances(str(tmp_path / "vox"))
    assert {s: len(p) for s, p in found.items()} == {"id10001": 2, "id10002": 1}
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no audio found"):
        dataset.find_utterances(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="no such dataset folder"):
        dataset.find_utterances(str(tmp_path / "missing"))


def test_speaker_split_is_disjoint_and_seeded():
    names = [f"spk{i:03d}" for i in range(50)]
    train_a, test_a = dataset.split_speakers(names, 10)
    assert len(test_a) == 10 and sorted(train_a + test_a) == names
    assert dataset.split_speakers(list(reversed(names)), 10) == (train_a, test_a)
    assert dataset.split_speakers(names, 10, seed=1)[1] != test_a
    with pytest.raises(ValueError, match="at least one must remain"):
        dataset.split_speakers(names, 50)


# --- training ------------------------------------------------------------------------------

def test_training_resumes_exactly_and_logs_to_tensorboard(voices, trained, tmp_path):
    interrupted = str(tmp_path / "interrupted")
    trainer.train(voices, interrupted, stop_after=5, **TRAIN_ARGS)   # mid-pool of the triplet phase
    assert tf.train.latest_checkpoint(os.path.join(interrupted, "checkpoints")).endswith("ckpt-5")
    resumed = trainer.train(voices, interrupted, **TRAIN_ARGS)
    straight = embedder.load_model(trained)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    tags = {}
    for event_file in os.listdir(os.path.join(trained, "train")):
        path = os.path.join(trained, "train", event_file)
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    assert sorted(tags["loss/softmax"]) == [1, 2, 3, 4]
    assert sorted(tags["loss/triplet"]) == [5, 6, 7, 8]
    split = dataset.read_split(os.path.join(trained, "split.json"))
    assert len(split["test"]) == HELD_OUT and not set(split["test"]) & set(split["train"])


def test_training_refuses_a_folder_of_another_model(voices, trained):
    with pytest.raises(ValueError, match="use another --model_dir"):
        trainer.train(voices, trained, **dict(TRAIN_ARGS, config=model_lib.ResCNNConfig((4,), 1)))


# --- evaluation ----------------------------------------------------------------------------

@pytest.mark.numerics
def test_trials_follow_the_one_positive_99_negatives_protocol():
    rng = np.random.default_rng(0)
    speakers = [f"s{i:03d}" for i in range(120) for _ in range(2)]
    vectors = rng.standard_normal([240, 16])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    result = evaluate.trials(vectors, speakers, rng)
    assert result.scores.shape == (120, 100)
    assert result.labels[:, 0].all() and not result.labels[:, 1:].any()
    same = vectors[0::2] @ vectors[1::2].T
    numerics.assert_float32_rounding(np.sort(result.scores[:, 0]), np.sort(np.diag(same)),
                                     terms=16, scale=1, what="cosines of 16-d unit vectors")


def test_eer_and_best_f_on_known_scores():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.1, 0.1, 0.0, -0.3, -0.5, 0.3, 0.05])
    result = metrics.verification(scores, labels)
    # Between 0.3 and 0.6: FRR 1/4, FAR 1/8; between 0.2 and 0.3: FRR 1/4, FAR 2/8.
    assert result.eer == pytest.approx(0.25)
    # Best F between 0.6 and 0.7: 3 TP, 0 FP, 1 FN: precision 1, recall 3/4.
    assert result.f_measure == pytest.approx(6 / 7)
    assert result.accuracy == pytest.approx(11 / 12)
    assert 0.6 <= result.f_threshold < 0.7
    separated = metrics.verification(np.array([0.9, 0.8, 0.1, -0.2]), np.array([1, 1, 0, 0]))
    assert separated.eer == 0 and separated.f_measure == 1 and separated.accuracy == 1


def test_evaluate_writes_metrics_and_roc(voices, trained):
    paths = dataset.find_utterances(voices)
    held_out = dataset.read_split(os.path.join(trained, "split.json"))["test"]
    utterances = dataset.load_utterances(paths, held_out)
    result, scored = evaluate.evaluate(embedder.load_model(trained), utterances, seed=1)
    assert scored.scores.shape == (HELD_OUT, HELD_OUT)  # 1 positive + the 3 other speakers
    assert 0 <= result.eer <= 1
    png = os.path.join(trained, "roc.png")
    evaluate.plot_roc(scored, result, "test", png)
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# --- database and CLIs ---------------------------------------------------------------------

def _run(command, audio: str, **arguments) -> int:
    """A command's exit status as `earshot.cli.run` gives it: a user error is one stderr line
    and EXIT_USER_ERROR."""
    return cli.exit_status(lambda: command(audio=audio.split(","), **arguments))


# Each writer is its own Python process (NumPy only: the database never imports TensorFlow).
ENROLL_SCRIPT = """
import sys, numpy as np
from speaker_embedding import database
path, index = sys.argv[1], int(sys.argv[2])
database.enroll(path, f"speaker{index}", np.eye(16, dtype=np.float32)[index], "model-a")
"""


def test_database_survives_concurrent_enrolls(tmp_path):
    path = str(tmp_path / "db.npz")
    writers = [subprocess.Popen([sys.executable, "-c", ENROLL_SCRIPT, path, str(i)])
               for i in range(16)]
    assert [w.wait(timeout=120) for w in writers] == [0] * 16
    stored = database.read(path)
    assert stored.speakers() == sorted(f"speaker{i}" for i in range(16))
    assert stored.vectors.shape == (16, 16)
    np.testing.assert_array_equal(stored.centroid("speaker3"), np.eye(16)[3])
    assert not [f for f in os.listdir(tmp_path) if ".tmp." in f]  # no staging file left behind


def test_database_rejects_foreign_and_corrupt_files(tmp_path):
    foreign = str(tmp_path / "foreign.npz")
    np.savez(foreign, weights=np.ones(3))
    before = open(foreign, "rb").read()
    with pytest.raises(database.DatabaseError, match="not a speaker database"):
        database.enroll(foreign, "bob", np.ones(3, np.float32), "m")
    assert open(foreign, "rb").read() == before  # left untouched
    text = tmp_path / "notes.npz"
    text.write_text("my notes")
    with pytest.raises(database.DatabaseError, match="not an .npz archive"):
        database.read(str(text))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(open(foreign, "rb").read()[:40])
    with pytest.raises(database.DatabaseError):
        database.read(str(truncated))
    with pytest.raises(database.DatabaseError, match="no such speaker database"):
        database.read(str(tmp_path / "missing.npz"))
    mine = str(tmp_path / "mine.npz")
    database.enroll(mine, "bob", np.ones(3, np.float32) / np.sqrt(3), "model-a")
    with pytest.raises(database.DatabaseError, match="enrolled with model model-a"):
        database.enroll(mine, "eve", np.ones(3, np.float32) / np.sqrt(3), "model-b")


def test_enroll_verify_identify_round_trip_on_held_out_speakers(voices, trained, tmp_path, capsys):
    paths = dataset.find_utterances(voices)
    held_out = dataset.read_split(os.path.join(trained, "split.json"))["test"]
    db = str(tmp_path / "speakers.npz")
    common = dict(model_dir=trained, db=db)
    for speaker in held_out:
        assert _run(enroll, name=speaker, audio=",".join(paths[speaker][:3]), **common) == 0
    assert database.read(db).speakers() == sorted(held_out)
    capsys.readouterr()
    correct = 0
    for speaker in held_out:
        assert _run(identify, audio=paths[speaker][3], top_k=0, **common) == 0
        ranking = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
        assert sorted(r[1] for r in ranking) == sorted(held_out)
        scores = [float(r[2]) for r in ranking]
        assert scores == sorted(scores, reverse=True)
        correct += ranking[0][1] == speaker
    assert correct >= HELD_OUT - 1
    target = held_out[0]
    vector = embedder.Embedder(embedder.load_model(trained)).embed(
        embedder.load_waveform(paths[target][3]))
    own = database.read(db).score(target, vector)
    assert _run(verify, name=target, audio=paths[target][3], threshold=own - 1e-3, **common) == 0
    accepted = capsys.readouterr().out
    assert "ACCEPT" in accepted and f"score {own:.4f}" in accepted
    assert _run(verify, name=target, audio=paths[target][3], threshold=own + 1e-3, **common) == 1
    assert "REJECT" in capsys.readouterr().out


def test_clis_report_bad_input_clearly(voices, trained, tmp_path, capsys):
    paths = dataset.find_utterances(voices)
    speaker = sorted(paths)[0]
    db = str(tmp_path / "speakers.npz")
    common = dict(model_dir=trained, db=db)
    assert _run(enroll, name="ann", audio=paths[speaker][0], **common) == 0
    short = str(tmp_path / "short.wav")
    audio.write_wav(short, speech_like(0.3), 16000)
    stereo = str(tmp_path / "stereo.wav")
    # 44,100 samples per channel at 44.1 kHz: one second.
    soundfile.write(stereo, np.stack([speech_like(2.76), speech_like(2.76, 1)], axis=1), 44100)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    nan = str(tmp_path / "nan.wav")
    soundfile.write(nan, np.full(16000, np.nan, np.float32), 16000, subtype="FLOAT")
    cases = [
        (enroll, dict(name="ann", audio=short), "too short"),
        (enroll, dict(name="ann", audio=str(corrupt)), "cannot decode"),
        (enroll, dict(name="ann", audio=nan), "NaN"),
        (enroll, dict(name="ann", audio=str(tmp_path / "none.wav")), "no such file"),
        (verify, dict(name="nobody", audio=paths[speaker][1], threshold=0.5),
         "'nobody' is not enrolled"),
        (identify, dict(audio=paths[speaker][1], db=str(tmp_path / "other.npz")),
         "no such speaker database"),
        (identify, dict(audio=paths[speaker][1], model_dir=str(tmp_path)),
         "not a speaker_embedding model folder"),
        (verify, dict(name="ann", audio=paths[speaker][1]), "no --threshold given"),
    ]
    for module, values, message in cases:
        capsys.readouterr()
        assert _run(module, **{**common, **values}) == cli.EXIT_USER_ERROR, message
        assert message in capsys.readouterr().err
    # Stereo 44.1 kHz audio is mixed down and resampled, not refused.
    assert _run(identify, audio=stereo, **common) == 0


# --- export --------------------------------------------------------------------------------

@pytest.mark.numerics
@pytest.mark.parametrize("fmt", ["saved_model_2", "tf1_hub"])
def test_exported_model_gives_the_keras_vectors(trained, tmp_path, fmt):
    from export import exporter
    from speaker_embedding import hub_spec
    spec = hub_spec.hub_spec(weights_path=trained)
    output = exporter.export(spec, fmt, str(tmp_path / "speaker_embedding" / "1"))
    restored = tensorflow_hub.load(output)
    loaded = restored if fmt == "saved_model_2" else restored.signatures["default"]
    network = embedder.load_model(trained)
    keras_embedder = embedder.Embedder(network)
    # The graph computes the Keras function; the mean adds a sum over at most 3 windows.
    terms = numerics.network_terms(network) + numerics.LOG_MEL_TERMS + 3
    for seconds in (0.6, 1.7, 3.3):
        waveform = speech_like(seconds, seed=int(seconds * 10))
        result = loaded(tf.constant(waveform))
        numerics.assert_float32_rounding(result["default"].numpy(),
                                         keras_embedder.embed_windows(waveform), terms=terms,
                                         what=f"{fmt} window vectors")
        numerics.assert_float32_rounding(result["mean"].numpy(), keras_embedder.embed(waveform),
                                         terms=terms, what=f"{fmt} mean vector")
    nothing = loaded(tf.zeros([0]))  # no windows, and a zero vector that matches no one
    assert nothing["default"].shape == (0, 512) and not np.any(nothing["mean"].numpy())
    with pytest.raises(ValueError, match="needs --model_dir"):
        hub_spec.hub_spec()
    with open(output + ".md") as f:
        assert "speaker_embedding" in f.read()
    assert json.load(open(os.path.join(trained, "config.json")))["filters"] == list(TINY.filters)


# --- command lines, end to end -----------------------------------------------------------

@pytest.mark.slow
def test_synthesize_train_evaluate_commands(tmp_path):
    """The absl entry points, as a user runs them (each command is a fresh process)."""
    def run(module, *args):
        result = subprocess.run([sys.executable, "-m", f"speaker_embedding.{module}", *args],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    data, model_dir = str(tmp_path / "voices"), str(tmp_path / "model")
    run("synthesize", f"--output_dir={data}", "--speakers=8", "--utterances=3")
    common = [f"--data_dir={data}", f"--model_dir={model_dir}"]
    run("train", *common, "--model_size=small", "--test_speakers=3", "--batch_size=4",
        "--softmax_steps=2", "--triplet_steps=2", "--candidate_speakers=4")
    assert sorted(os.listdir(os.path.join(model_dir, "checkpoints"))) == [
        "checkpoint", "ckpt-4.data-00000-of-00001", "ckpt-4.index"]
    printed = run("evaluate", *common, "--whole_utterances")
    assert "3 speakers x 2 negatives" in printed
    with open(os.path.join(model_dir, "eval_whole", "metrics.json")) as f:
        threshold = json.load(f)["eer_threshold"]
    assert os.path.exists(os.path.join(model_dir, "eval_whole", "roc.png"))
    # verify falls back on that measured threshold.
    speaker = sorted(os.listdir(data))[0]
    clip = os.path.join(data, speaker, "00", f"{speaker}-00-0000.wav")
    db = str(tmp_path / "db.npz")
    run("enroll", f"--model_dir={model_dir}", f"--db={db}", "--name=x", f"--input={clip}")
    assert f"threshold {threshold:.4f}" in run(
        "verify", f"--model_dir={model_dir}", f"--db={db}", "--name=x", f"--input={clip}")
