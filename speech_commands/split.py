"""The Speech Commands train/validation/test split, without TensorFlow.

Kept apart from the data pipeline (`dataset`, `batches`) so that light tools (the recorder's
web server) can tell where a speaker's clips will land without paying for its imports.
"""

from __future__ import annotations

import hashlib
import os
import re

MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M: the modulus of the reference's split hash


def speaker_of(filename: str) -> str:
    """The speaker part of a Speech Commands file name (the base name before `_nohash_`)."""
    return re.sub(r"_nohash_.*$", "", os.path.basename(filename))


def which_set(filename: str, validation_percentage: float, testing_percentage: float) -> str:
    """'training', 'validation' or 'testing' for a clip, stable as the dataset grows.

    Only the part of the base name before `_nohash_` (the speaker) is hashed, so every clip of
    a speaker, whatever the word, lands in the same split.
    """
    hash_name = speaker_of(filename)
    hash_name_hashed = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    percentage_hash = ((int(hash_name_hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) *
                       (100.0 / MAX_NUM_WAVS_PER_CLASS))
    if percentage_hash < validation_percentage:
        return "validation"
    if percentage_hash < (testing_percentage + validation_percentage):
        return "testing"
    return "training"
