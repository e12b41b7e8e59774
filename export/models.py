"""`--model=NAME` -> `ModelSpec`, importing only the package that provides NAME.

Each model package provides a spec function in `<package>/hub_spec.py`:

    def hub_spec(weights_path: str | None = None, **kwargs: str) -> export.spec.ModelSpec

`weights_path` is `--model_dir` (None: the package's default trained weights); `kwargs`
are the `--spec_arg=key=value` flags, as strings. The registry holds import strings rather
than functions so that exporting speech_embedding never imports VGGish (and its weights).
A `package.module:function` string not in the registry is accepted too, for models that
are not registered (a keyword spotter variant, a test's model).
"""

from __future__ import annotations

import importlib
from typing import Optional

from earshot.errors import UserError
from export import spec as spec_lib

MODELS = {
    "speech_embedding": "speech_embedding.hub_spec:hub_spec",
    "vggish": "vggish.hub_spec:hub_spec",
    "speaker_embedding": "speaker_embedding.hub_spec:hub_spec",
    "keyword_spotter": "speech_commands.hub_spec:hub_spec",
}


class ModelNotFoundError(UserError, ValueError):
    """`--model` names no registered model, or a module or function that does not exist."""


def resolve(name: str) -> str:
    """The `module:function` import string for a registered name or an import string."""
    if name in MODELS:
        return MODELS[name]
    if ":" in name:
        return name
    raise ModelNotFoundError(f"unknown model {name!r}: use one of {', '.join(sorted(MODELS))}, or "
                     "'package.module:function' for a spec function that is not registered")


def load_spec(name: str, weights_path: Optional[str] = None,
              **kwargs: str) -> spec_lib.ModelSpec:
    """Imports the spec function of `name` and calls it.

    Raises:
      ModelNotFoundError: unknown name, or its module or function does not exist (yet).
      ValueError: the spec function does not return a ModelSpec.
    """
    target = resolve(name)
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not (module_name + ".").startswith(error.name + "."):
            raise  # a dependency of the spec module is missing: keep the real error
        raise ModelNotFoundError(f"model {name!r}: cannot import {module_name} ({error})") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ModelNotFoundError(f"model {name!r}: {module_name} has no function {function_name}")
    spec = function(weights_path=weights_path, **kwargs)
    if not isinstance(spec, spec_lib.ModelSpec):
        raise ValueError(f"model {name!r}: {target} returned {type(spec).__name__}, "
                         "expected export.spec.ModelSpec")
    return spec
