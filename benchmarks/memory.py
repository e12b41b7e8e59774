r"""Peak memory against recording length, per model: chunked embedding vs one pass.

    python -m benchmarks.memory [--minutes=10,60,240] [--runs=speech_embedding,vggish_cli,...]

Writes one 16 kHz mono 16-bit WAV per length (a warbling tone over noise, generated and
written a minute at a time), then embeds each in a fresh process and reports that process's
peak resident set (`ru_maxrss` from `wait4`), which includes TensorFlow and the weights.
Runs (`--runs`, default all):
- speech_embedding: `speech_embedding.embed(path)`;
- speech_embedding_cli: `python -m speech_embedding.embed --input=path --output=out.npz`;
- vggish: `vggish.embed(path)`; vggish_cli: `python -m vggish.embed` (the parity fixture's
  weights, converted once: same network and memory as Google's);
- speaker_embedding: `speaker_embedding.embedder.Embedder(network).embed(path)` with an
  untrained full-size ResCNN (same compute and memory as a trained one);
- speaker_embedding_cli: `python -m speaker_embedding.enroll` with that network saved.
The comparator, on the shortest recording only (it grows with the length: 6.6 GB at 60 min
for speech_embedding), is each model's one-pass path as it was before chunking: the whole
file decoded and the network run over the whole clip at once (VGGish already ran in slices
of 64 examples, so there the difference is the whole-file decode).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile
from absl import app, flags

from earshot import cli
from earshot.audio import SAMPLE_RATE
BOUND_GB = 1.5  # issue 10: peak resident set on a 4-hour recording, whatever the model
WRITE_BLOCK_SECONDS = 60

# name -> "library" (a call in a child process, with a one-pass comparator) or its module
RUNS = {
    "speech_embedding": "library",
    "speech_embedding_cli": "speech_embedding.embed",
    "vggish": "library",
    "vggish_cli": "vggish.embed",
    "speaker_embedding": "library",
    "speaker_embedding_cli": "speaker_embedding.enroll",
}


def write_recording(path: str, minutes: float) -> None:
    """A 440 Hz tone warbling at 0.25 Hz over white noise, 16-bit, written a block at a time."""
    rng = np.random.default_rng(0)
    total = int(minutes * 60 * SAMPLE_RATE)
    block = WRITE_BLOCK_SECONDS * SAMPLE_RATE
    with soundfile.SoundFile(path, "w", SAMPLE_RATE, 1, "PCM_16") as sink:
        for start in range(0, total, block):
            t = (start + np.arange(min(block, total - start))) / SAMPLE_RATE
            tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
            sink.write(tone + 0.05 * rng.standard_normal(t.size))


def run_in_child(run: str, wav: str, one_pass: bool, models: dict[str, str]) -> None:
    """The body of one measured process: embeds `wav` once the way `run` names."""
    from earshot import audio
    if run == "speech_embedding":
        from speech_embedding import embedding as speech_embedding_embed
        if one_pass:
            # What `embed` ran before chunking: the compiled model over the whole clip.
            waveform = audio.load(wav, SAMPLE_RATE)
            speech_embedding_embed.compiled()(waveform[np.newaxis]).numpy()
        else:
            speech_embedding_embed.embed(wav)
    elif run == "vggish":
        from vggish import embedding as vggish_embed
        from vggish import features
        embedder = vggish_embed.embedder(models["vggish"])
        if one_pass:
            embedder.embed_waveform(features.prepare_waveform(*audio.read_file(wav)))
        else:
            embedder(wav)
    elif run == "speaker_embedding":
        from speaker_embedding import embedder, features
        from speaker_embedding.vectors import mean_vector
        model = embedder.Embedder(embedder.load_model(models["speaker_embedding"]))
        if one_pass:
            waveform = embedder.load_waveform(wav)
            mean_vector(model.embed_inputs(features.windows(features.fbank(waveform))))
        else:
            model.embed(wav)
    else:
        raise ValueError(f"no library run named {run!r}")


def command(run: str, wav: str, one_pass: bool, models: dict[str, str], scratch: str) -> list[str]:
    module = RUNS[run]
    if module == "library":
        return [sys.executable, "-c", "from benchmarks import memory; "
                f"memory.run_in_child({run!r}, {wav!r}, {one_pass!r}, {models!r})"]
    if run == "speaker_embedding_cli":
        return [sys.executable, "-m", module, f"--model_dir={models['speaker_embedding']}",
                f"--db={os.path.join(scratch, 'speakers.npz')}", "--name=benchmark",
                f"--input={wav}"]
    extra = [f"--model_dir={models['vggish']}"] if run == "vggish_cli" else []
    return [sys.executable, "-m", module, f"--input={wav}",
            f"--output={os.path.join(scratch, 'out.npz')}", *extra]


def peak_rss(argv: list[str]) -> tuple[float, float]:
    """Runs `argv` to the end; returns (its peak resident set in GB, wall seconds)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}):\n"
                           f"{stderr.decode(errors='replace')[-3000:]}")
    return usage.ru_maxrss * 1024 / 1e9, time.perf_counter() - start  # ru_maxrss is in KiB


def make_models(scratch: str) -> None:
    """Prepares the weights the runs load and prints their folders as JSON (run in a child)."""
    from benchmarks import fixtures
    from speaker_embedding import embedder, model as model_lib
    from speech_embedding import pretrained
    pretrained.fetch()
    speaker_dir = os.path.join(scratch, "speaker_model")
    os.makedirs(speaker_dir)
    embedder.write_config(speaker_dir, model_lib.config_for("full"))
    embedder.save_weights(model_lib.build("full"), speaker_dir)
    print(json.dumps({"vggish": fixtures.vggish_fixture_weights(),
                      "speaker_embedding": speaker_dir}))


def main(argv: list[str]) -> None:
    del argv
    lengths = [float(m) for m in flags.FLAGS.minutes]
    runs = flags.FLAGS.runs
    unknown = set(runs) - set(RUNS)
    if unknown:
        raise app.UsageError(f"unknown --runs {', '.join(sorted(unknown))}; use {', '.join(RUNS)}")
    with tempfile.TemporaryDirectory() as scratch:
        # A child's ru_maxrss starts from its parent's resident set at the fork, so this
        # process never imports TensorFlow: the models are prepared in a child too.
        prepare = f"from benchmarks import memory; memory.make_models({scratch!r})"
        models = json.loads(subprocess.run([sys.executable, "-c", prepare], check=True,
                                           capture_output=True, text=True).stdout.splitlines()[-1])
        print(f"peak resident set of one process (GB), bound {BOUND_GB} GB; one pass = whole "
              "file decoded, whole clip through the network")
        print(f"{'run':24s} {'minutes':>8s} {'chunked':>8s} {'seconds':>8s} {'one pass':>9s} "
              f"{'ratio':>6s}")
        worst = 0.0
        for minutes in lengths:
            wav = os.path.join(scratch, f"{minutes:g}min.wav")
            write_recording(wav, minutes)
            for run in runs:
                peak, seconds = peak_rss(command(run, wav, False, models, scratch))
                worst = max(worst, peak)
                line = f"{run:24s} {minutes:8g} {peak:8.2f} {seconds:8.0f}"
                if minutes == min(lengths) and RUNS[run] == "library":
                    one_pass, _ = peak_rss(command(run, wav, True, models, scratch))
                    line += f" {one_pass:9.2f} {peak / one_pass:6.2f}"
                print(line, flush=True)
            os.remove(wav)
        print(f"largest peak {worst:.2f} GB: {'within' if worst <= BOUND_GB else 'OVER'} the "
              f"{BOUND_GB} GB bound")


if __name__ == "__main__":
    flags.DEFINE_list("minutes", ["10", "60", "240"], "Recording lengths, in minutes.")
    flags.DEFINE_list("runs", list(RUNS), f"Which to measure, of: {', '.join(RUNS)}.")
    cli.run(main)
