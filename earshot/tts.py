"""Synthesized speech with espeak-ng: the stand-in for recorded speakers.

No speech corpus can be downloaded where earshot is developed, so datasets, calibration
audio and demos are spoken by espeak-ng. One `Speaker` is one fixed combination of accent,
voice variant, pitch and speed; keeping it fixed across words or sentences is what makes it
behave like one person in a speaker-disjoint split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import subprocess
import tempfile

import numpy as np

from earshot import audio

ESPEAK = "espeak-ng"

# English accents of espeak-ng (its `--voices=en` list).
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
# Voice variants (`--voices=variant`) that stay intelligible; whispers and robots are left out.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3", "klatt4", "adam", "alex", "andy", "annie", "benjamin",
            "caleb", "david", "ed", "edward", "gene", "iven", "jacky", "john", "lee", "linda",
            "max", "michael", "mike", "paul", "quincy", "rob", "robert", "steph", "travis",
            "victor", "zac")
PITCH_RANGE = (20, 80)   # espeak-ng -p, 0..99
SPEED_RANGE = (120, 190)  # espeak-ng -s, words per minute


@dataclasses.dataclass(frozen=True)
class Speaker:
    """One synthetic voice: an espeak-ng accent, variant, pitch (0-99) and speed (words/min)."""

    accent: str
    variant: str
    pitch: int
    speed: int

    @property
    def id(self) -> str:
        """8 hex digits, stable across runs; used as the speaker part of dataset file names."""
        key = f"{self.accent}+{self.variant}/p{self.pitch}/s{self.speed}".encode()
        return hashlib.sha1(key).hexdigest()[:8]


class TTSError(RuntimeError):
    """espeak-ng is missing or failed."""


def require_espeak() -> str:
    """Path of espeak-ng, or a TTSError that says how to install it."""
    path = shutil.which(ESPEAK)
    if path is None:
        raise TTSError("espeak-ng is not installed: run `sudo apt-get install espeak-ng` "
                       "(or `make demo`, which installs it)")
    return path


def speakers(count: int, seed: int = 0) -> list[Speaker]:
    """`count` distinct speakers, the same list for the same seed."""
    rng = random.Random(seed)
    chosen: dict[str, Speaker] = {}
    while len(chosen) < count:
        speaker = Speaker(rng.choice(ACCENTS), rng.choice(VARIANTS),
                          rng.randint(*PITCH_RANGE), rng.randint(*SPEED_RANGE))
        chosen.setdefault(speaker.id, speaker)
    return list(chosen.values())


def speak(text: str, speaker: Speaker, sample_rate: int = 16000) -> np.ndarray:
    """Speaks `text` in `speaker`'s voice.

    Returns:
      float32 `[samples]` in [-1, 1] at `sample_rate` Hz, with the silence espeak-ng adds
      around the words left in.
    """
    if not text.strip():
        raise TTSError("nothing to say: empty text")
    espeak = require_espeak()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "speech.wav")
        command = [espeak, "-v", f"{speaker.accent}+{speaker.variant}", "-p", str(speaker.pitch),
                   "-s", str(speaker.speed), "-w", path, text]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not os.path.exists(path):
            raise TTSError(f"{' '.join(command)} failed: {result.stderr.strip()}")
        return audio.load(path, sample_rate)
