"""The evaluation audio of a phrase: files on disk with the times of what is said in them.

Every voice in it is one no training run hears (`voices.HELD_OUT`): flite's voices and
festival's kal_diphone speak the phrase, its near-misses and evaluation sentences
(`text.split(evaluation=True)`), and the ordinary speech also holds real people: the voice
actors of warzone2100 and hedgewars (`real_speech.EVALUATION_SOURCES`), which neither train
nor calibrate. Rooms and noise are drawn with their own seeds. The set is a folder of 16 kHz
WAV files and `events.json`:

    positives_<condition>.wav   the phrase by every evaluation voice, each inside 2.5-4 s of
                                context before and 1.5-2.5 s after; conditions:
                                clean, speech (ordinary speech at 10 dB SNR), noise (coloured
                                noise at 5 dB SNR), reverberant (a room with RT60 0.3-1.0 s)
    confusables.wav             text near-misses of the phrase, each by several voices, in context
    speech_NN.wav               ordinary sentences, the same time per synthesized voice
    speech_top_up.wav           more sentences, when those fell short of the hours asked for
    real_<source>.wav           every speech clip of a real-speech package, with pauses

`events.json` maps each file to its kind and its [start_s, end_s, text] events.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random

import numpy as np

from earshot import audio, cache, fileio, progress
from earshot.audio import SAMPLE_RATE
from wakeword import augment, phonemes, real_speech, text, voices

CONDITIONS = ("clean", "speech", "noise", "reverberant")
SPEECH_SNR_DB = 10.0
NOISE_SNR_DB = 5.0
EVAL_RT60 = (0.3, 1.0)
EVENTS_NAME = "events.json"
CONFUSABLE_VOICES = 6  # voices per confusable text
VERSION = "5"
REAL_PAUSE_S = (0.3, 1.5)  # between two clips of a real-speech package
# Scores count whole hops (each file's last part-hop is not scored): a minute more keeps the
# counted hours at least those asked for, so 0.5 FA/h of 2 h allows one false accept.
TOP_UP_MARGIN_S = 60.0


@dataclasses.dataclass(frozen=True)
class EvalFile:
    path: str
    kind: str  # "positive:<condition>", "confusable" or "speech"
    events: list[tuple[float, float, str]]


def _floor(rng: np.random.Generator, samples: int) -> np.ndarray:
    return augment.coloured_noise(rng, samples, "white") * 10 ** (-70 / 20)


def _in_context(rng: np.random.Generator, said: list[np.ndarray], texts: list[str],
                condition: str, backgrounds: list[np.ndarray]
                ) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Utterances one after another, each between 2.5-4 s and 1.5-2.5 s of context."""
    pieces, events, position = [], [], 0
    for waveform, words in zip(said, texts):
        first, last = augment.speech_extent(waveform)
        speech, peak_db = waveform[first:last], rng.uniform(-20, -3)
        if condition == "reverberant":
            response = augment.room_impulse_response(rng, float(rng.uniform(*EVAL_RT60)))
            speech = augment.reverberate(np.concatenate(
                [speech, np.zeros(response.size // 2, np.float32)]), response)
        # The level is set on what the microphone hears: a room's tail adds energy, and set
        # before it, a third of the reverberant phrases clipped in their 16-bit file.
        speech = augment.set_peak(speech, peak_db)
        before = int(rng.uniform(2.5, 4.0) * SAMPLE_RATE)
        after = int(rng.uniform(1.5, 2.5) * SAMPLE_RATE)
        segment = np.zeros(before + speech.size + after, np.float32)
        segment[before:before + speech.size] = speech
        if condition == "speech":
            source = backgrounds[rng.integers(len(backgrounds))]
            start = rng.integers(max(1, source.size - segment.size))
            noise = np.resize(source[start:start + segment.size], segment.size)
            segment = _mix_against(segment, speech, noise, SPEECH_SNR_DB)
        elif condition == "noise":
            noise = augment.coloured_noise(rng, segment.size, rng.choice(["white", "pink", "brown"]))
            segment = _mix_against(segment, speech, noise, NOISE_SNR_DB)
        segment = segment + _floor(rng, segment.size)
        events.append(((position + before) / SAMPLE_RATE,
                       (position + before + last - first) / SAMPLE_RATE, words))
        pieces.append(segment)
        position += segment.size
    return np.concatenate(pieces), events


def _mix_against(segment: np.ndarray, speech: np.ndarray, noise: np.ndarray, snr_db: float
                 ) -> np.ndarray:
    """`segment` plus `noise` at `snr_db` below the speech it holds (not below its silences)."""
    scale = np.sqrt(augment.active_power(speech) /
                    (augment.active_power(noise) * 10 ** (snr_db / 10)))
    return (segment + scale * noise).astype(np.float32)


def _real_speech(folder: str, sources: tuple[str, ...], rng: np.random.Generator
                 ) -> tuple[list[EvalFile], float]:
    """One file per real-speech package: its clips one after another, with short pauses;
    and their hours."""
    files, samples = [], 0
    for source in sources:
        collection = real_speech.load(source)
        pieces = []
        for index in range(len(collection.names)):
            pause = np.zeros(int(rng.uniform(*REAL_PAUSE_S) * SAMPLE_RATE), np.float32)
            pieces += [collection.clip(index), pause]
        waveform = np.concatenate(pieces)
        path = os.path.join(folder, f"real_{source}.wav")
        audio.write_wav(path, waveform + _floor(rng, waveform.size), SAMPLE_RATE)
        files.append(EvalFile(path, "speech", []))
        samples += waveform.size
    return files, samples / SAMPLE_RATE / 3600


def _top_up(folder: str, missing_hours: float, templates: list[voices.Utterance],
            sentences: list[str], seed: int) -> list[EvalFile]:
    """One more speech file when the sentences fell short of the hours asked for (their
    length is only estimated beforehand): more sentences, one at a time, until none are
    missing. Its own generator, so that every other file stays as it was."""
    if missing_hours <= 0:
        return []
    rng = np.random.default_rng(seed + 1)
    said, samples = [], 0
    while samples < missing_hours * 3600 * SAMPLE_RATE:
        index = len(said)
        said.append(voices.say(dataclasses.replace(templates[index % len(templates)],
                                                   text=sentences[index % len(sentences)])))
        samples += said[-1].size
    return [_speech_file(os.path.join(folder, "speech_top_up.wav"), np.concatenate(said), rng)]


def _speech_file(path: str, waveform: np.ndarray, rng: np.random.Generator) -> EvalFile:
    """Writes synthesized ordinary speech at a random peak of -15 to -3 dBFS over a faint floor."""
    waveform = augment.set_peak(waveform, rng.uniform(-15, -3))
    audio.write_wav(path, waveform + _floor(rng, waveform.size), SAMPLE_RATE)
    return EvalFile(path, "speech", [])


def build(phrase: str, folder: str, negative_hours: float = 2.0, seed: int = 1234,
          real_sources: tuple[str, ...] = real_speech.EVALUATION_SOURCES) -> list[EvalFile]:
    """Writes the evaluation set of `phrase` into `folder` (or reads it back if complete).

    `negative_hours` of ordinary speech in all: the real speech of `real_sources`, and
    sentences of the synthesized voices for the rest.
    """
    events_path = os.path.join(folder, EVENTS_NAME)
    if os.path.exists(events_path):
        with open(events_path, encoding="utf-8") as saved:
            return [EvalFile(os.path.join(folder, f["path"]), f["kind"],
                             [tuple(e) for e in f["events"]]) for f in json.load(saved)]
    for engine in ("flite", "festival"):
        voices.require(engine)
    rng = np.random.default_rng(seed)
    shuffle = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    files, real_hours = _real_speech(folder, real_sources, rng)
    templates = voices.eval_voices(seed)
    sentences = text.split(evaluation=True)
    shuffle.shuffle(sentences)
    per_voice = int(max(negative_hours - real_hours, 0) * 3600 / len(templates) / 4.2) + 1
    speech_utterances = [dataclasses.replace(t, text=" ".join(
        sentences[(i * per_voice + j) % len(sentences)] for j in range(per_voice)))
        for i, t in enumerate(templates)]
    speech = voices.say_all(speech_utterances, "evaluation speech")
    files += [_speech_file(os.path.join(folder, f"speech_{index:02d}.wav"), waveform, rng)
              for index, waveform in enumerate(speech)]
    hours = real_hours + sum(w.size for w in speech) / SAMPLE_RATE / 3600
    files += _top_up(folder, negative_hours + TOP_UP_MARGIN_S / 3600 - hours, templates,
                     sentences[len(templates) * per_voice:] or sentences, seed)
    variants = [phrase, phrase.capitalize() + ".", phrase.replace(" ", ", ", 1) + "!"]
    positives = [dataclasses.replace(t, text=variants[i % len(variants)])
                 for i, t in enumerate(templates)]
    said = voices.say_all(positives, "evaluation positives")
    for condition in progress.track(CONDITIONS, "building evaluation conditions"):
        waveform, events = _in_context(rng, said, [u.text for u in positives], condition, speech)
        path = os.path.join(folder, f"positives_{condition}.wav")
        audio.write_wav(path, waveform, SAMPLE_RATE)
        files.append(EvalFile(path, f"positive:{condition}", events))
    near = phonemes.text_confusables(phrase, text.vocabulary())
    confusable_utterances = [dataclasses.replace(t, text=words) for words in near
                             for t in shuffle.sample(templates, CONFUSABLE_VOICES)]
    said = voices.say_all(confusable_utterances, "evaluation confusables")
    waveform, events = _in_context(rng, said, [u.text for u in confusable_utterances], "clean", speech)
    path = os.path.join(folder, "confusables.wav")
    audio.write_wav(path, waveform, SAMPLE_RATE)
    files.append(EvalFile(path, "confusable", events))
    with fileio.atomic_open(events_path, "w", encoding="utf-8") as out:
        json.dump([{"path": os.path.basename(f.path), "kind": f.kind, "events": f.events}
                   for f in files], out, indent=1)
    return files


def default_folder(phrase: str, negative_hours: float, real_sources: tuple[str, ...]) -> str:
    return cache.cache_path(("wakeword", "eval"),
                            f"{VERSION}|{phrase}|{negative_hours}|{','.join(real_sources)}",
                            digits=12)
