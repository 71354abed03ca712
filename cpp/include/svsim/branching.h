// Shot branching: a circuit with mid-circuit measurement, reset or conditions
// runs once per distinct history of outcomes rather than once per shot.
//
// A branch is a state, the classical bits it has measured, the op it has come
// to and the number of shots that follow it.  The run starts with one branch
// of all shots.  Where a measurement or reset has a random outcome, the
// branch's n shots are split: n1 of them, drawn from Binomial(n, p1) with the
// run's generator, take outcome 1 in a copy of the state, the rest take
// outcome 0 in the state itself.  An outcome whose other side has probability
// below kCertainBelow (rounding) is taken without a split or a draw, and so is
// a split that gives all n shots to one side.  A condition is decided per
// branch, which holds one value of every clbit.  Each branch ends where the
// program's terminal tail starts (measurements that only sampling remains to
// do): it runs the tail's gates and samples its n shots at once.
//
// Branches run depth first: the outcome-0 side goes on, the outcome-1 side
// waits on a stack, so the states alive are the current one and those waiting.
// When a split would need more than RunOptions::max_branch_states states,
// run_branching returns false and the run starts again as per-shot
// trajectories (Runner::restart_as_trajectories), which need one state.
//
// Memory order: each branch writes its shots' rows in the order the branches
// end, then one seeded shuffle of the rows puts the shots in random order, as
// sampling does, so a prefix of the memory is a fair sample too.
//
// Saves inside the branched part are made once per branch: probabilities and
// expectation values weighted by the branch's share of the shots (the same
// average over the shots as the per-shot method), a statevector is the last
// branch's (the per-shot method keeps the last shot's).
//
// Every draw comes from the run's one generator in a fixed order, and the
// sums are deterministic_sum's, so a seed gives the same counts at any thread
// count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "measure.h"
#include "program.h"
#include "random.h"
#include "runner.h"
#include "state.h"

namespace svsim {

// Below this share of the norm an outcome counts as impossible: a qubit that
// the circuit puts in a definite state still reads the other way with a
// probability of a few eps^2 per gate after rounding.
template <typename T>
constexpr double kCertainBelow = 1e5 * static_cast<double>(std::numeric_limits<T>::epsilon()) *
                                 static_cast<double>(std::numeric_limits<T>::epsilon());

// The number of ones in n draws with P(1) = p: exact, n uniforms (the same on
// every platform, where std::binomial_distribution is not).  About 7 ns a draw,
// so billions of shots take seconds: check_cancel() runs every 2^20 draws.
template <typename CheckCancel>
std::uint64_t draw_binomial(Random& rng, std::uint64_t n, double p, CheckCancel&& check_cancel) {
  constexpr std::uint64_t kDrawsPerCheck = std::uint64_t{1} << 20;
  std::uint64_t ones = 0;
  for (std::uint64_t start = 0; start < n; start += kDrawsPerCheck) {
    check_cancel();
    const std::uint64_t end = n - start > kDrawsPerCheck ? start + kDrawsPerCheck : n;
    for (std::uint64_t k = start; k < end; ++k) ones += rng.uniform() < p ? 1 : 0;
  }
  return ones;
}

// The first op of the program's terminal tail: the longest suffix with no
// reset or condition in which nothing after a measurement touches its qubit or
// saves.  Its measurements can be sampled at the end of each branch.
template <typename T>
std::size_t terminal_tail_start(const Program<T>& program) {
  std::uint64_t touched = 0;  // qubits that gates after the op at hand act on
  bool save_after = false;
  for (std::size_t i = program.ops.size(); i-- > 0;) {
    const Op<T>& op = program.ops[i];
    if (op.kind == OpKind::Reset || op.is_conditional()) return i + 1;
    if (op.kind == OpKind::Measure) {
      if (save_after || (touched >> op.targets[0] & 1)) return i + 1;
    } else if (op.is_save()) {
      save_after = true;
    } else {
      for (unsigned q : op.targets) touched |= std::uint64_t{1} << q;
      for (unsigned q : op.controls) touched |= std::uint64_t{1} << q;
      for (const DiagonalFactor<T>& factor : op.block_factors) {
        for (unsigned q : factor.targets) touched |= std::uint64_t{1} << q;
        for (unsigned q : factor.controls) touched |= std::uint64_t{1} << q;
      }
    }
  }
  return 0;
}

inline void set_clbit(std::uint64_t* clbits, unsigned c, std::uint64_t bit) {
  clbits[c / 64] = (clbits[c / 64] & ~(std::uint64_t{1} << (c % 64))) | (bit << (c % 64));
}

template <typename T>
bool Runner<T>::run_branching() {
  struct Branch {
    std::shared_ptr<StateVector<T>> state;
    unsigned active_qubits;
    std::size_t next_op;
    std::uint64_t shots;
    std::vector<std::uint64_t> clbits;
  };
  out_.method = "branching";
  out_.final_state.reset();  // the branches own their states
  const std::vector<Op<T>>& ops = program_.ops;
  const std::uint64_t shots = options_.shots;
  const std::size_t words = out_.words_per_shot;
  const std::size_t tail = terminal_tail_start(program_);
  // Progress counts an op once for each shot that goes through it.
  control_.ops_total = shots * ops.size();
  auto done = [this](std::uint64_t count) {
    control_.ops_done.fetch_add(count, std::memory_order_relaxed);
  };
  out_.memory.assign(shots * words, 0);
  std::vector<Branch> waiting;
  std::size_t i = 0;
  std::uint64_t n = shots;
  std::vector<std::uint64_t> clbits(words, 0);
  std::uint64_t row = 0;  // the first row of memory not yet written
  while (true) {
    const double weight = static_cast<double>(n) / static_cast<double>(shots);
    while (i < tail) {
      check_cancel();
      const Op<T>& op = ops[i];
      if (acts_within_block(op)) {
        const std::size_t next = run_gates(i, tail);
        done((next - i) * (n - 1));
        i = next;
        continue;
      }
      if (op.is_save()) {
        save(op, i, weight);
      } else if (!op.is_conditional() || condition_holds(op, clbits.data())) {
        if (op.kind == OpKind::Measure || op.kind == OpKind::Reset) {
          const unsigned q = op.targets[0];
          const double p1 = probability_of_one(*state_, q, par_);
          const double total = norm_squared(*state_, par_);
          const double tiny = total * kCertainBelow<T>;
          std::uint64_t ones = n;
          if (p1 <= tiny) {
            ones = 0;
          } else if (total - p1 > tiny) {
            ones = draw_binomial(rng_, n, p1 / total, [this] { check_cancel(); });
          }
          auto finish = [&](StateVector<T>& psi, int outcome, std::uint64_t* bits) {
            collapse<T>(psi, q, outcome, outcome ? p1 : total - p1, par_);
            if (op.kind == OpKind::Reset) {
              if (outcome) apply_flip<T>(psi, q, {}, par_);
            } else {
              set_clbit(bits, static_cast<unsigned>(op.slot), static_cast<std::uint64_t>(outcome));
            }
          };
          if (ones > 0 && ones < n) {
            // The current state, those waiting and the new one.
            if (waiting.size() + 2 > options_.max_branch_states) return false;
            auto other = std::make_shared<StateVector<T>>(program_.num_qubits, par_);
            other->copy_from(*state_, par_);
            Branch branch{other, active_qubits_, i + 1, ones, clbits};
            finish(*other, 1, branch.clbits.data());
            waiting.push_back(std::move(branch));
            n -= ones;
            ones = 0;
          }
          finish(*state_, ones ? 1 : 0, clbits.data());
        } else {
          apply_gate(active_part(reach(op)), op, par_);
          ++out_.gate_sweeps;
        }
      }
      done(n);
      ++i;
    }
    end_branch(tail, n, clbits, row);
    row += n;
    ++out_.branches;
    if (waiting.empty()) break;
    Branch& next = waiting.back();
    state_ = std::move(next.state);
    active_qubits_ = next.active_qubits;
    i = next.next_op;
    n = next.shots;
    clbits = std::move(next.clbits);
    waiting.pop_back();
  }
  out_.final_state = state_;
  // Fisher-Yates over the rows: the shots in random order.
  std::uint64_t* memory = out_.memory.data();
  if (words > 0) {
    for (std::uint64_t k = shots - 1; k > 0; --k) {
      const std::uint64_t j = rng_.below(k + 1);
      if (j != k)
        std::swap_ranges(memory + k * words, memory + (k + 1) * words, memory + j * words);
    }
  }
  return true;
}

// Runs the terminal tail on the branch's state and writes its n shots from
// `row` on: its clbits, with the tail's measurements sampled over them.
template <typename T>
void Runner<T>::end_branch(std::size_t tail, std::uint64_t n,
                           const std::vector<std::uint64_t>& clbits, std::uint64_t row) {
  const std::vector<Op<T>>& ops = program_.ops;
  const double weight = static_cast<double>(n) / static_cast<double>(options_.shots);
  std::vector<std::pair<unsigned, unsigned>> measures;  // (qubit, clbit)
  for (std::size_t i = tail; i < ops.size();) {
    check_cancel();
    const Op<T>& op = ops[i];
    if (op.kind == OpKind::Measure || op.is_save()) {
      if (op.is_save()) {
        save(op, i, weight);
      } else {
        measures.emplace_back(op.targets[0], static_cast<unsigned>(op.slot));
      }
      control_.ops_done.fetch_add(n, std::memory_order_relaxed);
      ++i;
      continue;
    }
    const std::size_t next = run_gates(i, ops.size());
    control_.ops_done.fetch_add((next - i) * (n - 1), std::memory_order_relaxed);
    i = next;
  }
  const std::size_t words = out_.words_per_shot;
  std::uint64_t* rows = out_.memory.data() + row * words;
  for (std::uint64_t s = 0; s < n; ++s) std::copy(clbits.begin(), clbits.end(), rows + s * words);
  if (measures.empty()) return;
  const std::vector<index_t> samples = sample_indices(*state_, n, rng_, par_, [this] {
    return control_.cancel_requested.load(std::memory_order_relaxed);
  });
  check_cancel();
  for (std::uint64_t s = 0; s < n; ++s) {
    for (const auto& [qubit, clbit] : measures)
      set_clbit(rows + s * words, clbit, samples[s] >> qubit & 1);
  }
}

}  // namespace svsim
