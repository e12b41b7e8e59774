"""Jobs over whole audio collections on Apache Beam (`pip install .[beam]`).

    python -m corpus.embed --model=vggish --input_pattern='audio/*.wav' --output_dir=features

`corpus.pipeline` builds the job, `corpus.models` runs each model on batches of clips,
`corpus.records` writes and reads the records (AudioSet's format and float rows, with
`tf.data` readers), and `corpus.classifier` trains a small clip classifier on them.
"""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)

import logging


class _NoApitoolsNotice(logging.Filter):
    """Drops the line Beam logs on the root logger whenever it is imported without its GCP
    extras ("apitools not found, and bigquery client libraries are not available ...").

    The corpus job reads no BigQuery table, so the notice is noise on every run. The filter
    sits on the root logger (where the notice is logged, as `logging.warning`) before any
    corpus module imports Beam, and matches that one message of Beam's only.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not ("apache_beam" in record.pathname
                    and record.getMessage().startswith("apitools not found"))


logging.getLogger().addFilter(_NoApitoolsNotice())
