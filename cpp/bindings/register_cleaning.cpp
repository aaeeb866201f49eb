// Bindings of the cleaning decisions (imbfast/cleaning.hpp).
#include <pybind11/numpy.h>

#include <cstdint>
#include <string>

#include "arrays.hpp"
#include "imbfast/cleaning.hpp"
#include "register.hpp"

namespace imbfast_bindings {

namespace {

py::array_t<std::uint8_t> as_mask(const py::array& a, const char* name) {
    if (!a.dtype().equal(py::dtype::of<std::uint8_t>()) && !a.dtype().equal(py::dtype::of<bool>()))
        throw py::value_error(std::string(name) + " must have dtype bool or uint8, got " +
                              std::string(py::str(a.dtype())));
    if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-dimensional");
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(name) +
                              " must be C-contiguous; use numpy.ascontiguousarray");
    return py::reinterpret_borrow<py::array_t<std::uint8_t>>(a);
}

}  // namespace

void register_cleaning(pybind11::module_& m) {
    m.def(
        "tomek_links",
        [](const py::array& nn1, const py::array& codes, const py::array& targeted,
           int n_threads) {
            check_array<std::int64_t>(nn1, "nn1", 1);
            check_array<std::int64_t>(codes, "codes", 1);
            check_dim(codes, "codes", 0, nn1.shape(0));
            const auto tmask = as_mask(targeted, "targeted");
            const std::int64_t n = nn1.shape(0), n_classes = tmask.shape(0);
            py::array_t<bool> remove(n);
            auto* out = reinterpret_cast<std::uint8_t*>(remove.mutable_data());
            const auto* t = reinterpret_cast<const std::uint8_t*>(tmask.data());
            // Inputs are held by the caller; the kernel touches no Python object.
            py::gil_scoped_release release;
            imbfast::tomek_links(ptr<std::int64_t>(nn1), ptr<std::int64_t>(codes), n, t,
                                 n_classes, out, n_threads);
            py::gil_scoped_acquire acquire;
            return remove;
        },
        py::arg("nn1"), py::arg("codes"), py::arg("targeted"), py::arg("n_threads") = 1,
        "Boolean mask of the targeted members of Tomek links.");

    m.def(
        "enn_keep",
        [](const py::array& rows, const py::array& nbrs, std::int64_t k, const py::array& codes,
           std::int64_t n_classes, const std::string& kind, int n_threads) {
            check_array<std::int64_t>(rows, "rows", 1);
            check_array<std::int64_t>(nbrs, "nbrs", 2);
            check_array<std::int64_t>(codes, "codes", 1);
            check_dim(nbrs, "nbrs", 0, rows.shape(0));
            imbfast::EnnKind enn_kind;
            if (kind == "all") {
                enn_kind = imbfast::EnnKind::all;
            } else if (kind == "mode") {
                enn_kind = imbfast::EnnKind::mode;
            } else {
                throw py::value_error("kind must be 'all' or 'mode', got '" + kind + "'");
            }
            const std::int64_t m_rows = rows.shape(0), width = nbrs.shape(1);
            py::array_t<bool> keep(m_rows);
            auto* out = reinterpret_cast<std::uint8_t*>(keep.mutable_data());
            py::gil_scoped_release release;  // read-only inputs, fresh output
            imbfast::enn_keep(ptr<std::int64_t>(rows), m_rows, ptr<std::int64_t>(nbrs), width, k,
                              ptr<std::int64_t>(codes), codes.shape(0), n_classes, enn_kind,
                              out, n_threads);
            py::gil_scoped_acquire acquire;
            return keep;
        },
        py::arg("rows"), py::arg("nbrs"), py::arg("k"), py::arg("codes"),
        py::arg("n_classes"), py::arg("kind"), py::arg("n_threads") = 1,
        "Boolean mask: which queried samples ENN keeps, from their first k neighbours.");

    m.def(
        "compact_neighbors",
        [](py::array& nbrs, const py::array& alive, int n_threads) {
            check_array<std::int64_t>(nbrs, "nbrs", 2, true);
            const auto amask = as_mask(alive, "alive");
            const std::int64_t m_rows = nbrs.shape(0), width = nbrs.shape(1);
            py::array_t<std::int64_t> counts(m_rows);
            std::int64_t* c = counts.mutable_data();
            std::int64_t* lists = mutable_ptr<std::int64_t>(nbrs);
            const auto* a = reinterpret_cast<const std::uint8_t*>(amask.data());
            const std::int64_t n = amask.shape(0);
            py::gil_scoped_release release;  // buffers held by the caller
            imbfast::compact_neighbors(lists, m_rows, width, a, n, c, n_threads);
            py::gil_scoped_acquire acquire;
            return counts;
        },
        py::arg("nbrs"), py::arg("alive"), py::arg("n_threads") = 1,
        "Drop dead ids from neighbour lists in place; returns the lengths left.");
}

}  // namespace imbfast_bindings
