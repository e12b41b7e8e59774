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
    package_data={"speech_commands": ["recorder_static/*.html", "recorder_static/*.js",
                                      "recorder_static/*.css"]},
    packages=setuptools.find_packages(include=[
        "earshot", "speech_embedding", "vggish", "speech_commands", "export",
        "speaker_embedding",
    ]),
    install_requires=[
        "tensorflow==2.21.*",
        "tf_keras==2.21.*",
        "tensorflow-hub==0.16.1",
        "setuptools<81",
        "numpy",
        "absl-py",
        "soundfile",
        "soxr",
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
        ],
        # Comparators of benchmarks/ (torchvggish for VGGish).
        "bench": [
            "torch==2.13.0",
            "torchvggish==0.2",
        ],
    },
)
