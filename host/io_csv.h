/* Writing the monitored history as CSV. Internal to the qdml program and tests. */
#ifndef QDML_IO_CSV_H
#define QDML_IO_CSV_H

#include <qdml/qdml.h>
#include <stddef.h>

/* Write a CSV with a header line and one row per (member, history entry):
 * member,step,time,dt,norm,kinetic,potential,energy,residual,mean_0..,width_0..,density_max,argmax_0..
 * (per-axis columns for `dim` axes). histories[b] has counts[b] entries. Numbers are written with
 * %.17g. Atomic (atomic_file.h). Errors (message in qdml_last_error_message(), status.h):
 * INVALID_ARGUMENT (NULL path, dim outside 1..QDML_MAX_DIM, negative batch, NULL arrays), IO. */
qdml_status qdml_csv_write_history(const char *path, int dim, int64_t batch, const qdml_stats *const *histories,
                                   const size_t *counts);

#endif
