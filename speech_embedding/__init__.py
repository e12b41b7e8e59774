"""Google's speech_embedding/1 in TF2/Keras, with Google's pretrained weights.

    import speech_embedding
    model = speech_embedding.load()                 # float32 [batch, samples] -> [batch, T, 1, 96]
    vectors = speech_embedding.embed("clip.wav")    # np.ndarray [T, 96]

`T = 1 + (samples - 12400) // 1280`: one 96-d vector per 80 ms once the first 775 ms are in.
Weights come from `python -m speech_embedding.weights fetch` (run once).
"""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)
from speech_embedding.embedding import embed
from speech_embedding.features import SAMPLE_RATE
from speech_embedding.model import EMBEDDING_SIZE, MIN_SAMPLES, HOP_SAMPLES, num_embeddings
from speech_embedding.pretrained import WeightsNotFoundError, load

__all__ = ["embed", "load", "num_embeddings", "WeightsNotFoundError", "SAMPLE_RATE",
           "EMBEDDING_SIZE", "MIN_SAMPLES", "HOP_SAMPLES"]
