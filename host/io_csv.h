/* Writing the monitored history as CSV. Internal to the qdml program and tests. */
#ifndef QDML_IO_CSV_H
#define QDML_IO_CSV_H

#include <qdml/qdml.h>
#include <stddef.h>

/* Write a CSV with a header line and one row per (member, history entry):
 * member,step,time,dt,norm,kinetic,potential,energy,residual,mean_0..,width_0..,density_max,argmax_0..
 * (per-axis columns for `dim` axes). histories[b] has counts[b] entries. Atomic (tmp + rename).
 * Returns 0, or -1 with a message in err. Numbers are written with %.17g. */
int qdml_csv_write_history(const char *path, int dim, int64_t batch, const qdml_stats *const *histories,
                           const size_t *counts, char *err, size_t errlen);

#endif
