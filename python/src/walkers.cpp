// qdml._qdml's walkers (include/qdml/qdml_walkers.h): the handle, its calls and their results as dicts;
// qdml/_walkers.py makes them Pythonic. Registered by module.cpp (register_walkers).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <qdml/qdml_walkers.h>

#include <string>
#include <vector>

#include "binding.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

nb::dict walkers_result(const qdml_walkers_result &r) {
    nb::dict d;
    d["energy"] = r.energy;
    d["energy_error"] = r.energy_error;
    d["mixed_energy"] = r.mixed_energy;
    d["mixed_error"] = r.mixed_error;
    d["mean_f"] = r.mean_f;
    d["mean_f_error"] = r.mean_f_error;
    d["correlation_steps"] = r.correlation_steps;
    d["acceptance"] = r.acceptance;
    d["mean_population"] = r.mean_population;
    d["best_f"] = r.best_f;
    d["steps"] = r.steps;
    return d;
}

struct Walkers {
    qdml_walkers *w = nullptr;
    qdml_context *ctx = nullptr;
    int dim = 0;
    int64_t batch = 0;

    Walkers(qdml_binding::Context &c, int d, int64_t b, int64_t walkers, double capacity, uint64_t seed, double alpha) {
        ctx = c.ctx;
        qdml_walkers_config cfg = {d, b, walkers, capacity, seed, alpha};
        qdml_binding::check(qdml_walkers_create(&w, ctx, &cfg), "Walkers", ctx);
        dim = d, batch = b;
    }
    ~Walkers() { qdml_walkers_destroy(w); }
    Walkers(const Walkers &) = delete;
    Walkers &operator=(const Walkers &) = delete;

    void set_objective(int64_t m, const std::string &spec, qdml_binding::f64_in axes) {
        qdml_objective o;
        qdml_binding::check(qdml_objective_parse(spec.c_str(), dim < QDML_MAX_DIM ? dim : QDML_MAX_DIM, &o), "objective");
        const double *ax = nullptr;
        if (axes.size() > 0) {
            const int64_t want = (int64_t)qdml_walkers_axis_parameters(o.kind) * dim;
            if ((int64_t)axes.size() != want)
                qdml_binding::invalid("objective: axes has " + std::to_string(axes.size()) + " values; " + spec +
                                      " in " + std::to_string(dim) + " dimensions takes " + std::to_string(want) +
                                      " (each per-axis parameter, one value per axis)");
            ax = axes.data();
        }
        qdml_binding::check(qdml_walkers_set_objective(w, m, &o, ax), "objective", ctx);
    }

    void place(int64_t m, int64_t count, qdml_binding::f64_in x, qdml_binding::f64_in lo, qdml_binding::f64_in hi) {
        if (x.size() > 0) {
            if (x.size() % (size_t)dim) qdml_binding::invalid("place: x must hold whole points of dim values");
            count = (int64_t)(x.size() / (size_t)dim);
        }
        if (lo.size() > 0 && (lo.size() != (size_t)dim || hi.size() != (size_t)dim))
            qdml_binding::invalid("place: lo and hi must have dim values each");
        qdml_binding::check(qdml_walkers_place(w, m, count, x.size() ? x.data() : nullptr, lo.size() ? lo.data() : nullptr,
                                               hi.size() ? hi.data() : nullptr),
                            "place", ctx);
    }

    nb::list run(double dt, double hbar, double mass, int64_t steps, int64_t equilibration, double feedback,
                 double hbar_end, int stages) {
        qdml_walkers_run_options o = {dt, hbar, mass, steps, equilibration, feedback, nullptr, 0, nullptr};
        std::vector<qdml_walkers_result> r((size_t)batch);
        qdml_status st;
        {
            nb::gil_scoped_release release;
            st = hbar_end > 0.0 ? qdml_walkers_anneal(w, &o, hbar_end, stages, r.data())
                                : qdml_walkers_run(w, &o, r.data(), nullptr);
        }
        qdml_binding::check(st, hbar_end > 0.0 ? "anneal" : "run", ctx);
        nb::list out;
        for (const auto &x : r) out.append(walkers_result(x));
        return out;
    }

    std::pair<nb::ndarray<nb::numpy, double>, double> best(int64_t m) {
        auto x = qdml_binding::new_array<double>({(size_t)dim});
        double f = 0.0;
        qdml_binding::check(qdml_walkers_best(w, m, x.data(), &f), "best", ctx);
        return {x, f};
    }

    nb::ndarray<nb::numpy, double> positions(int64_t m) {
        int64_t n = 0;
        qdml_binding::check(qdml_walkers_positions(w, m, nullptr, 0, &n), "positions", ctx);
        auto x = qdml_binding::new_array<double>({(size_t)n, (size_t)dim});
        if (n) qdml_binding::check(qdml_walkers_positions(w, m, x.data(), n, &n), "positions", ctx);
        return x;
    }

    nb::tuple summary(int64_t m) {
        auto mean = qdml_binding::new_array<double>({(size_t)dim}), width = qdml_binding::new_array<double>({(size_t)dim}),
             mode = qdml_binding::new_array<double>({(size_t)dim});
        qdml_binding::check(qdml_walkers_summary(w, m, mean.data(), width.data(), mode.data()), "summary", ctx);
        return nb::make_tuple(mean, width, mode);
    }
};

} // namespace

void register_walkers(nb::module_ &m) {
    nb::class_<Walkers>(m, "Walkers")
        .def(nb::init<qdml_binding::Context &, int, int64_t, int64_t, double, uint64_t, double>(), "ctx"_a, "dim"_a,
             "batch"_a, "walkers"_a, "capacity"_a, "seed"_a, "alpha"_a, nb::keep_alive<1, 2>())
        .def_ro("dim", &Walkers::dim)
        .def_ro("batch", &Walkers::batch)
        .def("set_objective", &Walkers::set_objective)
        .def("place", &Walkers::place)
        .def("run", &Walkers::run)
        .def("best", &Walkers::best)
        .def("positions", &Walkers::positions)
        .def("summary", &Walkers::summary);
    m.def("blocking_error", [](qdml_binding::f64_in x) {
        double mean = 0.0, err = 0.0;
        qdml_binding::check(qdml_blocking_error(x.data(), (int64_t)x.size(), &mean, &err, nullptr), "blocking_error");
        return std::make_pair(mean, err);
    });
    m.def("walkers_extrapolate", [](const std::vector<double> &dt, const std::vector<double> &e,
                                    const std::vector<double> &err, int order) {
        if (dt.size() != e.size() || e.size() != err.size()) qdml_binding::invalid("extrapolate: dt, e and err differ in length");
        double e0 = 0.0, s0 = 0.0;
        qdml_binding::check(qdml_walkers_extrapolate(dt.data(), e.data(), err.data(), (int)dt.size(), order, &e0, &s0),
                            "extrapolate");
        return std::make_pair(e0, s0);
    });
}
