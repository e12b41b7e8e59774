"""VGGish (Hershey et al., 2017) in TF2/Keras: Google's AudioSet audio embedding model.

    import vggish
    vectors = vggish.embed("speech.wav")                    # float32 [N, 128], one per 0.96 s
    codes = vggish.embed(waveform, 44100, postprocess=True)  # uint8, AudioSet release format
    model = vggish.load()                                  # Keras: [batch, 96, 64] -> [batch, 128]

Without TensorFlow, a network from `python -m vggish.export_network` runs on LiteRT:

    from vggish import examples_embedder
    vectors = examples_embedder.TfliteEmbedder("vggish_int8.tflite")("speech.wav")
"""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)
import importlib.util

# Without TensorFlow (the LiteRT runtime) only the TF-free modules load:
# `vggish.examples_embedder` and `vggish.numpy_features`.
if importlib.util.find_spec("tensorflow") is not None:
    from vggish.embedding import embed
    from vggish.features import waveform_to_examples
    from vggish.operator import AudioFrame, VggishOperator
    from vggish.weights import load

__all__ = ["AudioFrame", "VggishOperator", "embed", "load", "waveform_to_examples"]
