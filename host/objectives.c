/* Built-in objectives: names, parameters, parsing, validation, domains and known minima. Needs
 * nothing of the problem or the backends (host/objective_problem.c sets a problem's potential from
 * an objective), so the fuzz target of the program's arguments links it alone. The per-point
 * formulas are in core/objectives.h, shared with the backends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "objectives.h"

/* ---- the table of kinds and parameters ------------------------------------------------------- */

typedef enum constraint {
    C_ANY = 0,  /* any finite value */
    C_POSITIVE, /* > 0 */
    C_NONNEG,   /* >= 0 */
    C_ABOVE_ONE /* > 1 */
} constraint;

typedef struct param_info {
    const char *name;
    int slot;     /* first slot in qdml_objective.p */
    int per_axis; /* 1: QDML_MAX_DIM consecutive slots, one per axis */
    constraint check;
} param_info;

enum { MAX_KIND_PARAMS = 6 };

typedef struct kind_info {
    const char *name;
    int min_dim;
    int nparams;
    param_info params[MAX_KIND_PARAMS];
    double defaults[QDML_OBJECTIVE_MAX_PARAMS];
    int max_dim; /* 0: up to QDML_MAX_DIM */
} kind_info;

#define NO_PARAMS 0, {{NULL, 0, 0, C_ANY}}, {0.0}

/* Defaults and constraints as documented in qdml.h ("Objectives"). */
static const kind_info kinds[QDML_OBJECTIVE_COUNT] = {
    [QDML_OBJECTIVE_HARMONIC] = {"harmonic", 1, 2, {{"k", 0, 1, C_POSITIVE}, {"c", 3, 1, C_ANY}}, {1, 1, 1, 0, 0, 0}},
    [QDML_OBJECTIVE_DOUBLE_WELL] =
        {"double_well",
         1,
         4,
         {{"a", 0, 0, C_POSITIVE}, {"s", 1, 0, C_POSITIVE}, {"c", 2, 0, C_ANY}, {"k", 3, 0, C_POSITIVE}},
         {2.0, 1.0, 0.3, 2.0}},
    [QDML_OBJECTIVE_GAUSSIAN_WELLS] = {"gaussian_wells",
                                       1,
                                       6,
                                       {{"d1", 0, 0, C_POSITIVE},
                                        {"w1", 1, 0, C_POSITIVE},
                                        {"c1", 2, 1, C_ANY},
                                        {"d2", 5, 0, C_POSITIVE},
                                        {"w2", 6, 0, C_POSITIVE},
                                        {"c2", 7, 1, C_ANY}},
                                       {2.0, 0.15, 1.5, 0.0, 0.0, 1.5, 1.0, -1.5, 0.0, 0.0}},
    [QDML_OBJECTIVE_POSCHL_TELLER] = {"poschl_teller",
                                      1,
                                      5,
                                      {{"lambda", 0, 0, C_ABOVE_ONE},
                                       {"alpha", 1, 0, C_POSITIVE},
                                       {"hbar", 2, 0, C_POSITIVE},
                                       {"mass", 3, 0, C_POSITIVE},
                                       {"c", 4, 1, C_ANY}},
                                      {3.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0}},
    [QDML_OBJECTIVE_MORSE] = {"morse",
                              1,
                              3,
                              {{"D", 0, 0, C_POSITIVE}, {"a", 1, 0, C_POSITIVE}, {"re", 2, 1, C_ANY}},
                              {1.0, 1.0, 0.0, 0.0, 0.0}},
    [QDML_OBJECTIVE_RASTRIGIN] = {"rastrigin", 1, 1, {{"A", 0, 0, C_NONNEG}}, {10.0}},
    [QDML_OBJECTIVE_ACKLEY] = {"ackley",
                               1,
                               3,
                               {{"a", 0, 0, C_POSITIVE}, {"b", 1, 0, C_POSITIVE}, {"c", 2, 0, C_ANY}},
                               {20.0, 0.2, QDML_OBJ_TWO_PI}},
    [QDML_OBJECTIVE_GRIEWANK] = {"griewank", 1, 1, {{"s", 0, 0, C_POSITIVE}}, {4000.0}},
    [QDML_OBJECTIVE_ROSENBROCK] = {"rosenbrock", 2, 1, {{"b", 0, 0, C_POSITIVE}}, {100.0}},
    [QDML_OBJECTIVE_STYBLINSKI_TANG] = {"styblinski_tang", 1, 0, {{NULL, 0, 0, C_ANY}}, {0.0}},
    [QDML_OBJECTIVE_LEVY] = {"levy", 1, 0, {{NULL, 0, 0, C_ANY}}, {0.0}},
    [QDML_OBJECTIVE_SCHWEFEL] = {"schwefel", 1, 1, {{"c", 0, 0, C_ANY}}, {418.9829}},
    [QDML_OBJECTIVE_ACKLEY2] = {"ackley2", 1, 2, {{"a", 0, 0, C_POSITIVE}, {"b", 1, 0, C_POSITIVE}}, {200.0, 0.02}},
    [QDML_OBJECTIVE_ALPINE1] = {"alpine1", 1, NO_PARAMS},
    [QDML_OBJECTIVE_ALPINE2] = {"alpine2", 1, NO_PARAMS},
    [QDML_OBJECTIVE_BOHACHEVSKY2] = {"bohachevsky2", 2, NO_PARAMS, 2},
    [QDML_OBJECTIVE_CAMEL3] = {"camel3", 2, NO_PARAMS, 2},
    [QDML_OBJECTIVE_CSENDES] = {"csendes", 1, NO_PARAMS},
    [QDML_OBJECTIVE_DEFL_CORR_SPRING] = {"defl_corr_spring",
                                         1,
                                         2,
                                         {{"alpha", 0, 0, C_ANY}, {"K", 1, 0, C_POSITIVE}},
                                         {5.0, 5.0}},
    [QDML_OBJECTIVE_DROPWAVE] = {"dropwave", 1, NO_PARAMS},
    [QDML_OBJECTIVE_EASOM] = {"easom", 1, 1, {{"c", 0, 1, C_ANY}}, {QDML_OBJ_PI, QDML_OBJ_PI, QDML_OBJ_PI}},
    [QDML_OBJECTIVE_HOLDER] = {"holder", 2, NO_PARAMS, 2},
    [QDML_OBJECTIVE_HOSAKI] = {"hosaki", 2, NO_PARAMS, 2},
    [QDML_OBJECTIVE_LEVY13] = {"levy13", 2, NO_PARAMS, 2},
    [QDML_OBJECTIVE_MICHALEWICZ] = {"michalewicz", 1, 1, {{"m", 0, 0, C_POSITIVE}}, {10.0}},
    [QDML_OBJECTIVE_SHUBERT] = {"shubert", 1, NO_PARAMS},
    [QDML_OBJECTIVE_SUMOFSQUARES] = {"sumofsquares", 1, NO_PARAMS},
    [QDML_OBJECTIVE_XINSHEYANG3] = {"xinsheyang3",
                                    1,
                                    2,
                                    {{"beta", 0, 0, C_POSITIVE}, {"m", 1, 0, C_POSITIVE}},
                                    {15.0, 5.0}},
};

static int kind_ok(qdml_objective_kind kind) { return (int)kind >= 0 && (int)kind < QDML_OBJECTIVE_COUNT; }

const char *qdml_objective_name(qdml_objective_kind kind) { return kind_ok(kind) ? kinds[kind].name : NULL; }

/* "harmonic, double_well, ..." */
static void list_names(char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < QDML_OBJECTIVE_COUNT && used < len; ++k) {
        int w = snprintf(buf + used, len - used, "%s%s", k ? ", " : "", kinds[k].name);
        if (w < 0) return;
        used += (size_t)w;
    }
}

/* "k, c" or "none" */
static void list_keys(const kind_info *k, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    if (k->nparams == 0) {
        snprintf(buf, len, "none: %s takes no parameters", k->name);
        return;
    }
    for (int i = 0; i < k->nparams && used < len; ++i) {
        int w = snprintf(buf + used, len - used, "%s%s%s", i ? ", " : "", k->params[i].name,
                         k->params[i].per_axis ? " (per axis)" : "");
        if (w < 0) return;
        used += (size_t)w;
    }
}

static const char *constraint_text(constraint c) {
    switch (c) {
    case C_POSITIVE: return "positive and finite";
    case C_NONNEG: return "non-negative and finite";
    case C_ABOVE_ONE: return "greater than 1 and finite";
    case C_ANY: break;
    }
    return "finite";
}

static int constraint_holds(constraint c, double v) {
    if (!isfinite(v)) return 0;
    switch (c) {
    case C_POSITIVE: return v > 0.0;
    case C_NONNEG: return v >= 0.0;
    case C_ABOVE_ONE: return v > 1.0;
    case C_ANY: break;
    }
    return 1;
}

/* Validation shared by every entry point; the message goes to ctx (may be NULL) and the thread. */
qdml_status qdml_objective_check(qdml_context *ctx, const qdml_objective *o, int dim, const char *fn) {
    if (!o) return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: objective is NULL", fn);
    if (dim < 1 || dim > QDML_MAX_DIM)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: must be in 1..%d", fn, dim, QDML_MAX_DIM);
    if (!kind_ok(o->kind))
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: objective kind = %d: not a qdml_objective_kind (0..%d)",
                         fn, (int)o->kind, QDML_OBJECTIVE_COUNT - 1);
    const kind_info *k = &kinds[o->kind];
    if (dim < k->min_dim)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: %s needs at least %d dimensions", fn, dim,
                         k->name, k->min_dim);
    if (k->max_dim && dim > k->max_dim)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: %s is defined in %d dimensions only", fn, dim,
                         k->name, k->max_dim);
    for (int i = 0; i < k->nparams; ++i) {
        const param_info *pi = &k->params[i];
        const int axes = pi->per_axis ? dim : 1;
        for (int a = 0; a < axes; ++a) {
            const double v = o->p[pi->slot + a];
            if (constraint_holds(pi->check, v)) continue;
            char axis[16] = "";
            if (pi->per_axis) snprintf(axis, sizeof axis, "[%d]", a);
            return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: %s parameter %s%s = %g (p[%d]): must be %s", fn,
                             k->name, pi->name, axis, v, pi->slot + a, constraint_text(pi->check));
        }
    }
    return QDML_OK;
}

qdml_status qdml_objective_validate(const qdml_objective *o, int dim) {
    return qdml_objective_check(NULL, o, dim, "qdml_objective_validate");
}

qdml_status qdml_objective_default(qdml_objective_kind kind, int dim, qdml_objective *out) {
    static const char fn[] = "qdml_objective_default";
    if (!out) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if (!kind_ok(kind)) {
        char names[512];
        list_names(names, sizeof names);
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: kind = %d: not a qdml_objective_kind (0..%d: %s)", fn,
                         (int)kind, QDML_OBJECTIVE_COUNT - 1, names);
    }
    qdml_objective o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    memcpy(o.p, kinds[kind].defaults, sizeof o.p);
    qdml_status st = qdml_objective_check(NULL, &o, dim, fn);
    if (st != QDML_OK) return st;
    *out = o;
    return QDML_OK;
}

/* ---- parsing "NAME[:KEY=V,...]" ---------------------------------------------------------------- */

/* A whole token as a finite decimal number (no blanks, nothing after it). */
static int parse_number(const char *tok, size_t len, double *out) {
    char buf[64];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, tok, len);
    buf[len] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n') return 0;
    /* Decimal only: strtod also reads hexadecimal ("0x10"), a slip in a spec rather than intent. */
    if (strspn(buf, "0123456789+-.eE") != len) return 0;
    char *end = NULL;
    const double v = strtod(buf, &end);
    if (end == buf || *end != '\0' || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

typedef struct parse_state {
    const char *spec;
    const kind_info *k;
    int dim;
    qdml_objective *o;
    const param_info *cur; /* key whose values are being read */
    int count;             /* values read for it */
    double vals[QDML_MAX_DIM];
} parse_state;

/* Store the values read for the current key. */
static qdml_status finish_key(parse_state *ps, const char *fn) {
    const param_info *pi = ps->cur;
    if (!pi) return QDML_OK;
    if (pi->per_axis) {
        if (ps->count != 1 && ps->count != ps->dim)
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "%s: '%.200s': %s %s takes 1 value (every axis) or %d (one per axis) in %dD; got %d", fn,
                             ps->spec, ps->k->name, pi->name, ps->dim, ps->dim, ps->count);
        for (int a = 0; a < QDML_MAX_DIM; ++a)
            if (ps->count == 1 || a < ps->dim) ps->o->p[pi->slot + a] = ps->vals[ps->count == 1 ? 0 : a];
    } else {
        ps->o->p[pi->slot] = ps->vals[0];
    }
    ps->cur = NULL;
    ps->count = 0;
    return QDML_OK;
}

/* One item between commas: "KEY=V" or, after a per-axis key, a further value "V". */
static qdml_status parse_item(parse_state *ps, const char *tok, size_t len, unsigned *seen, const char *fn) {
    const char *spec = ps->spec;
    if (len == 0)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: '%.200s': empty item (expected KEY=VALUE, e.g. %s)", fn,
                         spec, ps->k->nparams ? "k=1" : "no parameters at all");
    const char *eq = memchr(tok, '=', len);
    const char *val = tok;
    size_t vlen = len;
    if (eq) {
        qdml_status st = finish_key(ps, fn);
        if (st != QDML_OK) return st;
        const size_t klen = (size_t)(eq - tok);
        const param_info *pi = NULL;
        int index = -1;
        for (int i = 0; i < ps->k->nparams; ++i)
            if (strlen(ps->k->params[i].name) == klen && strncmp(ps->k->params[i].name, tok, klen) == 0) {
                pi = &ps->k->params[i];
                index = i;
            }
        if (!pi) {
            char keys[256];
            list_keys(ps->k, keys, sizeof keys);
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: '%.200s': %s has no parameter '%.*s' (valid: %s)",
                             fn, spec, ps->k->name, (int)(klen > 64 ? 64 : klen), tok, keys);
        }
        if (*seen & (1u << index))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: '%.200s': parameter %s is given twice", fn, spec,
                             pi->name);
        *seen |= 1u << index;
        ps->cur = pi;
        ps->count = 0;
        val = eq + 1;
        vlen = len - klen - 1;
    } else if (!ps->cur) {
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: '%.200s': expected KEY=VALUE, got '%.*s'", fn, spec,
                         (int)(len > 64 ? 64 : len), tok);
    } else if (!ps->cur->per_axis) {
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: '%.200s': %s %s takes one value; '%.*s' is one too many (a comma separates parameters)",
                         fn, spec, ps->k->name, ps->cur->name, (int)(len > 64 ? 64 : len), tok);
    } else if (ps->count >= ps->dim) {
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: '%.200s': %s %s takes at most %d values (one per axis) in %dD; '%.*s' is one too many",
                         fn, spec, ps->k->name, ps->cur->name, ps->dim, ps->dim, (int)(len > 64 ? 64 : len), tok);
    }
    double v;
    if (!parse_number(val, vlen, &v))
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                         "%s: '%.200s': value '%.*s' of %s %s is not a finite number (in decimal)", fn, spec,
                         (int)(vlen > 64 ? 64 : vlen), val, ps->k->name, ps->cur->name);
    ps->vals[ps->count++] = v;
    return QDML_OK;
}

/* A name's character as names compare: lower case, '-' as '_' ("Double-Well" is double_well). */
static int name_char(char c) {
    if (c == '-') return '_';
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (unsigned char)c;
}

static int same_name(const char *name, const char *s, size_t n) {
    if (strlen(name) != n) return 0;
    for (size_t i = 0; i < n; ++i)
        if (name_char(name[i]) != name_char(s[i])) return 0;
    return 1;
}

/* Edit distance (insertions, deletions, substitutions, as names compare) of name and s[0..n), capped
 * at 64 characters of s. */
static int name_distance(const char *name, const char *s, size_t n) {
    int row[65];
    const size_t m = strlen(name);
    if (n > 64) n = 64;
    for (size_t j = 0; j <= n; ++j) row[j] = (int)j;
    for (size_t i = 1; i <= m; ++i) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= n; ++j) {
            const int up = row[j];
            const int sub = diag + (name_char(name[i - 1]) != name_char(s[j - 1]));
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[n];
}

qdml_status qdml_objective_parse(const char *spec, int dim, qdml_objective *out) {
    static const char fn[] = "qdml_objective_parse";
    if (!spec) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: spec is NULL", fn);
    if (!out) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if (dim < 1 || dim > QDML_MAX_DIM)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: must be in 1..%d", fn, dim, QDML_MAX_DIM);
    const char *colon = strchr(spec, ':');
    const size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    int kind = -1;
    for (int k = 0; k < QDML_OBJECTIVE_COUNT; ++k)
        if (same_name(kinds[k].name, spec, nlen)) kind = k;
    if (kind < 0) {
        char names[512], hint[96] = "";
        list_names(names, sizeof names);
        /* The closest name, where it is close: a few letters off. */
        int best = -1, bestd = 1 << 30;
        for (int k = 0; k < QDML_OBJECTIVE_COUNT; ++k) {
            const int d = name_distance(kinds[k].name, spec, nlen);
            if (d < bestd) bestd = d, best = k;
        }
        const size_t bl = best >= 0 ? strlen(kinds[best].name) : 0;
        if (best >= 0 && bestd <= (bl > 9 ? 3 : 2))
            snprintf(hint, sizeof hint, "; did you mean '%s'?", kinds[best].name);
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: unknown objective '%.*s'%s (valid: %s)", fn,
                         (int)(nlen > 200 ? 200 : nlen), spec, hint, names);
    }
    qdml_objective o;
    memset(&o, 0, sizeof o);
    o.kind = (qdml_objective_kind)kind;
    memcpy(o.p, kinds[kind].defaults, sizeof o.p);
    if (dim < kinds[kind].min_dim)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: %s needs at least %d dimensions", fn, dim,
                         kinds[kind].name, kinds[kind].min_dim);
    if (kinds[kind].max_dim && dim > kinds[kind].max_dim)
        return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: %s is defined in %d dimensions only", fn, dim,
                         kinds[kind].name, kinds[kind].max_dim);
    if (colon) {
        if (colon[1] == '\0') {
            char keys[256];
            list_keys(&kinds[kind], keys, sizeof keys);
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "%s: '%.200s': nothing after ':' (expected KEY=VALUE,...; keys: %s)", fn, spec, keys);
        }
        parse_state ps;
        memset(&ps, 0, sizeof ps);
        ps.spec = spec;
        ps.k = &kinds[kind];
        ps.dim = dim;
        ps.o = &o;
        unsigned seen = 0;
        const char *item = colon + 1;
        for (;;) {
            const char *comma = strchr(item, ',');
            const size_t len = comma ? (size_t)(comma - item) : strlen(item);
            qdml_status st = parse_item(&ps, item, len, &seen, fn);
            if (st != QDML_OK) return st;
            if (!comma) break;
            item = comma + 1;
        }
        qdml_status st = finish_key(&ps, fn);
        if (st != QDML_OK) return st;
    }
    qdml_status st = qdml_objective_check(NULL, &o, dim, fn);
    if (st != QDML_OK) return st;
    *out = o;
    return QDML_OK;
}

/* ---- evaluation, domains, minima --------------------------------------------------------------- */

qdml_status qdml_objective_eval(const qdml_objective *o, const double *x, int dim, double *f) {
    static const char fn[] = "qdml_objective_eval";
    qdml_status st = qdml_objective_check(NULL, o, dim, fn);
    if (st != QDML_OK) return st;
    if (!x || !f) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !x ? "x" : "f");
    for (int d = 0; d < dim; ++d)
        if (!isfinite(x[d]))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: x[%d] = %g: coordinates must be finite", fn, d,
                             x[d]);
    *f = qdml_objective_value(o, x, dim);
    return QDML_OK;
}

/* Half-width of the harmonic boxes: 6 max(1, k^(-1/4)), at least 8.5 ground-state widths of
 * |psi|^2 for hbar = m = 1 (width (4k)^(-1/4)). */
static double harmonic_half_width(double k) { return k >= 1.0 ? 6.0 : 6.0 / sqrt(sqrt(k)); }

qdml_status qdml_objective_domain(const qdml_objective *o, int dim, double *lo, double *hi) {
    static const char fn[] = "qdml_objective_domain";
    qdml_status st = qdml_objective_check(NULL, o, dim, fn);
    if (st != QDML_OK) return st;
    if (!lo || !hi) return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !lo ? "lo" : "hi");
    const double *p = o->p;
    for (int d = 0; d < dim; ++d) {
        double a = 0.0, b = 0.0;
        switch (o->kind) {
        case QDML_OBJECTIVE_HARMONIC: {
            const double h = harmonic_half_width(p[d]);
            a = p[3 + d] - h;
            b = p[3 + d] + h;
            break;
        }
        case QDML_OBJECTIVE_DOUBLE_WELL: {
            const double h = d == 0 ? 3.0 * p[1] : harmonic_half_width(p[3]);
            a = -h;
            b = h;
            break;
        }
        case QDML_OBJECTIVE_GAUSSIAN_WELLS:
            a = fmin(p[2 + d] - 4.0 * p[1], p[7 + d] - 4.0 * p[6]);
            b = fmax(p[2 + d] + 4.0 * p[1], p[7 + d] + 4.0 * p[6]);
            break;
        case QDML_OBJECTIVE_POSCHL_TELLER:
            a = p[4 + d] - 12.0 / p[1];
            b = p[4 + d] + 12.0 / p[1];
            break;
        case QDML_OBJECTIVE_MORSE:
            a = p[2 + d] - 2.0 / p[1];
            b = p[2 + d] + 8.0 / p[1];
            break;
        case QDML_OBJECTIVE_RASTRIGIN: a = -5.12, b = 5.12; break;
        case QDML_OBJECTIVE_ACKLEY: a = -32.768, b = 32.768; break;
        case QDML_OBJECTIVE_GRIEWANK: a = -600.0, b = 600.0; break;
        case QDML_OBJECTIVE_ROSENBROCK: a = -2.048, b = 2.048; break;
        case QDML_OBJECTIVE_STYBLINSKI_TANG: a = -5.0, b = 5.0; break;
        case QDML_OBJECTIVE_LEVY: a = -10.0, b = 10.0; break;
        case QDML_OBJECTIVE_SCHWEFEL: a = -500.0, b = 500.0; break;
        case QDML_OBJECTIVE_ACKLEY2: a = -32.0, b = 32.0; break;
        case QDML_OBJECTIVE_ALPINE1: a = -10.0, b = 10.0; break;
        case QDML_OBJECTIVE_ALPINE2: a = 0.0, b = 10.0; break;
        case QDML_OBJECTIVE_BOHACHEVSKY2: a = -100.0, b = 100.0; break;
        case QDML_OBJECTIVE_CAMEL3: a = -5.0, b = 5.0; break;
        case QDML_OBJECTIVE_CSENDES: a = -1.0, b = 1.0; break;
        case QDML_OBJECTIVE_DEFL_CORR_SPRING: a = p[0] - 5.0, b = p[0] + 5.0; break;
        case QDML_OBJECTIVE_DROPWAVE: a = -5.12, b = 5.12; break;
        case QDML_OBJECTIVE_EASOM: a = p[d] - QDML_OBJ_PI - 100.0, b = p[d] - QDML_OBJ_PI + 100.0; break;
        case QDML_OBJECTIVE_HOLDER: a = -10.0, b = 10.0; break;
        case QDML_OBJECTIVE_HOSAKI: a = 0.0, b = d == 0 ? 5.0 : 6.0; break;
        case QDML_OBJECTIVE_LEVY13: a = -10.0, b = 10.0; break;
        case QDML_OBJECTIVE_MICHALEWICZ: a = 0.0, b = QDML_OBJ_PI; break;
        case QDML_OBJECTIVE_SHUBERT: a = -10.0, b = 10.0; break;
        case QDML_OBJECTIVE_SUMOFSQUARES: a = -10.0, b = 10.0; break;
        case QDML_OBJECTIVE_XINSHEYANG3: a = -20.0, b = 20.0; break;
        default: return qdml_fail(NULL, QDML_ERR_INTERNAL, "%s: kind %d has no domain", fn, (int)o->kind);
        }
        if (!(a < b) || !isfinite(a) || !isfinite(b))
            return qdml_fail(NULL, QDML_ERR_INVALID_ARGUMENT,
                             "%s: %s: the domain on axis %d, [%g, %g], is not a finite interval for these parameters",
                             fn, kinds[o->kind].name, d, a, b);
        lo[d] = a;
        hi[d] = b;
    }
    return QDML_OK;
}


/* ---- the walkers' objectives in any dimension ------------------------------------------------ */

int qdml_objective_axis_params(qdml_objective_kind kind) {
    if (!kind_ok(kind)) return 0;
    int n = 0;
    for (int i = 0; i < kinds[kind].nparams; ++i)
        n += kinds[kind].params[i].per_axis;
    return n;
}

qdml_status qdml_objective_check_axes(qdml_context *ctx, const qdml_objective *o, int dim, const double *axes,
                                      double *out, const char *fn) {
    if (!o) return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: objective is NULL", fn);
    if (!kind_ok(o->kind))
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: objective kind = %d: not a qdml_objective_kind (0..%d)",
                         fn, (int)o->kind, QDML_OBJECTIVE_COUNT - 1);
    const kind_info *k = &kinds[o->kind];
    if (k->max_dim && dim != k->max_dim)
        return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: dim = %d: %s is defined in %d dimensions only", fn, dim,
                         k->name, k->max_dim);
    /* the scalar parameters, and the slots where axes is NULL, as for a grid of min(dim, 3) axes */
    qdml_status st = qdml_objective_check(ctx, o, dim < QDML_MAX_DIM ? dim : QDML_MAX_DIM, fn);
    if (st != QDML_OK) return st;
    int j = 0;
    for (int i = 0; i < k->nparams; ++i) {
        const param_info *pi = &k->params[i];
        if (!pi->per_axis) continue;
        for (int a = 0; a < dim; ++a) {
            double v;
            if (axes) {
                v = axes[(size_t)j * (size_t)dim + (size_t)a];
                if (!constraint_holds(pi->check, v))
                    return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT, "%s: %s parameter %s[%d] = %g (axes[%lld]): must be %s",
                                     fn, k->name, pi->name, a, v, (long long)j * dim + a, constraint_text(pi->check));
            } else if (a < QDML_MAX_DIM) {
                v = o->p[pi->slot + a];
                if (dim > QDML_MAX_DIM && v != o->p[pi->slot])
                    return qdml_fail(ctx, QDML_ERR_INVALID_ARGUMENT,
                                     "%s: %s parameter %s differs between its slots (p[%d] = %g, p[%d] = %g), which "
                                     "gives no value for the axes past %d of %d: pass one value per axis in axes",
                                     fn, k->name, pi->name, pi->slot, o->p[pi->slot], pi->slot + a, v, QDML_MAX_DIM, dim);
            } else {
                v = o->p[pi->slot];
            }
            out[(size_t)j * (size_t)dim + (size_t)a] = v;
        }
        ++j;
    }
    return QDML_OK;
}
