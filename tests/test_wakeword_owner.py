"""wakeword.owner: `listen --owner=DB:NAME` accepts the enrolled voice's detections only.

A wake-word model with an untrained head and a threshold near 0 fires at hop 24 and then
once per 2 s refractory period, wherever it is: a detector that fires at known times is
what the owner gate needs, and a trained one fires where it likes. The speaker model is
the speaker tests' tiny one (10 espeak-ng speakers, 8 steps); it tells the two voices used
here apart, which the test checks before relying on it.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import numerics
import speech_embedding
from earshot import audio, streaming, tts
from speaker_embedding import (database, embedder, model as speaker_model_lib, synthesize,
                               trainer as speaker_trainer)
from speaker_embedding.enroll import enroll
from wakeword import owner, model as wakeword_model_lib, runtime

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE, HOP = 16000, 1280
# The speaker tests' tiny network and schedule (tests/test_speaker_embedding.py).
TINY = speaker_model_lib.ResCNNConfig(filters=(8, 16), blocks=1)
TRAIN_ARGS = dict(config=TINY, test_speakers=4, batch_size=4, softmax_steps=4, triplet_steps=4,
                  candidate_speakers=4, mining_refresh=3, checkpoint_every=3,
                  learning_rate=3e-3)
# Two clearly different voices: a low male US one and a high, faster female British one.
VOICE_A = tts.Speaker("en-us", "m3", 25, 150)
VOICE_B = tts.Speaker("en", "f4", 85, 185)
TURN_S = 6.0  # A speaks the first 6 s of the stream, B the next 6 s
DETECTIONS_S = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]  # hop 24, then every 25 hops (2 s)


def _listen(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "wakeword.listen", *args], cwd=REPO,
                            input=stdin, capture_output=True, timeout=600, check=False)
    return subprocess.CompletedProcess(result.args, result.returncode,
                                       result.stdout.decode(), result.stderr.decode())


def _speech(speaker: tts.Speaker, sentences: tuple[str, ...]) -> np.ndarray:
    return np.concatenate([tts.speak(sentence, speaker) for sentence in sentences])


@pytest.fixture(scope="module")
def speaker_model(tmp_path_factory) -> str:
    """The tiny speaker_embedding model folder (no threshold measured in it)."""
    voices = str(tmp_path_factory.mktemp("voices") / "set")
    synthesize.synthesize(voices, synthesize.make_speakers(10, seed=3), 4)
    model_dir = str(tmp_path_factory.mktemp("speaker_model"))
    speaker_trainer.train(voices, model_dir, **TRAIN_ARGS)
    return model_dir


@pytest.fixture(scope="module")
def speakers(speaker_model, tmp_path_factory) -> str:
    """A database enrolling A and B, each from 3 sentences the stream does not hold."""
    folder = tmp_path_factory.mktemp("speakers")
    db = str(folder / "speakers.npz")
    for name, voice in (("A", VOICE_A), ("B", VOICE_B)):
        path = str(folder / f"{name}.wav")
        audio.write_wav(path, _speech(voice, tts.HARVARD_SENTENCES[:3]), RATE)
        enroll(speaker_model, db, name, [path])
    return db


@pytest.fixture(scope="module")
def wakeword_model(tmp_path_factory) -> str:
    """An untrained head whose threshold every scored hop reaches: it fires on schedule."""
    folder = str(tmp_path_factory.mktemp("wakeword") / "model")
    os.makedirs(folder)
    step = wakeword_model_lib.streaming_step(speech_embedding.load(),
                                              wakeword_model_lib.build_head())
    with open(os.path.join(folder, runtime.MODEL_NAME), "wb") as model_file:
        model_file.write(step.to_tflite())
    runtime.Manifest("hey jarvis", 1e-6, 1, 2.0, RATE, HOP, 24, 0.5).write(
        os.path.join(folder, runtime.MANIFEST_NAME))
    return folder


@pytest.fixture(scope="module")
def conversation(tmp_path_factory) -> str:
    """12 s: A for 6 s, then B for 6 s, the same sentences (so only the voice differs)."""
    turns = [_speech(voice, tts.HARVARD_SENTENCES[3:7]) for voice in (VOICE_A, VOICE_B)]
    turn = int(TURN_S * RATE)
    assert min(t.size for t in turns) >= turn
    path = str(tmp_path_factory.mktemp("conversation") / "conversation.wav")
    audio.write_wav(path, np.concatenate([t[:turn] for t in turns]), RATE)
    return path


def test_recent_audio_gives_the_last_samples_ending_at_a_hop(tmp_path):
    # What listen reads: a file's chunks, each at most 4 hops (the decoder's blocks are cut).
    path = str(tmp_path / "ramp.wav")
    soundfile.write(path, np.arange(20 * HOP) / 32768.0, RATE, subtype="FLOAT")
    stream = audio.load(path, RATE)
    recent = owner.RecentAudio(2 * HOP + 4 * HOP)
    pushed = 0
    for piece in streaming.input_chunks(path, RATE, 4 * HOP):
        assert 0 < piece.size <= 4 * HOP
        np.testing.assert_array_equal(piece, stream[pushed:pushed + piece.size])
        recent.push(piece)
        pushed += piece.size
        assert recent.end == pushed
        for hop_end in range(HOP, pushed + 1, HOP):
            if hop_end > pushed - 4 * HOP:  # the hops this piece can complete
                np.testing.assert_array_equal(recent.window(hop_end, 2 * HOP),
                                              stream[max(0, hop_end - 2 * HOP):hop_end])
    assert pushed == stream.size
    with pytest.raises(ValueError, match="not all in the ring"):
        recent.window(stream.size - 5 * HOP, 2 * HOP)  # left the ring
    with pytest.raises(ValueError, match="not all in the ring"):
        recent.window(stream.size + 1, 2 * HOP)  # not pushed yet
    # A push longer than the ring keeps its end.
    recent.push(np.arange(100, 100 + 7 * HOP, dtype=np.float32))
    np.testing.assert_array_equal(recent.window(recent.end, 6 * HOP),
                                  np.arange(100 + HOP, 100 + 7 * HOP))


@pytest.mark.numerics
def test_listen_accepts_the_owner_and_rejects_another_voice(speaker_model, speakers,
                                                            wakeword_model, conversation,
                                                            tmp_path):
    waveform = audio.load(conversation, RATE)
    heard = int(owner.OWNER_SECONDS * RATE)
    windows = [waveform[int(t * RATE) - heard:int(t * RATE)] for t in DETECTIONS_S]
    network = embedder.load_model(speaker_model)
    speaker_embedder = embedder.Embedder(network)
    # A cosine of two 512-d unit vectors, each from the speaker network and its front end.
    terms = numerics.network_terms(network) + numerics.LOG_MEL_TERMS + 512
    enrolled = database.read(speakers)
    similarity = np.array([enrolled.score("A", speaker_embedder.embed(w)) for w in windows])
    by_a, by_b = similarity[:3], similarity[3:]
    assert by_a.min() > by_b.max() + 0.02, similarity  # the tiny model hears the difference
    # The threshold `speaker_embedding.evaluate --whole_utterances` would store, set between
    # the voices as the test's manifest threshold is set low: what is tested is the gate.
    model_dir = str(tmp_path / "speaker_model")
    shutil.copytree(speaker_model, model_dir)
    os.makedirs(os.path.join(model_dir, "eval_whole"))
    threshold = float(by_a.min() + by_b.max()) / 2
    with open(os.path.join(model_dir, "eval_whole", "metrics.json"), "w") as metrics_file:
        json.dump({"eer_threshold": threshold}, metrics_file)

    arguments = [f"--model_dir={wakeword_model}", f"--owner={speakers}:A",
                 f"--speaker_model_dir={model_dir}"]
    result = _listen(*arguments, f"--input={conversation}")
    assert result.returncode == 0, result.stderr[-2000:]
    # Live, from stdin 320 ms at a time: the same samples (the WAV's int16), the same lines.
    pcm = np.round(waveform * 32768).clip(-32768, 32767).astype("<i2").tobytes()
    from_stdin = _listen(*arguments, "--input=-", stdin=pcm)
    assert from_stdin.returncode == 0, from_stdin.stderr[-2000:]
    assert from_stdin.stdout == result.stdout
    lines = result.stdout.splitlines()
    assert [float(line.split(" s ")[0]) for line in lines] == DETECTIONS_S, lines
    for line, expected, is_a in zip(lines, similarity, [True] * 3 + [False] * 3):
        assert "hey jarvis  (score " in line
        verdict, printed = line.rsplit("  ", 1)[1].split(" (similarity ")
        assert verdict == ("owner A" if is_a else "rejected: not A"), line
        numerics.assert_float32_rounding(float(printed.rstrip(")")), expected, terms=terms,
                                         scale=1, quantum=0.01,
                                         what=f"similarity printed with 2 decimals: {line}")

    # The library gives the same similarities, and decides at a threshold given instead of
    # the stored one: here one that lets B's closest window through too.
    ranked = np.sort(similarity)
    given = float(ranked[1] + ranked[2]) / 2
    check = owner.OwnerCheck(speakers, "A", speaker_model, threshold=given)
    verdicts = [check.check(w) for w in windows]
    numerics.assert_float32_rounding([v.similarity for v in verdicts], similarity, terms=terms,
                                     scale=1, what="library and test similarities")
    assert [v.accepted for v in verdicts] == (similarity >= given).tolist()
    assert sum(v.accepted for v in verdicts) == 4


@pytest.mark.parametrize("owner_args, message", [
    (["--owner={db}:nobody", "--speaker_model_dir={model}"],
     "'nobody' is not enrolled; enrolled: A, B"),
    (["--owner={tmp}/none.npz:A", "--speaker_model_dir={model}"], "no such speaker database"),
    (["--owner={db}:A"], "needs --speaker_model_dir=DIR"),
    (["--owner=A", "--speaker_model_dir={model}"], "expected DB:NAME"),
    (["--speaker_model_dir={model}"], "only apply with --owner"),
    (["--owner={db}:A", "--speaker_model_dir={tmp}"], "not a speaker_embedding model folder"),
])
def test_a_bad_owner_fails_in_one_line_before_any_audio(owner_args, message, speaker_model,
                                                        speakers, wakeword_model, tmp_path):
    missing_input = str(tmp_path / "never_read.wav")
    result = _listen(f"--model_dir={wakeword_model}", f"--input={missing_input}",
                     *[a.format(db=speakers, model=speaker_model, tmp=tmp_path)
                       for a in owner_args])
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "never_read" not in lines[0]


def test_owner_check_refuses_other_models_and_unmeasured_thresholds(speaker_model, speakers,
                                                                     tmp_path):
    with pytest.raises(owner.OwnerError, match="no verification threshold measured"):
        owner.OwnerCheck(speakers, "A", speaker_model)  # no eval_whole/metrics.json
    with pytest.raises(owner.OwnerError, match=r"must be in \[-1, 1\]"):
        owner.OwnerCheck(speakers, "A", speaker_model, threshold=1.5)
    other = str(tmp_path / "other_model")
    os.makedirs(other)
    embedder.write_config(other, TINY)
    embedder.save_weights(speaker_model_lib.build(config=TINY), other)  # untrained weights
    with pytest.raises(database.DatabaseError, match="enrolled with model"):
        owner.OwnerCheck(speakers, "A", other, threshold=0.5)
    assert owner.from_flags(None, None, None) is None
    assert owner.parse("/data/a:b/speakers.npz:ann") == ("/data/a:b/speakers.npz", "ann")


def test_listen_without_owner_does_not_load_tensorflow():
    result = subprocess.run([sys.executable, "-c", "import sys; from wakeword import listen, "
                             "owner; print('tensorflow' in sys.modules)"], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "False"
