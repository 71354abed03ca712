// Gate fusion: before a run, runs of gates on few qubits become one gate, so
// the state is swept once per fused gate instead of once per gate.
//
// Gates on disjoint qubits commute, so a block may take a later gate as long
// as no gate it would jump over shares a qubit with it.  A block grows to at
// most `max_dense_qubits` qubits (or `max_diagonal_qubits` while every gate in
// it is diagonal) and is kept only when the cost model says one sweep of the
// fused gate is cheaper than the sweeps of its gates.
#pragma once

#include <algorithm>
#include <complex>
#include <cstdint>
#include <vector>

#include "kernels.h"
#include "program.h"
#include "simd.h"
#include "state.h"

namespace svsim {

struct FusionOptions {
  bool enabled = true;
  unsigned min_qubits = 14;  // smaller states run faster without the fusing work
  unsigned max_dense_qubits = 4;
  unsigned max_diagonal_qubits = 10;
  std::size_t lookahead = 256;  // gates scanned past the first one of a block
};

namespace fusion_detail {

template <typename T>
std::uint64_t qubit_mask(const Op<T>& op) {
  std::uint64_t mask = 0;
  for (unsigned q : op.targets) mask |= std::uint64_t{1} << q;
  for (unsigned q : op.controls) mask |= std::uint64_t{1} << q;
  return mask;
}

// Relative time of one gate, in sweeps of a one-qubit dense gate, from
// measurements of the kernels at 24 qubits (bench/RESULTS.md).
template <typename T>
double sweep_cost(const Op<T>& op) {
  static constexpr double dense[] = {0.7, 1.0, 1.2, 1.7, 2.5, 5.0};
  double cost;
  switch (op.kind) {
    case OpKind::Dense:
      cost = op.targets.size() < 6 ? dense[op.targets.size()] : 1e9;
      break;
    case OpKind::Diagonal: cost = 0.7; break;
    default: cost = 0.6; break;
  }
  return op.controls.empty() ? cost : 0.6 * cost;
}

inline double fused_cost(bool diagonal, unsigned k) {
  static constexpr double dense[] = {0.7, 1.0, 1.2, 1.7, 2.5, 5.0};
  if (diagonal) return 0.7;
  return k < 6 ? dense[k] : 1e9;
}

inline std::vector<unsigned> mask_to_qubits(std::uint64_t mask) {
  std::vector<unsigned> qubits;
  for (unsigned q = 0; mask; ++q, mask >>= 1) {
    if (mask & 1) qubits.push_back(q);
  }
  return qubits;
}

inline unsigned local_position(const std::vector<unsigned>& qubits, unsigned q) {
  return static_cast<unsigned>(std::lower_bound(qubits.begin(), qubits.end(), q) - qubits.begin());
}

// The diagonal of a block of diagonal gates, on `qubits` (bit j = qubits[j]).
template <typename T>
std::vector<std::complex<T>> fused_diagonal(const std::vector<const Op<T>*>& gates,
                                            const std::vector<unsigned>& qubits) {
  std::vector<std::complex<double>> diag(std::size_t{1} << qubits.size(), 1.0);
  for (const Op<T>* gate : gates) {
    std::uint64_t control_mask = 0;
    for (unsigned c : gate->controls) control_mask |= std::uint64_t{1} << local_position(qubits, c);
    std::vector<unsigned> local_targets;
    for (unsigned t : gate->targets) local_targets.push_back(local_position(qubits, t));
    for (std::size_t m = 0; m < diag.size(); ++m) {
      if ((m & control_mask) != control_mask) continue;
      std::size_t index = 0;
      for (std::size_t j = 0; j < local_targets.size(); ++j) index |= ((m >> local_targets[j]) & 1) << j;
      const std::complex<T> d = gate->values[index];
      diag[m] *= std::complex<double>(d.real(), d.imag());
    }
  }
  return {diag.begin(), diag.end()};
}

// The matrix of a block: the gates applied to the columns of the identity,
// held as a 2k-qubit state whose low k bits are the row and high k the column.
template <typename T>
std::vector<std::complex<T>> fused_matrix(const std::vector<const Op<T>*>& gates,
                                          const std::vector<unsigned>& qubits) {
  const unsigned k = static_cast<unsigned>(qubits.size());
  const std::size_t dim = std::size_t{1} << k;
  const Parallelism serial{1, 0};
  StateVector<double> columns(2 * k, serial);
  columns[0] = 0.0;
  for (std::size_t c = 0; c < dim; ++c) columns[c * dim + c] = 1.0;
  auto local = [&](const std::vector<unsigned>& global) {
    std::vector<unsigned> out;
    for (unsigned q : global) out.push_back(local_position(qubits, q));
    return out;
  };
  for (const Op<T>* gate : gates) {
    const std::vector<unsigned> targets = local(gate->targets), controls = local(gate->controls);
    const std::vector<std::complex<double>> values(gate->values.begin(), gate->values.end());
    switch (gate->kind) {
      case OpKind::Dense: apply_dense(columns, targets, controls, values.data(), serial); break;
      case OpKind::Diagonal: apply_diagonal(columns, targets, controls, values.data(), serial); break;
      case OpKind::Flip: apply_flip(columns, targets[0], controls, serial); break;
      case OpKind::Swap: apply_swap(columns, targets[0], targets[1], controls, serial); break;
      default: break;
    }
  }
  std::vector<std::complex<T>> matrix(dim * dim);
  for (std::size_t r = 0; r < dim; ++r) {
    for (std::size_t c = 0; c < dim; ++c) {
      const std::complex<double> v = columns[c * dim + r];
      matrix[r * dim + c] = std::complex<T>(static_cast<T>(v.real()), static_cast<T>(v.imag()));
    }
  }
  return matrix;
}

template <typename T>
void fuse_segment(const std::vector<Op<T>>& ops, std::size_t begin, std::size_t end,
                  const FusionOptions& options, std::vector<Op<T>>& out) {
  std::vector<std::size_t> remaining;
  for (std::size_t i = begin; i < end; ++i) remaining.push_back(i);
  std::vector<bool> taken(ops.size(), false);
  std::size_t first = 0;
  while (first < remaining.size()) {
    const Op<T>& head = ops[remaining[first]];
    std::vector<const Op<T>*> block{&head};
    std::vector<std::size_t> block_indices{remaining[first]};
    std::uint64_t block_mask = qubit_mask(head), blocked = 0;
    bool diagonal = head.kind == OpKind::Diagonal;
    const std::size_t last = std::min(remaining.size(), first + 1 + options.lookahead);
    for (std::size_t r = first + 1; r < last; ++r) {
      const std::size_t i = remaining[r];
      if (taken[i]) continue;
      const std::uint64_t mask = qubit_mask(ops[i]);
      if (mask & blocked) {
        blocked |= mask;
        continue;
      }
      const bool still_diagonal = diagonal && ops[i].kind == OpKind::Diagonal;
      const unsigned limit = still_diagonal ? options.max_diagonal_qubits : options.max_dense_qubits;
      if (static_cast<unsigned>(__builtin_popcountll(block_mask | mask)) <= limit) {
        block.push_back(&ops[i]);
        block_indices.push_back(i);
        block_mask |= mask;
        diagonal = still_diagonal;
      } else {
        blocked |= mask;
      }
    }
    double separate = 0.0;
    for (const Op<T>* gate : block) separate += sweep_cost(*gate);
    const std::vector<unsigned> qubits = mask_to_qubits(block_mask);
    const unsigned k = static_cast<unsigned>(qubits.size());
    if (block.size() > 1 && fused_cost(diagonal, k) < separate) {
      Op<T> fused;
      fused.kind = diagonal ? OpKind::Diagonal : OpKind::Dense;
      fused.targets = qubits;
      fused.values = diagonal ? fused_diagonal(block, qubits) : fused_matrix(block, qubits);
      out.push_back(std::move(fused));
      for (std::size_t i : block_indices) taken[i] = true;
    } else {
      // Not worth fusing: emit the head alone and try again from the next gate.
      out.push_back(head);
      taken[remaining[first]] = true;
    }
    while (first < remaining.size() && taken[remaining[first]]) ++first;
  }
}

}  // namespace fusion_detail

// The program with its gates fused; measurements, resets, saves and
// conditional gates stay where they are and no gate moves across them.
template <typename T>
Program<T> fuse_program(const Program<T>& program, const FusionOptions& options) {
  if (!options.enabled || program.num_qubits < options.min_qubits || program.num_qubits > 64) {
    return program;
  }
  Program<T> fused = program;
  fused.ops.clear();
  std::size_t segment = 0;
  for (std::size_t i = 0; i <= program.ops.size(); ++i) {
    const bool boundary = i == program.ops.size() || !program.ops[i].is_gate() ||
                          program.ops[i].is_conditional();
    if (!boundary) continue;
    fusion_detail::fuse_segment(program.ops, segment, i, options, fused.ops);
    if (i < program.ops.size()) fused.ops.push_back(program.ops[i]);
    segment = i + 1;
  }
  return fused;
}

}  // namespace svsim
