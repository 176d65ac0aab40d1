/* The backend registry (registry.h). A new backend adds its ops table here, under the build
 * option that compiles it, and nowhere else. */
#include "registry.h"
#include "walkers_private.h"

#ifdef QDML_HAVE_CUDA
#include "backend_cuda.h"
#define QDML_CUDA_ENTRY &qdml_backend_cuda_ops, qdml_cuda_device_count, qdml_cuda_device_info, qdml_cuda_why_none
#define QDML_CUDA_WALKERS &qdml_walkers_cuda_ops
#else
#define QDML_CUDA_ENTRY NULL, NULL, NULL, NULL
#define QDML_CUDA_WALKERS NULL
#endif

static const qdml_backend_entry entries[] = {
    {QDML_BACKEND_CUDA, "cuda", QDML_CUDA_ENTRY, "configure with nvcc on PATH and -DQDML_ENABLE_CUDA=ON",
     "no usable CUDA device or driver was found", QDML_CUDA_WALKERS},
    {QDML_BACKEND_CPU, "cpu", &qdml_backend_cpu_ops, NULL, NULL, NULL, NULL, NULL, &qdml_walkers_cpu_ops},
};

const qdml_backend_entry *qdml_registry(size_t *count) {
    *count = sizeof entries / sizeof entries[0];
    return entries;
}

const qdml_backend_entry *qdml_registry_find(qdml_backend id) {
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; ++i)
        if (entries[i].id == id) return &entries[i];
    return NULL;
}

int qdml_registry_usable(const qdml_backend_entry *e) {
    return e && e->ops && (!e->device_count || e->device_count() > 0);
}
