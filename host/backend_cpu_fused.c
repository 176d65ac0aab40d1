/* The CPU backend's fused passes. A split-step step is two FFTs and two pointwise passes (potential
 * factor, kinetic factor). On grids of two or three dimensions this backend fuses them: the
 * multi-dimensional transform is split into transforms of the planes (the trailing axes,
 * contiguous) and transforms along the leading ("outer") axis, and
 *   - the plane pass applies the pending inverse plane transform, the potential factor (with the
 *     norm sum and the flush of tiny values) and the forward plane transform, one block of planes
 *     at a time while it is in cache;
 *   - the column pass gathers a block of columns along the outer axis into a per-thread buffer,
 *     transforms it, multiplies by the kinetic factor, transforms back and scatters it.
 * So a step reads and writes the state twice instead of six or more times. The solver still calls
 * kick, fft, kinetic, fft, kick in order; the backend defers the work (a forward FFT is only noted,
 * a kick without norms is queued: backend_cpu_steps.c) and performs it in these passes. Every op
 * that looks at the state any other way first brings it to the plain layout ("materialize").
 *
 * Two fused paths (which one a problem takes: backend_cpu_paths.c): PATH_PLANES runs each pass over
 * blocks of all members, shared among the threads (one member, or a few large ones). PATH_MEMBERS
 * (batches) gives each thread whole members; runs of steps take them through the steps op
 * (backend_cpu_steps.c), built of the plane and column blocks here. The single ops (potential-only
 * steps, a composition while a member lacks its second table set) take one pass over the members
 * per step (member_pass), which reads and writes each member once; in imaginary time its column
 * stage is split between the end of one pass and the start of the next, because the solver needs
 * the kick's norms before it gives the kinetic factor its scale. The fused paths' results equal the
 * plain path's to rounding (~1e-15 relative), not bit for bit.
 *
 * Layout of a member in the fused paths: `phys[b]` = 0 means psi holds the member as the solver
 * sees it; 1 means psi holds the unnormalised forward transform of every plane of it (an inverse
 * plane transform and a factor 1/P give it back); 2 (PATH_MEMBERS) the whole unnormalised forward
 * transform, perhaps with the kinetic factor still to apply (kin_pending[b]).
 */
#include <assert.h>
#include <fftw3.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "cpu_private.h"

/* One block of q->rb planes of member b, at point offset `off` in the member: the inverse plane
 * transforms with the factor 1/P if `from`, the potential factor `kick` (0 none, 1 half, 2 full)
 * times that factor, and the forward plane transforms if `to`. Returns sum |psi|^2 of the kicked
 * block when `norm`. */
double qdml_cpu_plane_block(const qdml_backend_state *s, const blocking *q, int64_t b, int64_t off, int from, int kick,
                            int to, int norm) {
    const kernel_set *K = s->k;
    const int64_t len = q->rb * s->P;
    fftw_complex *z = (fftw_complex *)(s->psi + b * s->d.npoints + off);
    double *p = (double *)z;
    double c = 1.0, acc = 0.0;
    if (from) {
        fftw_execute_dft(q->pb, z, z);
        c = 1.0 / (double)s->P;
    }
    if (kick) {
        const double *f = kick_factor(s, kick == 2, b);
        acc = s->imag[b] ? K->mul_real_fast(p, f + off, len, c, s->flush[b], norm)
                         : K->mul_cplx(p, f + 2 * off, len, c, s->flush[b], norm);
    } else if (c != 1.0) {
        K->scale(p, len, c);
    }
    if (to) fftw_execute_dft(q->pf, z, z);
    return acc;
}

/* rows x w complex values (w a multiple of 4) between arrays with row strides ds and ss (points),
 * in fixed 64-byte pieces the compiler turns into vector moves: a memcpy call per row of a few
 * hundred bytes spent more on the call than on the copy. */
static void copy_rows(double *restrict dst, int64_t ds, const double *restrict src, int64_t ss, int64_t rows,
                      int64_t w) {
    assert(w % 4 == 0);
    for (int64_t r = 0; r < rows; ++r) {
        double *restrict d = dst + 2 * r * ds;
        const double *restrict q = src + 2 * r * ss;
        for (int64_t j = 0; j < 2 * w; j += 8) memcpy(d + j, q + j, 8 * sizeof(double));
    }
}

/* Block `blk` of q->w adjacent columns of member b (planes held transformed), worked on in place
 * (strided by P) or, with `gather`, in thread t's buffer; a block of nout x w points stays in
 * cache between its stages. */
void qdml_cpu_column_block(const qdml_backend_state *s, const blocking *q, int64_t b, int64_t blk, int t, int stages,
                           double sc, int gather) {
    const kernel_set *K = s->k;
    const int64_t P = s->P, nout = s->nout, w = q->w;
    const int64_t n0 = s->d.n[0], n1 = s->d.n[1], n2 = s->d.n[2], per_row = n2 / w;
    /* Offsets of the outer and plane-row axes in a member's kinetic tables. */
    const int64_t o_off = s->oaxis == 0 ? 0 : n0, r_off = s->oaxis == 0 ? n0 : 0, t_off = n0 + n1;
    const int64_t ip = blk / per_row, c2 = (blk % per_row) * w;
    qdml_c64 *base = s->psi + b * s->d.npoints + ip * n2 + c2;
    /* The block: rows of w points, `stride` apart, in psi or in this thread's buffer. */
    qdml_c64 *blkp = base;
    int64_t stride = P;
    if (gather) {
        blkp = s->cbuf + (int64_t)t * nout * w;
        stride = w;
        copy_rows((double *)blkp, w, (const double *)base, P, nout, w);
    }
    if (stages & COL_FWD) fftw_execute_dft(gather ? q->gf : q->cf, (fftw_complex *)blkp, (fftw_complex *)blkp);
    if (stages & COL_KIN) {
        if (s->imag[b]) {
            const double *kr = kin_real_table(s, b);
            K->kin_real((double *)blkp, stride, nout, kr + o_off, kr[r_off + ip] * sc, kr + t_off + c2, w, s->flush[b]);
        } else {
            const qdml_c64 *kt = kin_table(s, b);
            K->kin_cplx((double *)blkp, stride, nout, kt + o_off, qdml_cscale(kt[r_off + ip], sc),
                        (const double *)(kt + t_off + c2), w, s->flush[b]);
        }
    } else if (stages & COL_SCALE) {
        for (int64_t io = 0; io < nout; ++io) K->scale((double *)(blkp + io * stride), w, sc);
    }
    if (stages & COL_INV) fftw_execute_dft(gather ? q->gb : q->cb, (fftw_complex *)blkp, (fftw_complex *)blkp);
    if (gather)
        copy_rows((double *)base, P, (const double *)blkp, w, nout, w);
}

/* One pass over blocks of planes (PATH_PLANES). For every member b it performs, in this order: the
 * inverse plane transform if phys[b] (with the factor 1/P), the potential factor `kick` (0 none, 1
 * half, 2 full) if kact[b] (NULL: all), summing |psi|^2 into norms[b] when norms != NULL (0 for
 * members not kicked), and the forward plane transform if the member ends transformed. A member
 * ends transformed if fwd and fset[b] (NULL: all); otherwise untransformed if `plain` or it was
 * kicked; otherwise it keeps its layout. Members with nothing to do are skipped. */
void qdml_cpu_plane_pass(qdml_backend_state *s, int kick, const unsigned char *kact, double *norms, int fwd,
                         const unsigned char *fset, int plain) {
    const blocking *q = &s->blk[0];
    const int64_t B = s->d.batch, len = q->rb * s->P, nblk = s->nout / q->rb;
    unsigned char *dk = s->fwd_set; /* B bytes of scratch: bit 0 kick, bit 1 target layout */
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        const int kicked = kick && (!kact || kact[b]);
        int target;
        if (fwd && (!fset || fset[b])) target = 1;
        else if (plain || kicked) target = 0;
        else target = s->phys[b];
        dk[b] = (unsigned char)(kicked | (target << 1));
        if (!kicked && s->phys[b] == target) continue;
        for (int64_t k = 0; k < nblk; ++k) s->items[m++] = b * nblk + k;
    }
    double *np = s->norm_part;
    int used = 1;
    if (m > 0) {
#pragma omp parallel num_threads(s->nt)
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
            used = nt;
            if (norms)
                for (int64_t b = 0; b < B; ++b) np[(size_t)t * B + b] = 0.0;
            int64_t a, e;
            chunk(m, t, nt, &a, &e);
            for (int64_t it = a; it < e; ++it) {
                const int64_t b = s->items[it] / nblk, off = (s->items[it] % nblk) * len;
                const int kb = (dk[b] & 1) ? kick : 0;
                const double acc = qdml_cpu_plane_block(s, q, b, off, s->phys[b], kb, dk[b] >> 1, norms != NULL);
                if (norms) np[(size_t)t * B + b] += acc;
            }
        }
    }
    if (norms)
        for (int64_t b = 0; b < B; ++b) {
            double acc = 0.0;
            if (m > 0)
                for (int t = 0; t < used; ++t) acc += np[(size_t)t * B + b];
            norms[b] = acc;
        }
    for (int64_t b = 0; b < B; ++b) s->phys[b] = (unsigned char)(dk[b] >> 1);
}

/* Column pass of the kinetic step (PATH_PLANES) for members with active[b] (NULL: all), whose
 * planes are held transformed: forward transform along the outer axis, kinetic factor times
 * scale[b] / nout, inverse transform along the outer axis, block by block. The planes stay
 * transformed: the inverse plane transforms of the backward FFT come in the next plane pass (1/nout
 * here instead of 1/N: that pass divides by P). */
void qdml_cpu_column_pass(qdml_backend_state *s, const double *scale, const unsigned char *active) {
    const blocking *q = &s->blk[0];
    const int64_t B = s->d.batch, nblk = s->prow * (s->d.n[2] / q->w);
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        if (active && !active[b]) continue;
        assert(s->phys[b] == 1);
        for (int64_t k = 0; k < nblk; ++k) s->items[m++] = b * nblk + k;
    }
    if (m == 0) return;
    const double invout = 1.0 / (double)s->nout;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t a, e;
        chunk(m, t, nt, &a, &e);
        for (int64_t it = a; it < e; ++it) {
            const int64_t b = s->items[it] / nblk;
            qdml_cpu_column_block(s, q, b, s->items[it] % nblk, t, COL_FWD | COL_KIN | COL_INV, scale[b] * invout,
                                  s->gather);
        }
    }
}

/* One pass of PATH_MEMBERS, each thread taking whole members (a static split of the members with
 * work, so every run splits alike). For member b, in this order, while it stays in the cache of the
 * thread's core:
 *   - if it holds the whole transform (phys[b] = 2) and anything follows: the column stage down,
 *     the pending kinetic factor times kin_scale[b] / nout (or 1/nout alone) between the transforms;
 *   - the plane stage, as in plane_pass: inverse plane transforms (1/P), the potential factor `kick`
 *     if kact[b] (NULL: all) with the norm sum into norms[b], forward plane transforms;
 *   - the column stage up: forward column transforms, and with `kscale` the kinetic factor times
 *     kscale[b] / nout and the inverse column transforms.
 * Members in uset (NULL: all) go up if `up`: without kscale they end holding the whole transform;
 * with kscale they get the kinetic factor and end with their planes transformed, except a member
 * already holding the whole transform with nothing to do, whose kinetic factor is left pending for
 * the next pass. Other members end plain if `plain`, or if they were kicked or had a kinetic factor
 * pending; otherwise they keep their layout. So a step is one pass over each member: in real time
 * (the kick queued) the kinetic op's pass does it all; in imaginary time the kick op needs its
 * norms before the solver gives the kinetic op its scale, so the kick's pass ends with the forward
 * column transforms and the next one starts with that kinetic factor. A column stage with the
 * three steps works in the thread's buffer where s->gather says so; the halves of a split one work
 * in place, where FFTW's plan for a single in-place transform already copies through a buffer of
 * its own if that pays (measured faster than gathering for a single transform). */
void qdml_cpu_member_pass(qdml_backend_state *s, int kick, const unsigned char *kact, double *norms, int up,
                          const unsigned char *uset, int plain, const double *kscale) {
    const blocking *q = &s->blk[1];
    const int64_t B = s->d.batch, len = q->rb * s->P, pblk = s->nout / q->rb, cblk = s->prow * (s->d.n[2] / q->w);
    const double invout = 1.0 / (double)s->nout;
    unsigned char *dk = s->fwd_set; /* B bytes of scratch: bit 0 kick, bits 1-2 target layout, bit 3 kinetic */
    int64_t m = 0;
    for (int64_t b = 0; b < B; ++b) {
        const int kicked = kick && (!kact || kact[b]), going_up = up && (!uset || uset[b]);
        if (norms) norms[b] = 0.0;
        if (going_up && kscale && s->phys[b] == 2 && !kicked && !s->kin_pending[b]) {
            s->kin_pending[b] = 1;
            s->kin_scale[b] = kscale[b];
            continue;
        }
        int target, kin = 0;
        if (going_up) {
            target = kscale ? 1 : 2;
            kin = kscale != NULL;
        } else if (plain || kicked || s->kin_pending[b]) {
            target = 0;
        } else {
            target = s->phys[b];
        }
        dk[b] = (unsigned char)(kicked | (target << 1) | (kin << 3));
        if (!kicked && !kin && !s->kin_pending[b] && s->phys[b] == target) continue;
        s->items[m++] = b;
    }
    if (m == 0) return;
    ++s->member_passes;
#pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t a, e;
        chunk(m, t, nt, &a, &e);
        /* Every other pass goes through the thread's members backwards: the members it ended with
         * are still in its cache when the next pass starts with them. */
        const int back = (s->member_passes & 1) != 0;
        for (int64_t i = a; i < e; ++i) {
            const int64_t it = back ? a + e - 1 - i : i;
            const int64_t b = s->items[it];
            const int kicked = dk[b] & 1, target = (dk[b] >> 1) & 3, kin = dk[b] >> 3;
            int ph = s->phys[b];
            if (ph == 2 && (s->kin_pending[b] || kicked || target < 2)) {
                const int st = (s->kin_pending[b] ? COL_KIN : COL_SCALE) | COL_INV;
                const double sc = (s->kin_pending[b] ? s->kin_scale[b] : 1.0) * invout;
                for (int64_t k = 0; k < cblk; ++k)
                    qdml_cpu_column_block(s, q, b, k, t, st, sc, 0);
                ph = 1;
            }
            if (kicked || (ph >= 1) != (target >= 1)) {
                double acc = 0.0;
                for (int64_t k = 0; k < pblk; ++k)
                    acc +=
                        qdml_cpu_plane_block(s, q, b, k * len, ph >= 1, kicked ? kick : 0, target >= 1, norms != NULL);
                if (norms) norms[b] = acc;
                ph = target >= 1;
            }
            if (ph == 1 && (target == 2 || kin)) {
                const int st = kin ? COL_FWD | COL_KIN | COL_INV : COL_FWD;
                const double sc = kin ? kscale[b] * invout : 1.0;
                for (int64_t k = 0; k < cblk; ++k)
                    qdml_cpu_column_block(s, q, b, k, t, st, sc, kin && s->gather);
                ph = kin ? 1 : 2;
            }
            s->phys[b] = (unsigned char)ph;
            s->kin_pending[b] = 0;
        }
    }
}

static void scale_all(qdml_backend_state *s, double c) {
    double *psi = (double *)s->psi;
    const kernel_set *K = s->k;
#pragma omp parallel num_threads(s->nt)
    {
        int64_t a, e;
        chunk(s->total, omp_get_thread_num(), omp_get_num_threads(), &a, &e);
        K->scale(psi + 2 * a, e - a, c);
    }
}

/* Perform whatever the fused paths have deferred, leaving psi in the plain layout. */
void qdml_cpu_materialize(qdml_backend_state *s) {
    if (s->path == PATH_PLAIN || s->sem == SEM_K_PLAIN) return;
    int pending = s->kick_pending != 0;
    for (int64_t b = 0; b < s->d.batch && !pending; ++b) pending = s->phys[b] || s->kin_pending[b];
    if (pending) {
        if (s->path == PATH_MEMBERS)
            qdml_cpu_member_pass(s, s->kick_pending, s->kick_active, NULL, 0, NULL, 1, NULL);
        else
            qdml_cpu_plane_pass(s, s->kick_pending, s->kick_active, NULL, 0, NULL, 1);
    }
    s->kick_pending = 0;
    if (s->sem == SEM_K_LAZY || s->sem == SEM_K_KIN) {
        fftw_execute(s->fwd);
        /* After the kinetic step every member holds F(x)/N, where x is what the backward FFT gives. */
        if (s->sem == SEM_K_KIN) scale_all(s, 1.0 / (double)s->d.npoints);
        s->sem = SEM_K_PLAIN;
    }
}
