"""The PNG plots of the ``accelgen demo`` report (matplotlib, Agg backend): cycles per layer,
accuracy, energy per inference, and the first digits with the cores' predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["PLOTS", "write_plots"]

PLOTS = ("cycles.png", "accuracy.png", "energy.png", "digits.png")


def write_plots(report: dict, out: Path, images: np.ndarray, labels: np.ndarray) -> list[Path]:
    """Draw :data:`PLOTS` from ``report`` into ``out`` (``images`` / ``labels``: the images run,
    for the digits plot); return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nets = list(report["networks"].values())
    paths = [out / p for p in PLOTS]

    fig, axes = plt.subplots(1, len(nets), figsize=(5 * len(nets), 3.6))
    for ax, n in zip(np.atleast_1d(axes), nets, strict=True):
        ax.bar(range(len(n["layers"])), n["cycles"]["per_layer_mean"], color="tab:blue")
        ax.set_xticks(range(len(n["layers"])), n["layers"], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("cycles per inference")
        ax.set_title(n["title"])
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    keys = [("float", "float"), ("fixed", "fixed golden"), ("compressed", "compressed golden"),
            ("golden_on_images", "golden (images run)"), ("rtl", "RTL (images run)")]  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(keys)
    for k, (key, label) in enumerate(keys):
        vals = [n["accuracy"].get(key) for n in nets]
        xs = [i + k * width for i, v in enumerate(vals) if v is not None]
        ax.bar(xs, [100 * v for v in vals if v is not None], width, label=label)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(nets))], [n["title"] for n in nets])
    ax.set_ylim(80, 100)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for i, n in enumerate(nets):
        cat = n["energy"]["by_category_pj"]
        bottom = 0.0
        for name, color in (("compute", "tab:green"), ("sram", "tab:blue"), ("dram", "tab:red")):
            ax.bar(i - 0.2, cat[name] / 1000, 0.4, bottom=bottom, color=color,
                   label=name if i == 0 else None)  # fmt: skip
            bottom += cat[name] / 1000
        ax.bar(i + 0.2, n["energy"]["dense_dram_baseline_pj"] / 1000, 0.4, color="tab:gray",
               label="dense weights from DRAM" if i == 0 else None)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(range(len(nets)), [n["title"] for n in nets])
    ax.set_ylabel("nJ per inference (log)")
    ax.set_title("Energy estimate, Horowitz ISSCC 2014, 45 nm", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(paths[2], dpi=100)
    plt.close(fig)

    k = min(12, len(labels))
    fig, axes = plt.subplots(2, 6, figsize=(9, 3.6))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= k:
            continue
        ax.imshow(np.asarray(images[i]).reshape(8, 8), cmap="gray_r")
        preds = " ".join(str(n["predictions"][i]) for n in nets)
        ok = all(n["predictions"][i] == labels[i] for n in nets)
        ax.set_title(f"{labels[i]}: {preds}", fontsize=9, color="black" if ok else "red")
    fig.suptitle("label: EIE, DianNao predictions (RTL)", fontsize=9)
    fig.tight_layout()
    fig.savefig(paths[3], dpi=100)
    plt.close(fig)
    return paths
