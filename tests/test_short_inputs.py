"""The shortest and empty inputs of every exported model, through every way of loading it.

Issue 10: an input too short for one output row reached a conv as a zero-sized batch, which
TensorFlow's oneDNN kernels (the default on x86) reject, so the same export worked or failed
depending on the CPU. Each model now returns a correctly shaped empty result there without
running its network; these tests load each export with oneDNN off and on (`onednn.run_python`)
through `hub.load`, its signatures and `hub.KerasLayer`, at the boundary lengths of its
contract, and check that a training call on such input leaves batch norm's statistics alone.
speech_embedding and VGGish are checked the same way next to their other export tests (in
test_export_speech_embedding.py and test_vggish.py), whose exports they reuse.
"""

import os

import keras
import pytest
import tensorflow as tf

import numerics
import onednn
from export import exporter

FORMATS = ("saved_model_2", "tf1_hub")
ATOL = 1e-5  # exported against eager outputs in the same process

# Runs in the subprocess: every requested way of calling the exports on each case, then a
# training call through `hub.KerasLayer(..., trainable=True)` (last: it moves the statistics).
# Reports {case: {call: {"shapes": {key: shape}, "error": max |output - eager spec output|
# over the non-empty outputs, or None}}}; training calls report "moved" instead of "error".
SNIPPET = """
import tensorflow_hub as hub
from export import models

spec = models.load_spec(ARGS["model"], ARGS["weights_path"], **ARGS["spec_args"])
saved_model_2 = hub.load(ARGS["saved_model_2"])
tf1_hub = hub.load(ARGS["tf1_hub"])


def as_dict(outputs):
    return outputs if isinstance(outputs, dict) else {"default": outputs}


def keras_layer(handle, **kwargs):
    layer = hub.KerasLayer(handle, **kwargs)
    return lambda x: as_dict(layer(x))


makers = {
    "saved_model_2": lambda: lambda x: as_dict(saved_model_2(x)),
    "saved_model_2 serving_default": lambda: lambda x: saved_model_2.signatures[
        "serving_default"](default=x),
    "tf1_hub": lambda: lambda x: tf1_hub.signatures["default"](default=x),
    "tf1_hub KerasLayer": lambda: keras_layer(ARGS["tf1_hub"], signature="default",
                                              signature_outputs_as_dict=True),
    "tf1_hub train": lambda: hub.load(ARGS["tf1_hub"], tags={"train"}).signatures["default"],
}
calls = {name: makers[name]() for name in ARGS["calls"]}
rng = np.random.default_rng(0)
inputs = {str(shape): tf.constant(rng.uniform(-0.5, 0.5, shape).astype(np.float32))
          for shape in ARGS["shapes"]}
results = {}
for key, x in inputs.items():
    eager = as_dict(spec(x, False))
    results[key] = {"eager spec": {"shapes": {k: v.shape.as_list() for k, v in eager.items()},
                                   "error": None}}
    for name, call in calls.items():
        outputs = call(default=x) if name == "tf1_hub train" else call(x)
        compared = [k for k, v in eager.items() if v.shape.num_elements()]
        error = None
        if name != "tf1_hub train" and compared:
            error = max(float(np.abs(outputs[k].numpy() - eager[k].numpy()).max())
                        for k in compared)
        results[key][name] = {"shapes": {k: v.shape.as_list() for k, v in outputs.items()},
                              "error": error}

trainable = hub.KerasLayer(saved_model_2, trainable=True)
moving = trainable.non_trainable_weights
for key, x in inputs.items():
    before = [w.numpy() for w in moving]
    outputs = as_dict(trainable(x, training=True))
    moved = max([float(np.abs(w.numpy() - b).max()) for w, b in zip(moving, before)] + [0.0])
    results[key]["training"] = {"shapes": {k: v.shape.as_list() for k, v in outputs.items()},
                                "moved": moved}
report(results)
"""

# The saved_model_2 KerasLayer runs the same function as `saved_model_2`: it is called in
# training mode below, which is where it differs.
ALL_CALLS = ("saved_model_2", "saved_model_2 serving_default", "tf1_hub", "tf1_hub KerasLayer",
             "tf1_hub train")


def check_short_inputs(mode: str, model: str, dirs: dict[str, str], cases: dict,
                       weights_path: str | None = None, spec_args: dict | None = None,
                       calls: tuple[str, ...] = ALL_CALLS, batch_norm: bool = True) -> None:
    """Runs SNIPPET with oneDNN `mode` and checks every call against `cases`.

    Args:
      cases: {input shape: {output key: expected shape}}; an expected shape with a 0 is an
        empty result, which a training call must produce without moving any statistic.
      batch_norm: the model has moving statistics, which a non-empty training call moves.
    """
    results = onednn.run_python(
        SNIPPET, mode, model=model, weights_path=weights_path, spec_args=spec_args or {},
        calls=list(calls), shapes=[list(shape) for shape in cases], **dirs)
    for shape, expected in cases.items():
        by_call = results[str(list(shape))]
        assert sorted(by_call) == sorted(["eager spec", "training", *calls])
        empty = any(0 in dims for dims in expected.values())
        for name, result in by_call.items():
            assert result["shapes"] == {k: list(v) for k, v in expected.items()}, (shape, name)
            if result.get("error") is not None:
                assert result["error"] <= ATOL, (shape, name, result["error"])
            elif name in calls and name != "tf1_hub train":
                assert all(0 in dims for dims in expected.values()), (shape, name)
        moved = by_call["training"]["moved"]
        if empty or not batch_norm:
            assert moved == 0.0, (shape, moved)
        else:
            assert moved > 0.0, (shape, "a training call should move batch norm's statistics")


def export_both(spec, root) -> dict[str, str]:
    return {fmt: exporter.export(spec, fmt, str(root / fmt)) for fmt in FORMATS}


# --- speaker_embedding ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def speaker_model_dir(tmp_path_factory):
    """A tiny untrained speaker network saved as a model folder."""
    from speaker_embedding import embedder, model as model_lib
    keras.utils.set_random_seed(3)
    config = model_lib.ResCNNConfig(filters=(8, 16), blocks=1)
    model_dir = str(tmp_path_factory.mktemp("speaker_model"))
    embedder.write_config(model_dir, config)
    embedder.save_weights(model_lib.build(config=config), model_dir)
    return model_dir


@pytest.fixture(scope="module")
def speaker_embedding_dirs(speaker_model_dir, tmp_path_factory):
    from speaker_embedding import hub_spec
    return export_both(hub_spec.hub_spec(speaker_model_dir),
                       tmp_path_factory.mktemp("speaker_embedding"))


@pytest.mark.parametrize("mode", onednn.MODES)
def test_speaker_embedding_empty_and_one_sample_waveforms(mode, speaker_model_dir,
                                                          speaker_embedding_dirs):
    from speaker_embedding import features
    one_window = (features.NUM_FRAMES - 1) * features.HOP_SAMPLES + features.WINDOW_SAMPLES
    cases = {(samples,): {"default": (windows, 512), "mean": (512,)} for samples, windows in [
        (0, 0), (1, 1), (one_window, 1), (one_window + 1, 2)]}
    check_short_inputs(mode, "speaker_embedding", speaker_embedding_dirs, cases,
                       weights_path=speaker_model_dir)


@pytest.mark.numerics
def test_speaker_embedding_of_nothing_is_the_zero_vector(speaker_embedding_dirs):
    import tensorflow_hub as hub
    loaded = hub.load(speaker_embedding_dirs["saved_model_2"])
    nothing = loaded(tf.zeros([0]))
    assert nothing["default"].shape == (0, 512)
    assert not tf.reduce_any(nothing["mean"] != 0)
    numerics.assert_float32_rounding(float(tf.norm(loaded(tf.constant([0.1]))["mean"])), 1.0,
                                     terms=512, what="norm of a 512-d unit vector")


# --- keyword_spotter ------------------------------------------------------------------------

WORDS = ("yes", "no")


@pytest.fixture(scope="module")
def spotter_checkpoint(speech_embedding_model, tmp_path_factory):
    """An untrained embedding_head spotter: a run folder's settings.json and one checkpoint."""
    from speech_commands import architectures, dataset, settings
    train_dir = str(tmp_path_factory.mktemp("kws"))
    config = settings.TrainConfig(model_architecture="embedding_head",
                                  wanted_words=",".join(WORDS), train_dir=train_dir)
    model_settings = architectures.settings_for(config)
    keras.utils.set_random_seed(4)
    model = architectures.build_model(model_settings, config.model_architecture)
    settings.write(train_dir, settings.RunSettings(
        config.model_architecture, tuple(dataset.prepare_words_list(config.words)),
        model_settings, config))
    prefix = os.path.join(train_dir, f"{config.model_architecture}.ckpt-1")
    tf.train.Checkpoint(model_variables=list(model.variables)).write(prefix)
    return prefix


@pytest.fixture(scope="module")
def spotter_dirs(spotter_checkpoint, tmp_path_factory):
    from speech_commands import hub_spec
    return export_both(hub_spec.hub_spec(spotter_checkpoint, wanted_words=",".join(WORDS)),
                       tmp_path_factory.mktemp("keyword_spotter"))


@pytest.mark.parametrize("mode", onednn.MODES)
def test_keyword_spotter_empty_batches_and_clips(mode, spotter_checkpoint, spotter_dirs):
    labels = len(WORDS) + 2  # _silence_, _unknown_
    cases = {(batch, samples): {"default": (batch, labels), "logits": (batch, labels)}
             for batch, samples in [(0, 16000), (0, 0), (2, 0), (2, 16000), (1, 40000)]}
    # The TF1 KerasLayer and train graph add nothing the speech_embedding test does not check.
    check_short_inputs(mode, "keyword_spotter", spotter_dirs, cases,
                       weights_path=spotter_checkpoint, spec_args={"wanted_words": ",".join(WORDS)},
                       calls=("saved_model_2", "saved_model_2 serving_default", "tf1_hub"))
