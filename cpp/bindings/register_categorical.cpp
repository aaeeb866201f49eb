// Bindings of the categorical SMOTE kernels (imbfast/categorical.hpp).
#include <pybind11/numpy.h>

#include <cstdint>
#include <string>

#include "arrays.hpp"
#include "imbfast/categorical.hpp"
#include "register.hpp"

namespace imbfast_bindings {

namespace {

bool is_float32(const py::array& a) { return a.dtype().equal(py::dtype::of<float>()); }
bool is_float64(const py::array& a) { return a.dtype().equal(py::dtype::of<double>()); }

[[noreturn]] void bad_float_dtype(const char* name, const py::array& a) {
    throw py::value_error(std::string(name) + " must have dtype float32 or float64, got " +
                          std::string(py::str(a.dtype())));
}

template <class T>
py::tuple mixed_knn(const py::array& cont, const py::array& codes, double cat_weight,
                    std::int64_t k, int n_threads) {
    check_array<T>(cont, "cont", 2);
    check_array<std::int32_t>(codes, "codes", 2);
    const std::int64_t n = cont.shape(0);
    check_dim(codes, "codes", 0, n);
    if (k < 1 || k > n - 1)
        throw py::value_error("k must be in [1, n - 1] = [1, " + std::to_string(n - 1) +
                              "], got " + std::to_string(k));
    py::array_t<std::int64_t> idx({n, k});
    py::array_t<double> dist({n, k});
    std::int64_t* idx_ptr = idx.mutable_data();
    double* dist_ptr = dist.mutable_data();
    // The inputs are held by the caller and the outputs are fresh arrays;
    // the kernel touches no Python object: safe without the GIL.
    py::gil_scoped_release release;
    imbfast::mixed_knn<T>(ptr<T>(cont), n, cont.shape(1), ptr<std::int32_t>(codes),
                          codes.shape(1), cat_weight, k, idx_ptr, dist_ptr, n_threads);
    py::gil_scoped_acquire acquire;
    return py::make_tuple(idx, dist);
}

template <class T>
py::tuple mixed_knn_pruned(const py::array& cont, const py::array& codes, double cat_weight,
                           std::int64_t k, const py::array& cand, const py::array& cand_sq,
                           std::int64_t max_shared, int n_threads) {
    check_array<T>(cont, "cont", 2);
    check_array<std::int32_t>(codes, "codes", 2);
    check_array<std::int64_t>(cand, "cand", 2);
    check_array<double>(cand_sq, "cand_sq", 1);
    const std::int64_t n = cont.shape(0), kc = cand.shape(1);
    check_dim(codes, "codes", 0, n);
    check_dim(cand, "cand", 0, n);
    check_dim(cand_sq, "cand_sq", 0, n);
    if (k < 1 || k > n - 1)
        throw py::value_error("k must be in [1, n - 1] = [1, " + std::to_string(n - 1) +
                              "], got " + std::to_string(k));
    py::array_t<std::int64_t> idx({n, k});
    py::array_t<double> dist({n, k});
    std::int64_t* idx_ptr = idx.mutable_data();
    double* dist_ptr = dist.mutable_data();
    std::int64_t scanned = 0;
    {
        py::gil_scoped_release release;  // read-only inputs, fresh outputs
        scanned = imbfast::mixed_knn_pruned<T>(
            ptr<T>(cont), n, cont.shape(1), ptr<std::int32_t>(codes), codes.shape(1), cat_weight,
            k, ptr<std::int64_t>(cand), ptr<double>(cand_sq), kc, max_shared, idx_ptr, dist_ptr,
            n_threads);
    }
    return py::make_tuple(idx, dist, scanned);
}

struct VoteArgs {
    py::array indptr, indices, data, nns, base_rows;
};

void check_vote(const VoteArgs& a) {
    check_array<std::int64_t>(a.indptr, "indptr", 1);
    check_array<std::int64_t>(a.indices, "indices", 1);
    check_array<std::int64_t>(a.nns, "nns", 2);
    check_array<std::int64_t>(a.base_rows, "base_rows", 1);
    if (a.data.ndim() != 1 || !(a.data.flags() & py::array::c_style))
        throw py::value_error("data must be a C-contiguous 1-dimensional array");
    check_dim(a.data, "data", 0, a.indices.shape(0));
    if (a.indptr.shape(0) < 1) throw py::value_error("indptr must hold at least one entry");
    check_dim(a.nns, "nns", 0, a.indptr.shape(0) - 1);
}

template <class T>
py::array_t<std::int64_t> vote_candidates(const VoteArgs& a, std::int64_t block_start,
                                          std::int64_t block_end, int n_threads) {
    const std::int64_t n_new = a.base_rows.shape(0);
    py::array_t<std::int64_t> offsets(n_new + 1);
    std::int64_t* out = offsets.mutable_data();
    py::gil_scoped_release release;  // read-only inputs, fresh output
    imbfast::vote_candidates<T>(ptr<std::int64_t>(a.indptr), ptr<std::int64_t>(a.indices),
                                ptr<T>(a.data), a.indptr.shape(0) - 1, a.indices.shape(0),
                                block_start, block_end, ptr<std::int64_t>(a.nns), a.nns.shape(1),
                                ptr<std::int64_t>(a.base_rows), n_new, out, n_threads);
    py::gil_scoped_acquire acquire;
    return offsets;
}

template <class T>
py::array_t<std::int64_t> vote_resolve(const VoteArgs& a, std::int64_t block_start,
                                       std::int64_t block_end, const py::array& offsets,
                                       const py::array& perm, int n_threads) {
    const std::int64_t n_new = a.base_rows.shape(0);
    check_array<std::int64_t>(offsets, "offsets", 1);
    check_array<std::int64_t>(perm, "perm", 1);
    check_dim(offsets, "offsets", 0, n_new + 1);
    py::array_t<std::int64_t> codes(n_new);
    std::int64_t* out = codes.mutable_data();
    py::gil_scoped_release release;  // read-only inputs, fresh output
    imbfast::vote_resolve<T>(ptr<std::int64_t>(a.indptr), ptr<std::int64_t>(a.indices),
                             ptr<T>(a.data), a.indptr.shape(0) - 1, a.indices.shape(0),
                             block_start, block_end, ptr<std::int64_t>(a.nns), a.nns.shape(1),
                             ptr<std::int64_t>(a.base_rows), n_new, ptr<std::int64_t>(offsets),
                             ptr<std::int64_t>(perm), perm.shape(0), out, n_threads);
    py::gil_scoped_acquire acquire;
    return codes;
}

void check_tables(const py::array& tables, const py::array& n_categories, std::int64_t d,
                  std::int64_t n_classes) {
    check_array<double>(tables, "tables", 1);
    check_array<std::int64_t>(n_categories, "n_categories", 1);
    check_dim(n_categories, "n_categories", 0, d);
    if (n_classes < 1) throw py::value_error("n_classes must be >= 1");
    const std::int64_t size =
        imbfast::vdm_tables_size(d, n_classes, ptr<std::int64_t>(n_categories));
    check_dim(tables, "tables", 0, size);
}

}  // namespace

void register_categorical(pybind11::module_& m) {
    m.def(
        "mixed_knn",
        [](const py::array& cont, const py::array& codes, double cat_weight, std::int64_t k,
           int n_threads) {
            if (is_float32(cont)) return mixed_knn<float>(cont, codes, cat_weight, k, n_threads);
            if (is_float64(cont)) return mixed_knn<double>(cont, codes, cat_weight, k, n_threads);
            bad_float_dtype("cont", cont);
        },
        py::arg("cont"), py::arg("codes"), py::arg("cat_weight"), py::arg("k"),
        py::arg("n_threads") = 1,
        "Exact k-NN within a class under SMOTENC's distance; returns (indices, distances).");

    m.def(
        "mixed_knn_pruned",
        [](const py::array& cont, const py::array& codes, double cat_weight, std::int64_t k,
           const py::array& cand, const py::array& cand_sq, std::int64_t max_shared,
           int n_threads) {
            if (is_float32(cont))
                return mixed_knn_pruned<float>(cont, codes, cat_weight, k, cand, cand_sq,
                                               max_shared, n_threads);
            if (is_float64(cont))
                return mixed_knn_pruned<double>(cont, codes, cat_weight, k, cand, cand_sq,
                                                max_shared, n_threads);
            bad_float_dtype("cont", cont);
        },
        py::arg("cont"), py::arg("codes"), py::arg("cat_weight"), py::arg("k"), py::arg("cand"),
        py::arg("cand_sq"), py::arg("max_shared"), py::arg("n_threads") = 1,
        "mixed_knn's neighbours from continuous candidates and shared categories; returns "
        "(indices, distances, rows answered by the full scan).");

    m.def(
        "vote_candidates",
        [](const py::array& indptr, const py::array& indices, const py::array& data,
           std::int64_t block_start, std::int64_t block_end, const py::array& nns,
           const py::array& base_rows, int n_threads) {
            const VoteArgs a{indptr, indices, data, nns, base_rows};
            check_vote(a);
            if (is_float32(data)) return vote_candidates<float>(a, block_start, block_end, n_threads);
            if (is_float64(data))
                return vote_candidates<double>(a, block_start, block_end, n_threads);
            bad_float_dtype("data", data);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("block_start"),
        py::arg("block_end"), py::arg("nns"), py::arg("base_rows"), py::arg("n_threads") = 1,
        "SMOTENC vote, pass 1: offsets of each new row's tied candidates.");

    m.def(
        "vote_resolve",
        [](const py::array& indptr, const py::array& indices, const py::array& data,
           std::int64_t block_start, std::int64_t block_end, const py::array& nns,
           const py::array& base_rows, const py::array& offsets, const py::array& perm,
           int n_threads) {
            const VoteArgs a{indptr, indices, data, nns, base_rows};
            check_vote(a);
            if (is_float32(data))
                return vote_resolve<float>(a, block_start, block_end, offsets, perm, n_threads);
            if (is_float64(data))
                return vote_resolve<double>(a, block_start, block_end, offsets, perm, n_threads);
            bad_float_dtype("data", data);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("block_start"),
        py::arg("block_end"), py::arg("nns"), py::arg("base_rows"), py::arg("offsets"),
        py::arg("perm"), py::arg("n_threads") = 1,
        "SMOTENC vote, pass 2: each new row's category code, ties by the permutation.");

    m.def(
        "vdm_tables",
        [](const py::array& codes, const py::array& class_codes, std::int64_t n_classes,
           const py::array& n_categories, int n_threads) {
            check_array<std::int32_t>(codes, "codes", 2);
            check_array<std::int64_t>(class_codes, "class_codes", 1);
            check_array<std::int64_t>(n_categories, "n_categories", 1);
            const std::int64_t n = codes.shape(0), d = codes.shape(1);
            check_dim(class_codes, "class_codes", 0, n);
            check_dim(n_categories, "n_categories", 0, d);
            if (n_classes < 1) throw py::value_error("n_classes must be >= 1");
            const std::int64_t size =
                imbfast::vdm_tables_size(d, n_classes, ptr<std::int64_t>(n_categories));
            py::array_t<double> tables(size);
            double* out = tables.mutable_data();
            py::gil_scoped_release release;  // read-only inputs, fresh output
            imbfast::vdm_tables(ptr<std::int32_t>(codes), n, d, ptr<std::int64_t>(class_codes),
                                n_classes, ptr<std::int64_t>(n_categories), out, n_threads);
            py::gil_scoped_acquire acquire;
            return tables;
        },
        py::arg("codes"), py::arg("class_codes"), py::arg("n_classes"), py::arg("n_categories"),
        py::arg("n_threads") = 1,
        "Value Difference Metric tables P(class | category), feature after feature.");

    m.def(
        "vdm_knn",
        [](const py::array& codes, const py::array& tables, std::int64_t n_classes,
           const py::array& n_categories, std::int64_t k, int n_threads) {
            check_array<std::int32_t>(codes, "codes", 2);
            const std::int64_t n = codes.shape(0), d = codes.shape(1);
            check_tables(tables, n_categories, d, n_classes);
            if (k < 1 || k > n)
                throw py::value_error("k must be in [1, n] = [1, " + std::to_string(n) +
                                      "], got " + std::to_string(k));
            py::array_t<std::int64_t> idx({n, k});
            std::int64_t* out = idx.mutable_data();
            py::gil_scoped_release release;  // read-only inputs, fresh output
            imbfast::vdm_knn(ptr<std::int32_t>(codes), n, d, ptr<double>(tables), n_classes,
                             ptr<std::int64_t>(n_categories), k, out, n_threads);
            py::gil_scoped_acquire acquire;
            return idx;
        },
        py::arg("codes"), py::arg("tables"), py::arg("n_classes"), py::arg("n_categories"),
        py::arg("k"), py::arg("n_threads") = 1,
        "k nearest rows (self included) under the VDM, streamed: no n x n matrix.");

    m.def(
        "vdm_pairwise",
        [](const py::array& codes_a, const py::array& codes_b, const py::array& tables,
           std::int64_t n_classes, const py::array& n_categories, int n_threads) {
            check_array<std::int32_t>(codes_a, "codes_a", 2);
            check_array<std::int32_t>(codes_b, "codes_b", 2);
            const std::int64_t d = codes_a.shape(1);
            check_dim(codes_b, "codes_b", 1, d);
            check_tables(tables, n_categories, d, n_classes);
            const std::int64_t n_a = codes_a.shape(0), n_b = codes_b.shape(0);
            py::array_t<double> out({n_a, n_b});
            double* out_ptr = out.mutable_data();
            py::gil_scoped_release release;  // read-only inputs, fresh output
            imbfast::vdm_pairwise(ptr<std::int32_t>(codes_a), n_a, ptr<std::int32_t>(codes_b),
                                  n_b, d, ptr<double>(tables), n_classes,
                                  ptr<std::int64_t>(n_categories), out_ptr, n_threads);
            py::gil_scoped_acquire acquire;
            return out;
        },
        py::arg("codes_a"), py::arg("codes_b"), py::arg("tables"), py::arg("n_classes"),
        py::arg("n_categories"), py::arg("n_threads") = 1,
        "The full VDM matrix (only for neighbours objects that need one).");

    m.def(
        "neighbourhood_mode",
        [](const py::array& codes, const py::array& nn, const py::array& rows, int n_threads) {
            check_array<std::int32_t>(codes, "codes", 2);
            check_array<std::int64_t>(nn, "nn", 2);
            check_array<std::int64_t>(rows, "rows", 1);
            const std::int64_t n = codes.shape(0), d = codes.shape(1);
            check_dim(nn, "nn", 0, n);
            const std::int64_t n_out = rows.shape(0);
            py::array_t<std::int32_t> out({n_out, d});
            std::int32_t* out_ptr = out.mutable_data();
            py::gil_scoped_release release;  // read-only inputs, fresh output
            imbfast::neighbourhood_mode(ptr<std::int32_t>(codes), n, d, ptr<std::int64_t>(nn),
                                        nn.shape(1), ptr<std::int64_t>(rows), n_out, out_ptr,
                                        n_threads);
            py::gil_scoped_acquire acquire;
            return out;
        },
        py::arg("codes"), py::arg("nn"), py::arg("rows"), py::arg("n_threads") = 1,
        "Feature-wise mode of each drawn row's neighbourhood (ties to the smallest code).");
}

}  // namespace imbfast_bindings
