// What python/src/module.cpp and python/src/walkers.cpp share: a failed call raised as the exception
// class of qdml._errors (module.cpp's translator), the array types, new NumPy arrays, and the Context
// handle.
#ifndef QDML_PYTHON_BINDING_H
#define QDML_PYTHON_BINDING_H

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <qdml/qdml.h>

#include <complex>
#include <string>
#include <vector>

namespace qdml_binding {

namespace nb = nanobind;

// A failed call: its status and the library's message (raised as qdml._errors.from_status(status)).
struct qdml_failure {
    qdml_status status;
    std::string message;
};

inline void check(qdml_status st, const char *what, const qdml_context *ctx = nullptr) {
    if (st == QDML_OK) return;
    const char *msg = ctx ? qdml_context_last_error(ctx) : qdml_last_error_message();
    if (!msg || !msg[0]) msg = qdml_last_error_message();
    throw qdml_failure{st, std::string(what) + ": " + (msg && msg[0] ? msg : qdml_status_string(st))};
}

[[noreturn]] inline void invalid(const std::string &msg) { throw qdml_failure{QDML_ERR_INVALID_ARGUMENT, msg}; }

using f64_in = nb::ndarray<const double, nb::c_contig, nb::device::cpu>;
using c128_in = nb::ndarray<const std::complex<double>, nb::c_contig, nb::device::cpu>;
using f64_out = nb::ndarray<double, nb::c_contig, nb::device::cpu>;

// A new NumPy array of `shape` owning `n` elements.
template <typename T> nb::ndarray<nb::numpy, T> new_array(const std::vector<size_t> &shape) {
    size_t n = 1;
    for (size_t s : shape) n *= s;
    T *data = new T[n ? n : 1]();
    nb::capsule owner(data, [](void *p) noexcept { delete[] static_cast<T *>(p); });
    return nb::ndarray<nb::numpy, T>(data, shape.size(), shape.data(), owner);
}

struct Context {
    qdml_context *ctx = nullptr;
    Context(int backend, int threads) { check(qdml_context_create(&ctx, (qdml_backend)backend, threads), "Context"); }
    ~Context() { qdml_context_destroy(ctx); }
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;
};

} // namespace qdml_binding

// walkers.cpp: the Walkers class and the walkers' statistics functions.
void register_walkers(nanobind::module_ &m);

#endif
