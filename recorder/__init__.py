"""recorder: record keyword clips of your own voice in the browser, in the Speech Commands layout.

`takes` turns a posted capture into a clip, `dataset` writes and counts the clips and knows
the training command, `server` serves the page (`static/`) and its API, and
`python -m recorder` runs it; see recorder/README.md. The recorder uses
`speech_commands.split` (which split a speaker lands in) and no speech_commands tool, so it
runs without TensorFlow.
"""
