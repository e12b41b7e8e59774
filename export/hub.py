r"""Exports an earshot model in a TF Hub format.

    python -m export.hub --model=speech_embedding --format=tf1_hub \
        --output_dir=/tmp/speech_embedding/1 [--overwrite] [--archive] [--asset_url=URL]

The folder appears only when complete (written to a temporary sibling, then renamed);
`--archive` adds `DIR.tar.gz` for static hosting, and the model card `DIR.md` (tfhub.dev's
model page, whose `asset-path` is `--asset_url`, by default the archive's `file://` URL) is
written last, beside them. The card is checked against tfhub.dev's rules
(`export.conformance`) before any work (`export.exporter`).
"""

from __future__ import annotations

from absl import app, flags

from earshot import cli
from export import card, exporter, models


def _spec_kwargs(pairs: list[str]) -> dict[str, str]:
    kwargs = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.isidentifier():
            raise app.UsageError(f"--spec_arg={pair!r}: expected key=value")
        kwargs[key] = value
    return kwargs


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    options = flags.FLAGS
    exporter.check_output(options.output_dir, options.overwrite, options.archive)
    spec = models.load_spec(options.model, weights_path=options.model_dir,
                            **_spec_kwargs(options.spec_arg))
    output_dir = exporter.export(spec, options.format, options.output_dir,
                                 overwrite=options.overwrite, archive=options.archive,
                                 version=options.version, asset_url=options.asset_url)
    print(f"wrote {output_dir}")
    if options.archive:
        print(f"wrote {exporter.archive_path(output_dir)}")
    print(f"wrote {card.card_path(output_dir)}")


def define_flags() -> None:
    """The CLI's flags; defined only when run as a program, so importing this module (as a
    spec function's package may, indirectly) never defines them twice."""
    flags.DEFINE_string(
        "model", None, f"Registered model ({', '.join(sorted(models.MODELS))}) or "
        "'package.module:function' returning an export.spec.ModelSpec.",
        required=True)
    flags.DEFINE_enum("format", "tf1_hub", sorted(exporter.WRITERS), "TF Hub format to write.")
    flags.DEFINE_string("output_dir", None, "Model folder to create, e.g. .../name/1.",
                        required=True)
    flags.DEFINE_boolean("overwrite", False, "Replace an existing output_dir (and archive).")
    flags.DEFINE_boolean("archive", False,
                         "Also write output_dir.tar.gz in TF Hub's compressed layout.")
    flags.DEFINE_string("model_dir", None, "The trained model the spec function loads, passed "
                        "as its weights_path: a folder (vggish.convert, speaker_embedding.train, "
                        "a speech_commands.train run) or speech_embedding's .weights.h5 file "
                        "(default: the package's own).")
    flags.DEFINE_multi_string(
        "spec_arg", [], "key=value passed to the spec function as a string keyword argument.")
    flags.DEFINE_integer("version", 1, "Version in the model card's handle.")
    flags.DEFINE_string("asset_url", None, "The card's asset-path: URL of the published "
                        "tar.gz (default: file:// URL of output_dir.tar.gz, what --archive "
                        "writes).")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
