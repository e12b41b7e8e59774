"""VGGish (Hershey et al., 2017) in TF2/Keras: Google's AudioSet audio embedding model.

    import vggish
    vectors = vggish.embed("speech.wav")                    # float32 [N, 128], one per 0.96 s
    codes = vggish.embed(waveform, 44100, postprocess=True)  # uint8, AudioSet release format
    model = vggish.load()                                  # Keras: [batch, 96, 64] -> [batch, 128]
"""

from vggish.embed import embed
from vggish.features import waveform_to_examples
from vggish.operator import AudioFrame, VggishOperator
from vggish.weights import load

__all__ = ["AudioFrame", "VggishOperator", "embed", "load", "waveform_to_examples"]
