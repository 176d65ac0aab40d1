/* The operations every backend implements. The solver (solver.c) is written once against this
 * table; the CPU backend (backend_cpu*.c) is the reference, a GPU backend implements the same ops.
 * Backends are listed in the registry (registry.c).
 *
 * Layout: B members of N points each, member outermost, C order inside a member. Internally every
 * grid is three-dimensional: a 1D grid of n points is (1, 1, n), a 2D grid (1, n0, n1).
 *
 * Preconditions are the solver's job (validated at the public API); backends assert them.
 * Failing: every op returns a qdml_status, and where it is not QDML_OK the op has left a message (the
 * failing library call and its error) with qdml_fail(NULL, ...) (status.h) in the thread's slot;
 * the caller prefixes what it was doing (qdml_fail_from).
 */
#ifndef QDML_BACKEND_H
#define QDML_BACKEND_H

#include <qdml/qdml.h>
#include <stdint.h>

typedef struct qdml_backend_state qdml_backend_state;
typedef struct qdml_backend_ops qdml_backend_ops;

/* The ranks of a context made from an MPI communicator (qdml_mpi.h; host/mpi/), as the plain library
 * sees them: which rank this process is and how many there are, and one collective, so that nothing
 * outside host/mpi/ needs MPI. Every rank runs the same calls in the same order (SPMD); where a rank's
 * own circumstances decide something (a callback's answer, a file written on rank 0 alone, free
 * memory), the library agrees on it with max_int first. */
typedef struct qdml_par qdml_par;
struct qdml_par {
    int rank, size;
    /* The largest of v over the ranks; every rank calls it. */
    int (*max_int)(const qdml_par *par, int v);
    /* Releases what the MPI library made for the context (qdml_context_destroy calls it). */
    void (*release)(qdml_par *par);
};

/* What a backend needs to know about a problem; fixed at creation. */
typedef struct qdml_backend_desc {
    int64_t n[3];      /* points per internal axis (leading 1s for dim < 3) */
    double lo[3];      /* box lower edge per internal axis (0 for padding axes) */
    double length[3];  /* box length per internal axis (1 for padding axes: k = 0 only) */
    int64_t npoints;   /* n[0] * n[1] * n[2] */
    int64_t batch;     /* B */
    double dv;         /* volume element */
    int nthreads;      /* CPU threads */
    qdml_fft_effort effort;
    qdml_precision precision;
    const char *wisdom_path; /* FFTW wisdom file or NULL; valid during create only */
    const qdml_par *par; /* the ranks of an MPI context (the ops table is then host/mpi/'s), or NULL */
    int device;          /* the device a device backend uses: -1 the calling thread's current one */
} qdml_backend_desc;

/* Per-member step parameters, fixed until the next set_step of that member. */
typedef struct qdml_step_params {
    int imaginary;       /* 0 real time, 1 imaginary time */
    double dt;           /* step */
    double hbar, mass;
    double vshift;       /* subtracted from V in the exponent (imaginary time with renormalisation) */
    int potential_only;  /* omit the kinetic factor (D = 0) */
    int flush_tiny;      /* set amplitudes below QDML_TINY to zero after kick and kinetic multiplies
                            (renormalised imaginary time, where norms stay near 1) */
    double kdt;          /* the kinetic factor's step, when it differs from dt (0: dt); Chin's step */
    double vgrad;        /* the potential factors use V + vgrad |grad V|^2 instead of V (0: V); Chin's
                            modified potential. A backend without it fails UNAVAILABLE. |grad V|^2 by
                            8th-order central differences on the periodic grid */
    int fast_phases;     /* the tables are rebuilt every step (schedules): the real-time potential factors may
                            come from a faster sine and cosine, within 2^-52 of libm's (the CPU backend's
                            phases kernel); 0: as qdml_potential_factor computes them */
} qdml_step_params;

/* Raw per-member monitoring sums; the solver turns them into qdml_stats. */
typedef struct qdml_moments {
    double s0;          /* sum |psi|^2 */
    double sv;          /* sum V |psi|^2 */
    double st;          /* sum over k of (hbar^2 |k|^2 / 2m) |psi_hat|^2 / N  (so <T> = st / s0) */
    double sx[3], sxx[3]; /* sum x_d |psi|^2, sum x_d^2 |psi|^2 (internal axes) */
    double rmax;        /* max |psi|^2 */
    int64_t imax;       /* flat index of the first maximum */
    double sres;        /* sum |H psi - E psi|^2 with E = (st + sv) / s0 */
    int finite;         /* 0 if any value of psi was NaN or infinite */
} qdml_moments;

/* What fill_objective reports about the values it computed (in double, before rounding). */
typedef struct qdml_fill_result {
    double vmin, vmax; /* least and largest finite value (+inf and -inf when there is none) */
    int64_t first_bad; /* flat index (within the member) of the first value that is not finite in the
                          storage precision, or -1 */
} qdml_fill_result;

struct qdml_backend_ops {
    const char *name;
    /* Bytes create() would allocate for this problem (FFT work areas included). */
    qdml_status (*bytes_needed)(const qdml_backend_desc *desc, size_t *bytes);
    /* Allocate state, potential, work buffers and FFT plans for the problem. */
    qdml_status (*create)(const qdml_backend_desc *desc, qdml_backend_state **out);
    void (*destroy)(qdml_backend_state *s);
    /* Host <-> backend copies of one member (interleaved complex state; real potential). */
    qdml_status (*set_state)(qdml_backend_state *s, int64_t member, const double *psi);
    qdml_status (*get_state)(qdml_backend_state *s, int64_t member, double *psi);
    qdml_status (*set_potential)(qdml_backend_state *s, int64_t member, const double *v);
    qdml_status (*get_potential)(qdml_backend_state *s, int64_t member, double *v);
    /* Build the half-step and full-step potential factors and the kinetic axis factors of a member. */
    qdml_status (*set_step)(qdml_backend_state *s, int64_t member, const qdml_step_params *params);
    /* psi *= potential factor (half or full step) for active members; if norms != NULL, store
     * sum |psi|^2 of each active member after the multiply. */
    qdml_status (*kick)(qdml_backend_state *s, int full, const unsigned char *active, double *norms);
    /* Forward (sign -1) or backward (+1, unnormalised) FFT of every member. */
    qdml_status (*fft)(qdml_backend_state *s, int forward);
    /* psi_hat *= scale[b] * kinetic factor / N for active members; inactive members get 1 / N only,
     * so forward FFT, kinetic, backward FFT leaves them unchanged. */
    qdml_status (*kinetic)(qdml_backend_state *s, const double *scale, const unsigned char *active);
    /* psi *= scale[b] for members with active[b] (active may be NULL: all). */
    qdml_status (*scale)(qdml_backend_state *s, const double *scale, const unsigned char *active);
    /* Monitoring sums of every member with want[b] (NULL: all); hbar/mass per member. */
    qdml_status (*moments)(qdml_backend_state *s, const double *hbar, const double *mass, const unsigned char *want,
                           qdml_moments *out);
    /* Per-member sum |psi - backup|^2 for members with mask[b] (NULL: all); out has B entries
     * (unmasked entries untouched). Measures how far the state moved since the last backup. */
    qdml_status (*distance)(qdml_backend_state *s, const unsigned char *mask, double *out);
    /* Copy psi to the backup buffer (save) or back (restore), members with mask[b] (NULL: all). */
    qdml_status (*backup)(qdml_backend_state *s, int restore, const unsigned char *mask);
    /* Gram matrix of members 0 .. count-1 (count <= B): g[2 (i count + j)] + i g[2 (i count + j) + 1]
     * = sum over points of conj(psi_i) psi_j (no volume element). Used to orthonormalise a block of
     * states (excited states). */
    qdml_status (*gram)(qdml_backend_state *s, int64_t count, double *g);
    /* psi_j <- sum_{i <= j} psi_i t_ij for j = 0 .. count-1 (count <= B), in place: t is upper
     * triangular, count x count complex, row-major interleaved (t[2 (i count + j)] + i t[... + 1]);
     * its strictly lower part is ignored. */
    qdml_status (*combine)(qdml_backend_state *s, int64_t count, const double *t);
    /* Potential of member b := objective o (valid for dim, the grid's dimension: user axis d is
     * internal axis 3 - dim + d) at every grid point, evaluated in double by core/objectives.h
     * and rounded once to the storage precision, through scratch memory: when a stored value is not
     * finite the member's potential is left as it was (and out->first_bad says where). */
    qdml_status (*fill_objective)(qdml_backend_state *s, int64_t member, const qdml_objective *o, int dim,
                                  qdml_fill_result *out);
    /* Optional (NULL: the solver always issues the ops one by one). Advance the members with active[b] (NULL:
     * all) by n >= 1 steps of m >= 1 Strang substeps each, as this sequence of the ops above would: a half
     * kick, then for every substep a forward FFT, the kinetic factor times scale_b, a backward FFT and a kick:
     * a full one where the next substep uses the same tables, a half kick and then the next substep's half kick
     * where it does not, a half kick after the last substep of the last step. Substep j uses the tables of the
     * member's current step parameters where sub[j] = 0 and those set just before them where sub[j] = 1 (sub[0]
     * = sub[m - 1] = 0; the solver sets the other substep length and then the current one before the call, and
     * a backend that keeps one table set only answers *done = 0 for m > 1). With `renorm` every kick that ends
     * a substep also yields the norm s_b = sum |psi|^2 and scale_b = 1 / sqrt(s_b dv) multiplies the next
     * kinetic factor, and after the last kick the member is multiplied by it; without, scale_b = 1. Members
     * never mix, so the backend may take each member through all n steps before the next, while it stays in
     * cache (the CPU backend), and the scales need not leave the device (CUDA). stop[b] (B entries; those of
     * active members are set): -1, or, where a norm was not finite and positive, the number of substeps the
     * member had completed when that norm was found (0 to n m: whole steps times m plus the substeps of the
     * step under way); that member's state is then whatever the steps left (the solver restores it). *done = 0
     * (and nothing done) where the backend would gain nothing over the single ops for this problem now; the
     * solver does not ask again in the same run.
     */
    qdml_status (*steps)(qdml_backend_state *s, int64_t n, int m, const unsigned char *sub, const unsigned char *active,
                         int renorm, double dv, int64_t *stop, int *done);
    /* Optional (NULL: the solver issues the single ops, with a set_step per step). n >= 1 Strang steps of the
     * members with active[b] (NULL: all) under time-dependent coefficients (qdml.h, schedules), as the solver's
     * scheduled_advance issues them: with the member's current step parameters, dt and kdt replaced step by
     * step, a half kick of potential step vh[0]; then for step i the kinetic factor of step kdt[i] (0: none) times
     * scale_b, and a kick, a half one of vh[i] after the last step, else a full one of (vh[i] + vh[i + 1]) / 2.
     * Member b's values are kdt[b n + i] and vh[b n + i]. renorm, dv, stop and done as for steps (m = 1); the
     * tables left behind are the last step's (the solver builds again before it uses them). */
    qdml_status (*steps_scheduled)(qdml_backend_state *s, int64_t n, const unsigned char *active, const double *kdt,
                                   const double *vh, int renorm, double dv, int64_t *stop, int *done);

    /* Optional, both or neither (NULL: the whole-member copies above): a member's points [first, first + count)
     * in its flat C order, of its state (which = 0: 2 count interleaved doubles) or potential (which = 1:
     * count doubles), so that a file of a member no rank holds whole can be streamed. get_part delivers them
     * to rank 0 of an MPI context only (the others' buf is left as it was); set_part takes them from buf
     * given on every rank, each keeping what it holds. A sequence of calls covering one member in order
     * (first = 0, then first + count of the last, to the member's end) with no other op between them is what
     * the checkpoints make; a backend may rely on it. */
    qdml_status (*get_part)(qdml_backend_state *s, int64_t member, int which, int64_t first, int64_t count,
                            double *buf);
    qdml_status (*set_part)(qdml_backend_state *s, int64_t member, int which, int64_t first, int64_t count,
                            const double *buf);

    /* ---- Block vectors: optional, all or none (NULL: the block eigensolver, lobpcg.c, is unavailable
     * on this backend and the searches use imaginary time). A vector is one member of one slot: slot 0 is
     * the state, slots 1 .. n are work slots of B members each that vectors(s, n) makes exist (their
     * contents undefined when made; n = 0 releases them; destroy releases them too). */
    qdml_status (*vectors)(qdml_backend_state *s, int n);
    /* Slot dst := H slot src, every member with its own potential, hbar[b] and mass[b] (the kinetic term
     * spectrally, as moments computes it); src != dst. */
    qdml_status (*apply_h)(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass);
    /* Slot dst := D^1/2 (T + shift[b])^-1 D^1/2 slot src, T = hbar^2 |k|^2 / 2m in Fourier space, D the
     * point-wise factor shift[b] / (V - vmin[b] + shift[b]), shift[b] > 0, vmin[b] <= V (dst may be src):
     * an approximate inverse of H - vmin + shift where either T or V dominates. */
    qdml_status (*precondition)(qdml_backend_state *s, int src, int dst, const double *hbar, const double *mass,
                                const double *shift, const double *vmin);
    /* g[2 (i nj + j)] + i g[... + 1] = <u_i | w_j> = sum over points of conj(u_i) w_j (no volume element),
     * u_i the member umem[i] of slot uslot[i] (ni of them), w_j likewise (nj). hermitian (ni = nj): the
     * caller knows g is Hermitian (w_j = H u_j, H Hermitian): the backend may compute j >= i only and
     * mirror the rest. */
    qdml_status (*vdot)(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                        const int *wslot, const int64_t *wmem, int hermitian, double *g);
    /* w_j := sum_i u_i c_ij (c ni x nj, row-major interleaved complex), as if every u were read before any
     * w is written (a w may be one of the u). */
    qdml_status (*vcombine)(qdml_backend_state *s, int ni, const int *uslot, const int64_t *umem, int nj,
                            const int *wslot, const int64_t *wmem, const double *c);
    /* Member `member` of slot `slot` := psi (N interleaved complex values from the host). */
    qdml_status (*vset)(qdml_backend_state *s, int slot, int64_t member, const double *psi);
};

extern const qdml_backend_ops qdml_backend_cpu_ops;

#endif
