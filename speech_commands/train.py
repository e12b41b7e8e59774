r"""Trains a keyword-spotting model, with the reference's flags, logs and files.

    python -m speech_commands.train --data_dir=/tmp/speech_dataset --data_url= \
        --model_architecture=conv --how_many_training_steps=15000,3000

The loop is `speech_commands.training.train`; its docstring says what is written when.
`--train_dir` gets the checkpoints, the labels file and `settings.json`, which is all that
`freeze`, `export_kws`, `export.hub --model=keyword_spotter`, `listen` and the streaming tools
need afterwards.

Differences from the reference: `--verbosity` is absl's own (0 = INFO, 1 = DEBUG, -1 =
WARNING); `--seed` makes a run repeatable; `--optimizer=adam` is added for short runs;
`--quantize` fake-quantizes the fingerprint only (`tf.contrib.quantize` is gone; `freeze
--tflite_dir` writes an int8 TFLite model instead); the dataset is downloaded only when
`--data_url` names it (its default is empty), so a mistyped `--data_dir` is an error, not a
download.
"""

from __future__ import annotations

import dataclasses

from absl import flags, logging

from earshot import cli, distribution
from speech_commands import dataset, settings, training
from speech_commands.settings import SPEECH_COMMANDS_URL, TrainConfig

FLAGS = flags.FLAGS


def define_flags() -> None:
    """One absl flag per `TrainConfig` field, same name, default and help."""
    settings.define_flags()
    # How to run, not what the run is: not a TrainConfig field, so not in settings.json.
    flags.DEFINE_enum("distribution_strategy", "none", distribution.STRATEGIES,
                      distribution.FLAG_HELP)


def log(message: str, *args) -> None:
    """The loop's progress lines, logged from here so they count as this program's own
    (shown without `--verbosity`, like the reference's training log)."""
    logging.info(message, *args)


def main(argv):
    """Trains with `FLAGS`; a flag missing from it keeps its default (the reference's tests set
    `train.FLAGS` to an object holding the reference's flags only). The comma lists
    (`--wanted_words`, `--how_many_training_steps`, `--learning_rate`) become typed tuples in
    `TrainConfig`."""
    del argv
    strategy = distribution.make(getattr(FLAGS, "distribution_strategy", "none"))
    config = TrainConfig(**{f.name: getattr(FLAGS, f.name, f.default)
                            for f in dataclasses.fields(TrainConfig)})
    try:
        training.train(config, log=log, strategy=strategy)
    except dataset.NoDataset as error:
        if config.data_url:
            raise
        raise dataset.NoDataset(f"{error}; to download the Speech Commands dataset into it, "
                                f"pass --data_url={SPEECH_COMMANDS_URL}") from error


if __name__ == "__main__":
    define_flags()
    cli.run(main)
