#include <pybind11/numpy.h>

#include "arrays.hpp"
#include "imbfast/knn.hpp"
#include "register.hpp"

namespace imbfast_bindings {

namespace {

// The query matrix, or null when the fitted rows query themselves (Q=None).
template <class T>
const T* queries(const py::object& Q_obj, std::int64_t d, py::array& hold) {
    if (Q_obj.is_none()) return nullptr;
    hold = Q_obj.cast<py::array>();
    check_array<T>(hold, "Q", 2);
    check_dim(hold, "Q", 1, d);
    return ptr<T>(hold);
}

template <class T>
py::tuple refine(const py::array& X, const py::object& Q_obj, const py::array& cand,
                 const py::array& cand_dist, const py::array& bound, std::int64_t k,
                 int n_threads) {
    check_array<T>(X, "X", 2);
    check_array<std::int64_t>(cand, "cand", 2);
    check_array<float>(cand_dist, "cand_dist", 2);
    check_array<double>(bound, "bound", 1);
    const std::int64_t n = X.shape(0), d = X.shape(1);
    py::array Q_arr;  // keeps the queries alive for the call
    const T* Q = queries<T>(Q_obj, d, Q_arr);
    const std::int64_t nq = Q ? Q_arr.shape(0) : n;
    check_dim(cand, "cand", 0, nq);
    check_dim(cand_dist, "cand_dist", 0, nq);
    check_dim(cand_dist, "cand_dist", 1, cand.shape(1));
    check_dim(bound, "bound", 0, nq);
    check_k(k, n, Q == nullptr);
    py::array_t<std::int64_t> out_idx({nq, k});
    py::array_t<double> out_dist({nq, k});
    std::int64_t* oi = out_idx.mutable_data();
    double* od = out_dist.mutable_data();
    imbfast::RefineStats stats;
    {
        // Inputs are referenced by this frame; the kernel touches no Python object.
        py::gil_scoped_release release;
        stats = imbfast::refine_knn<T>(ptr<T>(X), n, d, Q, nq, ptr<std::int64_t>(cand),
                                       ptr<float>(cand_dist), cand.shape(1), ptr<double>(bound),
                                       k, oi, od, n_threads);
    }
    return py::make_tuple(out_idx, out_dist, stats.n_fallback);
}

template <class T, bool kTree>
py::tuple search(const py::array& X, const py::object& Q_obj, std::int64_t k, int n_threads) {
    check_array<T>(X, "X", 2);
    const std::int64_t n = X.shape(0), d = X.shape(1);
    py::array Q_arr;  // keeps the queries alive for the call
    const T* Q = queries<T>(Q_obj, d, Q_arr);
    const std::int64_t nq = Q ? Q_arr.shape(0) : n;
    check_k(k, n, Q == nullptr);
    py::array_t<std::int64_t> out_idx({nq, k});
    py::array_t<double> out_dist({nq, k});
    std::int64_t* oi = out_idx.mutable_data();
    double* od = out_dist.mutable_data();
    {
        py::gil_scoped_release release;  // see refine()
        if (kTree)
            imbfast::kdtree_knn<T>(ptr<T>(X), n, d, Q, nq, k, oi, od, n_threads);
        else
            imbfast::brute_knn<T>(ptr<T>(X), n, d, Q, nq, k, oi, od, n_threads);
    }
    return py::make_tuple(out_idx, out_dist);
}

template <class T>
py::tuple fused(const py::array& X, const py::object& Q_obj, std::int64_t k,
                std::int64_t n_extra, int n_threads, const py::object& within_obj,
                const std::string& int8, double int8_hit_cost, double int8_max_cost,
                double int8_max_range, std::int64_t keep_smallest_sums) {
    check_array<T>(X, "X", 2);
    const std::int64_t n = X.shape(0), d = X.shape(1);
    py::array Q_arr;  // keeps the queries alive for the call
    const T* Q = queries<T>(Q_obj, d, Q_arr);
    const std::int64_t nq = Q ? Q_arr.shape(0) : n;
    check_k(k, n, Q == nullptr);
    py::array within_arr;
    const double* within = nullptr;
    if (!within_obj.is_none()) {
        if (!Q) throw py::value_error("within needs queries Q");
        within_arr = within_obj.cast<py::array>();
        check_array<double>(within_arr, "within", 1);
        check_dim(within_arr, "within", 0, nq);
        within = ptr<double>(within_arr);
    }
    imbfast::FusedOptions options;
    if (int8 == "never")
        options.int8 = imbfast::Int8Filter::never;
    else if (int8 == "always")
        options.int8 = imbfast::Int8Filter::always;
    else if (int8 == "only")
        options.int8 = imbfast::Int8Filter::only;
    else if (int8 != "auto")
        throw py::value_error("int8 must be 'auto', 'always', 'only' or 'never', got '" + int8 +
                              "'");
    options.int8_hit_cost = int8_hit_cost;
    options.int8_max_cost = int8_max_cost;
    options.int8_max_range = int8_max_range;
    if (keep_smallest_sums < 0) throw py::value_error("keep_smallest_sums must be >= 0");
    options.keep_smallest_sums = keep_smallest_sums;
    py::array_t<std::int64_t> out_idx({nq, k});
    py::array_t<double> out_dist({nq, k});
    std::int64_t* oi = out_idx.mutable_data();
    double* od = out_dist.mutable_data();
    imbfast::FusedStats stats;
    {
        py::gil_scoped_release release;  // see refine()
        stats = imbfast::fused_knn<T>(ptr<T>(X), n, d, Q, nq, k, n_extra, oi, od, n_threads,
                                      within, options);
    }
    py::dict info;
    info["n_tie_pass"] = stats.n_tie_pass;
    info["n_candidates"] = stats.n_candidates;
    info["symmetric"] = stats.symmetric;
    info["exact_arithmetic"] = stats.exact_arithmetic;
    info["int8_filter"] = stats.int8_filter;
    info["n_int8_fallback"] = stats.n_int8_fallback;
    if (stats.int8_probe_hits >= 0.0) info["int8_probe_hits"] = stats.int8_probe_hits;
    if (options.keep_smallest_sums > 0) info["n_unanswered"] = stats.n_unanswered;
    return py::make_tuple(out_idx, out_dist, info);
}

bool is_float32(const py::array& X) { return X.dtype().equal(py::dtype::of<float>()); }
bool is_float64(const py::array& X) { return X.dtype().equal(py::dtype::of<double>()); }

[[noreturn]] void bad_dtype(const py::array& X) {
    throw py::value_error("X must have dtype float32 or float64, got " +
                          std::string(py::str(X.dtype())));
}

template <class T>
py::tuple tree_query(const imbfast::KDTree& tree, const py::object& Q_obj, std::int64_t k,
                     int n_threads) {
    py::array Q_arr;  // keeps the queries alive for the call
    const T* Q = queries<T>(Q_obj, tree.dims(), Q_arr);
    const std::int64_t nq = Q ? Q_arr.shape(0) : tree.rows();
    check_k(k, tree.rows(), Q == nullptr);
    py::array_t<std::int64_t> out_idx({nq, k});
    py::array_t<double> out_dist({nq, k});
    std::int64_t* oi = out_idx.mutable_data();
    double* od = out_dist.mutable_data();
    {
        py::gil_scoped_release release;  // the Python object holds the tree
        tree.query<T>(Q, nq, k, oi, od, n_threads);
    }
    return py::make_tuple(out_idx, out_dist);
}

}  // namespace

void register_neighbors(pybind11::module_& m) {
    py::class_<imbfast::KDTree>(
        m, "KDTree",
        "A KD-tree over the rows of X (float32 or float64), built once and queried any "
        "number of times, also from several threads at once.")
        .def(py::init([](const py::array& X) {
                 if (X.ndim() != 2) throw py::value_error("X must be 2-dimensional");
                 if (is_float32(X)) {
                     check_array<float>(X, "X", 2);
                     return imbfast::KDTree(ptr<float>(X), X.shape(0), X.shape(1));
                 }
                 if (is_float64(X)) {
                     check_array<double>(X, "X", 2);
                     return imbfast::KDTree(ptr<double>(X), X.shape(0), X.shape(1));
                 }
                 bad_dtype(X);
             }),
             py::arg("X"))
        .def(
            "query",
            [](const imbfast::KDTree& tree, const py::object& Q, std::int64_t k, int n_threads) {
                if (Q.is_none()) return tree_query<double>(tree, Q, k, n_threads);
                const auto arr = Q.cast<py::array>();
                if (is_float32(arr)) return tree_query<float>(tree, Q, k, n_threads);
                if (is_float64(arr)) return tree_query<double>(tree, Q, k, n_threads);
                bad_dtype(arr);
            },
            py::arg("Q"), py::arg("k"), py::arg("n_threads") = 1,
            "Exact k-NN of Q (None: of the fitted rows, each excluding itself); returns "
            "(indices, squared distances), as kdtree_knn.")
        .def_property_readonly("n_rows", &imbfast::KDTree::rows)
        .def_property_readonly("n_features", &imbfast::KDTree::dims);

    m.def(
        "refine_knn",
        [](const py::array& X, const py::object& Q, const py::array& cand,
           const py::array& cand_dist, const py::array& bound, std::int64_t k, int n_threads) {
            if (is_float32(X)) return refine<float>(X, Q, cand, cand_dist, bound, k, n_threads);
            if (is_float64(X)) return refine<double>(X, Q, cand, cand_dist, bound, k, n_threads);
            bad_dtype(X);
        },
        py::arg("X"), py::arg("Q"), py::arg("cand"), py::arg("cand_dist"), py::arg("bound"),
        py::arg("k"), py::arg("n_threads") = 1,
        "Exact k-NN from approximate candidates; returns (indices, squared distances, "
        "number of queries answered by the exact scan).");
    m.def(
        "brute_knn",
        [](const py::array& X, const py::object& Q, std::int64_t k, int n_threads) {
            if (is_float32(X)) return search<float, false>(X, Q, k, n_threads);
            if (is_float64(X)) return search<double, false>(X, Q, k, n_threads);
            bad_dtype(X);
        },
        py::arg("X"), py::arg("Q"), py::arg("k"), py::arg("n_threads") = 1,
        "Exact brute-force k-NN; returns (indices, squared distances).");
    m.def(
        "kdtree_knn",
        [](const py::array& X, const py::object& Q, std::int64_t k, int n_threads) {
            if (is_float32(X)) return search<float, true>(X, Q, k, n_threads);
            if (is_float64(X)) return search<double, true>(X, Q, k, n_threads);
            bad_dtype(X);
        },
        py::arg("X"), py::arg("Q"), py::arg("k"), py::arg("n_threads") = 1,
        "Exact k-NN with a KD-tree; returns (indices, squared distances).");
    m.def(
        "fused_knn",
        [](const py::array& X, const py::object& Q, std::int64_t k, std::int64_t n_extra,
           int n_threads, const py::object& within, const std::string& int8,
           double int8_hit_cost, double int8_max_cost, double int8_max_range,
           std::int64_t keep_smallest_sums) {
            if (is_float32(X))
                return fused<float>(X, Q, k, n_extra, n_threads, within, int8, int8_hit_cost,
                                    int8_max_cost, int8_max_range, keep_smallest_sums);
            if (is_float64(X))
                return fused<double>(X, Q, k, n_extra, n_threads, within, int8, int8_hit_cost,
                                     int8_max_cost, int8_max_range, keep_smallest_sums);
            bad_dtype(X);
        },
        py::arg("X"), py::arg("Q"), py::arg("k"), py::arg("n_extra") = 8,
        py::arg("n_threads") = 1, py::arg("within") = py::none(), py::arg("int8") = "auto",
        py::arg("int8_hit_cost") = imbfast::FusedOptions{}.int8_hit_cost,
        py::arg("int8_max_cost") = imbfast::FusedOptions{}.int8_max_cost,
        py::arg("int8_max_range") = imbfast::FusedOptions{}.int8_max_range,
        py::arg("keep_smallest_sums") = 0,
        "Exact k-NN by a fused float32 SIMD pass and exact re-ranking; returns (indices, "
        "squared distances, info dict with n_tie_pass, n_candidates, symmetric, "
        "exact_arithmetic, int8_filter, n_int8_fallback and int8_probe_hits). `int8`: "
        "the int8 filter pass of the query search, 'auto' (probe; AVX-512 VNNI only), "
        "'always', 'only' (as 'auto', but unanswered when the pass is not taken) or "
        "'never'. With "
        "`within` (float64, one squared distance per query) only rows at most that far "
        "count; missing entries are index -1, distance inf. With keep_smallest_sums=n "
        "(> 0), queries the int8 pass proves are not among the n whose k distances sum "
        "smallest may be left unanswered too (info n_unanswered).");
}

}  // namespace imbfast_bindings
