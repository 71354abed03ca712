// Run-time choice of instruction set for the compute-bound kernels.  The
// package is built for the baseline CPU; the kernels of dense_tiled.h are
// compiled again for AVX2 and AVX-512 and picked when the CPU has them, so one
// wheel is fast on new CPUs and still runs on old ones.
#pragma once

#include <algorithm>
#include <complex>
#include <string>

#include "kernels.h"
#include "parallel.h"

namespace svsim {

#if defined(__x86_64__) && defined(__GNUC__)
#define SVSIM_X86_DISPATCH 1
#endif

namespace isa_baseline {
#include "dense_tiled.h"
}  // namespace isa_baseline

#ifdef SVSIM_X86_DISPATCH
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace isa_avx2 {
#include "dense_tiled.h"
}  // namespace isa_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
namespace isa_avx512 {
#include "dense_tiled.h"
}  // namespace isa_avx512
#pragma GCC pop_options
#endif

enum class Isa { baseline, avx2, avx512 };

inline Isa detect_isa() {
#ifdef SVSIM_X86_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    return Isa::avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::baseline;
}

inline Isa kernel_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

inline std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "none";
  }
}

// The dense kernel for 2 to 5 targets on the best instruction set; false for other sizes.
template <typename T>
bool apply_dense_vectorised(StateView<T> psi, const std::vector<unsigned>& targets,
                            const std::vector<unsigned>& controls, const std::complex<T>* m,
                            const Parallelism& par) {
  const IndexExpander expand(concat(targets, controls), controls);
  const std::vector<index_t> offsets = target_offsets(targets);
  const index_t outer = outer_count(psi.num_qubits(), expand);
  const unsigned k = static_cast<unsigned>(targets.size());
  switch (kernel_isa()) {
#ifdef SVSIM_X86_DISPATCH
    case Isa::avx512:
      return isa_avx512::dense_tiled_dispatch(psi.data(), k, outer, expand, offsets.data(), m, par);
    case Isa::avx2:
      return isa_avx2::dense_tiled_dispatch(psi.data(), k, outer, expand, offsets.data(), m, par);
#endif
    default:
      return isa_baseline::dense_tiled_dispatch(psi.data(), k, outer, expand, offsets.data(), m, par);
  }
}

#ifdef SVSIM_X86_DISPATCH
#define SVSIM_DISPATCH(function, ...)                                              \
  switch (kernel_isa()) {                                                          \
    case Isa::avx512: return isa_avx512::function(__VA_ARGS__);                    \
    case Isa::avx2: return isa_avx2::function(__VA_ARGS__);                        \
    default: return isa_baseline::function(__VA_ARGS__);                           \
  }
#else
#define SVSIM_DISPATCH(function, ...) return isa_baseline::function(__VA_ARGS__);
#endif

// A diagonal on k targets (k may be 0: a phase on every controlled amplitude).
template <typename T>
void apply_diagonal(StateView<T> psi, const std::vector<unsigned>& targets,
                    const std::vector<unsigned>& controls, const std::complex<T>* d,
                    const Parallelism& par) {
  if (controls.empty() && targets.size() == 1 && psi.size() >= 8) {
    SVSIM_DISPATCH(diagonal_1q, psi.data(), psi.size(), targets[0], d, par)
  }
  if (controls.empty() && targets.size() >= 2) {
    SVSIM_DISPATCH(wide_diagonal, psi.data(), psi.num_qubits(), targets, d, par)
  }
  apply_diagonal_generic(psi, targets, controls, d, par);
}

// A dense 2^k x 2^k matrix (Qiskit order: target j is bit j of the row index)
// on k targets, where every control is 1.
template <typename T>
void apply_dense(StateView<T> psi, const std::vector<unsigned>& targets,
                 const std::vector<unsigned>& controls, const std::complex<T>* m,
                 const Parallelism& par) {
  if (targets.size() == 1) {
    if (controls.empty() && psi.size() >= 8) {
      SVSIM_DISPATCH(dense_1q, psi.data(), psi.size(), targets[0], m, par)
    }
  }
  if (!apply_dense_vectorised(psi, targets, controls, m, par)) {
    apply_dense_any(psi, targets, controls, m, par);
  }
}

}  // namespace svsim
