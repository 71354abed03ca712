// Reading the state: norms, probabilities, expectation values, measurement with
// collapse, reset, and sampling of many shots.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <complex>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "random.h"
#include "simd.h"
#include "state.h"

namespace svsim {

template <typename T>
inline double norm2(std::complex<T> a) {
  return static_cast<double>(a.real()) * a.real() + static_cast<double>(a.imag()) * a.imag();
}

template <typename T>
double norm_squared(StateView<T> psi, const Parallelism& par) {
  const auto* data = psi.data();
  return deterministic_sum(par, psi.size(), [data](index_t begin, index_t end) {
    double s = 0.0;
    for (index_t i = begin; i < end; ++i) s += norm2(data[i]);
    return s;
  });
}

// Probability that `qubit` reads 1.
template <typename T>
double probability_of_one(StateView<T> psi, unsigned qubit, const Parallelism& par) {
  const IndexExpander expand({qubit}, {qubit});
  const auto* data = psi.data();
  return deterministic_sum(par, psi.size() / 2, [&](index_t begin, index_t end) {
    double s = 0.0;
    for (index_t i = begin; i < end; ++i) s += norm2(data[expand(i)]);
    return s;
  });
}

// Projects `qubit` onto `outcome` whose probability is `probability`, and renormalises.
template <typename T>
void collapse(StateView<T> psi, unsigned qubit, int outcome, double probability,
              const Parallelism& par) {
  const T scale = static_cast<T>(1.0 / std::sqrt(probability));
  auto* data = psi.data();
  const index_t bit = index_t{1} << qubit;
  const index_t keep = outcome ? bit : 0;
  parallel_for(par, psi.size(), [=](index_t i) {
    data[i] = (i & bit) == keep ? data[i] * scale : std::complex<T>(0);
  });
}

// Measures `qubit`, collapses the state and returns the outcome.  The total
// probability is measured too, so a state that drifted from norm 1 collapses
// with the right odds.
template <typename T>
int measure_qubit(StateView<T> psi, unsigned qubit, Random& rng, const Parallelism& par) {
  const double p1 = probability_of_one(psi, qubit, par);
  const double total = norm_squared(psi, par);
  const int outcome = rng.uniform() * total < p1 ? 1 : 0;
  collapse(psi, qubit, outcome, (outcome ? p1 : total - p1), par);
  return outcome;
}

template <typename T>
void reset_qubit(StateView<T> psi, unsigned qubit, Random& rng, const Parallelism& par) {
  if (measure_qubit(psi, qubit, rng, par) == 1) apply_flip(psi, qubit, {}, par);
}

// The offsets of the 2^k basis states of `qubits` (bit j of m is qubits[j]) from
// two tables of about 2^(k/2) entries: offset(m) = low[m's low half] | high[m's
// high half].  A table of all 2^k would take 8 bytes a state, half the state
// again for a save over every qubit, and k passes over it to build.
class SplitOffsets {
 public:
  explicit SplitOffsets(const std::vector<unsigned>& qubits)
      : low_bits_(static_cast<unsigned>(qubits.size() / 2)),
        count_(index_t{1} << qubits.size()),
        low_(target_offsets({qubits.begin(), qubits.begin() + low_bits_})),
        high_(target_offsets({qubits.begin() + low_bits_, qubits.end()})) {}
  index_t operator()(index_t m) const {
    return low_[m & ((index_t{1} << low_bits_) - 1)] | high_[m >> low_bits_];
  }
  index_t size() const { return count_; }

 private:
  unsigned low_bits_;
  index_t count_;
  std::vector<index_t> low_, high_;
};

// Marginal probabilities of `qubits`: entry m has bit j equal to the value of qubits[j].
template <typename T>
std::vector<double> probabilities(StateView<T> psi, const std::vector<unsigned>& qubits,
                                  const Parallelism& par) {
  const auto* data = psi.data();
  const SplitOffsets offsets(qubits);
  std::vector<double> out(offsets.size(), 0.0);
  const IndexExpander expand(qubits, {});
  const index_t rest = outer_count(psi.num_qubits(), expand);
  if (rest == 1) {
    parallel_for(par, offsets.size(), [&](index_t m) { out[m] = norm2(data[offsets(m)]); });
    return out;
  }
  for (index_t m = 0; m < offsets.size(); ++m) {
    const index_t offset = offsets(m);
    out[m] = deterministic_sum(par, rest, [&](index_t begin, index_t end) {
      double s = 0.0;
      for (index_t i = begin; i < end; ++i) s += norm2(data[expand(i) | offset]);
      return s;
    });
  }
  return out;
}

// <psi| P |psi> for the Pauli string P with codes (0 I, 1 X, 2 Y, 3 Z) on `qubits`.
template <typename T>
double expectation_pauli(StateView<T> psi, const std::vector<unsigned>& qubits,
                         const std::vector<int>& codes, const Parallelism& par) {
  index_t x_mask = 0, z_mask = 0;
  int num_y = 0;
  for (std::size_t j = 0; j < qubits.size(); ++j) {
    const index_t bit = index_t{1} << qubits[j];
    if (codes[j] == 1 || codes[j] == 2) x_mask |= bit;
    if (codes[j] == 2 || codes[j] == 3) z_mask |= bit;
    if (codes[j] == 2) ++num_y;
  }
  // P|i> = i^num_y (-1)^popcount(i & z_mask) |i ^ x_mask>, so the sum below is
  // i^num_y times a complex number; only its real part is the expectation.
  const auto* data = psi.data();
  auto sum_part = [&](bool imaginary) {
    return deterministic_sum(par, psi.size(), [&](index_t begin, index_t end) {
      double s = 0.0;
      for (index_t i = begin; i < end; ++i) {
        const std::complex<double> a(data[i ^ x_mask].real(), -data[i ^ x_mask].imag());
        const std::complex<double> b(data[i].real(), data[i].imag());
        const std::complex<double> term = a * b;
        const double sign = __builtin_parityll(i & z_mask) ? -1.0 : 1.0;
        s += sign * (imaginary ? term.imag() : term.real());
      }
      return s;
    });
  };
  switch (num_y % 4) {
    case 0: return sum_part(false);
    case 1: return -sum_part(true);
    case 2: return -sum_part(false);
    default: return sum_part(true);
  }
}

// Draws `shots` basis-state indices from |psi|^2 without an array of 2^n
// probabilities: sums over fixed blocks, then a single sweep with sorted
// uniforms (made sorted directly from exponential spacings), then a shuffle so
// the shots come in random order.  Deterministic for a seed at any thread count.
template <typename T, typename Cancelled>
std::vector<index_t> sample_indices(StateView<T> psi, std::uint64_t shots, Random& rng,
                                    const Parallelism& par, Cancelled&& cancelled) {
  std::vector<index_t> samples(shots);
  if (shots == 0) return samples;
  const auto* data = psi.data();
  const index_t block = std::min<index_t>(psi.size(), kReduceChunk);
  const index_t num_blocks = psi.size() / block;
  std::vector<double> block_sums(num_blocks);
  parallel_for(par, num_blocks, [&](index_t b) {
    double s = 0.0;
    for (index_t i = b * block; i < (b + 1) * block; ++i) s += norm2(data[i]);
    block_sums[b] = s;
  });
  // before_block[b]: the probability mass of the blocks before block b.
  std::vector<double> before_block(num_blocks + 1, 0.0);
  for (index_t b = 0; b < num_blocks; ++b) before_block[b + 1] = before_block[b] + block_sums[b];
  const double total = before_block[num_blocks];
  if (!(total > 0.0)) throw std::domain_error("cannot sample from a state of norm zero");

  // Sorted uniforms: cumulative sums of shots + 1 exponentials, scaled.
  std::vector<double> targets(shots);
  double running = 0.0;
  for (std::uint64_t k = 0; k < shots; ++k) {
    running += rng.exponential();
    targets[k] = running;
  }
  const double scale = total / (running + rng.exponential());

  // Rounding can leave the sweep on an amplitude that is zero; take the
  // nearest index with weight instead.
  auto nearest_with_weight = [&](index_t at) {
    for (index_t j = at + 1; j-- > 0;) {
      if (norm2(data[j]) > 0) return j;
    }
    for (index_t j = at + 1; j < psi.size(); ++j) {
      if (norm2(data[j]) > 0) return j;
    }
    return at;
  };
  // The sweep over the sorted uniforms is split into parts that the threads
  // share.  Each part starts at the start of its first block, so a shot's
  // index depends only on its uniform, never on the split.
  std::atomic<bool> stopped{false};
  auto sweep = [&](std::uint64_t first, std::uint64_t last) {
    if (first >= last) return;
    const double u0 = targets[first] * scale;
    index_t b = static_cast<index_t>(
        std::upper_bound(before_block.begin(), before_block.end() - 1, u0) - before_block.begin());
    b = b > 0 ? b - 1 : 0;
    index_t i = b * block;
    double before_i = before_block[b];
    for (std::uint64_t k = first; k < last; ++k) {
      if ((k & 0xffff) == 0 && (stopped || cancelled())) {
        stopped = true;
        return;
      }
      const double u = targets[k] * scale;
      while (b + 1 < num_blocks && before_block[b + 1] <= u) {
        ++b;
        i = b * block;
        before_i = before_block[b];
      }
      const index_t end = (b + 1) * block;
      while (i + 1 < end && before_i + norm2(data[i]) <= u) {
        before_i += norm2(data[i]);
        ++i;
      }
      samples[k] = norm2(data[i]) > 0 ? i : nearest_with_weight(i);
    }
  };
  const std::uint64_t parts = par.worth_it(shots + psi.size()) ? par.threads : 1;
  Parallelism per_part = par;
  per_part.min_items = 1;
  parallel_for(per_part, parts,
               [&](index_t p) { sweep(shots * p / parts, shots * (p + 1) / parts); });
  if (stopped) return {};
  for (std::uint64_t k = shots - 1; k > 0; --k) std::swap(samples[k], samples[rng.below(k + 1)]);
  return samples;
}

}  // namespace svsim
