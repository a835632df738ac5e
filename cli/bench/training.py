"""``accelgen bench`` section ``training``: reduced-precision training (Gupta et al., ICML 2015)
reproduced with the golden fixed-point SGD (:mod:`accelgen.golden.sgd`).

The digits MLP 64-100-10 (bias-free, ReLU) trained by per-sample SGD from the same He
initialisation, the same sample order and the same learning rate in float64 and in 16-bit fixed
point (activations 16 bits with 8 fractional, errors 16 with 12, weights 16 bits with FL 12 or
14 fractional) with round-to-nearest and stochastic rounding of the weight update.

Tables:

* ``curves``: train and test error (%) after every epoch, per run;
* ``final``: each run's final and best errors and the test-error gap to float;
* ``small_rate``: final errors of float and FL 14 at the smaller rate 2^-15;
* ``lost_updates``: the fraction of the first epoch's exact updates smaller than half a weight
  LSB (what round-to-nearest loses), per FL.

Plot: ``training_curves.png`` (train dashed, test solid; one panel per FL).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .context import BenchContext, Section

__all__ = ["ALPHA", "ALPHA_FRAC", "EPOCHS", "FLS", "STALL_ALPHA", "STALL_FL", "section_training"]

TITLE = "Reduced-precision training: nearest vs stochastic rounding (Gupta et al., ICML 2015)"

#: Learning rate ``ALPHA / 2^ALPHA_FRAC`` = 2^-13 (per sample).
ALPHA, ALPHA_FRAC = 8, 16
#: Weight fractional lengths of the fixed-point runs.
FLS = (12, 14)
#: The second, smaller rate ``STALL_ALPHA / 2^ALPHA_FRAC`` = 2^-15, run at FL ``STALL_FL`` only.
STALL_ALPHA, STALL_FL = 2, 14
#: Epochs (full run, --quick).
EPOCHS, QUICK_EPOCHS = 40, 2
#: Training samples of a --quick run (all 1438 otherwise).
QUICK_SAMPLES = 400
HIDDEN = 100
#: Seeds of the He initialisation and of the epochs' sample orders (fixed: the claim is about
#: the rounding, not the synthetic layers that ``--seed`` picks).
INIT_SEED, ORDER_SEED = 0, 1


def _run(name, fl, rounding, errors_of, train, epochs) -> list[dict[str, Any]]:
    rows = []

    def on_epoch(e, ws):
        tr, te = errors_of(ws)
        rows.append(
            {
                "run": name,
                "fl": fl,
                "rounding": rounding,
                "epoch": e + 1,
                "train_error_pct": round(tr, 2),
                "test_error_pct": round(te, 2),
            }
        )

    train(on_epoch)
    return rows


def _lost_fraction(cfg, ws, x, y, n: int = 200) -> float:
    """Fraction of the exact weight updates of ``n`` SGD steps (from ``ws``) whose magnitude is
    below half a weight LSB (round-to-nearest drops them)."""
    from ..golden import sgd

    lost = total = 0
    for i in range(min(n, len(x))):
        acts = sgd.forward(ws, x[i], cfg)
        g = sgd.output_error(acts[-1], int(y[i]), cfg)
        for k in range(len(ws) - 1, -1, -1):
            p = cfg.alpha * np.outer(g, acts[k])
            nz = p != 0
            lost += int(np.count_nonzero(nz & (2 * np.abs(p) < (1 << cfg.shift))))
            total += int(np.count_nonzero(nz))
            if k:
                g = sgd.backward(ws[k], g, acts[k], cfg)
    return lost / max(total, 1)


def section_training(ctx: BenchContext) -> Section:
    """Issue 17's section (the module docstring lists its tables)."""
    from ..golden import sgd, train
    from ..golden.arith import quantize

    sec = Section("training", TITLE)
    epochs = QUICK_EPOCHS if ctx.quick else EPOCHS
    d = train.digits_split(seed=0)
    if ctx.quick:
        d = train.DigitsSplit(
            d.x_train[:QUICK_SAMPLES], d.y_train[:QUICK_SAMPLES], d.x_test, d.y_test
        )
    base = sgd.SGDConfig(alpha=ALPHA, alpha_frac=ALPHA_FRAC)
    xtr = quantize(d.x_train, base.act_frac, base.act_bits)
    xte = quantize(d.x_test, base.act_frac, base.act_bits)
    sizes = (d.x_train.shape[1], HIDDEN, 10)
    orders = sgd.epoch_orders(len(d.y_train), epochs, ORDER_SEED)
    curves: list[dict[str, Any]] = []
    lost: list[dict[str, Any]] = []
    small: list[dict[str, Any]] = []
    with train.single_thread_blas():
        curves += _run_set(d, xtr, xte, sizes, orders, base, FLS, epochs, lost=lost)
        sec.tables["curves"] = curves
        ctx.checkpoint(sec)
        slow = dataclasses.replace(base, alpha=STALL_ALPHA)
        small = _run_set(d, xtr, xte, sizes, orders, slow, (STALL_FL,), epochs, suffix=" lr 2^-15")
    sec.tables["final"] = _final_rows(curves)
    sec.tables["lost_updates"] = lost
    sec.tables["small_rate"] = _final_rows(small, float_run="float lr 2^-15")
    sec.notes += [
        "Seed claim (Dally, NIPS 2015 tutorial, after Gupta et al., ICML 2015): 16-bit "
        "fixed-point training works with stochastic rounding but stalls with round-to-nearest "
        "when the updates are smaller than half an LSB. Here: digits (scikit-learn, "
        f"{len(d.y_train)} train / {len(d.y_test)} test images), MLP 64-100-10 without "
        "biases, per-sample SGD, learning rate 2^-13, "
        f"{epochs} epochs, the same He initialisation (quantized for the fixed-point runs) and "
        "sample order for every run; fixed point per docs/numerics.md 'Training' "
        "(golden/sgd.py): activations <16, 8>, errors <16, 12>, weights <16, FL>, 24-bit "
        "accumulator, groups of 16, one 32-bit LFSR (taps 0x80200003, seed 1).",
        "'lost_updates': share of the non-zero exact updates of the first 200 steps (from the "
        "initial weights) below half a weight LSB, i.e. rounded to 0 by round-to-nearest.",
        "'small_rate': float and FL 14 at learning rate 2^-15 (the same runs otherwise). Whether "
        "an update survives round-to-nearest depends on its size in weight LSBs, i.e. on the "
        "rate times 2^FL: FL 14 at 2^-15 has FL 12's ratio at 2^-13, so it shows the stall at "
        "FL 14 that FL 12 shows at the main rate.",
    ]
    _plot(ctx, sec, curves)
    return sec


def _run_set(
    d, xtr, xte, sizes, orders, base, fls, epochs, *, suffix: str = "", lost=None
) -> list[dict[str, Any]]:
    """Float, then nearest and stochastic per FL, from the same initialisation and order."""
    from ..golden import sgd

    wf, _ = sgd.init_weights(sizes, base, seed=INIT_SEED)
    curves = _run(
        f"float{suffix}",
        "-",
        "float",
        lambda ws: (
            sgd.float_error(ws, d.x_train, d.y_train),
            sgd.float_error(ws, d.x_test, d.y_test),
        ),
        lambda cb: sgd.train_float(wf, d.x_train, d.y_train, base.lr, orders, on_epoch=cb),
        epochs,
    )
    for fl in fls:
        for rounding in ("nearest", "stochastic"):
            cfg = dataclasses.replace(base, w_frac=fl, rounding=rounding)
            _, wq = sgd.init_weights(sizes, cfg, seed=INIT_SEED)
            if rounding == "nearest" and lost is not None:
                lost.append(
                    {
                        "fl": fl,
                        "shift": cfg.shift,
                        "updates_below_half_lsb_pct": round(
                            100 * _lost_fraction(cfg, wq, xtr, d.y_train), 1
                        ),
                    }
                )
            curves += _run(
                f"FL {fl} {rounding}{suffix}",
                fl,
                rounding,
                lambda ws, cfg=cfg: (
                    sgd.fixed_error(ws, xtr, d.y_train, cfg),
                    sgd.fixed_error(ws, xte, d.y_test, cfg),
                ),
                lambda cb, cfg=cfg, wq=wq: sgd.train_fixed(
                    wq, xtr, d.y_train, cfg, orders, on_epoch=cb
                ),
                epochs,
            )
    return curves


def _final_rows(curves, float_run: str = "float") -> list[dict[str, Any]]:
    runs: dict[str, list[dict]] = {}
    for r in curves:
        runs.setdefault(r["run"], []).append(r)
    float_test = runs[float_run][-1]["test_error_pct"]
    rows = []
    for name, rs in runs.items():
        last = rs[-1]
        rows.append(
            {
                "run": name,
                "epochs": last["epoch"],
                "final_train_error_pct": last["train_error_pct"],
                "final_test_error_pct": last["test_error_pct"],
                "best_test_error_pct": min(r["test_error_pct"] for r in rs),
                "test_gap_to_float_pts": round(last["test_error_pct"] - float_test, 2),
            }
        )
    return rows


def _plot(ctx: BenchContext, sec: Section, curves) -> None:
    from .plots import _pyplot, _save

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(FLS), figsize=(10, 3.8), sharey=True)
    colors = {"float": "k", "nearest": "tab:red", "stochastic": "tab:blue"}
    for ax, fl in zip(axes, FLS, strict=True):
        for run in ("float", f"FL {fl} nearest", f"FL {fl} stochastic"):
            rs = [r for r in curves if r["run"] == run]
            if not rs:
                continue
            e = [r["epoch"] for r in rs]
            c = colors[rs[0]["rounding"]]
            label = run if run == "float" else rs[0]["rounding"]
            ax.plot(e, [r["test_error_pct"] for r in rs], color=c, label=f"{label} test")
            ax.plot(e, [r["train_error_pct"] for r in rs], color=c, ls="--", label=f"{label} train")
        ax.set_title(f"weights <16, {fl}>, lr 2^-13")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("error (%)")
    axes[-1].legend(fontsize=7)
    _save(ctx, sec, fig, "training_curves.png")
