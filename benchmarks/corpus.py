r"""Throughput of the Beam embedding job (`corpus.embed`) against a loop over `embed()`.

Audio seconds per wall-clock second, end to end (process start, model load, decoding,
resampling, inference, writing), all measured in this run on the same files:

1. pipeline vs loop: `--clips` synthesized files of 1-30 s (`corpus.synthetic`: speech,
   tones, noise; 16 kHz WAV, 44.1 kHz stereo WAV, 22.05 kHz FLAC).
   - pipeline: `python -m corpus.embed` on the DirectRunner with 2 worker processes
     (`--direct_running_mode=multi_processing`), one TensorFlow thread each (`--tf_threads=1`,
     cores / workers, as the README advises; not the tool's default, which keeps
     TensorFlow's, because VGGish's float rows move by 1e-7 with the thread count and its
     AudioSet codes are byte for byte those of `vggish.embed` in a default process);
   - loop: `python -m <model>.embed --input=<every file>`, one process calling `embed(path)`
     for each file, TensorFlow's default threads.
   Target: the pipeline at least 1.6x the loop on 2 cores.
   The default of 800 files (3.4 h of audio) is a small corpus job, which is what the
   pipeline is for. Its fixed cost is larger than the loop's: a launcher process builds the
   job and starts two workers, each of which imports Beam and TensorFlow and loads the model
   (about 8 s, against the loop's 3.5 s of importing TensorFlow and loading the model). On
   the 200 files of the correctness test (`tests/test_corpus.py`: 14 s of the loop's work)
   that difference alone takes the ratio under 1.6x, whatever the throughput after it.
2. many short clips vs one long clip: the pipeline on `--short_clips` files of 1 s against
   one file of the same total length. Target: short clips at least 80% of the long clip.

The pipeline's fixed cost (two workers starting and loading the model) is printed too, from
a run on two 1 s files, and both sides' marginal throughput: a run on every file twice over,
less the first run, which leaves out each side's fixed cost. The machine's other load counts
in every figure (the load average is printed before and after); run it on a quiet machine.

    python -m benchmarks.corpus [--model=speech_embedding] [--clips=800] [--short_clips=1200]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile
from absl import flags

from corpus import synthetic
from earshot import cli, tts
from earshot.audio import SAMPLE_RATE

FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE_ARGS = ("--direct_num_workers=2", "--direct_running_mode=multi_processing",
                 "--tf_threads=1")


def _run(command: list[str]) -> float:
    """Wall-clock seconds of a command run to completion (a failure ends the benchmark)."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{result.stderr[-3000:]}")
    return seconds


def _model_args() -> list[str]:
    return [f"--model_dir={FLAGS.model_dir}"] if FLAGS.model_dir else []


def pipeline_seconds(pattern: str, output: str) -> float:
    return _run([sys.executable, "-m", "corpus.embed", f"--model={FLAGS.model}",
                 f"--input_pattern={pattern}", f"--output_dir={output}", *_model_args(),
                 *PIPELINE_ARGS])


def loop_seconds(paths: list[str], output: str) -> float:
    extra = ([f"--model_dir={FLAGS.model_dir}"] if FLAGS.model_dir else []) + (
        ["--postprocess"] if FLAGS.model == "vggish" else [])
    return _run([sys.executable, "-m", f"{FLAGS.model}.embed", f"--input={','.join(paths)}",
                 f"--output={output}", *extra])


def write_short_and_long(folder: str, count: int) -> tuple[str, str]:
    """`count` 1 s files of speech and one file of all of them in a row; (short glob, long)."""
    speaker = tts.speakers(1, seed=3)[0]
    speech = np.concatenate([tts.speak(sentence, speaker) for sentence in
                             tts.HARVARD_SENTENCES[:10]])
    total = np.resize(speech, count * SAMPLE_RATE)
    os.makedirs(os.path.join(folder, "short"))
    for index in range(count):
        soundfile.write(os.path.join(folder, "short", f"{index:05d}.wav"),
                        total[index * SAMPLE_RATE:(index + 1) * SAMPLE_RATE], SAMPLE_RATE,
                        subtype="PCM_16")
    long_path = os.path.join(folder, "long.wav")
    soundfile.write(long_path, total, SAMPLE_RATE, subtype="PCM_16")
    return os.path.join(folder, "short", "*.wav"), long_path


def report(name: str, seconds_of_audio: float, wall: float) -> float:
    rate = seconds_of_audio / wall
    print(f"{name:<44} {seconds_of_audio:8.0f} s of audio in {wall:6.1f} s: {rate:7.1f} x "
          "real time", flush=True)
    return rate


def doubled(paths: list[str], folder: str) -> list[str]:
    """Every file twice, as two symlinks each in `folder` (the tools refuse a repeated path)."""
    os.makedirs(folder)
    links = []
    for copy in ("a", "b"):
        for path in paths:
            links.append(os.path.join(folder, f"{copy}_{os.path.basename(path)}"))
            os.symlink(path, links[-1])
    return links


def main(argv: list[str]) -> None:
    del argv
    with tempfile.TemporaryDirectory() as work:
        collection = synthetic.write_corpus(os.path.join(work, "collection"), FLAGS.clips)
        paths = [clip.path for clip in collection]
        twice = doubled(paths, os.path.join(work, "twice"))
        total = sum(clip.seconds for clip in collection)
        synthetic.write_corpus(os.path.join(work, "tiny"), 2, 1.0, 1.0)
        short_pattern, long_path = write_short_and_long(os.path.join(work, "clips"),
                                                        FLAGS.short_clips)
        print(f"{FLAGS.model}, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} before the runs", flush=True)
        fixed = pipeline_seconds(os.path.join(work, "tiny", "*"), os.path.join(work, "out0"))
        print(f"pipeline fixed cost (2 workers start, load the model; 2 files of 1 s): "
              f"{fixed:.1f} s", flush=True)
        once = pipeline_seconds(os.path.join(work, "collection", "*"), os.path.join(work, "o1"))
        pipeline = report(f"pipeline, 2 workers, {FLAGS.clips} files of 1-30 s", total, once)
        loop_once = loop_seconds(paths, os.path.join(work, "loop1.npz"))
        loop = report("loop over embed(), 1 process, same files", total, loop_once)
        print(f"pipeline / loop, end to end: {pipeline / loop:.2f}x (target >= 1.6x)",
              flush=True)
        # The same files twice over: the extra time is the cost of the extra audio alone,
        # without either side's fixed cost (process start, imports, model load).
        marginal = report("pipeline, the extra files of a doubled run", total,
                          pipeline_seconds(os.path.join(work, "twice", "*"),
                                           os.path.join(work, "o2")) - once)
        loop_marginal = report("loop, the extra files of a doubled run", total,
                               loop_seconds(twice, os.path.join(work, "loop2.npz")) - loop_once)
        print(f"pipeline / loop, marginal: {marginal / loop_marginal:.2f}x", flush=True)
        short = report(f"pipeline, {FLAGS.short_clips} clips of 1 s", FLAGS.short_clips,
                       pipeline_seconds(short_pattern, os.path.join(work, "o3")))
        long = report(f"pipeline, 1 clip of {FLAGS.short_clips} s", FLAGS.short_clips,
                      pipeline_seconds(long_path, os.path.join(work, "o4")))
        print(f"short clips / long clip: {short / long:.2f} (target >= 0.8)", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} after the runs", flush=True)


if __name__ == "__main__":
    flags.DEFINE_enum("model", "speech_embedding", ["speech_embedding", "vggish"],
                      "The model both sides run.")
    flags.DEFINE_string("model_dir", None, "vggish: a `vggish.convert` weights folder "
                        "(default: the cache).")
    flags.DEFINE_integer("clips", 800, "Files of 1-30 s for the pipeline-vs-loop figure.")
    flags.DEFINE_integer("short_clips", 1200, "1 s files (and seconds of the long file) for "
                         "the short-vs-long figure.")
    cli.run(main)
