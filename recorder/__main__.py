r"""Records keyword clips of your own voice from the browser, and runs models live in it.

    python -m recorder --output_dir=/tmp/my_words --words=yes,no,up,down
    python -m recorder --model_dir=/tmp/hey_jarvis

The first serves a page on http://127.0.0.1:8000/ (Google's record_train Colab as a small
local app). The page prompts the words in turn, shows a level meter and the takes recorded so
far, lets you discard the last take, and gives the command that trains on the folder; the
same command is logged when the server stops (Ctrl-C).

With --model_dir, http://127.0.0.1:8000/live runs a wake-word or keyword-spotter model folder on
the microphone in the browser (LiteRT.js, nothing runs on the server) and lists what it
hears. A missing or wrong --model_dir ends the program at start, unless it is also recording:
then the live page's Train button trains a keyword spotter on the recordings into it
(`recorder.training`) and listens with it. See recorder/README.md.
"""

from __future__ import annotations

import os

from absl import flags, logging

from earshot import cli
from earshot.errors import UserError
from recorder import dataset as dataset_lib
from recorder import live_model
from recorder import server as server_lib
from recorder import takes

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("output_dir", None, "Dataset folder the clips are written to (created "
                        "if missing; existing clips are kept and counted).")
    flags.DEFINE_string("words", None, "Comma-separated keywords to record, e.g. yes,no,up.")
    flags.DEFINE_string("model_dir", None, "Model folder the live page (/live) runs in the "
                        "browser: written by wakeword.train or speech_commands.export_kws (or "
                        "the training run folder export_kws exported into). With --output_dir, "
                        "the live page trains into it.")
    flags.DEFINE_string("speaker", None, "Speaker name used in file names "
                        "(<speaker>_nohash_<k>.wav); default: your login name.")
    flags.DEFINE_string("host", "127.0.0.1", "Address to bind. Browsers only allow the "
                        "microphone on localhost or HTTPS pages.")
    flags.DEFINE_integer("port", 8000, "Port to serve on (0: any free port).")
    flags.DEFINE_float("clip_seconds", 1.0, "Length of each saved word clip, in seconds.")
    flags.DEFINE_float("background_seconds", 10.0, "Length of a background-noise take, in "
                       "seconds.")
    flags.DEFINE_integer("takes_per_word", 10, "Takes per word the page asks for.")
    flags.DEFINE_float("min_level_db", takes.DEFAULT_MIN_LEVEL_DB, "Takes whose loudest 30 ms "
                       "stay below this level (dBFS) are refused as silent.")


def config_from_flags() -> dataset_lib.RecorderConfig | None:
    """Validated recording flags (None when only --model_dir is given); a ValueError names the
    flag at fault."""
    if not 0 <= FLAGS.port <= 65535:
        raise ValueError(f"--port={FLAGS.port} is not a TCP port")
    if FLAGS.output_dir is None and FLAGS.words is None:
        if FLAGS.model_dir is None:
            raise ValueError("give --output_dir and --words to record, --model_dir to run a model "
                             "live, or all three")
        return None
    if FLAGS.output_dir is None or FLAGS.words is None:
        raise ValueError("recording needs both --output_dir and --words")
    if not 0.1 <= FLAGS.clip_seconds <= 10.0:
        raise ValueError(f"--clip_seconds={FLAGS.clip_seconds} must be within 0.1-10 s")
    if FLAGS.background_seconds < 2 * FLAGS.clip_seconds or FLAGS.background_seconds > 600:
        raise ValueError(f"--background_seconds={FLAGS.background_seconds} must be at least twice "
                         "--clip_seconds (training cuts clips out of it) and at most 600")
    if FLAGS.takes_per_word < 1:
        raise ValueError(f"--takes_per_word={FLAGS.takes_per_word} must be at least 1")
    if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
        raise ValueError(f"--output_dir={FLAGS.output_dir} exists and is not a folder")
    return dataset_lib.RecorderConfig(
        output_dir=FLAGS.output_dir, words=dataset_lib.parse_words(FLAGS.words),
        speaker=dataset_lib.check_speaker(FLAGS.speaker or dataset_lib.default_speaker()),
        clip_seconds=FLAGS.clip_seconds, background_seconds=FLAGS.background_seconds,
        takes_per_word=FLAGS.takes_per_word, min_level_db=FLAGS.min_level_db)


def log(message: str, *args) -> None:
    """The server's per-take lines ("saved yes/ann_nohash_3.wav"), logged from here so they
    count as this program's own and show without `--verbosity`."""
    logging.info(message, *args)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = config_from_flags()
    except ValueError as error:
        raise UserError(str(error)) from error
    if FLAGS.model_dir is not None:
        check_model(FLAGS.model_dir, training=config is not None)
    model_dir = os.path.abspath(FLAGS.model_dir) if FLAGS.model_dir is not None else None
    server = server_lib.make_server(config, FLAGS.host, FLAGS.port, log, model_dir)
    if FLAGS.host not in server_lib.LOOPBACK_HOSTS:
        logging.warning("serving on %s: browsers grant the microphone only to localhost or "
                        "HTTPS pages, and anyone who can reach this address can add takes",
                        FLAGS.host)
    if config is not None:
        logging.info("recording %s as speaker %s into %s", ",".join(config.words),
                     config.speaker, server.dataset.root)
        logging.info("Recorder page: %s (Ctrl-C to stop)", server.url)
    if model_dir is not None:
        if config is not None:
            logging.info("the live page trains on the recordings into %s", model_dir)
        logging.info("Live page: %slive (Ctrl-C to stop)", server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    if config is not None:
        report(server.dataset)


def check_model(folder: str, training: bool) -> None:
    """Reads the --model_dir folder before serving. Only listening, a folder the page cannot run
    ends the program; recording too, the page trains into it, so a folder not yet written (or
    from a failed training) is only noted."""
    try:
        model = live_model.read(folder)
    except live_model.ModelFolderError as problem:
        if not training:
            raise
        logging.info("%s (the live page trains a model there)", problem)
        return
    logging.info("listening for %s with %s", model.name, model.path)


def report(dataset: dataset_lib.Dataset) -> None:
    """The clips per word and the training command, when the server stops."""
    counts = dataset.counts()
    logging.info("clips per word: %s", ", ".join(f"{word} {c['total']}"
                                                 for word, c in counts.items()))
    command, note = dataset.train_command()
    logging.info("train on them with:\n  %s\n%s", command, note)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
