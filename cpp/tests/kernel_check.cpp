// A check of the kernel without Python: random circuits of dense, diagonal,
// flip and swap gates (with controls) run through svsim's runner, with and
// without fusion, in single and double precision, on one thread and on
// several, and compared with a plain loop over the state.  It exists for
// machines where svsim's Python package cannot run, above all aarch64 under
// qemu-user (tools/cross_check.sh), where no aarch64 Python is at hand, so it
// needs nothing but the kernel headers and the C++ standard library.
// Exit status 0 when every case matches, 1 otherwise.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "svsim/build_info.h"
#include "svsim/program.h"
#include "svsim/runner.h"

namespace {

using cd = std::complex<double>;
using svsim::index_t;
using svsim::OpKind;

struct Gate {
  OpKind kind;
  std::vector<unsigned> targets, controls;
  std::vector<cd> values;
};

// A random unitary of size 2^k: Gram-Schmidt on random complex columns.  The
// kernel would apply any matrix, but single precision is compared with a
// relative tolerance only while the norm stays 1.
std::vector<cd> random_unitary(unsigned k, std::mt19937_64& rng) {
  const std::size_t K = std::size_t{1} << k;
  std::normal_distribution<double> normal;
  std::vector<cd> m(K * K);
  for (auto& x : m) x = {normal(rng), normal(rng)};
  for (std::size_t c = 0; c < K; ++c) {
    for (std::size_t p = 0; p < c; ++p) {
      cd dot = 0;
      for (std::size_t r = 0; r < K; ++r) dot += std::conj(m[r * K + p]) * m[r * K + c];
      for (std::size_t r = 0; r < K; ++r) m[r * K + c] -= dot * m[r * K + p];
    }
    double norm = 0;
    for (std::size_t r = 0; r < K; ++r) norm += std::norm(m[r * K + c]);
    for (std::size_t r = 0; r < K; ++r) m[r * K + c] /= std::sqrt(norm);
  }
  return m;
}

// `count` distinct qubits out of n.
std::vector<unsigned> pick_qubits(unsigned n, unsigned count, std::mt19937_64& rng) {
  std::vector<unsigned> all(n);
  for (unsigned q = 0; q < n; ++q) all[q] = q;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(count);
  return all;
}

Gate random_gate(unsigned n, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> kind_of(0, 9);
  const int pick = kind_of(rng);
  Gate g;
  std::uniform_real_distribution<double> angle(0, 6.283185307179586);
  auto controls = [&](unsigned used) {
    std::uniform_int_distribution<unsigned> count(0, std::min(2u, n - used));
    return count(rng);
  };
  if (pick < 5) {  // dense on 1 to 5 targets: the vector kernels' sizes
    std::uniform_int_distribution<unsigned> size(1, std::min(5u, n));
    const unsigned k = size(rng);
    const unsigned c = controls(k);
    std::vector<unsigned> qs = pick_qubits(n, k + c, rng);
    g = {OpKind::Dense, {qs.begin(), qs.begin() + k}, {qs.begin() + k, qs.end()}, {}};
    g.values = random_unitary(k, rng);
  } else if (pick < 7) {  // diagonal on 0 to 4 targets
    std::uniform_int_distribution<unsigned> size(0, std::min(4u, n));
    const unsigned k = size(rng);
    const unsigned c = controls(k);
    std::vector<unsigned> qs = pick_qubits(n, k + c, rng);
    g = {OpKind::Diagonal, {qs.begin(), qs.begin() + k}, {qs.begin() + k, qs.end()}, {}};
    for (index_t j = 0; j < (index_t{1} << k); ++j) g.values.push_back(std::polar(1.0, angle(rng)));
  } else if (pick < 8 || n < 2) {
    const unsigned c = controls(1);
    std::vector<unsigned> qs = pick_qubits(n, 1 + c, rng);
    g = {OpKind::Flip, {qs[0]}, {qs.begin() + 1, qs.end()}, {}};
  } else {
    const unsigned c = controls(2);
    std::vector<unsigned> qs = pick_qubits(n, 2 + c, rng);
    g = {OpKind::Swap, {qs[0], qs[1]}, {qs.begin() + 2, qs.end()}, {}};
  }
  return g;
}

// The reference: each gate as a loop over every basis state, in double.
void apply_reference(std::vector<cd>& psi, const Gate& g) {
  const index_t N = psi.size();
  const unsigned k = static_cast<unsigned>(g.targets.size());
  const index_t K = index_t{1} << k;
  std::vector<cd> next = psi;
  for (index_t i = 0; i < N; ++i) {
    bool active = true;
    for (unsigned c : g.controls) active = active && ((i >> c) & 1);
    if (!active) continue;
    index_t row = 0, base = i;
    for (unsigned j = 0; j < k; ++j) {
      row |= ((i >> g.targets[j]) & 1) << j;
      base &= ~(index_t{1} << g.targets[j]);
    }
    switch (g.kind) {
      case OpKind::Dense: {
        cd sum = 0;
        for (index_t col = 0; col < K; ++col) {
          index_t from = base;
          for (unsigned j = 0; j < k; ++j) from |= ((col >> j) & 1) << g.targets[j];
          sum += g.values[row * K + col] * psi[from];
        }
        next[i] = sum;
        break;
      }
      case OpKind::Diagonal: next[i] = g.values[row] * psi[i]; break;
      case OpKind::Flip: next[i] = psi[i ^ (index_t{1} << g.targets[0])]; break;
      case OpKind::Swap: {
        const index_t a = (i >> g.targets[0]) & 1, b = (i >> g.targets[1]) & 1;
        const index_t j = base | (b << g.targets[0]) | (a << g.targets[1]);
        next[i] = psi[j];
        break;
      }
      default: break;
    }
  }
  psi.swap(next);
}

// Encodes the gates as Python's _ops.py does and runs them.
template <typename T>
std::vector<cd> run_kernel(unsigned n, const std::vector<Gate>& gates,
                           const std::vector<cd>& initial, bool fusion, int threads) {
  std::vector<std::int64_t> ops;
  std::vector<std::int32_t> qubits;
  std::vector<cd> values;
  for (const Gate& g : gates) {
    const std::int64_t row[svsim::field::count] = {static_cast<std::int64_t>(g.kind),
                                                   static_cast<std::int64_t>(g.targets.size()),
                                                   static_cast<std::int64_t>(g.controls.size()),
                                                   static_cast<std::int64_t>(qubits.size()),
                                                   static_cast<std::int64_t>(values.size()),
                                                   0,
                                                   0,
                                                   0};
    ops.insert(ops.end(), row, row + svsim::field::count);
    for (unsigned q : g.targets) qubits.push_back(static_cast<std::int32_t>(q));
    for (unsigned q : g.controls) qubits.push_back(static_cast<std::int32_t>(q));
    values.insert(values.end(), g.values.begin(), g.values.end());
  }
  const svsim::ProgramArrays arrays{
      ops.data(), gates.size(), qubits.data(), qubits.size(), values.data(), values.size(), n, 0};
  svsim::RunOptions options;
  options.shots = 0;
  options.parallelism.threads = threads;
  // Small loops go to the pool too, so that its splitting is checked on small states.
  options.parallelism.min_items = 64;
  options.fusion.enabled = fusion;
  options.fusion.min_qubits = 0;
  svsim::RunControl control;
  const svsim::Program<T> program = svsim::decode_program<T>(arrays);
  svsim::RunOutput<T> out = svsim::run_program(program, options, control, initial.data());
  std::vector<cd> result(out.final_state->size());
  for (index_t i = 0; i < result.size(); ++i) result[i] = cd(out.final_state->data()[i]);
  return result;
}

double max_difference(const std::vector<cd>& a, const std::vector<cd>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

int main() {
  std::printf("kernel_check: simd %s (cpu %s)\n", svsim::isa_name(svsim::kernel_isa()).c_str(),
              svsim::cpu_simd_level().c_str());
  std::mt19937_64 rng(20261128);
  std::normal_distribution<double> normal;
  int failures = 0, cases = 0;
  // 1 to 4 qubits reach the kernels' small-state paths; 9 to 13 fill whole vector
  // tiles, the pool's pieces and the fused blocks.
  for (unsigned n : {1u, 2u, 3u, 4u, 6u, 9u, 11u, 13u}) {
    for (int trial = 0; trial < 6; ++trial) {
      std::vector<Gate> gates;
      const int count = 4 + 6 * static_cast<int>(n);
      for (int i = 0; i < count; ++i) gates.push_back(random_gate(n, rng));
      // A random normalised start, so that no amplitude is zero by accident.
      std::vector<cd> initial(index_t{1} << n);
      double norm = 0;
      for (auto& x : initial) {
        x = {normal(rng), normal(rng)};
        norm += std::norm(x);
      }
      for (auto& x : initial) x /= std::sqrt(norm);
      std::vector<cd> expected = initial;
      for (const Gate& g : gates) apply_reference(expected, g);
      for (bool fusion : {false, true}) {
        for (int threads : {1, 3}) {
          const double d_double =
              max_difference(run_kernel<double>(n, gates, initial, fusion, threads), expected);
          const double d_single =
              max_difference(run_kernel<float>(n, gates, initial, fusion, threads), expected);
          cases += 2;
          // Double keeps ~1e-15 per gate; single 1e-7 per gate, grown over the circuit.
          const bool ok_double = d_double < 1e-10, ok_single = d_single < 2e-4;
          failures += !ok_double + !ok_single;
          if (!ok_double || !ok_single) {
            std::printf("FAIL n=%u trial=%d fusion=%d threads=%d: double %.3g single %.3g\n", n,
                        trial, fusion, threads, d_double, d_single);
          }
        }
      }
    }
  }
  std::printf("kernel_check: %d of %d cases match the reference\n", cases - failures, cases);
  return failures == 0 ? 0 : 1;
}
