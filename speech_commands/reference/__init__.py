"""The reference's Python API (TensorFlow's `tensorflow/examples/speech_commands`), on top of
earshot's typed core: `models` and `input_data` keep the reference's functions, classes,
argument orders and dict settings, and call `settings`, `features`, `architectures`,
`dataset` and `batches` beneath them. Nothing in `speech_commands` outside this package
imports it (`tests/test_speech_commands_layers.py` checks it).
"""
