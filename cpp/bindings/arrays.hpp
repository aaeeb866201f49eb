// Checked access to NumPy arrays for the bindings. Arrays are used as they
// are: a wrong dtype, a non-contiguous layout or a wrong shape is a
// ValueError naming the argument, never a silent copy or a crash.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

namespace imbfast_bindings {

namespace py = pybind11;

template <class T>
const char* dtype_name();
template <>
inline const char* dtype_name<float>() { return "float32"; }
template <>
inline const char* dtype_name<double>() { return "float64"; }
template <>
inline const char* dtype_name<std::int64_t>() { return "int64"; }
template <>
inline const char* dtype_name<std::int32_t>() { return "int32"; }
template <>
inline const char* dtype_name<std::uint64_t>() { return "uint64"; }
template <>
inline const char* dtype_name<std::uint32_t>() { return "uint32"; }

// Checks dtype, C-contiguity and number of dimensions of `a`.
template <class T>
void check_array(const py::array& a, const char* name, int ndim, bool writable = false) {
    if (!py::dtype::of<T>().is(a.dtype()) && !a.dtype().equal(py::dtype::of<T>()))
        throw py::value_error(std::string(name) + " must have dtype " + dtype_name<T>() +
                              ", got " + std::string(py::str(a.dtype())));
    if (a.ndim() != ndim)
        throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) +
                              "-dimensional, got " + std::to_string(a.ndim()) + " dimensions");
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(name) +
                              " must be C-contiguous; use numpy.ascontiguousarray");
    if (writable && !a.writeable())
        throw py::value_error(std::string(name) + " must be writable");
}

template <class T>
const T* ptr(const py::array& a) {
    return static_cast<const T*>(a.data());
}

template <class T>
T* mutable_ptr(py::array& a) {
    return static_cast<T*>(a.mutable_data());
}

inline void check_dim(const py::array& a, const char* name, int axis, py::ssize_t expected) {
    if (a.shape(axis) != expected)
        throw py::value_error(std::string(name) + " has shape[" + std::to_string(axis) +
                              "] == " + std::to_string(a.shape(axis)) + ", expected " +
                              std::to_string(expected));
}

// The k of a search among n rows (X itself when `self`: a row is not its
// own neighbour), checked before the (queries, k) outputs are allocated: a
// huge k must be a ValueError, not an overflowing allocation.
inline void check_k(std::int64_t k, std::int64_t n, bool self) {
    if (k < 1) throw py::value_error("k must be >= 1");
    const std::int64_t available = self ? n - 1 : n;
    if (k > available)
        throw py::value_error("k=" + std::to_string(k) + " but only " +
                              std::to_string(available) + " rows can be neighbours");
}

}  // namespace imbfast_bindings
