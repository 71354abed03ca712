// The op list of one circuit, decoded from the flat arrays that Python builds
// (layout documented in python/svsim/_ops.py; the numbers below mirror it).
#pragma once

#include <complex>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels.h"

namespace svsim {

enum class OpKind : std::int64_t {
  Dense = 0,
  Diagonal = 1,
  Flip = 2,
  Swap = 3,
  Measure = 4,
  Reset = 5,
  SaveStatevector = 6,
  SaveProbabilities = 7,
  SaveExpectation = 8,
  // Made by fusion, never decoded: swaps of disjoint qubit pairs, with
  // targets a0, b0, a1, b1, ..., applied in one sweep.
  Swaps = 9,
};

namespace field {
constexpr int kind = 0, num_targets = 1, num_controls = 2, qubit_offset = 3, value_offset = 4,
              slot = 5, cond_bits = 6, cond_value = 7, count = 8;
}

template <typename T>
struct Op {
  OpKind kind;
  std::vector<unsigned> targets;
  std::vector<unsigned> controls;
  std::vector<unsigned> cond_clbits;
  std::uint64_t cond_value = 0;
  std::int64_t slot = 0;
  std::vector<std::complex<T>> values;
  // The values as given, before rounding to T, in single precision only: fusion
  // multiplies these, so a fused gate is rounded to float once rather than each
  // of its gates (an 18-qubit QFT drifted 1.7e-6 from norm 1 before).
  std::vector<std::complex<double>> exact_values;
  // Fused diagonals only: gates on qubits above kDiagonalBlockBits, applied
  // once per block of amplitudes.
  std::vector<DiagonalFactor<T>> block_factors;

  bool is_gate() const { return kind <= OpKind::Swap || kind == OpKind::Swaps; }
  bool is_save() const {
    return kind >= OpKind::SaveStatevector && kind <= OpKind::SaveExpectation;
  }
  bool is_conditional() const { return !cond_clbits.empty(); }
};

template <typename T>
struct Program {
  unsigned num_qubits = 0;
  unsigned num_clbits = 0;
  std::size_t num_saves = 0;
  std::vector<Op<T>> ops;
};

struct ProgramArrays {
  const std::int64_t* ops;
  std::size_t num_ops;
  const std::int32_t* qubits;
  std::size_t num_qubit_entries;
  const std::complex<double>* values;
  std::size_t num_values;
  unsigned num_qubits;
  unsigned num_clbits;
};

inline std::size_t values_needed(OpKind kind, std::size_t k) {
  switch (kind) {
    case OpKind::Dense: return std::size_t{1} << (2 * k);
    case OpKind::Diagonal: return std::size_t{1} << k;
    case OpKind::SaveExpectation: return k;
    default: return 0;
  }
}

// Checks every index before anything runs, so a malformed op list is an error
// and never an out-of-bounds access.
template <typename T>
Program<T> decode_program(const ProgramArrays& in) {
  auto fail = [](std::size_t row, const std::string& why) {
    throw std::invalid_argument("op " + std::to_string(row) + ": " + why);
  };
  Program<T> program;
  program.num_qubits = in.num_qubits;
  program.num_clbits = in.num_clbits;
  program.ops.reserve(in.num_ops);
  for (std::size_t row = 0; row < in.num_ops; ++row) {
    const std::int64_t* f = in.ops + row * field::count;
    if (f[field::kind] < 0 || f[field::kind] > static_cast<std::int64_t>(OpKind::SaveExpectation)) {
      fail(row, "unknown kind " + std::to_string(f[field::kind]));
    }
    Op<T> op;
    op.kind = static_cast<OpKind>(f[field::kind]);
    const std::int64_t nt = f[field::num_targets], nc = f[field::num_controls],
                       nb = f[field::cond_bits], qo = f[field::qubit_offset],
                       vo = f[field::value_offset];
    if (nt < 0 || nc < 0 || nb < 0 || nt > 30 || qo < 0 || vo < 0 ||
        static_cast<std::size_t>(qo + nt + nc + nb) > in.num_qubit_entries) {
      fail(row, "qubit list out of bounds");
    }
    const std::int32_t* q = in.qubits + qo;
    std::uint64_t used = 0;
    for (std::int64_t j = 0; j < nt + nc; ++j) {
      if (q[j] < 0 || static_cast<unsigned>(q[j]) >= in.num_qubits) fail(row, "qubit out of range");
      if (used >> q[j] & 1) fail(row, "qubit repeated");
      used |= std::uint64_t{1} << q[j];
    }
    for (std::int64_t j = 0; j < nb; ++j) {
      const std::int32_t c = q[nt + nc + j];
      if (c < 0 || static_cast<unsigned>(c) >= in.num_clbits) fail(row, "clbit out of range");
    }
    // Each list filled at once, one allocation each: this decode runs on every
    // run, and growing them element by element was most of a small circuit's
    // kernel call (100 gates on 4 qubits: 1,800 instructions per op).
    op.targets.assign(q, q + nt);
    op.controls.assign(q + nt, q + nt + nc);
    op.cond_clbits.assign(q + nt + nc, q + nt + nc + nb);
    op.cond_value = static_cast<std::uint64_t>(f[field::cond_value]);
    op.slot = f[field::slot];
    const std::size_t nv = values_needed(op.kind, static_cast<std::size_t>(nt));
    if (static_cast<std::size_t>(vo) + nv > in.num_values) fail(row, "values out of bounds");
    op.values.assign(in.values + vo, in.values + vo + nv);
    if constexpr (!std::is_same_v<T, double>)
      op.exact_values.assign(in.values + vo, in.values + vo + nv);

    const bool one_target = nt == 1;
    switch (op.kind) {
      case OpKind::Flip:
        if (!one_target) fail(row, "flip takes one target");
        break;
      case OpKind::Swap:
        if (nt != 2) fail(row, "swap takes two targets");
        break;
      case OpKind::Measure:
        if (!one_target || nc != 0) fail(row, "measure takes one qubit");
        if (op.slot < 0 || op.slot >= static_cast<std::int64_t>(in.num_clbits)) {
          fail(row, "measure clbit out of range");
        }
        break;
      case OpKind::Reset:
        if (!one_target || nc != 0) fail(row, "reset takes one qubit");
        break;
      case OpKind::Dense:
        if (nt < 1) fail(row, "dense gate without target");
        break;
      default: break;
    }
    if (op.is_save()) {
      if (nb != 0 || nc != 0) fail(row, "save instructions take no condition or control");
      if (op.slot != static_cast<std::int64_t>(program.num_saves))
        fail(row, "save slots out of order");
      ++program.num_saves;
    }
    program.ops.push_back(std::move(op));
  }
  return program;
}

}  // namespace svsim
