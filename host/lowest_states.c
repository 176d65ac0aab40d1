/* The lowest states of one Hamiltonian, qdml_problem_lowest_states: the ground-state search
 * (ground.c) run on the batch as one block, orthonormalised in order (Cholesky QR of the members'
 * Gram matrix) after every step, the members' steps kept in order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ground.h"

/* Cholesky S = R^H R of a Hermitian positive definite n x n matrix (row-major, interleaved complex),
 * R upper triangular, then T = R^-1 (upper triangular), both in row-major interleaved arrays.
 * Returns the first index whose pivot is not positive (the states up to it are linearly
 * dependent), or -1 on success. */
static int64_t cholesky_inverse(const double *S, int64_t n, double *R, double *T) {
    memset(R, 0, (size_t)(2 * n * n) * sizeof(double));
    memset(T, 0, (size_t)(2 * n * n) * sizeof(double));
#define RE(M, i, j) (M)[2 * ((i) * n + (j))]
#define IM(M, i, j) (M)[2 * ((i) * n + (j)) + 1]
    for (int64_t j = 0; j < n; ++j) {
        /* R_jj = sqrt(S_jj - sum_k |R_kj|^2) */
        double d = RE(S, j, j);
        for (int64_t k = 0; k < j; ++k) d -= RE(R, k, j) * RE(R, k, j) + IM(R, k, j) * IM(R, k, j);
        if (!(d > 1e-12 * RE(S, j, j)) || !isfinite(d)) return j;
        const double rjj = sqrt(d);
        RE(R, j, j) = rjj;
        /* R_jl = (S_jl - sum_k conj(R_kj) R_kl) / R_jj for l > j */
        for (int64_t l = j + 1; l < n; ++l) {
            double re = RE(S, j, l), im = IM(S, j, l);
            for (int64_t k = 0; k < j; ++k) {
                re -= RE(R, k, j) * RE(R, k, l) + IM(R, k, j) * IM(R, k, l);
                im -= RE(R, k, j) * IM(R, k, l) - IM(R, k, j) * RE(R, k, l);
            }
            RE(R, j, l) = re / rjj;
            IM(R, j, l) = im / rjj;
        }
    }
    /* T = R^-1 by back substitution, column by column: R T = I. */
    for (int64_t c = 0; c < n; ++c) {
        for (int64_t i = c; i >= 0; --i) {
            double re = (i == c) ? 1.0 : 0.0, im = 0.0;
            for (int64_t k = i + 1; k <= c; ++k) {
                re -= RE(R, i, k) * RE(T, k, c) - IM(R, i, k) * IM(T, k, c);
                im -= RE(R, i, k) * IM(T, k, c) + IM(R, i, k) * RE(T, k, c);
            }
            RE(T, i, c) = re / RE(R, i, i);
            IM(T, i, c) = im / RE(R, i, i);
        }
    }
#undef RE
#undef IM
    return -1;
}

/* Orthonormalise the members in order (Gram-Schmidt by Cholesky QR: member b becomes orthogonal
 * to members 0 .. b-1 and normalised, keeping the span of each leading set). Members below
 * `keep` (a prefix whose search is over) are left exactly as they are. Twice when the first pass
 * started far from orthonormal, since one Cholesky QR pass leaves errors of order cond(S)^2 u.
 * *dependent is set to the first member found linearly dependent on those before it (or -1). */
static qdml_status orthonormalise(qdml_run *r, int64_t keep, int64_t *dependent, const char *fn) {
    qdml_problem *p = r->p;
    const int64_t n = r->B;
    const size_t n2 = (size_t)(n * n);
    *dependent = -1;
    double *S = qdml_calloc_array(n2, 2 * sizeof(double));
    double *R = qdml_calloc_array(n2, 2 * sizeof(double));
    double *T = qdml_calloc_array(n2, 2 * sizeof(double));
    qdml_status st = QDML_OK;
    if (!S || !R || !T) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate %lld x %lld matrices", fn, (long long)n,
                       (long long)n);
        goto out;
    }
    for (int pass = 0; pass < 2; ++pass) {
        if ((st = p->ops->gram(p->bs, n, S)) != QDML_OK) {
            st = qdml_run_backend_error(r, st, fn, "gram");
            goto out;
        }
        double off = 0.0; /* largest departure of S dV from the identity */
        for (size_t k = 0; k < 2 * n2; ++k) S[k] *= p->desc.dv;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j) {
                const double re = S[2 * (i * n + j)] - (i == j ? 1.0 : 0.0), im = S[2 * (i * n + j) + 1];
                const double a = sqrt(re * re + im * im);
                if (!(a <= off)) off = a; /* NaN propagates */
            }
        if (!isfinite(off)) {
            r->bad_member = 0;
            for (int64_t i = 0; i < n; ++i)
                if (!isfinite(S[2 * (i * n + i)])) {
                    r->bad_member = i;
                    break;
                }
            goto out;
        }
        const int64_t bad = cholesky_inverse(S, n, R, T);
        if (bad >= 0) {
            *dependent = bad;
            goto out;
        }
        for (int64_t c = 0; c < keep && c < n; ++c)
            for (int64_t i = 0; i < n; ++i) {
                T[2 * (i * n + c)] = (i == c) ? 1.0 : 0.0;
                T[2 * (i * n + c) + 1] = 0.0;
            }
        if ((st = p->ops->combine(p->bs, n, T)) != QDML_OK) {
            st = qdml_run_backend_error(r, st, fn, "combine");
            goto out;
        }
        if (off < 1e-4) break;
    }
out:
    free(S);
    free(R);
    free(T);
    return st;
}

/* The members orthonormalised in order before the search starts (it keeps them so); INVALID_ARGUMENT
 * when a member is zero, a combination of those before it, or not finite. */
static qdml_status block_start(qdml_run *r, const char *fn) {
    qdml_problem *p = r->p;
    qdml_status st;
    /* The search keeps the members orthonormal in order; start so. */
    int64_t dep = -1;
    if ((st = orthonormalise(r, 0, &dep, fn)) != QDML_OK) return st;
    if (dep >= 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                         "%s: the initial state of member %lld is zero or (nearly) a combination of the states of "
                         "the members before it: set linearly independent states, e.g. Gaussians times different "
                         "random polynomials",
                         fn, (long long)dep);
    if (r->bad_member >= 0)
        return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT, "%s: the initial state of member %lld is not finite", fn,
                         (long long)r->bad_member);
    return QDML_OK;
}

/* n steps of the block, orthonormalised after every step, so that no member decays into a lower
 * state for longer than one step. Sets r->bad_member as qdml_run_advance does, or to a member that
 * collapsed onto the lower ones (the caller restores the block). */
static qdml_status block_advance(qdml_run *r, int64_t n, const char *fn) {
    const int64_t keep = 0; /* the block moves together */
    for (int64_t k = 0; k < n && r->bad_member < 0; ++k) {
        int64_t dep = -1;
        qdml_status st;
        if ((st = qdml_run_advance(r, 1, fn)) != QDML_OK) return st;
        if (r->bad_member >= 0) break;
        if ((st = orthonormalise(r, keep, &dep, fn)) != QDML_OK) return st;
        if (dep >= 0) r->bad_member = dep; /* a member collapsed onto the lower ones: restore */
    }
    return QDML_OK;
}

/* The lowest-states search needs one Hamiltonian: every member with the same hbar, mass and
 * potential (bit for bit). */
static qdml_status check_one_hamiltonian(qdml_problem *p, const char *fn) {
    for (int64_t b = 1; b < p->batch; ++b)
        if (p->hbar[b] != p->hbar[0] || p->mass[b] != p->mass[0])
            return qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                             "%s: member %lld has hbar = %.17g, mass = %.17g but member 0 has hbar = %.17g, mass = "
                             "%.17g: the lowest states are those of one Hamiltonian, so every member needs the same",
                             fn, (long long)b, p->hbar[b], p->mass[b], p->hbar[0], p->mass[0]);
    if (p->batch < 2) return QDML_OK;
    const size_t N = (size_t)p->desc.npoints;
    double *v0 = qdml_calloc_array(N, sizeof(double)), *vb = qdml_calloc_array(N, sizeof(double));
    qdml_status st = QDML_OK;
    if (!v0 || !vb) {
        st = qdml_fail(p->ctx, QDML_ERR_OUT_OF_MEMORY, "%s: cannot allocate 2 x %zu doubles to compare potentials", fn,
                       N);
        goto out;
    }
    if ((st = p->ops->get_potential(p->bs, 0, v0)) != QDML_OK) {
        st = qdml_fail_from(p->ctx, st, "%s: reading the potential of member 0 failed", fn);
        goto out;
    }
    for (int64_t b = 1; b < p->batch; ++b) {
        if ((st = p->ops->get_potential(p->bs, b, vb)) != QDML_OK) {
            st = qdml_fail_from(p->ctx, st, "%s: reading the potential of member %lld failed", fn, (long long)b);
            goto out;
        }
        for (size_t i = 0; i < N; ++i)
            if (vb[i] != v0[i]) {
                st = qdml_fail(p->ctx, QDML_ERR_INVALID_ARGUMENT,
                               "%s: the potential of member %lld differs from member 0's at index %zu (%.17g vs "
                               "%.17g): the lowest states are those of one Hamiltonian; set the same potential on "
                               "every member",
                               fn, (long long)b, i, vb[i], v0[i]);
                goto out;
            }
    }
out:
    free(v0);
    free(vb);
    return st;
}

/* The lowest-states search moves as one block. Orthogonalisation couples the members: member j's
 * part along a lower state's error is fixed by orthogonality, so its residual cannot fall much
 * below the residuals of the members under it (the sum of them, at most). Were a lower member
 * frozen at residual ~ tolerance, a higher one could stall above it. So every member keeps stepping
 * until all have converged (or stalled at their smallest step) at the same monitoring point, with
 * convergence judged again at each point; and a member never steps with a larger dtau than any
 * member above it, so that when a higher member needs a smaller step to get under its O(dtau^2)
 * floor, the lower ones' floors (and with them the coupling) fall as well. The lowest members,
 * which converge first, keep their large steps until then. */
static qdml_status block_sync(qdml_run *r, const unsigned char *converged, const int *stalled) {
    qdml_problem *p = r->p;
    int done = 1;
    for (int64_t b = 0; b < r->B; ++b)
        if (!converged[b] && stalled[b] < 5) done = 0;
    double dt = INFINITY;
    for (int64_t b = r->B - 1; b >= 0; --b) {
        r->active[b] = (unsigned char)!done;
        dt = fmin(dt, p->dt[b]);
        if (!done && p->dt[b] > dt) {
            qdml_status st = qdml_run_set_member_step(r, b, dt);
            if (st != QDML_OK) return st;
        }
    }
    return QDML_OK;
}

qdml_status qdml_problem_lowest_states(qdml_problem *p, const qdml_ground_options *o, qdml_run_result *results) {
    static const qdml_ground_block block = {check_one_hamiltonian, block_start, block_advance,
                                            block_sync};
    return qdml_ground_run(p, o, results, "qdml_problem_lowest_states", &block);
}
