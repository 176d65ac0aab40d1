/* CUDA backend: the block-vector ops of the LOBPCG eigensolver (host/backend.h, host/lobpcg.c), float64
 * only (QDML_GROUND_LOBPCG needs float64; a float32 problem answers UNAVAILABLE).
 *
 * Work slots: one device allocation of n x B x N complex values beside the state (slot 0). H and the
 * preconditioner run on a whole slot with the problem's batched cuFFT plan and two pointwise kernels,
 * the same expressions as the CPU backend's (backend_cpu_vectors.c): T psi = F^-1 (hbar^2 / 2m) |k|^2
 * F psi / N, and D^1/2 (T + s)^-1 D^1/2 with D = s / (V - vmin + s). The list ops take their vectors
 * as device pointer arrays uploaded with the call: inner products as per-(pair, segment) block sums in
 * a fixed order, added on the host in segment order (reproducible); combinations into a scratch block
 * first and then copied out, so an output may be one of the inputs.
 *
 * Not yet run on a device: compiled, and the op cases of tests/op_cases.c (vectors_*) wait for one. */
#include "cuda_private.cuh"

#include <stdlib.h>
#include <string.h>

namespace {

/* Segments per vector of the inner products: enough blocks to fill a device for one pair. */
const i64 kDotSegments = 64;

__global__ void __launch_bounds__(kBlock)
    k_vec_spectral(qdml_c64 *w, const double *k2t, const double *cpar, const double *shift, double invn, shape3 sh,
                   i64 total, int precond) {
    const double *k0t = k2t, *k1t = k2t + sh.n0, *k2 = k2t + sh.n0 + sh.n1;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const i64 b = idx / sh.N;
        const pos3 p = pos_of(idx - b * sh.N, sh);
        const double ek = cpar[b] * ((k0t[p.i0] + k1t[p.i1]) + k2[p.i2]);
        const double f = precond ? invn / (ek + shift[b]) : ek * invn;
        const qdml_c64 z = w[idx];
        w[idx] = qdml_c64_make(z.re * f, z.im * f);
    }
}

/* out += V in (every member its own potential). */
__global__ void __launch_bounds__(kBlock) k_vec_addv(qdml_c64 *out, const qdml_c64 *in, const double *v, i64 total) {
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
        const qdml_c64 z = out[i], x = in[i];
        out[i] = qdml_c64_make(z.re + v[i] * x.re, z.im + v[i] * x.im);
    }
}

/* out = D^1/2 in, D = shift / (V - vmin + shift). */
__global__ void __launch_bounds__(kBlock)
    k_vec_weigh(qdml_c64 *out, const qdml_c64 *in, const double *v, const double *shift, const double *vmin, i64 N,
                i64 total) {
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
        const i64 b = i / N;
        const double f = sqrt(shift[b] / (v[i] - vmin[b] + shift[b]));
        const qdml_c64 z = in[i];
        out[i] = qdml_c64_make(z.re * f, z.im * f);
    }
}

/* Block (pair p, segment g) of the grid: sum over its points of conj(u_i) w_j, pair p = i nj + j among
 * the pairs from p0; a fixed-order shared-memory tree, thread 0 writing (re, im) to part[2 (p nseg + g)]. */
__global__ void __launch_bounds__(kBlock)
    k_vec_dot(const qdml_c64 *const *u, const qdml_c64 *const *w, i64 nj, i64 p0, i64 N, i64 nseg, double *part) {
    __shared__ double sre[kBlock], sim[kBlock];
    const i64 p = p0 + (i64)blockIdx.x / nseg, g = (i64)blockIdx.x % nseg;
    const qdml_c64 *x = u[p / nj], *y = w[p % nj];
    const i64 len = (N + nseg - 1) / nseg, a = g * len, e = a + len < N ? a + len : N;
    double re = 0.0, im = 0.0;
    for (i64 q = a + threadIdx.x; q < e; q += blockDim.x) {
        const qdml_c64 s = x[q], t = y[q];
        re += s.re * t.re + s.im * t.im;
        im += s.re * t.im - s.im * t.re;
    }
    sre[threadIdx.x] = re;
    sim[threadIdx.x] = im;
    __syncthreads();
    for (int h = kBlock / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h) {
            sre[threadIdx.x] += sre[threadIdx.x + h];
            sim[threadIdx.x] += sim[threadIdx.x + h];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        part[2 * (p * nseg + g)] = sre[0];
        part[2 * (p * nseg + g) + 1] = sim[0];
    }
}

/* tmp[j N + q] = sum_i u_i[q] c_ij, for j < nj, q < N. */
__global__ void __launch_bounds__(kBlock)
    k_vec_combine(const qdml_c64 *const *u, i64 ni, const double *c, i64 nj, i64 N, qdml_c64 *tmp) {
    const i64 total = nj * N;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const i64 j = idx / N, q = idx - j * N;
        double re = 0.0, im = 0.0;
        for (i64 i = 0; i < ni; ++i) {
            const double cr = c[2 * (i * nj + j)], ci = c[2 * (i * nj + j) + 1];
            if (cr == 0.0 && ci == 0.0) continue;
            const qdml_c64 x = u[i][q];
            re += x.re * cr - x.im * ci;
            im += x.re * ci + x.im * cr;
        }
        tmp[idx] = qdml_c64_make(re, im);
    }
}

/* w_j[q] = tmp[j N + q]. */
__global__ void __launch_bounds__(kBlock) k_vec_scatter(const qdml_c64 *tmp, qdml_c64 *const *w, i64 nj, i64 N) {
    const i64 total = nj * N;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const i64 j = idx / N;
        w[j][idx - j * N] = tmp[idx];
    }
}

qdml_status need_f64(const qdml_backend_state *s, const char *op) {
    if (s->g.f32)
        return qdml_fail(NULL, QDML_ERR_UNAVAILABLE, "%s: the block-vector ops are float64 only (this problem is float32)",
                         op);
    return QDML_OK;
}

qdml_status check_slot(const qdml_backend_state *s, int k, const char *op) {
    if (k < 0 || k > s->nvslot)
        return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: slot %d does not exist (0 .. %d)", op, k, s->nvslot);
    return QDML_OK;
}

qdml_c64 *slot_ptr(const qdml_backend_state *s, int k) {
    return k == 0 ? static_cast<qdml_c64 *>(s->psi)
                  : static_cast<qdml_c64 *>(s->vmem) + (size_t)(k - 1) * (size_t)s->g.total;
}

qdml_status check_list(const qdml_backend_state *s, int n, const int *slot, const int64_t *mem, const char *op) {
    for (int i = 0; i < n; ++i) {
        const qdml_status st = check_slot(s, slot[i], op);
        if (st != QDML_OK) return st;
        if (mem[i] < 0 || mem[i] >= s->g.B)
            return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: member %lld out of range", op, (long long)mem[i]);
    }
    return QDML_OK;
}

/* Device scratch and pinned host buffer of at least `bytes` each (grown; the stream is idle first, so
 * nothing in flight reads the old ones). */
qdml_status grow(qdml_backend_state *s, size_t dbytes, size_t hbytes) {
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    if (dbytes > s->vscratch_bytes) {
        if (s->vscratch) CUDA_TRY(cudaFree, (s->vscratch));
        s->vscratch = NULL;
        s->vscratch_bytes = 0;
        CUDA_TRY(cudaMalloc, (&s->vscratch, dbytes));
        s->vscratch_bytes = dbytes;
    }
    if (hbytes > s->vhost_bytes) {
        if (s->vhost) CUDA_TRY(cudaFreeHost, (s->vhost));
        s->vhost = NULL;
        s->vhost_bytes = 0;
        CUDA_TRY(cudaMallocHost, (&s->vhost, hbytes));
        s->vhost_bytes = hbytes;
    }
    return QDML_OK;
}

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

/* Per-member doubles a -> parameter array A and bb -> B of the device parameter buffer. */
qdml_status upload_pair(qdml_backend_state *s, const double *a, const double *bb) {
    unsigned char *slot = NULL;
    int k;
    qdml_status st = params_acquire(s, &slot, &k);
    if (st != QDML_OK) return st;
    memcpy(slot, a, (size_t)s->g.B * sizeof(double));
    memcpy(slot + s->g.par_off_b, bb, (size_t)s->g.B * sizeof(double));
    return params_commit(s, k);
}

const double *dpar_b(const qdml_backend_state *s) { return (const double *)(s->dpar + s->g.par_off_b); }

qdml_status vectors_impl(qdml_backend_state *s, int n) {
    if (n < 0) return fail_internal("vectors: n is negative");
    if (n == s->nvslot) return QDML_OK;
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    if (s->vmem) CUDA_TRY(cudaFree, (s->vmem));
    s->vmem = NULL;
    s->nvslot = 0;
    if (n == 0) return QDML_OK;
    qdml_status st = need_f64(s, "vectors");
    if (st != QDML_OK) return st;
    size_t bytes = 0;
    if (!qdml_mul_size((size_t)n, (size_t)s->g.total, &bytes) || !qdml_mul_size(bytes, sizeof(qdml_c64), &bytes))
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "vectors: %d slots of %lld values overflow size_t", n,
                         (long long)s->g.total);
    const cudaError_t e = cudaMalloc(&s->vmem, bytes);
    if (e != cudaSuccess) {
        s->vmem = NULL;
        return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "vectors: cudaMalloc of %d work slots (%zu bytes) failed: %s", n,
                         bytes, cudaGetErrorString(e));
    }
    CUDA_TRY(cudaMemsetAsync, (s->vmem, 0, bytes, s->stream));
    s->nvslot = n;
    return QDML_OK;
}

/* dst := T src (+ V src), or the preconditioner's (T + s)^-1 between two weighings. */
qdml_status spectral_impl(qdml_backend_state *s, int src, int dst, int precond, const double *hbar, const double *mass,
                          const double *shift, const double *vmin, const char *op) {
    qdml_status st;
    if ((st = need_f64(s, op)) != QDML_OK || (st = check_slot(s, src, op)) != QDML_OK ||
        (st = check_slot(s, dst, op)) != QDML_OK)
        return st;
    if (!hbar || !mass || (precond && (!shift || !vmin))) return fail_internal("spectral op: NULL parameters");
    const geometry &g = s->g;
    qdml_c64 *in = slot_ptr(s, src), *out = slot_ptr(s, dst);
    const double *v = static_cast<const double *>(s->v);
    /* hbar^2 / 2m per member, as the CPU backend forms it. */
    double *c = static_cast<double *>(malloc((size_t)g.B * sizeof(double)));
    if (!c) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate %lld doubles", op, (long long)g.B);
    for (i64 b = 0; b < g.B; ++b)
        c[b] = qdml_kinetic_coefficient(hbar[b], mass[b]);
    if (precond) {
        if ((st = upload_pair(s, shift, vmin)) == QDML_OK) {
            const cudaError_t e = launch(k_vec_weigh, flat_grid(s, g.total), s->stream, out, in, v, dpar_a(s),
                                         dpar_b(s), g.N, g.total);
            if (e != cudaSuccess) st = fail_cuda("cudaLaunchKernel (k_vec_weigh)", e);
        }
    } else if (out != in) {
        const cudaError_t e =
            cudaMemcpyAsync(out, in, (size_t)g.total * sizeof(qdml_c64), cudaMemcpyDeviceToDevice, s->stream);
        if (e != cudaSuccess) st = fail_cuda("cudaMemcpyAsync", e);
    }
    if (st == QDML_OK) st = exec_fft(s, out, CUFFT_FORWARD);
    if (st == QDML_OK) st = upload_pair(s, c, precond ? shift : c); /* (B: the shifts, unused by T alone) */
    if (st == QDML_OK) {
        const cudaError_t e = launch(k_vec_spectral, flat_grid(s, g.total), s->stream, out, s->k2t, dpar_a(s),
                                     dpar_b(s), 1.0 / (double)g.N, s->sh, g.total, precond);
        if (e != cudaSuccess) st = fail_cuda("cudaLaunchKernel (k_vec_spectral)", e);
    }
    if (st == QDML_OK) st = exec_fft(s, out, CUFFT_INVERSE);
    if (st == QDML_OK && precond && (st = upload_pair(s, shift, vmin)) == QDML_OK) {
        const cudaError_t e = launch(k_vec_weigh, flat_grid(s, g.total), s->stream, out, out, v, dpar_a(s),
                                     dpar_b(s), g.N, g.total);
        if (e != cudaSuccess) st = fail_cuda("cudaLaunchKernel (k_vec_weigh)", e);
    }
    if (st == QDML_OK && !precond) {
        const cudaError_t e = launch(k_vec_addv, flat_grid(s, g.total), s->stream, out, in, v, g.total);
        if (e != cudaSuccess) st = fail_cuda("cudaLaunchKernel (k_vec_addv)", e);
    }
    free(c); /* (upload_pair copied it into a ring slot) */
    return st;
}

/* The device pointers of a list into host array out. */
void pointers(const qdml_backend_state *s, int n, const int *slot, const int64_t *mem, const qdml_c64 **out) {
    for (int i = 0; i < n; ++i)
        out[i] = slot_ptr(s, slot[i]) + (size_t)mem[i] * (size_t)s->g.N;
}

qdml_status vdot_impl(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj, const int *wslot,
                      const int64_t *wmem, double *g) {
    qdml_status st;
    if ((st = need_f64(s, "vdot")) != QDML_OK || (st = check_list(s, ni, uslot, umem, "vdot")) != QDML_OK ||
        (st = check_list(s, nj, wslot, wmem, "vdot")) != QDML_OK)
        return st;
    if (ni < 1 || nj < 1 || !g) return fail_internal("vdot: empty list or NULL output");
    const i64 N = s->g.N, pairs = (i64)ni * nj, nseg = N < kDotSegments ? N : kDotSegments;
    const size_t pbytes = round_up((size_t)(ni + nj) * sizeof(void *));
    const size_t partbytes = (size_t)pairs * (size_t)nseg * 2 * sizeof(double);
    if ((st = grow(s, pbytes + partbytes, pbytes > partbytes ? pbytes : partbytes)) != QDML_OK) return st;
    const qdml_c64 **hp = static_cast<const qdml_c64 **>(s->vhost);
    pointers(s, ni, uslot, umem, hp);
    pointers(s, nj, wslot, wmem, hp + ni);
    unsigned char *d = static_cast<unsigned char *>(s->vscratch);
    const qdml_c64 *const *du = reinterpret_cast<const qdml_c64 *const *>(d);
    double *part = reinterpret_cast<double *>(d + pbytes);
    CUDA_TRY(cudaMemcpyAsync, (d, s->vhost, (size_t)(ni + nj) * sizeof(void *), cudaMemcpyHostToDevice, s->stream));
    /* Pairs in chunks that keep the grid within gridDim.x. */
    const i64 chunk = ((i64)1 << 30) / nseg;
    for (i64 p0 = 0; p0 < pairs; p0 += chunk) {
        const i64 np = pairs - p0 < chunk ? pairs - p0 : chunk;
        const cudaError_t e =
            launch(k_vec_dot, (unsigned)(np * nseg), s->stream, du, du + ni, (i64)nj, p0, N, nseg, part);
        if (e != cudaSuccess) return fail_cuda("cudaLaunchKernel (k_vec_dot)", e);
    }
    CUDA_TRY(cudaMemcpyAsync, (s->vhost, part, partbytes, cudaMemcpyDeviceToHost, s->stream));
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    const double *hpart = static_cast<const double *>(s->vhost);
    for (i64 p = 0; p < pairs; ++p) {
        double re = 0.0, im = 0.0;
        for (i64 k = 0; k < nseg; ++k) {
            re += hpart[2 * (p * nseg + k)];
            im += hpart[2 * (p * nseg + k) + 1];
        }
        g[2 * p] = re;
        g[2 * p + 1] = im;
    }
    return QDML_OK;
}

qdml_status vcombine_impl(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                          const int *wslot, const int64_t *wmem, const double *c) {
    qdml_status st;
    if ((st = need_f64(s, "vcombine")) != QDML_OK || (st = check_list(s, ni, uslot, umem, "vcombine")) != QDML_OK ||
        (st = check_list(s, nj, wslot, wmem, "vcombine")) != QDML_OK)
        return st;
    if (ni < 1 || nj < 1 || !c) return fail_internal("vcombine: empty list or NULL coefficients");
    const i64 N = s->g.N;
    const size_t pbytes = round_up((size_t)(ni + nj) * sizeof(void *));
    const size_t cbytes = round_up((size_t)ni * (size_t)nj * 2 * sizeof(double));
    const size_t tbytes = (size_t)nj * (size_t)N * sizeof(qdml_c64);
    if ((st = grow(s, pbytes + cbytes + tbytes, pbytes + cbytes)) != QDML_OK) return st;
    unsigned char *h = static_cast<unsigned char *>(s->vhost);
    pointers(s, ni, uslot, umem, reinterpret_cast<const qdml_c64 **>(h));
    pointers(s, nj, wslot, wmem, reinterpret_cast<const qdml_c64 **>(h) + ni);
    memcpy(h + pbytes, c, (size_t)ni * (size_t)nj * 2 * sizeof(double));
    unsigned char *d = static_cast<unsigned char *>(s->vscratch);
    CUDA_TRY(cudaMemcpyAsync, (d, h, pbytes + cbytes, cudaMemcpyHostToDevice, s->stream));
    const qdml_c64 *const *du = reinterpret_cast<const qdml_c64 *const *>(d);
    qdml_c64 *const *dw = reinterpret_cast<qdml_c64 *const *>(d) + ni;
    const double *dc = reinterpret_cast<const double *>(d + pbytes);
    qdml_c64 *tmp = reinterpret_cast<qdml_c64 *>(d + pbytes + cbytes);
    cudaError_t e = launch(k_vec_combine, flat_grid(s, (i64)nj * N), s->stream, du, (i64)ni, dc, (i64)nj, N, tmp);
    if (e != cudaSuccess) return fail_cuda("cudaLaunchKernel (k_vec_combine)", e);
    e = launch(k_vec_scatter, flat_grid(s, (i64)nj * N), s->stream, (const qdml_c64 *)tmp, dw, (i64)nj, N);
    if (e != cudaSuccess) return fail_cuda("cudaLaunchKernel (k_vec_scatter)", e);
    /* The pinned buffer is rewritten by the next call only after grow() waits for the stream. */
    return QDML_OK;
}

qdml_status vset_impl(qdml_backend_state *s, int slot, int64_t member, const double *psi) {
    qdml_status st;
    if ((st = need_f64(s, "vset")) != QDML_OK || (st = check_slot(s, slot, "vset")) != QDML_OK) return st;
    if (member < 0 || member >= s->g.B || !psi) return fail_internal("vset: member out of range or NULL values");
    CUDA_TRY(cudaMemcpyAsync, (slot_ptr(s, slot) + (size_t)member * (size_t)s->g.N, psi,
                               (size_t)s->g.N * sizeof(qdml_c64), cudaMemcpyHostToDevice, s->stream));
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    return QDML_OK;
}

} /* namespace */

namespace qdml_cuda {

qdml_status cu_vectors(qdml_backend_state *s, int n) { OP_WRAP("vectors", vectors_impl(s, n)); }
qdml_status cu_apply_h(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass) {
    if (src == dst) return fail_internal("apply_h: source and destination are the same slot");
    OP_WRAP("apply_h", spectral_impl(s, src, dst, 0, hbar, mass, NULL, NULL, "apply_h"));
}
qdml_status cu_precondition(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass,
                            const double *shift, const double *vmin) {
    OP_WRAP("precondition", spectral_impl(s, src, dst, 1, hbar, mass, shift, vmin, "precondition"));
}
qdml_status cu_vdot(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj, const int *wslot,
                    const int64_t *wmem, int hermitian, double *g) {
    (void)hermitian; /* every pair is computed */
    OP_WRAP("vdot", vdot_impl(s, ni, uslot, umem, nj, wslot, wmem, g));
}
qdml_status cu_vcombine(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj, const int *wslot,
                        const int64_t *wmem, const double *c) {
    OP_WRAP("vcombine", vcombine_impl(s, ni, uslot, umem, nj, wslot, wmem, c));
}
qdml_status cu_vset(qdml_backend_state *s, int slot, int64_t member, const double *psi) {
    OP_WRAP("vset", vset_impl(s, slot, member, psi));
}

} /* namespace qdml_cuda */
