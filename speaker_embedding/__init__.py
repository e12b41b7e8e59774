"""Speaker embeddings: train, evaluate, enroll, verify and identify speakers.

    import speaker_embedding
    verifier = speaker_embedding.Verifier("spk", "speakers.npz")   # model folder, database
    accepted, similarity = verifier.verify("ada", "c.wav")

`Verifier` and `Verdict` load TensorFlow when first used (`speaker_embedding.verifier`), so
that importing the package for its database (`wakeword.owner`) does not.
"""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)

__all__ = ["Verdict", "Verifier"]


def __getattr__(name: str):
    if name in __all__:
        from speaker_embedding import verifier
        return getattr(verifier, name)
    raise AttributeError(f"module 'speaker_embedding' has no attribute {name!r}")
