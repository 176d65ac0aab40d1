// Host emulation check of the CUDA backend's loop bodies (no GPU needed).
//
// Runs the per-thread and per-lane functions of backend_cuda_math.cuh for every emulated thread
// and lane, with the thread/warp structure of backend_cuda_kernels.cuh mirrored here (flat
// grid-stride kernels, one warp per (member, segment), xor-butterfly warp sums, per-member
// finalisation), and compares every op with the CPU backend (host/backend_cpu*.c) on random inputs,
// masks, flush flags, argmax ties, infinities and NaNs, for 1D/2D/3D shapes and segment counts 1
// to 129.
//
// float64 (the qdml_c64 instantiations): pointwise ops must agree bit for bit; sums to 1e-12
// relative. Since both sides share core/, the steps op is also checked against a closed form on odd,
// prime and mixed sizes (check_closed_form).
// float32 (the c32 instantiations: float state, potential and factors, sums in double): before
// each op the CPU backend (double) is given the emulated float state widened to double, so both
// start from the same values and only the op's own rounding is measured. Pointwise ops within
// 1e-6 of the member's largest amplitude (the products round in float: a few units of 6e-8);
// norms, moments of the density and distances within 1e-12 (the summands are formed in double
// from the same float values); the spectral sums st and sres within 1e-6 (the float FFT stand-in
// rounds its output to float). The float32 flush threshold and argmax ties are checked exactly.
// fill_objective (the built-in objectives of core/objectives.h, every kind, on every grid
// dimension a shape allows): values, min, max and first non-finite index exactly in both
// precisions (float32: the CPU's double values rounded to float), overflow included.
//
// Built and run by ctest (tests/CMakeLists.txt); by hand, from the repository root:
//   g++ -std=c++17 -O2 -Wall -Wextra -I include -I host -I core -I kernels -c tests/cuda_emulation.cpp -o /tmp/emu.o
//   gcc -std=c11 -O2 -fopenmp -D_POSIX_C_SOURCE=200809L -I include -I host -I core host/backend_cpu*.c
//       host/status.c host/atomic_file.c /tmp/emu.o
//       -o /tmp/emulate_check -lfftw3_omp -lfftw3 -lstdc++ -lm && /tmp/emulate_check     (one command line)
// The cuFFT transforms, streams, staging and launches are not covered (FFTW stands in for cuFFT;
// for float32, a double FFTW transform of the widened data, rounded back to float).
#include <fftw3.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <random>
#include <vector>

extern "C" {
#include "backend.h"
}
#include "backend_cuda_math.cuh"
#include "status.h"

using namespace qdml_cuda;
using std::vector;

enum { kBlock = 256, kWarpsPerBlock = 8 };
enum { F_S0 = 0, F_SV = 1, F_SX = 2, F_SXX = 5, F_RMAX = 8, F_ST = 9, F_SRES = 10, kFields = 11 };

static int failures = 0;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            if (failures < 40) {                                                                                       \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                            \
                printf(__VA_ARGS__);                                                                                   \
                printf("\n");                                                                                          \
            }                                                                                                          \
            ++failures;                                                                                                \
        }                                                                                                              \
    } while (0)

static double warp_sum_emu(vector<double> v) {
    for (int o = 16; o > 0; o >>= 1) {
        vector<double> t(32);
        for (int l = 0; l < 32; ++l)
            t[l] = v[l] + v[l ^ o];
        v = t;
    }
    for (int l = 1; l < 32; ++l)
        if (!(v[l] == v[0] || (v[l] != v[l] && v[0] != v[0]))) printf("warp lanes disagree\n");
    return v[0];
}

// The block of a finalisation kernel (k_fin_sum, k_fin_scale): each thread's share in order
// (fin_thread_sum), then the tree the block forms in shared memory, level by level.
static double fin_block_emu(const double *part, i64 cpm, i64 b) {
    vector<double> v(kFinBlock);
    for (int t = 0; t < kFinBlock; ++t)
        v[t] = fin_thread_sum(part, cpm, b, t);
    for (int o = kFinBlock / 2; o > 0; o >>= 1)
        for (int t = 0; t < o; ++t)
            v[t] += v[t + o];
    return v[0];
}

static void warp_amax_emu(vector<double> r, vector<i64> i, double &ro, i64 &io) {
    for (int o = 16; o > 0; o >>= 1) {
        vector<double> tr = r;
        vector<i64> ti = i;
        for (int l = 0; l < 32; ++l)
            amax_combine(tr[l], ti[l], r[l ^ o], i[l ^ o]);
        r = tr;
        i = ti;
    }
    for (int l = 1; l < 32; ++l)
        if (i[l] != i[0]) printf("warp amax lanes disagree\n");
    ro = r[0];
    io = i[0];
}

// The CUDA backend's state and ops on the host, for element type C (qdml_c64: float64, c32:
// float32), with the kernels' thread and lane structure.
template <typename C> struct Emu {
    typedef typename real_of<C>::type R;
    static const bool f32 = sizeof(R) == sizeof(float);
    qdml_backend_desc d;
    i64 N, B, total, ksum, cpm, P;
    shape3 sh;
    int blocks; // flat grid size used for the emulation
    vector<C> psi, work, backup, evh, evf, ktab;
    vector<R> v;
    vector<double> xt, k2t, part, red, energy;
    vector<i64> pimax;
    vector<qdml_moments> mom;
    vector<unsigned char> flush;
    i64 nflush = 0;
    // float64: plans on psi and work themselves (bit-identical to the CPU backend's transforms).
    // float32: plans on a double scratch array; the float data is widened, transformed, rounded.
    vector<qdml_c64> tmp;
    fftw_plan wf, wb, pf, pb;

    Emu(const qdml_backend_desc &desc, int blocks_) : d(desc), blocks(blocks_) {
        N = d.npoints;
        B = d.batch;
        total = N * B;
        ksum = d.n[0] + d.n[1] + d.n[2];
        cpm = segments_per_member(N, B);
        P = B * cpm;
        sh = make_shape3(d.n[0], d.n[1], d.n[2]);
        psi.assign(total, from_c64<C>(qdml_c64_make(0, 0)));
        work = backup = psi;
        evh.assign(total, from_c64<C>(qdml_c64_make(1, 0)));
        evf = evh;
        ktab.assign(B * ksum, from_c64<C>(qdml_c64_make(1, 0)));
        v.assign(total, 0);
        xt.assign(ksum, 0);
        k2t.assign(ksum, 0);
        part.assign(kFields * P, 0);
        red.assign(B, 0);
        energy.assign(B, 0);
        pimax.assign(P, 0);
        mom.resize(B);
        flush.assign(B, 0);
        i64 at = 0;
        for (int a = 0; a < 3; ++a)
            for (i64 j = 0; j < d.n[a]; ++j, ++at) {
                xt[at] = d.lo[a] + (double)j * d.length[a] / (double)d.n[a];
                const double k = qdml_wavenumber(j, d.n[a], d.length[a]);
                k2t[at] = k * k;
            }
        int n[3] = {(int)d.n[0], (int)d.n[1], (int)d.n[2]};
        fftw_complex *w, *p;
        if (f32) {
            tmp.assign(total, qdml_c64_make(0, 0));
            w = p = (fftw_complex *)tmp.data();
        } else {
            w = (fftw_complex *)work.data();
            p = (fftw_complex *)psi.data();
        }
        wf = fftw_plan_many_dft(3, n, (int)B, w, NULL, 1, (int)N, w, NULL, 1, (int)N, FFTW_FORWARD, FFTW_ESTIMATE);
        wb = fftw_plan_many_dft(3, n, (int)B, w, NULL, 1, (int)N, w, NULL, 1, (int)N, FFTW_BACKWARD, FFTW_ESTIMATE);
        pf = fftw_plan_many_dft(3, n, (int)B, p, NULL, 1, (int)N, p, NULL, 1, (int)N, FFTW_FORWARD, FFTW_ESTIMATE);
        pb = fftw_plan_many_dft(3, n, (int)B, p, NULL, 1, (int)N, p, NULL, 1, (int)N, FFTW_BACKWARD, FFTW_ESTIMATE);
    }
    ~Emu() {
        fftw_destroy_plan(wf);
        fftw_destroy_plan(wb);
        fftw_destroy_plan(pf);
        fftw_destroy_plan(pb);
    }
    Emu(const Emu &) = delete;
    Emu &operator=(const Emu &) = delete;

    i64 S(i64 n) const {
        i64 bl = (n + kBlock - 1) / kBlock;
        if (bl > blocks) bl = blocks;
        if (bl < 1) bl = 1;
        return bl * kBlock;
    }

    // The cuFFT stand-in on psi (x == &psi) or work.
    void transform(vector<C> &x, int forward) {
        const bool on_psi = &x == &psi;
        fftw_plan plan = on_psi ? (forward ? pf : pb) : (forward ? wf : wb);
        if (!f32) {
            fftw_execute(plan);
            return;
        }
        for (i64 i = 0; i < total; ++i)
            tmp[i] = widen(x[i]);
        fftw_execute(plan);
        for (i64 i = 0; i < total; ++i)
            x[i] = from_c64<C>(tmp[i]);
    }
    static qdml_c64 widen(qdml_c64 z) { return z; }
    static qdml_c64 widen(c32 z) { return qdml_c64_make(z.re, z.im); }

    void set_step(i64 b, const qdml_step_params *p) {
        const double c = p->dt / (2.0 * p->hbar);
        const i64 S1 = S(N);
        for (i64 t = 0; t < S1; ++t)
            for (i64 i = t; i < N; i += S1)
                step_potential_elem(v.data() + b * N, evh.data() + b * N, evf.data() + b * N, i, c, p->vshift,
                                    p->imaginary);
        const i64 S2 = S(ksum);
        for (i64 t = 0; t < S2; ++t)
            for (i64 j = t; j < ksum; j += S2)
                ktab[b * ksum + j] = from_c64<C>(
                    step_kinetic_elem(k2t.data(), j, p->imaginary, p->hbar, p->mass, p->dt, p->potential_only));
        const unsigned char flag = p->flush_tiny ? 1 : 0;
        if (flag != flush[b]) {
            nflush += flag ? 1 : -1;
            flush[b] = flag;
        }
    }

    // k_kick_norm + k_fin_sum emulation
    void seg_sum(const unsigned char *mask, int which, vector<double> &out, const unsigned char *dflush, const C *f) {
        for (i64 w = 0; w < P; ++w) {
            const i64 b = w / cpm, c = w - b * cpm;
            if (mask && !mask[b]) continue;
            vector<double> lanes(32);
            for (int lane = 0; lane < 32; ++lane) {
                if (which == 0) {
                    const int fl = dflush ? dflush[b] : 0;
                    lanes[lane] = lane_kick_norm(psi.data() + b * N, f + b * N, fl, N, c * 32 + lane, cpm * 32);
                } else {
                    lanes[lane] = lane_distance(psi.data() + b * N, backup.data() + b * N, N, c * 32 + lane, cpm * 32);
                }
            }
            part[w] = warp_sum_emu(lanes);
        }
        out.assign(B, -7.0);
        for (i64 b = 0; b < B; ++b) {
            if (mask && !mask[b]) {
                out[b] = 0.0;
                continue;
            }
            out[b] = fin_block_emu(part.data(), cpm, b);
        }
    }

    void kick(int full, const unsigned char *active, double *norms) {
        const C *f = full ? evf.data() : evh.data();
        const unsigned char *dflush = nflush > 0 ? flush.data() : NULL;
        if (!norms) {
            const i64 SS = S(total);
            const flat_stride fs = make_flat_stride(SS, sh);
            for (i64 t = 0; t < SS; ++t)
                flat_kick(psi.data(), f, total, N, active, dflush, t, fs);
            return;
        }
        vector<double> out;
        seg_sum(active, 0, out, dflush, f);
        for (i64 b = 0; b < B; ++b)
            norms[b] = out[b];
    }
    void fft(int forward) { transform(psi, forward); }
    void kinetic(const double *scale, const unsigned char *active) {
        const i64 SS = S(total);
        const flat_stride fs = make_flat_stride(SS, sh);
        const unsigned char *dflush = nflush > 0 ? flush.data() : NULL;
        for (i64 t = 0; t < SS; ++t)
            flat_kinetic(psi.data(), ktab.data(), ksum, scale, active, dflush, 1.0 / (double)N, total, sh, t, fs);
    }
    void scale(const double *sc, const unsigned char *active) {
        const i64 SS = S(total);
        const flat_stride fs = make_flat_stride(SS, sh);
        for (i64 t = 0; t < SS; ++t)
            flat_scale(psi.data(), sc, total, N, active, t, fs);
    }
    // The steps op (m = 1) as steps_impl issues it: with renormalisation each kick's norms become
    // the next scales on the device (k_fin_scale: renorm_member), the kinetic kernel counts the
    // substeps, and the member is scaled once at the end. stop_out: B entries.
    void steps(i64 n, const unsigned char *active, bool renorm, double dv, i64 *stop_out) {
        vector<double> sc(B, 1.0), norms(B);
        vector<i64> stop(B, -1);
        i64 count = 0;
        auto step_kick = [&](int full) {
            kick(full, active, renorm ? norms.data() : NULL);
            if (renorm)
                for (i64 b = 0; b < B; ++b)
                    if (!active || active[b]) renorm_member(norms[b], dv, count, &sc[b], &stop[b]);
        };
        step_kick(0);
        for (i64 i = 0; i < n; ++i) {
            fft(1);
            kinetic(sc.data(), active);
            if (renorm) ++count;
            fft(0);
            step_kick(i + 1 < n);
        }
        if (renorm) scale(sc.data(), active);
        for (i64 b = 0; b < B; ++b)
            stop_out[b] = (!active || active[b]) ? stop[b] : -1;
    }
    void backup_op(int restore, const unsigned char *mask) {
        vector<C> &src = restore ? backup : psi;
        vector<C> &dst = restore ? psi : backup;
        if (!mask) {
            dst = src;
            return;
        }
        const i64 SS = S(total);
        const flat_stride fs = make_flat_stride(SS, sh);
        for (i64 t = 0; t < SS; ++t)
            flat_copy_masked(dst.data(), src.data(), total, N, mask, t, fs);
    }
    void distance(const unsigned char *mask, double *out) {
        vector<double> r;
        seg_sum(mask, 1, r, NULL, NULL);
        for (i64 b = 0; b < B; ++b)
            if (!mask || mask[b]) out[b] = r[b];
    }
    void moments(const double *hbar, const double *mass, const unsigned char *want, qdml_moments *out) {
        const double invn = 1.0 / (double)N;
        vector<double> cpar(B);
        for (i64 b = 0; b < B; ++b)
            cpar[b] = hbar[b] * hbar[b] / (2.0 * mass[b]);
        // k_mom1
        for (i64 seg = 0; seg < P; ++seg) {
            const i64 b = seg / cpm, c = seg - b * cpm;
            if (want && !want[b]) continue;
            vector<double> l[9];
            for (auto &x : l)
                x.assign(32, 0);
            vector<double> lr(32);
            vector<i64> li(32);
            for (int lane = 0; lane < 32; ++lane) {
                mom1_acc a;
                mom1_init(a);
                lane_mom1(psi.data() + b * N, work.data() + b * N, v.data() + b * N, xt.data(), sh, c * 32 + lane,
                          cpm * 32, a);
                l[0][lane] = a.s0;
                l[1][lane] = a.sv;
                for (int dd = 0; dd < 3; ++dd) {
                    l[2 + dd][lane] = a.sx[dd];
                    l[5 + dd][lane] = a.sxx[dd];
                }
                lr[lane] = a.rmax;
                li[lane] = a.imax;
            }
            for (int f = 0; f < 8; ++f)
                part[f * P + seg] = warp_sum_emu(l[f]);
            double r;
            i64 ii;
            warp_amax_emu(lr, li, r, ii);
            part[F_RMAX * P + seg] = r;
            pimax[seg] = ii;
        }
        transform(work, 1);
        for (i64 seg = 0; seg < P; ++seg) {
            const i64 b = seg / cpm, c = seg - b * cpm;
            if (want && !want[b]) continue;
            vector<double> l(32);
            for (int lane = 0; lane < 32; ++lane)
                l[lane] = lane_mom2(work.data() + b * N, k2t.data(), cpar[b], invn, sh, c * 32 + lane, cpm * 32);
            part[F_ST * P + seg] = warp_sum_emu(l);
        }
        // fin1
        for (i64 b = 0; b < B; ++b) {
            qdml_moments m;
            memset(&m, 0, sizeof m);
            m.rmax = -1;
            m.imax = -1;
            if (want && !want[b]) {
                m.finite = 1;
                mom[b] = m;
                energy[b] = 0;
                continue;
            }
            const i64 first = b * cpm;
            vector<double> l[9];
            for (auto &x : l)
                x.assign(32, 0);
            vector<double> lr(32, -1.0);
            vector<i64> li(32, -1);
            for (int lane = 0; lane < 32; ++lane)
                for (i64 c = lane; c < cpm; c += 32) {
                    const i64 seg = first + c;
                    l[0][lane] += part[F_S0 * P + seg];
                    l[1][lane] += part[F_SV * P + seg];
                    l[8][lane] += part[F_ST * P + seg];
                    for (int dd = 0; dd < 3; ++dd) {
                        l[2 + dd][lane] += part[(F_SX + dd) * P + seg];
                        l[5 + dd][lane] += part[(F_SXX + dd) * P + seg];
                    }
                    amax_combine(lr[lane], li[lane], part[F_RMAX * P + seg], pimax[seg]);
                }
            m.s0 = warp_sum_emu(l[0]);
            m.sv = warp_sum_emu(l[1]);
            m.st = warp_sum_emu(l[8]) * invn;
            for (int dd = 0; dd < 3; ++dd) {
                m.sx[dd] = warp_sum_emu(l[2 + dd]);
                m.sxx[dd] = warp_sum_emu(l[5 + dd]);
            }
            double r;
            i64 ii;
            warp_amax_emu(lr, li, r, ii);
            m.rmax = r;
            m.imax = ii;
            mom[b] = m;
            energy[b] = m.s0 > 0 ? (m.st + m.sv) / m.s0 : 0.0;
        }
        transform(work, 0);
        for (i64 seg = 0; seg < P; ++seg) {
            const i64 b = seg / cpm, c = seg - b * cpm;
            if (want && !want[b]) continue;
            vector<double> l(32);
            for (int lane = 0; lane < 32; ++lane)
                l[lane] = lane_mom3(psi.data() + b * N, work.data() + b * N, v.data() + b * N, energy[b], N,
                                    c * 32 + lane, cpm * 32);
            part[F_SRES * P + seg] = warp_sum_emu(l);
        }
        for (i64 b = 0; b < B; ++b) {
            if (want && !want[b]) continue;
            vector<double> l(32, 0);
            for (int lane = 0; lane < 32; ++lane)
                for (i64 c = lane; c < cpm; c += 32)
                    l[lane] += part[F_SRES * P + b * cpm + c];
            const double acc = warp_sum_emu(l);
            mom[b].sres = acc;
            mom[b].finite = isfinite(mom[b].s0) && isfinite(mom[b].sv) && isfinite(mom[b].st) && isfinite(acc);
        }
        for (i64 b = 0; b < B; ++b)
            out[b] = mom[b];
    }

    // Host interleaved doubles <-> member b, as set_state / get_state (float32: rounded / widened).
    void put_state(i64 b, const double *z) {
        for (i64 i = 0; i < N; ++i)
            psi[b * N + i] = from_c64<C>(qdml_c64_make(z[2 * i], z[2 * i + 1]));
    }
    void get_state(i64 b, double *z) const {
        for (i64 i = 0; i < N; ++i) {
            const qdml_c64 w = widen(psi[b * N + i]);
            z[2 * i] = w.re;
            z[2 * i + 1] = w.im;
        }
    }
    void put_potential(i64 b, const double *x) {
        for (i64 i = 0; i < N; ++i)
            v[b * N + i] = (R)x[i];
    }

    // k_fill_objective (one warp per segment, segments as for a batch of one) into the member's slice
    // of work, k_fill_fin (one warp over the segments), then the copy into V when nothing is bad.
    void fill_objective(i64 b, const qdml_objective &o, int dim, qdml_fill_result *out) {
        i64 nseg = segments_per_member(N, 1);
        if (nseg > P) nseg = P;
        R *scratch = reinterpret_cast<R *>(work.data() + b * N);
        vector<double> pmin(nseg), pmax(nseg);
        vector<i64> pbad(nseg);
        for (i64 seg = 0; seg < nseg; ++seg) {
            vector<fill_acc> lanes(32);
            for (int lane = 0; lane < 32; ++lane) {
                fill_init(lanes[lane]);
                lane_fill_objective(scratch, o, dim, xt.data(), sh, seg * 32 + lane, nseg * 32, lanes[lane]);
            }
            const fill_acc a = warp_fill_emu(lanes);
            pmin[seg] = a.vmin;
            pmax[seg] = a.vmax;
            pbad[seg] = a.bad;
        }
        vector<fill_acc> lanes(32);
        for (int lane = 0; lane < 32; ++lane) {
            fill_init(lanes[lane]);
            for (i64 c = lane; c < nseg; c += 32)
                fill_combine(lanes[lane], pmin[c], pmax[c], pbad[c]);
        }
        const fill_acc a = warp_fill_emu(lanes);
        out->vmin = a.vmin;
        out->vmax = a.vmax;
        out->first_bad = a.bad;
        if (a.bad < 0)
            for (i64 i = 0; i < N; ++i)
                v[b * N + i] = scratch[i];
    }
    static fill_acc warp_fill_emu(vector<fill_acc> l) {
        for (int o = 16; o > 0; o >>= 1) {
            vector<fill_acc> t = l;
            for (int lane = 0; lane < 32; ++lane)
                fill_combine(t[lane], l[lane ^ o].vmin, l[lane ^ o].vmax, l[lane ^ o].bad);
            l = t;
        }
        for (int lane = 1; lane < 32; ++lane)
            if (!same_acc(l[lane], l[0])) printf("warp fill lanes disagree\n");
        return l[0];
    }
    static bool same_acc(const fill_acc &a, const fill_acc &b) {
        return a.vmin == b.vmin && a.vmax == b.vmax && a.bad == b.bad;
    }
};

static bool same(double a, double b) { return a == b || (a != a && b != b); }
static bool close(double a, double b, double tol) {
    if (same(a, b)) return true;
    const double s = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= tol * (s > 1e-300 ? s : 1e-300);
}

// Largest float32 pointwise difference seen, relative to the member's largest amplitude (printed).
static double worst_f32 = 0;

template <typename C>
static void compare_state(const char *what, const qdml_backend_ops *ops, qdml_backend_state *cs, const Emu<C> &e,
                          bool exact, double tol = 1e-12) {
    vector<double> buf(2 * e.N), em(2 * e.N);
    for (i64 b = 0; b < e.B; ++b) {
        ops->get_state(cs, b, buf.data());
        e.get_state(b, em.data());
        // scale for relative comparison: max amplitude of the member
        double amax = 0;
        for (i64 i = 0; i < 2 * e.N; ++i)
            amax = fmax(amax, fabs(buf[i]));
        for (i64 i = 0; i < e.N; ++i) {
            const double re = em[2 * i], im = em[2 * i + 1];
            if (exact) {
                CHECK(same(buf[2 * i], re) && same(buf[2 * i + 1], im),
                      "%s: member %lld point %lld: cpu (%.17g, %.17g) emu (%.17g, %.17g)", what, (long long)b,
                      (long long)i, buf[2 * i], buf[2 * i + 1], re, im);
            } else {
                const double d = fmax(fabs(buf[2 * i] - re), fabs(buf[2 * i + 1] - im)) / (amax > 0 ? amax : 1);
                if (Emu<C>::f32) worst_f32 = fmax(worst_f32, d);
                CHECK(d <= tol, "%s: member %lld point %lld: rel diff %g (cpu %.9g %.9g emu %.9g %.9g)", what,
                      (long long)b, (long long)i, d, buf[2 * i], buf[2 * i + 1], re, im);
            }
        }
    }
}

// tol: the density sums; tol_fft: st and sres (float64: the original bounds).
static void compare_moments(const char *what, const qdml_moments *a, const qdml_moments *b, i64 B, double tol,
                            double tol_fft) {
    for (i64 m = 0; m < B; ++m) {
        const qdml_moments &x = a[m], &y = b[m];
        CHECK(close(x.s0, y.s0, tol), "%s m%lld s0 %.17g %.17g", what, (long long)m, x.s0, y.s0);
        CHECK(close(x.sv, y.sv, tol), "%s m%lld sv %.17g %.17g", what, (long long)m, x.sv, y.sv);
        if (tol_fft > 0)
            CHECK(close(x.st, y.st, tol_fft), "%s m%lld st %.17g %.17g", what, (long long)m, x.st, y.st);
        else
            CHECK(close(x.st, y.st, 1e-9) || fabs(x.st - y.st) < 1e-12 * fabs(x.s0) * 1e3, "%s m%lld st %.17g %.17g",
                  what, (long long)m, x.st, y.st);
        for (int d = 0; d < 3; ++d) {
            const double sc = fabs(x.s0) * 10 + 1e-300;
            CHECK(close(x.sx[d], y.sx[d], tol) || fabs(x.sx[d] - y.sx[d]) < 1e-12 * sc, "%s m%lld sx%d %.17g %.17g",
                  what, (long long)m, d, x.sx[d], y.sx[d]);
            CHECK(close(x.sxx[d], y.sxx[d], tol) || fabs(x.sxx[d] - y.sxx[d]) < 1e-12 * sc * 10,
                  "%s m%lld sxx%d %.17g %.17g", what, (long long)m, d, x.sxx[d], y.sxx[d]);
        }
        CHECK(same(x.rmax, y.rmax), "%s m%lld rmax %.17g %.17g", what, (long long)m, x.rmax, y.rmax);
        CHECK(x.imax == y.imax, "%s m%lld imax %lld %lld", what, (long long)m, (long long)x.imax, (long long)y.imax);
        if (tol_fft > 0)
            CHECK(close(x.sres, y.sres, tol_fft), "%s m%lld sres %.17g %.17g", what, (long long)m, x.sres, y.sres);
        else
            CHECK(close(x.sres, y.sres, 1e-8) || fabs(x.sres - y.sres) < 1e-10 * (fabs(x.s0) + 1e-300) * 1e6,
                  "%s m%lld sres %.17g %.17g", what, (long long)m, x.sres, y.sres);
        CHECK(x.finite == y.finite, "%s m%lld finite %d %d", what, (long long)m, x.finite, y.finite);
    }
}

// float32: give the CPU backend the emulated state, widened (exactly) to double, so the next op
// starts from the same values on both sides. float64: nothing to do (the states are identical).
template <typename C> static void sync_cpu(const qdml_backend_ops *ops, qdml_backend_state *cs, const Emu<C> &e) {
    if (!Emu<C>::f32) return;
    vector<double> buf(2 * e.N);
    for (i64 b = 0; b < e.B; ++b) {
        e.get_state(b, buf.data());
        ops->set_state(cs, b, buf.data());
    }
}

// fill_objective for every kind, on every grid dimension the internal shape allows (a shape with
// n0 = 1 is also a 2D grid, and so on), with random parameters in [0.5, 1.5) (positive, as the
// scales must be; lambda of Poschl-Teller above 1), against the CPU backend: the values bit for bit
// (float32: the CPU's double values rounded to float), the summary (min and max of the double
// values, first bad index) exactly, other members untouched. Then a harmonic term of stiffness
// 1e308 (float64) or 1e39 (float32) on the last axis, centred on the box's lower edge, whose values
// overflow the storage type from some point of each row on: the same first bad index on both
// sides, and the member's potential left as it was.
template <typename C>
static void check_fill_objective(const qdml_backend_ops *ops, qdml_backend_state *cs, Emu<C> &e, std::mt19937_64 &rng) {
    typedef typename Emu<C>::R R;
    const bool f32 = Emu<C>::f32;
    std::uniform_real_distribution<double> U(0.5, 1.5);
    const i64 N = e.N, B = e.B;
    const int dim_min = e.d.n[0] > 1 ? 3 : e.d.n[1] > 1 ? 2 : 1;
    vector<double> vb(N), before(N);
    vector<R> keep;
    for (int dim = dim_min; dim <= 3; ++dim)
        for (int kind = 0; kind < QDML_OBJECTIVE_COUNT; ++kind) {
            if (kind == QDML_OBJECTIVE_ROSENBROCK && dim < 2) continue;
            const bool only_2d = kind == QDML_OBJECTIVE_BOHACHEVSKY2 || kind == QDML_OBJECTIVE_CAMEL3 ||
                                 kind == QDML_OBJECTIVE_HOLDER || kind == QDML_OBJECTIVE_HOSAKI ||
                                 kind == QDML_OBJECTIVE_LEVY13;
            if (only_2d && dim != 2) continue; /* defined in 2D only: they read x[0] and x[1] */
            qdml_objective o;
            memset(&o, 0, sizeof o);
            o.kind = (qdml_objective_kind)kind;
            for (int k = 0; k < QDML_OBJECTIVE_MAX_PARAMS; ++k)
                o.p[k] = U(rng);
            if (kind == QDML_OBJECTIVE_POSCHL_TELLER) o.p[0] += 1.0;
            const i64 b = (i64)(rng() % (unsigned long long)B);
            keep.assign(e.v.begin(), e.v.end());
            qdml_fill_result r1, r2;
            CHECK(ops->fill_objective(cs, b, &o, dim, &r1) == QDML_OK, "cpu fill_objective");
            e.fill_objective(b, o, dim, &r2);
            ops->get_potential(cs, b, vb.data());
            for (i64 i = 0; i < N; ++i)
                CHECK(same((double)e.v[b * N + i], (double)(R)vb[i]),
                      "fill kind %d dim %d m%lld [%lld]: cpu %.17g emu %.17g", kind, dim, (long long)b, (long long)i,
                      vb[i], (double)e.v[b * N + i]);
            CHECK(r1.vmin == r2.vmin && r1.vmax == r2.vmax && r1.first_bad == r2.first_bad && r2.first_bad == -1,
                  "fill kind %d dim %d: summary cpu (%.17g, %.17g, %lld) emu (%.17g, %.17g, %lld)", kind, dim, r1.vmin,
                  r1.vmax, (long long)r1.first_bad, r2.vmin, r2.vmax, (long long)r2.first_bad);
            for (i64 m = 0; m < B; ++m)
                if (m != b)
                    for (i64 i = 0; i < N; ++i)
                        CHECK(same((double)e.v[m * N + i], (double)keep[m * N + i]), "fill changed member %lld",
                              (long long)m);
        }
    // Overflow on the last axis (internal axis 2, box [lo2, lo2 + len2)).
    for (int dim = dim_min; dim <= 3; ++dim) {
        qdml_objective o;
        memset(&o, 0, sizeof o);
        o.kind = QDML_OBJECTIVE_HARMONIC;
        for (int d = 0; d < 3; ++d)
            o.p[d] = 1.0;
        o.p[dim - 1] = f32 ? 1e39 : 1e308;
        o.p[3 + dim - 1] = e.d.lo[2];
        const i64 b = B - 1;
        ops->get_potential(cs, b, before.data());
        keep.assign(e.v.begin(), e.v.end());
        qdml_fill_result r1, r2;
        CHECK(ops->fill_objective(cs, b, &o, dim, &r1) == QDML_OK, "cpu fill_objective (overflow)");
        e.fill_objective(b, o, dim, &r2);
        // The CPU stores doubles: its first bad index in the storage type of C, from its own values.
        i64 want = -1;
        if (r1.first_bad >= 0) {
            want = r1.first_bad;
        } else {
            ops->get_potential(cs, b, vb.data());
            for (i64 i = 0; i < N && want < 0; ++i)
                if (!isfinite((double)(R)vb[i])) want = i;
        }
        const i64 n2 = e.d.n[2];
        CHECK(want == r2.first_bad, "overflow dim %d: first bad cpu %lld emu %lld", dim, (long long)want,
              (long long)r2.first_bad);
        CHECK(n2 < 8 || want > 0, "overflow dim %d (n2 %lld): no overflow inside the row (first bad %lld)", dim,
              (long long)n2, (long long)want);
        for (i64 m = 0; m < B; ++m)
            if (r2.first_bad >= 0 || m != b)
                for (i64 i = 0; i < N; ++i)
                    CHECK(same((double)e.v[m * N + i], (double)keep[m * N + i]), "a refused fill changed member %lld",
                          (long long)m);
        if (r1.first_bad >= 0) {
            ops->get_potential(cs, b, vb.data());
            for (i64 i = 0; i < N; ++i)
                CHECK(same(vb[i], before[i]), "a refused cpu fill changed the potential at %lld", (long long)i);
        }
    }
}

template <typename C> static void run_case(int64_t n0, int64_t n1, int64_t n2, int64_t B, int blocks, unsigned seed) {
    const bool f32 = Emu<C>::f32;
    // float64: exact pointwise, 1e-12 / 1e-13 sums. float32: see the top of the file.
    const bool exact = !f32;
    const double ptol = f32 ? 1e-6 : 1e-12, ftol = f32 ? 1e-6 : 0.0;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> U(-1, 1);
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    d.n[0] = n0;
    d.n[1] = n1;
    d.n[2] = n2;
    const double lo[3] = {-1.5, 0.25, -3.0}, len[3] = {3.0, 2.0, 7.5};
    for (int a = 0; a < 3; ++a) {
        d.lo[a] = lo[a];
        d.length[a] = len[a];
    }
    d.npoints = n0 * n1 * n2;
    d.batch = B;
    d.dv = 1;
    d.nthreads = 3;
    d.effort = QDML_FFT_ESTIMATE;
    d.precision = QDML_FLOAT64; // the CPU reference is float64; the emulated side is C
    d.wisdom_path = NULL;
    const qdml_backend_ops *ops = &qdml_backend_cpu_ops;
    qdml_backend_state *cs = NULL;
    if (ops->create(&d, &cs) != QDML_OK) {
        printf("cpu create failed: %s\n", qdml_last_error_message());
        exit(1);
    }
    Emu<C> e(d, blocks);
    const i64 N = e.N;
    printf("case %s %lldx%lldx%lld B=%lld blocks=%d cpm=%lld\n", f32 ? "float32" : "float64", (long long)n0,
           (long long)n1, (long long)n2, (long long)B, blocks, (long long)e.cpm);
    vector<double> buf(2 * N), vb(N), back(2 * N);
    for (i64 b = 0; b < B; ++b) {
        for (i64 i = 0; i < 2 * N; ++i)
            buf[i] = U(rng);
        for (i64 i = 0; i < N; ++i)
            vb[i] = 3 * U(rng);
        // tiny amplitudes for flush tests (float32: below its threshold 1e-30, above FLT_MIN)
        if (N > 4) {
            buf[2] = f32 ? 3e-31 : 3e-201;
            buf[5] = f32 ? -2e-31 : -2e-201;
        }
        e.put_state(b, buf.data());
        e.put_potential(b, vb.data());
        // the CPU gets the values the emulated side holds (float32: rounded, then widened)
        e.get_state(b, back.data());
        for (i64 i = 0; i < N; ++i)
            vb[i] = (double)e.v[b * N + i];
        ops->set_state(cs, b, back.data());
        ops->set_potential(cs, b, vb.data());
    }
    vector<double> hbar(B), mass(B);
    for (i64 b = 0; b < B; ++b) {
        qdml_step_params p;
        memset(&p, 0, sizeof p);
        p.imaginary = (int)(b % 2);
        p.dt = 0.01 + 0.05 * (U(rng) + 1);
        p.hbar = hbar[b] = 0.5 + (U(rng) + 1);
        p.mass = mass[b] = 0.3 + (U(rng) + 1);
        p.vshift = p.imaginary ? -3.0 : 0.0;
        p.potential_only = (b % 3 == 2);
        p.flush_tiny = p.imaginary && (b % 4 == 1);
        ops->set_step(cs, b, &p);
        e.set_step(b, &p);
    }
    vector<unsigned char> act(B);
    for (i64 b = 0; b < B; ++b)
        act[b] = (unsigned char)(rng() % 3 != 0);
    vector<double> n1v(B, -1), n2v(B, -2);
    // kick half with mask and norms
    ops->kick(cs, 0, act.data(), n1v.data());
    e.kick(0, act.data(), n2v.data());
    compare_state("kick half masked norms", ops, cs, e, exact, ptol);
    for (i64 b = 0; b < B; ++b)
        CHECK(close(n1v[b], n2v[b], f32 ? ptol : 1e-13), "norm m%lld %.17g %.17g", (long long)b, n1v[b], n2v[b]);
    if (f32 && N > 4) {
        // The float32 flush: psi[1] (3e-31 x a factor <= 1 in modulus) is zero after the kick exactly
        // where the member is active and flushes; elsewhere it is still there.
        for (i64 b = 0; b < B; ++b) {
            const bool flushed = act[b] && e.flush[b];
            const double re = e.psi[b * N + 1].re;
            CHECK(flushed ? re == 0.0 : re != 0.0, "float32 flush m%lld active %d flush %d: psi[1].re = %g",
                  (long long)b, act[b], e.flush[b], re);
        }
    }
    sync_cpu(ops, cs, e);
    // kick full, all, no norms
    ops->kick(cs, 1, NULL, NULL);
    e.kick(1, NULL, NULL);
    compare_state("kick full", ops, cs, e, exact, ptol);
    sync_cpu(ops, cs, e);
    // kick full, masked, no norms
    ops->kick(cs, 1, act.data(), NULL);
    e.kick(1, act.data(), NULL);
    compare_state("kick full masked", ops, cs, e, exact, ptol);
    sync_cpu(ops, cs, e);
    // kick half, all, norms
    ops->kick(cs, 0, NULL, n1v.data());
    e.kick(0, NULL, n2v.data());
    compare_state("kick half norms", ops, cs, e, exact, ptol);
    for (i64 b = 0; b < B; ++b)
        CHECK(close(n1v[b], n2v[b], f32 ? ptol : 1e-13), "norm2 m%lld %.17g %.17g", (long long)b, n1v[b], n2v[b]);
    sync_cpu(ops, cs, e);
    // kinetic
    vector<double> sc(B);
    for (i64 b = 0; b < B; ++b)
        sc[b] = 1 + 0.5 * U(rng);
    ops->fft(cs, 1);
    e.fft(1);
    compare_state("fft fwd", ops, cs, e, exact, ptol);
    sync_cpu(ops, cs, e);
    ops->kinetic(cs, sc.data(), act.data());
    e.kinetic(sc.data(), act.data());
    compare_state("kinetic masked", ops, cs, e, exact, ptol);
    ops->fft(cs, 0);
    e.fft(0);
    ops->fft(cs, 1);
    e.fft(1);
    sync_cpu(ops, cs, e);
    ops->kinetic(cs, sc.data(), NULL);
    e.kinetic(sc.data(), NULL);
    compare_state("kinetic all", ops, cs, e, exact, ptol);
    ops->fft(cs, 0);
    e.fft(0);
    sync_cpu(ops, cs, e);
    // scale
    ops->scale(cs, sc.data(), act.data());
    e.scale(sc.data(), act.data());
    compare_state("scale masked", ops, cs, e, exact, ptol);
    sync_cpu(ops, cs, e);
    ops->scale(cs, sc.data(), NULL);
    e.scale(sc.data(), NULL);
    compare_state("scale all", ops, cs, e, exact, ptol);
    sync_cpu(ops, cs, e);
    // moments
    vector<qdml_moments> m1(B), m2(B);
    vector<unsigned char> want(B);
    for (i64 b = 0; b < B; ++b)
        want[b] = (unsigned char)(rng() % 2);
    ops->moments(cs, hbar.data(), mass.data(), NULL, m1.data());
    e.moments(hbar.data(), mass.data(), NULL, m2.data());
    compare_moments("moments all", m1.data(), m2.data(), B, 1e-12, ftol);
    memset(m1.data(), 0x55, B * sizeof m1[0]);
    memset(m2.data(), 0x55, B * sizeof m2[0]);
    ops->moments(cs, hbar.data(), mass.data(), want.data(), m1.data());
    e.moments(hbar.data(), mass.data(), want.data(), m2.data());
    compare_moments("moments want", m1.data(), m2.data(), B, 1e-12, ftol);
    compare_state("after moments", ops, cs, e, true);
    // backup / distance
    ops->backup(cs, 0, NULL);
    e.backup_op(0, NULL);
    ops->kick(cs, 1, NULL, NULL);
    e.kick(1, NULL, NULL);
    sync_cpu(ops, cs, e);
    vector<double> d1(B, -5), d2(B, -5);
    ops->distance(cs, act.data(), d1.data());
    e.distance(act.data(), d2.data());
    for (i64 b = 0; b < B; ++b)
        CHECK(close(d1[b], d2[b], 1e-12), "distance m%lld %.17g %.17g", (long long)b, d1[b], d2[b]);
    ops->distance(cs, NULL, d1.data());
    e.distance(NULL, d2.data());
    for (i64 b = 0; b < B; ++b)
        CHECK(close(d1[b], d2[b], 1e-12), "distance all m%lld %.17g %.17g", (long long)b, d1[b], d2[b]);
    ops->backup(cs, 1, act.data());
    e.backup_op(1, act.data());
    compare_state("restore masked", ops, cs, e, true);
    ops->kick(cs, 1, NULL, NULL);
    e.kick(1, NULL, NULL);
    sync_cpu(ops, cs, e);
    ops->backup(cs, 0, want.data());
    e.backup_op(0, want.data());
    ops->backup(cs, 1, NULL);
    e.backup_op(1, NULL);
    compare_state("save masked restore all", ops, cs, e, true);

    // argmax: ties and NaN (float32: the values are exact in float, so the CPU sees the same ties)
    for (int scenario = 0; scenario < 4; ++scenario) {
        for (i64 b = 0; b < B; ++b) {
            for (i64 i = 0; i < 2 * N; ++i)
                buf[i] = 0.25 * U(rng);
            const i64 k = (i64)(rng() % N), k2 = (i64)(rng() % N), k3 = (i64)(rng() % N);
            if (scenario == 0) { // ties
                buf[2 * k] = 1.0;
                buf[2 * k2 + 1] = 1.0;
                buf[2 * k3] = -1.0;
            } else if (scenario == 1) { // NaNs
                buf[2 * k] = NAN;
                buf[2 * k2 + 1] = NAN;
                buf[2 * k3] = 2.0;
            } else if (scenario == 2) { // inf and tie
                buf[2 * k] = INFINITY;
                buf[2 * k2] = -INFINITY;
            } else { // all equal
                for (i64 i = 0; i < 2 * N; ++i)
                    buf[i] = (i % 2) ? 0.0 : 0.5;
            }
            e.put_state(b, buf.data());
            e.get_state(b, back.data());
            ops->set_state(cs, b, back.data());
        }
        ops->moments(cs, hbar.data(), mass.data(), NULL, m1.data());
        e.moments(hbar.data(), mass.data(), NULL, m2.data());
        for (i64 b = 0; b < B; ++b) {
            CHECK(same(m1[b].rmax, m2[b].rmax) && m1[b].imax == m2[b].imax,
                  "argmax scenario %d m%lld cpu (%g, %lld) emu (%g, %lld)", scenario, (long long)b, m1[b].rmax,
                  (long long)m1[b].imax, m2[b].rmax, (long long)m2[b].imax);
            CHECK(m1[b].finite == m2[b].finite, "finite scenario %d m%lld", scenario, (long long)b);
        }
    }
    check_fill_objective(ops, cs, e, rng);
    check_steps(ops, cs, e, rng);
    ops->destroy(cs);
}

// What the solver does with the single ops for n steps (host/solver.c, advance, m = 1), written
// against any ops: kick(full, norms), fft(forward), kinetic(scales), scale(scales). Scales are
// computed on the host as the solver does, and the first bad norm is recorded as backend.h defines
// stop (substeps completed when it was found); unlike the solver it goes on after one, as the
// members never mix.
template <typename Kick, typename Fft, typename Kin, typename Scale>
static void single_op_steps(i64 B, i64 n, const unsigned char *active, bool renorm, double dv, i64 *stop, Kick kick,
                            Fft fft, Kin kinetic, Scale scale) {
    vector<double> norms(B), sc(B, 1.0);
    for (i64 b = 0; b < B; ++b)
        stop[b] = -1;
    auto after_kick = [&](i64 done) {
        for (i64 b = 0; renorm && b < B; ++b) {
            if (active && !active[b]) continue;
            if (!(isfinite(norms[b]) && norms[b] > 0) && stop[b] < 0) stop[b] = done;
            sc[b] = 1.0 / sqrt(norms[b] * dv);
        }
    };
    kick(0, renorm ? norms.data() : NULL);
    after_kick(0);
    for (i64 i = 0; i < n; ++i) {
        fft(1);
        kinetic(sc.data());
        fft(0);
        kick(i + 1 < n, renorm ? norms.data() : NULL);
        after_kick(i + 1);
    }
    if (renorm) scale(sc.data());
}

static int late_stops = 0; // float64 members whose norm turned bad after the second substep

// The steps op: the emulated op against the emulated single ops with host scales (bit for bit, both
// precisions: the scales are the same expression of the same sums) and, in float64, against the CPU
// backend's single ops (states within 1e-12 of the member's largest amplitude: the norms are summed
// in another order). Imaginary-time members with random steps, masks and flush flags. Member 1
// starts at zero (its first norm is 0: stop 0). With renormalisation, member 2 has a negative step
// whose kinetic factor overflows on grids with large enough wavenumbers (its first norm is finite,
// the next is not: stop 1), and member 3 (potential only) a factor e^360 at one point that starts
// at 1e-300: renormalised, the point grows by e^360 against the rest each step until its norm
// overflows, two or three substeps in (float64; in float32 the factor overflows: stop 0).
template <typename C>
static void check_steps(const qdml_backend_ops *ops, qdml_backend_state *cs, Emu<C> &e, std::mt19937_64 &rng) {
    std::uniform_real_distribution<double> U(-1, 1);
    const i64 N = e.N, B = e.B;
    const double dv = 0.37;
    vector<double> buf(2 * N), back(2 * N), cb(2 * N), vb(N);
    for (int pass = 0; pass < 2; ++pass) {
        const bool renorm = pass == 0;
        const i64 n = renorm ? 5 : 3;
        for (i64 b = 0; b < B; ++b) {
            const bool overflow = renorm && b == 2, grows = renorm && b == 3;
            for (i64 i = 0; i < 2 * N; ++i)
                buf[i] = b == 1 ? 0.0 : grows ? (i % 2 ? 0.0 : 1.0) : U(rng);
            for (i64 i = 0; i < N; ++i)
                vb[i] = grows ? 0.0 : 3 * U(rng);
            if (grows) {
                buf[2 * (N / 2)] = 1e-300;
                vb[N / 2] = -360.0;
            }
            e.put_state(b, buf.data());
            e.put_potential(b, vb.data());
            e.get_state(b, back.data());
            ops->set_state(cs, b, back.data());
            for (i64 i = 0; i < N; ++i)
                vb[i] = (double)e.v[b * N + i];
            ops->set_potential(cs, b, vb.data());
            qdml_step_params p;
            memset(&p, 0, sizeof p);
            p.imaginary = 1;
            p.dt = overflow ? -50.0 : grows ? 1.0 : 0.01 + 0.05 * (U(rng) + 1);
            p.hbar = grows ? 1.0 : 0.5 + (U(rng) + 1);
            p.mass = 0.3 + (U(rng) + 1);
            p.vshift = overflow ? 3.0 : grows ? 0.0 : -3.0; /* dt < 0: potential factors <= 1 */
            p.potential_only = grows;
            p.flush_tiny = b % 4 == 1;
            ops->set_step(cs, b, &p);
            e.set_step(b, &p);
        }
        vector<unsigned char> act(B);
        for (i64 b = 0; b < B; ++b)
            act[b] = (unsigned char)(b < 4 || rng() % 3 != 0);
        const unsigned char *mask = (B > 4) ? act.data() : NULL;
        Emu<C> e2(e.d, e.blocks);
        e2.psi = e.psi;
        e2.evh = e.evh;
        e2.evf = e.evf;
        e2.ktab = e.ktab;
        e2.v = e.v;
        e2.flush = e.flush;
        e2.nflush = e.nflush;
        vector<i64> s1(B), s2(B), s3(B);
        e.steps(n, mask, renorm, dv, s1.data());
        single_op_steps(
            B, n, mask, renorm, dv, s2.data(), [&](int full, double *nm) { e2.kick(full, mask, nm); },
            [&](int fwd) { e2.fft(fwd); }, [&](const double *sc) { e2.kinetic(sc, mask); },
            [&](const double *sc) { e2.scale(sc, mask); });
        single_op_steps(
            B, n, mask, renorm, dv, s3.data(), [&](int full, double *nm) { ops->kick(cs, full, mask, nm); },
            [&](int fwd) { ops->fft(cs, fwd); }, [&](const double *sc) { ops->kinetic(cs, sc, mask); },
            [&](const double *sc) { ops->scale(cs, sc, mask); });
        for (i64 b = 0; b < B; ++b) {
            const bool on = !mask || mask[b];
            CHECK(s1[b] == s2[b], "steps (renorm %d) m%lld: stop %lld, single ops %lld", (int)renorm, (long long)b,
                  (long long)s1[b], (long long)s2[b]);
            if (!Emu<C>::f32)
                CHECK(s1[b] == s3[b], "steps (renorm %d) m%lld: stop %lld, cpu %lld", (int)renorm, (long long)b,
                      (long long)s1[b], (long long)s3[b]);
            if (renorm && B > 1 && b == 1 && on)
                CHECK(s1[b] == 0, "steps: the zero member's stop is %lld, not 0", (long long)s1[b]);
            if (!Emu<C>::f32 && s1[b] >= 2) ++late_stops;
            for (i64 i = 0; i < N; ++i)
                CHECK(same((double)e.psi[b * N + i].re, (double)e2.psi[b * N + i].re) &&
                          same((double)e.psi[b * N + i].im, (double)e2.psi[b * N + i].im),
                      "steps (renorm %d) m%lld point %lld: op and single ops differ", (int)renorm, (long long)b,
                      (long long)i);
            if (Emu<C>::f32 || s1[b] >= 0) continue;
            e.get_state(b, back.data());
            ops->get_state(cs, b, cb.data());
            bool finite = true;
            for (i64 i = 0; i < 2 * N; ++i)
                finite = finite && isfinite(cb[i]);
            if (!finite) continue; // grown past the double range without renormalisation: nothing to compare
            double amax = 0, d = 0;
            for (i64 i = 0; i < 2 * N; ++i) {
                amax = fmax(amax, fabs(cb[i]));
                const double x = fabs(cb[i] - back[i]);
                d = (x > d || x != x) ? x : d;
            }
            CHECK(d <= 1e-12 * (amax > 0 ? amax : 1), "steps (renorm %d) m%lld: cpu and emulation differ by %g of %g",
                  (int)renorm, (long long)b, d, amax);
        }
    }
}

// Element-level checks of the float32 helpers: rounding of factors computed in double, |z|^2 in
// double, the flush threshold.
// The emulated kernels against a closed form, not only against the CPU backend (which shares
// core/pointwise.h and core/step.h with them): in a flat potential v0 any state evolves by exactly
// exp(-i E_k t / hbar) per Fourier mode in real time, exp(-E_k t / hbar) in imaginary time without
// renormalisation, E_k = hbar^2 k^2 / 2m + v0, k = 2 pi q / L with q the mode index taken into
// [-n/2, n/2]. A batch of three members (real, imaginary, real time; each its own v0, hbar, m and
// random state) runs the emulated steps op; each member is compared with its closed form, computed
// here with direct sums over each axis. Bounds: float64 1e-12 of max |psi| (rounding of 8 steps of
// two transforms); float32 1e-5 (8 steps of the float products and the rounded transforms, a few
// units of 6e-8 each).
static const double kPi = 3.14159265358979323846;
static void exact_flat(const int64_t n[3], const double len[3], vector<double> &z, double hbar, double mass, double v0,
                       double t, bool imaginary) {
    const i64 N = n[0] * n[1] * n[2];
    vector<double> line;
    for (int pass = 0; pass < 2; ++pass) {
        const double sign = pass == 0 ? -1.0 : 1.0;
        for (int a = 0; a < 3; ++a) {
            const i64 na = n[a], stride = a == 0 ? n[1] * n[2] : a == 1 ? n[2] : 1;
            line.assign(2 * na, 0.0);
            for (i64 base = 0; base < N; ++base) {
                if ((base / stride) % na != 0) continue; // the first point of each line along axis a
                for (i64 q = 0; q < na; ++q) {
                    double re = 0, im = 0;
                    for (i64 j = 0; j < na; ++j) {
                        const double ang = sign * 2.0 * kPi * (double)((j * q) % na) / (double)na;
                        const double c = cos(ang), sn = sin(ang), x = z[2 * (base + j * stride)],
                                     y = z[2 * (base + j * stride) + 1];
                        re += x * c - y * sn;
                        im += x * sn + y * c;
                    }
                    line[2 * q] = re;
                    line[2 * q + 1] = im;
                }
                for (i64 q = 0; q < na; ++q) {
                    z[2 * (base + q * stride)] = line[2 * q];
                    z[2 * (base + q * stride) + 1] = line[2 * q + 1];
                }
            }
        }
        if (pass == 1) break;
        for (i64 i = 0; i < N; ++i) {
            const i64 idx[3] = {i / (n[1] * n[2]), (i / n[2]) % n[1], i % n[2]};
            double k2 = 0;
            for (int a = 0; a < 3; ++a) {
                const i64 q = 2 * idx[a] <= n[a] ? idx[a] : idx[a] - n[a];
                const double k = 2.0 * kPi * (double)q / len[a];
                k2 += k * k;
            }
            const double th = (hbar * k2 / (2.0 * mass) + v0 / hbar) * t;
            const double fr = imaginary ? exp(-th) : cos(th), fi = imaginary ? 0.0 : -sin(th);
            const double x = z[2 * i], y = z[2 * i + 1];
            z[2 * i] = (x * fr - y * fi) / (double)N;
            z[2 * i + 1] = (x * fi + y * fr) / (double)N;
        }
    }
}

template <typename C> static void check_closed_form(int64_t n0, int64_t n1, int64_t n2, unsigned seed) {
    const bool f32 = Emu<C>::f32;
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> G(0.0, 1.0);
    qdml_backend_desc d;
    memset(&d, 0, sizeof d);
    const int64_t n[3] = {n0, n1, n2};
    const double len[3] = {3.0, 2.5, 4.0};
    for (int a = 0; a < 3; ++a) {
        d.n[a] = n[a];
        d.lo[a] = -0.5 * len[a];
        d.length[a] = len[a];
    }
    d.npoints = n0 * n1 * n2;
    d.batch = 3;
    d.dv = len[0] * len[1] * len[2] / (double)d.npoints;
    d.nthreads = 1;
    d.effort = QDML_FFT_ESTIMATE;
    d.precision = f32 ? QDML_FLOAT32 : QDML_FLOAT64;
    Emu<C> e(d, 3);
    const i64 N = e.N, steps = 8;
    const double v0[3] = {0.6, -0.4, 1.3}, hb[3] = {0.7, 1.1, 0.5}, ms[3] = {1.9, 0.8, 1.2}, dt = 0.004;
    vector<double> psi0[3], vb(N), got(2 * N);
    for (i64 b = 0; b < 3; ++b) {
        psi0[b].resize(2 * N);
        for (auto &x : psi0[b])
            x = G(rng);
        e.put_state(b, psi0[b].data());
        e.get_state(b, psi0[b].data()); // float32: the values the emulated side holds
        for (i64 i = 0; i < N; ++i)
            vb[i] = v0[b];
        e.put_potential(b, vb.data());
        qdml_step_params p;
        memset(&p, 0, sizeof p);
        p.imaginary = (int)(b == 1);
        p.dt = dt;
        p.hbar = hb[b];
        p.mass = ms[b];
        e.set_step(b, &p);
    }
    vector<i64> stop(3);
    e.steps(steps, NULL, false, d.dv, stop.data());
    const double tol = f32 ? 1e-5 : 1e-12;
    double worst = 0;
    for (i64 b = 0; b < 3; ++b) {
        exact_flat(n, len, psi0[b], hb[b], ms[b], v0[b], dt * (double)steps, b == 1);
        e.get_state(b, got.data());
        double err = 0, mx = 0;
        for (i64 i = 0; i < N; ++i) {
            err = fmax(err, hypot(got[2 * i] - psi0[b][2 * i], got[2 * i + 1] - psi0[b][2 * i + 1]));
            mx = fmax(mx, hypot(psi0[b][2 * i], psi0[b][2 * i + 1]));
        }
        CHECK(err <= tol * mx,
              "closed form %s %lldx%lldx%lld member %lld (%s time): max |psi - exact| = %.3g x max |psi|",
              f32 ? "float32" : "float64", (long long)n0, (long long)n1, (long long)n2, (long long)b,
              b == 1 ? "imaginary" : "real", err / mx);
        worst = fmax(worst, err / mx);
    }
    printf("closed form %s %lldx%lldx%lld: max |psi - exact| <= %.3g x max |psi| (bound %.0e)\n",
           f32 ? "float32" : "float64", (long long)n0, (long long)n1, (long long)n2, worst, tol);
}

static void check_f32_helpers() {
    const qdml_c64 h = qdml_propagator(0, 0.123456789012345);
    const c32 r = from_c64<c32>(h);
    CHECK(r.re == (float)h.re && r.im == (float)h.im, "from_c64<c32> must round each part once");
    const c32 z = c32_make(3.0f, -4.0f);
    CHECK(abs2(z) == 25.0, "abs2(c32) %g", abs2(z));
    const c32 big = c32_make(16777217.0f, 1.0f); // 2^24 + 1 rounds to 2^24 in float
    CHECK(abs2(big) == 16777216.0 * 16777216.0 + 1.0, "abs2(c32) must be formed in double: %.17g", abs2(big));
    const c32 t = flush_tiny(c32_make(9.9e-31f, -1.01e-30f));
    CHECK(t.re == 0.0f && t.im == -1.01e-30f, "flush_tiny(c32) threshold: %g %g", t.re, t.im);
    const c32 s = cscale(c32_make(1.0f, 2.0f), 1.0 / 3.0);
    CHECK(s.re == (float)(1.0 / 3.0) && s.im == 2.0f * (float)(1.0 / 3.0),
          "cscale(c32, double) rounds the factor once");
    // A float potential is widened before the exponent: the factor is that of the float value.
    const float vf = 0.1f;
    c32 evh, evf;
    step_potential_elem(&vf, &evh, &evf, 0, 0.7, 0.0, 1);
    const double hx = exp(-(double)vf * 0.7);
    CHECK(evh.re == (float)hx && evh.im == 0.0f && evf.re == (float)(hx * hx), "step_potential_elem<c32>: %.9g %.9g",
          evh.re, evf.re);
}

int main() {
    struct {
        int64_t n0, n1, n2, B;
        int blocks;
    } cases[] = {
        {1, 1, 1, 1, 1},    {1, 1, 1, 5, 2},    {1, 1, 16, 1, 1},     {1, 1, 37, 3, 1},   {1, 1, 1000, 2, 3},
        {1, 1, 4096, 1, 5}, {1, 12, 10, 4, 2},  {1, 31, 33, 2, 3},    {1, 64, 64, 3, 7},  {5, 6, 7, 3, 1},
        {9, 1, 13, 2, 2},   {11, 13, 1, 2, 2},  {8, 8, 8, 5, 3},      {12, 10, 9, 2, 4},  {1, 1, 2, 40, 1},
        {3, 1, 1, 7, 1},    {16, 16, 16, 1, 9}, {1, 129, 255, 1, 11}, {1, 1, 300, 60, 2},
    };
    for (auto &c : cases)
        run_case<qdml_c64>(c.n0, c.n1, c.n2, c.B, c.blocks, (unsigned)(c.n0 * 131 + c.n1 * 17 + c.n2 + c.B));
    // odd, prime and mixed sizes against the closed form, in both precisions
    const int64_t shapes[][3] = {{1, 1, 97}, {1, 45, 51}, {1, 48, 45}, {9, 11, 13}, {8, 7, 16}};
    for (auto &sh : shapes)
        check_closed_form<qdml_c64>(sh[0], sh[1], sh[2], (unsigned)(sh[0] * 7 + sh[1] * 3 + sh[2]));
    const int f64_failures = failures;
    check_f32_helpers();
    for (auto &c : cases)
        run_case<c32>(c.n0, c.n1, c.n2, c.B, c.blocks, (unsigned)(c.n0 * 131 + c.n1 * 17 + c.n2 + c.B + 7));
    for (auto &sh : shapes)
        check_closed_form<c32>(sh[0], sh[1], sh[2], (unsigned)(sh[0] * 7 + sh[1] * 3 + sh[2] + 1));
    printf("float32: largest pointwise difference %.3g of the member's largest amplitude (bound 1e-6)\n", worst_f32);
    CHECK(late_stops > 0, "no steps run met a bad norm after its second substep: the stop count is untested");
    printf("steps: %d float64 members met a bad norm after the second substep\n", late_stops);
    printf("%s: %d failures (float64 %d, float32 %d)\n", failures ? "FAILED" : "OK", failures, f64_failures,
           failures - f64_failures);
    return failures != 0;
}
