/* The walkers on a GPU: every member's population in device memory, walker-major as on the CPU,
 * stepped by core/walkers.h (the same Philox streams, the same per-walker formulas), one thread per
 * walker. Population control stays on the device: a step is nine kernels and no copy to the host;
 * the steps' records come back once per call.
 *
 * A step, over every member at once (a member whose population failed is skipped from then on):
 *   k_energies  E_L of the current walkers under the step's hbar and m
 *   k_fresh     one block per member: on its first step, E_ref := the mean E_L (fixed-order sum)
 *   k_move      one thread per walker: propose, evaluate, accept, weight, copies
 *   k_weights   one block per (member, 256 walkers): the block's sums (weights, weighted energies,
 *               acceptances), in walker order
 *   k_lambda    one thread per member: the blocks' sums in block order, the copies' factor lambda
 *   k_copies    one block per (member, 256 walkers): each walker's copies, scanned within the block,
 *               the block's count and lowest f
 *   k_member    one thread per member: the blocks' counts scanned in order (each block's place), the
 *               capacity check, the step's record, E_ref
 *   (the sums in the same order as the CPU backend's chunks of 256 walkers, so that the two agree to
 *   the rounding of exp and cos)
 *   k_scatter   one thread per (walker, coordinate): the copies written to their places
 *   k_best      the lowest point's coordinates, where the step improved it
 * Kernels are launched with cudaLaunchKernel (no <<< >>>: libqdml is linked as C); the scans are
 * these integer block scans, not CUB's, so that every sum has one order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_private.cuh"

extern "C" {
#include "walkers_private.h"
}
#include "objective_grad.h"
#include "walkers.h"

namespace {

using qdml_cuda::fail_cuda;

typedef long long ll;

struct wmember {
    ll n, nsrc;        /* walkers now; walkers before the step being scattered */
    double eref, est, best_f, minf;
    ll mini;           /* the walker (of the proposals) with the lowest f this step, -1 none */
    double sw, swel, swf, sacc, lambda; /* this step's sums (k_weights) and the copies' factor */
    unsigned step;
    int fresh, failed, improved;
    unsigned fail_step;
    ll fail_total;
    double fail_sw;
};

struct wrun {
    double dt, hbar, mass, feedback, alpha;
    unsigned key0, key1;
    ll cap, target;
    int dim;
};

enum { kB = qdml_cuda::kBlock, kSums = 5 }; /* sums per block: w, w el, w f, accepted, copies */

__device__ __forceinline__ qdml_walk_step consts(const wrun &r, const wmember &m, ll b) {
    qdml_walk_step c;
    c.s2 = r.hbar * r.dt / r.mass;
    c.s = sqrt(c.s2);
    c.tau = r.dt / r.hbar;
    c.eref = m.eref;
    c.alpha = r.alpha / r.hbar; /* psi_T = exp(-alpha f / hbar) */
    c.kin = r.hbar * r.hbar / (2.0 * r.mass);
    c.key0 = r.key0;
    c.key1 = r.key1;
    c.step = m.step;
    c.member = (uint32_t)b;
    return c;
}

__device__ __forceinline__ double norm2(const double *g, int dim) {
    double a = 0.0;
    for (int i = 0; i < dim; ++i)
        a += g[i] * g[i];
    return a;
}

__device__ __forceinline__ double eval(const qdml_objective *o, const double *ax, const double *x, int dim, double *g,
                                       double *lap) {
    if (g) return qdml_objective_grad(o, ax, x, dim, g, lap);
    *lap = 0.0;
    return qdml_objective_value_axes(o, ax, x, dim);
}

struct wbuf {
    double *x, *f, *lap, *g, *xn, *fn, *lapn, *gn, *w, *el, *eln, *ub;
    ll *copies, *off, *bcount, *boff;
    double *bsum, *bmin;
    ll *bmini;
    unsigned char *acc;
    double *best_x, *ax;
    qdml_objective *obj;
    wmember *m;
    qdml_walkers_step *rec;
};

__global__ void k_energies(wbuf B, wrun r, ll batch) {
    const ll total = batch * r.cap, dim = r.dim;
    for (ll t = (ll)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (ll)gridDim.x * blockDim.x) {
        const ll b = t / r.cap, i = t % r.cap;
        const wmember &m = B.m[b];
        if (m.failed || i >= m.n) continue;
        const qdml_walk_step c = consts(r, m, b);
        B.el[t] = qdml_walk_local_energy(&c, B.f[t], r.alpha > 0.0 ? norm2(B.g + t * dim, r.dim) : 0.0, B.lap[t]);
    }
}

/* one block per member: a fixed-order sum of the finite E_L (thread j takes j, j + kB, ...) */
__global__ void k_fresh(wbuf B, wrun r) {
    const ll b = blockIdx.x;
    wmember &m = B.m[b];
    if (!m.fresh || m.failed) return;
    __shared__ double sh[kB];
    __shared__ ll shk[kB];
    double s = 0.0;
    ll k = 0;
    for (ll i = threadIdx.x; i < m.n; i += kB) {
        const double e = B.el[b * r.cap + i];
        if (isfinite(e)) s += e, ++k;
    }
    sh[threadIdx.x] = s;
    shk[threadIdx.x] = k;
    __syncthreads();
    for (int h = kB / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h) sh[threadIdx.x] += sh[threadIdx.x + h], shk[threadIdx.x] += shk[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        m.eref = m.est = sh[0] / (double)shk[0];
        m.fresh = 0;
    }
}

__global__ void k_move(wbuf B, wrun r, ll batch) {
    const ll total = batch * r.cap, dim = r.dim;
    for (ll t = (ll)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (ll)gridDim.x * blockDim.x) {
        const ll b = t / r.cap, i = t % r.cap;
        const wmember &m = B.m[b];
        if (m.failed || i >= m.n) continue;
        const qdml_walk_step c = consts(r, m, b);
        const int grad = r.alpha > 0.0;
        double *xn = B.xn + t * dim, *gn = grad ? B.gn + t * dim : nullptr;
        const double *x = B.x + t * dim, *g = grad ? B.g + t * dim : nullptr;
        qdml_walk_propose(&c, (uint32_t)i, r.dim, x, g, xn);
        double lap = 0.0, u[2];
        double fn = eval(&B.obj[b], B.ax + b * 2 * dim, xn, r.dim, gn, &lap);
        qdml_walk_uniforms(&c, (uint32_t)i, u);
        double eln = qdml_walk_local_energy(&c, fn, grad ? norm2(gn, r.dim) : 0.0, lap);
        int acc = isfinite(fn) && isfinite(eln);
        if (acc && grad) {
            const double la = qdml_walk_log_accept(&c, r.dim, x, xn, g, gn, B.f[t], fn);
            acc = la >= 0.0 || u[0] < exp(la);
        }
        if (!acc && grad) {
            for (ll a = 0; a < dim; ++a)
                xn[a] = x[a], gn[a] = g[a];
            fn = B.f[t];
            lap = B.lap[t];
            eln = B.el[t];
        }
        B.fn[t] = fn;
        B.lapn[t] = lap;
        B.eln[t] = eln;
        B.acc[t] = (unsigned char)acc;
        const double w = (acc || grad) ? qdml_walk_weight(&c, B.el[t], eln) : 0.0;
        B.w[t] = isfinite(w) ? w : 0.0;
        B.ub[t] = u[1];
    }
}

/* one block per (member, 256 walkers): the block's sums in walker order (thread 0, as the CPU's chunk) */
__global__ void k_weights(wbuf B, wrun r, ll nblk) {
    const ll b = blockIdx.x / nblk, k = blockIdx.x % nblk;
    const wmember &m = B.m[b];
    if (m.failed || threadIdx.x != 0 || k * kB >= m.n) return;
    const ll e = (k + 1) * kB < m.n ? (k + 1) * kB : m.n;
    double sw = 0.0, swel = 0.0, swf = 0.0, acc = 0.0;
    for (ll j = k * kB; j < e; ++j) {
        const ll u = b * r.cap + j;
        sw += B.w[u];
        if (B.w[u] > 0.0) swel += B.w[u] * B.eln[u], swf += B.w[u] * B.fn[u];
        acc += B.acc[u];
    }
    double *bs = B.bsum + (b * nblk + k) * kSums;
    bs[0] = sw, bs[1] = swel, bs[2] = swf, bs[3] = acc;
}

/* one thread per member: the blocks' sums in block order, and the copies' factor */
__global__ void k_lambda(wbuf B, wrun r, ll batch, ll nblk) {
    const ll b = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= batch) return;
    wmember &m = B.m[b];
    if (m.failed) return;
    const ll nb = (m.n + kB - 1) / kB;
    double sw = 0.0, swel = 0.0, swf = 0.0, acc = 0.0;
    for (ll k = 0; k < nb; ++k) {
        const double *bs = B.bsum + (b * nblk + k) * kSums;
        sw += bs[0], swel += bs[1], swf += bs[2], acc += bs[3];
    }
    m.sw = sw, m.swel = swel, m.swf = swf, m.sacc = acc;
    m.lambda = qdml_walk_lambda(sw, r.target, r.cap);
}

/* one block per (member, 256 walkers): each walker's copies, their exclusive scan within the block, the
 * block's count and lowest f among the walkers kept */
__global__ void k_copies(wbuf B, wrun r, ll nblk) {
    const ll b = blockIdx.x / nblk, k = blockIdx.x % nblk;
    const wmember &m = B.m[b];
    if (m.failed || k * kB >= m.n) return;
    const ll i = k * kB + threadIdx.x, t = b * r.cap + i;
    __shared__ ll sc[kB];
    ll mine = 0;
    if (i < m.n) mine = B.copies[t] = qdml_walk_copies(m.lambda * B.w[t], B.ub[t], r.cap);
    sc[threadIdx.x] = mine;
    __syncthreads();
    for (int h = 1; h < kB; h *= 2) { /* Hillis-Steele inclusive scan */
        const ll v = (int)threadIdx.x >= h ? sc[threadIdx.x - h] : 0;
        __syncthreads();
        sc[threadIdx.x] += v;
        __syncthreads();
    }
    if (i < m.n) B.off[t] = sc[threadIdx.x] - mine;
    if (threadIdx.x != 0) return;
    const ll e = (k + 1) * kB < m.n ? (k + 1) * kB : m.n;
    double minf = INFINITY;
    ll mini = -1;
    for (ll j = k * kB; j < e; ++j) {
        const ll u = b * r.cap + j;
        if (B.copies[u] > 0 && B.fn[u] < minf) minf = B.fn[u], mini = j;
    }
    B.bcount[b * nblk + k] = sc[kB - 1];
    B.bmin[b * nblk + k] = minf;
    B.bmini[b * nblk + k] = mini;
}

/* one thread per member: each block's place (the counts scanned in order), the capacity check, the
 * step's record, E_ref */
__global__ void k_member(wbuf B, wrun r, ll batch, ll nblk, ll t_local) {
    const ll b = (ll)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= batch) return;
    wmember &m = B.m[b];
    m.improved = 0;
    m.nsrc = 0;
    if (m.failed) return;
    const ll nb = (m.n + kB - 1) / kB;
    double minf = INFINITY;
    ll total = 0, mini = -1;
    for (ll k = 0; k < nb; ++k) {
        B.boff[b * nblk + k] = total;
        total += B.bcount[b * nblk + k];
        if (total > r.cap) total = r.cap + 1;
        if (B.bmin[b * nblk + k] < minf) minf = B.bmin[b * nblk + k], mini = B.bmini[b * nblk + k];
    }
    if (total == 0 || total > r.cap || !(m.sw > 0.0) || !isfinite(m.sw)) {
        m.failed = 1, m.fail_step = m.step, m.fail_total = total, m.fail_sw = m.sw;
        return;
    }
    qdml_walkers_step *rec = &B.rec[t_local * batch + b];
    qdml_walk_record(rec, m.eref, r.hbar, r.dt, m.sw, m.swel, m.swf, m.sacc, m.n, total);
    if (mini >= 0 && minf < m.best_f) m.best_f = minf, m.mini = mini, m.improved = 1;
    qdml_walk_feedback(&m.est, &m.eref, rec, m.lambda != 1.0, r.hbar, r.dt, r.feedback, r.target);
    m.nsrc = m.n;
    m.n = total;
    m.step++;
}

/* one thread per (member, walker, coordinate) of the proposals: copies to their places */
__global__ void k_scatter(wbuf B, wrun r, ll batch, ll nblk) {
    const ll dim = r.dim, total = batch * r.cap * dim;
    for (ll t = (ll)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (ll)gridDim.x * blockDim.x) {
        const ll a = t % dim, q = t / dim, b = q / r.cap, i = q % r.cap;
        const wmember &m = B.m[b];
        if (i >= m.nsrc) continue; /* 0 for a failed member or one that did not step */
        const ll n = B.copies[q];
        const ll o = b * r.cap + B.boff[b * nblk + i / kB] + B.off[q];
        for (ll j = 0; j < n; ++j) {
            B.x[(o + j) * dim + a] = B.xn[q * dim + a];
            if (r.alpha > 0.0) B.g[(o + j) * dim + a] = B.gn[q * dim + a];
            if (a == 0) B.f[o + j] = B.fn[q], B.lap[o + j] = B.lapn[q];
        }
    }
}

__global__ void k_best(wbuf B, wrun r, ll batch) {
    const ll dim = r.dim, total = batch * dim;
    for (ll t = (ll)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (ll)gridDim.x * blockDim.x) {
        const ll b = t / dim, a = t % dim;
        const wmember &m = B.m[b];
        if (m.improved) B.best_x[t] = B.xn[(b * r.cap + m.mini) * dim + a];
    }
}

/* the walkers of member b placed uniformly in [lo, hi] (lo, hi on the device: dim values each) */
__global__ void k_place_uniform(wbuf B, wrun r, ll b, ll count, const double *lo, const double *hi) {
    const ll dim = r.dim, nb = (dim + 3) / 4, total = count * nb;
    qdml_walk_step c;
    memset(&c, 0, sizeof c);
    c.key0 = r.key0, c.key1 = r.key1, c.step = QDML_WALK_UNIFORM_BLOCK, c.member = (uint32_t)b;
    for (ll t = (ll)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (ll)gridDim.x * blockDim.x) {
        const ll i = t / nb, k = t % nb;
        const qdml_u32x4 q = qdml_walk_draw(&c, (uint32_t)k, (uint32_t)i);
        for (ll j = 0; j < 4 && 4 * k + j < dim; ++j) {
            const ll a = 4 * k + j;
            B.x[(b * r.cap + i) * dim + a] = lo[a] + (hi[a] - lo[a]) * qdml_uniform_open(q.v[j]);
        }
    }
}

__global__ void k_place_eval(wbuf B, wrun r, ll b, ll count) {
    const ll dim = r.dim;
    for (ll i = (ll)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (ll)gridDim.x * blockDim.x) {
        const ll t = b * r.cap + i;
        B.f[t] = eval(&B.obj[b], B.ax + b * 2 * dim, B.x + t * dim, r.dim, r.alpha > 0.0 ? B.g + t * dim : nullptr,
                      &B.lap[t]);
    }
}

} /* namespace */

struct qdml_walk_state {
    qdml_walk_desc d;
    wbuf B;
    wrun r;
    ll nblk;
    cudaStream_t stream;
    int dev;
    ll rec_cap; /* records the device buffer holds */
    wmember *hm; /* host copy of the members */
};

namespace {

using qdml_cuda::launch;

unsigned grid_for(ll n) {
    ll g = (n + kB - 1) / kB;
    if (g > 65535LL * 16) g = 65535LL * 16;
    return (unsigned)(g < 1 ? 1 : g);
}

#define WLAUNCH(kernel, grid, ...)                                                                                     \
    do {                                                                                                               \
        const cudaError_t e_ = launch(kernel, grid, s->stream, __VA_ARGS__);                                           \
        if (e_ != cudaSuccess) return fail_cuda("cudaLaunchKernel (" #kernel ")", e_);                                 \
    } while (0)

/* the state's device current for an op, the caller's put back after (a guard with no C++ runtime) */
struct dev_guard {
    int prev = -1;
};
qdml_status enter(qdml_walk_state *s, dev_guard *g) {
    CUDA_TRY(cudaGetDevice, (&g->prev));
    if (g->prev != s->dev) CUDA_TRY(cudaSetDevice, (s->dev));
    return QDML_OK;
}
void leave(qdml_walk_state *s, dev_guard *g) {
    if (g->prev >= 0 && g->prev != s->dev) (void)cudaSetDevice(g->prev);
}

void free_all(qdml_walk_state *s) {
    void *ptrs[] = {s->B.x,    s->B.f,     s->B.lap,  s->B.g,    s->B.xn,     s->B.fn,   s->B.lapn, s->B.gn,
                    s->B.w,    s->B.ub, s->B.el,    s->B.eln,  s->B.copies, s->B.off,  s->B.bcount, s->B.boff, s->B.bsum,
                    s->B.bmin, s->B.bmini, s->B.acc,  s->B.best_x, s->B.ax,   s->B.obj,  s->B.m,    s->B.rec};
    for (void *p : ptrs)
        if (p) (void)cudaFree(p);
    if (s->stream) (void)cudaStreamDestroy(s->stream);
    free(s->hm);
}

template <typename T> qdml_status dalloc(T **p, ll count) {
    CUDA_TRY(cudaMalloc, ((void **)p, (size_t)(count > 0 ? count : 1) * sizeof(T)));
    return QDML_OK;
}

qdml_status create_body(qdml_walk_state *s) {
    const qdml_walk_desc &d = s->d;
    const ll B = d.batch, cap = d.capacity, dim = d.dim, n = B * cap, grad = d.alpha > 0.0;
    s->nblk = (cap + kB - 1) / kB;
    if (d.device >= 0) CUDA_TRY(cudaSetDevice, (d.device));
    CUDA_TRY(cudaGetDevice, (&s->dev));
    CUDA_TRY(cudaStreamCreateWithFlags, (&s->stream, cudaStreamNonBlocking));
    qdml_status st = QDML_OK;
#define A(field, count)                                                                                                \
    if (st == QDML_OK) st = dalloc(&s->B.field, count)
    A(x, n * dim);
    A(xn, n * dim);
    if (grad) {
        A(g, n * dim);
        A(gn, n * dim);
    }
    A(f, n);
    A(lap, n);
    A(fn, n);
    A(lapn, n);
    A(w, n);
    A(ub, n);
    A(el, n);
    A(eln, n);
    A(copies, n);
    A(off, n);
    A(acc, n);
    A(bcount, B * s->nblk);
    A(boff, B * s->nblk);
    A(bsum, B * s->nblk * kSums);
    A(bmin, B * s->nblk);
    A(bmini, B * s->nblk);
    A(best_x, B * dim);
    A(ax, B * 2 * dim);
    A(obj, B);
    A(m, B);
#undef A
    if (st != QDML_OK) return st;
    s->hm = (wmember *)calloc((size_t)B, sizeof(wmember));
    if (!s->hm) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "walkers (cuda): no host memory");
    CUDA_TRY(cudaMemset, (s->B.m, 0, (size_t)B * sizeof(wmember)));
    CUDA_TRY(cudaMemset, (s->B.ax, 0, (size_t)(B * 2 * dim) * sizeof(double)));
    s->r.alpha = d.alpha;
    s->r.key0 = (unsigned)d.seed;
    s->r.key1 = (unsigned)(d.seed >> 32);
    s->r.cap = cap;
    s->r.target = d.target;
    s->r.dim = d.dim;
    return QDML_OK;
}

qdml_status cu_w_create(const qdml_walk_desc *d, qdml_walk_state **out) {
    qdml_walk_state *s = (qdml_walk_state *)calloc(1, sizeof *s);
    if (!s) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "walkers (cuda): no memory for the state");
    s->d = *d;
    int prev = -1;
    (void)cudaGetDevice(&prev);
    const qdml_status st = create_body(s);
    if (prev >= 0) (void)cudaSetDevice(prev);
    if (st != QDML_OK) {
        free_all(s);
        free(s);
        return st;
    }
    *out = s;
    return QDML_OK;
}

void cu_w_destroy(qdml_walk_state *s) {
    if (!s) return;
    dev_guard g;
    const int ok = enter(s, &g) == QDML_OK;
    if (ok) (void)cudaStreamSynchronize(s->stream);
    free_all(s);
    if (ok) leave(s, &g);
    free(s);
}

qdml_status set_objective_body(qdml_walk_state *s, ll b, const qdml_walk_objective *o) {
    if (o->set != 1) return qdml_fail(NULL, QDML_ERR_UNAVAILABLE, "walkers (cuda): built-in objectives only");
    CUDA_TRY(cudaMemcpyAsync, (s->B.obj + b, &o->obj, sizeof(qdml_objective), cudaMemcpyHostToDevice, s->stream));
    if (o->naxes > 0)
        CUDA_TRY(cudaMemcpyAsync, (s->B.ax + b * 2 * s->d.dim, o->axes, (size_t)o->naxes * s->d.dim * sizeof(double),
                                   cudaMemcpyHostToDevice, s->stream));
    s->hm[b].n = 0;
    s->hm[b].failed = 0;
    CUDA_TRY(cudaMemcpyAsync, (s->B.m + b, &s->hm[b], sizeof(wmember), cudaMemcpyHostToDevice, s->stream));
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    return QDML_OK;
}

qdml_status cu_w_set_objective(qdml_walk_state *s, int64_t b, const qdml_walk_objective *o) {
    dev_guard g;
    qdml_status st = enter(s, &g);
    if (st == QDML_OK) st = set_objective_body(s, b, o);
    leave(s, &g);
    return st;
}

qdml_status place_body(qdml_walk_state *s, ll b, ll count, const double *x, const double *lo, const double *hi) {
    const ll dim = s->d.dim;
    if (x) {
        CUDA_TRY(cudaMemcpyAsync, (s->B.x + b * s->d.capacity * dim, x, (size_t)(count * dim) * sizeof(double),
                                   cudaMemcpyHostToDevice, s->stream));
    } else {
        /* lo and hi through the proposal buffer's first 2 dim values (unused between steps) */
        double *dbox = s->B.xn;
        CUDA_TRY(cudaMemcpyAsync, (dbox, lo, (size_t)dim * sizeof(double), cudaMemcpyHostToDevice, s->stream));
        CUDA_TRY(cudaMemcpyAsync, (dbox + dim, hi, (size_t)dim * sizeof(double), cudaMemcpyHostToDevice, s->stream));
        WLAUNCH(k_place_uniform, grid_for(count * ((dim + 3) / 4)), s->B, s->r, b, count, (const double *)dbox,
                (const double *)(dbox + dim));
    }
    WLAUNCH(k_place_eval, grid_for(count), s->B, s->r, b, count);
    /* the best point and the finite count on the host (a placement is rare) */
    double *f = (double *)malloc((size_t)count * sizeof(double));
    if (!f) return qdml_fail(NULL, QDML_ERR_OUT_OF_MEMORY, "walkers (cuda): no host memory");
    cudaError_t e = cudaMemcpyAsync(f, s->B.f + b * s->d.capacity, (size_t)count * sizeof(double),
                                    cudaMemcpyDeviceToHost, s->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s->stream);
    if (e != cudaSuccess) {
        free(f);
        return fail_cuda("cudaMemcpyAsync (objective values)", e);
    }
    ll best = -1;
    for (ll i = 0; i < count; ++i)
        if (isfinite(f[i]) && (best < 0 || f[i] < f[best])) best = i;
    wmember &m = s->hm[b];
    memset(&m, 0, sizeof m);
    m.best_f = best >= 0 ? f[best] : INFINITY;
    free(f);
    if (best < 0)
        return qdml_fail(NULL, QDML_ERR_DIVERGED,
                         "member %lld: none of the %lld walkers placed has a finite objective value", b, count);
    m.n = count;
    m.fresh = 1;
    m.mini = -1;
    CUDA_TRY(cudaMemcpyAsync, (s->B.best_x + b * dim, s->B.x + (b * s->d.capacity + best) * dim,
                               (size_t)dim * sizeof(double), cudaMemcpyDeviceToDevice, s->stream));
    CUDA_TRY(cudaMemcpyAsync, (s->B.m + b, &m, sizeof m, cudaMemcpyHostToDevice, s->stream));
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    return QDML_OK;
}

qdml_status cu_w_place(qdml_walk_state *s, int64_t b, int64_t count, const double *x, const double *lo,
                       const double *hi) {
    dev_guard g;
    qdml_status st = enter(s, &g);
    if (st == QDML_OK) st = place_body(s, b, count, x, lo, hi);
    leave(s, &g);
    return st;
}

qdml_status steps_body(qdml_walk_state *s, ll n, const qdml_walk_run *run, qdml_walkers_step *rec, int64_t *done) {
    const ll B = s->d.batch, cap = s->d.capacity, dim = s->d.dim;
    if (n > s->rec_cap) {
        if (s->B.rec) CUDA_TRY(cudaFree, (s->B.rec));
        s->B.rec = nullptr;
        s->rec_cap = 0;
        qdml_status st = dalloc(&s->B.rec, n * B);
        if (st != QDML_OK) return st;
        s->rec_cap = n;
    }
    s->r.dt = run->dt, s->r.hbar = run->hbar, s->r.mass = run->mass, s->r.feedback = run->feedback;
    for (ll t = 0; t < n; ++t) {
        WLAUNCH(k_energies, grid_for(B * cap), s->B, s->r, B);
        WLAUNCH(k_fresh, (unsigned)B, s->B, s->r);
        WLAUNCH(k_move, grid_for(B * cap), s->B, s->r, B);
        WLAUNCH(k_weights, (unsigned)(B * s->nblk), s->B, s->r, s->nblk);
        WLAUNCH(k_lambda, grid_for(B), s->B, s->r, B, s->nblk);
        WLAUNCH(k_copies, (unsigned)(B * s->nblk), s->B, s->r, s->nblk);
        WLAUNCH(k_member, grid_for(B), s->B, s->r, B, s->nblk, t);
        WLAUNCH(k_scatter, grid_for(B * cap * dim), s->B, s->r, B, s->nblk);
        WLAUNCH(k_best, grid_for(B * dim), s->B, s->r, B);
    }
    CUDA_TRY(cudaMemcpyAsync, (rec, s->B.rec, (size_t)(n * B) * sizeof(qdml_walkers_step), cudaMemcpyDeviceToHost,
                               s->stream));
    CUDA_TRY(cudaMemcpyAsync, (s->hm, s->B.m, (size_t)B * sizeof(wmember), cudaMemcpyDeviceToHost, s->stream));
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    *done = n;
    for (ll b = 0; b < B; ++b) {
        const wmember &m = s->hm[b];
        if (!m.failed) continue;
        /* the first failing member (in member order) is reported; it stands before that step */
        return qdml_fail(NULL, QDML_ERR_DIVERGED,
                         "member %lld, step %u: the population of %lld walkers %s (total weight %g, E_ref %g): use a "
                         "smaller dt or more walkers",
                         b, m.fail_step, m.n, m.fail_total == 0 ? "died out" : "grew past its capacity", m.fail_sw,
                         m.eref);
    }
    return QDML_OK;
}

qdml_status cu_w_steps(qdml_walk_state *s, int64_t n, const qdml_walk_run *r, qdml_walkers_step *rec,
                       int64_t *done) {
    *done = 0;
    dev_guard g;
    qdml_status st = enter(s, &g);
    if (st == QDML_OK) st = steps_body(s, n, r, rec, done);
    leave(s, &g);
    return st;
}

qdml_status copy_back(qdml_walk_state *s, void *dst, const void *src, size_t bytes) {
    CUDA_TRY(cudaMemcpyAsync, (dst, src, bytes, cudaMemcpyDeviceToHost, s->stream));
    CUDA_TRY(cudaStreamSynchronize, (s->stream));
    return QDML_OK;
}

qdml_status cu_w_positions(qdml_walk_state *s, int64_t b, double *x, int64_t capacity, int64_t *count) {
    *count = s->hm[b].n;
    const ll k = capacity < s->hm[b].n ? capacity : s->hm[b].n;
    if (k <= 0) return QDML_OK;
    dev_guard g;
    qdml_status st = enter(s, &g);
    if (st == QDML_OK)
        st = copy_back(s, x, s->B.x + b * s->d.capacity * s->d.dim, (size_t)(k * s->d.dim) * sizeof(double));
    leave(s, &g);
    return st;
}

qdml_status cu_w_best(qdml_walk_state *s, int64_t b, double *x, double *f) {
    if (f) *f = s->hm[b].best_f;
    if (!x) return QDML_OK;
    dev_guard g;
    qdml_status st = enter(s, &g);
    if (st == QDML_OK) st = copy_back(s, x, s->B.best_x + b * s->d.dim, (size_t)s->d.dim * sizeof(double));
    leave(s, &g);
    return st;
}

} /* namespace */

extern "C" const qdml_walker_ops qdml_walkers_cuda_ops = {
    "cuda", 0, cu_w_create, cu_w_destroy, cu_w_set_objective, cu_w_place, cu_w_steps, cu_w_positions, cu_w_best,
};
