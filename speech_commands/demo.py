r"""The main job, from nothing: a keyword spotter trained on synthesized speech only.

    python -m speech_commands.demo [--output_dir=/tmp/earshot_kws_demo]

1. Synthesizes a Speech Commands-layout dataset with espeak-ng (kept in the earshot cache,
   so later runs skip it).
2. Trains `embedding_head` on the frozen speech embedding (`speech_commands.train`; the
   training clips' embeddings are cached too) and evaluates it on held-out speakers:
   accuracy and a confusion-matrix PNG.
3. Exports the Android files, the streaming model and a Hub SavedModel (`export.hub`).
4. Generates a streaming test recording from the test speakers and runs the streaming model
   over it hop by hop, scoring detections against the ground truth as
   `test_streaming_accuracy` does.
5. Prints a summary with every path it wrote.
"""

from __future__ import annotations

import os
import time

import numpy as np
from absl import app, flags, logging

from earshot import audio, fileio
from speech_commands import (export_kws, hub_spec, input_data, spotter, streaming, synthesize,
                             train)

FLAGS = flags.FLAGS
WORDS = train.DEFAULT_WANTED_WORDS.split(",")
# Dataset: 60 speakers x 35 words, 1 take each; ~48 speakers train, ~6 validate, ~6 test.
SPEAKERS = 60
DATASET_SEED = 0
TRAIN_FLAGS = dict(model_architecture="embedding_head", optimizer="adam",
                   learning_rate="0.002,0.0005", how_many_training_steps="800,200",
                   batch_size=64, eval_step_interval=250, save_step_interval=250, data_url="")
STREAM_SECONDS = 600  # the reference generator's default length


def dataset_dir() -> str:
    """The synthesized dataset, made once per cache."""
    path = os.path.join(fileio.cache_dir("speech_commands"),
                        f"demo_dataset_{SPEAKERS}x1_seed{DATASET_SEED}")
    if not os.path.isdir(path):
        logging.info("Synthesizing the dataset into %s (once)", path)
        synthesize.synthesize(path, WORDS, synthesize.DEFAULT_UNKNOWN_WORDS.split(","),
                              speakers=SPEAKERS,
                              seed=DATASET_SEED)
    return path


def streaming_accuracy(model_dir: str, data_dir: str, output_dir: str):
    """Writes the streaming test wav and labels; returns (accuracy stats, wav path, seconds
    of inference, hops)."""
    settings = export_kws.spotter_settings(WORDS, False)
    processor = input_data.AudioProcessor("", data_dir, 10, 10, WORDS, 10, 10, settings)
    waveform, truth = streaming.generate(processor, WORDS, STREAM_SECONDS, 2000, 0.1, 30,
                                         np.random.default_rng(0))
    wav_path = os.path.join(output_dir, "streaming_test.wav")
    labels_path = os.path.join(output_dir, "streaming_test_labels.txt")
    audio.write_wav(wav_path, waveform, 16000)
    with fileio.atomic_open(labels_path, "w") as out:
        out.write("".join(f"{label}, {time_ms}\n" for label, time_ms in truth))
    stream = spotter.TFLiteStream(os.path.join(model_dir, "streaming_kws.tflite"))
    start = time.monotonic()
    times, scores = spotter.stream_scores(stream, waveform)
    seconds = time.monotonic() - start
    labels = input_data.prepare_words_list(WORDS)
    stats = streaming.evaluate(labels, times, scores, truth, streaming.DetectionSettings())
    return stats, wav_path, seconds, len(times)


def main(argv):
    del argv
    from export import hub as export_hub
    from speech_embedding import weights
    started = time.monotonic()
    weights.fetch()
    output_dir = FLAGS.output_dir
    os.makedirs(output_dir, exist_ok=True)
    data_dir = dataset_dir()
    train_dir = os.path.join(output_dir, "train")
    config = train.TrainConfig(data_dir=data_dir, train_dir=train_dir,
                               summaries_dir=os.path.join(output_dir, "logs"), **TRAIN_FLAGS)
    result = train.train(config)
    model_dir = os.path.join(output_dir, "model")
    paths = export_kws.export_spotter(export_kws.latest_checkpoint(train_dir), WORDS, model_dir)
    hub_dir = os.path.join(output_dir, "hub", "keyword_spotter", "1")
    export_hub.export(hub_spec.hub_spec(train_dir), "saved_model_2", hub_dir, overwrite=True)
    stats, wav_path, stream_seconds, hops = streaming_accuracy(model_dir, data_dir, output_dir)
    validation = result.validation_accuracy[max(result.validation_accuracy)]
    arch = config.model_architecture
    print(f"""
Keyword spotter on synthesized speech ({SPEAKERS} espeak-ng speakers, {len(WORDS)} words)
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
  try:                  python -m speech_commands.listen --model={model_dir} --input={wav_path}
  wall time:            {time.monotonic() - started:.0f} s
""")


if __name__ == "__main__":
    flags.DEFINE_string("output_dir", "/tmp/earshot_kws_demo", "Where the demo writes its files.")
    app.run(main)
