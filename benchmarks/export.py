"""Download throughput of `export.serve` against static hosting of the same tarball, same run.

TF Hub models were hosted as static tar.gz files (tfhub.dev/GCS); the comparator is therefore
Python's own threaded static file server (`http.server.ThreadingHTTPServer` with
`SimpleHTTPRequestHandler`) serving the `--archive` tarball of the same export. Both get the
same burst of concurrent downloads, each by its own `curl` process:
- export.serve: `GET /<model>?tf-hub-format=compressed`, tarball built on the first request
  (timed separately as the cold request) and cached;
- static: `GET /<model>.tar.gz`, the tarball written beforehand by `export.hub --archive`.

Prints the median wall time of a burst for each, MB/s, and the ratio (static / export.serve:
above 1 means export.serve is faster).

    python -m benchmarks.export [--model=speech_embedding] [--clients=32] [--repeats=5]
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import tempfile
import threading
import time

import numpy as np
from absl import flags

from earshot import cli
from export import exporter, model_server, models

FLAGS = flags.FLAGS


def _burst(url: str, clients: int) -> tuple[float, int]:
    """Seconds for `clients` concurrent curl downloads of `url`, and the bytes of one.

    curl processes, not Python threads, are the clients, so the figure measures the servers
    rather than a client competing with them for the GIL.
    """
    command = ["curl", "--silent", "--fail", "--output", "/dev/null", "--write-out",
               "%{size_download}", url]
    start = time.perf_counter()
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
                 for _ in range(clients)]
    sizes = {int(process.communicate()[0]) for process in processes}
    elapsed = time.perf_counter() - start
    if any(process.returncode for process in processes) or len(sizes) != 1:
        raise RuntimeError(f"{url}: downloads failed or differ in size ({sizes})")
    return elapsed, sizes.pop()


class _QuietStaticHandler(http.server.SimpleHTTPRequestHandler):
    """The stdlib static file handler, without its per-request line on stderr."""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        del format, args


def _serve_in_thread(server: http.server.HTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main(argv: list[str]) -> None:
    del argv
    with tempfile.TemporaryDirectory(prefix="earshot-bench-") as scratch:
        root = os.path.join(scratch, "root")
        exporter.export(models.load_spec(FLAGS.model), FLAGS.format,
                        os.path.join(root, FLAGS.model, "1"), archive=True)

        ours = model_server.make_server(root, "127.0.0.1", 0, os.path.join(scratch, "archives"))
        handler = functools.partial(_QuietStaticHandler, directory=root)
        static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        for server in (ours, static):
            _serve_in_thread(server)
        ours_url = f"{ours.url}{FLAGS.model}/1?tf-hub-format=compressed"
        host, port = static.server_address[:2]
        static_url = f"http://{host}:{port}/{FLAGS.model}/1.tar.gz"

        start = time.perf_counter()
        _, size = _burst(ours_url, 1)
        cold = time.perf_counter() - start
        _, static_size = _burst(static_url, 1)
        # Bursts alternate between the servers so both see the same machine load.
        ours_times, static_times = [], []
        for _ in range(FLAGS.repeats):
            ours_times.append(_burst(ours_url, FLAGS.clients)[0])
            static_times.append(_burst(static_url, FLAGS.clients)[0])
        builds = ours.archives.builds
        for server in (ours, static):
            server.shutdown()
            server.server_close()

    ours_seconds = float(np.median(ours_times))
    static_seconds = float(np.median(static_times))
    megabytes = FLAGS.clients * size / 1e6
    print(f"model {FLAGS.model} ({FLAGS.format}), tarball {size / 1e6:.2f} MB "
          f"(static copy {static_size / 1e6:.2f} MB), {FLAGS.clients} concurrent clients, "
          f"median of {FLAGS.repeats} bursts")
    print(f"export.serve first request (builds the tarball): {cold * 1e3:.0f} ms; "
          f"tarballs built in total: {builds}")
    print(f"export.serve burst: {ours_seconds * 1e3:.0f} ms ({megabytes / ours_seconds:.0f} MB/s)")
    print(f"static http.server burst: {static_seconds * 1e3:.0f} ms "
          f"({megabytes / static_seconds:.0f} MB/s)")
    print(f"ratio static/export.serve: {static_seconds / ours_seconds:.2f}x")


if __name__ == "__main__":
    flags.DEFINE_string("model", "speech_embedding", "Model to export and serve.")
    flags.DEFINE_enum("format", "tf1_hub", sorted(exporter.WRITERS), "Export format.")
    flags.DEFINE_integer("clients", 32, "Concurrent downloads per burst (client threads).")
    flags.DEFINE_integer("repeats", 5, "Timed bursts per server; the median is reported.")
    cli.run(main)
