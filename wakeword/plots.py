"""The DET plot: false-reject rate against false accepts per hour, one curve per model."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from earshot import fileio  # noqa: E402


def det(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, path: str,
        marks: dict[str, tuple[float, float]] | None = None) -> None:
    """`curves`: name -> (false-reject rates, false accepts per hour); `marks`: name -> the
    operating point (FA/h, FRR) to circle."""
    figure, axes = plt.subplots(figsize=(5.5, 4.0))
    for name, (frr, fa) in curves.items():
        order = np.argsort(fa)
        axes.plot(np.maximum(fa[order], 0.01), frr[order], marker=".", markersize=3, label=name)
    for name, (fa, frr) in (marks or {}).items():
        axes.plot(max(fa, 0.01), frr, "o", fillstyle="none", markersize=9, label=f"{name} threshold")
    axes.set_xscale("log")
    axes.set_xlabel("false accepts per hour (0 drawn at 0.01)")
    axes.set_ylabel("false-reject rate")
    axes.set_ylim(0, 1)
    axes.grid(True, which="both", alpha=0.3)
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7)
    with fileio.atomic_file(path) as staging:
        figure.savefig(staging, dpi=100, bbox_inches="tight")
    plt.close(figure)
