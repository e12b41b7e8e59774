"""export: the generic machinery on a small conv + batch-norm waveform model of our own.

The tiny model has everything the exporters must get right (a waveform input, trainable
weights, moving statistics, a weight regularizer) and exports in a second, so these tests
cover formats, model cards, archives, atomic writes and the CLI; the real speech_embedding
is exercised in test_export_speech_embedding.py.
"""

import os
import re
import signal
import subprocess
import sys
import tarfile
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
from tensorflow.core.protobuf import saved_model_pb2

import numerics
from export import (archive, card, exporter, models, saved_model_2, spec, stateless,
                    tf1_hub)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
tf1 = tf.compat.v1

FRAME = 160
MOMENTUM = 0.99  # Keras BatchNormalization default


def tiny_model(seed: int = 0) -> keras.Model:
    """float32 `[batch, samples]` -> `[batch, samples // 160, 160, 3]`: conv, batch norm, dense."""
    keras.utils.set_random_seed(seed)
    waveform = keras.Input((None,), name="waveform")
    x = keras.layers.Reshape((-1, FRAME, 1), name="reshape")(waveform)
    x = keras.layers.Conv2D(4, 3, padding="same", kernel_regularizer=keras.regularizers.L2(1e-3),
                            name="conv2d")(x)
    x = keras.layers.BatchNormalization(name="batch_normalization")(x)
    x = keras.layers.ReLU(name="re_lu")(x)
    x = keras.layers.Dense(3, name="dense")(x)
    model = keras.Model(waveform, x, name="tiny")
    # Moving statistics away from (0, 1), so inference and batch-statistics outputs differ.
    model.get_layer("batch_normalization").set_weights(
        [np.full(4, 1.5, np.float32), np.full(4, 0.2, np.float32),
         np.linspace(-0.5, 0.5, 4).astype(np.float32), np.linspace(0.5, 2.0, 4).astype(np.float32)])
    return model


TINY_CARD = spec.ModelCard(
    title="tiny", description="A tiny test model.", task="audio-embedding",
    input="float32 waveforms", output="float32 features", usage="Frame by 160 samples.",
    fine_tuning="Batch norm trains with batch statistics.", references=("nobody, 2026",))


def tiny_hub_spec(weights_path=None, **kwargs) -> spec.ModelSpec:
    """The spec function the CLI tests import (`--model=test_export:tiny_hub_spec`)."""
    model = tiny_model()
    if weights_path:
        model.load_weights(weights_path)
    delay = float(kwargs.get("delay_seconds", 0))
    fn = None
    if delay:
        def fn(inputs, training):
            if training:  # traced after the tf1_hub writer has saved the inference graph
                time.sleep(delay)
            return model(inputs, training=training)
    return spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None, None], tf.float32),
                          card=TINY_CARD, fn=fn)


def waveforms(batch: int = 2, samples: int = 1600, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (batch, samples)).astype(np.float32)


def tiny_terms(model: keras.Model, training_on: np.ndarray | None = None) -> int:
    """Roundings behind one output of a `tiny_model` (`numerics.float32_rounding_bound`).

    The conv's and dense layer's fan-ins; in training mode on `training_on`, also the batch
    statistics, each over `training_on.size` values (one input channel, `same` padding).
    """
    terms = numerics.network_terms(model)
    if training_on is not None:
        terms += numerics.batch_norm_terms(model, training_on.size)
    return terms


def moving_mean_scale(conv_outputs: np.ndarray, old_mean: np.ndarray) -> float:
    """The scale a moving-mean update rounds at: the conv outputs it averages, the old mean."""
    return float(max(np.abs(conv_outputs).max(), np.abs(old_mean).max()))


def meta_graphs(directory: str) -> list:
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(directory, "saved_model.pb"), "rb") as proto:
        saved_model.ParseFromString(proto.read())
    return list(saved_model.meta_graphs)


@pytest.fixture(scope="module")
def tiny_spec():
    return tiny_hub_spec()


@pytest.fixture(scope="module")
def tf1_dir(tiny_spec, tmp_path_factory):
    return exporter.export(tiny_spec, "tf1_hub", str(tmp_path_factory.mktemp("tf1") / "tiny"))


@pytest.fixture(scope="module")
def sm2_dir(tiny_spec, tmp_path_factory):
    return exporter.export(tiny_spec, "saved_model_2",
                           str(tmp_path_factory.mktemp("sm2") / "tiny"), archive=True)


# --- tf1_hub -----------------------------------------------------------------------------


def test_tf1_hub_layout_and_tag_sets(tf1_dir):
    assert sorted(os.listdir(tf1_dir)) == ["saved_model.pb", "tfhub_module.pb", "variables"]
    with open(os.path.join(tf1_dir, "tfhub_module.pb"), "rb") as module_def:
        assert module_def.read() == b"\x08\x03"
    graphs = meta_graphs(tf1_dir)
    assert [list(graph.meta_info_def.tags) for graph in graphs] == [[], ["train"]]
    for graph in graphs:
        signature = graph.signature_def["default"]
        assert list(signature.inputs) == ["default"]
        assert list(signature.outputs) == ["default"]


def test_tf1_hub_variables_have_the_same_names_in_both_graphs(tf1_dir, tiny_spec):
    names = []
    for tags in ([], ["train"]):
        with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
            tf1.saved_model.loader.load(session, tags, tf1_dir)
            names.append(sorted(v.op.name for v in tf1.global_variables()))
    expected = sorted(f"tiny/{v.path}" for v in tiny_spec.model.variables)
    assert names == [expected, expected]


@pytest.mark.numerics
def test_tf1_hub_load_matches_keras_in_both_modes(tf1_dir, tiny_spec):
    x = waveforms()
    inference = hub.load(tf1_dir).signatures["default"](default=tf.constant(x))["default"]
    train = hub.load(tf1_dir, tags={"train"}).signatures["default"](default=tf.constant(x))
    numerics.assert_float32_rounding(inference, tiny_spec.model(x, training=False),
                                     terms=tiny_terms(tiny_spec.model),
                                     what="TF1 Hub inference and Keras")
    numerics.assert_float32_rounding(train["default"], tiny_model()(x, training=True),
                                     terms=tiny_terms(tiny_spec.model, x),
                                     what="TF1 Hub train and Keras")
    assert np.abs(train["default"].numpy() - inference.numpy()).max() > 0.1


@pytest.mark.numerics
def test_tf1_hub_train_graph_update_ops_move_the_statistics(tf1_dir, tiny_spec):
    x = waveforms(batch=4)
    conv = keras.Model(tiny_spec.model.input, tiny_spec.model.get_layer("conv2d").output)
    conv_outputs = conv(x).numpy()
    batch_mean = conv_outputs.mean(axis=(0, 1, 2))
    old_mean = tiny_spec.model.get_layer("batch_normalization").moving_mean.numpy()
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
        meta = tf1.saved_model.loader.load(session, ["train"], tf1_dir)
        updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        losses = tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)
        assert len(updates) == 2 and len(losses) == 1
        inputs = meta.signature_def["default"].inputs["default"].name
        session.run(updates, {inputs: x})
        moving_mean, = [v for v in tf1.global_variables()
                        if v.op.name == "tiny/batch_normalization/moving_mean"]
        new_mean = session.run(moving_mean)
    numerics.assert_float32_rounding(
        new_mean, MOMENTUM * old_mean + (1 - MOMENTUM) * batch_mean, terms=x.size,
        scale=moving_mean_scale(conv_outputs, old_mean), what="moving mean after one update")
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
        tf1.saved_model.loader.load(session, [], tf1_dir)
        assert tf1.get_collection(tf1.GraphKeys.UPDATE_OPS) == []


def framed_spec(with_default: bool = True) -> spec.ModelSpec:
    """VGGish-like: one rank-1 waveform in, examples and their mean out."""
    model = tiny_model()

    def fn(waveform, training):
        frames = model(waveform[tf.newaxis], training=training)[0]
        per_frame = tf.reduce_mean(frames, axis=1)  # [frames, 3]
        return {"default" if with_default else "frames": per_frame,
                "mean": tf.reduce_mean(per_frame, axis=0)}

    return spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None], tf.float32),
                          card=TINY_CARD, fn=fn)


@pytest.mark.numerics
def test_model_function_with_rank_1_input_and_dict_outputs(tmp_path):
    framed = framed_spec()
    x = waveforms(batch=1, samples=1600)[0]
    expected = framed(tf.constant(x), False)
    tf1_dir = exporter.export(framed, "tf1_hub", str(tmp_path / "tf1"))
    outputs = hub.load(tf1_dir).signatures["default"](default=tf.constant(x))
    assert sorted(outputs) == ["default", "mean"]
    # The network, a mean over a frame's 160 values, and one over the 10 frames.
    terms = tiny_terms(framed.model) + FRAME + x.size // FRAME
    numerics.assert_float32_rounding(outputs["default"], expected["default"], terms=terms,
                                     what="TF1 Hub frames")
    numerics.assert_float32_rounding(outputs["mean"], expected["mean"], terms=terms,
                                     what="TF1 Hub mean")
    sm2_dir = exporter.export(framed, "saved_model_2", str(tmp_path / "sm2"))
    loaded = hub.load(sm2_dir)
    numerics.assert_float32_rounding(loaded(tf.constant(x))["mean"], expected["mean"],
                                     terms=terms, what="saved_model_2 mean")
    served = loaded.signatures["serving_default"](default=tf.constant(x))
    numerics.assert_float32_rounding(served["default"], expected["default"], terms=terms,
                                     what="serving_default frames")


def test_tf1_hub_dict_without_default_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="needs one named 'default'"):
        exporter.export(framed_spec(with_default=False), "tf1_hub", str(tmp_path / "m"))
    assert os.listdir(tmp_path) == []


def test_tf1_hub_keeps_the_model_s_own_input_checks(tmp_path):
    model = tiny_model()

    def fn(inputs, training):
        tf.debugging.assert_greater_equal(tf.shape(inputs)[1], 2 * FRAME,
                                          message="tiny needs 320 samples")
        return model(inputs, training=training)

    checked = spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None, None], tf.float32),
                             card=TINY_CARD, fn=fn)
    for tags in (set(), {"train"}):
        signature = hub.load(exporter.export(checked, "tf1_hub", str(tmp_path / "m"),
                                             overwrite=True), tags=tags).signatures["default"]
        assert signature(default=tf.zeros([1, 2 * FRAME]))["default"].shape == (1, 2, FRAME, 3)
        with pytest.raises(tf.errors.InvalidArgumentError, match="tiny needs 320 samples"):
            signature(default=tf.zeros([1, FRAME]))


def guarded_spec() -> spec.ModelSpec:
    """tiny behind `stateless.cond`: an empty batch skips the network."""
    model = tiny_model()

    def fn(inputs, training):
        frames = tf.shape(inputs)[1] // FRAME
        return stateless.cond(tf.shape(inputs)[0] > 0, model,
                              lambda: model(inputs, training=training),
                              lambda: tf.zeros([0, frames, FRAME, 3]))

    return spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None, None], tf.float32),
                          card=TINY_CARD, fn=fn)


@pytest.mark.numerics
def test_cond_skips_the_network_and_keeps_the_statistics_it_moves(tmp_path):
    guarded = guarded_spec()
    x, empty = tf.constant(waveforms(batch=4)), tf.zeros([0, 1600])
    batch_norm = guarded.model.get_layer("batch_normalization")
    old_mean = batch_norm.moving_mean.numpy()
    conv = keras.Model(guarded.model.input, guarded.model.get_layer("conv2d").output)
    conv_outputs = conv(x).numpy()
    new_mean = MOMENTUM * old_mean + (1 - MOMENTUM) * conv_outputs.mean(axis=(0, 1, 2))
    mean_scale = moving_mean_scale(conv_outputs, old_mean)
    # saved_model_2: a training call on an empty batch moves nothing, on a real one one step.
    loaded = hub.load(exporter.export(guarded, "saved_model_2", str(tmp_path / "sm2")))
    moving_mean, = [v for v in loaded.variables if v.name.endswith("moving_mean:0")]
    assert loaded(empty, training=True).shape == (0, 10, FRAME, 3)
    np.testing.assert_array_equal(moving_mean.numpy(), old_mean)
    numerics.assert_float32_rounding(loaded(x, training=True), tiny_model()(x, training=True),
                                     terms=tiny_terms(guarded.model, x.numpy()),
                                     what="saved_model_2 training")
    numerics.assert_float32_rounding(moving_mean.numpy(), new_mean, terms=x.numpy().size,
                                     scale=mean_scale, what="saved_model_2 moving mean")
    # tf1_hub: the same through the train graph's UPDATE_OPS.
    tf1_dir = exporter.export(guarded, "tf1_hub", str(tmp_path / "tf1"))
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
        meta = tf1.saved_model.loader.load(session, ["train"], tf1_dir)
        inputs = meta.signature_def["default"].inputs["default"].name
        updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        graph_mean, = [v for v in tf1.global_variables()
                       if v.op.name == "tiny/batch_normalization/moving_mean"]
        session.run(updates, {inputs: np.zeros([0, 1600], np.float32)})
        np.testing.assert_array_equal(session.run(graph_mean), old_mean)
        session.run(updates, {inputs: x.numpy()})
        numerics.assert_float32_rounding(session.run(graph_mean), new_mean,
                                         terms=x.numpy().size, scale=mean_scale,
                                         what="tf1_hub moving mean")
    # Outside the exporters: eagerly, and traced over the model's own variables.
    assert guarded(empty, True).shape == (0, 10, FRAME, 3)
    traced = tf.function(lambda inputs: guarded(inputs, True))
    assert traced(empty).shape == (0, 10, FRAME, 3)
    np.testing.assert_array_equal(batch_norm.moving_mean.numpy(), old_mean)
    traced(x)
    numerics.assert_float32_rounding(batch_norm.moving_mean.numpy(), new_mean,
                                     terms=x.numpy().size, scale=mean_scale,
                                     what="traced moving mean")


# --- saved_model_2 -----------------------------------------------------------------------


@pytest.mark.numerics
def test_saved_model_2_reusable_interface(sm2_dir, tiny_spec):
    loaded = hub.load(sm2_dir)
    x = waveforms()
    numerics.assert_float32_rounding(loaded(tf.constant(x)), tiny_spec.model(x, training=False),
                                     terms=tiny_terms(tiny_spec.model),
                                     what="saved_model_2 inference")
    numerics.assert_float32_rounding(loaded(tf.constant(x), training=True),
                                     tiny_model()(x, training=True),
                                     terms=tiny_terms(tiny_spec.model, x),
                                     what="saved_model_2 training")
    assert len(loaded.variables) == 8 and len(loaded.trainable_variables) == 6
    kernel = tiny_spec.model.get_layer("conv2d").kernel.numpy()
    numerics.assert_float32_rounding(loaded.regularization_losses[0](),
                                     1e-3 * np.sum(kernel ** 2), terms=kernel.size,
                                     what="L2 loss over the conv kernel")
    assert {v.name for v in loaded.variables} == {f"tiny/{v.path}:0"
                                                  for v in tiny_spec.model.variables}


def test_saved_model_2_training_call_updates_moving_statistics(sm2_dir):
    loaded = hub.load(sm2_dir)
    moving_mean = [v for v in loaded.variables if v.name.endswith("moving_mean:0")][0]
    before = moving_mean.numpy()
    loaded(tf.constant(waveforms()), training=False)
    np.testing.assert_array_equal(moving_mean.numpy(), before)
    loaded(tf.constant(waveforms()), training=True)
    assert np.abs(moving_mean.numpy() - before).max() > 1e-4


def test_saved_model_2_fine_tunes_in_tf_keras(sm2_dir):
    import tf_keras
    layer = hub.KerasLayer(sm2_dir, trainable=True)
    model = tf_keras.Sequential([tf_keras.Input((1600,)), layer,
                                 tf_keras.layers.GlobalAveragePooling2D(),
                                 tf_keras.layers.Dense(2)])
    model.compile(tf_keras.optimizers.Adam(0.01),
                  tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = waveforms(batch=8, seed=1), np.array([0, 1] * 4)
    assert len(layer.trainable_weights) == 6 and len(layer.losses) == 1
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# --- model card, archive, atomic writes ----------------------------------------------------


@pytest.mark.parametrize("fmt, meta_format, name", [("tf1_hub", "hub", "tiny"),
                                                   ("saved_model_2", "saved_model_2", "tiny_tf2")])
def test_model_card_has_tfhub_metadata_and_sections(tiny_spec, fmt, meta_format, name):
    text = card.render(tiny_spec, fmt, "https://example.com/tiny.tar.gz")
    assert text.startswith(f"# Module earshot/{name}/1\nA tiny test model.\n")
    for line in ("<!-- asset-path: https://example.com/tiny.tar.gz -->",
                 "<!-- task: audio-embedding -->", f"<!-- format: {meta_format} -->",
                 "<!-- fine-tunable: true -->", "<!-- license: apache-2.0 -->", "## Usage",
                 "Frame by 160 samples.", "## Fine-tuning", "`default`: float32 `[?, ?]`",
                 "- nobody, 2026"):
        assert line in text
    assert ('tags={"train"}' in text) == (fmt == "tf1_hub")


def test_card_is_written_beside_the_model(sm2_dir, tiny_spec):
    with open(sm2_dir + ".md", encoding="utf-8") as card_file:
        assert card_file.read() == card.render(tiny_spec, "saved_model_2",
                                               card.file_url(sm2_dir + ".tar.gz"))


def test_archive_has_tf_hub_compressed_layout(sm2_dir, tmp_path):
    with tarfile.open(sm2_dir + ".tar.gz") as tar:
        members = tar.getmembers()
        assert members[0].name == "." and members[0].isdir()
        assert all(m.name.startswith("./") for m in members[1:])
        assert all(m.uid == 0 and m.gid == 0 and (m.isfile() or m.isdir()) for m in members)
        assert "./saved_model.pb" in tar.getnames()
        tar.extractall(tmp_path / "x", filter="data")
    for parent, _, files in os.walk(sm2_dir):
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as a, open(tmp_path / "x" / os.path.relpath(path, sm2_dir), "rb") as b:
                assert a.read() == b.read()


def test_archive_refuses_symlinks(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"x")
    os.symlink("/etc/passwd", tmp_path / "model" / "link")
    with pytest.raises(ValueError, match="symlinks"):
        archive.write(str(tmp_path / "model"), str(tmp_path / "model.tar.gz"))
    assert not os.path.exists(tmp_path / "model.tar.gz")


def test_existing_output_needs_overwrite(tiny_spec, tmp_path):
    target = tmp_path / "m"
    target.mkdir()
    (target / "keep").write_text("old")
    with pytest.raises(FileExistsError, match="--overwrite"):
        exporter.export(tiny_spec, "tf1_hub", str(target))
    assert os.listdir(target) == ["keep"]
    exporter.export(tiny_spec, "tf1_hub", str(target), overwrite=True, archive=True)
    assert "keep" not in os.listdir(target) and "saved_model.pb" in os.listdir(target)
    assert os.path.isfile(tmp_path / "m.tar.gz")
    (tmp_path / "fresh.tar.gz").write_bytes(b"old archive")
    with pytest.raises(FileExistsError, match="fresh.tar.gz exists"):
        exporter.export(tiny_spec, "tf1_hub", str(tmp_path / "fresh"), archive=True)
    assert not os.path.exists(tmp_path / "fresh")


def test_nan_weights_are_refused(tmp_path):
    model = tiny_model()
    model.get_layer("dense").kernel.assign(np.full((4, 3), np.nan, np.float32))
    bad = spec.ModelSpec(model=model, input_spec=tf.TensorSpec([None, None]), card=TINY_CARD)
    with pytest.raises(ValueError, match="dense/kernel holds NaN"):
        saved_model_2.write(bad, str(tmp_path / "m"))
    with pytest.raises(ValueError, match="dense/kernel holds NaN"):
        tf1_hub.write(bad, str(tmp_path / "m1"))


def test_spec_validates_its_fields():
    with pytest.raises(ValueError, match="not built"):
        spec.ModelSpec(model=keras.Sequential([keras.layers.Dense(2)]),
                       input_spec=tf.TensorSpec([None, 3]), card=TINY_CARD)
    with pytest.raises(TypeError, match="tf.TensorSpec"):
        spec.ModelSpec(model=tiny_model(), input_spec=(None, 3), card=TINY_CARD)


# --- registry and CLI ----------------------------------------------------------------------


def test_registry_lists_the_embeddings_and_resolves_lazily():
    assert {"speech_embedding", "vggish", "speaker_embedding"} <= set(models.MODELS)
    assert all(":" in target for target in models.MODELS.values())
    assert models.resolve("pkg.mod:fn") == "pkg.mod:fn"
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        models.load_spec("nope")
    with pytest.raises(models.ModelNotFoundError, match="cannot import no_such_package"):
        models.load_spec("no_such_package.hub_spec:hub_spec")
    with pytest.raises(ValueError, match="returned dict"):
        models.load_spec("builtins:dict")


def run_cli(*args, **popen_kwargs):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, REPO]))
    return subprocess.Popen([sys.executable, "-m", "export.hub", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen_kwargs)


def start_serve_cli(root) -> tuple[subprocess.Popen, str]:
    """Starts `python -m export.serve --port=0` on `root`; returns it and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "export.serve", f"--root={root}", "--host=127.0.0.1", "--port=0"],
        cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line, "export.serve exited before serving"
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if match:
            return process, match.group(1)
    raise AssertionError("export.serve did not say where it serves")


def kill_once_staging(process: subprocess.Popen, parent, prefix: str, timeout: float) -> None:
    """SIGKILLs `process` as soon as a staging folder `prefix*` in `parent` holds variables/."""
    deadline = time.monotonic() + timeout
    written = []
    while not written and time.monotonic() < deadline and process.poll() is None:
        written = [name for name in os.listdir(parent) if name.startswith(prefix)
                   and os.path.isdir(os.path.join(parent, name, "variables"))]
        time.sleep(0.01)
    assert written, "the export was not caught writing: " + process.stderr.read()[-2000:]
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL


@pytest.mark.numerics
def test_cli_exports_with_spec_args_and_weights_path(tmp_path):
    weights = str(tmp_path / "tiny.weights.h5")
    trained = tiny_model(seed=5)
    trained.save_weights(weights)
    output = tmp_path / "out" / "1"
    process = run_cli("--model=test_export:tiny_hub_spec", "--format=saved_model_2",
                      f"--output_dir={output}", f"--model_dir={weights}", "--archive")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    x = waveforms()
    numerics.assert_float32_rounding(hub.load(str(output))(tf.constant(x)),
                                     trained(x, training=False), terms=tiny_terms(trained),
                                     what="CLI export and Keras")
    assert os.path.isfile(str(output) + ".tar.gz")
    process = run_cli("--model=test_export:tiny_hub_spec", f"--output_dir={output}")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2 and "error: " in stderr and "exists; pass --overwrite" in stderr


@pytest.mark.slow
def test_killed_export_leaves_no_partial_output(tmp_path):
    output = tmp_path / "killed"
    process = run_cli("--model=test_export:tiny_hub_spec", "--format=tf1_hub",
                      f"--output_dir={output}", "--spec_arg=delay_seconds=30")
    kill_once_staging(process, tmp_path, ".killed.", timeout=120)
    assert not os.path.exists(output)
    assert not os.path.exists(str(output) + ".tar.gz")
