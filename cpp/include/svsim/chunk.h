// One MPI rank's part of a statevector split over ranks: the kernel side of
// python/svsim/mpi/.  The top qubits of the state select the rank; the chunk
// holds the 2^local amplitudes of one value of them.  Python plans (which
// qubits are local, when to exchange) and moves the data through mpi4py; the
// loops over the chunk are here: gates in place, half-chunk pack/unpack for a
// global/local qubit exchange, the sums that measurement and sampling share
// across ranks, and the sampling sweep over this rank's part of the state.
#pragma once

#include <algorithm>
#include <complex>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fusion.h"
#include "measure.h"
#include "parallel.h"
#include "program.h"
#include "runner.h"
#include "state.h"

namespace svsim {

template <typename T>
class Chunk {
 public:
  using complex_t = std::complex<T>;

  // |0...0> when `holds_zero` (the rank whose global bits are all 0), else all zeros.
  Chunk(unsigned local_qubits, const Parallelism& par, bool holds_zero)
      : par_(par), state_(std::make_shared<StateVector<T>>(local_qubits, par)) {
    if (!holds_zero) state_->data()[0] = complex_t(0);
  }

  const std::shared_ptr<StateVector<T>>& state() const { return state_; }
  StateView<T> view() const { return StateView<T>(state_->data(), state_->num_qubits()); }
  const Parallelism& parallelism() const { return par_; }

  // The gates of `program` (on local qubits, no measure or save), fused like a whole run.
  void apply(Program<T> program, const RunOptions& options, RunControl& control) {
    FusionOptions fusion = options.fusion;
    fusion.threads = options.parallelism.threads;
    const Program<T> fused = fuse_program(std::move(program), fusion);
    Runner<T>(fused, options, control).apply_gates_to(state_);
  }

  // The index of the m-th amplitude whose bit `bit` is `value`.
  static index_t half_index(unsigned bit, int value, index_t m) {
    const index_t low = m & ((index_t{1} << bit) - 1);
    return ((m >> bit) << (bit + 1)) | (static_cast<index_t>(value) << bit) | low;
  }

  // Copies amplitudes first .. first + count of the half where `bit` is `value` into `out`.
  void pack(unsigned bit, int value, index_t first, index_t count, complex_t* out) const {
    const complex_t* data = state_->data();
    parallel_for(par_, count, [=](index_t m) { out[m] = data[half_index(bit, value, first + m)]; });
  }

  // The reverse of pack: writes `in` over the same amplitudes.
  void unpack(unsigned bit, int value, index_t first, index_t count, const complex_t* in) {
    complex_t* data = state_->data();
    parallel_for(par_, count, [=](index_t m) { data[half_index(bit, value, first + m)] = in[m]; });
  }

  double norm_squared() const { return svsim::norm_squared(view(), par_); }
  double probability_of_one(unsigned qubit) const {
    return svsim::probability_of_one(view(), qubit, par_);
  }
  void collapse(unsigned qubit, int outcome, double probability) {
    svsim::collapse(view(), qubit, outcome, probability, par_);
  }
  // Every amplitude times `factor` (0 clears the chunk).
  void scale(double factor) {
    complex_t* data = state_->data();
    const T f = static_cast<T>(factor);
    parallel_for(par_, state_->size(), [=](index_t i) { data[i] *= f; });
  }
  std::vector<double> probabilities(const std::vector<unsigned>& qubits) const {
    return svsim::probabilities(view(), qubits, par_);
  }
  double expectation(const std::vector<unsigned>& qubits, const std::vector<int>& codes) const {
    return expectation_pauli(view(), qubits, codes, par_);
  }

  // The sums of |a|^2 over blocks of `block` amplitudes, each summed in index
  // order as sample_indices does, so that the blocks of all ranks together are
  // the blocks of one process's run.
  std::vector<double> block_sums(index_t block) const {
    if (block == 0 || state_->size() % block != 0)
      throw std::invalid_argument("block must divide the chunk");
    const index_t num_blocks = state_->size() / block;
    std::vector<double> sums(num_blocks);
    const complex_t* data = state_->data();
    parallel_for(par_, num_blocks, [&](index_t b) {
      double s = 0.0;
      for (index_t i = b * block; i < (b + 1) * block; ++i) s += norm2(data[i]);
      sums[b] = s;
    });
    return sums;
  }

  // The last index with weight at or before `at`, or -1; the first after it, or -1.
  std::int64_t last_with_weight(std::int64_t at) const {
    const complex_t* data = state_->data();
    for (std::int64_t j = std::min<std::int64_t>(at, state_->size() - 1); j >= 0; --j)
      if (norm2(data[j]) > 0) return j;
    return -1;
  }
  std::int64_t first_with_weight(std::int64_t after) const {
    const complex_t* data = state_->data();
    for (std::int64_t j = std::max<std::int64_t>(after, 0);
         j < static_cast<std::int64_t>(state_->size()); ++j)
      if (norm2(data[j]) > 0) return j;
    return -1;
  }

  // The sweep of sample_indices over this chunk, for the sorted uniforms
  // targets[first .. last) (already scaled), which fall in the chunk's blocks:
  // before_block is every block's mass before it over the whole state, and the
  // chunk's first block is `first_block`.  Returns each one's local index, or
  // -1 - i where the sweep ends on an amplitude i of weight zero and no earlier
  // amplitude of the chunk has weight (the caller looks in other chunks).
  std::vector<std::int64_t> sweep(const std::vector<double>& before_block, index_t block,
                                  index_t first_block, const double* u, std::size_t count) const {
    std::vector<std::int64_t> out(count);
    if (count == 0) return out;
    const complex_t* data = state_->data();
    const index_t num_blocks = before_block.size() - 1;
    const index_t my_blocks = state_->size() / block;
    const index_t last_block = first_block + my_blocks;
    auto block_of = [&](double x) {
      index_t b = static_cast<index_t>(
          std::upper_bound(before_block.begin(), before_block.end() - 1, x) - before_block.begin());
      return b > 0 ? b - 1 : 0;
    };
    index_t b = block_of(u[0]);
    if (b < first_block || b >= last_block) throw std::logic_error("uniform outside the chunk");
    index_t i = (b - first_block) * block;
    double before_i = before_block[b];
    for (std::size_t k = 0; k < count; ++k) {
      while (b + 1 < num_blocks && before_block[b + 1] <= u[k]) {
        ++b;
        i = (b - first_block) * block;
        before_i = before_block[b];
      }
      const index_t end = (b + 1 - first_block) * block;
      while (i + 1 < end && before_i + norm2(data[i]) <= u[k]) {
        before_i += norm2(data[i]);
        ++i;
      }
      if (norm2(data[i]) > 0) {
        out[k] = static_cast<std::int64_t>(i);
      } else {
        const std::int64_t j = last_with_weight(static_cast<std::int64_t>(i));
        out[k] = j >= 0 ? j : -1 - static_cast<std::int64_t>(i);
      }
    }
    return out;
  }

 private:
  Parallelism par_;
  std::shared_ptr<StateVector<T>> state_;
};

// The sorted uniforms of sample_indices before scaling, drawn from `rng` the
// same way: targets[k] and the divisor (running sum plus one more exponential).
inline double sorted_exponentials(Random& rng, std::uint64_t shots, double* targets) {
  double running = 0.0;
  for (std::uint64_t k = 0; k < shots; ++k) {
    running += rng.exponential();
    targets[k] = running;
  }
  return running + rng.exponential();
}

// The shuffle that ends sample_indices.
inline void shuffle_samples(Random& rng, std::uint64_t* samples, std::uint64_t shots) {
  if (shots == 0) return;
  for (std::uint64_t k = shots - 1; k > 0; --k) std::swap(samples[k], samples[rng.below(k + 1)]);
}

}  // namespace svsim
