"""The packages' small public surfaces: the example at the top of each README runs as written.

Each README's first ```python block runs in a folder holding, under the names it uses, tiny
untrained models (`programs.Inputs`, the fixtures of the CLI tests) and 3 s of noise; then the
objects it shows are checked: a stream pushed in pieces gives what the whole recording gives.
"""

import contextlib
import io
import json
import os
import re
import shutil

import numpy as np
import pytest

import programs
import speaker_embedding
import speech_commands
import wakeword
from earshot import audio
from speech_commands import detection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_example(package: str) -> str:
    """The first ```python block of `package`/README.md."""
    with open(os.path.join(ROOT, package, "README.md"), encoding="utf-8") as readme:
        return re.search(r"```python\n(.*?)```", readme.read(), re.S).group(1)


def run_example(package: str, folder: str) -> list[str]:
    """Runs the README's example in `folder`; returns the lines it prints."""
    printed = io.StringIO()
    with contextlib.chdir(folder), contextlib.redirect_stdout(printed):
        code = compile(readme_example(package), f"{package}/README.md", "exec")
        exec(code, {})  # pylint: disable=exec-used
    return printed.getvalue().splitlines()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> programs.Inputs:
    return programs.Inputs(str(tmp_path_factory.mktemp("public_api")))


@pytest.fixture()
def folder(tmp_path, inputs) -> str:
    for name in ("recording.wav", "stream.wav", "c.wav"):
        shutil.copy(inputs.ok_wav, tmp_path / name)
    return str(tmp_path)


def test_every_package_exports_its_surface():
    assert wakeword.__all__ == ["Detection", "Detector"]
    assert speech_commands.__all__ == ["Command", "Spotter"]
    assert speaker_embedding.__all__ == ["Verdict", "Verifier"]
    for package in (wakeword, speech_commands, speaker_embedding):
        assert all(getattr(package, name) for name in package.__all__)


def _pieces(pcm: np.ndarray) -> list[np.ndarray]:
    """Uneven pieces, one shorter than a hop, one longer than several."""
    bounds = [0, 700, 5000, 5001, 20000, pcm.size]
    return [pcm[a:b] for a, b in zip(bounds, bounds[1:])]


def test_wakeword_detector(inputs, folder):
    shutil.copytree(inputs.wakeword_model, os.path.join(folder, "hey_jarvis"))
    lines = run_example("wakeword", folder)
    detector = wakeword.Detector(inputs.wakeword_model)
    pcm = audio.load(inputs.ok_wav, 16000)
    whole = detector.process(pcm)
    assert lines == [f"{d.time_s:.2f} s  {d.phrase}  (score {d.score:.2f})" for d in whole]
    detector.reset()
    assert [d for piece in _pieces(pcm) for d in detector.push(piece)] == whole
    assert detector.stream.hop == pcm.size // 1280
    with pytest.raises(audio.AudioError, match="short.wav: 1.0000 s of audio is too short"):
        detector.process(pcm[:16000], "short.wav")


def test_wakeword_detector_fires_on_every_scored_hop_past_the_refractory_time(inputs, tmp_path):
    folder = str(tmp_path / "model")
    shutil.copytree(inputs.wakeword_model, folder)
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as manifest:
        fields = json.load(manifest)
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as manifest:
        json.dump(dict(fields, threshold=1e-6), manifest)  # every scored hop reaches it
    found = wakeword.Detector(folder).process(np.zeros(80 * 1280, np.int16))
    # Hop 24 is the first scored; the refractory 2 s is 25 hops.
    assert [d.end_sample // 1280 - 1 for d in found] == [24, 49, 74]
    assert [d.time_s for d in found] == [2.0, 4.0, 6.0]
    assert {d.phrase for d in found} == {"test"}


def test_keyword_spotter(inputs, folder):
    shutil.copytree(inputs.spotter_model, os.path.join(folder, "export"))
    lines = run_example("speech_commands", folder)
    spotter = speech_commands.Spotter(inputs.spotter_model)
    assert spotter.labels == ["_silence_", "_unknown_", "yes", "no"]
    pcm = audio.load(inputs.ok_wav, 16000)
    whole = spotter.process(pcm)
    assert lines == [f"{w.time_ms / 1000:.2f} s  {w.label}  (score {w.score:.2f})" for w in whole]
    # Every averaged score reaches threshold 0: commands, past each suppression time.
    eager = speech_commands.Spotter(inputs.spotter_model, detection.DetectionSettings(
        detection_threshold=0.0, suppression_ms=500))
    whole = eager.process(pcm)
    assert whole and all(w.label in ("_unknown_", "yes", "no") for w in whole)
    eager.reset()
    assert [w for piece in _pieces(pcm) for w in eager.push(piece)] == whole
    assert eager.stream.hop == pcm.size // 1280
    with pytest.raises(ValueError, match="export_kws"):
        speech_commands.Spotter(os.path.join(folder, "no_model"))


def test_speaker_verifier(inputs, folder):
    from speaker_embedding import database, embedder
    model_dir = os.path.join(folder, "spk")
    shutil.copytree(inputs.speaker_model, model_dir)
    os.makedirs(os.path.join(model_dir, "eval_whole"))
    with open(os.path.join(model_dir, "eval_whole", "metrics.json"), "w") as metrics:
        json.dump({"eer_threshold": 0.5}, metrics)
    network = embedder.load_model(model_dir)
    enrolled = embedder.Embedder(network).embed(inputs.ok_wav)
    database.enroll(os.path.join(folder, "speakers.npz"), "ada", enrolled,
                    embedder.fingerprint(network))
    # The enrolled recording itself: the same vector, similarity 1.
    verdict, ranking = run_example("speaker_embedding", folder)
    assert verdict == "True 1.00" and ranking.startswith("[('ada', ")
    verifier = speaker_embedding.Verifier(model_dir, os.path.join(folder, "speakers.npz"))
    assert verifier.threshold == 0.5
    verdict = verifier.verify("ada", [audio.load(inputs.ok_wav, 16000)])
    np.testing.assert_allclose(verdict.similarity, 1.0, atol=1e-5)
    assert verdict.accepted
    with pytest.raises(database.DatabaseError, match="'bob' is not enrolled"):
        verifier.verify("bob", inputs.ok_wav)
