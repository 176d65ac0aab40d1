/* The backend registry: the one place that knows which backends this build has. Everything above
 * the ops table (contexts, device queries, the program's `info`) asks it; nothing else has an
 * #ifdef for a backend. */
#ifndef QDML_REGISTRY_H
#define QDML_REGISTRY_H

#include <stddef.h>

#include "backend.h"

typedef struct qdml_backend_entry {
    qdml_backend id;
    const char *name;
    const qdml_backend_ops *ops; /* NULL: not compiled into this build */
    /* Devices usable now (0 on any error; never aborts); NULL for a host backend, always usable. */
    int (*device_count)(void);
    /* Name and total memory of device `index` (as qdml_device_info); 0 or -1. NULL: no devices. */
    int (*device_info)(int index, char *name, size_t namelen, size_t *total_bytes);
    /* Why no device is usable now (as qdml_cuda_why_none); NULL: a host backend. */
    int (*why_none)(char *buf, size_t len);
    const char *how_to_build;   /* what builds it in, for a message when it is not (NULL: always) */
    const char *no_device_hint; /* why it may have no device, for a message (NULL: host backend) */
    const struct qdml_walker_ops *walkers; /* the walkers (walkers_private.h); NULL: none */
} qdml_backend_entry;

/* Every backend qdml knows, compiled in or not, in the order QDML_BACKEND_AUTO prefers them. */
const qdml_backend_entry *qdml_registry(size_t *count);
/* The entry of `id`, or NULL for an id that names no backend (QDML_BACKEND_AUTO, out of range). */
const qdml_backend_entry *qdml_registry_find(qdml_backend id);
/* Compiled in and, for a device backend, with a device now. */
int qdml_registry_usable(const qdml_backend_entry *e);

#endif
