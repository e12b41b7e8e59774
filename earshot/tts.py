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
from earshot.errors import UserError

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
# IEEE "Harvard" sentences (1969, public domain): phonetically balanced English.
HARVARD_SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living.",
)
PITCH_RANGE = (20, 80)   # espeak-ng -p, 0..99
SPEED_RANGE = (120, 190)  # espeak-ng -s, words per minute
DEFAULT_SPEED = 175  # espeak-ng's own -s, words per minute
# Bytes of a WAV that holds next to nothing (a 44-byte header, a few samples): said nothing.
MIN_WAV_BYTES = 100


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


class TTSError(UserError, RuntimeError):
    """espeak-ng is missing or failed, or there is nothing to say: the user's setup or input."""


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


def speak(text: str, speaker: Speaker, sample_rate: int = audio.SAMPLE_RATE) -> np.ndarray:
    """Speaks `text` in `speaker`'s voice.

    Returns:
      float32 `[samples]` in [-1, 1] at `sample_rate` Hz, with the silence espeak-ng adds
      around the words left in.
    """
    return synthesize(text, f"{speaker.accent}+{speaker.variant}", speaker.pitch, speaker.speed,
                      sample_rate=sample_rate)


def synthesize(text: str, voice: str, pitch: int | None = None, speed: int = DEFAULT_SPEED,
               gap: int = 0, sample_rate: int = audio.SAMPLE_RATE) -> np.ndarray:
    """espeak-ng saying `text` (words, or its phonemes as `[[h'eI dZ'A@vIs]]`) in `voice`.

    Args:
      voice: an espeak-ng voice, `accent+variant` (`en-gb+m2`) or an MBROLA one (`mb-us1`).
      pitch: espeak-ng -p (0-99); None keeps the voice's own.
      speed: words per minute (-s).
      gap: extra pause between words (-g), in units of 10 ms.

    Returns:
      float32 `[samples]` in [-1, 1] at `sample_rate` Hz, with the silence espeak-ng adds
      around the words left in.

    Raises:
      TTSError: nothing to say, espeak-ng missing, or it failed or said nothing.
    """
    if not text.strip():
        raise TTSError("nothing to say: empty text")
    options = ["-v", voice, "-s", str(speed)]
    options += ["-p", str(pitch)] if pitch is not None else []
    options += ["-g", str(gap)] if gap else []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "speech.wav")
        _run_espeak([*options, "-w", path], text)
        if not os.path.exists(path) or os.path.getsize(path) < MIN_WAV_BYTES:
            raise TTSError(f"espeak-ng {' '.join(options)} said nothing for {text!r}")
        return audio.load(path, sample_rate)


def phonemes(text: str, voice: str, ipa: bool = False) -> list[str]:
    """espeak-ng's phonemes of `text` in `voice`: its own alphabet (`h'eI dZ'A@vIs`, which it
    reads back as `[[...]]`) or IPA.

    Returns:
      One string per line of espeak-ng's output (a clause: one per line of `text`, when each
      line ends a sentence), blank lines dropped, runs of white space made one space.
    """
    stdout = _run_espeak(["-q", "--ipa" if ipa else "-x", "-v", voice], text)
    return [" ".join(line.split()) for line in stdout.splitlines() if line.strip()]


def _run_espeak(options: list[str], text: str) -> str:
    """Runs espeak-ng with `options` on `text` (given on its standard input); its stdout.

    Raises:
      TTSError: espeak-ng is missing or failed (its error output is in the message).
    """
    command = [require_espeak(), *options, "--stdin"]
    result = subprocess.run(command, input=text + "\n", capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise TTSError(f"{' '.join(command)} failed: {result.stderr.strip()[-300:]}")
    return result.stdout
