// Native simulation harness of accelgen (the ``native`` engine, accelgen.sim.native).
//
// Compiled by ``verilator --cc --exe`` (then the model's makefile) together with the generated Verilog of one core
// (``-DACCELGEN_CORE_EIE`` or ``-DACCELGEN_CORE_DIANNAO``, class ``Vtop``). It reads host commands
// from stdin and runs them clock by clock on the model, with no Python in the loop. The write,
// read and start/done sequences are the ones of the cocotb host drivers (sim/eie_host.py,
// sim/diannao_host.py), edge for edge, so both engines give the same outputs and counters.
//
// Stream format (little-endian 32-bit words; docs/developing.md "Native simulation engine"):
//   header   MAGIC, VERSION, W (words per write-data value), R (words per read-data value)
//   WRITE n  then n records {addr, sel, data[W]}: one record per clock edge with the write
//            enable high (sel drives host_sel on DianNao; on EIE it marks the write for PE
//            gating, below); then we = 0.
//   READ n   then n addresses: pipelined reads; the n read values (R words each) are queued.
//   READ_AT n  then n pairs {addr, sel}: as READ, sel as a write record's (PE gating on EIE).
//   RUN t n  then n write records as for WRITE: pulse start, wait for done (at most t edges),
//            writing the n records concurrently from the start edge on (DianNao's double-buffer
//            prefetch; then the remaining records are written after done). Queues
//            {status, cycles, nfu_busy, stalls} (status 0 ok, 1 timeout; counters 0 on EIE).
//   FLUSH    write the queued replies to stdout.
//   END      queue {edges lo, hi, wall ns lo, hi, CPU ns lo, hi, gated edges lo, hi} of the
//            run (gated: edges with PE gating on), flush, exit 0.
// Errors: one line on stderr, exit status 1.
//
// With ``-DACCELGEN_BUS_AXI`` the model is the AXI-wrapped core (``<core>_axi``, docs/bus.md) and
// the harness is a C host of that bus: every register offset, field mask, window address and
// stream layout comes from the generated header ``accelgen_<core>.h`` (copied next to this file),
// so the header is compiled and exercised for real. The same command stream (W = R = LANES)
// is served the way the cocotb bus host (sim/bus_host.py) does it: EIE's layer count through
// LAYERS, EIE DESC / CODEBOOK and DianNao PWL / IMEM words through the window (AXI4-Lite, low
// lane first), everything else through the AXI4-Stream command stream (reads answer on
// m_axis); EIE counters other than activations are read through the window. RUN writes
// CTRL.START, streams the concurrent writes, waits for ``irq`` (IRQ_ENABLE.DONE), checks and
// clears IRQ_STATUS.DONE, checks STATUS and replies {status, CYCLES, NFU_BUSY, STALLS}
// (DianNao) or {status, CYCLES, 0, 0} (EIE). At reset it checks ID, VERSION and the window
// layout registers against the header. A non-OKAY response, a bad-address result (tuser) or a
// handshake that waits more than 10000 cycles is an error.

#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <type_traits>
#include <vector>

#include "Vtop.h"
#include "Vtop___024root.h"
#include "verilated.h"

#if defined(ACCELGEN_BUS_AXI)
#if defined(ACCELGEN_CORE_EIE)
#include "accelgen_eie.h"
#define AG(name) ACCELGEN_EIE_##name
#elif defined(ACCELGEN_CORE_DIANNAO)
#include "accelgen_diannao.h"
#define AG(name) ACCELGEN_DIANNAO_##name
#else
#error "define ACCELGEN_CORE_EIE or ACCELGEN_CORE_DIANNAO"
#endif
#elif defined(ACCELGEN_CORE_EIE)
#define P_ADDR addr
#define P_WDATA wdata
#define P_WE we
#define P_RADDR raddr
#define P_RDATA rdata
#elif defined(ACCELGEN_CORE_DIANNAO)
#define P_ADDR host_addr
#define P_WDATA host_wdata
#define P_WE host_we
#define P_RADDR host_raddr
#define P_RDATA host_rdata
#else
#error "define ACCELGEN_CORE_EIE or ACCELGEN_CORE_DIANNAO"
#endif

namespace {

constexpr uint32_t MAGIC = 0x484E4741;  // "AGNH"
constexpr uint32_t VERSION = 2;
enum Op : uint32_t { END = 0, WRITE = 1, READ = 2, RUN = 3, FLUSH = 4, READ_AT = 5 };

// Words of a Verilated port: CData..IData 1, QData 2, VlWide<N> N.
template <typename T>
struct Words {
    static constexpr std::size_t n = sizeof(T) > 4 ? 2 : 1;
};
template <std::size_t N>
struct Words<VlWide<N>> {
    static constexpr std::size_t n = N;
};

template <typename T>
inline void put(T& port, const uint32_t* w) {
    if constexpr (sizeof(T) > 4)
        port = static_cast<T>(uint64_t(w[0]) | (uint64_t(w[1]) << 32));
    else
        port = static_cast<T>(w[0]);
}
template <std::size_t N>
inline void put(VlWide<N>& port, const uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <typename T>
inline void get(const T& port, uint32_t* w) {
    if constexpr (sizeof(T) > 4) {
        w[0] = uint32_t(uint64_t(port));
        w[1] = uint32_t(uint64_t(port) >> 32);
    } else {
        w[0] = uint32_t(port);
    }
}
template <std::size_t N>
inline void get(const VlWide<N>& port, uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) w[i] = port[i];
}

template <typename T>
using Port = std::remove_reference_t<T>;
#if !defined(ACCELGEN_BUS_AXI)
constexpr std::size_t W = Words<Port<decltype(std::declval<Vtop&>().P_WDATA)>>::n;
constexpr std::size_t R = Words<Port<decltype(std::declval<Vtop&>().P_RDATA)>>::n;
#else
// a core word is LANES 32-bit lanes on the bus; a command beat adds the address and the flags
constexpr std::size_t W = AG(LANES);
constexpr std::size_t R = AG(LANES);
static_assert(Words<Port<decltype(std::declval<Vtop&>().m_axis_tdata)>>::n == R,
              "m_axis_tdata is not LANES words wide");
static_assert(Words<Port<decltype(std::declval<Vtop&>().s_axis_tdata)>>::n == W + 2,
              "s_axis_tdata is not LANES + 2 words wide");
#endif
constexpr std::size_t REC = 2 + W;  // addr, sel, data

// The falling clock edge changes nothing in these designs (every register is on the rising
// edge), but a second eval() per cycle re-runs all input-dependent logic. When the model keeps
// its clock-edge detector in the member below (Verilator 5), the harness lowers the clock by
// resetting that detector instead of evaluating; otherwise it evaluates the falling edge.
template <typename T, typename = void>
struct HasClkPrev : std::false_type {};
template <typename T>
struct HasClkPrev<T, std::void_t<decltype(std::declval<T&>().__Vtrigprevexpr___TOP__clk__0)>>
    : std::true_type {};

}  // namespace

// Read (and cleared) by the model's eval() when accelgen.sim.native could patch it: 1 skips the
// input-combinational (``ico``) phase of that eval, which Verilator otherwise runs on every
// eval() whether or not an input changed. Set only for clock edges whose inputs equal those of
// the previous eval(): the ico logic then recomputes the values it already holds (logic that
// also depends on state is evaluated again in the NBA phase). Unpatched models never read it.
unsigned char accelgen_ico_skip = 0;

// Defined by the same patch: the model's evaluation without Vtop::eval()'s per-call
// bookkeeping (deferred deletions, the message queue of other threads: unused by these
// single-threaded models). Weak: null when the model is unpatched, then eval() is called.
void accelgen_eval(Vtop___024root* vlSelf) __attribute__((weak));

// PE gating, read by the model when accelgen.sim.native could patch it (EIE on its own port,
// ``patch_pe_gating``): a clock edge with ``accelgen_pe_cur`` = 1 + k runs the code of PEs k
// and ``accelgen_pe_prev`` - 1 only (the others' is skipped); 0 runs every PE. The stream
// marks each host access (a write record's sel, a READ_AT pair's sel): 0, it may change any
// PE; ``GATE_ALL`` (0xFFFFFFFF), it may change every PE but leaves them settled (EIE's first
// two output reads of a register-file row); 1 + k, it changes PE k only (an activation
// write); any other value (``GATE_NONE``, 0xFFFFFFFE), it changes no PE (an output read of a
// row already read twice). The harness gates an edge marked neither 0 nor ``GATE_ALL``
// after at least ``GATE_SETTLE`` consecutive marked edges (the edges since the last run,
// other access or reset have let every PE settle), with ``accelgen_pe_prev`` the previous
// edge's mark (the PE whose registered register-file write lands now). A PE skipped so
// keeps its whole state (in the native model: ``next_state_in_clocked_blocks``' write
// holds); a build with ``-DACCELGEN_GATE_CHECK`` runs the skipped code anyway and fails if
// it changed anything.
unsigned int accelgen_pe_cur = 0;
unsigned int accelgen_pe_prev = 0;
// Defined by that patch: without it (another model, or EIE N = 1, whose PE is no shared module)
// no edge is gated or counted as gated.
extern const unsigned char accelgen_pe_gated_model __attribute__((weak));

namespace {

[[noreturn]] void fail(const char* msg, unsigned long long v = 0) {
    std::fprintf(stderr, "accelgen native harness: %s %llu\n", msg, v);
    std::exit(1);
}

// The model and its clock, shared by both hosts.
class Clocked {
   public:
    explicit Clocked(VerilatedContext* ctx) : top_(new Vtop{ctx, "TOP"}) {}
    ~Clocked() { top_->final(); }

    // One clock edge; ``quiet``: no input changed since the previous eval() (see
    // accelgen_ico_skip).
    // ``target``: this edge's mark (see PE gating)
    void tick(bool quiet = false, uint32_t target = 0) {
        accelgen_ico_skip = quiet;
        accelgen_pe_cur =
            gating_ && target && target != GATE_ALL && settled_ >= GATE_SETTLE ? target : 0;
        accelgen_pe_prev = target_;
        gated_ += accelgen_pe_cur != 0;
        top_->clk = 1;
        if (accelgen_eval && evaluated_) {
            accelgen_eval(top_->rootp);
        } else {
            top_->eval();  // the first one also initialises the model
            evaluated_ = true;
        }
        top_->clk = 0;
        if constexpr (HasClkPrev<Vtop___024root>::value) {
#if !defined(ACCELGEN_EVAL_FALLING_EDGE)
            top_->rootp->__Vtrigprevexpr___TOP__clk__0 = 0;
#else
            top_->eval();
#endif
        } else {
            top_->eval();
        }
        ++edges_;
        settled_ = target ? settled_ + 1 : 0;
        target_ = target;
    }

    uint64_t edges() const { return edges_; }
    uint64_t gated() const { return gated_; }

   protected:
    std::unique_ptr<Vtop> top_;
    uint64_t edges_ = 0;
    bool evaluated_ = false;
    // PE gating: consecutive marked edges, and the previous edge's mark
    static constexpr uint32_t GATE_SETTLE = 32;
    static constexpr uint32_t GATE_ALL = 0xFFFFFFFFu;
    const bool gating_ = &accelgen_pe_gated_model != nullptr;
    uint32_t settled_ = 0;
    uint32_t target_ = 0;
    uint64_t gated_ = 0;
};

#if !defined(ACCELGEN_BUS_AXI)
// The core's own host port, driven like the cocotb hosts (eie_host.py, diannao_host.py).
class Harness : public Clocked {
   public:
    using Clocked::Clocked;

    void reset() {
        top_->clk = 0;
        top_->rst = 1;
        top_->P_WE = 0;
        top_->start = 0;
#if defined(ACCELGEN_CORE_EIE)
        top_->re = 0;
#endif
        top_->eval();
        tick();
#if defined(ACCELGEN_REGISTERED_RESET)
        // the model is accelgen.sim.native.reset_wrapper's: rst reaches the core through a
        // register (initially 1), so it is lowered one edge earlier and the core sees exactly
        // the sequence below (reset at the first two edges, released before the third)
        top_->rst = 0;
        tick();
        tick();
#else
        tick();
        top_->rst = 0;
        tick();
#endif
    }

    void drive_write(const uint32_t* rec) {
        top_->P_ADDR = rec[0];
#if defined(ACCELGEN_CORE_DIANNAO)
        top_->host_sel = rec[1];
#endif
        put(top_->P_WDATA, rec + 2);
        top_->P_WE = 1;
    }

    void write(const uint32_t* recs, uint32_t n) {
        for (uint32_t i = 0; i < n; ++i) {
            drive_write(recs + i * REC);
#if defined(ACCELGEN_CORE_EIE)
            tick(false, recs[i * REC + 1]);
#else
            tick();
#endif
        }
        top_->P_WE = 0;
    }

    // ``targets`` (or null): per address, as a write record's sel (PE gating on EIE)
    void read(const uint32_t* addrs, uint32_t n, std::vector<uint32_t>& out,
              const uint32_t* targets = nullptr) {
        if (n == 0) return;
        std::size_t base = out.size();
        out.resize(base + std::size_t(n) * R);
        uint32_t* dst = out.data() + base;
#if defined(ACCELGEN_CORE_EIE)
        // eie_host.EIEHost.read: re/raddr per cycle, rdata sampled when rvalid (3 cycles later).
        // rvalid and rdata are registers, so the sample needs no eval() after re/raddr change.
        uint32_t issued = 0, got = 0, idle = 0;
        while (got < n) {
            uint32_t target = 0;
            if (issued < n) {
                target = targets ? targets[issued] : 0;
                top_->raddr = addrs[issued++];
                top_->re = 1;
            } else {
                top_->re = 0;
            }
            if (top_->rvalid) {
                get(top_->rdata, dst + std::size_t(got++) * R);
                idle = 0;
            } else if (++idle > 64) {
                fail("no rvalid for 64 cycles while reading address", addrs[got]);
            }
            tick(false, target);
        }
        top_->re = 0;
#else
        // diannao_host.DianNaoHost.read: raddr latched at an edge, rdata valid after it
        top_->P_RADDR = addrs[0];
        for (uint32_t i = 0; i < n; ++i) {
            tick();
            top_->P_RADDR = addrs[i + 1 < n ? i + 1 : n - 1];
            top_->eval();
            get(top_->P_RDATA, dst + std::size_t(i) * R);
        }
#endif
    }

    // One edge with the next background write (if any) driven; returns the records left.
    // ``quiet``: the previous edge had no write left either (so no input changes).
    uint32_t bg_tick(const uint32_t*& bg, uint32_t left, bool quiet = false) {
        if (left) {
            drive_write(bg);
        } else {
            top_->P_WE = 0;
        }
        tick(quiet && !left);
        if (left) {
            bg += REC;
            --left;
        }
        return left;
    }

    void run(uint64_t limit, const uint32_t* bg, uint32_t nbg, std::vector<uint32_t>& out) {
        uint32_t status = 0, c0 = 0, c1 = 0, c2 = 0;
        top_->start = 1;
#if defined(ACCELGEN_CORE_EIE)
        (void)bg;
        if (nbg) fail("concurrent writes are not supported on EIE:", nbg);
        // eie_host.EIEHost.run: start edge, one more edge, wait for done, one more edge
        tick();
        top_->start = 0;
        tick();
        uint64_t waited = 0;
        while (!top_->done) {  // the inputs stay as the last edge saw them
            if (++waited > limit) {
                status = 1;
                break;
            }
            tick(true);
        }
        tick();
#else
        // diannao_host.DianNaoHost.run (+ the prefetch task of run_layer)
        nbg = bg_tick(bg, nbg);
        top_->start = 0;
        bool prev = top_->done;
        bool idle = false;  // the previous edge drove no write and start was already low
        uint64_t waited = 0;
        for (;;) {
            if (++waited > limit) {
                status = 1;
                break;
            }
            bool none = nbg == 0;
            nbg = bg_tick(bg, nbg, idle && none);
            idle = none;
            bool now = top_->done;
            if (now && !prev) {
                c0 = top_->cycles;
                c1 = top_->nfu_busy;
                c2 = top_->stalls;
                break;
            }
            prev = now;
        }
        while (nbg) nbg = bg_tick(bg, nbg);
        top_->P_WE = 0;
#endif
        out.insert(out.end(), {status, c0, c1, c2});
    }
};
#else
// The AXI-wrapped core, driven by a C host through the register map of accelgen_<core>.h.
class Harness : public Clocked {
   public:
    using Clocked::Clocked;

    void reset() {
        top_->clk = 0;
        top_->rst = 1;
        top_->s_axil_awvalid = 0;
        top_->s_axil_wvalid = 0;
        top_->s_axil_bready = 0;
        top_->s_axil_arvalid = 0;
        top_->s_axil_rready = 0;
        top_->s_axil_awprot = 0;
        top_->s_axil_arprot = 0;
        top_->s_axis_tvalid = 0;
        top_->s_axis_tlast = 0;
        top_->m_axis_tready = 0;
        top_->eval();
        tick();
        tick();
        top_->rst = 0;
        tick();
        // the header and the hardware describe the same register map and window
        check_reg(AG(REG_ID), AG(ID), "ID");
        check_reg(AG(REG_VERSION), AG(VERSION), "VERSION");
        check_reg(AG(REG_WINDOW_BASE), AG(WINDOW_BASE), "WINDOW_BASE");
        check_reg(AG(REG_WORD_BYTES), AG(WORD_BYTES), "WORD_BYTES");
        check_reg(AG(REG_LANES), AG(LANES), "LANES");
        reg_write(AG(REG_IRQ_ENABLE), AG(IRQ_ENABLE_DONE));
    }

    void write(const uint32_t* recs, uint32_t n) {
        uint32_t i = 0;
        while (i < n) {
            const uint32_t* rec = recs + std::size_t(i) * REC;
            Path path = write_path(rec);
            if (path == Path::Stream) {  // a run of stream writes goes as one frame
                uint32_t j = i + 1;
                while (j < n && write_path(recs + std::size_t(j) * REC) == Path::Stream) ++j;
                stream(recs + std::size_t(i) * REC, j - i, nullptr, nullptr, 0);
                i = j;
                continue;
            }
#if defined(ACCELGEN_CORE_EIE)
            if (path == Path::Register) {
                reg_write(AG(REG_LAYERS), rec[2]);
                ++i;
                continue;
            }
#endif
            for (uint32_t k = 0; k < AG(LANES); ++k)  // low lane first: the top lane commits
                reg_write(AG(WINDOW)(core_addr(rec), k), rec[2 + k]);
            ++i;
        }
    }

    void read(const uint32_t* addrs, uint32_t n, std::vector<uint32_t>& out,
              const uint32_t* = nullptr) {
        std::size_t base = out.size();
        out.resize(base + std::size_t(n) * R);
        uint32_t* dst = out.data() + base;
        uint32_t i = 0;
        while (i < n) {
            if (read_by_stream(addrs[i])) {
                uint32_t j = i + 1;
                while (j < n && read_by_stream(addrs[j])) ++j;
                stream(nullptr, 0, addrs + i, dst + std::size_t(i) * R, j - i);
                i = j;
                continue;
            }
            for (uint32_t k = 0; k < AG(LANES); ++k)
                dst[std::size_t(i) * R + k] = reg_read(AG(WINDOW)(read_addr(addrs[i]), k));
            ++i;
        }
    }

    void run(uint64_t limit, const uint32_t* bg, uint32_t nbg, std::vector<uint32_t>& out) {
        reg_write(AG(REG_CTRL), AG(CTRL_START));
        // the concurrent writes stream from here on; the limit counts the cycles waited
        // for irq once they are all sent (a queued START waits for a quiet host port)
        uint64_t waited = 0;
        uint32_t sent = 0, stalled = 0;
        bool irq = false;
        for (;;) {
            if (sent < nbg) drive_cmd(bg + std::size_t(sent) * REC, false, sent + 1 == nbg);
            top_->s_axis_tvalid = sent < nbg;
            top_->eval();
            irq = top_->irq;
            bool taken = sent < nbg && top_->s_axis_tready;
            if (irq && sent == nbg) break;
            if (sent == nbg && ++waited > limit) break;
            tick();
            if (taken) {
                ++sent;
                stalled = 0;
            } else if (sent < nbg && ++stalled > HANG) {
                fail("s_axis_tready low too long during a run; command", sent);
            }
        }
        top_->s_axis_tvalid = 0;
        if (!irq) {
            out.insert(out.end(), {1u, 0u, 0u, 0u});
            return;
        }
        uint32_t st = reg_read(AG(REG_IRQ_STATUS));
        if (!(st & AG(IRQ_STATUS_DONE))) fail("irq without IRQ_STATUS.DONE; IRQ_STATUS", st);
        reg_write(AG(REG_IRQ_STATUS), AG(IRQ_STATUS_DONE));
        st = reg_read(AG(REG_STATUS));
        if (st != AG(STATUS_DONE)) fail("STATUS after the interrupt is not DONE but", st);
        top_->eval();
        if (top_->irq) fail("irq still high after clearing IRQ_STATUS.DONE", 0);
        uint32_t cycles = reg_read(AG(REG_CYCLES));
#if defined(ACCELGEN_CORE_DIANNAO)
        uint32_t busy = reg_read(AG(REG_NFU_BUSY)), stalls = reg_read(AG(REG_STALLS));
#else
        uint32_t busy = 0, stalls = 0;
#endif
        out.insert(out.end(), {0u, cycles, busy, stalls});
    }

   private:
    // cycles a handshake may wait before the harness reports a hang
    static constexpr uint32_t HANG = 10000;
    enum class Path { Register, Window, Stream };

#if defined(ACCELGEN_CORE_EIE)
    static uint32_t core_addr(const uint32_t* rec) { return rec[0]; }
    static uint32_t region(uint32_t a) { return a >> AG(OFFSET_BITS); }
    static Path write_path(const uint32_t* rec) {
        uint32_t a = core_addr(rec);
        if (a == AG(CORE_ADDR)(AG(REGION_CTRL), 0)) return Path::Register;
        uint32_t r = region(a);
        if (r == AG(REGION_DESC) || r == AG(REGION_CODEBOOK)) return Path::Window;
        return Path::Stream;
    }
    static uint32_t read_addr(uint32_t a) { return a; }
    // activations (the outputs) through the stream, counters through the window
    static bool read_by_stream(uint32_t a) { return region(a) == AG(REGION_ACT); }
#else
    static uint32_t core_addr(const uint32_t* rec) { return AG(CORE_ADDR)(rec[1], rec[0]); }
    static Path write_path(const uint32_t* rec) {
        if (rec[1] == AG(SEL_PWL) || rec[1] == AG(SEL_IMEM)) return Path::Window;
        return Path::Stream;
    }
    // reads are of NBout (the harness stream's read addresses are NBout addresses)
    static uint32_t read_addr(uint32_t a) { return AG(CORE_ADDR)(AG(SEL_NBOUT), a); }
    static bool read_by_stream(uint32_t) { return true; }
#endif

    void check_reg(uint32_t off, uint32_t want, const char* name) {
        uint32_t got = reg_read(off);
        if (got != want) {
            std::fprintf(stderr, "accelgen native harness: register %s reads %#x, header %#x\n",
                         name, got, want);
            std::exit(1);
        }
    }

    // one AXI4-Lite access; returns the response code (0 OKAY)
    uint32_t axil(bool we, uint32_t addr, uint32_t wdata, uint32_t* rdata) {
        if (we) {
            top_->s_axil_awaddr = addr;
            top_->s_axil_wdata = wdata;
            top_->s_axil_wstrb = 0xF;
            top_->s_axil_awvalid = 1;
            top_->s_axil_wvalid = 1;
            top_->s_axil_bready = 1;
        } else {
            top_->s_axil_araddr = addr;
            top_->s_axil_arvalid = 1;
            top_->s_axil_rready = 1;
        }
        for (uint32_t t = 0;; ++t) {  // address (and write data) handshake
            top_->eval();
            bool taken = we ? (top_->s_axil_awready && top_->s_axil_wready) : top_->s_axil_arready;
            tick();
            if (taken) break;
            if (t > HANG) fail("AXI4-Lite address handshake hangs at", addr);
        }
        top_->s_axil_awvalid = 0;
        top_->s_axil_wvalid = 0;
        top_->s_axil_arvalid = 0;
        uint32_t resp = 0;
        for (uint32_t t = 0;; ++t) {  // response handshake
            top_->eval();
            bool valid = we ? top_->s_axil_bvalid : top_->s_axil_rvalid;
            if (valid) {
                resp = we ? top_->s_axil_bresp : top_->s_axil_rresp;
                if (rdata) *rdata = top_->s_axil_rdata;
            }
            tick();
            if (valid) break;
            if (t > HANG) fail("AXI4-Lite response hangs at", addr);
        }
        top_->s_axil_bready = 0;
        top_->s_axil_rready = 0;
        return resp;
    }

    uint32_t reg_read(uint32_t addr) {
        uint32_t v = 0;
        uint32_t resp = axil(false, addr, 0, &v);
        if (resp != 0) bad_response("read", addr, resp);
        return v;
    }

    void reg_write(uint32_t addr, uint32_t v) {
        uint32_t resp = axil(true, addr, v, nullptr);
        if (resp != 0) bad_response("write", addr, resp);
    }

    [[noreturn]] static void bad_response(const char* what, uint32_t addr, uint32_t resp) {
        std::fprintf(stderr, "accelgen native harness: AXI4-Lite %s of %#x answered %s\n", what,
                     addr, resp == 2 ? "SLVERR" : resp == 3 ? "DECERR" : "EXOKAY");
        std::exit(1);
    }

    // a command beat: data (LANES words), core address, flags
    void drive_cmd(const uint32_t* rec, bool rd, bool last) {
        auto& t = top_->s_axis_tdata;
        for (std::size_t k = 0; k < W; ++k) t[k] = rd ? 0 : rec[2 + k];
        t[W] = rd ? read_addr(rec[0]) : core_addr(rec);
        t[W + 1] = rd ? AG(CMD_READ) : 0;
        top_->s_axis_tlast = last;
    }

    // n_w write records, or n_r reads of core addresses ``addrs`` (results to dst, R words
    // each), as one frame on s_axis; read results are taken from m_axis as they come
    void stream(const uint32_t* recs, uint32_t n_w, const uint32_t* addrs, uint32_t* dst,
                uint32_t n_r) {
        uint32_t n = n_w ? n_w : n_r, sent = 0, got = 0, idle = 0;
        uint32_t rec[2 + W] = {};
        top_->m_axis_tready = n_r > 0;
        while (sent < n || got < n_r) {
            if (sent < n) {
                if (n_w) {
                    drive_cmd(recs + std::size_t(sent) * REC, false, sent + 1 == n);
                } else {
                    rec[0] = addrs[sent];
                    drive_cmd(rec, true, sent + 1 == n);
                }
            }
            top_->s_axis_tvalid = sent < n;
            top_->eval();
            bool taken = sent < n && top_->s_axis_tready;
            bool result = n_r && top_->m_axis_tvalid;
            if (result) {
                if (got >= n_r) fail("an unexpected result beat after read", got);
                if (top_->m_axis_tuser)
                    fail("stream read of a bad core address", read_addr(addrs[got]));
                if (bool(top_->m_axis_tlast) != (got + 1 == n_r))
                    fail("result tlast differs from the command's at read", got);
                get(top_->m_axis_tdata, dst + std::size_t(got) * R);
            }
            tick();
            if (taken) ++sent;
            if (result) ++got;
            idle = (taken || result) ? 0 : idle + 1;
            if (idle > HANG) fail("the command stream hangs; commands sent", sent);
        }
        top_->s_axis_tvalid = 0;
        top_->s_axis_tlast = 0;
        top_->m_axis_tready = 0;
    }
};
#endif

class Input {
   public:
    uint32_t word() {
        uint32_t w;
        take(&w, 1);
        return w;
    }
    const uint32_t* words(std::size_t n) {
        buf_.resize(n ? n : 1);
        take(buf_.data(), n);
        return buf_.data();
    }

   private:
    void take(uint32_t* dst, std::size_t n) {
        if (n && std::fread(dst, 4, n, stdin) != n) fail("command stream ended early; words wanted", n);
    }
    std::vector<uint32_t> buf_;
};

uint64_t cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

void flush(std::vector<uint32_t>& out) {
    if (!out.empty() && std::fwrite(out.data(), 4, out.size(), stdout) != out.size())
        fail("cannot write replies; words", out.size());
    std::fflush(stdout);
    out.clear();
}

}  // namespace

int main(int argc, char** argv) {
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);
    static char inbuf[1 << 20];
    std::setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
    Input in;
    uint32_t head[4] = {in.word(), in.word(), in.word(), in.word()};
    if (head[0] != MAGIC) fail("not an accelgen command stream; first word", head[0]);
    if (head[1] != VERSION) fail("unsupported stream version", head[1]);
    if (head[2] != W) fail("write-data words differ from this build's; the stream has", head[2]);
    if (head[3] != R) fail("read-data words differ from this build's; the stream has", head[3]);

    Harness h(ctx.get());
    auto t0 = std::chrono::steady_clock::now();
    uint64_t cpu0 = cpu_ns();
    h.reset();
    std::vector<uint32_t> out, addrs, targets;
    for (;;) {
        uint32_t op = in.word();
        switch (op) {
            case WRITE: {
                uint32_t n = in.word();
                h.write(in.words(std::size_t(n) * REC), n);
                break;
            }
            case READ: {
                uint32_t n = in.word();
                h.read(in.words(n), n, out);
                break;
            }
            case READ_AT: {
                uint32_t n = in.word();
                const uint32_t* pairs = in.words(std::size_t(n) * 2);
                addrs.resize(n);
                targets.resize(n);
                for (uint32_t i = 0; i < n; ++i) {
                    addrs[i] = pairs[2 * i];
                    targets[i] = pairs[2 * i + 1];
                }
                h.read(addrs.data(), n, out, targets.data());
                break;
            }
            case RUN: {
                uint32_t lo = in.word(), hi = in.word(), n = in.word();
                h.run(uint64_t(lo) | (uint64_t(hi) << 32), in.words(std::size_t(n) * REC), n, out);
                break;
            }
            case FLUSH:
                flush(out);
                break;
            case END: {
                auto ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - t0)
                                       .count());
                uint64_t cpu = cpu_ns() - cpu0;
                uint64_t e = h.edges(), g = h.gated();
                out.insert(out.end(), {uint32_t(e), uint32_t(e >> 32), uint32_t(ns),
                                       uint32_t(ns >> 32), uint32_t(cpu), uint32_t(cpu >> 32),
                                       uint32_t(g), uint32_t(g >> 32)});
                flush(out);
                return 0;
            }
            default:
                fail("unknown command", op);
        }
    }
}
