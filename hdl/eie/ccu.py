"""Central control unit: leading-non-zero detection over the PEs' activations and broadcast.

The input activations of a layer live in the PEs' source register files (element ``j`` in PE
``j mod N`` at address ``j // N``). The CCU reads one *window* of N activations per cycle (the
same address in every PE), finds the non-zeros with a quadtree leading-non-zero detector (one
node per 4 PEs, as in the paper) and broadcasts them one per cycle, in ascending column order,
to every PE's activation queue.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.spec.eie import EIEConfig

from .arith import finish_value

__all__ = ["CCU", "LNZD", "lnzd_tree"]


def lnzd_tree(bits: list) -> tuple:
    """Quadtree leading-non-zero detector over 1-bit expressions ``bits`` (index 0 leads).

    Returns ``(any, index)``: whether a bit is set and the lowest set index. Each level groups
    four children: ``any`` is their OR and ``index`` is ``Cat(child index, child number)`` of
    the first child with ``any`` set. Depth ``ceil(log4 N)`` nodes.
    """
    nodes = [(b, Const(0, 0)) for b in bits]
    if len(nodes) == 1:
        return nodes[0][0], Const(0, 1)
    while len(nodes) > 1:
        width = max(len(idx) for _, idx in nodes)
        nxt = []
        for g in range(0, len(nodes), 4):
            group = nodes[g : g + 4]
            while len(group) < 4:
                group.append((Const(0, 1), Const(0, width)))
            any_ = group[0][0] | group[1][0] | group[2][0] | group[3][0]
            idx = Cat(group[3][1], Const(3, 2))
            for k in (2, 1, 0):
                idx = Mux(group[k][0], Cat(group[k][1], Const(k, 2)), idx)
            nxt.append((any_, idx))
        nodes = nxt
    return nodes[0]


class LNZD(wiring.Component):
    """Combinational leading-non-zero detector of an ``n``-bit mask (:func:`lnzd_tree`).

    Members
    -------
    mask : In(n)
    any : Out(1)
    index : Out(range(n))
        Lowest set bit (0 if none). Latency 0 cycles.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        super().__init__({"mask": In(n), "any": Out(1), "index": Out(range(max(2, n)))})

    def elaborate(self, platform) -> Module:
        m = Module()
        any_, idx = lnzd_tree([self.mask[i] for i in range(self.n)])
        m.d.comb += [self.any.eq(any_), self.index.eq(idx)]
        return m


class CCU(wiring.Component):
    """Scans a layer's input activations and broadcasts the non-zero ones.

    Pipeline (while ``run``): window ``w`` is read from the source register files in cycle
    ``t`` (``src_addr``), its data and non-zero mask are available in ``t+1`` (the *fetch*
    stage) and move into the *current* window register as soon as that is empty or about to
    become empty. The LNZD picks the lowest remaining non-zero of the current window each cycle
    and loads it into the broadcast register (``bc_*``), which feeds every PE's queue. The
    broadcast register only advances when all queues accept (``bc_ready``), so a full queue
    stalls the broadcast. Steady state: one non-zero broadcast per cycle; a window without a
    non-zero costs one cycle. ``done`` is high once every window has been read and broadcast.
    Lowering ``run`` clears the unit.

    Members
    -------
    run : In(1)
    cols, windows : In(col_bits)
        Number of inputs of the current layer and ``ceil(cols / N)``; settled before ``run``
        rises.
    relu : In(1)
        The ReLU flag of the layer whose outputs are read (0 for the host's input).
    src_addr, src_en : Out
        Window read (same address in every PE).
    src_data : In(signed(acc_bits)).array(N)
        The PEs' source-register outputs: raw accumulators, finished
        (``relu?(sat(act_bits, .))``) here as they are broadcast (in parallel with the LNZD).
    src_nz : In(1).array(N)
        The finished value is non-zero, stored with the value in the source register file (a
        compare after the register file's read would lengthen the fetch path).
    next_w : Out(rf_bits + 1)
        Windows read so far (the source registers below it are free for the bias loader).
    bc_valid, bc_col, bc_act : Out; bc_ready : In
        The broadcast.
    pick, pick_col : Out
        The broadcast register is loaded this cycle, with column ``pick_col`` (for the PEs'
        empty-column filter, whose bit is then read in step with the broadcast).
    done : Out(1)
    """

    def __init__(self, config: EIEConfig) -> None:
        c = self.config = config
        super().__init__(
            {
                "run": In(1),
                "cols": In(c.col_bits),
                "windows": In(c.col_bits),
                "relu": In(1),
                "src_addr": Out(c.rf_bits),
                "src_en": Out(1),
                "next_w": Out(c.rf_bits + 1),
                "src_data": In(signed(c.acc_bits)).array(c.n_pes),
                "src_nz": In(1).array(c.n_pes),
                "bc_valid": Out(1),
                "bc_col": Out(c.col_bits),
                "bc_act": Out(signed(c.act_bits)),
                "bc_ready": In(1),
                "pick": Out(1),
                "pick_col": Out(c.col_bits),
                "done": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        c = self.config
        n = c.n_pes
        m = Module()
        m.submodules.lnzd = lnzd = LNZD(n)

        windows = self.windows
        next_w = self.next_w
        f_valid = Signal()
        f_w = Signal(c.rf_bits)
        f_mask = Signal(n)
        cur_mask = Signal(n)
        cur_w = Signal(c.rf_bits)
        cur_vals = [Signal(signed(c.acc_bits), name=f"cur_val{k}") for k in range(n)]
        # The source files are read every cycle while running (address ``next_w``), so the
        # read enable does not wait for the issue decision; the fetched window's data is on
        # ``src_*`` in the cycle after its issue (``f_fresh``) and held in ``f_vals``/``f_nz``
        # after that.
        f_fresh = Signal()
        f_vals = [Signal(signed(c.acc_bits), name=f"f_val{k}") for k in range(n)]
        f_nz = Signal(n)
        vals_now = [Mux(f_fresh, self.src_data[k], f_vals[k]) for k in range(n)]
        nz_now = Mux(f_fresh, Cat(*self.src_nz), f_nz)
        m.d.sync += [f_vals[k].eq(vals_now[k]) for k in range(n)]
        m.d.sync += f_nz.eq(nz_now)

        fire = Signal()
        rest = Signal(n)
        cur_free = Signal()
        single = Signal()
        take_f = Signal()
        issue = Signal()
        m.d.comb += [
            lnzd.mask.eq(cur_mask),
            fire.eq(self.run & lnzd.any & (~self.bc_valid | self.bc_ready)),
            rest.eq(cur_mask & ~Mux(fire, Const(1, n) << lnzd.index, 0)),
            # rest == 0, without waiting for the masked bits: a single non-zero left is freed
            # by the fire (the mask test depends on the register only)
            single.eq(lnzd.any & ((cur_mask & (cur_mask - 1)) == 0)),
            cur_free.eq(~lnzd.any | (fire & single)),
            take_f.eq(f_valid & cur_free),
            issue.eq(self.run & (~f_valid | take_f) & (next_w < windows)),
            self.src_addr.eq(next_w),
            self.src_en.eq(self.run),
            self.done.eq((next_w == windows) & ~f_valid & (cur_mask == 0) & ~self.bc_valid),
        ]
        for k in range(n):
            col = Cat(Const(k, c.pe_bits), f_w) if n > 1 else f_w
            m.d.comb += f_mask[k].eq(nz_now[k] & (col < self.cols))
        # outputs finished from the registers, in parallel with the LNZD, before the pick mux
        fin_vals = [finish_value(v, c.act_bits, self.relu) for v in cur_vals]
        pick_col = Cat(lnzd.index[: c.pe_bits], cur_w) if n > 1 else cur_w
        m.d.comb += [self.pick.eq(fire), self.pick_col.eq(pick_col)]

        with m.If(~self.run):
            m.d.sync += [next_w.eq(0), f_valid.eq(0), cur_mask.eq(0), self.bc_valid.eq(0)]
            m.d.sync += f_fresh.eq(0)
        with m.Else():
            m.d.sync += f_fresh.eq(issue)
            with m.If(issue):
                m.d.sync += [next_w.eq(next_w + 1), f_valid.eq(1), f_w.eq(next_w)]
            with m.Elif(take_f):
                m.d.sync += f_valid.eq(0)
            with m.If(take_f):
                m.d.sync += [cur_mask.eq(f_mask), cur_w.eq(f_w)]
                m.d.sync += [cur_vals[k].eq(vals_now[k]) for k in range(n)]
            with m.Else():
                m.d.sync += cur_mask.eq(rest)
            with m.If(fire):
                m.d.sync += [
                    self.bc_valid.eq(1),
                    self.bc_col.eq(pick_col),
                    self.bc_act.eq(Array(fin_vals)[lnzd.index]),
                ]
            with m.Elif(self.bc_ready):
                m.d.sync += self.bc_valid.eq(0)
        return m
