// The Python face of the kernel: converts arguments, releases the GIL around
// pure C++ work, and hands results to numpy without copying them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <complex>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "any_value.h"
#include "chunk_module.h"
#include "encode_module.h"
#include "svsim/build_info.h"
#include "svsim/program.h"
#include "svsim/runner.h"

namespace py = pybind11;

namespace {

using svsim_bindings::AnyValue;
using ResultDict = py::typing::Dict<py::str, AnyValue>;

}  // namespace

namespace {

// A numpy array over memory that `owner` keeps alive; no copy is made.
template <typename Element, typename Owner>
py::array zero_copy_array(std::shared_ptr<Owner> owner, Element* data,
                          std::vector<py::ssize_t> shape) {
  auto* keep = new std::shared_ptr<Owner>(std::move(owner));
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Owner>*>(p); });
  return py::array_t<Element>(shape, data, base);
}

template <typename T>
ResultDict run_typed(const svsim::ProgramArrays& arrays, const svsim::RunOptions& options,
                     svsim::RunControl& control, const std::complex<double>* initial_state) {
  svsim::RunOutput<T> out;
  {
    py::gil_scoped_release release;
    out = svsim::run_program(svsim::decode_program<T>(arrays), options, control, initial_state);
  }
  ResultDict result;
  result["method"] = out.method;
  result["branches"] = out.branches;
  result["branching_fell_back"] = out.branching_fell_back;
  result["ops_run"] = out.ops_run;
  result["dense_by_targets"] = out.dense_by_targets;
  result["diagonals"] = out.diagonals;
  result["permutations"] = out.permutations;
  result["gate_sweeps"] = out.gate_sweeps;
  auto memory = std::make_shared<std::vector<std::uint64_t>>(std::move(out.memory));
  result["memory"] = zero_copy_array(
      memory, memory->data(),
      {static_cast<py::ssize_t>(options.shots), static_cast<py::ssize_t>(out.words_per_shot)});
  auto state_array = [](const std::shared_ptr<svsim::StateVector<T>>& state) {
    return zero_copy_array(state, state->data(), {static_cast<py::ssize_t>(state->size())});
  };
  result["state"] = state_array(out.final_state);
  py::list saves;
  for (auto& saved : out.saves) {
    switch (saved.kind) {
      case svsim::OpKind::SaveStatevector: saves.append(state_array(saved.state)); break;
      case svsim::OpKind::SaveProbabilities: {
        auto p = std::make_shared<std::vector<double>>(std::move(saved.probabilities));
        saves.append(zero_copy_array(p, p->data(), {static_cast<py::ssize_t>(p->size())}));
        break;
      }
      default: saves.append(saved.expectation); break;
    }
  }
  result["saves"] = saves;
  return result;
}

template <typename Element>
using CArray = py::array_t<Element, py::array::c_style | py::array::forcecast>;

ResultDict run(const CArray<std::int64_t>& ops, const CArray<std::int32_t>& qubits,
               const CArray<std::complex<double>>& values, unsigned num_qubits, unsigned num_clbits,
               std::uint64_t shots, std::uint64_t seed, const std::string& precision, int threads,
               std::uint64_t parallel_threshold, bool fusion, unsigned fusion_min_qubits,
               unsigned max_fused_qubits, bool allow_prefix_copy, svsim::RunControl& control,
               const std::optional<CArray<std::complex<double>>>& initial_state,
               bool shot_branching, std::uint64_t max_branch_states) {
  if (ops.ndim() != 2 || ops.shape(1) != svsim::field::count) {
    throw std::invalid_argument("ops must have shape (n, 8)");
  }
  if (initial_state && initial_state->size() != (py::ssize_t{1} << num_qubits)) {
    throw std::invalid_argument("initial state has the wrong length");
  }
  const svsim::ProgramArrays arrays{ops.data(),    static_cast<std::size_t>(ops.shape(0)),
                                    qubits.data(), static_cast<std::size_t>(qubits.size()),
                                    values.data(), static_cast<std::size_t>(values.size()),
                                    num_qubits,    num_clbits};
  svsim::RunOptions options;
  options.shots = shots;
  options.seed = seed;
  options.parallelism.threads = threads > 0 ? threads : svsim::hardware_threads();
  options.parallelism.min_items = parallel_threshold;
  options.allow_prefix_copy = allow_prefix_copy;
  options.shot_branching = shot_branching;
  options.max_branch_states = max_branch_states;
  options.fusion.enabled = fusion;
  options.fusion.min_qubits = fusion_min_qubits;
  if (max_fused_qubits < 1 || max_fused_qubits > 5) {
    throw std::invalid_argument("max_fused_qubits must be between 1 and 5");
  }
  options.fusion.max_dense_qubits = max_fused_qubits;
  const std::complex<double>* initial = initial_state ? initial_state->data() : nullptr;
  if (precision == "double") return run_typed<double>(arrays, options, control, initial);
  if (precision == "single") return run_typed<float>(arrays, options, control, initial);
  throw std::invalid_argument("precision must be 'single' or 'double', not '" + precision + "'");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "svsim's compiled statevector kernel";

  py::module_ exceptions = py::module_::import("svsim.exceptions");
  static py::exception<svsim::Cancelled> cancelled(m, "Cancelled", exceptions.attr("SvsimError"));
  static py::object simulator_error = exceptions.attr("SimulatorError");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const svsim::Cancelled& e) {
      py::set_error(cancelled, e.what());
    } catch (const std::bad_alloc&) {
      py::set_error(simulator_error,
                    "the kernel could not allocate memory for the statevector; use fewer qubits, "
                    "precision='single', or free memory");
    }
  });

  py::class_<svsim::RunControl>(m, "RunControl")
      .def(py::init<>())
      .def(
          "cancel", [](svsim::RunControl& c) { c.cancel_requested = true; },
          "Ask the run to stop before its next operation.")
      .def_property_readonly("cancel_requested",
                             [](const svsim::RunControl& c) { return c.cancel_requested.load(); })
      .def("progress", &svsim::RunControl::progress, "Fraction of the run's operations done.")
      .def(
          "count",
          [](svsim::RunControl& c, std::uint64_t done, std::uint64_t total) {
            c.ops_total = total;
            c.ops_done = done;
          },
          py::arg("done"), py::arg("total"),
          "Set the progress of a run driven from Python (the MPI engine).");
  svsim_bindings::bind_chunk(m);
  svsim_bindings::bind_encode(m);

  m.def("run", &run, py::arg("ops"), py::arg("qubits"), py::arg("values"), py::arg("num_qubits"),
        py::arg("num_clbits"), py::arg("shots"), py::arg("seed"), py::arg("precision"),
        py::arg("threads"), py::arg("parallel_threshold"), py::arg("fusion"),
        py::arg("fusion_min_qubits"), py::arg("max_fused_qubits"), py::arg("allow_prefix_copy"),
        py::arg("control"), py::arg("initial_state") = py::none(),
        py::arg("shot_branching") = false, py::arg("max_branch_states") = 64,
        "Run one encoded circuit; the GIL is released while the kernel works.  With\n"
        "shot_branching, mid-circuit measurements split the state (at most\n"
        "max_branch_states states at once) instead of running a trajectory per shot.");

  m.def("build_info", [] {
    ResultDict info;
    info["openmp"] = svsim::built_with_openmp();
    info["max_threads"] = svsim::hardware_threads();
    info["cpu_simd"] = svsim::cpu_simd_level();
    info["simd"] = svsim::isa_name(svsim::kernel_isa());
    return info;
  });
}
