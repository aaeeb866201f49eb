// Stratified sampling: the two-pass whole-array selection and the
// streaming selector (see imbfast/stratified.hpp).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "imbfast/stratified.hpp"
#include "register.hpp"

namespace imbfast_bindings {

namespace {

// Hands a vector to NumPy without copying it.
py::array_t<std::int64_t> to_numpy(std::vector<std::int64_t>&& v) {
    auto* owned = new std::vector<std::int64_t>(std::move(v));
    py::capsule free_when_done(owned, [](void* p) {
        delete static_cast<std::vector<std::int64_t>*>(p);
    });
    return py::array_t<std::int64_t>({static_cast<py::ssize_t>(owned->size())}, owned->data(),
                                     free_when_done);
}

// Labels must be a 1-D C-contiguous int32 or int64 array.
bool labels_are_int32(const py::array& y, const char* name) {
    const bool i32 = y.dtype().equal(py::dtype::of<std::int32_t>());
    const bool i64 = y.dtype().equal(py::dtype::of<std::int64_t>());
    if (!i32 && !i64)
        throw py::value_error(std::string(name) + " must have dtype int32 or int64, got " +
                              std::string(py::str(y.dtype())));
    if (y.ndim() != 1)
        throw py::value_error(std::string(name) + " must be 1-dimensional, got " +
                              std::to_string(y.ndim()) + " dimensions");
    if (!(y.flags() & py::array::c_style))
        throw py::value_error(std::string(name) +
                              " must be C-contiguous; use numpy.ascontiguousarray");
    return i32;
}

std::vector<std::int64_t> int64_vector(const py::array& a, const char* name) {
    check_array<std::int64_t>(a, name, 1);
    const auto* p = ptr<std::int64_t>(a);
    return std::vector<std::int64_t>(p, p + a.shape(0));
}

std::vector<std::uint64_t> uint64_vector(const py::array& a, const char* name) {
    check_array<std::uint64_t>(a, name, 1);
    const auto* p = ptr<std::uint64_t>(a);
    return std::vector<std::uint64_t>(p, p + a.shape(0));
}

// The selector and a lock: Python threads may share one object while the
// GIL is released.
struct PySelector {
    std::unique_ptr<imbfast::StratifiedSelector> sel;
    std::mutex mutex;
};

}  // namespace

void register_sampling(pybind11::module_& m) {
    m.def(
        "stratified_scan",
        [](const py::array& y, std::int64_t lo, const py::array& bound_array, std::uint64_t seed,
           int n_threads) {
            const bool i32 = labels_are_int32(y, "y");
            const auto bound = uint64_vector(bound_array, "bound");
            py::array_t<std::uint64_t> bits((y.shape(0) + 63) / 64);  // the scan writes every word
            std::uint64_t* pb = bits.mutable_data();
            imbfast::LabelScan scan;
            {
                py::gil_scoped_release release;  // reads the held y, writes the held bits
                scan = i32 ? imbfast::stratified_scan(ptr<std::int32_t>(y), y.shape(0), lo, bound,
                                                      seed, n_threads, pb)
                           : imbfast::stratified_scan(ptr<std::int64_t>(y), y.shape(0), lo, bound,
                                                      seed, n_threads, pb);
            }
            const auto shape = std::vector<py::ssize_t>{static_cast<py::ssize_t>(scan.blocks),
                                                        static_cast<py::ssize_t>(bound.size())};
            py::array_t<std::int64_t> counts(shape), candidates(shape);
            std::copy(scan.counts.begin(), scan.counts.end(), counts.mutable_data());
            std::copy(scan.candidates.begin(), scan.candidates.end(), candidates.mutable_data());
            py::object outside = py::none();
            if (scan.outside > 0) outside = py::make_tuple(scan.outside_min, scan.outside_max);
            return py::make_tuple(counts, candidates, bits, outside);
        },
        py::arg("y"), py::arg("lo"), py::arg("bound"), py::arg("seed"), py::arg("n_threads") = 1,
        "Per block and class: rows and rows with key <= bound; the candidate bitmask; and "
        "(smallest, largest) label outside [lo, lo + len(bound)) or None.");

    m.def(
        "stratified_gather",
        [](const py::array& y, std::int64_t lo, const py::array& want,
           const py::array& bound_array, const py::array& counts, const py::array& candidates,
           const py::array& bits, std::uint64_t seed, int n_threads) {
            const bool i32 = labels_are_int32(y, "y");
            const auto w = int64_vector(want, "want");
            const auto bound = uint64_vector(bound_array, "bound");
            check_array<std::int64_t>(counts, "counts", 2);
            check_array<std::int64_t>(candidates, "candidates", 2);
            check_array<std::uint64_t>(bits, "bits", 1);
            if (bits.shape(0) != (y.shape(0) + 63) / 64)
                throw py::value_error("bits must have (len(y) + 63) // 64 words");
            const auto* pb = ptr<std::uint64_t>(bits);
            const std::int64_t blocks = counts.shape(0);
            if (counts.shape(1) != static_cast<py::ssize_t>(w.size()) ||
                candidates.shape(0) != counts.shape(0) || candidates.shape(1) != counts.shape(1))
                throw py::value_error("counts and candidates must have shape (blocks, len(want))");
            const auto* pc = ptr<std::int64_t>(counts);
            const auto* pk = ptr<std::int64_t>(candidates);
            const std::vector<std::int64_t> c(pc, pc + counts.size()), k(pk, pk + candidates.size());
            imbfast::RowBuffer rows;
            std::int64_t n_rows = 0;
            std::vector<std::int64_t> sizes;
            {
                py::gil_scoped_release release;  // works on copies and the held y and bits
                if (i32)
                    imbfast::stratified_gather(ptr<std::int32_t>(y), y.shape(0), lo, w, bound,
                                               blocks, c, k, pb, seed, n_threads, rows, n_rows,
                                               sizes);
                else
                    imbfast::stratified_gather(ptr<std::int64_t>(y), y.shape(0), lo, w, bound,
                                               blocks, c, k, pb, seed, n_threads, rows, n_rows,
                                               sizes);
            }
            std::int64_t* data = rows.release();
            py::capsule free_when_done(data, [](void* p) {
                imbfast::FreeDeleter()(static_cast<std::int64_t*>(p));
            });
            py::array_t<std::int64_t> out({static_cast<py::ssize_t>(n_rows)}, data, free_when_done);
            return py::make_tuple(out, to_numpy(std::move(sizes)));
        },
        py::arg("y"), py::arg("lo"), py::arg("want"), py::arg("bound"), py::arg("counts"),
        py::arg("candidates"), py::arg("bits"), py::arg("seed"), py::arg("n_threads") = 1,
        "Rows kept per class (see stratified_scan): (rows, sizes per class).");

    m.def(
        "replacement_profile",
        [](std::uint64_t seed, std::int64_t label, std::int64_t n_class, std::int64_t n_draws) {
            std::vector<std::int64_t> mult;
            {
                py::gil_scoped_release release;
                mult = imbfast::replacement_profile(seed, label, n_class, n_draws);
            }
            return to_numpy(std::move(mult));
        },
        py::arg("seed"), py::arg("label"), py::arg("n_class"), py::arg("n_draws"),
        "Shuffled multiplicities of a with-replacement draw (see stratified.hpp).");

    m.def("max_index_rows", &imbfast::max_index_rows,
          "Most row indices an index array can hold on this machine (its memory / 8).");

    m.def(
        "row_keys",
        [](std::uint64_t seed, std::int64_t begin, std::int64_t n) {
            if (n < 0) throw py::value_error("n must be non-negative");
            py::array_t<std::uint64_t> out(n);
            imbfast::row_keys(imbfast::key_state(seed), begin, n, out.mutable_data());
            return out;
        },
        py::arg("seed"), py::arg("begin"), py::arg("n"),
        "Keys of rows begin .. begin + n - 1 for `seed`.");

    m.def(
        "row_keys_at",
        [](std::uint64_t seed, const py::array& rows) {
            check_array<std::int64_t>(rows, "rows", 1);
            py::array_t<std::uint64_t> out(rows.shape(0));
            imbfast::row_keys_at(imbfast::key_state(seed), ptr<std::int64_t>(rows), rows.shape(0),
                                 out.mutable_data());
            return out;
        },
        py::arg("seed"), py::arg("rows"), "Keys of the given global rows for `seed`.");

    m.def("key_threshold", py::vectorize(&imbfast::key_threshold), py::arg("want"), py::arg("n"),
          py::arg("sigmas") = 8.0,
          "Key bound the want-th smallest of n uniform keys stays below (w.h.p.).");

    py::class_<PySelector>(m, "StratifiedSelector",
                           "Streaming exact stratified selection (see stratified.hpp).")
        .def(py::init([](std::int64_t lo, const py::array& want, py::object threshold,
                         std::uint64_t seed) {
                 auto w = int64_vector(want, "want");
                 std::vector<std::uint64_t> thr;
                 if (!threshold.is_none())
                     thr = threshold.cast<std::vector<std::uint64_t>>();
                 auto out = std::make_unique<PySelector>();
                 out->sel = std::make_unique<imbfast::StratifiedSelector>(lo, std::move(w),
                                                                          std::move(thr), seed);
                 return out;
             }),
             py::arg("lo"), py::arg("want"), py::arg("threshold") = py::none(), py::arg("seed"))
        .def(
            "add",
            [](PySelector& self, const py::array& y, std::int64_t offset, int n_threads) {
                const bool i32 = labels_are_int32(y, "y");
                // The lock serialises callers; y is held by the caller.
                py::gil_scoped_release release;
                std::lock_guard<std::mutex> lock(self.mutex);
                if (i32)
                    self.sel->add(ptr<std::int32_t>(y), y.shape(0), offset, n_threads);
                else
                    self.sel->add(ptr<std::int64_t>(y), y.shape(0), offset, n_threads);
            },
            py::arg("y"), py::arg("offset"), py::arg("n_threads") = 1)
        .def("seen",
             [](PySelector& self) {
                 std::lock_guard<std::mutex> lock(self.mutex);
                 return to_numpy(std::vector<std::int64_t>(self.sel->seen()));
             })
        .def(
            "finish",
            [](PySelector& self, bool complete) {
                std::vector<std::int64_t> rows, sizes;
                {
                    py::gil_scoped_release release;
                    std::lock_guard<std::mutex> lock(self.mutex);
                    self.sel->finish(rows, sizes, complete);
                }
                return py::make_tuple(to_numpy(std::move(rows)), to_numpy(std::move(sizes)));
            },
            py::arg("complete") = true);
}

}  // namespace imbfast_bindings
