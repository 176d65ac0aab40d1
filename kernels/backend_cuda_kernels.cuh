/* The CUDA backend's __global__ kernels: thin shells that add the thread indexing and the warp
 * reductions around the loop bodies of backend_cuda_math.cuh. Included by backend_cuda.cu, which
 * launches them all (the steps op goes through its launchers). They have internal linkage: a file
 * that includes this compiles its own copy of every non-template kernel and of the instantiations
 * it uses, and launches those copies (by address, through cudaLaunchKernel). */
#ifndef QDML_BACKEND_CUDA_KERNELS_CUH
#define QDML_BACKEND_CUDA_KERNELS_CUH

#include "cuda_private.cuh"

/* ---- kernels --------------------------------------------------------------------------------- */

namespace {

__device__ __forceinline__ double warp_sum(double v) {
    /* Butterfly: every lane ends with the same sum, in the same order on every run. */
    for (int o = kWarp / 2; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ void warp_amax(double &r, i64 &i) {
    for (int o = kWarp / 2; o > 0; o >>= 1) {
        const double r2 = __shfl_xor_sync(0xffffffffu, r, o);
        const i64 i2 = __shfl_xor_sync(0xffffffffu, i, o);
        amax_combine(r, i, r2, i2);
    }
}

/* Butterfly combination of the lanes' fill summaries (every lane ends with the member's). */
__device__ __forceinline__ void warp_fill(fill_acc &a) {
    for (int o = kWarp / 2; o > 0; o >>= 1) {
        const double lo = __shfl_xor_sync(0xffffffffu, a.vmin, o);
        const double hi = __shfl_xor_sync(0xffffffffu, a.vmax, o);
        const i64 bad = __shfl_xor_sync(0xffffffffu, a.bad, o);
        fill_combine(a, lo, hi, bad);
    }
}

__device__ __forceinline__ i64 global_thread() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 grid_threads() { return (i64)gridDim.x * blockDim.x; }
/* Warp-per-item kernels: the item (segment or member) of this warp, and the lane. */
__device__ __forceinline__ i64 warp_item() { return (i64)blockIdx.x * kWarpsPerBlock + (threadIdx.x / kWarp); }
__device__ __forceinline__ int lane_id() { return (int)(threadIdx.x % kWarp); }

/* Kernels that touch the state arrays are templates on the element type C (qdml_c64 or c32) and
 * R = real_of<C>::type; the finalisation kernels read only double partials. */

template <typename C> __global__ void __launch_bounds__(kBlock) k_fill(C *p, i64 n, double re, double im) {
    const C z = from_c64<C>(qdml_c64_make(re, im));
    for (i64 i = global_thread(); i < n; i += grid_threads())
        stc(p, i, z);
}

/* set_step, potential part: one member's N elements (pointers at the member). */
template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_step_potential(const typename real_of<C>::type *v, C *evh, C *evf, i64 N, double c, double shift, int imaginary) {
    for (i64 i = global_thread(); i < N; i += grid_threads())
        step_potential_elem(v, evh, evf, i, c, shift, imaginary);
}

/* set_step, kinetic axis factors of one member (ksum entries). */
template <typename C>
__global__ void __launch_bounds__(kBlock) k_step_kinetic(C *kt, const double *k2t, i64 ksum, int imaginary, double hbar,
                                                         double mass, double dt, int potential_only) {
    for (i64 j = global_thread(); j < ksum; j += grid_threads())
        stc(kt, j, from_c64<C>(step_kinetic_elem(k2t, j, imaginary, hbar, mass, dt, potential_only)));
}

template <typename C>
__global__ void __launch_bounds__(kBlock) k_kick(C *psi, const C *f, i64 total, i64 N, const unsigned char *mask,
                                                 const unsigned char *flush, flat_stride fs) {
    flat_kick(psi, f, total, N, mask, flush, global_thread(), fs);
}

/* count (steps op with renormalisation; else NULL): substeps completed, one more per launch. */
template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_kinetic(C *psi, const C *ktab, i64 ksum, const double *scale, const unsigned char *mask,
              const unsigned char *flush, double invn, i64 total, shape3 sh, flat_stride fs, i64 *count) {
    if (count && global_thread() == 0) *count += 1;
    flat_kinetic(psi, ktab, ksum, scale, mask, flush, invn, total, sh, global_thread(), fs);
}

template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_scale(C *psi, const double *scale, i64 total, i64 N, const unsigned char *mask, flat_stride fs) {
    flat_scale(psi, scale, total, N, mask, global_thread(), fs);
}

template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_copy_masked(C *dst, const C *src, i64 total, i64 N, const unsigned char *mask, flat_stride fs) {
    flat_copy_masked(dst, src, total, N, mask, global_thread(), fs);
}

/* Kick with norms: psi *= f; part[seg] = sum |psi|^2 of the segment. Masked-out members write
 * nothing (k_fin_sum gives them 0). */
template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_kick_norm(C *psi, const C *f, i64 N, i64 cpm, i64 nseg, const unsigned char *mask, const unsigned char *flush,
                double *part) {
    const i64 w = warp_item();
    if (w >= nseg) return;
    const i64 b = w / cpm, c = w - b * cpm;
    if (mask && !mask[b]) return;
    const int lane = lane_id();
    const int fl = flush ? flush[b] : 0;
    double acc = lane_kick_norm(psi + b * N, f + b * N, fl, N, c * kWarp + lane, cpm * kWarp);
    acc = warp_sum(acc);
    if (lane == 0) part[w] = acc;
}

template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_distance(const C *psi, const C *backup, i64 N, i64 cpm, i64 nseg, const unsigned char *mask, double *part) {
    const i64 w = warp_item();
    if (w >= nseg) return;
    const i64 b = w / cpm, c = w - b * cpm;
    if (mask && !mask[b]) return;
    const int lane = lane_id();
    double acc = lane_distance(psi + b * N, backup + b * N, N, c * kWarp + lane, cpm * kWarp);
    acc = warp_sum(acc);
    if (lane == 0) part[w] = acc;
}

/* The sum of member b's cpm segment partials by the block that finalises it (one block per member,
 * kFinBlock threads): thread t sums c = t, t + kFinBlock, ... (fin_thread_sum), then a tree over the
 * block in shared memory, at each level o = kFinBlock / 2, ..., 1: v[t] += v[t + o]. A fixed order,
 * so the sum does not depend on scheduling; a member of 16384 partials takes 64 loads per thread
 * where one warp took 512. Every thread returns the sum. Called once per kernel (one shared array). */
__device__ __forceinline__ double block_member_sum(const double *part, i64 cpm, i64 b) {
    __shared__ double v[kFinBlock];
    const int t = (int)threadIdx.x;
    v[t] = fin_thread_sum(part, cpm, b, t);
    __syncthreads();
    for (int o = kFinBlock / 2; o > 0; o >>= 1) {
        if (t < o) v[t] += v[t + o];
        __syncthreads();
    }
    return v[0];
}

/* out[b] = sum over the member's segments of part (0 for masked-out members); block b, member b. */
__global__ void __launch_bounds__(kBlock)
    k_fin_sum(const double *part, i64 cpm, i64 B, const unsigned char *mask, double *out) {
    const i64 b = blockIdx.x;
    if (b >= B) return;
    if (mask && !mask[b]) {
        if (threadIdx.x == 0) out[b] = 0.0;
        return;
    }
    const double acc = block_member_sum(part, cpm, b);
    if (threadIdx.x == 0) out[b] = acc;
}

/* Steps op: the member's kick norm (the sum k_fin_sum forms) turned into the scale of the next
 * kinetic factor on the device, and the first bad norm recorded at *count substeps completed
 * (renorm_member). Masked-out members are left alone. */
__global__ void __launch_bounds__(kBlock) k_fin_scale(const double *part, i64 cpm, i64 B, const unsigned char *mask,
                                                      double dv, const i64 *count, double *scale, i64 *stop) {
    const i64 b = blockIdx.x;
    if (b >= B || (mask && !mask[b])) return;
    const double acc = block_member_sum(part, cpm, b);
    if (threadIdx.x == 0) renorm_member(acc, dv, *count, scale + b, stop + b);
}

/* fill_objective: one warp per segment of one member (the segments interleave the member's points
 * as in the other segmented kernels). part[seg] = least finite value, part[P + seg] = largest,
 * pbad[seg] = first index whose stored value is not finite (-1: none). */
template <typename R>
__global__ void __launch_bounds__(kBlock) k_fill_objective(R *v, qdml_objective o, int dim, const double *xt, shape3 sh,
                                                           i64 nseg, double *part, i64 P, i64 *pbad) {
    const i64 seg = warp_item();
    if (seg >= nseg) return;
    const int lane = lane_id();
    fill_acc a;
    fill_init(a);
    lane_fill_objective(v, o, dim, xt, sh, seg * kWarp + lane, nseg * kWarp, a);
    warp_fill(a);
    if (lane == 0) {
        part[seg] = a.vmin;
        part[P + seg] = a.vmax;
        pbad[seg] = a.bad;
    }
}

/* The member's summary from the segments' (one block; its first warp does the work). */
__global__ void __launch_bounds__(kBlock) k_fill_fin(const double *part, const i64 *pbad, i64 P, i64 nseg, fill_acc *out) {
    if (warp_item() != 0) return;
    const int lane = lane_id();
    fill_acc a;
    fill_init(a);
    for (i64 c = lane; c < nseg; c += kWarp)
        fill_combine(a, part[c], part[P + c], pbad[c]);
    warp_fill(a);
    if (lane == 0) *out = a;
}

/* Moments pass 1: density sums, argmax, and w = psi. */
template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_mom1(const C *psi, C *w, const typename real_of<C>::type *v, const double *xt, shape3 sh, i64 cpm, i64 nseg,
           const unsigned char *want, double *part, i64 P, i64 *pimax) {
    const i64 seg = warp_item();
    if (seg >= nseg) return;
    const i64 b = seg / cpm, c = seg - b * cpm;
    if (want && !want[b]) return;
    const int lane = lane_id();
    const i64 base = b * sh.N;
    mom1_acc a;
    mom1_init(a);
    lane_mom1(psi + base, w + base, v + base, xt, sh, c * kWarp + lane, cpm * kWarp, a);
    a.s0 = warp_sum(a.s0);
    a.sv = warp_sum(a.sv);
    for (int d = 0; d < 3; ++d) {
        a.sx[d] = warp_sum(a.sx[d]);
        a.sxx[d] = warp_sum(a.sxx[d]);
    }
    warp_amax(a.rmax, a.imax);
    if (lane == 0) {
        part[F_S0 * P + seg] = a.s0;
        part[F_SV * P + seg] = a.sv;
        for (int d = 0; d < 3; ++d) {
            part[(F_SX + d) * P + seg] = a.sx[d];
            part[(F_SXX + d) * P + seg] = a.sxx[d];
        }
        part[F_RMAX * P + seg] = a.rmax;
        pimax[seg] = a.imax;
    }
}

/* Moments pass 2, on the forward transform in w: st and w *= ek / N. cpar[b] = hbar^2 / 2m. */
template <typename C>
__global__ void __launch_bounds__(kBlock) k_mom2(C *w, const double *k2t, const double *cpar, double invn, shape3 sh,
                                                 i64 cpm, i64 nseg, const unsigned char *want, double *part, i64 P) {
    const i64 seg = warp_item();
    if (seg >= nseg) return;
    const i64 b = seg / cpm, c = seg - b * cpm;
    if (want && !want[b]) return;
    const int lane = lane_id();
    double st = lane_mom2(w + b * sh.N, k2t, cpar[b], invn, sh, c * kWarp + lane, cpm * kWarp);
    st = warp_sum(st);
    if (lane == 0) part[F_ST * P + seg] = st;
}

/* Per-member totals of passes 1 and 2, and E = (st + sv) / s0 for pass 3. Members not wanted get
 * the values the CPU backend leaves for them (zeros, rmax -1, imax -1, finite 1). */
__global__ void __launch_bounds__(kBlock)
    k_mom_fin1(const double *part, const i64 *pimax, i64 P, i64 cpm, i64 B, const unsigned char *want, double invn,
               qdml_moments *mom, double *energy) {
    const i64 b = warp_item();
    if (b >= B) return;
    const int lane = lane_id();
    qdml_moments m;
    memset(&m, 0, sizeof m);
    m.rmax = -1.0;
    m.imax = -1;
    if (want && !want[b]) {
        if (lane == 0) {
            m.finite = 1;
            mom[b] = m;
            energy[b] = 0.0;
        }
        return;
    }
    const i64 first = b * cpm;
    double s0 = 0.0, sv = 0.0, st = 0.0, sx[3] = {0.0, 0.0, 0.0}, sxx[3] = {0.0, 0.0, 0.0};
    double r = -1.0;
    i64 ri = -1;
    for (i64 c = lane; c < cpm; c += kWarp) {
        const i64 seg = first + c;
        s0 += part[F_S0 * P + seg];
        sv += part[F_SV * P + seg];
        st += part[F_ST * P + seg];
        for (int d = 0; d < 3; ++d) {
            sx[d] += part[(F_SX + d) * P + seg];
            sxx[d] += part[(F_SXX + d) * P + seg];
        }
        amax_combine(r, ri, part[F_RMAX * P + seg], pimax[seg]);
    }
    s0 = warp_sum(s0);
    sv = warp_sum(sv);
    st = warp_sum(st);
    for (int d = 0; d < 3; ++d) {
        sx[d] = warp_sum(sx[d]);
        sxx[d] = warp_sum(sxx[d]);
    }
    warp_amax(r, ri);
    if (lane == 0) {
        m.s0 = s0;
        m.sv = sv;
        m.st = st * invn;
        for (int d = 0; d < 3; ++d) {
            m.sx[d] = sx[d];
            m.sxx[d] = sxx[d];
        }
        m.rmax = r;
        m.imax = ri;
        m.sres = 0.0;
        m.finite = 0; /* set by k_mom_fin2 */
        mom[b] = m;
        energy[b] = m.s0 > 0 ? (m.st + m.sv) / m.s0 : 0.0;
    }
}

/* Moments pass 3 (w = T psi after the inverse transform): sum |w + (V - E) psi|^2. */
template <typename C>
__global__ void __launch_bounds__(kBlock)
    k_mom3(const C *psi, const C *w, const typename real_of<C>::type *v, const double *energy, i64 N, i64 cpm, i64 nseg,
           const unsigned char *want, double *part, i64 P) {
    const i64 seg = warp_item();
    if (seg >= nseg) return;
    const i64 b = seg / cpm, c = seg - b * cpm;
    if (want && !want[b]) return;
    const int lane = lane_id();
    const i64 base = b * N;
    double acc = lane_mom3(psi + base, w + base, v + base, energy[b], N, c * kWarp + lane, cpm * kWarp);
    acc = warp_sum(acc);
    if (lane == 0) part[F_SRES * P + seg] = acc;
}

__global__ void __launch_bounds__(kBlock)
    k_mom_fin2(const double *part, i64 P, i64 cpm, i64 B, const unsigned char *want, qdml_moments *mom) {
    const i64 b = warp_item();
    if (b >= B) return;
    if (want && !want[b]) return;
    const int lane = lane_id();
    double acc = 0.0;
    for (i64 c = lane; c < cpm; c += kWarp)
        acc += part[F_SRES * P + b * cpm + c];
    acc = warp_sum(acc);
    if (lane == 0) {
        qdml_moments *m = mom + b;
        m->sres = acc;
        m->finite = isfinite(m->s0) && isfinite(m->sv) && isfinite(m->st) && isfinite(acc);
    }
}

} /* namespace */

#endif
