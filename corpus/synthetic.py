"""A synthetic audio collection for the corpus tests and benchmark: speech, tones and noise.

Clip k of `count` lasts `min_seconds + (max_seconds - min_seconds) * k / (count - 1)` and is
one of three classes in turn: 0 speech (espeak-ng reading Harvard sentences), 1 a tone
gliding in pitch, 2 band-limited noise. Formats, rates and channels rotate too (16 kHz mono
WAV, 44.1 kHz stereo WAV, 22.05 kHz FLAC), so the decoding and resampling paths all run.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import soundfile

from earshot import tts
from earshot.audio import SAMPLE_RATE

CLASSES = ("speech", "tone", "noise")
# (extension, sample rate, channels) in turn.
FORMATS = ((".wav", SAMPLE_RATE, 1), (".wav", 44100, 2), (".flac", 22050, 1))


@dataclasses.dataclass(frozen=True)
class SyntheticClip:
    path: str
    label: int
    seconds: float


def _speech(seconds: float, index: int) -> np.ndarray:
    speaker = tts.speakers(1, seed=index)[0]
    pieces, held = [], 0
    sentence = index
    while held < seconds * SAMPLE_RATE:
        pieces.append(tts.speak(tts.HARVARD_SENTENCES[sentence % len(tts.HARVARD_SENTENCES)],
                                speaker))
        held += pieces[-1].size
        sentence += 1
    return np.concatenate(pieces)[:round(seconds * SAMPLE_RATE)]


def _signal(label: int, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Mono float64 `[seconds * rate]` of class `label`."""
    if label == 0:
        speech = _speech(seconds, int(rng.integers(1 << 16)))
        return np.interp(np.arange(round(seconds * rate)) * SAMPLE_RATE / rate,
                         np.arange(speech.size), speech)
    t = np.arange(round(seconds * rate)) / rate
    if label == 1:
        start, end = rng.uniform(200, 2000, size=2)
        phase = 2 * np.pi * (start * t + (end - start) * t ** 2 / (2 * seconds))
        return 0.4 * np.sin(phase)
    noise = rng.standard_normal(t.size)
    width = int(rng.integers(2, 9))  # a moving average: the noise's colour varies by clip
    return 0.15 * np.convolve(noise, np.ones(width) / np.sqrt(width), mode="same")


def write_corpus(folder: str, count: int, min_seconds: float = 1.0, max_seconds: float = 30.0,
                 seed: int = 0) -> list[SyntheticClip]:
    """Writes `count` clips into `folder` (see the module docstring); returns them in order."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for index in range(count):
        seconds = min_seconds + (max_seconds - min_seconds) * index / max(count - 1, 1)
        label = index % len(CLASSES)
        extension, rate, channels = FORMATS[(index // len(CLASSES)) % len(FORMATS)]
        mono = _signal(label, seconds, rate, rng)
        samples = mono if channels == 1 else np.stack([mono, 0.5 * mono], axis=1)
        path = os.path.join(folder, f"{CLASSES[label]}_{index:04d}{extension}")
        soundfile.write(path, np.clip(samples, -1.0, 1.0), rate, subtype="PCM_16")
        written.append(SyntheticClip(path, label, seconds))
    return written


def write_bad_files(folder: str) -> dict[str, str]:
    """A corrupt WAV (a header and no audio) and an empty file: {path: what is wrong}."""
    os.makedirs(folder, exist_ok=True)
    corrupt, empty = os.path.join(folder, "corrupt.wav"), os.path.join(folder, "empty.wav")
    with open(corrupt, "wb") as out:
        out.write(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(20))
    with open(empty, "wb"):
        pass
    return {corrupt: "corrupt", empty: "empty"}
