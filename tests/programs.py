"""The project's programs, and small good inputs that bring a program to its work.

`discovered_entry_points()` finds the programs by reading the sources, so a table of
programs in a test (bad inputs, bad outputs, quiet output) can fail when a new one has no
row. `Inputs` makes, in one folder, what those programs read: a clip, labels, and tiny
untrained models of each kind, the expensive ones on first use.
"""

from __future__ import annotations

import ast
import functools
import os
import shutil

import numpy as np
import soundfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VGGISH_FIXTURES = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "vggish")


def discovered_entry_points() -> set[str]:
    """`package.module` of every module of the project's packages that runs as a program."""
    found = set()
    for package in sorted(os.listdir(ROOT)):
        if package == "tests" or not os.path.isfile(os.path.join(ROOT, package, "__init__.py")):
            continue
        for folder, _, names in os.walk(os.path.join(ROOT, package)):
            for name in names:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as source:
                    tree = ast.parse(source.read(), path)
                module = os.path.relpath(path, ROOT)[:-len(".py")].replace(os.sep, ".")
                if name == "__main__.py":
                    found.add(module[:-len(".__main__")])
                elif any(isinstance(node, ast.If) and _is_main_test(node.test)
                         for node in tree.body):
                    found.add(module)
    return found


def _is_main_test(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


class Inputs:
    """Good inputs of the programs, in `root`.

    `ok_wav` is 3 s of 16 kHz noise: long enough for every model, the streaming ones' first
    score (2 s) included.
    """

    def __init__(self, root: str):
        self.root = root
        self.ok_wav = self.path("ok.wav")
        rng = np.random.default_rng(0)
        soundfile.write(self.ok_wav, 0.1 * rng.standard_normal(48000).astype(np.float32),
                        16000, subtype="PCM_16")

    def path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def write(self, name: str, content: bytes) -> str:
        with open(self.path(name), "wb") as f:
            f.write(content)
        return self.path(name)

    @functools.cached_property
    def labels(self) -> str:
        """A keyword spotter's labels file."""
        return self.write("labels.txt", b"_silence_\n_unknown_\nyes\nno\n")

    @functools.cached_property
    def ground_truth(self) -> str:
        """A streaming test's ground truth: `yes` at 1 s."""
        return self.write("ground_truth.txt", b"yes, 1000\n")

    @functools.cached_property
    def unread_model(self) -> str:
        """A model file that is never read: the program stops at a bad input before it."""
        return self.write("unread_model.tflite", b"never read")

    @functools.cached_property
    def spotter_model(self) -> str:
        """A `speech_commands.export_kws` folder with an untrained embedding_head spotter."""
        from speech_commands import (architectures, dataset, settings, spotter_runtime,
                                     streaming_spotter)
        path = self.path("spotter")
        os.makedirs(path)
        model_settings = architectures.settings_for(settings.TrainConfig(
            model_architecture="embedding_head", wanted_words="yes,no"))
        streaming_spotter.write_streaming_model(
            architectures.build_model(model_settings, "embedding_head"), model_settings,
            os.path.join(path, spotter_runtime.STREAMING_MODEL_NAME))
        shutil.copy(self.labels, os.path.join(path, dataset.TFLITE_LABELS_NAME))
        return path

    @functools.cached_property
    def speaker_model(self) -> str:
        """A speaker_embedding model folder with a tiny untrained network."""
        from speaker_embedding import embedder, model as model_lib
        path = self.path("speaker_model")
        config = model_lib.ResCNNConfig(filters=(8, 16), blocks=1)
        os.makedirs(path)
        embedder.write_config(path, config)
        embedder.save_weights(model_lib.build(config=config), path)
        return path

    @functools.cached_property
    def speaker_db(self) -> str:
        """A speaker database enrolling "ann" with the `speaker_model`."""
        from speaker_embedding import database, embedder
        path = self.path("speakers.npz")
        network = embedder.load_model(self.speaker_model)
        vector = embedder.Embedder(network).embed(self.ok_wav)
        database.enroll(path, "ann", vector, embedder.fingerprint(network))
        return path

    @functools.cached_property
    def wakeword_model(self) -> str:
        """A `wakeword.train` folder with an untrained head."""
        import speech_embedding
        from wakeword import model as model_lib, runtime
        path = self.path("wakeword")
        os.makedirs(path)
        step = model_lib.streaming_step(speech_embedding.load(), model_lib.build_head())
        self.write(os.path.join(path, runtime.MODEL_NAME), step.to_tflite())
        runtime.Manifest("test", 0.5, 1, 2.0, 16000, 1280, 24, 0.5).write(
            os.path.join(path, runtime.MANIFEST_NAME))
        return path

    @functools.cached_property
    def vggish_weights(self) -> str:
        """A VGGish weights folder (all-zero network, the fixture's PCA parameters)."""
        from vggish import model as model_lib, weights
        path = self.path("vggish_weights")
        os.makedirs(path)
        model_lib.vggish(kernel_initializer="zeros").save_weights(
            os.path.join(path, weights.WEIGHTS_FILE))
        shutil.copy(os.path.join(VGGISH_FIXTURES, "vggish_pca_params.npz"),
                    os.path.join(path, weights.PCA_PARAMS_FILE))
        return path

    @functools.cached_property
    def records(self) -> str:
        """Float-rows records of 4 clips of 2 rows of 8 values, labels 0 and 1."""
        import tensorflow as tf
        from corpus import clips, records
        path = self.path("embeddings.tfrecord")
        rng = np.random.default_rng(0)
        with tf.io.TFRecordWriter(path) as writer:
            for index in range(4):
                clip = clips.Clip(f"clip{index}.wav", f"clip{index}", labels=(index % 2,))
                writer.write(records.float_example(clip, "test", 1.0, 2.0,
                                                   rng.standard_normal([2, 8]), np.arange(2.0)))
        return path

    @property
    def pca_params(self) -> str:
        return os.path.join(VGGISH_FIXTURES, "vggish_pca_params.npz")
