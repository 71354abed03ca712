// Run-time choice of instruction set for the compute-bound kernels.  The
// package is built for the baseline CPU; the kernels of dense_tiled.h are
// compiled again for AVX2 and AVX-512 and picked when the CPU has them, so one
// wheel is fast on new CPUs and still runs on old ones.
#pragma once

#include <algorithm>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels.h"
#include "parallel.h"

namespace svsim {

#if defined(__x86_64__) && defined(__GNUC__)
#define SVSIM_X86_DISPATCH 1
#endif

// wide_diagonal's blocks: 2^12 amplitudes share the bits above these.
constexpr unsigned kDiagonalBlockBits = 12;

// Each instruction set's kernels know the size and number of its vector registers.
namespace isa_baseline {
constexpr unsigned kVectorBytes = 16, kVectorRegisters = 16;
#include "dense_tiled.h"
}  // namespace isa_baseline

#ifdef SVSIM_X86_DISPATCH
// GCC compiles a region for a target with push_options; Clang ignores those
// pragmas (and would build these kernels for the baseline CPU) and takes the
// target as an attribute on every function of the region instead.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace isa_avx2 {
constexpr unsigned kVectorBytes = 32, kVectorRegisters = 16;
#include "dense_tiled.h"
}  // namespace isa_avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#endif
namespace isa_avx512 {
constexpr unsigned kVectorBytes = 64, kVectorRegisters = 32;
#include "dense_tiled.h"
}  // namespace isa_avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
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

// The CPU's instruction set, or a narrower one named by SVSIM_ISA ("avx2" or
// "none"), so that every compiled path can be tested and timed on one machine.
inline Isa chosen_isa() {
  const Isa best = detect_isa();
  const char* name = std::getenv("SVSIM_ISA");
  if (name == nullptr) return best;
  const std::string wanted(name);
  if (wanted == "none") return Isa::baseline;
  if (wanted == "avx2" && best == Isa::avx512) return Isa::avx2;
  return best;
}

inline Isa kernel_isa() {
  static const Isa isa = chosen_isa();
  return isa;
}

inline std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "none";
  }
}

// Amplitudes in one vector register of the chosen instruction set.
template <typename T>
unsigned vector_lanes() {
  switch (kernel_isa()) {
#ifdef SVSIM_X86_DISPATCH
    case Isa::avx512: return isa_avx512::lanes_per_vector<T>();
    case Isa::avx2: return isa_avx2::lanes_per_vector<T>();
#endif
    default: return isa_baseline::lanes_per_vector<T>();
  }
}

// The amplitude that lane p of a split tile holds (VectorLanes::split) on the chosen instruction
// set.
template <typename T>
unsigned amplitude_in_lane(unsigned p) {
  switch (kernel_isa()) {
#ifdef SVSIM_X86_DISPATCH
    case Isa::avx512: return isa_avx512::VectorLanes<T>::amplitude_in_lane(p);
    case Isa::avx2: return isa_avx2::VectorLanes<T>::amplitude_in_lane(p);
#endif
    default: return isa_baseline::VectorLanes<T>::amplitude_in_lane(p);
  }
}

// Targets inside one vector register of amplitudes (below lane_bits) are
// handled by permuting lanes in registers (dense_low_tiles); this prepares its
// coefficients and runs it.  False when it does not apply: no low target, a
// control among the low bits, or more than 5 targets.
template <typename T>
bool apply_dense_low_targets(StateView<T> psi, const std::vector<unsigned>& targets,
                             const std::vector<unsigned>& controls, const std::complex<T>* m,
                             const Parallelism& par) {
  const unsigned B = vector_lanes<T>();
  const unsigned lane_bits = __builtin_ctz(B);
  const unsigned k = static_cast<unsigned>(targets.size());
  if (k > 5 || psi.num_qubits() < lane_bits + 1) return false;
  for (unsigned c : controls)
    if (c < lane_bits) return false;
  std::vector<unsigned> high_targets;
  unsigned low_mask = 0;
  for (unsigned t : targets) {
    if (t < lane_bits) {
      low_mask |= 1u << t;
    } else {
      high_targets.push_back(t);
    }
  }
  // Without a low target the contiguous tiles of dense_tiled, as narrow as
  // one vector, are faster (measured on AVX2, 20 qubits, single, one thread:
  // targets 3, 10 and 15 took 1.48 ms in tiles of 8 against 1.7 here).
  if (low_mask == 0) return false;
  const unsigned kh = static_cast<unsigned>(high_targets.size());
  const unsigned kl = k - kh;
  const index_t KH = index_t{1} << kh, KL = index_t{1} << kl, K = index_t{1} << k;
  // A split tile's lanes hold its amplitudes in an order of their own, a
  // permutation of the lane bits: the kernel works on the lane bits that hold
  // the low targets' bits.
  unsigned lane_mask = 0;
  for (unsigned bit = 0; bit < lane_bits; ++bit) {
    if (low_mask & amplitude_in_lane<T>(1u << bit)) lane_mask |= 1u << bit;
  }
  // Row or column of the matrix for lane j of the tile at high offset h:
  // bit i is target i's bit, from the lane's amplitude for a low target, else from h.
  auto matrix_index = [&](unsigned j, index_t h) {
    const unsigned amplitude = amplitude_in_lane<T>(j);
    index_t index = 0;
    unsigned high = 0;
    for (unsigned i = 0; i < k; ++i) {
      const index_t bit =
          targets[i] < lane_bits ? (amplitude >> targets[i]) & 1 : (h >> high++) & 1;
      index |= bit << i;
    }
    return index;
  };
  // Bit m of d flips the m-th lowest bit of lane_mask.
  auto lane_flip = [&](index_t d) {
    unsigned flip = 0, m = 0;
    for (unsigned bit = 0; bit < lane_bits; ++bit) {
      if ((lane_mask >> bit) & 1) flip |= static_cast<unsigned>((d >> m++) & 1) << bit;
    }
    return flip;
  };
  std::vector<T> storage(3 * B * KH * KH * KL + 64 / sizeof(T));
  T* coef = storage.data();
  while (reinterpret_cast<std::uintptr_t>(coef) % 64) ++coef;
  for (index_t r = 0; r < KH; ++r) {
    for (index_t h = 0; h < KH; ++h) {
      for (index_t d = 0; d < KL; ++d) {
        T* c = coef + 3 * B * ((r * KH + h) * KL + d);
        const unsigned flip = lane_flip(d);
        for (unsigned j = 0; j < B; ++j) {
          const std::complex<T> e = m[matrix_index(j, r) * K + matrix_index(j ^ flip, h)];
          c[j] = e.real();
          c[B + j] = e.real() + e.imag();
          c[2 * B + j] = e.imag() - e.real();
        }
      }
    }
  }
  const IndexExpander expand(concat(high_targets, controls), controls);
  const std::vector<index_t> high_offsets = target_offsets(high_targets);
  const index_t groups = outer_count(psi.num_qubits(), expand) / B;
  switch (kernel_isa()) {
#ifdef SVSIM_X86_DISPATCH
    case Isa::avx512:
      return isa_avx512::dense_low_dispatch(psi.data(), k, lane_mask, groups, expand,
                                            high_offsets.data(), coef, par);
    case Isa::avx2:
      return isa_avx2::dense_low_dispatch(psi.data(), k, lane_mask, groups, expand,
                                          high_offsets.data(), coef, par);
#endif
    default:
      return isa_baseline::dense_low_dispatch(psi.data(), k, lane_mask, groups, expand,
                                              high_offsets.data(), coef, par);
  }
}

// The dense kernel for 2 to 5 targets on the best instruction set; false for other sizes.
template <typename T>
bool apply_dense_vectorised(StateView<T> psi, const std::vector<unsigned>& targets,
                            const std::vector<unsigned>& controls, const std::complex<T>* m,
                            const Parallelism& par) {
  if (apply_dense_low_targets(psi, targets, controls, m, par)) return true;
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
      return isa_baseline::dense_tiled_dispatch(psi.data(), k, outer, expand, offsets.data(), m,
                                                par);
  }
}

#ifdef SVSIM_X86_DISPATCH
#define SVSIM_DISPATCH(function, ...)                           \
  switch (kernel_isa()) {                                       \
    case Isa::avx512: return isa_avx512::function(__VA_ARGS__); \
    case Isa::avx2: return isa_avx2::function(__VA_ARGS__);     \
    default: return isa_baseline::function(__VA_ARGS__);        \
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
    SVSIM_DISPATCH(wide_diagonal, psi.data(), psi.num_qubits(), targets, d,
                   static_cast<const std::complex<T>*>(nullptr), par)
  }
  if (highest_bit(targets, controls) < kLowChunkBits && psi.size() >= 8) {
    // A controlled diagonal on low qubits (cz(0, 1), cp(3, 4)): every chunk of
    // 2^(highest + 1) amplitudes takes the same factors.  Its generic walk
    // visited runs of 1 to 32 amplitudes one at a time.
    std::array<std::complex<T>, index_t{1} << kLowChunkBits> f;
    const index_t period = low_diagonal_period(targets, controls, d, f);
    SVSIM_DISPATCH(periodic_diagonal, psi.data(), psi.size(), period, f.data(), par)
  }
  if (!controls.empty() && highest_bit(targets, controls) >= kLowChunkBits) {
    // Any other controlled diagonal (cz(12, 13), cp(0, 23)), unless it has many targets.
    unsigned high_targets = 0;
    for (unsigned t : targets) high_targets += t >= kLowChunkBits;
    if (high_targets <= kMaxHighDiagonalTargets) {
      SVSIM_DISPATCH(controlled_diagonal, psi.data(), psi.num_qubits(), targets, controls, d, par)
    }
  }
  apply_diagonal_generic(psi, targets, controls, d, par);
}

// A fused diagonal: the table d on `targets` times, for each block of
// 2^kDiagonalBlockBits amplitudes, the factors on qubits above the block.
template <typename T>
void apply_diagonal(StateView<T> psi, const std::vector<unsigned>& targets,
                    const std::complex<T>* d, const std::vector<DiagonalFactor<T>>& factors,
                    const Parallelism& par) {
  if (factors.empty()) return apply_diagonal(psi, targets, {}, d, par);
  const std::vector<std::complex<T>> per_block =
      block_factors(psi.num_qubits(), kDiagonalBlockBits, factors);
  SVSIM_DISPATCH(wide_diagonal, psi.data(), psi.num_qubits(), targets, d, per_block.data(), par)
}

// Exchanges the amplitudes at offset_a and offset_b from every base whose
// targets are 0 and whose controls are 1: X and SWAP, with any controls.
template <typename T>
void swap_amplitudes(StateView<T> psi, const std::vector<unsigned>& targets,
                     const std::vector<unsigned>& controls, index_t offset_a, index_t offset_b,
                     const Parallelism& par) {
  const unsigned lowest = lowest_bit(targets, controls);
  const unsigned chunk_bits = std::min(kLowChunkBits, psi.num_qubits());
  if (lowest >= chunk_bits) {
    const IndexExpander expand(concat(targets, controls), controls);
    SVSIM_DISPATCH(exchange_long_runs, psi.data(), psi.num_qubits(), expand, lowest, offset_a,
                   offset_b, par)
  }
  // Runs of 2^lowest amplitudes, too short to walk one by one: the qubits
  // below chunk_bits fix which runs of a chunk take part, the others which chunks.
  std::vector<unsigned> high_fixed, high_controls;
  index_t low_mask = 0, low_value = 0;
  for (unsigned q : concat(targets, controls)) {
    if (q >= chunk_bits) high_fixed.push_back(q);
    if (q < chunk_bits) low_mask |= index_t{1} << q;
  }
  for (unsigned c : controls) {
    if (c >= chunk_bits) high_controls.push_back(c);
    if (c < chunk_bits) low_value |= index_t{1} << c;
  }
  const IndexExpander chunks(high_fixed, high_controls);
  std::vector<std::pair<index_t, index_t>> pairs;
  for (index_t j = 0; j < (index_t{1} << chunk_bits); j += index_t{1} << lowest) {
    if ((j & low_mask) == low_value) pairs.emplace_back(j + offset_a, j + offset_b);
  }
  const index_t count = outer_count(psi.num_qubits() - chunk_bits, chunks);
  SVSIM_DISPATCH(exchange_runs_dispatch, psi.data(), lowest, count, chunks, chunk_bits, pairs, par)
}

// X on one target where every control is 1: a swap of amplitude pairs.
template <typename T>
void apply_flip(StateView<T> psi, unsigned target, const std::vector<unsigned>& controls,
                const Parallelism& par) {
  swap_amplitudes(psi, {target}, controls, 0, index_t{1} << target, par);
}

// Exchange of two qubits where every control is 1.
template <typename T>
void apply_swap(StateView<T> psi, unsigned a, unsigned b, const std::vector<unsigned>& controls,
                const Parallelism& par) {
  swap_amplitudes(psi, {a, b}, controls, index_t{1} << a, index_t{1} << b, par);
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
