// A free Gaussian packet in real time from C++, checked against the closed form of its width:
// sigma(t) = sigma0 sqrt(1 + (hbar t / 2 m sigma0^2)^2).
#include <qdml/qdml.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <memory>
#include <vector>

int main() {
    qdml_context *raw = nullptr;
    if (qdml_context_create(&raw, QDML_BACKEND_AUTO, 0) != QDML_OK) {
        std::fprintf(stderr, "qdml: %s\n", qdml_last_error_message());
        return 1;
    }
    std::unique_ptr<qdml_context, decltype(&qdml_context_destroy)> ctx(raw, qdml_context_destroy);
    const int64_t n = 1024;
    const double lo = -40, hi = 40;
    qdml_grid grid;
    qdml_grid_init(&grid, 1, &n, &lo, &hi);
    qdml_problem *praw = nullptr;
    if (qdml_problem_create(ctx.get(), &grid, 1, &praw) != QDML_OK) {
        std::fprintf(stderr, "qdml: %s\n", qdml_context_last_error(ctx.get()));
        return 1;
    }
    std::unique_ptr<qdml_problem, decltype(&qdml_problem_destroy)> p(praw, qdml_problem_destroy);
    std::vector<double> v(n, 0.0);
    qdml_problem_set_potential(p.get(), 0, v.data());
    const double c = -5.0, s0 = 1.0, k0 = 2.0;
    qdml_problem_set_state_gaussian(p.get(), 0, &c, &s0, &k0);

    qdml_evolve_options opt;
    qdml_evolve_options_default(&opt);
    opt.mode = QDML_REAL_TIME;
    opt.dt = 0.01;
    opt.steps = 400;
    qdml_run_result res;
    if (qdml_problem_evolve(p.get(), &opt, &res) != QDML_OK) {
        std::fprintf(stderr, "qdml: %s\n", qdml_context_last_error(ctx.get()));
        return 1;
    }
    // psi comes back interleaved, the layout of std::complex<double>.
    std::vector<std::complex<double>> psi(n);
    qdml_problem_get_state(p.get(), 0, reinterpret_cast<double *>(psi.data()));
    const double t = opt.dt * static_cast<double>(opt.steps);
    const double theta = t / (2.0 * s0 * s0);
    const double width = s0 * std::sqrt(1.0 + theta * theta);
    std::printf("t = %.2f: <x> = %.10f (exact %.10f), width = %.10f (exact %.10f), norm = %.15f\n", t,
                res.final.mean[0], c + k0 * t, res.final.width[0], width, res.final.norm);
    const bool ok = std::fabs(res.final.mean[0] - (c + k0 * t)) < 1e-8 && std::fabs(res.final.width[0] - width) < 1e-8;
    return ok ? 0 : 1;
}
