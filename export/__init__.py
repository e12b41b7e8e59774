"""export: earshot models in TF Hub formats (tf1_hub, saved_model_2), archives, and an HTTP server.

Model packages plug in through `export.spec.ModelSpec` and a `hub_spec` function registered
in `export.models`; see export/README.md.
"""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)
