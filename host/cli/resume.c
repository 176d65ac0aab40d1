/* The same command line with --resume added (setup.h, cli_setup_match_resumed): the problem options it
 * repeats are checked against the problem the checkpoint holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "setup.h"

/* The grid and potentials of the inputs t against the checkpoint's problem in s. */
static int match_inputs(cli_setup *s, cli_setup *t, const cli_shared *sh, int same_potential) {
    const char *cmd = s->cmd, *resume = sh->resume;
    const char *what = sh->objective ? "--objective" : "--potential";
    if (t->dim != s->dim) {
        cli_error(cmd, "--resume %s: %s gives a %d-dimensional grid; the checkpoint's is %d-dimensional", resume,
                  what, t->dim, s->dim);
        return CLI_USAGE;
    }
    for (int d = 0; d < s->dim; ++d) {
        if (t->n[d] != s->n[d]) {
            cli_error(cmd, "--resume %s: axis %d has %lld points in %s; the checkpoint's has %lld", resume, d,
                      (long long)t->n[d], what, (long long)s->n[d]);
            return CLI_USAGE;
        }
        if (t->lo[d] != s->lo[d] || t->hi[d] != s->hi[d]) {
            cli_error(cmd, "--resume %s: --box gives axis %d as %.17g:%.17g; the checkpoint's is %.17g:%.17g",
                      resume, d, t->lo[d], t->hi[d], s->lo[d], s->hi[d]);
            return CLI_USAGE;
        }
    }
    const int64_t given = same_potential ? 1 : t->batch;
    if (!same_potential && given != s->batch) {
        cli_error(cmd, "--resume %s: %s gives %lld members; the checkpoint holds %lld", resume, what,
                  (long long)given, (long long)s->batch);
        return CLI_USAGE;
    }
    double *mine = malloc((size_t)s->points * sizeof(double)), *theirs = malloc((size_t)s->points * sizeof(double));
    int rc = CLI_OK;
    if (!mine || !theirs) {
        cli_error(cmd, "--resume: out of memory");
        rc = CLI_RUN_FAILED;
    }
    for (int64_t b = 0; b < s->batch && rc == CLI_OK; ++b) {
        const int64_t src = same_potential ? 0 : b;
        if (sh->objective) {
            for (int64_t i = 0; i < s->points; ++i) {
                double x[QDML_MAX_DIM];
                int64_t q = i;
                for (int d = s->dim - 1; d >= 0; --d) {
                    /* x_j = lo + j (hi - lo) / n, as the backends form it (core/pointwise.h) */
                    x[d] = t->lo[d] + (double)(q % t->n[d]) * (t->hi[d] - t->lo[d]) / (double)t->n[d];
                    q /= t->n[d];
                }
                if (qdml_objective_eval(&t->obj[src], x, s->dim, &mine[i]) != QDML_OK) mine[i] = NAN;
            }
        } else {
            memcpy(mine, t->V.data + src * s->points, (size_t)s->points * sizeof(double));
        }
        if (qdml_problem_get_potential(s->problem, b, theirs) != QDML_OK) {
            cli_error(cmd, "--resume: %s", qdml_context_last_error(s->ctx));
            rc = CLI_RUN_FAILED;
            break;
        }
        for (int64_t i = 0; i < s->points; ++i)
            if (!(mine[i] == theirs[i])) {
                cli_error(cmd, "--resume %s: %s differs from the checkpoint's potential of member %lld at index %lld "
                               "(%.17g against %.17g)",
                          resume, what, (long long)b, (long long)i, mine[i], theirs[i]);
                rc = CLI_USAGE;
                break;
            }
    }
    free(mine);
    free(theirs);
    return rc;
}

int cli_setup_match_resumed(cli_setup *s, const cli_shared *sh, int same_potential) {
    const char *cmd = s->cmd, *resume = sh->resume;
    int rc = CLI_OK;
    if (sh->potential || sh->objective) {
        cli_setup t;
        memset(&t, 0, sizeof t);
        t.cmd = cmd;
        rc = sh->objective ? cli_setup_load_objectives(&t, sh->objective, sh->dim, sh->n, sh->box, sh->batch)
                           : cli_setup_load_potential(&t, sh->potential, sh->batch);
        if (rc == CLI_OK && !sh->objective) {
            if (!sh->box) {
                cli_error(cmd, "--potential needs --box LO:HI[,LO:HI...] (the box the potential is sampled on)");
                rc = CLI_USAGE;
            } else {
                rc = cli_parse_box(cmd, sh->box, t.dim, t.lo, t.hi);
            }
        }
        if (rc == CLI_OK) rc = match_inputs(s, &t, sh, same_potential);
        cli_setup_free(&t);
    } else if (sh->box) {
        double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
        rc = cli_parse_box(cmd, sh->box, s->dim, lo, hi);
        for (int d = 0; d < s->dim && rc == CLI_OK; ++d)
            if (lo[d] != s->lo[d] || hi[d] != s->hi[d]) {
                cli_error(cmd, "--resume %s: --box gives axis %d as %.17g:%.17g; the checkpoint's is %.17g:%.17g",
                          resume, d, lo[d], hi[d], s->lo[d], s->hi[d]);
                rc = CLI_USAGE;
            }
    }
    static const char *const names[2] = {"hbar", "mass"};
    for (int k = 0; k < 2 && rc == CLI_OK; ++k) {
        if (!cli_shared_value(sh, names[k])) continue;
        const double want = k == 0 ? sh->hbar : sh->mass;
        for (int64_t b = 0; b < s->batch; ++b) {
            double have = 0.0;
            (void)(k == 0 ? qdml_problem_get_hbar(s->problem, b, &have) : qdml_problem_get_mass(s->problem, b, &have));
            if (have != want) {
                cli_error(cmd, "--resume %s: --%s %.17g; the checkpoint's member %lld has %s = %.17g", resume,
                          names[k], want, (long long)b, names[k], have);
                rc = CLI_USAGE;
                break;
            }
        }
    }
    return rc;
}

