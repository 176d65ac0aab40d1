// qdml._qdml: the C API (include/qdml/qdml.h) for Python, through nanobind. A thin layer: handles
// with their lifetimes, NumPy arrays in and out (checked: dtype, shape, C order), every qdml_status
// turned into the exception class of qdml._errors with the library's message, the GIL released
// while a run computes, and the monitor callback used to call Python and to notice Ctrl-C at
// monitoring points. The Pythonic objects are qdml/__init__.py's.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <qdml/qdml.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "binding.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace qdml_binding;

namespace {

// ---- the monitor: Python callback and Ctrl-C at monitoring points -----------------------------

struct monitor_state {
    nb::object callback;  // None or callable(list of dict)
    int dim = 1;
    bool failed = false;  // a Python exception (KeyboardInterrupt from Ctrl-C, or the callback's) is held
    PyObject *type = nullptr, *value = nullptr, *trace = nullptr;
};

nb::dict stats_dict(const qdml_stats &s, int dim) {
    nb::dict d;
    d["step"] = s.step;
    d["time"] = s.time;
    d["dt"] = s.dt;
    d["norm"] = s.norm;
    d["kinetic"] = s.kinetic;
    d["potential"] = s.potential;
    d["energy"] = s.energy;
    d["residual"] = s.residual;
    nb::list mean, width, argmax;
    for (int k = 0; k < dim; ++k) {
        mean.append(s.mean[k]);
        width.append(s.width[k]);
        argmax.append(s.argmax[k]);
    }
    d["mean"] = mean;
    d["width"] = width;
    d["density_max"] = s.density_max;
    d["argmax"] = argmax;
    d["argmax_index"] = s.argmax_index;
    return d;
}

int monitor_trampoline(const qdml_stats *stats, int64_t batch, void *user) {
    auto *m = static_cast<monitor_state *>(user);
    nb::gil_scoped_acquire gil;
    if (m->failed) return 1;
    if (PyErr_CheckSignals() != 0) {
        PyErr_Fetch(&m->type, &m->value, &m->trace);
        m->failed = true;
        return 1;
    }
    if (m->callback.is_none()) return 0;
    try {
        nb::list all;
        for (int64_t b = 0; b < batch; ++b) all.append(stats_dict(stats[b], m->dim));
        nb::object r = m->callback(all);
        return (!r.is_none() && nb::cast<bool>(r)) ? 1 : 0;
    } catch (nb::python_error &e) {
        e.restore();
        PyErr_Fetch(&m->type, &m->value, &m->trace);
        m->failed = true;
        return 1;
    }
}

// After a run (GIL held): re-raise what the monitor caught.
void rethrow_monitor(monitor_state &m) {
    if (!m.failed) return;
    PyErr_Restore(m.type, m.value, m.trace);
    m.type = m.value = m.trace = nullptr;
    throw nb::python_error();
}

// A run with the monitor installed (monitored: the options take it) and the GIL released while the
// library computes; what the monitor caught is raised once the GIL is back.
template <typename Options, typename Run>
qdml_status run_monitored(Options &o, nb::object callback, int dim, bool monitored, Run run) {
    monitor_state ms;
    ms.callback = callback;
    ms.dim = dim;
    if (monitored) {
        o.monitor = monitor_trampoline;
        o.monitor_user = &ms;
    }
    qdml_status st;
    {
        nb::gil_scoped_release release;
        st = run();
    }
    rethrow_monitor(ms);
    return st;
}

// ---- handles ------------------------------------------------------------------------------------


nb::dict result_dict(const qdml_run_result &r, int dim) {
    nb::dict d;
    d["final"] = stats_dict(r.final, dim);
    d["steps"] = r.steps;
    d["converged"] = (bool)r.converged;
    d["stopped_by_callback"] = (bool)r.stopped_by_callback;
    d["diverged"] = (bool)r.diverged;
    d["finished"] = (bool)r.finished;
    d["hamiltonian_applications"] = r.hamiltonian_applications;
    d["method"] = r.method;
    return d;
}

struct Problem {
    qdml_problem *p = nullptr;
    qdml_context *ctx = nullptr;
    qdml_grid grid{};
    int64_t batch = 0, points = 0;

    Problem(Context &c, const std::vector<int64_t> &n, const std::vector<double> &lo, const std::vector<double> &hi,
            int64_t b) {
        const size_t dim = n.size();
        if (dim < 1 || dim > QDML_MAX_DIM || lo.size() != dim || hi.size() != dim)
            invalid("Problem: n, lo and hi must have 1 to 3 entries each, as many as the grid has axes");
        check(qdml_grid_init(&grid, (int)dim, n.data(), lo.data(), hi.data()), "Grid");
        ctx = c.ctx;
        check(qdml_problem_create(ctx, &grid, b, &p), "Problem", ctx);
        batch = b;
        points = qdml_grid_points(&grid);
    }
    ~Problem() { qdml_problem_destroy(p); }
    Problem(const Problem &) = delete;
    Problem &operator=(const Problem &) = delete;

    std::vector<size_t> shape() const {
        std::vector<size_t> s;
        for (int k = 0; k < grid.dim; ++k) s.push_back((size_t)grid.n[k]);
        return s;
    }
    void check_member(int64_t m, bool all_ok, const char *what) const {
        if ((all_ok && m == QDML_ALL_MEMBERS) || (m >= 0 && m < batch)) return;
        invalid(std::string(what) + ": member " + std::to_string(m) + " is outside 0 .. " + std::to_string(batch - 1) +
                (all_ok ? " (or None for every member)" : ""));
    }
    void check_grid_array(size_t ndim, const size_t *shape, const char *what) const {
        bool ok = ndim == (size_t)grid.dim;
        for (int k = 0; ok && k < grid.dim; ++k) ok = shape[k] == (size_t)grid.n[k];
        if (ok) return;
        // as Python writes shapes: (3,), (64, 64)
        std::string want = "(", got = "(";
        for (int k = 0; k < grid.dim; ++k) want += (k ? ", " : "") + std::to_string(grid.n[k]);
        for (size_t k = 0; k < ndim; ++k) got += (k ? ", " : "") + std::to_string(shape[k]);
        want += grid.dim == 1 ? ",)" : ")";
        got += ndim == 1 ? ",)" : ")";
        invalid(std::string(what) + ": an array of shape " + got + " where the grid's shape " + want + " is needed");
    }

    void set_potential(int64_t m, f64_in v) {
        check_member(m, true, "potential");
        std::vector<size_t> sh(v.ndim());
        for (size_t k = 0; k < v.ndim(); ++k) sh[k] = v.shape(k);
        check_grid_array(v.ndim(), sh.data(), "potential");
        check(qdml_problem_set_potential(p, m, v.data()), "potential", ctx);
    }
    nb::ndarray<nb::numpy, double> get_potential(int64_t m) {
        check_member(m, false, "potential");
        auto out = new_array<double>(shape());
        check(qdml_problem_get_potential(p, m, out.data()), "potential", ctx);
        return out;
    }
    void set_state(int64_t m, c128_in psi) {
        check_member(m, true, "psi");
        std::vector<size_t> sh(psi.ndim());
        for (size_t k = 0; k < psi.ndim(); ++k) sh[k] = psi.shape(k);
        check_grid_array(psi.ndim(), sh.data(), "psi");
        const double *d = reinterpret_cast<const double *>(psi.data());
        if (m == QDML_ALL_MEMBERS) {
            for (int64_t b = 0; b < batch; ++b) check(qdml_problem_set_state(p, b, d), "psi", ctx);
        } else {
            check(qdml_problem_set_state(p, m, d), "psi", ctx);
        }
    }
    nb::ndarray<nb::numpy, std::complex<double>> get_state(int64_t m) {
        check_member(m, false, "psi");
        auto out = new_array<std::complex<double>>(shape());
        check(qdml_problem_get_state(p, m, reinterpret_cast<double *>(out.data())), "psi", ctx);
        return out;
    }
    // Into the caller's array: no allocation (zero copy on the Python side).
    void density_into(int64_t m, f64_out out) {
        check_member(m, false, "density");
        std::vector<size_t> sh(out.ndim());
        for (size_t k = 0; k < out.ndim(); ++k) sh[k] = out.shape(k);
        check_grid_array(out.ndim(), sh.data(), "density out");
        check(qdml_problem_get_density(p, m, out.data()), "density", ctx);
    }
    void set_hbar(int64_t m, double h) {
        check_member(m, true, "hbar");
        check(qdml_problem_set_hbar(p, m, h), "hbar", ctx);
    }
    double get_hbar(int64_t m) {
        check_member(m, false, "hbar");
        double h = 0;
        check(qdml_problem_get_hbar(p, m, &h), "hbar", ctx);
        return h;
    }
    void set_mass(int64_t m, double v) {
        check_member(m, true, "mass");
        check(qdml_problem_set_mass(p, m, v), "mass", ctx);
    }
    double get_mass(int64_t m) {
        check_member(m, false, "mass");
        double v = 0;
        check(qdml_problem_get_mass(p, m, &v), "mass", ctx);
        return v;
    }
    std::vector<double> axes_arg(const std::vector<double> &v, const char *what) const {
        if (v.size() != (size_t)grid.dim)
            invalid(std::string(what) + ": " + std::to_string(v.size()) + " values for a grid of " +
                    std::to_string(grid.dim) + " axes");
        return v;
    }
    void set_gaussian(int64_t m, const std::vector<double> &c, const std::vector<double> &w,
                      const std::vector<double> &k) {
        check_member(m, true, "set_gaussian");
        auto cc = axes_arg(c, "center"), ww = axes_arg(w, "width");
        std::vector<double> kk = k.empty() ? std::vector<double>(grid.dim, 0.0) : axes_arg(k, "momentum");
        check(qdml_problem_set_state_gaussian(p, m, cc.data(), ww.data(), kk.data()), "set_gaussian", ctx);
    }
    void set_uniform(int64_t m) {
        check_member(m, true, "set_uniform");
        check(qdml_problem_set_state_uniform(p, m), "set_uniform", ctx);
    }
    void set_objective(int64_t m, const std::string &spec) {
        check_member(m, true, "objective");
        qdml_objective o;
        check(qdml_objective_parse(spec.c_str(), grid.dim, &o), "objective");
        check(qdml_problem_set_objective(p, m, &o), "objective", ctx);
    }
    nb::dict stats(int64_t m) {
        check_member(m, false, "stats");
        qdml_stats s;
        check(qdml_problem_stats(p, m, &s), "stats", ctx);
        return stats_dict(s, grid.dim);
    }
    nb::list history(int64_t m) {
        check_member(m, false, "history");
        size_t count = 0;
        check(qdml_problem_history(p, m, nullptr, 0, &count), "history", ctx);
        std::vector<qdml_stats> h(count ? count : 1);
        check(qdml_problem_history(p, m, h.data(), count, &count), "history", ctx);
        nb::list out;
        for (size_t k = 0; k < count; ++k) out.append(stats_dict(h[k], grid.dim));
        return out;
    }
    double success_probability(int64_t m, f64_in centers, double radius) {
        check_member(m, false, "success_probability");
        if (centers.ndim() != 2 || centers.shape(1) != (size_t)grid.dim)
            invalid("success_probability: centers must be an array of shape (k, " + std::to_string(grid.dim) + ")");
        double prob = 0;
        check(qdml_problem_success_probability(p, m, centers.data(), (int64_t)centers.shape(0), radius, &prob),
              "success_probability", ctx);
        return prob;
    }

    nb::list evolve(int mode, double dt, int64_t steps, int64_t monitor_every, int renormalize, int splitting,
                    int no_statistics, nb::object callback) {
        qdml_evolve_options o;
        qdml_evolve_options_default(&o);
        o.mode = (qdml_time_mode)mode;
        o.dt = dt;
        o.steps = steps;
        o.monitor_every = monitor_every;
        o.renormalize = renormalize;
        o.splitting = (qdml_splitting)splitting;
        o.no_statistics = no_statistics;
        std::vector<qdml_run_result> res((size_t)batch);
        // no_statistics takes no monitor (nor Ctrl-C: a short call)
        const qdml_status st =
            run_monitored(o, callback, grid.dim, !no_statistics, [&] { return qdml_problem_evolve(p, &o, res.data()); });
        check(st, "evolve", ctx);
        nb::list out;
        for (auto &r : res) out.append(result_dict(r, grid.dim));
        return out;
    }

    nb::list ground(double tol, int64_t max_steps, int method, int64_t monitor_every, int64_t guards, int lowest,
                    nb::object callback) {
        qdml_ground_options o;
        qdml_ground_options_default(&o);
        o.tolerance = tol;
        if (max_steps > 0) o.max_steps = max_steps;
        o.method = method;
        o.monitor_every = monitor_every;
        o.guard_states = guards;
        std::vector<qdml_run_result> res((size_t)batch);
        const qdml_status st = run_monitored(o, callback, grid.dim, true, [&] {
            return lowest ? qdml_problem_lowest_states(p, &o, res.data()) : qdml_problem_ground(p, &o, res.data());
        });
        check(st, lowest ? "lowest_states" : "ground", ctx);
        nb::list out;
        for (auto &r : res) out.append(result_dict(r, grid.dim));
        return out;
    }

    nb::list minimize(double hbar_start, double hbar_end, int64_t stages, double tol, int64_t max_steps, double reseed,
                      nb::object callback) {
        qdml_minimize_options o;
        qdml_minimize_options_default(&o);
        o.hbar_start = hbar_start;
        o.hbar_end = hbar_end;
        if (stages > 0) o.stages = stages;
        if (tol > 0) o.tolerance = tol;
        if (max_steps > 0) o.max_steps = max_steps;
        if (reseed >= 0) o.reseed = reseed;
        std::vector<qdml_minimize_result> res((size_t)batch);
        const qdml_status st = run_monitored(o, callback, grid.dim, true,
                                             [&] { return qdml_problem_minimize(p, &o, res.data(), nullptr); });
        check(st, "minimize", ctx);
        nb::list out;
        for (auto &r : res) {
            nb::dict d;
            nb::list am, fa;
            for (int k = 0; k < grid.dim; ++k) {
                am.append(r.argmin[k]);
                fa.append(r.final_argmax[k]);
            }
            d["argmin"] = am;
            d["f_min"] = r.f_min;
            d["stage"] = r.stage;
            d["final_argmax"] = fa;
            d["final_f"] = r.final_f;
            d["steps"] = r.steps;
            d["converged"] = (bool)r.converged;
            out.append(d);
        }
        return out;
    }

    void save(const std::string &path) { check(qdml_checkpoint_save(p, path.c_str()), "save", ctx); }
    void load(const std::string &path) { check(qdml_checkpoint_load(p, path.c_str()), "load", ctx); }
};

nb::tuple objective_minimum(const std::string &spec, int dim) {
    qdml_objective o;
    check(qdml_objective_parse(spec.c_str(), dim, &o), "objective");
    int64_t count = 0;
    check(qdml_objective_minimizers(&o, dim, nullptr, 0, &count), "objective_minimum");
    auto xs = new_array<double>({(size_t)count, (size_t)dim});
    double f = 0;
    check(qdml_objective_minimizers(&o, dim, xs.data(), count, &count), "objective_minimum");
    check(qdml_objective_minimum(&o, dim, nullptr, &f), "objective_minimum");
    return nb::make_tuple(xs, f);
}

nb::tuple objective_domain(const std::string &spec, int dim) {
    qdml_objective o;
    check(qdml_objective_parse(spec.c_str(), dim, &o), "objective");
    double lo[QDML_MAX_DIM], hi[QDML_MAX_DIM];
    check(qdml_objective_domain(&o, dim, lo, hi), "objective_domain");
    nb::list l, h;
    for (int k = 0; k < dim; ++k) {
        l.append(lo[k]);
        h.append(hi[k]);
    }
    return nb::make_tuple(l, h);
}

double objective_eval(const std::string &spec, const std::vector<double> &x) {
    qdml_objective o;
    const int dim = (int)x.size();
    check(qdml_objective_parse(spec.c_str(), dim, &o), "objective");
    double f = 0;
    check(qdml_objective_eval(&o, x.data(), dim, &f), "objective_eval");
    return f;
}

std::vector<std::string> objective_names() {
    std::vector<std::string> out;
    for (int k = 0; k < QDML_OBJECTIVE_COUNT; ++k) out.emplace_back(qdml_objective_name((qdml_objective_kind)k));
    return out;
}

} // namespace

NB_MODULE(_qdml, m) {
    m.doc() = "qdml's C API (include/qdml/qdml.h); use the package qdml, not this module";
    nb::register_exception_translator([](const std::exception_ptr &e, void *) {
        try {
            std::rethrow_exception(e);
        } catch (const qdml_failure &f) {
            nb::object cls = nb::module_::import_("qdml._errors").attr("from_status")((int)f.status);
            PyErr_SetString(cls.ptr(), f.message.c_str());
        }
    });
    m.def("version", [] { return std::string(qdml_version_string()); });
    m.def("backend_available", [](int b) { return (bool)qdml_backend_available((qdml_backend)b); });
    m.def("backend_name", [](int b) { return std::string(qdml_backend_name((qdml_backend)b)); });
    m.def("objective_names", &objective_names);
    m.def("objective_minimum", &objective_minimum, "spec"_a, "dim"_a);
    m.def("objective_domain", &objective_domain, "spec"_a, "dim"_a);
    m.def("objective_eval", &objective_eval, "spec"_a, "x"_a);
    register_walkers(m);

    nb::class_<Context>(m, "Context")
        .def(nb::init<int, int>(), "backend"_a, "threads"_a)
        .def_prop_ro("backend", [](const Context &c) { return (int)qdml_context_backend(c.ctx); })
        .def_prop_ro("threads", [](const Context &c) { return qdml_context_threads(c.ctx); })
        .def("set_precision",
             [](Context &c, int prec) { check(qdml_context_set_precision(c.ctx, (qdml_precision)prec), "precision", c.ctx); })
        .def("set_fft_effort",
             [](Context &c, int e) { check(qdml_context_set_fft_effort(c.ctx, (qdml_fft_effort)e), "fft_effort", c.ctx); })
        .def("set_fft_wisdom", [](Context &c, const std::string &path) {
            check(qdml_context_set_fft_wisdom(c.ctx, path.empty() ? nullptr : path.c_str()), "fft_wisdom", c.ctx);
        });

    nb::class_<Problem>(m, "Problem")
        .def(nb::init<Context &, const std::vector<int64_t> &, const std::vector<double> &, const std::vector<double> &,
                      int64_t>(),
             "ctx"_a, "n"_a, "lo"_a, "hi"_a, "batch"_a, nb::keep_alive<1, 2>())
        .def_ro("batch", &Problem::batch)
        .def_ro("points", &Problem::points)
        .def("set_potential", &Problem::set_potential)
        .def("get_potential", &Problem::get_potential)
        .def("set_state", &Problem::set_state)
        .def("get_state", &Problem::get_state)
        .def("density_into", &Problem::density_into, "member"_a, "out"_a.noconvert())
        .def("set_hbar", &Problem::set_hbar)
        .def("get_hbar", &Problem::get_hbar)
        .def("set_mass", &Problem::set_mass)
        .def("get_mass", &Problem::get_mass)
        .def("set_gaussian", &Problem::set_gaussian)
        .def("set_uniform", &Problem::set_uniform)
        .def("set_objective", &Problem::set_objective)
        .def("stats", &Problem::stats)
        .def("history", &Problem::history)
        .def("success_probability", &Problem::success_probability)
        .def("evolve", &Problem::evolve, "mode"_a, "dt"_a, "steps"_a, "monitor_every"_a, "renormalize"_a, "splitting"_a,
             "no_statistics"_a, "callback"_a.none())
        .def("ground", &Problem::ground, "tol"_a, "max_steps"_a, "method"_a, "monitor_every"_a, "guards"_a, "lowest"_a,
             "callback"_a.none())
        .def("minimize", &Problem::minimize, "hbar_start"_a, "hbar_end"_a, "stages"_a, "tol"_a, "max_steps"_a,
             "reseed"_a, "callback"_a.none())
        .def("save", &Problem::save)
        .def("load", &Problem::load);
}
