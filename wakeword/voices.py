"""Speech engines: espeak-ng for training, flite and festival (never trained on) for evaluation.

An `Utterance` is what to say (text, or espeak-ng phonemes `[[...]]`) and who says it; `say`
returns float32 samples at 16 kHz. Engines run as subprocesses, a few at a time (they are
single-threaded and wait on nothing), and `say_all` caches whole lists of utterances in one
`.npz` under the cache folder, keyed by the list, so reruns synthesize nothing.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
import random
import shutil
import subprocess
import tempfile

import numpy as np

from earshot import audio, fileio, progress, tts

SAMPLE_RATE = 16000
ENGINES = ("espeak-ng", "flite", "festival")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone",)
PARALLEL = 2  # engine processes at a time (the machine's cores)


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One thing said by one voice.

    Attributes:
      engine: one of ENGINES.
      voice: espeak-ng `accent+variant`, a flite voice, or a festival voice.
      text: words, or (espeak-ng only) phonemes as `[[h'eI dZ'A@vIs]]`.
      pitch: espeak-ng -p (0-99), or flite's mean F0 in Hz; 0 keeps the voice's own.
      rate: speed factor, 1.0 = the voice's own (espeak-ng: 175 words/min).
      gap: espeak-ng's extra pause between words, in units of 10 ms.
    """

    engine: str
    voice: str
    text: str
    pitch: int = 0
    rate: float = 1.0
    gap: int = 0

    @property
    def key(self) -> str:
        return repr(dataclasses.astuple(self))


class EngineMissing(tts.TTSError):
    """A speech engine is not installed."""


def require(engine: str) -> str:
    program = {"espeak-ng": tts.ESPEAK, "flite": "flite", "festival": "text2wave"}[engine]
    path = shutil.which(program)
    if path is None:
        package = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "festival"}[engine]
        raise EngineMissing(f"{program} is not installed: run `sudo apt-get install {package}`")
    return path


def _command(utterance: Utterance, path: str, text_path: str) -> list[str]:
    program = require(utterance.engine)
    if utterance.engine == "espeak-ng":
        command = [program, "-v", utterance.voice, "-s", str(int(175 * utterance.rate)),
                   "-g", str(utterance.gap), "-w", path]
        if utterance.pitch:
            command += ["-p", str(utterance.pitch)]
        return command + ["-f", text_path]
    if utterance.engine == "flite":
        command = [program, "-voice", utterance.voice, "-f", text_path, "-o", path,
                   "--setf", f"duration_stretch={1.0 / utterance.rate:.3f}"]
        if utterance.pitch:
            command += ["--setf", f"int_f0_target_mean={utterance.pitch}"]
        return command
    scheme = f"(voice_{utterance.voice}) (Parameter.set 'Duration_Stretch {1.0 / utterance.rate:.3f})"
    return [program, "-o", path, "-eval", scheme, text_path]


def say(utterance: Utterance) -> np.ndarray:
    """float32 `[samples]` at 16 kHz, with the engine's own silence around the words."""
    with tempfile.TemporaryDirectory() as tmp:
        path, text_path = os.path.join(tmp, "speech.wav"), os.path.join(tmp, "text.txt")
        with open(text_path, "w", encoding="utf-8") as text_file:
            text_file.write(utterance.text + "\n")
        command = _command(utterance, path, text_path)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not os.path.exists(path) or os.path.getsize(path) < 100:
            raise tts.TTSError(f"{' '.join(command)} failed: {result.stderr.strip()[-300:]}")
        return audio.load(path, SAMPLE_RATE)


def say_all(utterances: list[Utterance], description: str) -> list[np.ndarray]:
    """`say` of each utterance (in order), from the cache when this exact list was said before."""
    digest = hashlib.sha1("\n".join(u.key for u in utterances).encode()).hexdigest()
    path = os.path.join(fileio.cache_dir("wakeword", "speech"), f"{digest}.npz")
    if os.path.exists(path):
        with np.load(path) as cached:
            samples, ends = cached["samples"], cached["ends"]
        return np.split(samples, ends[:-1])
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        spoken = list(progress.track(pool.map(say, utterances), f"speaking {description}",
                                     total=len(utterances)))
    with fileio.atomic_file(path) as staging:
        np.savez(staging, samples=np.concatenate(spoken) if spoken else np.zeros(0, np.float32),
                 ends=np.cumsum([s.size for s in spoken]))
    return spoken


def espeak_voices(variants: tuple[str, ...], count: int, seed: int) -> list[Utterance]:
    """`count` espeak-ng voices (accent, variant, pitch, rate) as Utterance templates."""
    rng = random.Random(seed)
    return [Utterance("espeak-ng", f"{rng.choice(tts.ACCENTS)}+{rng.choice(variants)}", "",
                      pitch=rng.randint(*tts.PITCH_RANGE),
                      rate=rng.uniform(*tts.SPEED_RANGE) / 175.0, gap=rng.choice((0, 0, 1, 3, 6)))
            for _ in range(count)]


def eval_voices(seed: int) -> list[Utterance]:
    """Every flite and festival voice at three speeds (flite also at three pitches): the voices
    of evaluation, which no training run hears."""
    rng = random.Random(seed)
    voices = []
    for voice in FLITE_VOICES:
        for rate in (0.85, 1.0, 1.2):
            for pitch in (0, rng.randint(90, 130), rng.randint(150, 220)):
                voices.append(Utterance("flite", voice, "", pitch=pitch, rate=rate))
    for voice in FESTIVAL_VOICES:
        for rate in (0.85, 1.0, 1.2):
            voices.append(Utterance("festival", voice, "", rate=rate))
    return voices
