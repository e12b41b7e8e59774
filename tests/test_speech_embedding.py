"""speech_embedding: shapes, parity with the published TFLite network, fine-tuning, weights, CLI."""

import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import numerics
import speech_embedding
from earshot import audio, litert, tts
from speech_embedding import features, model as model_lib, pretrained

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def tflite_content(speech_embedding_model):
    return pretrained.extract_tflite(pretrained.wheel_path())


@pytest.fixture(scope="module")
def speech_log_mel(spoken_phrase):
    """Log-mel of speech, at least 400 frames long (the phrase repeated)."""
    waveform = np.tile(spoken_phrase, 2)
    return features.log_mel(waveform[np.newaxis]).numpy()[..., np.newaxis]


def _run_tflite(content, log_mel):
    return litert.invoke(litert.load(content), log_mel)[0]


@pytest.mark.parametrize("samples", [12400, 13679, 13680, 16000, 48000])
def test_output_shape_follows_the_module_formula(speech_embedding_model, samples):
    waveform = np.random.default_rng(0).uniform(-0.1, 0.1, (2, samples)).astype(np.float32)
    output = speech_embedding_model(waveform, training=False)
    assert output.shape == (2, 1 + (samples - 12400) // 1280, 1, 96)
    assert speech_embedding.num_embeddings(samples) == output.shape[1]


def test_published_parameter_counts():
    model = model_lib.build()
    assert model.count_params() == 332_088
    assert sum(np.prod(w.shape) for w in model.trainable_weights) == 329_448
    assert len([l for l in model.get_layer("backbone").layers
                if isinstance(l, keras.layers.Conv2D)]) == 20


@pytest.mark.numerics
@pytest.mark.parametrize("frames", [76, 84, 400])
def test_keras_matches_tflite_on_the_same_log_mel(speech_embedding_model, tflite_content,
                                                   speech_log_mel, frames):
    log_mel = speech_log_mel[:, :frames]
    expected = _run_tflite(tflite_content, log_mel)
    actual = speech_embedding_model.get_layer("backbone")(log_mel, training=False).numpy()
    assert actual.shape == expected.shape == (1, 1 + (frames - 76) // 8, 1, 96)
    # Google's TFLite kernels and ours compute one function from the same weights.
    backbone = speech_embedding_model.get_layer("backbone")
    numerics.assert_float32_rounding(actual, expected, terms=numerics.network_terms(backbone),
                                     what=f"Keras and TFLite on {frames} frames")
    assert np.abs(expected).max() > 10  # real activations, not a degenerate pass


@pytest.mark.numerics
def test_full_clip_pass_equals_every_76_frame_window_at_stride_8(
        speech_embedding_model, tflite_content, speech_log_mel):
    log_mel = speech_log_mel[:, :400]
    full = speech_embedding_model.get_layer("backbone")(log_mel, training=False).numpy()[0, :, 0]
    starts = range(0, 400 - 76 + 1, 8)
    windows = np.concatenate([log_mel[:, s:s + 76] for s in starts])
    per_window = _run_tflite(tflite_content, windows)[:, 0, 0]
    assert full.shape == per_window.shape == (len(starts), 96)
    backbone = speech_embedding_model.get_layer("backbone")
    numerics.assert_float32_rounding(full, per_window, terms=numerics.network_terms(backbone),
                                     what="one pass against 76-frame windows in TFLite")


def test_too_short_input_is_a_clear_error(speech_embedding_model):
    with pytest.raises(audio.AudioError, match="too short.*12400"):
        speech_embedding.embed(np.zeros(12399, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 12400 samples"):
        speech_embedding_model(np.zeros((1, 12399), np.float32))


@pytest.mark.numerics
def test_embed_takes_paths_arrays_and_other_rates(speech_embedding_model, spoken_phrase, tmp_path):
    from_array = speech_embedding.embed(spoken_phrase)
    assert from_array.shape == (speech_embedding.num_embeddings(spoken_phrase.size), 96)
    path = tmp_path / "phrase.wav"
    audio.write_wav(path, spoken_phrase, 16000)
    # 16-bit quantisation of the file is the only difference.
    numerics.assert_row_cosines(speech_embedding.embed(str(path)), from_array, 0.999,
                                what="a 16-bit file against its float samples")
    stereo_44k = np.stack([audio.resample(spoken_phrase, 16000, 44100)] * 2, axis=1)
    resampled = speech_embedding.embed(np.clip(stereo_44k, -1, 1), sample_rate=44100)
    assert resampled.shape[1] == 96 and abs(resampled.shape[0] - from_array.shape[0]) <= 1
    rows = min(len(resampled), len(from_array))
    numerics.assert_row_cosines(resampled[:rows], from_array[:rows], 0.95,
                                what="44.1 kHz stereo resampled against 16 kHz")


def test_fine_tuning_moves_weights_and_batch_norm_statistics():
    keras.utils.set_random_seed(0)
    backbone_model = speech_embedding.load(trainable=True)
    words = ["yes", "no"]
    speakers = tts.speakers(4, seed=11)
    clips, labels = [], []
    for label, word in enumerate(words):
        for speaker in speakers:
            clip = tts.speak(word, speaker)[:19200]
            clips.append(np.pad(clip, (0, 19200 - clip.size)))
            labels.append(label)
    x, y = np.stack(clips), np.array(labels)

    inputs = keras.Input((None,))
    embedding = backbone_model(inputs)
    pooled = keras.layers.GlobalMaxPooling2D()(embedding)
    outputs = keras.layers.Dense(len(words))(pooled)
    classifier = keras.Model(inputs, outputs)
    classifier.compile(keras.optimizers.Adam(1e-3),
                       keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    backbone = backbone_model.get_layer("backbone")
    kernel_before = backbone.get_layer("conv2d_5").kernel.numpy().copy()
    moving_mean_before = backbone.get_layer("batch_normalization_5").moving_mean.numpy().copy()
    history = classifier.fit(x, y, batch_size=8, epochs=6, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert not np.allclose(backbone.get_layer("conv2d_5").kernel.numpy(), kernel_before)
    assert not np.allclose(backbone.get_layer("batch_normalization_5").moving_mean.numpy(),
                           moving_mean_before)


def test_batch_norm_moving_statistics_are_those_of_speech(speech_embedding_model):
    """Batch statistics of unseen speech stay close to the calibrated moving ones."""
    speakers = tts.speakers(4, seed=99)
    clips = [tts.speak("please turn the lights off in the kitchen", s)[:32000] for s in speakers]
    batch = np.stack([np.pad(c, (0, 32000 - c.size)) for c in clips])
    trainable = speech_embedding.load(trainable=True)
    inference = trainable(batch, training=False).numpy()
    training = trainable(batch, training=True).numpy()
    cosine = np.sum(inference * training) / (np.linalg.norm(inference) * np.linalg.norm(training))
    assert cosine > 0.9
    # Identity batch norm would be far off: unfolding really stored speech statistics.
    norm = speech_embedding_model.get_layer("backbone").get_layer("batch_normalization_3")
    assert np.std(norm.moving_mean.numpy()) > 0.01
    assert not np.allclose(norm.moving_variance.numpy(), 1.0, atol=0.05)


def test_missing_weights_name_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path))
    with pytest.raises(pretrained.WeightsNotFoundError, match="python -m speech_embedding.weights fetch"):
        speech_embedding.load()


def test_tampered_wheel_is_rejected(tmp_path, speech_embedding_model):
    tampered = tmp_path / "openwakeword-0.5.1-py3-none-any.whl"
    with zipfile.ZipFile(pretrained.wheel_path()) as source, zipfile.ZipFile(tampered, "w") as target:
        content = bytearray(source.read(pretrained.TFLITE_MEMBER))
        content[-100] ^= 0xFF
        target.writestr(pretrained.TFLITE_MEMBER, bytes(content))
    with pytest.raises(ValueError, match="sha256"):
        pretrained.extract_tflite(str(tampered))
    with pytest.raises(ValueError, match="not an openwakeword"):
        pretrained.extract_tflite(__file__)


@pytest.mark.numerics
def test_cli_writes_one_array_per_input(speech_embedding_model, spoken_phrase, tmp_path):
    paths = []
    for sample_rate in (16000, 22050):
        path = str(tmp_path / f"clip_{sample_rate}.wav")
        audio.write_wav(path, audio.resample(spoken_phrase, 16000, sample_rate), sample_rate)
        paths.append(path)
    output = tmp_path / "out.npz"
    result = subprocess.run(
        [sys.executable, "-m", "speech_embedding.embed", f"--input={','.join(paths)}",
         f"--output={output}"], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(output) as arrays:
        assert sorted(arrays.files) == sorted(paths)
        for path in paths:
            assert arrays[path].shape[1] == 96
            # The CLI's batches against one file at a time: same function, other shapes.
            numerics.assert_float32_rounding(
                arrays[path], speech_embedding.embed(path),
                terms=numerics.network_terms(speech_embedding_model) + numerics.LOG_MEL_TERMS,
                what=f"CLI and embed() on {path}")


def test_cli_reports_a_bad_file_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    output = tmp_path / "out.npz"
    result = subprocess.run(
        [sys.executable, "-m", "speech_embedding.embed", f"--input={bad}", f"--output={output}"],
        cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "error:" in result.stderr and "cannot decode" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()
