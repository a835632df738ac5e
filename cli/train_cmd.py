"""``accelgen train --core diannao --steps N [--rounding nearest|stochastic] -o DIR``: SGD steps of
the digits MLP on the generated RTL (:mod:`accelgen.sim.train`), the weights checked bit for bit
against the golden fixed-point SGD (:mod:`accelgen.golden.sgd`) after every step.

The MLP ``64-H-10`` (bias-free, ReLU) starts from He-initialised weights, optionally trained
first for ``--pretrain-epochs`` epochs by the golden model (host), then takes ``N`` steps on
``N`` training samples on the RTL; the core is built with ``weight_update`` (the updates run
inside it, the weights are read back from SB after every step). ``DIR/report.json`` holds the
settings, per-step cycles (forward, backward, update) and checks and the test accuracy
before / after the RTL steps (golden forward pass of the weights, which equal the RTL's);
``DIR/weights.npz`` the final weights ``w0, w1``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import cores, outputs

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--core", required=True, choices=cores.names(), help="the core")
    parser.add_argument("--steps", type=int, required=True, help="SGD steps on the RTL (>= 1)")
    parser.add_argument(
        "--rounding",
        choices=("nearest", "stochastic"),
        default="stochastic",
        help="rounding of the weight update (default stochastic)",
    )
    parser.add_argument("-o", "--output", type=outputs.output_path, required=True, help="DIR")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units H (default 32)")
    parser.add_argument(
        "--alpha", type=int, default=256, help="learning rate alpha / 2^alpha-frac (default 256)"
    )
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=3,
        help="golden (host) SGD epochs before the RTL steps (default 3)",
    )
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed")
    parser.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    cores.get("diannao").add_config_arguments(parser)


def _accuracy(ws, x, y, cfg) -> float:
    from .golden import sgd

    return round(100.0 - sgd.fixed_error(ws, x, y, cfg), 2)


def run(args: argparse.Namespace) -> int:
    from .golden import sgd, train
    from .golden.arith import quantize
    from .golden.netspec import FCLayer
    from .golden.update import LFSR
    from .host.diannao import compile_backward, compile_update

    if args.core != "diannao":
        raise ValueError(f"--core {args.core}: training runs on the DianNao core only")
    if args.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {args.steps}")
    if args.hidden < 1:
        raise ValueError(f"--hidden must be >= 1, got {args.hidden}")
    if args.pretrain_epochs < 0:
        raise ValueError(f"--pretrain-epochs must be >= 0, got {args.pretrain_epochs}")
    out = outputs.check_output_dir(args.output)
    core = cores.get("diannao")
    # the in-core update unit is always built for training (--g-frac, --alpha-frac and the
    # --lfsr-* flags are the config's fields)
    config = core.config_from_args(args).replace(weight_update=True)
    cfg = sgd.SGDConfig(
        act_bits=config.act_bits,
        act_frac=config.act_frac,
        w_bits=config.w_bits,
        w_frac=config.w_frac,
        acc_bits=config.acc_bits,
        g_frac=config.g_frac,
        alpha=args.alpha,
        alpha_frac=config.alpha_frac,
        rounding=args.rounding,
        group=config.tn,
        lfsr_width=config.lfsr_width,
        lfsr_taps=config.lfsr_taps,
        lfsr_seed=config.lfsr_seed,
    )
    from .sim import train as rtl

    data = train.digits_split(seed=0)
    xtr = quantize(data.x_train, cfg.act_frac, cfg.act_bits)
    xte = quantize(data.x_test, cfg.act_frac, cfg.act_bits)
    sizes = (xtr.shape[1], args.hidden, 10)
    _, ws = sgd.init_weights(sizes, cfg, seed=args.seed)
    fwd = [FCLayer(w) for w in ws]
    core.check(fwd, xtr[:1], config)  # every layer fits, before any simulator starts
    core.check([FCLayer(np.ascontiguousarray(ws[1].T))], np.zeros((1, 10), int), config)
    rtl.check_training(cfg, config)
    # the backward product with the ReLU derivative and the updates fit the core
    compile_backward(ws[1], np.zeros((1, 10), int), np.zeros((1, args.hidden), int), config)
    compile_update(
        [(w, np.zeros(w.shape[1], int), np.zeros(w.shape[0], int)) for w in ws[::-1]],
        config,
        alpha=args.alpha,
        stochastic=args.rounding == "stochastic",
    )
    if args.steps > len(xtr):
        raise ValueError(f"--steps must be <= {len(xtr)} (training samples), got {args.steps}")
    orders = sgd.epoch_orders(len(xtr), args.pretrain_epochs + 1, args.seed)
    golden_lfsr = LFSR(cfg.lfsr)
    if args.pretrain_epochs:
        # the host trains with its own LFSR; the RTL steps then start from the seed again
        ws = sgd.train_fixed(ws, xtr, data.y_train, cfg, orders[:-1])
    before = _accuracy(ws, xte, data.y_test, cfg)
    state = cfg.lfsr_seed
    steps = []
    for k, i in enumerate(orders[-1][: args.steps]):
        res = rtl.train_step(
            ws,
            xtr[i],
            int(data.y_train[i]),
            cfg,
            config,
            lfsr_state=state,
            simulator=args.simulator,
        )
        want, _ = sgd.sgd_step(ws, xtr[i], int(data.y_train[i]), cfg, golden_lfsr)
        exact = all(np.array_equal(a, b) for a, b in zip(res.weights, want, strict=True))
        exact = exact and res.lfsr_state == golden_lfsr.state
        changed = int(sum(np.count_nonzero(a != b) for a, b in zip(res.weights, ws, strict=True)))
        steps.append(
            {
                "step": k + 1,
                "sample": int(i),
                "bit_exact": exact,
                "weights_changed": changed,
                "forward_cycles": res.forward_cycles,
                "backward_cycles": res.backward_cycles,
                "update_cycles": res.update_cycles,
                "cycles": res.cycles,
            }
        )
        print(
            f"step {k + 1}: {'bit-exact' if exact else 'MISMATCH'} vs golden, "
            f"{changed} weights changed, {res.cycles} cycles",
            file=sys.stderr,
        )
        if not exact:
            break
        ws, state = res.weights, res.lfsr_state
    after = _accuracy(ws, xte, data.y_test, cfg)
    ok = all(s["bit_exact"] for s in steps)
    report = {
        "core": "diannao",
        "network": f"64-{args.hidden}-10 (no biases, ReLU)",
        "sgd": cfg.to_json(),
        "diannao": config.to_json(),
        "simulator": args.simulator,
        "pretrain_epochs": args.pretrain_epochs,
        "steps": steps,
        "bit_exact": ok,
        "test_accuracy_before_pct": before,
        "test_accuracy_after_pct": after,
        "cycles_per_step_mean": round(float(np.mean([s["cycles"] for s in steps])), 1),
        "cycles_per_step_mean_by_part": {
            part: round(float(np.mean([s[f"{part}_cycles"] for s in steps])), 1)
            for part in ("forward", "backward", "update")
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    outputs.save_npz(out / "weights.npz", **{f"w{i}": w for i, w in enumerate(ws)})
    outputs.write_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    parts = report["cycles_per_step_mean_by_part"]
    print(
        f"wrote {out}: {len(steps)} steps {'bit-exact' if ok else 'NOT bit-exact'}, test "
        f"accuracy {before} % -> {after} %, {report['cycles_per_step_mean']} cycles per step "
        f"(forward {parts['forward']}, backward {parts['backward']}, update {parts['update']})"
    )
    if not ok:
        print("accelgen: error: the RTL's weights differ from the golden model's", file=sys.stderr)
        return 1
    return 0
