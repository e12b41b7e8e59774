"""Training and calibration material for one phrase, as cached speech embeddings.

Everything is spoken by espeak-ng. Voices are split by variant: `CALIBRATION_VARIANTS` speak
only the held-out audio the threshold is calibrated on, the others only training audio.

* Clips (3.2 s): a positive or a confusable utterance, often given another voice (warped
  and equalized, `augment`: espeak-ng's voices share one formant signature that other
  speakers lack), trimmed to its words, maybe through a room, placed so that it ends 1.9-2.8 s in, over a background (silence, coloured noise,
  babble or speech at a random SNR, sometimes a sentence just before it), at a random level.
  Each clip gives 16 windows of 16 embeddings. A positive clip's windows that hold the whole
  phrase and end within 0.32 s of its end are positives; windows ending 0.3 s or more before
  its end hold only part of it and are negatives (the model must wait for the whole phrase);
  the rest are not trained on. Every window of a confusable clip is a negative.
* Streams (about a minute): ordinary sentences by one voice, or non-speech (coloured and
  modulated noise, tones, chords, near silence), with voices, rooms and noise like the clips; every
  window is a negative.

Held out for calibration: positive clips, confusable clips and ordinary speech streams, all
by the calibration voices.

Embeddings are cached per group (`fileio.cache_dir("wakeword", "embeddings")`) under a key
of everything that made them, so a rerun or a second phrase reuses the ordinary speech.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import random

import numpy as np
import tensorflow as tf

import speech_embedding
from earshot import fileio, progress, tts
from speech_embedding import pretrained
from wakeword import augment, model as model_lib, phonemes, text, voices

CALIBRATION_VARIANTS = ("f5", "m7", "klatt4", "steph", "travis", "zac")
TRAINING_VARIANTS = tuple(v for v in tts.VARIANTS if v not in CALIBRATION_VARIANTS)
CLIP_SAMPLES = 40 * model_lib.HOP_SAMPLES  # 3.2 s: 31 embeddings, 16 windows
PHRASE_END_RANGE = (int(1.9 * 16000), int(2.8 * 16000))
POSITIVE_REACH = int(0.32 * 16000)  # a positive window ends at most this long after the phrase
PARTIAL_MARGIN = int(0.3 * 16000)  # a window ending this long before the phrase's end is negative
STREAM_SENTENCES = 12  # sentences per ordinary-speech stream (about a minute)
NOISE_STREAM_S = 30.0
EMBED_BATCH = 64
VOICE_WARP_P, EQUALIZE_P = 0.8, 0.7  # share of utterances and streams given another voice
CACHE_VERSION = "2"
POSITIVE, NEGATIVE, IGNORED = 1, 0, -1


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much audio: the defaults are the real run; tests use a few of each."""

    positives: int = 5000
    confusable_speakers: int = 12  # voices per confusable string
    speech_minutes: float = 90.0
    noise_minutes: float = 12.0
    calibration_minutes: float = 100.0
    calibration_positives: int = 300


@dataclasses.dataclass
class Group:
    """Embeddings of one kind of audio.

    Attributes:
      embeddings: float32 `[rows, 96]`, all clips or streams one after another.
      ends: int64 `[n]` row index of the newest embedding of each window.
      labels: int8 `[n]` POSITIVE / NEGATIVE / IGNORED per window.
      stream_rows: int64 `[streams + 1]` first row of each clip or stream (and the end).
      stream_samples: int64 `[streams]` samples of each clip or stream.
    """

    embeddings: np.ndarray
    ends: np.ndarray
    labels: np.ndarray
    stream_rows: np.ndarray
    stream_samples: np.ndarray

    def stream_embeddings(self, index: int) -> np.ndarray:
        return self.embeddings[self.stream_rows[index]:self.stream_rows[index + 1]]


def _weights_digest() -> str:
    with open(pretrained.weights_path(), "rb") as weights_file:
        return hashlib.sha1(weights_file.read()).hexdigest()[:12]


@functools.cache
def _embedder():
    embedding = speech_embedding.load()

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def run(waveforms):
        return embedding(waveforms, training=False)[:, :, 0, :]

    return run


def embed_clips(clips: np.ndarray, description: str) -> np.ndarray:
    """float32 `[n, samples]` clips -> `[n, T, 96]`, in batches."""
    out = [_embedder()(clips[i:i + EMBED_BATCH]).numpy()
           for i in progress.track(range(0, len(clips), EMBED_BATCH), f"embedding {description}")]
    return np.concatenate(out) if out else np.zeros((0, 0, 96), np.float32)


class Backgrounds:
    """Sources of background sound for augmentation: noise colours, babble, speech."""

    def __init__(self, speech: list[np.ndarray], seed: int):
        self.speech = [s for s in speech if s.size > 16000]
        self.rng = np.random.default_rng(seed)
        self.rooms = [augment.room_impulse_response(self.rng) for _ in range(40)]

    def speech_piece(self, samples: int) -> np.ndarray:
        source = self.speech[self.rng.integers(len(self.speech))]
        if source.size <= samples:
            return np.resize(source, samples)
        start = self.rng.integers(source.size - samples)
        return source[start:start + samples]

    def noise(self, samples: int) -> np.ndarray:
        kind = self.rng.choice(["white", "pink", "brown", "babble", "speech"],
                               p=[0.15, 0.2, 0.15, 0.25, 0.25])
        if kind == "babble" and self.speech:
            talkers = [augment.set_peak(self.speech_piece(samples), 0) for _ in range(
                self.rng.integers(3, 7))]
            return np.sum(talkers, axis=0)
        if kind == "speech" and self.speech:
            return self.speech_piece(samples)
        return augment.coloured_noise(self.rng, samples, kind if kind in augment.NOISE_COLOURS
                                      else "pink")

    def room(self, waveform: np.ndarray) -> np.ndarray:
        response = self.rooms[self.rng.integers(len(self.rooms))]
        padded = np.concatenate([waveform, np.zeros(response.size // 2, np.float32)])
        return augment.reverberate(padded, response)

    def voice(self, waveform: np.ndarray) -> np.ndarray:
        """Another voice from this one, often: warped (VTLP) and equalized (`augment`)."""
        if self.rng.random() < VOICE_WARP_P:
            waveform = augment.warp_voice(waveform, self.rng)
        if self.rng.random() < EQUALIZE_P:
            waveform = augment.equalize(waveform, self.rng)
        return waveform

    def finish(self, waveform: np.ndarray, room_p: float = 0.5, noise_p: float = 0.75
               ) -> np.ndarray:
        """A room (maybe), noise at 0-25 dB SNR (maybe, else a faint floor), a random peak level."""
        if self.rng.random() < room_p:
            waveform = self.room(waveform)
        floor = augment.coloured_noise(self.rng, waveform.size, "white")
        if self.rng.random() < noise_p:
            waveform = augment.mix(waveform, self.noise(waveform.size), self.rng.uniform(0, 25))
        else:
            waveform = augment.mix(waveform, floor, self.rng.uniform(45, 70))
        return augment.set_peak(waveform, self.rng.uniform(-30, -1))


def place(utterance: np.ndarray, backgrounds: Backgrounds) -> tuple[np.ndarray, int, int]:
    """A 3.2 s clip with the utterance's words ending 1.9-2.8 s in: (clip, start, end)."""
    rng = backgrounds.rng
    first, last = augment.speech_extent(utterance)
    words = utterance[first:last]
    if rng.random() < 0.5:
        words = backgrounds.room(words)  # the tail rings on past the words' end
    end = int(rng.integers(*PHRASE_END_RANGE))
    length = last - first
    start = max(0, end - length)
    clip = np.zeros(CLIP_SAMPLES, np.float32)
    piece = words[start - (end - length):][:CLIP_SAMPLES - start]
    clip[start:start + piece.size] = piece
    if rng.random() < 0.25 and start > 8000:  # someone was talking just before
        before = backgrounds.speech_piece(start - int(rng.integers(1600, 6400)))
        clip[:before.size] += augment.set_peak(before, 20 * np.log10(
            np.max(np.abs(piece)) + 1e-9) + rng.uniform(-6, 3))
    return backgrounds.finish(clip, room_p=0.0), start, end


def window_labels(start: int, end: int, positive: bool) -> np.ndarray:
    """Labels of a clip's 16 windows (newest embedding 15..30) for words at [start, end)."""
    newest = np.arange(model_lib.WINDOW - 1, 1 + (CLIP_SAMPLES - speech_embedding.MIN_SAMPLES)
                       // model_lib.HOP_SAMPLES)
    window_end = newest * model_lib.HOP_SAMPLES + speech_embedding.MIN_SAMPLES
    window_start = (newest - model_lib.WINDOW + 1) * model_lib.HOP_SAMPLES
    if not positive:
        return np.full(newest.size, NEGATIVE, np.int8)
    labels = np.full(newest.size, IGNORED, np.int8)
    labels[(window_start <= start) & (window_end >= end - model_lib.HOP_SAMPLES)
           & (window_end <= end + POSITIVE_REACH)] = POSITIVE
    labels[window_end < end - PARTIAL_MARGIN] = NEGATIVE
    return labels


def _cache_path(name: str, parts: list) -> str:
    digest = hashlib.sha1(repr([CACHE_VERSION, _weights_digest(), *parts]).encode()).hexdigest()
    return os.path.join(fileio.cache_dir("wakeword", "embeddings"), f"{name}-{digest[:16]}.npz")


def _cached(path: str, build) -> Group:
    if os.path.exists(path):
        with np.load(path) as cached:
            return Group(**{field: cached[field] for field in cached.files})
    group = build()
    with fileio.atomic_file(path) as staging:
        np.savez(staging, **dataclasses.asdict(group))
    return group


def clip_group(name: str, utterances: list[voices.Utterance], positive: bool,
               backgrounds_speech: list[np.ndarray], seed: int) -> Group:
    """Clips of `utterances` (positives or confusables), augmented, embedded, labelled."""

    def build() -> Group:
        spoken = voices.say_all(utterances, name)
        backgrounds = Backgrounds(backgrounds_speech, seed)
        clips, labels = [], []
        for waveform in progress.track(spoken, f"augmenting {name}"):
            clip, start, end = place(backgrounds.voice(waveform), backgrounds)
            clips.append(clip)
            labels.append(window_labels(start, end, positive))
        rows = embed_clips(np.stack(clips), name) if clips else np.zeros((0, 31, 96), np.float32)
        per_clip = rows.shape[1] if clips else 31
        offsets = np.arange(len(clips)) * per_clip
        ends = (offsets[:, None] + np.arange(model_lib.WINDOW - 1, per_clip)[None]).ravel()
        return Group(rows.reshape(-1, 96), ends.astype(np.int64),
                     np.concatenate(labels) if labels else np.zeros(0, np.int8),
                     np.arange(len(clips) + 1, dtype=np.int64) * per_clip,
                     np.full(len(clips), CLIP_SAMPLES, np.int64))

    return _cached(_cache_path(name, [[u.key for u in utterances], positive, seed]), build)


def stream_group(name: str, streams: list[np.ndarray], seed: int, key: list,
                 backgrounds_speech: list[np.ndarray], augmented: bool = True) -> Group:
    """Long negative streams, augmented, embedded whole; every window a negative."""

    def build() -> Group:
        backgrounds = Backgrounds(backgrounds_speech, seed)
        rows, ends, bounds, samples = [], [], [0], []
        for stream in progress.track(streams, f"augmenting and embedding {name}"):
            audio = backgrounds.finish(backgrounds.voice(stream)) if augmented else stream
            audio = audio[:audio.size // model_lib.HOP_SAMPLES * model_lib.HOP_SAMPLES]
            if audio.size < speech_embedding.MIN_SAMPLES + model_lib.WINDOW * model_lib.HOP_SAMPLES:
                continue
            embedded = speech_embedding.embed(audio)
            ends.append(bounds[-1] + np.arange(model_lib.WINDOW - 1, len(embedded)))
            rows.append(embedded)
            bounds.append(bounds[-1] + len(embedded))
            samples.append(audio.size)
        ends_all = np.concatenate(ends).astype(np.int64) if ends else np.zeros(0, np.int64)
        return Group(np.concatenate(rows) if rows else np.zeros((0, 96), np.float32), ends_all,
                     np.zeros(ends_all.size, np.int8), np.array(bounds, np.int64),
                     np.array(samples, np.int64))

    return _cached(_cache_path(name, [key, seed, augmented]), build)


def speech_streams(sentences: list[str], variants: tuple[str, ...], minutes: float, seed: int
                   ) -> tuple[list[voices.Utterance], list[np.ndarray]]:
    """About `minutes` of ordinary sentences, STREAM_SENTENCES per espeak-ng voice."""
    count = max(1, int(round(minutes * 60 / 50)))
    rng = random.Random(seed)
    templates = voices.espeak_voices(variants, count, seed)
    utterances = [dataclasses.replace(t, text=" ".join(rng.sample(sentences, STREAM_SENTENCES)),
                                      gap=0) for t in templates]
    return utterances, voices.say_all(utterances, "ordinary speech")


def noise_streams(minutes: float, seed: int) -> list[np.ndarray]:
    """Non-speech: coloured noise (steady or modulated), tones and chords, near silence."""
    rng = np.random.default_rng(seed)
    samples = int(NOISE_STREAM_S * 16000)
    t = np.arange(samples) / 16000
    streams = []
    for index in range(max(1, int(round(minutes * 60 / NOISE_STREAM_S)))):
        kind = index % 4
        if kind == 0:
            stream = augment.coloured_noise(rng, samples, rng.choice(list(augment.NOISE_COLOURS)))
        elif kind == 1:
            envelope = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(0.2, 4) * t)
            stream = augment.coloured_noise(rng, samples, "pink") * envelope
        elif kind == 2:
            notes = rng.uniform(110, 1800, size=rng.integers(1, 5))
            gate = (np.sin(2 * np.pi * rng.uniform(0.3, 2) * t) > rng.uniform(-0.5, 0.5))
            stream = np.sum([np.sin(2 * np.pi * f * t) for f in notes], axis=0) * gate
        else:
            stream = augment.coloured_noise(rng, samples, "white") * 1e-3
        streams.append(augment.set_peak(stream.astype(np.float32), -6))
    return streams


@dataclasses.dataclass
class TrainingData:
    positives: Group
    confusables: Group
    speech: Group
    noise: Group
    calibration_positives: Group
    calibration: Group  # held-out voices: ordinary speech
    calibration_confusables: Group  # held-out voices: confusable clips


def positive_utterances(phrase: str, accents: dict[str, str], variants: tuple[str, ...],
                        count: int, seed: int) -> list[voices.Utterance]:
    """The phrase by `count` voices: half as text (each accent's own reading), half as
    phonemes (a variant of some accent's phonemes), in varied punctuation."""
    rng = random.Random(seed)
    strings = sorted({v for p in accents.values() for v in phonemes.positive_variants(p)})
    texts = [phrase, phrase.capitalize() + ".", phrase + "!", phrase.replace(" ", ", ", 1) + "?"]
    out = []
    for template in voices.espeak_voices(variants, count, seed):
        said = rng.choice(texts) if rng.random() < 0.5 else f"[[{rng.choice(strings)}]]"
        out.append(dataclasses.replace(template, text=said))
    return out


def confusable_utterances(strings: list[str], speakers: int, variants: tuple[str, ...],
                          seed: int) -> list[voices.Utterance]:
    templates = voices.espeak_voices(variants, max(1, speakers) * len(strings), seed)
    return [dataclasses.replace(t, text=f"[[{s}]]")
            for t, s in zip(templates, [s for s in strings for _ in range(max(1, speakers))])]


def build(phrase: str, scale: Scale, seed: int = 0) -> TrainingData:
    """All embedding groups for `phrase` (from the cache when made before)."""
    accents = phonemes.phrase_phonemes(phrase)
    primary = accents["en-us"]
    kinds = phonemes.confusables(primary, list(accents.values()), seed=seed)
    strings = sorted({s for v in kinds.values() for s in v})
    sentences = text.split(evaluation=False)
    rng = random.Random(seed)
    rng.shuffle(sentences)
    calibration_sentences, training_sentences = sentences[:len(sentences) // 4], \
        sentences[len(sentences) // 4:]
    speech_utterances, speech = speech_streams(training_sentences, TRAINING_VARIANTS,
                                               scale.speech_minutes, seed)
    speech_key = [u.key for u in speech_utterances]
    positives = clip_group("positives", positive_utterances(
        phrase, accents, TRAINING_VARIANTS, scale.positives, seed), True, speech, seed)
    confusables = clip_group("confusables", confusable_utterances(
        strings, scale.confusable_speakers, TRAINING_VARIANTS, seed + 1), False, speech, seed + 1)
    speech_group = stream_group("ordinary speech", speech, seed, speech_key, speech)
    noise = stream_group("non-speech", noise_streams(scale.noise_minutes, seed), seed,
                         ["noise", scale.noise_minutes], speech)
    calibration_positives = clip_group("held-out positives", positive_utterances(
        phrase, accents, CALIBRATION_VARIANTS, scale.calibration_positives, seed + 2), True,
        speech, seed + 2)
    held_out_utterances, held_out = speech_streams(calibration_sentences, CALIBRATION_VARIANTS,
                                                   scale.calibration_minutes, seed + 3)
    calibration = stream_group("held-out speech", held_out, seed + 3,
                               [u.key for u in held_out_utterances], speech)
    calibration_confusables = clip_group("held-out confusables", confusable_utterances(
        strings, max(1, scale.confusable_speakers // 4), CALIBRATION_VARIANTS, seed + 4), False,
        speech, seed + 4)
    return TrainingData(positives, confusables, speech_group, noise, calibration_positives,
                        calibration, calibration_confusables)
