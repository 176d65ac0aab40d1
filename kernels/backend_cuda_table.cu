/* CUDA backend: the exported ops table, the one place that gathers the ops of backend_cuda.cu,
 * backend_cuda_blas.cu, backend_cuda_steps.cu and backend_cuda_vectors.cu (and the queries of
 * backend_cuda_geometry.cu). */
#include "cuda_private.cuh"

/* Positional initialisation of the ops table below: a new op in backend.h must be added here. */
static_assert(sizeof(qdml_backend_ops) == 29 * sizeof(void *),
              "backend.h ops table changed: update qdml_backend_cuda_ops");

extern "C" const qdml_backend_ops qdml_backend_cuda_ops = {
    "cuda",
    qdml_cuda_bytes_needed,
    cu_create,
    cu_destroy,
    cu_set_state,
    cu_get_state,
    cu_set_potential,
    cu_get_potential,
    cu_set_step,
    cu_kick,
    cu_fft,
    cu_kinetic,
    cu_scale,
    cu_moments,
    cu_distance,
    cu_backup,
    cu_gram,
    cu_combine,
    cu_fill_objective,
    cu_steps,
    nullptr, /* steps_scheduled: the solver's single ops, a set_step per step */
    nullptr, /* get_part, set_part: a member's whole copies (one process holds it whole) */
    nullptr,
    cu_vectors,
    cu_apply_h,
    cu_precondition,
    cu_vdot,
    cu_vcombine,
    cu_vset,
};
