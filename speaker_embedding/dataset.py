"""Speaker datasets on disk: LibriSpeech and VoxCeleb layouts, speaker-disjoint splits, features.

Both layouts are three levels deep and put the speaker first:
LibriSpeech `root/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac` and VoxCeleb
`root/<id>/<video>/<utt>.wav`, so one reader serves both; the middle level (chapter or video)
only groups recordings.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Sequence

from absl import logging

from earshot import audio, fileio, progress
from earshot.errors import UserError
from speaker_embedding import features
from speaker_embedding.triplets import Utterance

AUDIO_EXTENSIONS = audio.SUPPORTED_EXTENSIONS
SPLIT_FILE = "split.json"


class DatasetError(UserError, ValueError):
    """A dataset or speaker split that cannot give what a command asks of it."""


def find_utterances(root: str) -> dict[str, list[str]]:
    """Audio files under `root/<speaker>/<group>/`, as {speaker: sorted paths}.

    Raises:
      FileNotFoundError: `root` is missing or holds no audio at that depth.
    """
    if not os.path.isdir(root):
        problem = "not a folder" if os.path.exists(root) else "no such dataset folder"
        raise FileNotFoundError(f"{root}: {problem}")
    found: dict[str, list[str]] = {}
    for speaker in sorted(os.listdir(root)):
        speaker_dir = os.path.join(root, speaker)
        if not os.path.isdir(speaker_dir):
            continue
        for group in sorted(os.listdir(speaker_dir)):
            group_dir = os.path.join(speaker_dir, group)
            if not os.path.isdir(group_dir):
                continue
            for name in sorted(os.listdir(group_dir)):
                if name.lower().endswith(AUDIO_EXTENSIONS):
                    found.setdefault(speaker, []).append(os.path.join(group_dir, name))
    if not found:
        raise FileNotFoundError(
            f"{root}: no audio found as <speaker>/<chapter or video>/<utterance>"
            f"{{{','.join(AUDIO_EXTENSIONS)}}} (LibriSpeech or VoxCeleb layout)")
    return found


def split_speakers(speakers: Sequence[str], num_test: int,
                   seed: int = 0) -> tuple[list[str], list[str]]:
    """Speaker-disjoint (train, test) lists.

    Speakers are ranked by a hash of (seed, speaker name), so the split does not depend on
    the order of `speakers` or on file-system listing order.
    """
    if not 0 <= num_test < len(speakers):
        raise DatasetError(f"cannot hold out {num_test} of {len(speakers)} speakers; at least one "
                         "must remain for training")
    ranked = sorted(speakers, key=lambda s: hashlib.sha1(f"{seed}:{s}".encode()).hexdigest())
    return sorted(ranked[num_test:]), sorted(ranked[:num_test])


def write_split(model_dir: str, train: Sequence[str], test: Sequence[str]) -> None:
    with fileio.atomic_open(os.path.join(model_dir, SPLIT_FILE), "w") as f:
        json.dump({"train": list(train), "test": list(test)}, f, indent=1)


def read_split(path: str) -> dict[str, list[str]]:
    """{'train': [...], 'test': [...]} as written by training."""
    try:
        with open(path) as f:
            split = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"{path}: cannot read the speaker split ({error})") from error
    if not isinstance(split, dict) or not {"train", "test"} <= set(split):
        raise DatasetError(f"{path}: not a speaker split file (needs 'train' and 'test' lists)")
    return split


def load_utterances(paths_by_speaker: dict[str, list[str]],
                    speakers: Sequence[str] | None = None) -> list[Utterance]:
    """Decodes the chosen speakers' files at 16 kHz and computes their filterbanks.

    Raises:
      DatasetError: a requested speaker is not in the dataset.
    """
    speakers = sorted(paths_by_speaker) if speakers is None else list(speakers)
    missing = [s for s in speakers if s not in paths_by_speaker]
    if missing:
        raise DatasetError(f"speakers not in the dataset: {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''}")
    jobs = [(s, p) for s in speakers for p in paths_by_speaker[s]]
    utterances = []
    for speaker, path in progress.track(jobs, "computing filterbanks"):
        waveform = audio.load(path, features.SAMPLE_RATE)
        utterances.append(Utterance(speaker, path, features.fbank(waveform)))
    logging.info("%d utterances of %d speakers", len(utterances), len(speakers))
    return utterances
