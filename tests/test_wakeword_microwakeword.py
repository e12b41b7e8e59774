"""wakeword.microwakeword: microWakeWord's hey_jarvis as the wheel streams it, on 80 ms hops."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import numerics
from earshot import audio, errors, fileio
from wakeword import evalset, evaluation, microwakeword

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOP = microwakeword.HOP_SAMPLES


def _chirp() -> np.ndarray:
    """2 s sweeping 200 -> 1000 Hz at amplitude 0.3."""
    t = np.arange(2 * 16000) / 16000
    return 0.3 * np.sin(2 * np.pi * (200 * t + 400 * t ** 2))


@pytest.fixture(scope="module")
def chirps() -> np.ndarray:
    """~6 s: the chirp three times, quieter each time (hey_jarvis scores it above 0)."""
    chirp = _chirp()
    return np.concatenate([chirp, 0.7 * chirp, 0.4 * chirp, np.zeros(3000)]).astype(np.float32)


@pytest.mark.numerics
def test_scores_one_per_hop_in_range_deterministic(chirps):
    scores = microwakeword.file_scores(chirps)
    assert scores.dtype == np.float32 and scores.shape == (chirps.size // HOP,)
    assert np.all((scores >= 0) & (scores <= 1)) and scores.max() > 0
    assert scores[0] == 0  # fewer than 5 probabilities yet: the wheel reports 0
    # means of 5 uint8 probabilities of step 1/256: multiples of 1/1280, so the wheel's
    # `mean > 0.97` and detect's `score >= 0.97` agree
    numerics.assert_float32_rounding(scores * 1280, np.round(scores * 1280), terms=5,
                                     what="float32 means of 5 steps of 1/256, in 1/1280")
    np.testing.assert_array_equal(microwakeword.file_scores(chirps), scores)
    stream = microwakeword.MicroWakeWordStream()
    stream.push(np.random.default_rng(0).standard_normal(20000).astype(np.float32) * 0.1)
    stream.reset()
    np.testing.assert_array_equal(stream.push(chirps), scores)


def test_silence_and_noise_stay_far_below_the_cutoff():
    noise = np.random.default_rng(1).standard_normal(5 * 16000).astype(np.float32) * 0.05
    for waveform in (np.zeros(5 * 16000, np.float32), noise):
        assert microwakeword.file_scores(waveform).max() < 0.1


def test_hop_scores_are_the_wheels_own_stream_grouped_by_the_audio_they_read(chirps):
    """The wheel run over the whole file at once; frame k reads samples up to 480 + 160 k."""
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
    model, features = MicroWakeWord.from_builtin(Model.HEY_JARVIS), MicroWakeWordFeatures()
    pcm = np.clip(np.round(chirps * 32768), -32768, 32767).astype("<i2").tobytes()
    means = np.array([model.process_streaming_prob(f) for f in features.process_streaming(pcm)])
    hops = (480 + 160 * np.arange(means.size) - 1) // HOP
    expected = [means[hops == hop].max() for hop in range(chirps.size // HOP)]
    np.testing.assert_array_equal(microwakeword.file_scores(chirps), np.float32(expected))


@pytest.mark.parametrize("piece", [1, 37, 1000, HOP, 5000])
def test_scores_do_not_depend_on_how_the_audio_is_cut(chirps, piece):
    whole = microwakeword.file_scores(chirps)
    stream = microwakeword.MicroWakeWordStream()
    scores = [stream.push(chirps[start:start + piece]) for start in range(0, 8 * piece, piece)]
    scores.append(stream.push(chirps[8 * piece:]))
    np.testing.assert_array_equal(np.concatenate(scores), whole)


def test_hop_h_reads_the_audio_up_to_its_end_and_no_further(chirps):
    """Silence from hop 10 on (inside the chirp's scored span) changes hop 10, not hop 9."""
    scores = microwakeword.file_scores(chirps)
    cut = chirps.copy()
    cut[10 * HOP:] = 0
    changed = microwakeword.file_scores(cut)
    np.testing.assert_array_equal(changed[:10], scores[:10])
    assert scores[9] > 0 and changed[10] != scores[10]


def test_operating_point_is_the_manifests_cutoff_and_an_unknown_model_a_user_error():
    detector = microwakeword.detector("hey_jarvis", refractory_s=1.5)
    assert (detector.threshold, detector.smoothing_hops, detector.refractory_s) == (0.97, 1, 1.5)
    assert microwakeword.manifest("hey_jarvis")["micro"]["sliding_window_size"] == 5
    with pytest.raises(microwakeword.ComparatorMissing, match="hey_jarvis") as raised:
        microwakeword.detector("hey_nobody")
    assert isinstance(raised.value, errors.UserError)


@pytest.fixture(scope="module")
def tiny_evaluation(tmp_path_factory):
    """An untrained earshot model folder, a 3-file evaluation set, a private cache."""
    from speech_embedding import pretrained
    from wakeword import export, model as model_lib, runtime
    root = tmp_path_factory.mktemp("mww_eval")
    pretrained.fetch()
    cache = root / "cache"
    cache.mkdir()
    os.symlink(fileio.cache_dir("speech_embedding"), cache / "speech_embedding")
    model = root / "model"
    model.mkdir()
    model_lib.build_head().save_weights(str(model / export.HEAD_WEIGHTS_NAME))
    runtime.Manifest("hey jarvis", 0.5, 1, 2.0, 16000, HOP, 24, 0.5).write(
        str(model / runtime.MANIFEST_NAME))
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(3)
    quiet = rng.standard_normal(3 * 16000) * 0.01
    chirp = _chirp()
    clips = {"positives_clean.wav": ("positive:clean", np.concatenate([quiet, chirp, quiet])),
             "confusables.wav": ("confusable", np.concatenate([quiet, 0.5 * chirp, quiet])),
             "speech_00.wav": ("speech", rng.standard_normal(20 * 16000) * 0.01)}
    entries = []
    for name, (kind, waveform) in clips.items():
        audio.write_wav(str(data / name), waveform.astype(np.float32), 16000)
        events = [] if kind == "speech" else [[3.0, 5.0, "hey jarvis" if "positive" in kind
                                               else "hey service"]]
        entries.append({"path": name, "kind": kind, "events": events})
    with open(data / evalset.EVENTS_NAME, "w", encoding="utf-8") as out:
        json.dump(entries, out)
    return {"model": str(model), "data": str(data), "cache": str(cache), "root": root}


def test_evaluate_adds_microwakeword_at_its_own_cutoff(tiny_evaluation):
    output = tiny_evaluation["root"] / "evaluation.json"
    det_plot = tiny_evaluation["root"] / "det.png"
    result = subprocess.run(
        [sys.executable, "-m", "wakeword.evaluate", f"--model_dir={tiny_evaluation['model']}",
         "--microwakeword=hey_jarvis", f"--data_dir={tiny_evaluation['data']}",
         f"--output={output}", f"--det_plot={det_plot}"],
        cwd=REPO, capture_output=True, timeout=600, check=False,
        env=dict(os.environ, EARSHOT_CACHE=tiny_evaluation["cache"]))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    with open(output, encoding="utf-8") as saved:
        models = json.load(saved)["models"]
    assert list(models) == ["earshot", "microWakeWord hey_jarvis"]
    files = evalset.build("hey jarvis", tiny_evaluation["data"])
    scores = {f.path: microwakeword.file_scores(audio.load(f.path, 16000)) for f in files}
    expected = json.loads(json.dumps(evaluation.metrics(files, scores,
                                                        microwakeword.detector("hey_jarvis"))))
    assert models["microWakeWord hey_jarvis"] == expected
    cached = glob.glob(os.path.join(tiny_evaluation["cache"], "wakeword", "scores",
                                    "microwakeword-hey_jarvis-*.npy"))
    assert len(cached) == len(files)
    assert sorted(np.load(p).size for p in cached) == sorted(s.size for s in scores.values())
    assert "| microWakeWord hey_jarvis | own threshold | 0.9700 |" in result.stdout.decode()
    assert det_plot.stat().st_size > 0
