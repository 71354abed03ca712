// The bindings of one MPI rank's chunk (svsim/chunk.h) and of the seeded
// generator that sampling shares across ranks; included by module.cpp, which
// calls bind_chunk.  Thin: argument checks, the GIL released around the loops.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <complex>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "svsim/chunk.h"
#include "svsim/program.h"
#include "svsim/random.h"
#include "svsim/runner.h"

namespace svsim_bindings {

namespace py = pybind11;

template <typename Element>
using InArray = py::array_t<Element, py::array::c_style | py::array::forcecast>;

// One rank's chunk in either precision.
class ChunkHandle {
 public:
  ChunkHandle(unsigned local_qubits, const std::string& precision, int threads,
              std::uint64_t parallel_threshold, bool holds_zero) {
    svsim::Parallelism par;
    par.threads = threads > 0 ? threads : svsim::hardware_threads();
    par.min_items = parallel_threshold;
    py::gil_scoped_release release;
    if (precision == "double") {
      d_ = std::make_unique<svsim::Chunk<double>>(local_qubits, par, holds_zero);
    } else if (precision == "single") {
      f_ = std::make_unique<svsim::Chunk<float>>(local_qubits, par, holds_zero);
    } else {
      throw std::invalid_argument("precision must be 'single' or 'double'");
    }
  }

  template <typename F>
  auto visit(F&& f) {
    return d_ ? f(*d_) : f(*f_);
  }

  py::array array() {
    return visit([](auto& chunk) -> py::array {
      using C = typename std::remove_reference_t<decltype(chunk)>::complex_t;
      auto state = chunk.state();
      auto* keep = new std::shared_ptr<svsim::StateVector<typename C::value_type>>(state);
      py::capsule base(keep, [](void* p) {
        delete static_cast<std::shared_ptr<svsim::StateVector<typename C::value_type>>*>(p);
      });
      return py::array_t<C>({static_cast<py::ssize_t>(state->size())}, state->data(), base);
    });
  }

  void apply(const InArray<std::int64_t>& ops, const InArray<std::int32_t>& qubits,
             const InArray<std::complex<double>>& values, bool fusion, unsigned fusion_min_qubits,
             unsigned max_fused_qubits, svsim::RunControl& control) {
    if (ops.ndim() != 2 || ops.shape(1) != svsim::field::count)
      throw std::invalid_argument("ops must have shape (n, 8)");
    visit([&](auto& chunk) {
      using T = typename std::remove_reference_t<decltype(chunk)>::complex_t::value_type;
      const svsim::ProgramArrays arrays{ops.data(),
                                        static_cast<std::size_t>(ops.shape(0)),
                                        qubits.data(),
                                        static_cast<std::size_t>(qubits.size()),
                                        values.data(),
                                        static_cast<std::size_t>(values.size()),
                                        chunk.state()->num_qubits(),
                                        0};
      svsim::RunOptions options;
      options.parallelism = chunk.parallelism();
      options.fusion.enabled = fusion;
      options.fusion.min_qubits = fusion_min_qubits;
      options.fusion.max_dense_qubits = max_fused_qubits;
      py::gil_scoped_release release;
      svsim::Program<T> program = svsim::decode_program<T>(arrays);
      for (const auto& op : program.ops)
        if (!op.is_gate() || op.is_conditional())
          throw std::invalid_argument("a chunk step takes unconditional gates only");
      // The step's progress is counted by the caller, per op it was given.
      const std::uint64_t done = control.ops_done.load();
      try {
        chunk.apply(std::move(program), options, control);
      } catch (...) {
        control.ops_done = done;
        throw;
      }
      control.ops_done = done;
    });
  }

  void pack(unsigned bit, int value, std::uint64_t first, std::uint64_t count, py::array out,
            bool unpack) {
    visit([&](auto& chunk) {
      using C = typename std::remove_reference_t<decltype(chunk)>::complex_t;
      if (bit >= chunk.state()->num_qubits() || first + count > chunk.state()->size() / 2)
        throw std::invalid_argument("pack: bit or range out of the chunk");
      if (!py::isinstance<py::array_t<C>>(out) || !(out.flags() & py::array::c_style) ||
          static_cast<std::uint64_t>(out.size()) < count)
        throw std::invalid_argument(
            "pack: the buffer must be a contiguous array of the chunk's "
            "dtype with room for count amplitudes");
      C* buffer = static_cast<C*>(out.mutable_data());
      py::gil_scoped_release release;
      if (unpack) {
        chunk.unpack(bit, value, first, count, buffer);
      } else {
        chunk.pack(bit, value, first, count, buffer);
      }
    });
  }

  double norm_squared() {
    return visit([](auto& c) {
      py::gil_scoped_release r;
      return c.norm_squared();
    });
  }
  double probability_of_one(unsigned q) {
    check_qubit(q);
    return visit([q](auto& c) {
      py::gil_scoped_release r;
      return c.probability_of_one(q);
    });
  }
  void collapse(unsigned q, int outcome, double probability) {
    check_qubit(q);
    visit([&](auto& c) {
      py::gil_scoped_release r;
      c.collapse(q, outcome, probability);
    });
  }
  void scale(double factor) {
    visit([&](auto& c) {
      py::gil_scoped_release r;
      c.scale(factor);
    });
  }
  py::array_t<double> probabilities(const std::vector<unsigned>& qubits) {
    for (unsigned q : qubits) check_qubit(q);
    std::vector<double> p = visit([&](auto& c) {
      py::gil_scoped_release r;
      return c.probabilities(qubits);
    });
    return py::array_t<double>(static_cast<py::ssize_t>(p.size()), p.data());
  }
  double expectation(const std::vector<unsigned>& qubits, const std::vector<int>& codes) {
    for (unsigned q : qubits) check_qubit(q);
    if (codes.size() != qubits.size()) throw std::invalid_argument("one code per qubit");
    return visit([&](auto& c) {
      py::gil_scoped_release r;
      return c.expectation(qubits, codes);
    });
  }
  py::array_t<double> block_sums(std::uint64_t block) {
    std::vector<double> s = visit([&](auto& c) {
      py::gil_scoped_release r;
      return c.block_sums(block);
    });
    return py::array_t<double>(static_cast<py::ssize_t>(s.size()), s.data());
  }
  std::int64_t last_with_weight(std::int64_t at) {
    return visit([&](auto& c) { return c.last_with_weight(at); });
  }
  std::int64_t first_with_weight(std::int64_t after) {
    return visit([&](auto& c) { return c.first_with_weight(after); });
  }
  py::array_t<std::int64_t> sweep(const InArray<double>& before_block, std::uint64_t block,
                                  std::uint64_t first_block, const InArray<double>& u) {
    std::vector<double> before(before_block.data(), before_block.data() + before_block.size());
    if (before.size() < 2) throw std::invalid_argument("sweep: no blocks");
    std::vector<std::int64_t> out = visit([&](auto& c) {
      py::gil_scoped_release r;
      return c.sweep(before, block, first_block, u.data(), static_cast<std::size_t>(u.size()));
    });
    return py::array_t<std::int64_t>(static_cast<py::ssize_t>(out.size()), out.data());
  }

 private:
  void check_qubit(unsigned q) {
    const unsigned n = visit([](auto& c) { return c.state()->num_qubits(); });
    if (q >= n) throw std::invalid_argument("qubit out of the chunk");
  }
  std::unique_ptr<svsim::Chunk<double>> d_;
  std::unique_ptr<svsim::Chunk<float>> f_;
};

inline void bind_chunk(py::module_& m) {
  py::class_<svsim::Random>(m, "Random")
      .def(py::init<std::uint64_t>(), py::arg("seed"))
      .def("uniform", &svsim::Random::uniform, "Uniform in [0, 1), as the kernel draws it.")
      .def(
          "sorted_exponentials",
          [](svsim::Random& rng, std::uint64_t shots) {
            py::array_t<double> targets(static_cast<py::ssize_t>(shots));
            const double divisor = svsim::sorted_exponentials(rng, shots, targets.mutable_data());
            return py::make_tuple(targets, divisor);
          },
          py::arg("shots"), "Sampling's sorted uniforms before scaling, and their divisor.")
      .def(
          "shuffle",
          [](svsim::Random& rng, py::array_t<std::uint64_t, py::array::c_style> samples) {
            svsim::shuffle_samples(rng, samples.mutable_data(),
                                   static_cast<std::uint64_t>(samples.size()));
          },
          py::arg("samples"), "Sampling's final shuffle, in place.");

  py::class_<ChunkHandle>(m, "Chunk")
      .def(py::init<unsigned, const std::string&, int, std::uint64_t, bool>(),
           py::arg("local_qubits"), py::arg("precision"), py::arg("threads"),
           py::arg("parallel_threshold"), py::arg("holds_zero"))
      .def("array", &ChunkHandle::array, "The chunk's amplitudes as numpy (no copy).")
      .def("apply", &ChunkHandle::apply, py::arg("ops"), py::arg("qubits"), py::arg("values"),
           py::arg("fusion"), py::arg("fusion_min_qubits"), py::arg("max_fused_qubits"),
           py::arg("control"))
      .def("pack", &ChunkHandle::pack, py::arg("bit"), py::arg("value"), py::arg("first"),
           py::arg("count"), py::arg("buffer"), py::arg("unpack") = false)
      .def("norm_squared", &ChunkHandle::norm_squared)
      .def("probability_of_one", &ChunkHandle::probability_of_one)
      .def("collapse", &ChunkHandle::collapse)
      .def("scale", &ChunkHandle::scale)
      .def("probabilities", &ChunkHandle::probabilities)
      .def("expectation", &ChunkHandle::expectation)
      .def("block_sums", &ChunkHandle::block_sums)
      .def("last_with_weight", &ChunkHandle::last_with_weight)
      .def("first_with_weight", &ChunkHandle::first_with_weight)
      .def("sweep", &ChunkHandle::sweep);
}

}  // namespace svsim_bindings
