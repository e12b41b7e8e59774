"""wakeword: a tiny training run end to end, its tools against offline scoring, FA/h counting."""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import numerics
import onednn
from earshot import audio
from wakeword import (augment, detect, evalset, evaluation, fit, model as model_lib, phonemes,
                      voices)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--steps=40", "--positives=24", "--kokoro_positives=2", "--festival_positives=2",
        "--confusable_speakers=1", "--speech_minutes=1", "--noise_minutes=0.5",
        "--engine_speech_minutes=0.2", "--calibration_minutes=1", "--calibration_positives=8",
        "--real_speech="]


def _run(module: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, input=stdin,
                          capture_output=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    """A model folder from `wakeword.train` with a few voices and a few steps."""
    folder = str(tmp_path_factory.mktemp("wakeword") / "hey_jarvis")
    negatives = tmp_path_factory.mktemp("negatives")
    for index, sentence in enumerate(("The birch canoe slid on the smooth planks.",
                                      "Glue the sheet to the dark blue background.",
                                      "It's easy to tell the depth of a well.")):
        audio.write_wav(str(negatives / f"own_{index}.wav"), voices.say(voices.Utterance(
            "espeak-ng", "en-gb+m2", sentence)), 16000)
    result = _run("wakeword.train", "--phrase=hey jarvis", f"--output_dir={folder}", *TINY,
                  f"--negatives={negatives}")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return folder


@pytest.fixture(scope="module")
def probe_wav(tmp_path_factory) -> str:
    """10 s: silence, the phrase twice (espeak-ng), noise between."""
    phrase = voices.say(voices.Utterance("espeak-ng", "en-us+m3", "hey jarvis"))
    noise = np.random.default_rng(0).standard_normal(30000).astype(np.float32) * 0.02
    waveform = np.concatenate([np.zeros(40000, np.float32), phrase, noise, 0.7 * phrase,
                               np.zeros(40000, np.float32)])
    path = str(tmp_path_factory.mktemp("probe") / "probe.wav")
    audio.write_wav(path, waveform, 16000)
    return path


def test_training_writes_every_output(tiny_model):
    names = set(os.listdir(tiny_model))
    assert {"wakeword.tflite", "manifest.json", "saved_model", "head.weights.h5", "metrics.json",
            "det.png"} <= names
    with open(os.path.join(tiny_model, "manifest.json")) as manifest_file:
        manifest = json.load(manifest_file)
    assert manifest["phrase"] == "hey jarvis"
    assert manifest["sample_rate"] == 16000 and manifest["hop_samples"] == 1280
    assert 0 < manifest["threshold"] <= 1 and manifest["smoothing_hops"] >= 1
    assert manifest["head_branches"] == fit.FitSettings().branches == 3
    with open(os.path.join(tiny_model, "metrics.json")) as metrics_file:
        metrics = json.load(metrics_file)
    assert metrics["calibration"]["fa_per_hour"] <= 0.5
    assert metrics["training_windows"]["positive"] > 0
    assert metrics["sources"]["engines"] == list(voices.default_training_engines())
    assert metrics["sources"]["real_speech"] == [] and metrics["sources"]["negatives_dir"]
    assert set(metrics["seconds"]["sources"]) >= set(voices.TRAINING_ENGINES_DEFAULT)
    assert len(metrics["det"]["frr"]) == len(metrics["det"]["fa_per_hour"])
    with open(os.path.join(tiny_model, "det.png"), "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def _csv_scores(path: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    with open(path, newline="") as scores_file:
        rows = list(csv.DictReader(scores_file))
    return ([r["file"] for r in rows], np.array([float(r["time_s"]) for r in rows]),
            np.array([float(r["score"]) for r in rows]))


@pytest.mark.numerics
@pytest.mark.parametrize("mode", onednn.MODES)
def test_score_tool_matches_offline_scoring_and_saved_model(mode, tiny_model, probe_wav,
                                                            tmp_path):
    output = str(tmp_path / "scores.csv")
    result = _run("wakeword.score", f"--model_dir={tiny_model}", f"--input={probe_wav},{probe_wav}",
                  f"--output={output}")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    files, times, scores = _csv_scores(output)
    hops = audio.load(probe_wav, 16000).size // 1280
    assert files == [probe_wav] * (2 * hops)  # restarted per file: both halves equal
    # Exact multiples of 0.08 s printed with 2 decimals: parsing rounds once.
    numerics.assert_float32_rounding(times[:hops], (np.arange(hops) + 1) * 0.08, terms=1,
                                     what="times in the CSV")
    np.testing.assert_array_equal(scores[:hops], scores[hops:])
    assert np.all(scores[:24] == 0) and scores[24:].max() > 0
    offline = onednn.run_python("""
        import speech_embedding
        from earshot import audio
        from wakeword import export
        waveform = audio.load(ARGS["wav"], 16000)
        head = export.load_head(ARGS["model"])
        saved = tf.saved_model.load(ARGS["model"] + "/saved_model")
        report([export.file_scores(head, waveform).tolist(),
                saved.score(tf.constant(waveform)).numpy().tolist(),
                numerics.network_terms(speech_embedding.load()) + numerics.LOG_MEL_TERMS
                + numerics.network_terms(head)])
    """, mode, wav=probe_wav, model=tiny_model)
    # The speech embedding and the head on other runtimes (and oneDNN settings), the CSV's
    # 6 decimals on top; the silent first 24 hops are exact zeros, not sigmoid outputs.
    for name, expected in [("offline", offline[0]), ("SavedModel", offline[1])]:
        numerics.assert_float32_rounding(scores[:hops], expected, terms=offline[2],
                                         scale=numerics.logit_scale(expected[24:]),
                                         quantum=1e-6, what=f"CSV scores and {name} scores")


def test_listen_on_file_and_stdin_agrees_with_offline_detections(tiny_model, probe_wav,
                                                                 tmp_path):
    # A threshold the probe crosses a few times, so that there are detections to compare.
    folder = str(tmp_path / "model")
    shutil.copytree(tiny_model, folder)
    scores_csv = str(tmp_path / "scores.csv")
    assert _run("wakeword.score", f"--model_dir={folder}", f"--input={probe_wav}",
                f"--output={scores_csv}").returncode == 0
    _, _, scores = _csv_scores(scores_csv)
    with open(os.path.join(folder, "manifest.json")) as manifest_file:
        manifest = json.load(manifest_file)
    # Halfway between two smoothed scores well apart, so that the CSV's 6 decimals decide
    # nothing.
    levels = np.unique(detect.smooth(scores, 2)[24:])
    index = int(0.8 * levels.size)
    while levels[index + 1] - levels[index] < 1e-4:
        index += 1
    manifest["threshold"] = float(levels[index] + levels[index + 1]) / 2
    manifest["smoothing_hops"] = 2
    with open(os.path.join(folder, "manifest.json"), "w") as manifest_file:
        json.dump(manifest, manifest_file)
    expected = detect.detection_hops(detect.smooth(scores, 2), manifest["threshold"])
    assert expected
    expected_lines = [f"{(h + 1) * 0.08:8.3f} s" for h in expected]
    from_file = _run("wakeword.listen", f"--model_dir={folder}", f"--input={probe_wav}")
    pcm = (np.clip(audio.load(probe_wav, 16000), -1, 1) * 32767).astype("<i2").tobytes()
    from_stdin = _run("wakeword.listen", f"--model_dir={folder}", "--input=-", stdin=pcm)
    for result in (from_file, from_stdin):
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        lines = result.stdout.decode().splitlines()
        assert [line[:10] for line in lines] == expected_lines
        assert all("hey jarvis" in line for line in lines)


def test_tools_reject_bad_input_in_one_line(tiny_model, tmp_path):
    missing = _run("wakeword.listen", f"--model_dir={tiny_model}", f"--input={tmp_path}/none.wav")
    not_a_model = _run("wakeword.score", f"--model_dir={tmp_path}", f"--input={tmp_path}/x.wav",
                       f"--output={tmp_path}/out.csv")
    for result in (missing, not_a_model):
        assert result.returncode == 2
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert not os.path.exists(tmp_path / "out.csv")


@pytest.mark.numerics
def test_a_stream_scored_in_one_pass_matches_its_windows_scored_one_by_one():
    head = model_lib.build_head(seed=3, branches=3)
    rng = np.random.default_rng(0)
    for layer in head.layers:  # trained-like weights: untrained norms pass everything
        layer.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype(np.float32)
                           for w in layer.get_weights()])
    embeddings = (10 * rng.standard_normal((300, 96))).astype(np.float32)
    ends = np.concatenate([np.arange(15, 120), np.arange(200, 300, 7)])
    expected = head(model_lib.windows(embeddings, ends), training=False).numpy()[:, 0]
    branches = model_lib.branch_logits(head)(model_lib.windows(embeddings, ends)).numpy()
    numerics.assert_float32_rounding(branches.mean(axis=1), expected,
                                     terms=numerics.network_terms(head),
                                     what="the head's logit is the mean of its branches'")
    # Passes of 40 rows: windows on both sides of every pass boundary.
    for pass_rows in (40, model_lib.SLIDING_ROWS):
        numerics.assert_float32_rounding(
            model_lib.window_logits(head, embeddings, ends, pass_rows), expected,
            terms=numerics.network_terms(head),
            what=f"one pass over the stream ({pass_rows} rows) against window by window")


def test_false_accepts_per_hour_on_a_constructed_stream():
    hops = 45000  # one hour
    scores = np.zeros(hops, np.float32)
    scores[1000:1005] = 0.9   # fires once
    scores[1010:1013] = 0.95  # 0.8-1.0 s later: inside the 2 s refractory time
    scores[1040:1042] = 0.9   # 3.2 s after the first: fires again
    scores[5000] = 0.9        # one hop: smoothing over 3 hops keeps it at 0.3
    scores[9000:9003] = 0.8   # three hops: the smoothed score reaches 0.53 at the second
    scores[20000:20004] = 0.4  # below threshold
    detector = detect.Detector(threshold=0.5, smoothing_hops=3)
    found = detect.detection_hops(detect.smooth(scores, 3), 0.5)
    assert found == [1001, 1041, 9001]
    assert detect.count_false_accepts([scores], detector) == 3
    assert detect.hours([scores]) == pytest.approx(1.0)
    assert detect.count_false_accepts([scores], detect.Detector(0.5, 1)) == 4
    trigger = detect.Trigger(detector)
    assert [h for h, s in enumerate(scores) if trigger.update(s)] == found
    # 0.5 FA/h on 2 h allows one: the lowest threshold with at most one detection.
    two_hours = [scores, np.zeros(hops, np.float32)]
    threshold = detect.calibrate(two_hours, 0.5, 3)
    assert detect.count_false_accepts(two_hours, detect.Detector(threshold, 3)) <= 1
    assert detect.count_false_accepts(two_hours, detect.Detector(threshold - 1e-3, 3)) > 1
    events = [(80.0, 81.0, "a"), (600.0, 601.0, "b"), (720.0, 720.1, "c")]
    assert evaluation.detected(scores, events, detector).tolist() == [True, False, True]


def test_confusables_are_near_the_phrase_but_never_it():
    accents = phonemes.phrase_phonemes("hey jarvis")
    primary = accents["en-us"]
    assert phonemes.tokenize("dZ'A@vIs") == ["dZ", "'", "A@", "v", "I", "s"]
    kinds = phonemes.confusables(primary, list(accents.values()))
    positive_keys = {phonemes.key(v) for p in accents.values()
                     for v in phonemes.positive_variants(p)}
    assert all(kinds[kind] for kind in ("parts", "neighbours", "rhymes"))
    for strings in kinds.values():
        assert not {phonemes.key(s) for s in strings} & positive_keys
    assert "dZ'A@vIs" in kinds["parts"]  # the second word alone
    assert "s'eI dZ'A@vIs" in kinds["rhymes"]  # "say jarvis"


def test_voice_augmentation_moves_formants_and_keeps_the_level():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    for seed in range(5):
        warp_rng = np.random.default_rng(seed)
        factor = np.random.default_rng(seed).uniform(*augment.VOICE_WARP_RANGE)
        warped = augment.warp_voice(tone, warp_rng)
        # Resampled by `factor` and heard at 16 kHz: length x factor, frequency / factor.
        assert warped.dtype == np.float32
        assert warped.size == pytest.approx(tone.size * factor, abs=2)
        spectrum = np.abs(np.fft.rfft(warped * np.hanning(warped.size)))
        peak_hz = np.argmax(spectrum) * 16000 / warped.size
        assert peak_hz == pytest.approx(1000 / factor, rel=0.01)
    noise = augment.coloured_noise(rng, 32000, "white")
    equalized = augment.equalize(noise, rng)
    assert equalized.shape == noise.shape and equalized.dtype == np.float32
    assert np.max(np.abs(equalized)) == pytest.approx(np.max(np.abs(noise)), rel=1e-5)
    # Band gains stay within +-4 dB of the input's, and are not all 0 dB.
    bands = [(80, 120), (380, 420), (1500, 1700), (6000, 6800)]
    freqs = np.fft.rfftfreq(noise.size, 1 / 16000)
    ratio_db = [10 * np.log10(np.mean(np.abs(np.fft.rfft(equalized))[(freqs > a) & (freqs < b)] ** 2)
                              / np.mean(np.abs(np.fft.rfft(noise))[(freqs > a) & (freqs < b)] ** 2))
                for a, b in bands]
    relative = np.array(ratio_db) - np.mean(ratio_db)
    assert np.all(np.abs(relative) < augment.EQ_RANGE_DB) and np.ptp(ratio_db) > 0.5


def test_evaluation_rooms_keep_their_phrases_within_full_scale():
    # A room's tail adds energy: levels set before it clipped a third of the reverberant
    # phrases in their 16-bit file. Each phrase's peak is drawn in [-20, -3] dBFS after it.
    rng = np.random.default_rng(0)
    loud = [np.concatenate([np.zeros(1600), rng.uniform(-1, 1, 16000), np.zeros(1600)]
                           ).astype(np.float32) for _ in range(6)]
    waveform, events = evalset._in_context(np.random.default_rng(1), loud, ["hey jarvis"] * 6,
                                           "reverberant", [])
    assert len(events) == 6
    for start_s, end_s, _ in events:
        phrase = waveform[int(start_s * 16000):int((end_s + 1.0) * 16000)]
        peak_db = 20 * np.log10(np.max(np.abs(phrase)))
        assert -20.1 < peak_db < -2.9
        # The tail rings on after the words end (the room was applied, not skipped).
        tail = waveform[int(end_s * 16000) + 800:int(end_s * 16000) + 2400]
        assert 20 * np.log10(np.max(np.abs(tail))) > peak_db - 40


def test_evaluation_speech_is_topped_up_to_the_hours_asked_for(tmp_path):
    # Sentence lengths are only estimated before they are said: the set once came 5 s short
    # of its 2 h, which also made 0.5 FA/h allow no false accept instead of one.
    templates = voices.eval_voices(0)[:2]
    assert evalset._top_up(str(tmp_path), 0.0, templates, ["Glue the sheet."], 0) == []
    [added] = evalset._top_up(str(tmp_path), 4.0 / 3600, templates,
                              ["Glue the sheet to the dark blue background."], 0)
    assert added.kind == "speech" and added.events == []
    waveform = audio.load(added.path, 16000)
    assert waveform.size >= 4.0 * 16000
    assert -15.1 < 20 * np.log10(np.max(np.abs(waveform))) < -2.9
