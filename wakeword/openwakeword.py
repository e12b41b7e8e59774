"""openWakeWord 0.5.1's pretrained models, run as openWakeWord streams them: the comparator.

The models come from the wheel `speech_embedding.weights` downloads (`openwakeword==0.5.1`):
its own front end (`melspectrogram.onnx`), embedding (`embedding_model.onnx`) and wake-word
model (e.g. `hey_jarvis_v0.1.onnx`), on onnxruntime. `OpenWakeWordStream` repeats
`openwakeword.utils.AudioFeatures` and `openwakeword.Model.predict` for 80 ms chunks:

* audio is int16-valued float32; each hop computes the mel frames of the last 1280 + 480
  samples (8 frames), transformed `x / 10 + 2`, into a buffer that starts as 76 rows of 1;
* each hop embeds the last 76 mel frames into a feature buffer that starts as the embeddings
  of 4 s of uniform noise in [-1000, 1000) (openWakeWord draws it at random; seeded here);
* the model scores the last 16 embeddings; the first 5 predictions are reported as 0.
"""

from __future__ import annotations

import functools
import zipfile

import numpy as np

from earshot import streaming
from earshot.audio import SAMPLE_RATE
from earshot.errors import UserError
from speech_embedding import pretrained

MODELS = "openwakeword/resources/models/"
HOP_SAMPLES = 1280
MEL_CONTEXT_SAMPLES = 480  # 160 * 3: the extra samples each hop's mel frames need
MEL_WINDOW = 76
MEL_STRIDE = 8
FEATURES = 16
WARMUP_PREDICTIONS = 5
MEL_BUFFER = 10 * 97
FEATURE_BUFFER = 120
DEFAULT_THRESHOLD = 0.5
INT16_SCALE = 32767


class ComparatorMissing(UserError, FileNotFoundError):
    """The openwakeword wheel or one of its models is not available."""


@functools.cache
def _sessions(model_name: str):
    import onnxruntime  # the comparator's own runtime (the bench extra), not earshot's
    path = pretrained.wheel_path()
    if path is None:
        raise ComparatorMissing("the openwakeword 0.5.1 wheel is not cached: run "
                                f"`{pretrained.FETCH_COMMAND}`")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        sessions = []
        for name in ("melspectrogram.onnx", "embedding_model.onnx", f"{model_name}.onnx"):
            if MODELS + name not in names:
                raise ComparatorMissing(f"{path} has no {MODELS + name}")
            sessions.append(onnxruntime.InferenceSession(
                wheel.read(MODELS + name), options, providers=["CPUExecutionProvider"]))
    return tuple(sessions)


class OpenWakeWordStream:
    """`push(samples float32 in [-1, 1])` -> the model's scores of the 80 ms hops completed."""

    def __init__(self, model_name: str = "hey_jarvis_v0.1", seed: int = 0):
        self._mel, self._embedding, self._model = _sessions(model_name)
        self._embedding_input = self._embedding.get_inputs()[0].name
        self._model_input = self._model.get_inputs()[0].name
        self._seed = seed
        self.reset()

    def _melspectrogram(self, samples: np.ndarray) -> np.ndarray:
        spectrum = self._mel.run(None, {"input": samples[np.newaxis].astype(np.float32)})[0]
        return np.squeeze(spectrum) / 10 + 2

    def _embed(self, mel_windows: np.ndarray) -> np.ndarray:
        return self._embedding.run(None, {self._embedding_input: mel_windows.astype(
            np.float32)[..., np.newaxis]})[0].reshape(-1, 96)

    def reset(self) -> None:
        noise = np.random.default_rng(self._seed).integers(-1000, 1000, SAMPLE_RATE * 4)
        mel = self._melspectrogram(noise.astype(np.float32))
        starts = range(0, mel.shape[0] - MEL_WINDOW + 1, MEL_STRIDE)
        self._features = self._embed(np.stack([mel[s:s + MEL_WINDOW] for s in starts]))
        self._mels = np.ones((MEL_WINDOW, 32), np.float32)
        self._raw = np.zeros(0, np.float32)  # openWakeWord keeps 10 s; a hop reads 1760 samples
        self._hops = streaming.Hops(HOP_SAMPLES)
        self._predictions = 0

    def _hop(self, samples: np.ndarray) -> float:
        samples = np.round(np.clip(samples, -1, 1) * INT16_SCALE)
        self._raw = np.concatenate([self._raw, samples])[-(HOP_SAMPLES + MEL_CONTEXT_SAMPLES):]
        self._mels = np.vstack([self._mels, self._melspectrogram(self._raw)])[-MEL_BUFFER:]
        self._features = np.vstack([self._features, self._embed(self._mels[-MEL_WINDOW:][None])]
                                   )[-FEATURE_BUFFER:]
        score = float(self._model.run(None, {self._model_input: self._features[-FEATURES:][None]
                                             .astype(np.float32)})[0][0, 0])
        self._predictions += 1
        return 0.0 if self._predictions <= WARMUP_PREDICTIONS else score

    def push(self, samples: np.ndarray) -> np.ndarray:
        return np.array([self._hop(hop) for hop in self._hops.push(samples)], np.float32)


def file_scores(waveform: np.ndarray, model_name: str = "hey_jarvis_v0.1") -> np.ndarray:
    """One score per 80 ms hop of a 16 kHz waveform, the stream started afresh.

    Hop by hop as in the stream: the mel model clips each call's log-mel relative to that
    call's loudest frame, so neither it nor the rest can be batched without changing scores.
    """
    return OpenWakeWordStream(model_name).push(waveform)
