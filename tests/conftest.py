"""Fixtures shared across packages' tests."""

import numpy as np
import pytest

from earshot import tts


@pytest.fixture(scope="session")
def speech_embedding_model():
    """The pretrained speech embedding in inference mode, weights fetched into the cache if missing."""
    import speech_embedding
    from speech_embedding import pretrained
    pretrained.fetch()
    return speech_embedding.load()


@pytest.fixture(scope="session")
def spoken_phrase() -> np.ndarray:
    """About 3 s of synthesized speech, float32 at 16 kHz."""
    return tts.speak("the quick brown fox jumps over the lazy dog", tts.speakers(1, seed=7)[0])


from tf_free_env import tf_free_python  # noqa: E402,F401  pylint: disable=wrong-import-position
