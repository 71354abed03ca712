// The encoder of a circuit's instructions into the kernel's three flat arrays
// (the layout of python/svsim/_ops.py and svsim/program.h); included by
// module.cpp, which calls bind_encode.  It walks the svsim.program.Instruction
// objects with the C API: a batch of small circuits spent most of its Python
// time in the encoder's loop (issue 20), about 1 us per instruction, which
// this makes a few tens of nanoseconds.  The gate matrices stay in Python
// (svsim/gates.py): the table svsim/encoding.py passes in gives each named
// gate's constant values, or the function of its parameters that makes them.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/typing.h>

#include <complex>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "any_value.h"
#include "svsim/program.h"

namespace svsim_bindings {

namespace py = pybind11;

namespace encode_detail {

// What encode builds: the rows of ops one after another, the qubit entries,
// the values.
struct Encoded {
  std::vector<std::int64_t> rows;
  std::vector<std::int32_t> qubits;
  std::vector<std::complex<double>> values;

  void row(svsim::OpKind kind, std::int64_t targets, std::int64_t controls,
           std::int64_t qubit_offset, std::int64_t value_offset, std::int64_t slot,
           std::int64_t cond_bits, std::int64_t cond_value) {
    const std::int64_t fields[svsim::field::count] = {static_cast<std::int64_t>(kind),
                                                      targets,
                                                      controls,
                                                      qubit_offset,
                                                      value_offset,
                                                      slot,
                                                      cond_bits,
                                                      cond_value};
    rows.insert(rows.end(), fields, fields + svsim::field::count);
  }
};

// An attribute of an instruction, owned (released when the object goes).
inline py::object attr(PyObject* obj, PyObject* name) {
  PyObject* value = PyObject_GetAttr(obj, name);
  if (value == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(value);
}

inline std::int64_t as_int(PyObject* obj) {
  const long long value = PyLong_AsLongLong(obj);
  if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
  return value;
}

inline std::complex<double> as_complex(PyObject* obj) {
  const Py_complex c = PyComplex_AsCComplex(obj);
  if (c.real == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  return {c.real, c.imag};
}

// Appends the items of a tuple of ints (qubits or clbits), those from `begin`
// to `end`, as qubit entries.
inline void add_ints(std::vector<std::int32_t>& out, PyObject* tuple, Py_ssize_t begin,
                     Py_ssize_t end) {
  for (Py_ssize_t i = begin; i < end; ++i) {
    out.push_back(static_cast<std::int32_t>(as_int(PyTuple_GET_ITEM(tuple, i))));
  }
}

// Every `step`-th item of a sequence of complex numbers (a tuple, as gates.py
// makes them, or any sequence a maker returns).
inline void add_values(std::vector<std::complex<double>>& out, PyObject* seq, Py_ssize_t step) {
  PyObject* fast = PySequence_Fast(seq, "gate values must be a sequence");
  if (fast == nullptr) throw py::error_already_set();
  const py::object keep = py::reinterpret_steal<py::object>(fast);
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  PyObject** items = PySequence_Fast_ITEMS(fast);
  for (Py_ssize_t i = 0; i < n; i += step) out.push_back(as_complex(items[i]));
}

inline PyObject* checked_tuple(const py::object& obj, const char* what) {
  if (!PyTuple_Check(obj.ptr()))
    throw py::type_error(std::string("instruction ") + what + " must be a tuple");
  return obj.ptr();
}

template <typename Element>
py::array_t<Element> to_array(const std::vector<Element>& data, std::vector<py::ssize_t> shape) {
  py::array_t<Element> out(shape);
  if (!data.empty()) std::memcpy(out.mutable_data(), data.data(), data.size() * sizeof(Element));
  return out;
}

}  // namespace encode_detail

// The arrays (ops, qubits, values) of the instructions `data`.  `gate_codes`
// maps each named gate to (kind, number of targets, its values as a tuple or
// the function of its parameters that makes them, the step through those);
// `save_slots` maps each save label to its SLOT; `pauli_codes` each Pauli
// letter to its code (svsim._ops.PAULI_CODES); `phase` is exp(i * global
// phase), None when the phase is 0.  An instruction of no known kind raises
// `unknown_error` (svsim.CircuitError).
using EncodedArrays = py::typing::Tuple<py::array_t<std::int64_t>, py::array_t<std::int32_t>,
                                        py::array_t<std::complex<double>>>;

inline EncodedArrays encode(const py::typing::List<AnyValue>& data,
                            const std::optional<std::complex<double>>& phase,
                            const py::typing::Dict<py::str, AnyValue>& gate_codes,
                            const py::typing::Dict<py::str, AnyValue>& save_slots,
                            const py::typing::Dict<py::str, AnyValue>& pauli_codes,
                            const AnyValue& unknown_error) {
  using svsim::OpKind;
  using namespace encode_detail;
  // Interned once and never released: a static py::str would be destroyed
  // after the interpreter at exit.
  static PyObject* const name_attr = PyUnicode_InternFromString("name");
  static PyObject* const qubits_attr = PyUnicode_InternFromString("qubits");
  static PyObject* const clbits_attr = PyUnicode_InternFromString("clbits");
  static PyObject* const params_attr = PyUnicode_InternFromString("params");
  static PyObject* const condition_attr = PyUnicode_InternFromString("condition");
  static PyObject* const matrix_attr = PyUnicode_InternFromString("matrix");
  static PyObject* const label_attr = PyUnicode_InternFromString("label");
  Encoded out;
  const Py_ssize_t count = PyList_GET_SIZE(data.ptr());
  out.rows.reserve(static_cast<std::size_t>(count + 1) * svsim::field::count);
  out.qubits.reserve(static_cast<std::size_t>(count) * 2);
  out.values.reserve(static_cast<std::size_t>(count) * 4);
  if (phase) {
    out.row(OpKind::Diagonal, 0, 0, 0, 0, 0, 0, 0);
    out.values.push_back(*phase);
  }
  // The size is read again each time: a gate's maker is Python code, during
  // which another thread could change the list (svsim's callers pass a copy).
  for (Py_ssize_t index = 0; index < PyList_GET_SIZE(data.ptr()); ++index) {
    const py::object instr = py::reinterpret_borrow<py::object>(PyList_GET_ITEM(data.ptr(), index));
    const py::object name = attr(instr.ptr(), name_attr);
    const py::object qubits_obj = attr(instr.ptr(), qubits_attr);
    PyObject* qubits = checked_tuple(qubits_obj, "qubits");
    const Py_ssize_t width = PyTuple_GET_SIZE(qubits);
    const py::object condition = attr(instr.ptr(), condition_attr);
    PyObject* cond_bits = nullptr;
    std::int64_t cond_value = 0;
    if (!condition.is_none()) {
      PyObject* cond = checked_tuple(condition, "condition");
      if (PyTuple_GET_SIZE(cond) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(cond, 0))) {
        throw py::type_error("instruction condition must be (clbits, value)");
      }
      cond_bits = PyTuple_GET_ITEM(cond, 0);
      cond_value = as_int(PyTuple_GET_ITEM(cond, 1));
    }
    const std::int64_t num_cond = cond_bits ? PyTuple_GET_SIZE(cond_bits) : 0;
    const auto qubit_offset = static_cast<std::int64_t>(out.qubits.size());
    const auto value_offset = static_cast<std::int64_t>(out.values.size());
    PyObject* code = PyDict_GetItemWithError(gate_codes.ptr(), name.ptr());
    if (code != nullptr) {
      // kind, number of targets, values or maker, step; all read before a
      // maker runs (Python code), which leaves `code` borrowed
      if (!PyTuple_Check(code) || PyTuple_GET_SIZE(code) != 4) {
        throw py::type_error("gate_codes values must be (kind, targets, values, step)");
      }
      const auto kind = static_cast<OpKind>(as_int(PyTuple_GET_ITEM(code, 0)));
      const Py_ssize_t targets = static_cast<Py_ssize_t>(as_int(PyTuple_GET_ITEM(code, 1)));
      const Py_ssize_t step = static_cast<Py_ssize_t>(as_int(PyTuple_GET_ITEM(code, 3)));
      if (step < 1) throw py::value_error("a gate's step must be at least 1");
      const py::object make = py::reinterpret_borrow<py::object>(PyTuple_GET_ITEM(code, 2));
      const Py_ssize_t controls = width - targets;
      if (controls < 0) throw py::value_error("a gate has fewer qubits than its targets");
      add_ints(out.qubits, qubits, controls, width);
      add_ints(out.qubits, qubits, 0, controls);
      if (cond_bits) add_ints(out.qubits, cond_bits, 0, num_cond);
      if (PyTuple_Check(make.ptr())) {
        add_values(out.values, make.ptr(), 1);
      } else {
        const py::object params = attr(instr.ptr(), params_attr);
        PyObject* made = PyObject_Call(make.ptr(), checked_tuple(params, "params"), nullptr);
        if (made == nullptr) throw py::error_already_set();
        const py::object keep = py::reinterpret_steal<py::object>(made);
        add_values(out.values, made, step);
      }
      out.row(kind, targets, controls, qubit_offset, value_offset, 0, num_cond, cond_value);
      continue;
    }
    if (PyErr_Occurred()) throw py::error_already_set();
    const std::string kind_name = name.cast<std::string>();
    if (kind_name == "barrier") continue;
    OpKind kind;
    std::int64_t slot = 0;
    if (kind_name == "measure") {
      const py::object clbits = attr(instr.ptr(), clbits_attr);
      PyObject* bits = checked_tuple(clbits, "clbits");
      if (PyTuple_GET_SIZE(bits) < 1) throw py::value_error("a measurement needs a clbit");
      kind = OpKind::Measure;
      slot = as_int(PyTuple_GET_ITEM(bits, 0));
    } else if (kind_name == "unitary") {
      kind = OpKind::Dense;
      const auto matrix =
          py::array_t<std::complex<double>, py::array::c_style | py::array::forcecast>::ensure(
              attr(instr.ptr(), matrix_attr));
      if (!matrix) throw py::error_already_set();
      out.values.insert(out.values.end(), matrix.data(), matrix.data() + matrix.size());
    } else if (kind_name == "reset") {
      kind = OpKind::Reset;
    } else if (kind_name == "save_statevector" || kind_name == "save_probabilities" ||
               kind_name == "save_expectation_value") {
      kind = kind_name == "save_statevector"     ? OpKind::SaveStatevector
             : kind_name == "save_probabilities" ? OpKind::SaveProbabilities
                                                 : OpKind::SaveExpectation;
      slot = save_slots[attr(instr.ptr(), label_attr)].cast<std::int64_t>();
      if (kind == OpKind::SaveExpectation) {
        // The Pauli string, qubit 0's letter last, as codes.
        const py::object params = attr(instr.ptr(), params_attr);
        PyObject* pauli = PyTuple_GET_ITEM(checked_tuple(params, "params"), 0);
        if (!PyUnicode_Check(pauli)) throw py::type_error("a Pauli string must be a str");
        for (Py_ssize_t i = PyUnicode_GET_LENGTH(pauli); i-- > 0;) {
          const auto letter =
              py::reinterpret_steal<py::object>(PyUnicode_Substring(pauli, i, i + 1));
          if (!letter) throw py::error_already_set();
          PyObject* code = PyDict_GetItem(pauli_codes.ptr(), letter.ptr());
          if (code == nullptr) throw py::value_error("unknown Pauli letter");
          out.values.emplace_back(static_cast<double>(as_int(code)), 0.0);
        }
      }
    } else {
      PyErr_SetString(unknown_error.ptr(),
                      ("cannot encode instruction '" + kind_name + "'").c_str());
      throw py::error_already_set();
    }
    add_ints(out.qubits, qubits, 0, width);
    if (cond_bits) add_ints(out.qubits, cond_bits, 0, num_cond);
    out.row(kind, width, 0, qubit_offset, value_offset, slot, num_cond, cond_value);
  }
  const auto num_ops = static_cast<py::ssize_t>(out.rows.size() / svsim::field::count);
  return EncodedArrays(
      py::make_tuple(to_array(out.rows, {num_ops, py::ssize_t{svsim::field::count}}),
                     to_array(out.qubits, {static_cast<py::ssize_t>(out.qubits.size())}),
                     to_array(out.values, {static_cast<py::ssize_t>(out.values.size())})));
}

inline void bind_encode(py::module_& m) {
  m.def("encode", &encode, py::arg("data"), py::arg("phase"), py::arg("gate_codes"),
        py::arg("save_slots"), py::arg("pauli_codes"), py::arg("unknown_error"),
        "A circuit's instructions (svsim.program.Instruction) as the arrays (ops, qubits,\n"
        "values) of svsim._ops; see svsim.encoding.encode.");
}

}  // namespace svsim_bindings
