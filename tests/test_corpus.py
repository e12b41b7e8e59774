"""corpus: the Beam embedding pipeline against the per-file embed functions, through files.

The collection is synthesized (speech, tones, noise of 1-30 s in three formats) plus a
corrupt and an empty file. `python -m corpus.embed` runs on the DirectRunner with two worker
processes, under TensorFlow's oneDNN kernels on and off, and its records are compared with
`vggish.embed(path, postprocess=True)` and `speech_embedding.embed(path)` computed in a
fresh interpreter under the same setting. VGGish runs the fixture checkpoint of
`test_vggish` (not Google's weights, which are not here).
"""

import dataclasses
import functools
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import tensorflow as tf

import numerics
import onednn
from apache_beam.io.localfilesystem import LocalFileSystem
import speech_embedding
from corpus import classifier, clips, pipeline, records, synthetic
from speaker_embedding import embedder as speaker_embedder, model as speaker_model
from test_vggish import fixture_checkpoint, weights_dir  # noqa: F401  (session fixtures)

TWO_WORKERS = ("--direct_num_workers=2", "--direct_running_mode=multi_processing")
# The released AudioSet features' spec, as in AudioSet's download page.
AUDIOSET_CONTEXT = {
    "video_id": tf.io.FixedLenFeature([], tf.string),
    "start_time_seconds": tf.io.FixedLenFeature([], tf.float32),
    "end_time_seconds": tf.io.FixedLenFeature([], tf.float32),
    "labels": tf.io.VarLenFeature(tf.int64),
}
AUDIOSET_SEQUENCE = {"audio_embedding": tf.io.FixedLenSequenceFeature([], tf.string)}


@functools.cache
def speech_terms() -> int:
    """Roundings behind one speech_embedding row (`numerics.float32_rounding_bound`).

    Rows equal `embed`'s up to float32 rounding: each clip runs in `embed`'s passes, but laid
    into 60 s rows with other clips' passes, and the workers and the reference may run
    TensorFlow on other thread counts (kernels round by shape and threads).
    """
    return numerics.network_terms(speech_embedding.load()) + numerics.LOG_MEL_TERMS


REFERENCE = """
import vggish, speech_embedding
arrays = {}
for index, path in enumerate(ARGS["paths"]):
    arrays[f"codes{index}"] = vggish.embed(path, postprocess=True, weights_path=ARGS["weights"])
    arrays[f"floats{index}"] = vggish.embed(path, weights_path=ARGS["weights"])
    arrays[f"speech{index}"] = speech_embedding.embed(path)
np.savez(ARGS["output"], **arrays)
report(len(arrays))
"""


def run_embed(*args, env=None):
    return subprocess.run([sys.executable, "-m", "corpus.embed", *args], cwd=onednn.REPO,
                          env=env, capture_output=True, text=True, timeout=3600)


@dataclasses.dataclass
class Embedded:
    """Both models' pipeline outputs for a collection, and the per-file references."""

    collection: list[synthetic.SyntheticClip]
    bad: dict[str, str]
    vggish_output: str
    speech_output: str
    stdout: dict[str, str]
    reference: dict[str, dict[str, np.ndarray]]  # path -> codes, floats, speech


def embed_collection(count: int, mode: str, weights: str, folder) -> Embedded:
    """Synthesizes `count` clips plus the bad files and embeds them both ways."""
    collection = synthetic.write_corpus(str(folder / "audio"), count)
    bad = synthetic.write_bad_files(str(folder / "audio"))
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=mode)
    pattern = str(folder / "audio" / "*")
    outputs, stdout = {}, {}
    for model, extra in (("vggish", [f"--model_dir={weights}"]), ("speech_embedding", [])):
        outputs[model] = str(folder / model)
        result = run_embed(f"--model={model}", f"--input_pattern={pattern}",
                           f"--output_dir={outputs[model]}", *extra, *TWO_WORKERS, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        stdout[model] = result.stdout
    paths = [clip.path for clip in collection]
    reference_file = str(folder / "reference.npz")
    onednn.run_python(REFERENCE, mode, timeout=3600, paths=paths, weights=weights,
                      output=reference_file)
    with np.load(reference_file) as arrays:
        reference = {path: {kind: arrays[f"{kind}{index}"] for kind in ("codes", "floats",
                                                                         "speech")}
                     for index, path in enumerate(paths)}
    return Embedded(collection, bad, outputs["vggish"], outputs["speech_embedding"], stdout,
                    reference)


# A Beam job per mode: the first in the default suite, the other in the slow sweep (the rows
# are bit-equal to embed() in the same mode, and `make test-numerics` runs each mode).
@pytest.fixture(scope="module", ids=lambda mode: f"onednn{mode}", params=[
    pytest.param(mode, marks=pytest.mark.slow if index else ())
    for index, mode in enumerate(onednn.MODES)])
def embedded(request, weights_dir, tmp_path_factory):  # noqa: F811
    return embed_collection(12, request.param, weights_dir,
                            tmp_path_factory.mktemp(f"corpus{request.param}"))


def read(dataset) -> dict[str, dict]:
    """Parsed records keyed by their path (the float format) or video_id (AudioSet)."""
    parsed = {}
    for record in dataset:
        key = record["path"] if "path" in record else record["video_id"]
        parsed[key.numpy().decode()] = {name: value.numpy() for name, value in record.items()}
    return parsed


def dead_letters(output: str) -> list[dict]:
    letters = []
    for path in glob.glob(os.path.join(output, "dead_letters-*.jsonl")):
        with open(path) as lines:
            letters += [json.loads(line) for line in lines if line.strip()]
    return letters


def assert_pipeline_equals_embed(embedded: Embedded) -> None:
    audioset = read(records.read_audioset(os.path.join(embedded.vggish_output,
                                                       "audioset-*.tfrecord")))
    vggish_floats = read(records.read_embeddings(os.path.join(embedded.vggish_output,
                                                              "embeddings-*.tfrecord")))
    speech = read(records.read_embeddings(os.path.join(embedded.speech_output,
                                                       "embeddings-*.tfrecord")))
    paths = {clip.path for clip in embedded.collection}
    assert set(audioset) == set(vggish_floats) == set(speech) == paths
    for path, reference in embedded.reference.items():
        codes = audioset[path]["audio_embedding"]
        assert codes.dtype == np.uint8 and codes.shape == reference["codes"].shape
        assert codes.tobytes() == reference["codes"].tobytes(), path
        np.testing.assert_array_equal(vggish_floats[path]["embedding"], reference["floats"])
        rows = speech[path]["embedding"]
        assert rows.shape == reference["speech"].shape
        numerics.assert_float32_rounding(rows, reference["speech"], terms=speech_terms(),
                                         what=f"pipeline and embed() rows of {path}")


def assert_bad_files_are_dead_letters(embedded: Embedded) -> None:
    for model, output in (("vggish", embedded.vggish_output),
                          ("speech_embedding", embedded.speech_output)):
        letters = dead_letters(output)
        assert sorted(letter["path"] for letter in letters) == sorted(embedded.bad)
        for letter in letters:
            assert letter["error"].startswith(f"{letter['path']}: cannot decode as audio")
        assert "2 dead letters" in embedded.stdout[model]
        assert f"embedded {len(embedded.collection)} clips" in embedded.stdout[model]


@pytest.mark.numerics
def test_vggish_records_are_the_bytes_of_vggish_embed_and_speech_rows_match(embedded):
    assert_pipeline_equals_embed(embedded)


def test_corrupt_and_empty_files_are_dead_letters_and_counted(embedded):
    assert_bad_files_are_dead_letters(embedded)


def test_records_read_back_with_the_audioset_feature_spec(embedded):
    files = sorted(glob.glob(os.path.join(embedded.vggish_output, "audioset-*.tfrecord")))
    seen = 0
    for serialized in tf.data.TFRecordDataset(files):
        context, sequence = tf.io.parse_single_sequence_example(
            serialized, context_features=AUDIOSET_CONTEXT, sequence_features=AUDIOSET_SEQUENCE)
        path = context["video_id"].numpy().decode()
        seconds = soundfile.info(path).duration
        rows = sequence["audio_embedding"].numpy()
        assert float(context["start_time_seconds"]) == 0.0
        assert float(context["end_time_seconds"]) == pytest.approx(seconds, abs=1e-3)
        assert tf.sparse.to_dense(context["labels"]).numpy().size == 0
        assert len(rows) == 1 + (round(seconds * 16000) - 15600) // 15360
        assert all(len(row) == 128 for row in rows)
        seen += 1
    assert seen == len(embedded.collection)


@pytest.mark.numerics
def test_speech_rows_carry_their_offsets_and_window(embedded):
    speech = read(records.read_embeddings(os.path.join(embedded.speech_output,
                                                       "embeddings-*.tfrecord"), size=96))
    for record in speech.values():
        count = len(record["embedding"])
        # Stored as float32: one rounding.
        numerics.assert_float32_rounding(record["offset_seconds"], np.arange(count) * 0.08,
                                         terms=1, what="row offsets")
        numerics.assert_float32_rounding(record["window_seconds"], 0.775, terms=1,
                                         what="window length")
        assert record["model"] == b"speech_embedding"


@pytest.mark.numerics
@pytest.mark.slow
@pytest.mark.parametrize("mode", onednn.MODES)
def test_200_files_through_two_workers_equal_embed(mode, weights_dir, tmp_path):  # noqa: F811
    embedded = embed_collection(200, mode, weights_dir, tmp_path)
    assert_pipeline_equals_embed(embedded)
    assert_bad_files_are_dead_letters(embedded)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """12 clips of the three classes at 16 kHz and a manifest of stretches of them, with
    labels by name, and four bad rows."""
    folder = tmp_path_factory.mktemp("labelled")
    collection = [clip for clip in synthetic.write_corpus(str(folder / "audio"), 36, 2.0, 6.0)
                  if clip.path.endswith(".wav") and soundfile.info(clip.path).samplerate == 16000]
    class_labels = folder / "class_labels_indices.csv"
    class_labels.write_text("index,mid,display_name\n" + "".join(
        f"{index},/m/{name},{name.title()}\n" for index, name in enumerate(synthetic.CLASSES)))
    rows = ["path,id,start,end,labels", "# a comment"]
    for index, clip in enumerate(collection):
        name = synthetic.CLASSES[clip.label]
        labels = f"\"{clip.label},{name.title()}\"" if index % 2 else f"/m/{name}"
        rows.append(f"{clip.path},clip{index},0.5,{clip.seconds - 0.25},{labels}")
    bad_rows = [f"{collection[0].path},late,1e9,,0", f"{collection[0].path},backwards,3,2,0",
                f"{collection[0].path},unknown,0,1,/m/nothing",
                f"{folder}/missing.wav,missing,,,0"]
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows + bad_rows) + "\n")
    output = str(folder / "output")
    job = pipeline.EmbedJob(model="speech_embedding", output=output,
                            input_manifest=str(manifest), class_labels=str(class_labels),
                            batch_clips=5)
    summary = pipeline.run(job, ["--runner=DirectRunner"])
    return collection, output, summary


@pytest.mark.numerics
def test_manifest_stretches_carry_ids_labels_and_times(labelled, speech_embedding_model):
    collection, output, summary = labelled
    parsed = read(records.read_embeddings(os.path.join(output, "embeddings-*.tfrecord")))
    by_id = {record["id"].decode(): record for record in parsed.values()}
    assert summary.clips == len(collection) and len(by_id) == len(collection)
    for index, clip in enumerate(collection):
        record = by_id[f"clip{index}"]
        waveform, rate = soundfile.read(clip.path, dtype="float32")
        stretch = waveform[round(0.5 * rate):round((clip.seconds - 0.25) * rate)]
        expected = speech_embedding.embed(stretch)
        numerics.assert_float32_rounding(record["embedding"], expected, terms=speech_terms(),
                                         what=f"stretch of clip{index} and embed()")
        assert sorted(set(record["labels"])) == [clip.label]
        assert record["start_time_seconds"] == pytest.approx(0.5)
        assert record["end_time_seconds"] == pytest.approx(clip.seconds - 0.25, abs=1e-4)


def test_bad_manifest_rows_and_missing_files_are_dead_letters(labelled):
    _, output, summary = labelled
    letters = {letter.get("id") or letter["line"].split(",")[1]: letter["error"]
               for letter in dead_letters(output)}
    assert summary.dead_letters == 4
    assert "the clip starts at 1000000000.0 s" in letters["late"]
    assert "end 2.0 is not after start 3.0" in letters["backwards"]
    assert "label '/m/nothing' is not a class index" in letters["unknown"]
    assert "missing.wav: no such file" in letters["missing"]


def test_classifier_learns_the_classes_from_the_float_records(labelled):
    _, output, _ = labelled
    trained = classifier.train(os.path.join(output, "embeddings-*.tfrecord"),
                               num_classes=len(synthetic.CLASSES), epochs=40)
    assert trained.losses[-1] < 0.2 * trained.losses[0]
    assert trained.accuracies[-1] == 1.0


def test_classifier_tool_writes_a_model(labelled, tmp_path):
    _, output, _ = labelled
    result = subprocess.run(
        [sys.executable, "-m", "corpus.train_classifier",
         f"--records={os.path.join(output, 'embeddings-*.tfrecord')}", "--num_classes=3",
         "--epochs=5", f"--output={tmp_path / 'classifier.keras'}"],
        cwd=onednn.REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "after 5 epochs" in result.stdout
    model = tf.keras.models.load_model(tmp_path / "classifier.keras")
    assert model.output_shape == (None, 3)


@pytest.mark.numerics
def test_speaker_vectors_equal_the_embedder_for_short_and_long_clips(tmp_path):
    model_dir = str(tmp_path / "speaker_model")
    os.makedirs(model_dir)
    config = speaker_model.MODEL_SIZES["small"]
    speaker_embedder.write_config(model_dir, config)
    speaker_embedder.save_weights(speaker_model.build(config=config), model_dir)
    collection = synthetic.write_corpus(str(tmp_path / "audio"), 4, 1.0, 70.0)
    output = str(tmp_path / "output")
    job = pipeline.EmbedJob(model="speaker_embedding", output=output, model_path=model_dir,
                            input_pattern=str(tmp_path / "audio" / "*"))
    summary = pipeline.run(job, ["--runner=DirectRunner"])
    assert summary.clips == 4 and summary.dead_letters == 0
    network = speaker_embedder.load_model(model_dir)
    embedder = speaker_embedder.Embedder(network)
    # The pipeline's batches against one clip: the network and front end, and a mean of windows
    # (at most 47 s / 1 s hops).
    terms = numerics.network_terms(network) + numerics.LOG_MEL_TERMS + 47
    parsed = read(records.read_embeddings(os.path.join(output, "embeddings-*.tfrecord")))
    for clip in collection:  # 1 s, 24 s and 47 s join a batch; 70 s streams from disk
        vector = parsed[clip.path]["embedding"]
        assert vector.shape == (1, 512)
        numerics.assert_float32_rounding(vector[0], embedder.embed(clip.path), terms=terms,
                                         what=f"pipeline and embed() of {clip.path}")
        assert parsed[clip.path]["window_seconds"] == pytest.approx(clip.seconds, abs=1e-3)


PACKED = """
import soundfile
import speech_embedding
from corpus import models
from corpus.clips import Clip
rng = np.random.default_rng(0)
clips = []
for index, seconds in enumerate(ARGS["seconds"]):
    path = f"{ARGS['folder']}/clip{index:03d}.wav"
    soundfile.write(path, rng.uniform(-0.6, 0.6, round(seconds * 16000)), 16000,
                    subtype="PCM_16")
    clips.append((Clip.of_file(path), path))
result = []
for (clip, path), outcome in zip(clips, models.load("speech_embedding", None).embed_clips(clips)):
    if isinstance(outcome, Exception):
        result.append(str(outcome))
        continue
    expected = speech_embedding.embed(path)
    result.append([list(outcome.rows.shape), list(expected.shape),
                   float(np.abs(outcome.rows - expected).max()), float(np.abs(expected).max())])
report({"terms": numerics.network_terms(speech_embedding.load()) + numerics.LOG_MEL_TERMS,
        "clips": result})
"""


@pytest.mark.numerics
@pytest.mark.parametrize("mode", onednn.MODES)
def test_packed_passes_of_many_clips_equal_embed(mode, tmp_path):
    """Clips of three passes (the later ones sharing a row with the one before), of one pass
    just under and over 60 s, 150 of 1 s, and one too short, in one batch: more than four
    60 s rows, so rows run while clips are still being added, and the rest at the end."""
    seconds = [130.3, 0.5, 60.6, 60.8] + [1.0] * 150 + [45.2]
    reports = onednn.run_python(PACKED, mode, seconds=seconds, folder=str(tmp_path))
    assert "too short" in reports["clips"][1]
    for index, outcome in enumerate(reports["clips"]):
        if index != 1:
            packed_shape, expected_shape, difference, scale = outcome
            assert packed_shape == expected_shape, seconds[index]
            numerics.assert_rounding_difference(difference, scale, terms=reports["terms"],
                                                what=f"packed clip of {seconds[index]} s")


class PrefixedLocalFileSystem(LocalFileSystem):
    """`corpustest://PATH` reads the local PATH: a filesystem that is not local to Beam."""

    PREFIX = "corpustest://"

    @classmethod
    def scheme(cls):
        return "corpustest"

    def open(self, path, *args, **kwargs):
        return super().open(path[len(self.PREFIX):], *args, **kwargs)


def test_remote_paths_are_copied_to_a_local_file_and_removed(tmp_path):
    source = tmp_path / "tone.flac"
    soundfile.write(source, np.sin(np.arange(1600) / 5.0).astype(np.float32), 16000)
    remote = PrefixedLocalFileSystem.PREFIX + str(source)
    assert not clips.is_local(remote) and clips.is_local(str(source))
    with clips.local_file(remote) as local:
        assert local != str(source) and local.endswith(".flac")
        np.testing.assert_array_equal(soundfile.read(local)[0], soundfile.read(source)[0])
    assert not os.path.exists(local)


@pytest.mark.parametrize("args, message", [
    (["--model=speech_embedding", "--input_pattern={audio}/*", "--no_such_option=1"],
     "error: unknown flag --no_such_option: neither this tool's nor a Beam pipeline option"),
    (["--model=speech_embedding", "--input_pattern={audio}/*.mp3"],
     "/*.mp3: no files match"),
    (["--model=speech_embedding"], "error: give exactly one of --input_pattern and "
                                   "--input_manifest"),
    (["--model=speaker_embedding", "--input_pattern={audio}/*"],
     "error: --model=speaker_embedding needs --model_dir"),
    (["--model=speech_embedding", "--input_pattern={audio}/*", "--output_dir={used}"],
     "already holds embeddings records of a job"),
])
def test_bad_invocations_are_one_error_line(args, message, tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    soundfile.write(audio / "a.wav", np.zeros(16000, np.float32), 16000)
    used = tmp_path / "used"
    used.mkdir()
    (used / "embeddings-00000-of-00001.tfrecord").write_bytes(b"")
    args = [arg.format(audio=audio, used=used) for arg in args]
    if not any(arg.startswith("--output_dir") for arg in args):
        args.append(f"--output_dir={tmp_path / 'out'}")
    result = run_embed(*args)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.numerics
def test_keyword_spotter_scores_every_window_of_a_run(tmp_path):
    from speech_commands import architectures, dataset, features, settings
    config = settings.TrainConfig(model_architecture="tiny_conv", wanted_words="yes,no")
    model_settings = architectures.settings_for(config)
    model = architectures.build_model(model_settings, config.model_architecture)
    run_dir = str(tmp_path / "run")
    os.makedirs(run_dir)
    labels = tuple(dataset.prepare_words_list(config.words))
    settings.write(run_dir, settings.RunSettings(config.model_architecture, labels,
                                                 model_settings, config))
    tf.train.CheckpointManager(tf.train.Checkpoint(model_variables=list(model.variables)),
                               run_dir, max_to_keep=1, checkpoint_name="tiny_conv.ckpt"
                               ).save(checkpoint_number=1)
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    rng = np.random.default_rng(5)
    waveforms = {"short.wav": rng.uniform(-0.3, 0.3, 9600),  # 0.6 s: one padded window
                 "long.wav": rng.uniform(-0.3, 0.3, 52800)}  # 3.3 s: 10 windows at 250 ms
    for name, waveform in waveforms.items():
        soundfile.write(audio_dir / name, waveform.astype(np.float32), 16000, subtype="FLOAT")
    output = str(tmp_path / "output")
    job = pipeline.EmbedJob(model="keyword_spotter", output=output, model_path=run_dir,
                            input_pattern=str(audio_dir / "*"),
                            model_options=(("stride_ms", 250.0),))
    assert pipeline.run(job, ["--runner=DirectRunner"]).clips == 2
    parsed = read(records.read_embeddings(os.path.join(output, "embeddings-*.tfrecord")))
    featurize = features.BatchFeaturizer(model_settings)
    for name, waveform in waveforms.items():
        record = parsed[str(audio_dir / name)]
        padded = np.pad(waveform, (0, max(0, 16000 - waveform.size))).astype(np.float32)
        starts = range(0, padded.size - 16000 + 1, 4000)
        windows = np.stack([padded[start:start + 16000] for start in starts])
        expected = tf.nn.softmax(model(featurize(windows), training=False)).numpy()
        numerics.assert_float32_rounding(
            record["embedding"], expected, scale=numerics.logit_scale(expected),
            terms=numerics.network_terms(model) + numerics.front_end_terms(
                model_settings.window_size_samples, model_settings.fingerprint_width),
            what=f"pipeline and Keras scores of {name}")
        numerics.assert_float32_rounding(record["offset_seconds"], np.array(starts) / 16000,
                                         terms=1, what="window offsets")
        assert record["window_seconds"] == pytest.approx(1.0)
    assert len(parsed[str(audio_dir / "long.wav")]["embedding"]) == 10
