"""recorder: record keyword clips of your own voice in the browser, in the Speech Commands layout,
and run models live in the browser.

`takes` turns a posted capture into a clip, `dataset` writes and counts the clips and knows
the training command, `live_model` reads a wake-word or keyword-spotter folder for the live
page, `training` runs the trainer and exporter for it as subprocesses, `server` serves the
pages (`static/`, LiteRT.js from `web/node_modules`) and their API, and `python -m recorder`
runs it; see recorder/README.md. The recorder uses `speech_commands.split`,
`spotter_runtime` and `dataset` (which split a speaker lands in, where a spotter's files are,
its labels) and no speech_commands tool, so it runs without TensorFlow.
"""
