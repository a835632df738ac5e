"""Python model of the DianNao control processor executing compiled programs.

It holds the core's state (NBin, SB, NBout, the PWL table) as NumPy arrays, applies a host
tile's writes, executes the CP program instruction by instruction with the arithmetic of
:mod:`accelgen.golden.arith` and returns the NBout words the host reads, **and** the exact cycle
counts the RTL's counters report (``docs/diannao.md``, "Latencies"):

* a program of ``N`` NFU steps takes ``cycles = FETCH_CYCLES + N + S + DRAIN_CYCLES`` from
  the ``start`` pulse to ``done``: one cycle to fetch the first instruction, one NFU step per
  cycle (instructions issue back to back, the next one is prefetched), then the pipeline
  drains (buffer read, the 13 NFU stages, NBout write);
* ``S`` is the read-after-write interlock: an output whose first step reads its NBout word
  (``nbout_read``) waits while an earlier output of the same program still has a write of that
  word in flight, i.e. until ``DRAIN_CYCLES + 1`` cycles after that output's last step issued.
  The compiler's programs never revisit an NBout word, so for them ``S = 0``;
* ``busy`` (NFU steps issued) is ``N``; ``stall`` (cycles without an issue) is the rest.

Weight-update instructions (``upd``, cores built with ``weight_update``) count like any other:
one step (one SB row of ``Tn`` weights) per cycle, in the same program formula; they write no
NBout word, so they neither wait for nor cause an interlock stall. Their arithmetic is
:func:`accelgen.golden.update.rounded_update` with the model's LFSR (:attr:`DianNaoCPModel.lfsr`),
one step per updated weight in the instruction's row-major order, carried across instructions
and programs. A ``drelu`` instruction (ReLU derivative) reads its outputs' NBout words as a
mask: the accumulator starts from 0 and an output lane is 0 where the mask lane is ``<= 0``.

The model reproduces the hardware's group order: every step adds, per output lane, the exact
sum of ``Tn`` rounded products (or, for pooling, one value per lane) into the accumulator with
one saturating add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spec.diannao import DianNaoConfig, HostTile, Instruction, NFU1Op, NFU2Op, NFU2Out, NFU3Op
from .arith import multiply, round_shift, sat, sat_add
from .pwl import PWLTable, evaluate
from .update import LFSR, LFSRConfig, rounded_update

__all__ = [
    "DRAIN_CYCLES",
    "FETCH_CYCLES",
    "DianNaoCPModel",
    "ProgramStats",
    "program_cycles",
]

FETCH_CYCLES = 1
DRAIN_CYCLES = 15  # buffer read + NFU latency 14 (hdl.diannao.top.PIPELINE_DRAIN, measured)


@dataclass(frozen=True)
class ProgramStats:
    """Counters of one program run: total cycles, NFU busy (issue) cycles, stall cycles."""

    cycles: int
    busy: int

    @property
    def stall(self) -> int:
        return self.cycles - self.busy


def program_cycles(program: list[Instruction]) -> ProgramStats:
    """Exact cycle counts of ``program`` (up to its ``end``) on the RTL.

    They depend on the loop sizes and on the NBout addresses (interlock stalls), not on data.
    """
    t = 0  # issue cycle of the next step, counted from the first issue
    steps = 0
    last_issue: dict[int, int] = {}  # NBout word -> issue cycle of the last step writing it
    for ins in program:
        red = ins.reduction
        for k in range(ins.outputs):
            addr = ins.nbout_addr + k
            if ins.nbout_read and addr in last_issue:
                t = max(t, last_issue[addr] + DRAIN_CYCLES + 1)
            t += red
            if not ins.upd:
                last_issue[addr] = t - 1
        steps += ins.steps
        if ins.end:
            break
    return ProgramStats(FETCH_CYCLES + t + DRAIN_CYCLES, steps)


def _check_update_hazards(program: list[Instruction]) -> None:
    """``ValueError`` when an update instruction's operands meet an earlier write of the same
    program, or a later instruction reads SB words an update wrote: update operands have no
    interlock (``docs/diannao.md``, "Training"), so such a program would not run as written."""
    nbout_written: set[int] = set()
    sb_updated: set[int] = set()
    for k, ins in enumerate(program):
        if ins.upd:
            if ins.nbout_addr in nbout_written:
                raise ValueError(
                    f"instruction {k} (upd) reads NBout word {ins.nbout_addr}, written earlier "
                    "in the same program (update operands have no interlock)"
                )
            hit = sb_updated.intersection(range(ins.sb_addr, ins.sb_addr + ins.n_r0))
            if hit:
                raise ValueError(
                    f"instruction {k} (upd) updates SB word {min(hit)} again in the same "
                    "program (update write-backs have no interlock)"
                )
            sb_updated.update(range(ins.sb_addr, ins.sb_addr + ins.n_r0))
        else:
            if ins.nfu1_op == NFU1Op.MUL:
                n = ins.reduction if ins.sb_reuse else ins.steps
                hit = sb_updated.intersection(range(ins.sb_addr, ins.sb_addr + n))
                if hit:
                    raise ValueError(
                        f"instruction {k} reads SB word {min(hit)}, updated earlier in the same "
                        "program (update write-backs have no interlock)"
                    )
            nbout_written.update(range(ins.nbout_addr, ins.nbout_addr + ins.outputs))
        if ins.end:
            break


class DianNaoCPModel:
    """Functional + cycle model of one DianNao core (state persists across tiles)."""

    def __init__(self, config: DianNaoConfig) -> None:
        self.config = config
        t = config.tn
        self.nbin = np.zeros((config.nbin_depth, t), dtype=np.int64)
        self.sb = np.zeros((config.sb_depth, t, t), dtype=np.int64)
        self.nbout = np.zeros((config.nbout_depth, t), dtype=np.int64)
        self.pwl_regs = np.zeros(2 * config.pwl_segments + 2, dtype=np.int64)
        self.lfsr: LFSR | None = None
        if config.weight_update:
            self.lfsr = LFSR(
                LFSRConfig(width=config.lfsr_width, taps=config.lfsr_taps, seed=config.lfsr_seed)
            )

    # ------------------------------------------------------------------ host side
    def load(self, tile: HostTile) -> None:
        """Apply the host writes of ``tile`` (buffers and the PWL table)."""
        t = self.config.tn
        self.nbin[tile.nbin_addr] = tile.nbin_data
        if tile.sb_addr.size:
            self.sb[tile.sb_addr // t, tile.sb_addr % t] = tile.sb_data
        self.nbout[tile.nbout_addr] = tile.nbout_data
        for addr, value in tile.pwl:
            self.pwl_regs[addr] = value

    def run_tile(self, tile: HostTile) -> tuple[np.ndarray, ProgramStats]:
        """Load, run and drain one tile: returns the NBout words read ``[n, Tn]`` and counters."""
        self.load(tile)
        stats = self.run(tile.program)
        return self.nbout[tile.read_addr].copy(), stats

    def pwl(self) -> PWLTable:
        """The PWL table currently loaded."""
        s = self.config.pwl_segments
        r = self.pwl_regs
        return PWLTable(
            x_min=int(r[2 * s]),
            seg_shift=int(r[2 * s + 1]),
            slopes=tuple(int(v) for v in r[:s]),
            intercepts=tuple(int(v) for v in r[s : 2 * s]),
            act_bits=self.config.act_bits,
            act_frac=self.config.act_frac,
        )

    # ------------------------------------------------------------------ CP
    def run(self, program: list[Instruction]) -> ProgramStats:
        """Execute ``program`` (up to its ``end`` instruction) and return its counters."""
        executed = []
        _check_update_hazards(program)
        for instr in program:
            self._execute(instr)
            executed.append(instr)
            if instr.end:
                break
        else:
            raise ValueError("program has no end instruction")
        return program_cycles(executed)

    def _execute(self, ins: Instruction) -> None:
        if ins.upd:
            self._update(ins)
            return
        num = self.config.numerics
        o1, o0 = np.meshgrid(np.arange(ins.n_o1), np.arange(ins.n_o0), indexing="ij")
        out_base = (ins.nbin_addr + o1 * ins.s_o1 + o0 * ins.s_o0).reshape(-1)  # [n_out]
        r2, r1, r0 = np.meshgrid(
            np.arange(ins.n_r2), np.arange(ins.n_r1), np.arange(ins.n_r0), indexing="ij"
        )
        red = (r2 * ins.s_r2 + r1 * ins.s_r1 + r0 * ins.s_r0).reshape(-1)  # [n_red]
        x = self.nbin[out_base[:, None] + red[None, :]]  # [n_out, n_red, T]
        n_out, n_red = x.shape[0], x.shape[1]
        out_addr = ins.nbout_addr + np.arange(n_out)
        if ins.nfu1_op == NFU1Op.MUL:
            if ins.sb_reuse:
                w = self.sb[ins.sb_addr + np.arange(n_red)][None]  # [1, n_red, T, T]
            else:
                w = self.sb[ins.sb_addr + np.arange(n_out * n_red)].reshape(
                    n_out, n_red, *self.sb.shape[1:]
                )
            p = multiply(x[:, :, None, :], w, w_frac=num.w_frac, act_bits=num.act_bits)
            values = p.sum(axis=-1)  # exact adder trees: [n_out, n_red, T]
        else:
            values = x
        if ins.nfu2_op == NFU2Op.MAX:
            acc = values.max(axis=1)
        else:
            read = ins.nbout_read and not ins.drelu  # drelu: NBout holds the mask
            acc = self.nbout[out_addr] if read else np.zeros_like(values[:, 0])
            for j in range(n_red):
                acc = sat_add(acc, values[:, j], acc_bits=num.acc_bits)
        if ins.nfu2_out == NFU2Out.PARTIAL:
            self.nbout[out_addr] = acc
            return
        if ins.nfu3_op == NFU3Op.AVG:
            y = sat(num.act_bits, round_shift(acc * ins.avg_recip, 16))
        else:
            y = sat(num.act_bits, acc)
            if ins.nfu3_op == NFU3Op.RELU:
                y = np.maximum(y, 0)
            elif ins.nfu3_op == NFU3Op.PWL:
                y = evaluate(self.pwl(), y)
        if ins.drelu:  # the ReLU derivative: 0 where the mask (the NBout word read) is <= 0
            y = np.where(self.nbout[out_addr] > 0, y, 0)
        self.nbout[out_addr] = y

    def _update(self, ins: Instruction) -> None:
        """An update instruction (``spec/diannao.py``): SB rows ``w += alpha * g * a``, one LFSR
        step per weight (stochastic), rows outer, input words inner, lanes in order."""
        c = self.config
        assert self.lfsr is not None
        rounding = "stochastic" if ins.stochastic else "nearest"
        for row in range(ins.n_o0):
            g = int(sat(c.act_bits, self.nbout[ins.nbout_addr, row]))
            for r0 in range(ins.n_r0):
                n = ins.upd_lanes if r0 == ins.n_r0 - 1 else c.tn
                a = self.nbin[ins.nbin_addr + r0 * ins.s_r0, :n]
                w = self.sb[ins.sb_addr + r0, row, :n]
                p = int(ins.alpha) * g * a
                upd = rounded_update(p, c.update_shift, rounding=rounding, lfsr=self.lfsr)
                self.sb[ins.sb_addr + r0, row, :n] = sat(c.w_bits, w + upd)
