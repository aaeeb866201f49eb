// The pruned exact k-NN search and the cell partition it shares with the
// "cells" approximate engine (nearest centroid, rows grouped by cell).
#include <pybind11/numpy.h>

#include <cmath>
#include <limits>

#include "arrays.hpp"
#include "imbfast/knn_pruned.hpp"
#include "register.hpp"

namespace imbfast_bindings {

namespace {

bool is_dtype(const py::array& X, const py::dtype& dt) { return X.dtype().equal(dt); }

template <class T>
py::object pruned(const py::array& X, const py::object& Q_obj, const py::array& centroids,
                  double scale, std::int64_t k, int n_threads, const py::object& max_work_obj) {
    check_array<T>(X, "X", 2);
    check_array<float>(centroids, "centroids", 2);
    const std::int64_t n = X.shape(0), d = X.shape(1);
    check_dim(centroids, "centroids", 1, d);
    py::array Q_arr;  // keeps the queries alive for the call
    const T* Q = nullptr;
    if (!Q_obj.is_none()) {
        Q_arr = Q_obj.cast<py::array>();
        check_array<T>(Q_arr, "Q", 2);
        check_dim(Q_arr, "Q", 1, d);
        Q = ptr<T>(Q_arr);
    }
    const std::int64_t nq = Q ? Q_arr.shape(0) : n;
    check_k(k, n, Q == nullptr);
    double max_work = -1.0;
    if (!max_work_obj.is_none()) {
        max_work = max_work_obj.cast<double>();
        if (!(max_work >= 0.0)) throw py::value_error("max_work must be >= 0 (or None)");
    }
    py::array_t<std::int64_t> out_idx({nq, k});
    py::array_t<double> out_dist({nq, k});
    std::int64_t* oi = out_idx.mutable_data();
    double* od = out_dist.mutable_data();
    imbfast::PrunedStats stats;
    {
        // Inputs are referenced by this frame; the kernel touches no Python object.
        py::gil_scoped_release release;
        stats = imbfast::pruned_knn<T>(ptr<T>(X), n, d, Q, nq, ptr<float>(centroids),
                                       centroids.shape(0), scale, k, max_work, oi, od,
                                       n_threads);
    }
    if (stats.gave_up) return py::none();
    py::dict info;
    info["nlist"] = stats.nlist;
    info["n_fine"] = stats.n_fine;
    info["n_first_pass_blocks"] = stats.n_first_pass_blocks;
    info["work_fraction"] = stats.work_fraction;
    info["n_second_pass"] = stats.n_second_pass;
    info["assign_seconds"] = stats.assign_seconds;
    info["split_seconds"] = stats.split_seconds;
    info["first_pass_seconds"] = stats.first_pass_seconds;
    info["second_pass_seconds"] = stats.second_pass_seconds;
    return py::make_tuple(out_idx, out_dist, info);
}

template <class T>
py::array_t<std::int64_t> nearest(const py::array& X, const py::array& centroids, double scale,
                                  int n_threads) {
    check_array<T>(X, "X", 2);
    check_array<float>(centroids, "centroids", 2);
    const std::int64_t n = X.shape(0), d = X.shape(1);
    check_dim(centroids, "centroids", 1, d);
    py::array_t<std::int64_t> out(n);
    std::int64_t* o = out.mutable_data();
    {
        py::gil_scoped_release release;  // see pruned()
        imbfast::nearest_centroids<T>(ptr<T>(X), n, d, scale, ptr<float>(centroids),
                                      centroids.shape(0), o, n_threads);
    }
    return out;
}

[[noreturn]] void bad_dtype(const py::array& X) {
    throw py::value_error("X must have dtype float32 or float64, got " +
                          std::string(py::str(X.dtype())));
}

}  // namespace

void register_pruned(pybind11::module_& m) {
    m.def(
        "pruned_knn",
        [](const py::array& X, const py::object& Q, const py::array& centroids, double scale,
           std::int64_t k, int n_threads, const py::object& max_work) -> py::object {
            if (is_dtype(X, py::dtype::of<float>()))
                return pruned<float>(X, Q, centroids, scale, k, n_threads, max_work);
            if (is_dtype(X, py::dtype::of<double>()))
                return pruned<double>(X, Q, centroids, scale, k, n_threads, max_work);
            bad_dtype(X);
        },
        py::arg("X"), py::arg("Q"), py::arg("centroids"), py::arg("scale"), py::arg("k"),
        py::arg("n_threads") = 1, py::arg("max_work") = py::none(),
        "Exact k-NN pruned by k-means cells (float32 centroids of X scaled by the power of "
        "two `scale`); Q=None queries X itself, self excluded. Returns (indices, squared "
        "distances, info dict), or None when the search would compute more than `max_work` "
        "of the brute force's distances.");
    m.def(
        "nearest_centroids",
        [](const py::array& X, const py::array& centroids, double scale, int n_threads) {
            if (is_dtype(X, py::dtype::of<float>()))
                return nearest<float>(X, centroids, scale, n_threads);
            if (is_dtype(X, py::dtype::of<double>()))
                return nearest<double>(X, centroids, scale, n_threads);
            bad_dtype(X);
        },
        py::arg("X"), py::arg("centroids"), py::arg("scale") = 1.0, py::arg("n_threads") = 1,
        "Index of the nearest float32 centroid of every row of X * scale rounded to float32 "
        "(ties by the lower index).");
    m.def(
        "cell_order",
        [](const py::array& cell, std::int64_t nlist) {
            check_array<std::int64_t>(cell, "cell", 1);
            if (nlist < 1) throw py::value_error("nlist must be >= 1");
            const std::int64_t n = cell.shape(0);
            py::array_t<std::int64_t> order(n);
            py::array_t<std::int64_t> offsets(nlist + 1);
            imbfast::cell_order(ptr<std::int64_t>(cell), n, nlist, order.mutable_data(),
                                offsets.mutable_data());
            return py::make_tuple(order, offsets);
        },
        py::arg("cell"), py::arg("nlist"),
        "Rows grouped by cell (stable): returns (order, offsets), the rows of cell c being "
        "order[offsets[c]:offsets[c + 1]].");
}

}  // namespace imbfast_bindings
