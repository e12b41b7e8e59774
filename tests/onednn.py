"""`run_python`: a Python snippet in a fresh interpreter with TensorFlow's oneDNN kernels on or off.

TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it loads, and which kernels then run depends
on the CPU (a zero-sized batch passes one conv kernel and fails another), so a shape- or
numerics-sensitive test runs its snippet under both settings:

    @pytest.mark.parametrize("mode", onednn.MODES)
    def test_something(mode, exported_dir):
        shapes = onednn.run_python('''
            import tensorflow_hub as hub
            report(hub.load(ARGS["path"])(tf.zeros([0])).shape.as_list())
        ''', mode, path=exported_dir)

The snippet sees its keyword arguments as the dict `ARGS` (JSON values), `tf`, `np`,
`numerics` (tests/numerics.py, for `network_terms`), and `report(value)`, which hands one
JSON value back as `run_python`'s result.

`MODES` is both settings, or only the one `TF_ENABLE_ONEDNN_OPTS` names when the suite runs
under it, so `make test-numerics` runs each mode once. Snippets inherit the rest of the
environment: `ONEDNN_MAX_CPU_ISA=AVX2` or `=SSE41` holds oneDNN to an older instruction set,
so one CPU shows the kernels (and summation orders) another CPU would run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

# TF_ENABLE_ONEDNN_OPTS values: off, on; or the one the suite runs under.
MODES = ((os.environ["TF_ENABLE_ONEDNN_OPTS"],) if os.environ.get("TF_ENABLE_ONEDNN_OPTS")
         in ("0", "1") else ("0", "1"))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
_MARKER = "onednn.report: "
_PRELUDE = f"""
import json, sys
import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port
ARGS = json.loads(sys.argv[1])
sys.path.insert(0, {TESTS!r})
import numerics

def report(value):
    print({_MARKER!r} + json.dumps({{"onednn": _pywrap_util_port.IsMklEnabled(),
                                    "value": value}}), flush=True)
"""


def run_python(code: str, mode: str, timeout: float = 600, **args: Any) -> Any:
    """Runs `code` with TF_ENABLE_ONEDNN_OPTS=`mode` in the repository; returns its report.

    Raises:
      AssertionError: the snippet failed (its stderr's tail is in the message), reported
        nothing, or TensorFlow ran with oneDNN in the other state than asked.
    """
    program = _PRELUDE + textwrap.dedent(code)
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=mode, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", program, json.dumps(args)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=timeout)
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "the CPU's own")
    assert result.returncode == 0, (f"snippet failed with TF_ENABLE_ONEDNN_OPTS={mode}, "
                                    f"ONEDNN_MAX_CPU_ISA {isa}:\n" + result.stderr[-4000:])
    reports = [line[len(_MARKER):] for line in result.stdout.splitlines()
               if line.startswith(_MARKER)]
    assert len(reports) == 1, f"the snippet reported {len(reports)} times:\n{result.stdout[-2000:]}"
    reported = json.loads(reports[0])
    if mode == "1" and not reported["onednn"]:
        pytest.skip("this TensorFlow build has no oneDNN kernels")
    assert reported["onednn"] == (mode == "1"), f"TF_ENABLE_ONEDNN_OPTS={mode} was not applied"
    return reported["value"]
