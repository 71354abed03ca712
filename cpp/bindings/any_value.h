// AnyValue: a py::object named "typing.Any" in signatures; used by module.cpp
// and encode_module.h.
#pragma once

#include <pybind11/pybind11.h>

namespace svsim_bindings {

inline bool is_any_object(PyObject*) { return true; }

// A value of any Python type.  It differs from py::object only in its name in
// signatures: "typing.Any", so that the generated stubs (python/svsim/_core.pyi)
// give dict[str, typing.Any], whose values the Python side may use as it
// knows them to be; "object" would make a strict type checker refuse each use.
class AnyValue : public pybind11::object {
 public:
  PYBIND11_OBJECT_DEFAULT(AnyValue, pybind11::object, is_any_object)
};

}  // namespace svsim_bindings

namespace pybind11::detail {
template <>
struct handle_type_name<svsim_bindings::AnyValue> {
  static constexpr auto name = const_name("typing.Any");
};
}  // namespace pybind11::detail
