#include <pybind11/numpy.h>

#include "arrays.hpp"
#include "imbfast/legacy_random.hpp"
#include "imbfast/resample.hpp"
#include "register.hpp"

namespace imbfast_bindings {

namespace {

template <class T>
void smote_interpolate(const py::array& X, const py::array& nns,
                       const py::array& samples, const py::array& steps, py::array& out,
                       int n_threads) {
    check_array<T>(X, "X", 2);
    check_array<std::int64_t>(nns, "nns", 2);
    check_array<std::int64_t>(samples, "samples", 1);
    check_array<double>(steps, "steps", 1);
    check_array<T>(out, "out", 2, true);
    const std::int64_t n = X.shape(0), d = X.shape(1);
    const std::int64_t m = samples.shape(0);
    check_dim(steps, "steps", 0, m);
    check_dim(out, "out", 0, m);
    check_dim(out, "out", 1, d);
    check_dim(nns, "nns", 0, n);
    const std::int64_t k = nns.shape(1);
    T* out_ptr = mutable_ptr<T>(out);
    // All buffers are held by the caller's references for the whole call and
    // the kernel touches no Python object: safe to run without the GIL.
    py::gil_scoped_release release;
    imbfast::smote_interpolate<T>(ptr<T>(X), n, d, ptr<std::int64_t>(nns), k,
                                  ptr<std::int64_t>(samples), ptr<double>(steps), m, out_ptr,
                                  n_threads);
}

template <class T>
void smote_interpolate_rows(const py::array& base, const py::array& nb,
                            const py::array& base_rows, const py::array& nb_rows,
                            const py::array& steps, const py::object& scales, py::array& out,
                            int n_threads) {
    check_array<T>(base, "base", 2);
    check_array<T>(nb, "nb", 2);
    check_array<std::int64_t>(base_rows, "base_rows", 1);
    check_array<std::int64_t>(nb_rows, "nb_rows", 1);
    check_array<double>(steps, "steps", 1);
    check_array<T>(out, "out", 2, true);
    const std::int64_t d = base.shape(1);
    const std::int64_t m = base_rows.shape(0);
    check_dim(nb, "nb", 1, d);
    check_dim(nb_rows, "nb_rows", 0, m);
    check_dim(steps, "steps", 0, m);
    check_dim(out, "out", 0, m);
    check_dim(out, "out", 1, d);
    const double* scales_ptr = nullptr;
    py::array scales_arr;
    if (!scales.is_none()) {
        scales_arr = py::reinterpret_borrow<py::array>(scales);
        check_array<double>(scales_arr, "scales", 1);
        check_dim(scales_arr, "scales", 0, m);
        scales_ptr = ptr<double>(scales_arr);
    }
    T* out_ptr = mutable_ptr<T>(out);
    // The caller's references keep every buffer alive for the whole call and
    // the kernel touches no Python object: safe to run without the GIL.
    py::gil_scoped_release release;
    imbfast::smote_interpolate_rows<T>(ptr<T>(base), base.shape(0), ptr<T>(nb), nb.shape(0), d,
                                       ptr<std::int64_t>(base_rows), ptr<std::int64_t>(nb_rows),
                                       ptr<double>(steps), scales_ptr, m, out_ptr, n_threads);
}

}  // namespace

void register_resample(pybind11::module_& m) {
    m.def(
        "smote_interpolate",
        [](const py::array& X, const py::array& nns,
           const py::array& samples, const py::array& steps, py::array& out, int n_threads) {
            if (X.dtype().equal(py::dtype::of<float>())) {
                smote_interpolate<float>(X, nns, samples, steps, out, n_threads);
            } else if (X.dtype().equal(py::dtype::of<double>())) {
                smote_interpolate<double>(X, nns, samples, steps, out, n_threads);
            } else {
                throw py::value_error("X must have dtype float32 or float64, got " +
                                      std::string(py::str(X.dtype())));
            }
        },
        py::arg("X"), py::arg("nns"), py::arg("samples"), py::arg("steps"),
        py::arg("out"), py::arg("n_threads") = 1,
        "SMOTE interpolation into `out` (see imbfast/resample.hpp).");

    m.def(
        "smote_interpolate_rows",
        [](const py::array& base, const py::array& nb, const py::array& base_rows,
           const py::array& nb_rows, const py::array& steps, const py::object& scales,
           py::array& out, int n_threads) {
            if (!py::isinstance<py::array>(scales) && !scales.is_none())
                throw py::type_error("scales must be a float64 array or None");
            if (base.dtype().equal(py::dtype::of<float>())) {
                smote_interpolate_rows<float>(base, nb, base_rows, nb_rows, steps, scales, out,
                                              n_threads);
            } else if (base.dtype().equal(py::dtype::of<double>())) {
                smote_interpolate_rows<double>(base, nb, base_rows, nb_rows, steps, scales, out,
                                               n_threads);
            } else {
                throw py::value_error("base must have dtype float32 or float64, got " +
                                      std::string(py::str(base.dtype())));
            }
        },
        py::arg("base"), py::arg("nb"), py::arg("base_rows"), py::arg("nb_rows"),
        py::arg("steps"), py::arg("scales"), py::arg("out"), py::arg("n_threads") = 1,
        "out[i] = base[base_rows[i]] + steps[i] * (nb[nb_rows[i]] - base[base_rows[i]]) "
        "(times scales[i]) into `out` (see imbfast/resample.hpp).");

    m.def(
        "gather_rows",
        [](const py::array& X, const py::array& rows, py::array& out, int n_threads) {
            check_array<std::int64_t>(rows, "rows", 1);
            if (X.ndim() != 2 || out.ndim() != 2)
                throw py::value_error("X and out must be 2-dimensional");
            if (!(X.flags() & py::array::c_style) || !(out.flags() & py::array::c_style))
                throw py::value_error("X and out must be C-contiguous; use numpy.ascontiguousarray");
            if (!X.dtype().equal(out.dtype()))
                throw py::value_error("out must have the dtype of X");
            if (X.dtype().kind() == 'O' || X.dtype().attr("hasobject").cast<bool>())
                throw py::value_error("gather_rows does not handle object arrays or dtypes holding objects");
            if (!out.writeable()) throw py::value_error("out must be writable");
            check_dim(out, "out", 0, rows.shape(0));
            check_dim(out, "out", 1, X.shape(1));
            const std::int64_t row_bytes = X.shape(1) * X.itemsize();
            void* out_ptr = out.mutable_data();
            py::gil_scoped_release release;  // plain memory copies only
            imbfast::gather_rows(X.data(), X.shape(0), row_bytes, ptr<std::int64_t>(rows),
                                 rows.shape(0), out_ptr, n_threads);
        },
        py::arg("X"), py::arg("rows"), py::arg("out"), py::arg("n_threads") = 1,
        "out[i] = X[rows[i]] for C-contiguous 2-D arrays of any fixed-size dtype.");

    m.def(
        "legacy_permutation",
        [](py::array& key, std::int64_t pos, std::int64_t n, std::int64_t size) {
            check_array<std::uint32_t>(key, "key", 1, true);
            check_dim(key, "key", 0, imbfast::Mt19937::kWords);
            if (pos < 0 || pos > imbfast::Mt19937::kWords)
                throw py::value_error("pos must be in [0, 624], got " + std::to_string(pos));
            if (n < 0) throw py::value_error("n must be >= 0, got " + std::to_string(n));
            if (size < 0 || size > n)
                throw py::value_error("size must be in [0, n], got " + std::to_string(size));
            imbfast::Mt19937 mt;
            std::uint32_t* words = mutable_ptr<std::uint32_t>(key);
            for (int i = 0; i < imbfast::Mt19937::kWords; ++i) mt.key[i] = words[i];
            mt.pos = static_cast<int>(pos);
            py::array_t<std::int64_t> out(static_cast<py::ssize_t>(size));
            std::int64_t* out_ptr = out.mutable_data();
            {
                py::gil_scoped_release release;  // no Python object touched
                imbfast::legacy_permutation(mt, n, size, out_ptr);
            }
            for (int i = 0; i < imbfast::Mt19937::kWords; ++i) words[i] = mt.key[i];
            return py::make_tuple(out, mt.pos);
        },
        py::arg("key"), py::arg("pos"), py::arg("n"), py::arg("size"),
        "RandomState.permutation(n)[:size] for the MT19937 state (key, pos): returns "
        "it and the new pos, and updates `key` in place (see imbfast/legacy_random.hpp).");
}

}  // namespace imbfast_bindings
