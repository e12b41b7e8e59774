"""speech_commands: splits, settings, features, models and the synthesized dataset."""

import functools
import glob
import http.server
import math
import os
import tarfile
import threading

import numpy as np
import pytest
import soundfile
import tensorflow as tf

import numerics
from earshot import litert
from earshot.errors import UserError
from speech_commands import architectures, features, synthetic_dataset
from speech_commands.reference import input_data, models

WORDS = ["yes", "no"]
UNKNOWN = ["cat", "dog"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """10 speakers x (2 wanted + 2 unknown words) x 1 repetition, 3 s of each noise."""
    path = str(tmp_path_factory.mktemp("sc_data") / "speech")
    synthetic_dataset.synthesize(path, WORDS, UNKNOWN, speakers=10, background_seconds=3.0,
                                 seed=1)
    return path


def settings(preprocess="mfcc", label_count=4, stride_ms=10.0):
    return features.model_settings(label_count, 16000, 1000, 30.0, stride_ms, 40, preprocess)


# Split assignments published with Speech Commands v0.02 (validation_list.txt, testing_list.txt).
PUBLISHED_VALIDATION = ["cat/8b775397_nohash_0.wav", "cat/2643992f_nohash_1.wav",
                        "go/6a27a9bf_nohash_0.wav", "four/dbb40d24_nohash_0.wav",
                        "go/c50225fa_nohash_1.wav"]
PUBLISHED_TESTING = ["cat/2aa787cf_nohash_0.wav", "cat/ffa76c4a_nohash_0.wav",
                     "go/0ea0e2f4_nohash_1.wav", "four/27c30960_nohash_0.wav",
                     "go/85834399_nohash_2.wav"]


@pytest.mark.parametrize("name", PUBLISHED_VALIDATION)
def test_which_set_matches_published_validation_list(name):
    assert input_data.which_set(name, 10, 10) == "validation"


@pytest.mark.parametrize("name", PUBLISHED_TESTING)
def test_which_set_matches_published_testing_list(name):
    assert input_data.which_set(name, 10, 10) == "testing"


def test_which_set_hashes_only_the_speaker_and_splits_10_10_80():
    assert (input_data.which_set("/a/yes/8b775397_nohash_3.wav", 10, 10) ==
            input_data.which_set("no/8b775397_nohash_0.wav", 10, 10))
    modes = [input_data.which_set(f"{i:08x}_nohash_0.wav", 10, 10) for i in range(4000)]
    assert abs(modes.count("validation") / 4000 - 0.1) < 0.02
    assert abs(modes.count("testing") / 4000 - 0.1) < 0.02


def test_prepare_model_settings_matches_reference_formulas():
    mfcc = models.prepare_model_settings(12, 16000, 1000, 30.0, 10.0, 40, "mfcc")
    assert (mfcc["desired_samples"], mfcc["window_size_samples"], mfcc["window_stride_samples"],
            mfcc["spectrogram_length"], mfcc["fingerprint_width"],
            mfcc["fingerprint_size"], mfcc["average_window_width"]) == (16000, 480, 160, 98, 40,
                                                                        3920, -1)
    assert mfcc == settings("mfcc", 12).as_dict()
    average = settings("average", 12)
    assert (average.average_window_width, average.fingerprint_width,
            average.fingerprint_size) == (6, 43, 4214)
    assert settings("micro", 4, 20.0).spectrogram_length == 49
    with pytest.raises(ValueError, match="Unknown preprocess mode"):
        settings("fft")


def test_prepare_words_list_puts_silence_and_unknown_first():
    assert input_data.prepare_words_list(["yes", "no"]) == ["_silence_", "_unknown_", "yes", "no"]


@pytest.mark.parametrize("architecture,count", [
    ("conv", 926_860), ("low_latency_conv", 949_862), ("low_latency_svdf", 751_372),
    ("single_fc", 47_052), ("tiny_conv", 94_740)])
def test_parameter_counts_at_default_settings(architecture, count):
    model = architectures.build_model(settings("mfcc", 12), architecture)
    assert model.count_params() == count
    assert model.output_shape == (None, 12)


@pytest.mark.parametrize("architecture,count", [("tiny_conv", 16_652),
                                                ("tiny_embedding_conv", 6_164)])
def test_parameter_counts_of_micro_speech_models(architecture, count):
    assert architectures.build_model(settings("micro", 4, 20.0), architecture).count_params() == count


def test_unknown_architecture_is_named_in_the_error():
    with pytest.raises(ValueError, match='"lstm" not recognized'):
        architectures.build_model(settings(), "lstm")


def _reference_fingerprint(wav_path, model_settings):
    """The reference's per-clip graph: decode_wav -> AudioSpectrogram -> Mfcc (file's rate)."""
    decoded = tf.audio.decode_wav(tf.io.read_file(wav_path), desired_channels=1,
                                  desired_samples=model_settings.desired_samples)
    spectrogram = tf.raw_ops.AudioSpectrogram(
        input=decoded.audio, window_size=model_settings.window_size_samples,
        stride=model_settings.window_stride_samples, magnitude_squared=True)
    if model_settings.preprocess == "average":
        width = model_settings.average_window_width
        return tf.nn.pool(tf.expand_dims(spectrogram, -1), window_shape=[1, width],
                          strides=[1, width], pooling_type="AVG", padding="SAME").numpy().ravel()
    mfcc = tf.raw_ops.Mfcc(spectrogram=spectrogram, sample_rate=decoded.sample_rate,
                           dct_coefficient_count=model_settings.fingerprint_width)
    return mfcc.numpy().ravel()


@pytest.mark.numerics
@pytest.mark.parametrize("preprocess", ["mfcc", "average"])
def test_batched_features_equal_the_reference_per_clip_graph(dataset, preprocess):
    model_settings = settings(preprocess)
    processor = input_data.AudioProcessor("", dataset, 10, 10, WORDS, 10, 10, model_settings)
    paths = sorted(glob.glob(os.path.join(dataset, "yes", "*.wav")))[:3]
    batch = processor.featurize(np.stack([processor.clip(p) for p in paths]))
    # Spectrogram, then mel bands into each DCT coefficient, or bins into each average.
    terms = numerics.front_end_terms(model_settings.window_size_samples,
                                     model_settings.fingerprint_width if preprocess == "mfcc"
                                     else model_settings.average_window_width)
    for row, path in zip(batch, paths):
        numerics.assert_float32_rounding(row, _reference_fingerprint(path, model_settings),
                                         terms=terms, what=f"batched and per-clip {path}")


@pytest.mark.numerics
def test_featurize_batches_of_any_size_equal_per_clip_features(dataset):
    """Batches of 4, 1, 3, 2, 1 clips (shard counts that change between calls, which crashed
    the retracing function) give each clip's own fingerprint."""
    model_settings = settings()
    processor = input_data.AudioProcessor("", dataset, 10, 10, WORDS, 10, 10, model_settings)
    paths = sorted(glob.glob(os.path.join(dataset, "*", "*_nohash_*.wav")))[:11]
    clips = np.stack([processor.clip(p) for p in paths])
    single = np.concatenate([processor.featurize(clip[np.newaxis]) for clip in clips])
    four_shards = features.BatchFeaturizer(model_settings, shards=4)
    for featurize in (processor.featurize, four_shards):
        start = 0
        for size in (4, 1, 3, 2, 1):
            batch = featurize(clips[start:start + size])
            assert batch.shape == (size, model_settings.fingerprint_size)
            numerics.assert_float32_rounding(
                batch, single[start:start + size], what=f"a batch of {size} and single clips",
                terms=numerics.front_end_terms(model_settings.window_size_samples,
                                               model_settings.fingerprint_width))
            start += size
    assert featurize(clips[:0]).shape == (0, model_settings.fingerprint_size)


def test_micro_frontend_loads_and_gives_49_by_40(dataset):
    model_settings = settings("micro", 4, 20.0)
    processor = input_data.AudioProcessor("", dataset, 10, 10, WORDS, 10, 10, model_settings)
    fingerprint = processor.fingerprint_for_wav(glob.glob(os.path.join(dataset, "no", "*"))[0])
    assert fingerprint.shape == (1, 49 * 40)
    assert 0.0 <= fingerprint.min() and fingerprint.max() <= 26.0
    assert fingerprint.std() > 0.5


def test_dataset_layout_and_split_lists(dataset):
    clip, rate = soundfile.read(glob.glob(os.path.join(dataset, "yes", "*.wav"))[0], dtype="int16")
    assert rate == 16000 and clip.shape == (16000,)
    assert soundfile.info(glob.glob(os.path.join(dataset, "yes", "*.wav"))[0]).subtype == "PCM_16"
    noises = sorted(os.listdir(os.path.join(dataset, "_background_noise_")))
    assert noises == sorted(f"{kind}.wav" for kind in synthetic_dataset.BACKGROUND_KINDS)
    for mode in ("validation", "testing"):
        with open(os.path.join(dataset, f"{mode}_list.txt")) as listing:
            entries = listing.read().split()
        assert entries, f"{mode} list is empty"
        assert all(input_data.which_set(e, 10, 10) == mode for e in entries)
    all_clips = glob.glob(os.path.join(dataset, "*", "*_nohash_*.wav"))
    assert len(all_clips) == 10 * 4
    speakers = {os.path.basename(p).split("_")[0] for p in all_clips}
    assert len(speakers) == 10
    modes = [input_data.which_set(f"{s}_nohash_0.wav", 10, 10) for s in speakers]
    assert (modes.count("validation"), modes.count("testing")) == (1, 1)


def test_silence_and_unknown_counts_follow_the_reference(dataset):
    processor = input_data.AudioProcessor("", dataset, 10, 10, WORDS, 10, 10, settings())
    for mode, entries in processor.data_index.items():
        wanted = sum(e["label"] in WORDS for e in entries)
        assert sum(e["label"] == "_silence_" for e in entries) == math.ceil(wanted * 0.1)
        assert sum(e["label"] in UNKNOWN for e in entries) == math.ceil(wanted * 0.1)
        assert all(input_data.which_set(e["file"], 10, 10) == mode
                   for e in entries if e["label"] != "_silence_")
    assert processor.word_to_index == {"_silence_": 0, "cat": 1, "dog": 1, "yes": 2, "no": 3}


def test_training_batches_are_augmented_and_repeatable_from_rng_state(dataset):
    processor = input_data.AudioProcessor("", dataset, 10, 10, WORDS, 10, 10, settings(), seed=5)
    state = processor.get_rng_state()
    first, labels = processor.get_audio(16, 0, 1.0, 0.1, 1600, "training")
    assert first.shape == (16, 16000) and labels.dtype == np.int64
    assert np.abs(first).max() <= 1.0
    processor.set_rng_state(state)
    again, labels_again = processor.get_audio(16, 0, 1.0, 0.1, 1600, "training")
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(labels, labels_again)
    silence = first[labels == 0]
    if len(silence):
        assert np.abs(silence).max() > 0  # Silence clips are pure background noise.
    clean, _ = processor.get_audio(1, 0, 0.0, 0.0, 0, "validation")
    entry = processor.data_index["validation"][0]
    if entry["label"] != "_silence_":
        np.testing.assert_array_equal(clean[0], processor.clip(entry["file"]))


def test_evaluation_set_is_fixed_and_batched_like_get_data(dataset):
    processor = input_data.AudioProcessor("", dataset, 10, 10, WORDS, 10, 10, settings())
    fingerprints, labels = processor.batch(-1, 0, 0, 0, 0, "testing")
    assert fingerprints.shape == (processor.set_size("testing"), 3920)
    part, part_labels = processor.batch(2, 1, 0, 0, 0, "testing")
    np.testing.assert_array_equal(part, fingerprints[1:3])
    np.testing.assert_array_equal(part_labels, labels[1:3])


def test_missing_word_and_empty_folder_are_clear_errors(dataset, tmp_path):
    with pytest.raises(ValueError, match="Expected to find left in labels"):
        input_data.AudioProcessor("", dataset, 10, 10, ["yes", "left"], 10, 10, settings())
    with pytest.raises(FileNotFoundError, match="No .wavs found"):
        input_data.AudioProcessor("", str(tmp_path), 10, 10, WORDS, 10, 10, settings())


def test_download_and_extract_from_a_local_server(dataset, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "speech.tar.gz", "w:gz") as archive:
        for word in ("yes", "no"):
            archive.add(os.path.join(dataset, word), arcname=word)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/speech.tar.gz"
        target = tmp_path / "downloaded"
        input_data.maybe_download_and_extract_dataset(url, str(target))
        assert sorted(os.listdir(target / "yes")) == sorted(os.listdir(os.path.join(dataset,
                                                                                    "yes")))
        with pytest.raises(UserError, match=r"cannot download .*HTTP Error 404"):
            input_data.maybe_download_and_extract_dataset(url.replace("speech", "missing"),
                                                          str(tmp_path / "other"))
        assert not (tmp_path / "other").exists()  # no empty folder left behind
    finally:
        server.shutdown()
        server.server_close()


def test_wav_to_spectrogram_png_matches_a_numpy_stft(tmp_path):
    from speech_commands import wav_to_spectrogram
    t = np.arange(8000) / 16000
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    path = str(tmp_path / "tone.wav")
    soundfile.write(path, tone, 16000, subtype="PCM_16")
    output = str(tmp_path / "spectrogram.png")
    image = wav_to_spectrogram.wav_to_spectrogram(path, 256, 128, 4.0, output)
    png = tf.io.decode_png(tf.io.read_file(output)).numpy()[..., 0]
    np.testing.assert_array_equal(png, image)
    assert image.shape == (1 + (8000 - 256) // 128, 129)  # Rows are time, columns frequency.
    samples = soundfile.read(path, dtype="int16")[0] / 32768.0
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(256) / 256)
    frames = np.stack([samples[i:i + 256] * window for i in range(0, 8000 - 255, 128)])
    expected = np.minimum(np.abs(np.fft.rfft(frames, axis=1)) * 4.0, 255)
    assert np.abs(image.astype(float) - np.floor(expected)).max() <= 1
    assert int(np.argmax(image[10])) == 16  # 1000 Hz / (16000 Hz / 256).


@pytest.mark.numerics
@pytest.mark.parametrize("architecture,preprocess", [("low_latency_svdf", "mfcc"),
                                                     ("tiny_embedding_conv", "average"),
                                                     ("single_fc", "mfcc")])
def test_every_front_end_and_layer_survives_tflite_conversion(architecture, preprocess):
    """The Android-contract TFLite model scores like Keras on the same audio (random weights)."""
    from speech_commands import inference_export
    model_settings = settings(preprocess)
    model = architectures.build_model(model_settings, architecture)
    module = inference_export.InferenceModule(model, model_settings)
    interpreter = litert.load(inference_export.tflite_model(module))
    audio = np.random.default_rng(0).uniform(-0.3, 0.3, (16000, 1)).astype(np.float32)
    inputs = interpreter.get_input_details()
    interpreter.set_tensor(inputs[0]["index"], audio)
    interpreter.set_tensor(inputs[1]["index"], np.array([16000], np.int32))
    interpreter.invoke()
    tflite_scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    keras_scores = module.from_audio(audio, np.array([16000], np.int32))["labels_softmax"]
    numerics.assert_float32_rounding(
        tflite_scores, keras_scores.numpy(), scale=numerics.logit_scale(keras_scores.numpy()),
        terms=numerics.network_terms(model) + numerics.front_end_terms(
            model_settings.window_size_samples, model_settings.fingerprint_width),
        what=f"TFLite and Keras scores of {architecture} on {preprocess}")


def test_micro_front_end_is_refused_for_the_android_model():
    from speech_commands import inference_export
    model_settings = settings("micro", 4, 20.0)
    module = inference_export.InferenceModule(architectures.build_model(model_settings,
                                                                        "tiny_conv"),
                                              model_settings)
    with pytest.raises(ValueError, match="AudioMicrofrontend op is not in the stock"):
        inference_export.tflite_model(module)
