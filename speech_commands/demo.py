r"""The main job, from nothing: a keyword spotter trained on synthesized speech only.

    python -m speech_commands.demo [--output_dir=/tmp/earshot_kws_demo]

1. Synthesizes a Speech Commands-layout dataset with espeak-ng (kept in the earshot cache,
   so later runs skip it).
2. Trains `embedding_head` on the frozen speech embedding (`speech_commands.training`; the
   training clips' embeddings are cached too) and evaluates it on held-out speakers:
   accuracy and a confusion-matrix PNG.
3. Exports the Android files, the streaming model and a Hub SavedModel (`export.hub`).
4. Generates a streaming test recording from the test speakers and runs the streaming model
   over it hop by hop, scoring detections against the ground truth as
   `streaming_accuracy` does.
5. Prints a summary with every path it wrote.

Needs the speech embedding's weights (`python -m speech_embedding.weights fetch`, which
`make demo` runs first).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
from absl import flags

from earshot import audio, cli, fileio
from speech_commands import (batches, dataset, detection, run_folder, settings,
                             spotter_runtime, streaming_spotter, streaming_test_audio,
                             synthetic_dataset, training)

FLAGS = flags.FLAGS
WORDS = settings.DEFAULT_WANTED_WORDS
TRAIN_FLAGS = dict(model_architecture="embedding_head", optimizer="adam",
                   learning_rate=(0.002, 0.0005), how_many_training_steps=(800, 200),
                   batch_size=64, eval_step_interval=250, save_step_interval=250, data_url="")
STREAM_SECONDS = 600  # the reference generator's default length


def streaming_accuracy(run: settings.RunSettings, model_dir: str, output_dir: str):
    """Writes the streaming test wav and labels; returns (accuracy stats, wav path, seconds
    of inference, hops)."""
    config = run.training
    source = batches.BatchSource.from_folder(run.model_settings, config.data_dir,
                                             dataset.SplitSettings.of(config))
    waveform, truth = streaming_test_audio.generate(source, WORDS, STREAM_SECONDS, 2000, 0.1,
                                                    30, np.random.default_rng(0))
    wav_path = os.path.join(output_dir, "streaming_test.wav")
    labels_path = os.path.join(output_dir, "streaming_test_labels.txt")
    audio.write_wav(wav_path, waveform, config.sample_rate)
    with fileio.atomic_open(labels_path, "w") as out:
        out.write("".join(f"{label}, {time_ms}\n" for label, time_ms in truth))
    stream = spotter_runtime.SpotterStream(spotter_runtime.model_paths(model_dir)[0])
    start = time.monotonic()
    times, scores = spotter_runtime.recording_scores(stream, waveform)
    seconds = time.monotonic() - start
    stats = detection.evaluate(list(run.labels), times, scores, truth,
                               detection.DEFAULTS)
    return stats, wav_path, seconds, len(times)


def export_hub(train_dir: str, hub_dir: str) -> None:
    """The Hub SavedModel and its archive (which its card's asset-path names), through
    `export.hub`'s command line (a tool runs a tool, never imports it)."""
    subprocess.run([sys.executable, "-m", "export.hub", "--model=keyword_spotter",
                    "--format=saved_model_2", f"--model_dir={train_dir}",
                    f"--output_dir={hub_dir}", "--overwrite", "--archive"], check=True)


def main(argv):
    del argv
    started = time.monotonic()
    output_dir = FLAGS.output_dir
    os.makedirs(output_dir, exist_ok=True)
    data_dir = synthetic_dataset.demo_dataset()
    train_dir = os.path.join(output_dir, "train")
    config = settings.TrainConfig(data_dir=data_dir, train_dir=train_dir,
                                  summaries_dir=os.path.join(output_dir, "logs"), **TRAIN_FLAGS)
    result = training.train(config)
    model, run = run_folder.load_model(train_dir)
    model_dir = os.path.join(output_dir, "model")
    paths = streaming_spotter.export_spotter(model, run, model_dir)
    hub_dir = os.path.join(output_dir, "hub", "keyword_spotter", "1")
    export_hub(train_dir, hub_dir)
    stats, wav_path, stream_seconds, hops = streaming_accuracy(run, model_dir, output_dir)
    validation = result.validation_accuracy[max(result.validation_accuracy)]
    arch = config.model_architecture
    speakers = synthetic_dataset.DEMO_SPEAKERS
    print(f"""
Keyword spotter on synthesized speech ({speakers} espeak-ng speakers, {len(WORDS)} words)
  dataset:              {data_dir}
  validation accuracy:  {validation * 100:.1f}%
  test accuracy:        {result.test_accuracy * 100:.1f}% (N={result.test_count}, held-out speakers)
  confusion matrix:     {os.path.join(train_dir, arch + '_test_confusion.png')}
  checkpoints, labels:  {train_dir}
  Android assets:       {paths['float']}
                        {paths['labels']}
  streaming model:      {paths['streaming']}
  Hub SavedModel:       {hub_dir}
  streaming test:       {wav_path} ({STREAM_SECONDS} s)
  streaming accuracy:   {stats.summary()}
  streaming cost:       {stream_seconds / hops * 1000:.2f} ms per 80 ms hop ({hops} hops)
  try:                  python -m speech_commands.listen --model_dir={model_dir} --input={wav_path}
  wall time:            {time.monotonic() - started:.0f} s
""")


if __name__ == "__main__":
    flags.DEFINE_string("output_dir", "/tmp/earshot_kws_demo", "Where the demo writes its files.")
    cli.run(main)
