"""Wake-word detection: train a head on the speech embedding, run it hop by hop on LiteRT.

    import wakeword
    detector = wakeword.Detector("model")      # a folder written by `python -m wakeword.train`
    detections = detector.process(pcm)         # [Detection(phrase, time_s, end_sample, score)]

`Detector.push` takes a live stream in pieces; neither needs TensorFlow.
"""

from wakeword.detector import Detection, Detector

__all__ = ["Detection", "Detector"]
