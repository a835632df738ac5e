// Native simulation harness of accelgen (the ``native`` engine, accelgen.sim.native).
//
// Compiled by ``verilator --cc --exe --build`` together with the generated Verilog of one core
// (``-DACCELGEN_CORE_EIE`` or ``-DACCELGEN_CORE_DIANNAO``, class ``Vtop``). It reads host commands
// from stdin and runs them clock by clock on the model, with no Python in the loop. The write,
// read and start/done sequences are the ones of the cocotb host drivers (sim/eie_host.py,
// sim/diannao_host.py), edge for edge, so both engines give the same outputs and counters.
//
// Stream format (little-endian 32-bit words; docs/developing.md "Native simulation engine"):
//   header   MAGIC, VERSION, W (words per write-data value), R (words per read-data value)
//   WRITE n  then n records {addr, sel, data[W]}: one record per clock edge with the write
//            enable high (sel drives host_sel on DianNao and is ignored on EIE); then we = 0.
//   READ n   then n addresses: pipelined reads; the n read values (R words each) are queued.
//   RUN t n  then n write records as for WRITE: pulse start, wait for done (at most t edges),
//            writing the n records concurrently from the start edge on (DianNao's double-buffer
//            prefetch; then the remaining records are written after done). Queues
//            {status, cycles, nfu_busy, stalls} (status 0 ok, 1 timeout; counters 0 on EIE).
//   FLUSH    write the queued replies to stdout.
//   END      queue {edges lo, hi, wall ns lo, hi, CPU ns lo, hi} of the run, flush, exit 0.
// Errors: one line on stderr, exit status 1.

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

#if defined(ACCELGEN_CORE_EIE)
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
constexpr uint32_t VERSION = 1;
enum Op : uint32_t { END = 0, WRITE = 1, READ = 2, RUN = 3, FLUSH = 4 };

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

using WData = std::remove_reference_t<decltype(std::declval<Vtop&>().P_WDATA)>;
using RData = std::remove_reference_t<decltype(std::declval<Vtop&>().P_RDATA)>;
constexpr std::size_t W = Words<WData>::n;
constexpr std::size_t R = Words<RData>::n;
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

[[noreturn]] void fail(const char* msg, unsigned long long v = 0) {
    std::fprintf(stderr, "accelgen native harness: %s %llu\n", msg, v);
    std::exit(1);
}

class Harness {
   public:
    Harness(VerilatedContext* ctx) : top_(new Vtop{ctx, "TOP"}) {}
    ~Harness() { top_->final(); }

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
        tick();
        top_->rst = 0;
        tick();
    }

    void tick() {
        top_->clk = 1;
        top_->eval();
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
            tick();
        }
        top_->P_WE = 0;
    }

    void read(const uint32_t* addrs, uint32_t n, std::vector<uint32_t>& out) {
        if (n == 0) return;
        std::size_t base = out.size();
        out.resize(base + std::size_t(n) * R);
        uint32_t* dst = out.data() + base;
#if defined(ACCELGEN_CORE_EIE)
        // eie_host.EIEHost.read: re/raddr per cycle, rdata sampled when rvalid (3 cycles later).
        // rvalid and rdata are registers, so the sample needs no eval() after re/raddr change.
        uint32_t issued = 0, got = 0, idle = 0;
        while (got < n) {
            if (issued < n) {
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
            tick();
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
    uint32_t bg_tick(const uint32_t*& bg, uint32_t left) {
        if (left) {
            drive_write(bg);
        } else {
            top_->P_WE = 0;
        }
        tick();
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
        while (!top_->done) {
            if (++waited > limit) {
                status = 1;
                break;
            }
            tick();
        }
        tick();
#else
        // diannao_host.DianNaoHost.run (+ the prefetch task of run_layer)
        nbg = bg_tick(bg, nbg);
        top_->start = 0;
        bool prev = top_->done;
        uint64_t waited = 0;
        for (;;) {
            if (++waited > limit) {
                status = 1;
                break;
            }
            nbg = bg_tick(bg, nbg);
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

    uint64_t edges() const { return edges_; }

   private:
    std::unique_ptr<Vtop> top_;
    uint64_t edges_ = 0;
};

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
    std::vector<uint32_t> out;
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
                uint64_t e = h.edges();
                out.insert(out.end(), {uint32_t(e), uint32_t(e >> 32), uint32_t(ns),
                                       uint32_t(ns >> 32), uint32_t(cpu), uint32_t(cpu >> 32)});
                flush(out);
                return 0;
            }
            default:
                fail("unknown command", op);
        }
    }
}
