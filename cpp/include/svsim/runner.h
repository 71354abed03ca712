// Runs a whole circuit in C++: the gates, then either one sample of all shots
// (when every measurement is terminal), shot branching (branching.h), or one
// trajectory per shot.  Between ops
// it checks a cancel flag and advances a progress counter that other threads read.
#pragma once

#include <atomic>
#include <complex>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fusion.h"
#include "kernels.h"
#include "measure.h"
#include "parallel.h"
#include "program.h"
#include "random.h"
#include "simd.h"
#include "state.h"

namespace svsim {

// Shared between the thread that runs a circuit and the threads that watch it.
struct RunControl {
  std::atomic<bool> cancel_requested{false};
  std::atomic<std::uint64_t> ops_done{0};
  std::atomic<std::uint64_t> ops_total{0};

  double progress() const {
    const std::uint64_t total = ops_total.load();
    return total == 0 ? 0.0 : static_cast<double>(ops_done.load()) / static_cast<double>(total);
  }
};

struct Cancelled : std::exception {
  const char* what() const noexcept override { return "the run was cancelled"; }
};

struct RunOptions {
  std::uint64_t shots = 1;
  std::uint64_t seed = 0;
  Parallelism parallelism;
  bool allow_prefix_copy =
      true;  // may trajectories keep a copy of the state before the first measurement?
  FusionOptions fusion;
  // Split the state where a mid-circuit measurement or reset is random
  // (branching.h) rather than run one trajectory per shot; at most
  // max_branch_states states at once, else per-shot trajectories after all.
  bool shot_branching = true;
  std::uint64_t max_branch_states = 64;
};

template <typename T>
struct SavedValue {
  OpKind kind;
  std::shared_ptr<StateVector<T>> state;  // SaveStatevector
  std::vector<double> probabilities;      // SaveProbabilities (averaged over shots)
  double expectation = 0.0;               // SaveExpectation (averaged over shots)
};

template <typename T>
struct RunOutput {
  std::string method;                 // "sampling", "branching" or "trajectory"
  std::uint64_t branches = 0;         // branching: the final branches, each one sampled
  bool branching_fell_back = false;   // branching outgrew max_branch_states: trajectories ran
  std::size_t words_per_shot = 0;     // 64-bit words of classical memory per shot
  std::vector<std::uint64_t> memory;  // shots * words_per_shot, clbit c in word c / 64, bit c % 64
  std::shared_ptr<StateVector<T>> final_state;
  std::vector<SavedValue<T>> saves;
  std::size_t ops_run = 0;  // ops in the program after fusion
  // The gates of the fused program by kind: dense_by_targets[k] dense gates on
  // k targets (any controls), then diagonals and permutations (X, SWAP).
  std::vector<std::uint64_t> dense_by_targets;
  std::uint64_t diagonals = 0, permutations = 0;
  // Sweeps over a state that applied gates: a gate, or a run of gates done
  // one cache-sized block at a time (Runner::run_gates), is one sweep.
  std::uint64_t gate_sweeps = 0;
};

// True when measuring at the end gives the same distribution as measuring where
// the circuit says: no reset or condition, and nothing after a measurement
// touches or saves the measured qubits.
template <typename T>
bool measurements_are_terminal(const Program<T>& program) {
  std::uint64_t measured = 0;
  for (const Op<T>& op : program.ops) {
    if (op.kind == OpKind::Reset || op.is_conditional()) return false;
    if (op.kind == OpKind::Measure) {
      measured |= std::uint64_t{1} << op.targets[0];
    } else if (op.is_save()) {
      if (measured) return false;
    } else {
      for (unsigned q : op.targets)
        if (measured >> q & 1) return false;
      for (unsigned q : op.controls)
        if (measured >> q & 1) return false;
    }
  }
  return true;
}

template <typename T>
class Runner {
 public:
  Runner(const Program<T>& program, const RunOptions& options, RunControl& control)
      : program_(program),
        options_(options),
        control_(control),
        par_(options.parallelism),
        rng_(options.seed) {
    out_.words_per_shot = (program.num_clbits + 63) / 64;
    out_.saves.resize(program.num_saves);
    // A statevector save after which nothing changes the state is the final
    // state itself: point at it instead of copying.
    last_state_change_ = -1;
    for (std::size_t i = 0; i < program.ops.size(); ++i) {
      const OpKind kind = program.ops[i].kind;
      if (program.ops[i].is_gate() || kind == OpKind::Measure || kind == OpKind::Reset) {
        last_state_change_ = static_cast<std::int64_t>(i);
      }
    }
  }

  // Runs the program, which holds gates only, on `state` in place: one MPI
  // rank's step on its chunk (cpp/include/svsim/chunk.h), with the same cache
  // blocking as a whole run.
  void apply_gates_to(std::shared_ptr<StateVector<T>> state) {
    state_ = std::move(state);
    active_qubits_ = program_.num_qubits;
    for (std::size_t i = 0; i < program_.ops.size();) {
      check_cancel();
      i = run_gates(i, program_.ops.size());
    }
    check_cancel();
  }

  RunOutput<T> run(const std::complex<double>* initial_state) {
    initial_state_ = initial_state;
    state_ = std::make_shared<StateVector<T>>(program_.num_qubits, par_);
    start_state();
    out_.final_state = state_;
    if (measurements_are_terminal(program_)) {
      run_sampling();
    } else if (options_.shot_branching && options_.shots > 1) {
      if (!run_branching()) restart_as_trajectories();
    } else {
      run_trajectories();
    }
    return std::move(out_);
  }

 private:
  // Called when state_ holds |0...0>: loads the initial state, when there is
  // one, and sets which qubits gates have reached.
  void start_state() {
    active_qubits_ = 0;
    if (initial_state_ == nullptr) return;
    const std::complex<double>* source = initial_state_;
    auto* data = state_->data();
    parallel_for(par_, state_->size(), [=](index_t i) {
      data[i] = std::complex<T>(static_cast<T>(source[i].real()), static_cast<T>(source[i].imag()));
    });
    active_qubits_ = program_.num_qubits;
  }

  // One more than the highest qubit the gate acts on.
  static unsigned reach(const Op<T>& op) {
    unsigned highest = highest_bit(op.targets, op.controls);
    for (const DiagonalFactor<T>& factor : op.block_factors)
      highest = std::max(highest, highest_bit(factor.targets, factor.controls));
    return highest + 1;
  }

  // The amplitudes that gates must visit: those whose qubits from
  // active_qubits_ up are all 0.  Every other amplitude is 0 until a gate acts
  // on one of those qubits, and a gate on lower qubits keeps it 0.  A circuit
  // that brings its qubits in one by one (a GHZ ladder, a state preparation)
  // does work for the qubits it has reached, not for the whole state.
  StateView<T> active_part(unsigned needed) {
    active_qubits_ = std::max(active_qubits_, needed);
    return StateView<T>(state_->data(), active_qubits_);
  }

  void check_cancel() const {
    if (control_.cancel_requested.load(std::memory_order_relaxed)) throw Cancelled();
  }

  void step_done() { control_.ops_done.fetch_add(1, std::memory_order_relaxed); }

  bool condition_holds(const Op<T>& op, const std::uint64_t* clbits) const {
    for (std::size_t j = 0; j < op.cond_clbits.size(); ++j) {
      const unsigned c = op.cond_clbits[j];
      const std::uint64_t bit = clbits[c / 64] >> (c % 64) & 1;
      const std::uint64_t want = j < 64 ? (op.cond_value >> j & 1) : 0;
      if (bit != want) return false;
    }
    return true;
  }

  static void apply_gate(StateView<T> psi, const Op<T>& op, const Parallelism& par) {
    switch (op.kind) {
      case OpKind::Dense: return apply_dense(psi, op.targets, op.controls, op.values.data(), par);
      case OpKind::Diagonal:
        if (!op.block_factors.empty()) {
          return apply_diagonal(psi, op.targets, op.values.data(), op.block_factors, par);
        }
        return apply_diagonal(psi, op.targets, op.controls, op.values.data(), par);
      case OpKind::Flip: return apply_flip(psi, op.targets[0], op.controls, par);
      case OpKind::Swap: return apply_swap(psi, op.targets[0], op.targets[1], op.controls, par);
      case OpKind::Swaps: return apply_swaps(psi, op.targets, par);
      default: return;
    }
  }

  bool acts_within_block(const Op<T>& op) const {
    if (!op.is_gate() || op.is_conditional() || !op.block_factors.empty()) return false;
    for (unsigned q : op.targets)
      if (q >= block_qubits_) return false;
    for (unsigned q : op.controls)
      if (q >= block_qubits_) return false;
    return true;
  }

  // Runs the gate at `first`; or, when it starts a run of gates that all act
  // on qubits below block_qubits_, the whole run one cache-sized block of the
  // state at a time, so the block is read from memory once for all of them.
  // Returns the index after what it ran.
  std::size_t run_gates(std::size_t first, std::size_t end) {
    std::size_t last = first;
    unsigned needed = active_qubits_;
    if (block_qubits_ < program_.num_qubits) {
      while (last < end && acts_within_block(program_.ops[last])) {
        needed = std::max(needed, reach(program_.ops[last]));
        ++last;
      }
    }
    ++out_.gate_sweeps;
    if (last - first < 2 || needed <= block_qubits_) {
      const Op<T>& op = program_.ops[first];
      apply_gate(active_part(reach(op)), op, par_);
      step_done();
      return first + 1;
    }
    const StateView<T> active = active_part(needed);
    const index_t block = index_t{1} << block_qubits_;
    Parallelism per_block = par_;
    per_block.min_items = 1;
    const Parallelism serial{1, 0};
    auto* data = active.data();
    parallel_for(per_block, active.size() / block, [&](index_t b) {
      if (control_.cancel_requested.load(std::memory_order_relaxed)) return;
      const StateView<T> part(data + b * block, block_qubits_);
      for (std::size_t i = first; i < last; ++i) apply_gate(part, program_.ops[i], serial);
    });
    check_cancel();
    control_.ops_done.fetch_add(last - first, std::memory_order_relaxed);
    return last;
  }

  // Saves made once (sampling, or before the first random op) are stored as
  // they are; saves made in every trajectory are averaged over the shots
  // (statevectors: the last shot's).
  void save(const Op<T>& op, std::size_t index, double weight) {
    SavedValue<T>& saved = out_.saves[static_cast<std::size_t>(op.slot)];
    saved.kind = op.kind;
    switch (op.kind) {
      case OpKind::SaveStatevector:
        if (static_cast<std::int64_t>(index) > last_state_change_) {
          saved.state = state_;
        } else {
          if (!saved.state)
            saved.state = std::make_shared<StateVector<T>>(program_.num_qubits, par_);
          saved.state->copy_from(*state_, par_);
        }
        break;
      case OpKind::SaveProbabilities: {
        std::vector<double> p = probabilities(*state_, op.targets, par_);
        if (saved.probabilities.empty()) {
          // The first save keeps its own vector: one array of 2^k at the peak,
          // not two (the limit counts one per save, and one more per shot run).
          if (weight != 1.0)
            for (double& x : p) x *= weight;
          saved.probabilities = std::move(p);
        } else {
          for (std::size_t m = 0; m < p.size(); ++m) saved.probabilities[m] += weight * p[m];
        }
        break;
      }
      case OpKind::SaveExpectation: {
        std::vector<int> codes;
        for (const auto& v : op.values) codes.push_back(static_cast<int>(v.real()));
        saved.expectation += weight * expectation_pauli(*state_, op.targets, codes, par_);
        break;
      }
      default: break;
    }
  }

  void run_sampling() {
    out_.method = "sampling";
    control_.ops_total = program_.ops.size() + 1;
    std::vector<std::pair<unsigned, unsigned>> measures;  // (qubit, clbit)
    for (std::size_t i = 0; i < program_.ops.size();) {
      check_cancel();
      const Op<T>& op = program_.ops[i];
      if (op.kind == OpKind::Measure) {
        measures.emplace_back(op.targets[0], static_cast<unsigned>(op.slot));
      } else if (op.is_save()) {
        save(op, i, 1.0);
      } else {
        i = run_gates(i, program_.ops.size());
        continue;
      }
      step_done();
      ++i;
    }
    check_cancel();
    out_.memory.assign(options_.shots * out_.words_per_shot, 0);
    if (!measures.empty()) {
      const std::vector<index_t> samples = sample_indices(
          *state_, options_.shots, rng_, par_,
          [this] { return control_.cancel_requested.load(std::memory_order_relaxed); });
      check_cancel();
      const std::size_t words = out_.words_per_shot;
      // measure_all's common layout (qubit q into clbit q, every qubit) copies
      // the sampled index as it is.
      bool identity = words == 1;
      std::uint64_t measured = 0;
      for (const auto& [qubit, clbit] : measures) {
        identity = identity && qubit == clbit;
        measured |= std::uint64_t{1} << qubit;
      }
      identity = identity && measured == (std::uint64_t{1} << program_.num_qubits) - 1;
      std::uint64_t* memory = out_.memory.data();
      parallel_for(par_, options_.shots, [&](index_t s) {
        std::uint64_t* clbits = memory + s * words;
        if (identity) {
          clbits[0] = samples[s];
          return;
        }
        for (const auto& [qubit, clbit] : measures) {
          const std::uint64_t bit = samples[s] >> qubit & 1;
          clbits[clbit / 64] =
              (clbits[clbit / 64] & ~(std::uint64_t{1} << (clbit % 64))) | (bit << (clbit % 64));
        }
      });
    }
    step_done();
  }

  // Shot branching, defined in branching.h.  False when the branches would
  // need more than options_.max_branch_states states at once.
  bool run_branching();
  void end_branch(std::size_t tail, std::uint64_t n, const std::vector<std::uint64_t>& clbits,
                  std::uint64_t row);

  // After run_branching gave up: the run from the start, one trajectory per
  // shot, drawing from a fresh generator with the same seed.
  void restart_as_trajectories() {
    out_.saves.assign(program_.num_saves, SavedValue<T>{});
    out_.memory.clear();
    out_.branches = 0;
    out_.branching_fell_back = true;
    rng_ = Random(options_.seed);
    out_.final_state.reset();
    state_.reset();  // freed before the new one is made: one state at a time
    state_ = std::make_shared<StateVector<T>>(program_.num_qubits, par_);
    start_state();
    out_.final_state = state_;
    control_.ops_done = 0;
    run_trajectories();
  }

  void run_trajectories() {
    out_.method = "trajectory";
    const std::uint64_t shots = options_.shots;
    std::size_t first_random = 0;
    while (first_random < program_.ops.size()) {
      const Op<T>& op = program_.ops[first_random];
      if (op.kind == OpKind::Measure || op.kind == OpKind::Reset || op.is_conditional()) break;
      ++first_random;
    }
    const std::size_t suffix = program_.ops.size() - first_random;
    const bool keep_prefix = options_.allow_prefix_copy && shots > 1 && first_random > 0;
    const std::uint64_t prefix_runs = keep_prefix || shots == 0 ? 1 : shots;
    control_.ops_total = prefix_runs * first_random + shots * suffix;

    auto run_prefix = [&](bool with_saves) {
      for (std::size_t i = 0; i < first_random;) {
        check_cancel();
        const Op<T>& op = program_.ops[i];
        if (op.is_save()) {
          if (with_saves) save(op, i, 1.0);
          step_done();
          ++i;
        } else {
          i = run_gates(i, first_random);
        }
      }
    };
    run_prefix(true);
    std::unique_ptr<StateVector<T>> prefix_state;
    const unsigned prefix_active_qubits = active_qubits_;
    if (keep_prefix) {
      prefix_state = std::make_unique<StateVector<T>>(program_.num_qubits, par_);
      prefix_state->copy_from(*state_, par_);
    }

    const std::size_t words = out_.words_per_shot;
    out_.memory.assign(shots * words, 0);
    const double weight = shots ? 1.0 / static_cast<double>(shots) : 0.0;
    for (std::uint64_t s = 0; s < shots; ++s) {
      if (s > 0) {
        if (prefix_state) {
          state_->copy_from(*prefix_state, par_);
          active_qubits_ = prefix_active_qubits;
        } else {
          state_->set_zero_state(par_);
          start_state();
          run_prefix(false);
        }
      }
      std::uint64_t* clbits = out_.memory.data() + s * words;
      for (std::size_t i = first_random; i < program_.ops.size(); ++i) {
        check_cancel();
        const Op<T>& op = program_.ops[i];
        if (acts_within_block(op)) {
          i = run_gates(i, program_.ops.size()) - 1;
          continue;
        }
        if (op.is_save()) {
          save(op, i, weight);
        } else if (!op.is_conditional() || condition_holds(op, clbits)) {
          if (op.kind == OpKind::Measure) {
            const unsigned c = static_cast<unsigned>(op.slot);
            const std::uint64_t bit =
                static_cast<std::uint64_t>(measure_qubit(*state_, op.targets[0], rng_, par_));
            clbits[c / 64] = (clbits[c / 64] & ~(std::uint64_t{1} << (c % 64))) | (bit << (c % 64));
          } else if (op.kind == OpKind::Reset) {
            reset_qubit(*state_, op.targets[0], rng_, par_);
          } else {
            apply_gate(active_part(reach(op)), op, par_);
            ++out_.gate_sweeps;
          }
        }
        step_done();
      }
    }
  }

  const Program<T>& program_;
  RunOptions options_;
  RunControl& control_;
  Parallelism par_;
  Random rng_;
  const std::complex<double>* initial_state_ = nullptr;
  std::shared_ptr<StateVector<T>> state_;
  std::int64_t last_state_change_;
  unsigned active_qubits_ = 0;  // see active_part
  // Blocks of 2^block_qubits_ amplitudes, 512 KiB, stay in a core's L2 cache.
  const unsigned block_qubits_ = sizeof(T) == 8 ? 15 : 16;
  RunOutput<T> out_;
};

template <typename T>
RunOutput<T> run_program(Program<T> program, const RunOptions& options, RunControl& control,
                         const std::complex<double>* initial_state) {
  FusionOptions fusion = options.fusion;
  fusion.threads = options.parallelism.threads;
  const Program<T> fused = fuse_program(std::move(program), fusion);
  RunOutput<T> out = Runner<T>(fused, options, control).run(initial_state);
  out.ops_run = fused.ops.size();
  out.dense_by_targets.assign(fusion.max_dense_qubits + 1, 0);
  for (const Op<T>& op : fused.ops) {
    if (op.kind == OpKind::Dense) {
      const std::size_t k = op.targets.size();
      if (k >= out.dense_by_targets.size()) out.dense_by_targets.resize(k + 1, 0);
      ++out.dense_by_targets[k];
    } else if (op.kind == OpKind::Diagonal) {
      ++out.diagonals;
    } else if (op.is_gate()) {
      ++out.permutations;
    }
  }
  return out;
}

}  // namespace svsim

#include "branching.h"  // Runner<T>::run_branching
