r"""Writes a multi-speaker dataset spoken by espeak-ng, in the LibriSpeech layout.

    python -m speaker_embedding.synthesize --output_dir=/tmp/voices --speakers=200

One speaker is one fixed espeak-ng setting (accent, voice variant, pitch, speed) plus a fixed
formant scale, so every sentence it says sounds like the same synthetic person. The formant
scale is applied by resampling (declaring the 16 kHz speech to be at 16 kHz x scale), which
moves every resonance by that factor, the way a shorter or longer vocal tract does; espeak-ng
itself can only set formants in voice files. Output:

    DIR/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.wav   16-bit mono, 16 kHz
    DIR/SPEAKERS.tsv                                         one speaker's settings per line
"""

from __future__ import annotations

import dataclasses
import os
import random
from typing import Sequence

import numpy as np
from absl import app, flags, logging

from earshot import audio, cli, fileio, progress, tts
from speaker_embedding import features

FORMANT_RANGE = (0.88, 1.12)   # vocal tract scale; 1 leaves espeak-ng's formants unchanged
SILENCE_THRESHOLD = 0.01        # of the peak: espeak-ng pads speech with near-digital silence
EDGE_SECONDS = 0.05             # kept either side of the speech
CHAPTERS = 2

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command-line flags, defined only when run as a program."""
    flags.DEFINE_string("output_dir", None, "Dataset folder to write (LibriSpeech layout).",
                        required=True)
    flags.DEFINE_integer("speakers", 200, "Number of synthetic speakers.", lower_bound=2)
    flags.DEFINE_integer("utterances", 8, "Sentences per speaker, split over 2 chapters.",
                         lower_bound=1, upper_bound=len(tts.HARVARD_SENTENCES))
    flags.DEFINE_integer("seed", 0, "Chooses the speakers and their sentences.")
    flags.DEFINE_bool("overwrite", False, "Replace --output_dir if it exists.")


@dataclasses.dataclass(frozen=True)
class SyntheticSpeaker:
    """An espeak-ng voice and a formant scale (> 1 raises the resonances)."""

    voice: tts.Speaker
    formant: float

    @property
    def id(self) -> str:
        return self.voice.id


def make_speakers(count: int, seed: int = 0) -> list[SyntheticSpeaker]:
    """`count` distinct speakers, the same for the same seed."""
    result = []
    for voice in tts.speakers(count, seed):
        # Derived from the voice id, so a speaker keeps its formant in any subset or order.
        unit = int(voice.id, 16) / 0xFFFFFFFF
        formant = FORMANT_RANGE[0] + unit * (FORMANT_RANGE[1] - FORMANT_RANGE[0])
        result.append(SyntheticSpeaker(voice, round(formant, 3)))
    return result


def trim_silence(waveform: np.ndarray, sample_rate: int = features.SAMPLE_RATE) -> np.ndarray:
    """Cuts leading and trailing silence, keeping EDGE_SECONDS around the speech."""
    loud = np.flatnonzero(np.abs(waveform) > SILENCE_THRESHOLD * np.max(np.abs(waveform)))
    if loud.size == 0:
        return waveform
    edge = int(EDGE_SECONDS * sample_rate)
    return waveform[max(loud[0] - edge, 0):loud[-1] + edge + 1]


def say(text: str, speaker: SyntheticSpeaker,
        sample_rate: int = features.SAMPLE_RATE) -> np.ndarray:
    """float32 `[samples]` of `speaker` saying `text`, trimmed, at `sample_rate` Hz."""
    speech = tts.speak(text, speaker.voice, sample_rate)
    shifted = audio.resample(speech, round(sample_rate * speaker.formant), sample_rate)
    return trim_silence(np.clip(shifted, -1.0, 1.0))


def sentences_for(speaker: SyntheticSpeaker, count: int) -> list[str]:
    if not 1 <= count <= len(tts.HARVARD_SENTENCES):
        raise ValueError(f"--utterances must be 1..{len(tts.HARVARD_SENTENCES)}, got {count}")
    return random.Random(speaker.id).sample(tts.HARVARD_SENTENCES, count)


def utterance_path(root: str, speaker: str, chapter: int, index: int) -> str:
    chapter_name = f"{chapter:02d}"
    return os.path.join(root, speaker, chapter_name, f"{speaker}-{chapter_name}-{index:04d}.wav")


def synthesize(output_dir: str, speakers: Sequence[SyntheticSpeaker], utterances: int,
               overwrite: bool = False) -> None:
    """Writes the dataset; the folder appears only when every file is in it."""
    jobs = [(s, i, text) for s in speakers for i, text in enumerate(sentences_for(s, utterances))]
    with fileio.atomic_dir(output_dir, overwrite=overwrite) as staging:
        for speaker, index, text in progress.track(jobs, "speaking"):
            path = utterance_path(staging, speaker.id, index % CHAPTERS, index)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            audio.write_wav(path, say(text, speaker), features.SAMPLE_RATE)
        with open(os.path.join(staging, "SPEAKERS.tsv"), "w") as f:
            f.write("id\taccent\tvariant\tpitch\tspeed\tformant\n")
            for s in speakers:
                v = s.voice
                f.write(f"{s.id}\t{v.accent}\t{v.variant}\t{v.pitch}\t{v.speed}\t{s.formant}\n")
    logging.info("wrote %d utterances of %d speakers to %s", len(jobs), len(speakers), output_dir)


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    synthesize(FLAGS.output_dir, make_speakers(FLAGS.speakers, FLAGS.seed), FLAGS.utterances,
               FLAGS.overwrite)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
