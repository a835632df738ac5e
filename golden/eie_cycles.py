"""Cycle model of the EIE core (``accelgen.hdl.eie``): predicts its counters exactly.

The model steps the same registers as the RTL, one clock cycle at a time, without any
arithmetic (the values come from the golden model; only which activations are non-zero and
where the matrix entries are matter):

* CCU: window read -> fetch stage -> current window + leading-non-zero pick -> broadcast
  register, which advances only when every activation queue has room;
* per PE: activation queue (``fifo_depth``), pointer-read register, entry walker (one entry per
  cycle, the next column's span taken while the last entry is issued), line read, slot
  select (from the line register), decode,
  multiply, round and accumulate stages (an entry with ``v == 0`` leaves the stages after
  decode empty; an entry in the accumulate stage is written at the end of its cycle, so the
  run can end in that cycle);
* the bias loader: it writes the next layer's biases (``ceil(rows / N)`` registers) into the
  source registers the CCU has read (address ``a`` once ``a < next_w`` or every window is
  read), one per cycle, each read two cycles before its write;
* a layer's run ends in the cycle after the first cycle in which the CCU is done, every PE
  is idle and the loader has read its last bias (that condition is registered; the last
  bias is written in the cycle it holds).

Between two layers ``EIETop`` spends one cycle (``SWITCH_CYCLES``); the first run after the
network was loaded starts with a bias pass of layer 0 (``ceil(rows / N) +
BOUNDARY_EXTRA_CYCLES`` cycles), the later ones find layer 0's biases loaded by the previous
run (see ``docs/eie.md``). The results have the shapes of :class:`accelgen.sim.eie.EIEResult`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..spec.eie import ENTRIES_PER_LINE, SPAN_BUFFER_DEPTH, EIEConfig
from .arith import Numerics
from .eie_format import EIEEncoding, encode
from .netspec import EIELayer, run_eie

__all__ = [
    "BOUNDARY_EXTRA_CYCLES",
    "SWITCH_CYCLES",
    "EIECycles",
    "layer_run",
    "predict",
    "predict_for",
]

#: The bias pass over ``R`` register addresses (before the first run after the network was
#: loaded) takes ``R + BOUNDARY_EXTRA_CYCLES`` cycles: one address read per cycle, its
#: (registered) data written two cycles later.
BOUNDARY_EXTRA_CYCLES = 2
#: Cycles between two layers' runs (the next layer's registered selections settle).
SWITCH_CYCLES = 1


@dataclass(frozen=True)
class EIECycles:
    """Predicted counters: ``cycles`` [batch], ``layer_cycles`` [batch, L],
    ``pe_busy``/``pe_starved`` [batch, L, N], and ``run_cycles`` [batch, L] (run phase only)."""

    cycles: np.ndarray
    layer_cycles: np.ndarray
    pe_busy: np.ndarray
    pe_starved: np.ndarray
    run_cycles: np.ndarray


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def layer_run(
    enc: EIEEncoding,
    nonzero: np.ndarray,
    *,
    fifo_depth: int,
    skip_empty: bool = False,
    issue_width: int = 1,
    filter_empty: bool = False,
    merge_padding: bool = False,
    load_rows: int = 0,
    decouple: int = 0,
    profile: dict | None = None,
) -> tuple[int, np.ndarray, np.ndarray]:
    """Cycles of one layer's run phase for the input non-zero pattern ``nonzero[cols]``.

    ``skip_empty`` models ``EIEConfig.skip_empty`` (option (a)): the pointer-read register
    drops a column without entries in the cycle its pointers are read and passes the others
    into a ``SPAN_BUFFER_DEPTH``-deep span buffer, from which the walker takes its spans.
    Returns ``(cycles, busy[N], starved[N])`` exactly as the RTL counts them.

    ``load_rows`` is the number of bias registers per PE the loader writes during the run
    (``ceil(rows / N)`` of the next layer, or of layer 0 after the last layer; 0: none).

    ``profile`` (a dict, filled in) receives where each PE's cycles go, ``[N]`` arrays that
    add up to ``cycles``: ``entry`` (issuing an entry with a weight), ``padding`` (issuing a
    padding entry), ``bubble`` (not issuing with columns queued: empty columns, pointer read
    and span hand-over), ``starved`` (not issuing, queue empty); and ``line_reads[N]``
    (64-bit line reads: one per line per column visit) and ``ccu_stalls`` (cycles the
    broadcast register waits for a full queue).

    ``filter_empty`` models ``EIEConfig.filter_empty``: a PE queues only the broadcast columns
    with entries for it (a per-column bit read with the broadcast), so the broadcast waits only
    for the full queues of PEs that keep the column.

    ``decouple`` S models ``EIEConfig.decouple_depth`` (0: off): the broadcast goes into a
    shared buffer of S columns instead of the queues; each PE has a read pointer into it and
    moves one column per cycle into its queue (with ``filter_empty`` only the columns it
    keeps, dropping the others) if the queue was not full at the start of the cycle, and the
    broadcast waits only while the slowest PE is S columns behind.

    Design-study parameters (**not options of the RTL**; the defaults are the RTL):

    * ``issue_width`` K: the CCU loads the K lowest non-zeros of its window into the
      broadcast register per cycle; a broadcast is pushed when every queue has room for the
      columns it keeps (K <= ``fifo_depth``).

    ``merge_padding`` models ``EIEConfig.merge_padding``: the walker issues a padding entry
    together with the entry after it (one cycle for both; the encoder never ends a column
    with padding) when it knows the entry is a padding entry, from the padding mask of the
    line it holds: the line is the entry's line, its mask was registered in the cycle after
    its read (no line read in the previous cycle), and the entry is not in the line's last
    slot (the next entry is in the same line).
    """
    n, cols = enc.n_pes, enc.cols
    nz = np.zeros(_ceil(cols, n) * n, dtype=bool)
    nz[:cols] = np.asarray(nonzero, dtype=bool)[:cols]
    windows = len(nz) // n
    win_masks = [int(sum(1 << k for k in range(n) if nz[w * n + k])) for w in range(windows)]
    ptr = enc.ptr
    vz = [enc.v[k] for k in range(n)]
    width = int(issue_width)
    if not 1 <= width <= fifo_depth:
        raise ValueError(
            f"issue_width must be in 1..fifo_depth ({fifo_depth}), got {issue_width!r}"
        )
    nonempty = np.diff(ptr, axis=1) != 0  # [N, cols]: the filter's bitmap
    cat = {k: np.zeros(n, dtype=np.int64) for k in ("entry", "padding", "bubble", "starved")}
    line_reads = np.zeros(n, dtype=np.int64)
    held = [-1] * n
    ccu_stalls = 0

    next_w, f_valid, f_w, cur_mask, cur_w = 0, False, 0, 0, 0
    bc_valid, bc_cols = False, ()
    bc_need = [0] * n  # columns of the broadcast each PE keeps (queues)
    pes = range(n)
    queues = [deque() for _ in range(n)]
    pr_valid = [False] * n
    pr_lo = [0] * n
    pr_hi = [0] * n
    spans = [deque() for _ in range(n)]
    w_active = [False] * n
    w_e = [0] * n
    w_end = [0] * n
    r_valid = [False] * n
    r_v = [0] * n
    s_valid = [False] * n  # the line register: the entry is selected from it
    s_v = [0] * n
    e_valid = [False] * n
    e_v = [0] * n
    d_valid = [False] * n
    m_valid = [False] * n
    p_valid = [False] * n
    busy = np.zeros(n, dtype=np.int64)
    starved = np.zeros(n, dtype=np.int64)

    pm_ok = [False] * n  # the held line's padding mask is registered (merge_padding)
    merged = [0] * n  # the walker issues a padding entry with the next one this cycle

    shared: list = []  # decouple: the shared column buffer's columns, in order
    sh_ptr = [0] * n  # decouple: each PE's next column in it
    ld_a, ld_v1 = 0, False  # loader: next address, a read in flight (registered next cycle)

    cycle = 0
    while True:
        # ---- combinational
        # every queue has room for the broadcast's columns it keeps
        if decouple:  # the shared column buffer has room
            all_ready = len(shared) - min(sh_ptr) < decouple
        else:
            all_ready = all(len(queues[k]) + bc_need[k] <= fifo_depth for k in pes)
        fire = cur_mask != 0 and (not bc_valid or all_ready)
        picks, left = [], cur_mask
        while left and len(picks) < width:  # the lowest ``width`` non-zeros of the window
            picks.append((left & -left).bit_length() - 1)
            left &= left - 1
        rest = left if fire else cur_mask
        take_f = f_valid and rest == 0
        issue = (not f_valid or take_f) and next_w < windows
        ccu_done = next_w == windows and not f_valid and cur_mask == 0 and not bc_valid
        push = bc_valid and all_ready
        room = [len(queues[k]) < fifo_depth for k in pes]
        ld_issue = ld_a < load_rows and (ld_a < next_w or next_w == windows)
        ld_done = ld_a == load_rows and not ld_v1
        idle = True
        for k in range(n):
            q_valid = bool(queues[k])
            if w_active[k]:
                busy[k] += 1
                e0 = w_e[k]
                line = e0 // ENTRIES_PER_LINE
                merged[k] = int(
                    merge_padding
                    and vz[k][e0] == 0
                    and e0 % ENTRIES_PER_LINE != ENTRIES_PER_LINE - 1
                    and pm_ok[k]
                    and held[k] == line
                )
                e = e0 + merged[k]  # the entry that leaves the walker this cycle
                cat["entry" if vz[k][e] else "padding"][k] += 1
                read = line != held[k]  # (a merged pair is in the held line)
                line_reads[k] += read
                pm_ok[k] = not read and held[k] >= 0  # registered for the next cycle
                held[k] = line
            else:
                merged[k] = 0
                pm_ok[k] = held[k] >= 0
                if not q_valid:
                    starved[k] += 1
                    cat["starved"][k] += 1
                else:
                    cat["bubble"][k] += 1
            stages = (pr_valid[k], spans[k], w_active[k], r_valid[k])
            stages += (s_valid[k], e_valid[k], d_valid[k])
            if decouple and sh_ptr[k] < len(shared):
                idle = False
            # the accumulate stage (``p_valid``) writes at the end of this cycle: not waited for
            if q_valid or m_valid[k] or any(stages):
                idle = False
        if bc_valid and not all_ready:
            ccu_stalls += 1
        if ccu_done and idle and ld_done:
            # the run ends in the next cycle (the condition is registered), in which every PE
            # is idle with an empty queue: starved
            starved += 1
            cat["starved"] += 1
            if profile is not None:
                profile.update(cat, line_reads=line_reads, ccu_stalls=ccu_stalls)
            return cycle + 2, busy, starved
        # ---- registers, PEs
        for k in range(n):
            q = queues[k]
            sb = spans[k]
            adv = merged[k] + 1 if w_active[k] else 1
            last = w_active[k] and w_e[k] + adv == w_end[k]
            span_ready = not w_active[k] or last
            if skip_empty:
                pr_empty = pr_valid[k] and pr_lo[k] == pr_hi[k]
                sb_ready = len(sb) < SPAN_BUFFER_DEPTH
                freed = pr_empty or sb_ready  # the pointer register is emptied or passed on
                push_span = pr_valid[k] and not pr_empty and sb_ready
                take_span = bool(sb) and span_ready
                span = sb[0] if sb else (0, 0)
            else:
                freed = span_ready
                push_span = False
                take_span = pr_valid[k] and span_ready and pr_lo[k] != pr_hi[k]
                span = (pr_lo[k], pr_hi[k])
            load = bool(q) and (not pr_valid[k] or freed)
            p_valid[k] = m_valid[k]
            m_valid[k] = d_valid[k]
            d_valid[k] = e_valid[k] and e_v[k] != 0
            e_valid[k], e_v[k] = s_valid[k], s_v[k]
            s_valid[k], s_v[k] = r_valid[k], r_v[k]
            r_valid[k] = w_active[k]
            if w_active[k]:
                r_v[k] = int(vz[k][w_e[k] + adv - 1])
            if take_span:
                w_active[k], (w_e[k], w_end[k]) = True, span
                if skip_empty:
                    sb.popleft()
            elif w_active[k]:
                w_e[k] += adv
                if last:
                    w_active[k] = False
            if push_span:
                sb.append((pr_lo[k], pr_hi[k]))
            if load:
                j = q.popleft()
                pr_valid[k], pr_lo[k], pr_hi[k] = True, int(ptr[k, j]), int(ptr[k, j + 1])
            elif freed:
                pr_valid[k] = False
            if decouple:
                # the PE's scanner: one shared-buffer column per cycle, queued if it keeps it
                if sh_ptr[k] < len(shared):
                    j = shared[sh_ptr[k]]
                    if filter_empty and not nonempty[k, j]:
                        sh_ptr[k] += 1
                    elif room[k]:  # the queue was not full at the start of the cycle
                        q.append(j)
                        sh_ptr[k] += 1
            elif push:
                q.extend(j for j in bc_cols if not filter_empty or nonempty[k, j])
        if decouple and push:
            shared.extend(bc_cols)
        # ---- registers, loader and CCU
        ld_v1 = ld_issue
        ld_a += ld_issue
        if fire:
            bc_valid, bc_cols = True, tuple(cur_w * n + p for p in picks)
            if filter_empty:
                bc_need = [int(c) for c in nonempty[:, list(bc_cols)].sum(axis=1)]
            else:
                bc_need = [len(bc_cols)] * n
        elif all_ready:
            bc_valid = False
        if take_f:
            cur_mask, cur_w = win_masks[f_w], f_w
        else:
            cur_mask = rest
        if issue:
            f_valid, f_w, next_w = True, next_w, next_w + 1
        elif take_f:
            f_valid = False
        cycle += 1


def predict(
    layers: Sequence[EIELayer],
    x,
    *,
    n_pes: int,
    fifo_depth: int,
    num: Numerics | None = None,
    skip_empty: bool = False,
    filter_empty: bool = False,
    merge_padding: bool = False,
    decouple: int = 0,
    preloaded: bool = False,
    reload_every: int | None = None,
) -> EIECycles:
    """Predict the EIE core's counters for ``layers`` on every input of ``x`` ([in] or [b, in]),
    run one after the other right after the network was loaded: the first input's run starts
    with the bias pass of layer 0, the later ones find the biases loaded (``preloaded``: the
    first one too). ``reload_every`` C: the network is loaded again before every C-th input
    (as :func:`accelgen.sim.eie.simulate` does per chunk), which then pays the pass again.

    ``num`` is needed to know which hidden activations are zero (default formats if omitted);
    ``skip_empty``, ``filter_empty`` and ``merge_padding`` are the ``EIEConfig`` options (see
    :func:`layer_run`).
    """
    num = num or Numerics()
    xb = np.atleast_2d(np.asarray(x))
    encs = [encode(layer.index, n_pes) for layer in layers]
    acts = [xb] + [np.atleast_2d(a) for a in run_eie(layers, xb, num=num, n_pes=n_pes)[:-1]]
    b, nl = len(xb), len(layers)
    layer_cycles = np.zeros((b, nl), dtype=np.int64)
    run_cycles = np.zeros((b, nl), dtype=np.int64)
    busy = np.zeros((b, nl, n_pes), dtype=np.int64)
    starved = np.zeros((b, nl, n_pes), dtype=np.int64)
    rows = [layer.shape[0] for layer in layers]
    for li, enc in enumerate(encs):
        # the loader writes the next layer's biases (layer 0's after the last layer)
        load = _ceil(rows[(li + 1) % nl], n_pes)
        for i in range(b):
            run, busy[i, li], starved[i, li] = layer_run(
                enc,
                acts[li][i] != 0,
                fifo_depth=fifo_depth,
                skip_empty=skip_empty,
                filter_empty=filter_empty,
                merge_padding=merge_padding,
                decouple=decouple,
                load_rows=load,
            )
            run_cycles[i, li] = run
            if li:
                before = SWITCH_CYCLES
            elif (i % reload_every == 0 if reload_every else i == 0) and not preloaded:
                before = _ceil(rows[0], n_pes) + BOUNDARY_EXTRA_CYCLES
            else:
                before = 0
            layer_cycles[i, li] = before + run
    cycles = layer_cycles.sum(axis=1)
    return EIECycles(cycles, layer_cycles, busy, starved, run_cycles)


def predict_for(
    layers: Sequence[EIELayer], x, config: EIEConfig, *, reload_every: int | None = None
) -> EIECycles:
    """:func:`predict` for the core ``config`` describes: its PE count, queue depth, formats and
    options, all taken from the config so that no caller can leave one out."""
    return predict(
        layers,
        x,
        n_pes=config.n_pes,
        fifo_depth=config.fifo_depth,
        num=config.numerics,
        skip_empty=config.skip_empty,
        filter_empty=config.filter_empty,
        merge_padding=config.merge_padding,
        decouple=config.decouple_depth,
        reload_every=reload_every,
    )
