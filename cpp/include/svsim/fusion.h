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

// A fused diagonal's table has at most num_qubits - kDiagonalTableMargin
// qubits (fuse_program).
constexpr unsigned kDiagonalTableMargin = 4;

struct FusionOptions {
  bool enabled = true;
  unsigned min_qubits = 14;  // smaller states run faster without the fusing work
  unsigned max_dense_qubits = 4;
  unsigned max_diagonal_qubits = 15;  // qubits of a fused diagonal's table
  std::size_t lookahead = 256;        // gates scanned past the first one of a block
  unsigned threads = 1;               // the costs of wide gates depend on it
};

namespace fusion_detail {

template <typename T>
std::uint64_t qubit_mask(const Op<T>& op) {
  std::uint64_t mask = 0;
  for (unsigned q : op.targets) mask |= std::uint64_t{1} << q;
  for (unsigned q : op.controls) mask |= std::uint64_t{1} << q;
  return mask;
}

// Relative times of gates, in sweeps of a one-qubit gate over the same state.
struct SweepCosts {
  double dense[6];     // a dense gate on k qubits
  double permutation;  // X or SWAP; with controls, like any gate, 0.6 of it
};

// A state in memory, measured at 24 and 26 qubits on AVX-512 in both
// precisions (bench/RESULTS.md).  Up to 2 qubits a gate costs about one sweep
// of memory; from 3 on it is bound by arithmetic, which doubles with each
// qubit and is shared by the threads while the memory bandwidth is not, so
// wide gates cost relatively less on more threads.
constexpr SweepCosts kInMemoryOneThread{{1.0, 1.0, 1.35, 2.7, 5.0, 9.5}, 0.8};
constexpr SweepCosts kInMemoryThreads{{1.0, 1.0, 1.0, 1.7, 3.2, 5.8}, 0.8};
// A state of at most kCacheResidentBytes stays in the last-level cache from
// one sweep to the next, so arithmetic decides on any number of threads and
// an exchange costs a fraction of a one-qubit gate.  Measured at 18 and 20
// qubits in both precisions on 1 and 2 threads: dense k = 2..5 took 1.4-1.7,
// 2.8-3.4, 5.8-7.3 and 10-14.5 sweeps, cx 0.18-0.3.
constexpr SweepCosts kInCache{{1.0, 1.0, 1.5, 3.1, 6.5, 13.0}, 0.45};
constexpr std::size_t kCacheResidentBytes = std::size_t{16} << 20;

// The AVX2 kernels, measured on Zen 3 (2 vCPUs, AVX2 only) at 20 and 24
// qubits in both precisions on 1 and 2 threads, targets at random: a 2-qubit
// gate costs what a 1-qubit one does, and 3, 4 and 5 targets 1.3-1.6,
// 2.6-3.2 and 4.8-6 sweeps, in the cache and out of it alike.  Half the
// AVX-512 figures: this machine's caches give a sweep less bandwidth per
// multiply-add than Zen 4's, so wider gates pay sooner.
constexpr SweepCosts kAvx2InMemory{{1.0, 1.0, 1.0, 1.5, 2.9, 5.3}, 0.8};
constexpr SweepCosts kAvx2InCache{{1.0, 1.0, 1.0, 1.5, 2.9, 5.3}, 0.45};

inline const SweepCosts& sweep_costs(std::size_t state_bytes, unsigned threads) {
  const bool in_cache = state_bytes <= kCacheResidentBytes;
  if (kernel_isa() == Isa::avx2) return in_cache ? kAvx2InCache : kAvx2InMemory;
  if (in_cache) return kInCache;
  return threads > 1 ? kInMemoryThreads : kInMemoryOneThread;
}

inline double dense_cost(unsigned k, const SweepCosts& costs) {
  return k > 5 ? 1e9 : costs.dense[k];
}

template <typename T>
double sweep_cost(const Op<T>& op, const SweepCosts& costs) {
  double cost;
  switch (op.kind) {
    case OpKind::Dense: cost = dense_cost(static_cast<unsigned>(op.targets.size()), costs); break;
    case OpKind::Diagonal: cost = 1.0; break;
    default: cost = costs.permutation; break;
  }
  return op.controls.empty() ? cost : 0.6 * cost;
}

// A fused gate whose rows are sparse enough for the kernel to skip zeros
// (dense_row_work; targets above the low bits, dense_tiled's contiguous
// tiles).  Measured at 20 qubits on one thread: about a 2-qubit gate's cost,
// plus 30% of it per target over 2 for the wider tiles (at 22 and 24 qubits
// on two threads a fifth fused chains of cx that ran faster apart).
inline double sparse_dense_cost(unsigned k, unsigned row_entries, const SweepCosts& costs) {
  const unsigned work = isa_baseline::dense_row_work(1u << k, row_entries);
  if (work == 1u << k) return dense_cost(k, costs);
  const unsigned work_qubits = static_cast<unsigned>(__builtin_ctz(work));
  return dense_cost(std::max(work_qubits, 2u), costs) * (1.0 + 0.3 * (k - 2));
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

// A gate's values in double: as given where the op kept them (single precision).
template <typename T>
std::vector<std::complex<double>> values_in_double(const Op<T>& op) {
  if (!op.exact_values.empty()) return op.exact_values;
  return {op.values.begin(), op.values.end()};
}

// The diagonal of a block of diagonal gates, on `qubits` (bit j = qubits[j]).
// Each gate multiplies only the entries it changes: for each of its factors
// other than 1, the entries with its controls set and its targets at that
// factor's pattern (a cp gate: a quarter of the table).  A table as wide as
// a small state is then built in a fraction of a sweep per gate, where going
// over every entry for every gate cost more than the gates themselves (QFT-14:
// three quarters of the kernel call).
template <typename T>
std::vector<std::complex<T>> fused_diagonal(const std::vector<const Op<T>*>& gates,
                                            const std::vector<unsigned>& qubits) {
  const std::uint64_t all = (std::uint64_t{1} << qubits.size()) - 1;
  std::vector<std::complex<double>> diag(all + 1, 1.0);
  for (const Op<T>* gate : gates) {
    std::uint64_t controls = 0;
    for (unsigned c : gate->controls) controls |= std::uint64_t{1} << local_position(qubits, c);
    std::vector<std::uint64_t> target_bits;
    for (unsigned t : gate->targets)
      target_bits.push_back(std::uint64_t{1} << local_position(qubits, t));
    std::uint64_t free = all & ~controls;
    for (std::uint64_t bit : target_bits) free &= ~bit;
    const std::vector<std::complex<double>> values = values_in_double(*gate);
    for (std::size_t pattern = 0; pattern < values.size(); ++pattern) {
      const std::complex<double> factor = values[pattern];
      if (factor == 1.0) continue;
      std::uint64_t fixed = controls;
      for (std::size_t j = 0; j < target_bits.size(); ++j)
        if (pattern >> j & 1) fixed |= target_bits[j];
      std::uint64_t rest = 0;  // every subset of the free bits, in increasing order
      do {
        diag[fixed | rest] *= factor;
        rest = (rest - free) & free;
      } while (rest != 0);
    }
  }
  return {diag.begin(), diag.end()};
}

// The matrix of a block: the gates applied to the columns of the identity,
// held as a 2k-qubit state whose low k bits are the row and high k the column.
template <typename T>
std::vector<std::complex<double>> fused_matrix_exact(const std::vector<const Op<T>*>& gates,
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
    const std::vector<std::complex<double>> values = values_in_double(*gate);
    switch (gate->kind) {
      case OpKind::Dense: apply_dense(columns, targets, controls, values.data(), serial); break;
      case OpKind::Diagonal:
        apply_diagonal(columns, targets, controls, values.data(), serial);
        break;
      case OpKind::Flip: apply_flip(columns, targets[0], controls, serial); break;
      case OpKind::Swap: apply_swap(columns, targets[0], targets[1], controls, serial); break;
      default: break;
    }
  }
  std::vector<std::complex<double>> matrix(dim * dim);
  for (std::size_t r = 0; r < dim; ++r) {
    for (std::size_t c = 0; c < dim; ++c) matrix[r * dim + c] = columns[c * dim + r];
  }
  return matrix;
}

template <typename T>
std::vector<std::complex<T>> fused_matrix(const std::vector<const Op<T>*>& gates,
                                          const std::vector<unsigned>& qubits) {
  const std::vector<std::complex<double>> matrix = fused_matrix_exact(gates, qubits);
  return {matrix.begin(), matrix.end()};
}

// Which rows of a block's matrix each column may reach, kept gate by gate
// while the block grows: an upper bound on the nonzeros of the fused matrix
// (products of permutations, diagonals and few one-qubit gates are sparse),
// without building it.  Local bit j is qubits[j], in the order they joined.
struct Reach {
  static constexpr unsigned kMaxQubits = 5;  // rows fit in the bits of a word
  std::vector<unsigned> qubits;
  std::vector<std::uint32_t> rows = {1};  // rows[c]: bit r set when entry (r, c) may be nonzero
  bool tracked = true;

  static std::uint32_t low_half(unsigned bit) {
    static constexpr std::uint32_t masks[] = {0x55555555u, 0x33333333u, 0x0F0F0F0Fu, 0x00FF00FFu,
                                              0x0000FFFFu};
    return masks[bit];
  }
  // Row r moves to r ^ 2^bit.
  static std::uint32_t flip(std::uint32_t r, unsigned bit) {
    const unsigned shift = 1u << bit;
    return ((r & low_half(bit)) << shift) | ((r >> shift) & low_half(bit));
  }

  unsigned local(unsigned q) {
    for (unsigned j = 0; j < qubits.size(); ++j)
      if (qubits[j] == q) return j;
    qubits.push_back(q);
    const std::size_t columns = rows.size();
    rows.resize(2 * columns);
    for (std::size_t c = 0; c < columns; ++c) rows[columns + c] = rows[c] << columns;
    return static_cast<unsigned>(qubits.size() - 1);
  }

  template <typename T>
  void apply(const Op<T>& op) {
    if (!tracked) return;
    std::uint64_t joined = 0;
    for (unsigned q : op.targets) joined |= std::uint64_t{1} << q;
    for (unsigned q : op.controls) joined |= std::uint64_t{1} << q;
    for (unsigned q : qubits) joined &= ~(std::uint64_t{1} << q);
    if (qubits.size() + __builtin_popcountll(joined) > kMaxQubits) {
      tracked = false;
      return;
    }
    if (op.kind == OpKind::Diagonal) return;
    std::uint32_t controlled = ~0u;
    for (unsigned q : op.controls) controlled &= ~low_half(local(q));
    std::vector<unsigned> targets;
    for (unsigned q : op.targets) targets.push_back(local(q));
    for (std::uint32_t& r : rows) {
      std::uint32_t moved = r & controlled;
      switch (op.kind) {
        case OpKind::Flip: moved = flip(moved, targets[0]); break;
        case OpKind::Swap: {
          const unsigned a = std::min(targets[0], targets[1]), b = std::max(targets[0], targets[1]);
          const unsigned shift = (1u << b) - (1u << a);
          const std::uint32_t a_only = ~low_half(a) & low_half(b),
                              b_only = low_half(a) & ~low_half(b);
          moved = (moved & ~(a_only | b_only)) | ((moved & a_only) << shift) |
                  ((moved & b_only) >> shift);
          break;
        }
        default:
          for (unsigned t : targets) moved |= flip(moved, t);
          break;
      }
      r = (r & ~controlled) | moved;
    }
  }

  // The most entries that any row of the matrix may have.
  unsigned row_entries() const {
    unsigned most = 0;
    for (unsigned r = 0; r < rows.size(); ++r) {
      unsigned count = 0;
      for (std::uint32_t column : rows) count += (column >> r) & 1;
      most = std::max(most, count);
    }
    return most;
  }
};

// The block a head gate would start with at most `limit` qubits: the later
// gates that fit, each taken when no gate it would jump over shares a qubit
// with it.  While every gate in it is diagonal, the block has no qubit limit:
// gates that touch the low kDiagonalBlockBits qubits go into its table (at
// most max_diagonal_qubits qubits), the others become per-block factors.
template <typename T>
struct Block {
  std::vector<std::size_t> indices;
  std::uint64_t mask = 0;        // every qubit of the block
  std::uint64_t table_mask = 0;  // a diagonal block's table qubits
  bool diagonal = false;
  double separate_cost = 0.0;  // the sweeps of its gates one by one
  double fused_cost = 0.0;     // one sweep of the fused gate
  Reach reach;
  bool only_swaps = false;  // left to merge_swaps, which does any number in one sweep
};

constexpr std::uint64_t kLowQubits = (std::uint64_t{1} << kDiagonalBlockBits) - 1;

template <typename T>
Block<T> grow_block(const std::vector<Op<T>>& ops, const std::vector<std::size_t>& remaining,
                    const std::vector<bool>& taken, std::size_t first, unsigned limit,
                    const FusionOptions& options, const SweepCosts& costs) {
  const Op<T>& head = ops[remaining[first]];
  Block<T> block;
  block.indices.push_back(remaining[first]);
  block.mask = qubit_mask(head);
  block.table_mask = block.mask & kLowQubits ? block.mask : 0;
  block.diagonal = head.kind == OpKind::Diagonal;
  block.separate_cost = sweep_cost(head, costs);
  block.reach.apply(head);
  block.only_swaps = head.kind == OpKind::Swap;
  std::uint64_t blocked = 0;
  const std::size_t last = std::min(remaining.size(), first + 1 + options.lookahead);
  for (std::size_t r = first + 1; r < last; ++r) {
    const std::size_t i = remaining[r];
    if (taken[i]) continue;
    const std::uint64_t mask = qubit_mask(ops[i]);
    if (mask & blocked) {
      blocked |= mask;
      continue;
    }
    bool fits;
    const bool still_diagonal = block.diagonal && ops[i].kind == OpKind::Diagonal;
    if (still_diagonal) {
      fits = !(mask & kLowQubits) ||
             static_cast<unsigned>(__builtin_popcountll(block.table_mask | mask)) <=
                 options.max_diagonal_qubits;
    } else {
      fits = static_cast<unsigned>(__builtin_popcountll(block.mask | mask)) <= limit;
    }
    if (fits) {
      block.indices.push_back(i);
      block.mask |= mask;
      if (mask & kLowQubits) block.table_mask |= mask;
      block.diagonal = still_diagonal;
      block.separate_cost += sweep_cost(ops[i], costs);
      block.reach.apply(ops[i]);
      block.only_swaps = block.only_swaps && ops[i].kind == OpKind::Swap;
    } else {
      blocked |= mask;
    }
  }
  const unsigned k = static_cast<unsigned>(__builtin_popcountll(block.mask));
  const std::uint64_t low_bits = isa_baseline::dense_tile_width<T>() - 1;
  const bool contiguous = (block.mask & low_bits) == 0;
  if (block.diagonal) {
    block.fused_cost = 1.0;
  } else if (contiguous && block.reach.tracked) {
    block.fused_cost = sparse_dense_cost(k, block.reach.row_entries(), costs);
  } else {
    block.fused_cost = dense_cost(k, costs);
  }
  return block;
}

// The fused gate of a block.  A diagonal block whose qubits fit in one table
// is a plain diagonal; a wider one keeps its gates above the low qubits as
// per-block factors.
template <typename T>
Op<T> fuse_block(const std::vector<Op<T>>& ops, const Block<T>& block,
                 const FusionOptions& options) {
  Op<T> fused;
  std::vector<const Op<T>*> gates;
  for (std::size_t i : block.indices) gates.push_back(&ops[i]);
  if (!block.diagonal) {
    fused.kind = OpKind::Dense;
    fused.targets = mask_to_qubits(block.mask);
    fused.values = fused_matrix(gates, fused.targets);
    return fused;
  }
  fused.kind = OpKind::Diagonal;
  if (static_cast<unsigned>(__builtin_popcountll(block.mask)) <= options.max_diagonal_qubits) {
    fused.targets = mask_to_qubits(block.mask);
    fused.values = fused_diagonal(gates, fused.targets);
    return fused;
  }
  std::vector<const Op<T>*> in_table;
  for (const Op<T>* gate : gates) {
    if (qubit_mask(*gate) & kLowQubits) {
      in_table.push_back(gate);
    } else {
      fused.block_factors.push_back({gate->targets, gate->controls, gate->values});
    }
  }
  fused.targets = mask_to_qubits(block.table_mask);
  fused.values = fused_diagonal(in_table, fused.targets);
  return fused;
}

// Each one-qubit gate joined to the next gate on its qubit when that is a
// two-qubit gate that is not diagonal (cx, swap, a dense pair): the blocks
// then follow the chains of two-qubit gates.  Without it, the blocks began
// at the first gate left, often a one-qubit gate of a layer of rotations,
// and gathered that layer into blocks of their own: a ring of cx after each
// layer (qcbm) cost two sweeps per layer where one does.  A diagonal pair
// (cz, cp) keeps its gates apart, so runs of them still fuse into one
// diagonal (qft).  Gates left over keep their places.
template <typename T>
std::vector<Op<T>> absorb_one_qubit_gates(const std::vector<Op<T>>& ops, std::size_t begin,
                                          std::size_t end) {
  std::vector<Op<T>> out;
  std::vector<std::vector<std::size_t>> waiting(64);  // one-qubit gates, per qubit
  auto flush = [&](unsigned q) {
    for (std::size_t i : waiting[q]) out.push_back(ops[i]);
    waiting[q].clear();
  };
  for (std::size_t i = begin; i < end; ++i) {
    const Op<T>& op = ops[i];
    const std::vector<unsigned> qubits = mask_to_qubits(qubit_mask(op));
    if (qubits.size() == 1) {
      waiting[qubits[0]].push_back(i);
      continue;
    }
    const bool joins = qubits.size() == 2 && op.kind != OpKind::Diagonal &&
                       !(waiting[qubits[0]].empty() && waiting[qubits[1]].empty());
    if (!joins) {
      for (unsigned q : qubits) flush(q);
      out.push_back(op);
      continue;
    }
    std::vector<const Op<T>*> gates;
    for (unsigned q : qubits) {
      for (std::size_t w : waiting[q]) gates.push_back(&ops[w]);
      waiting[q].clear();
    }
    gates.push_back(&op);
    Op<T> joined;
    joined.kind = OpKind::Dense;
    joined.targets = qubits;
    const std::vector<std::complex<double>> exact = fused_matrix_exact(gates, qubits);
    joined.values.assign(exact.begin(), exact.end());
    if (sizeof(T) < sizeof(double)) joined.exact_values = exact;
    out.push_back(std::move(joined));
  }
  for (unsigned q = 0; q < waiting.size(); ++q) flush(q);
  return out;
}

template <typename T>
void fuse_segment(const std::vector<Op<T>>& ops, std::size_t begin, std::size_t end,
                  const FusionOptions& options, const SweepCosts& costs, std::vector<Op<T>>& out) {
  std::vector<std::size_t> remaining;
  for (std::size_t i = begin; i < end; ++i) remaining.push_back(i);
  std::vector<bool> taken(ops.size(), false);
  std::size_t first = 0;
  while (first < remaining.size()) {
    // A wider block takes more gates but costs more per sweep; of the widths
    // up to the limit, keep the block that saves the most per sweep it costs.
    Block<T> best;
    double best_ratio = 1.0;
    const unsigned head_width =
        static_cast<unsigned>(__builtin_popcountll(qubit_mask(ops[remaining[first]])));
    for (unsigned limit = std::max(1u, head_width); limit <= options.max_dense_qubits; ++limit) {
      Block<T> block = grow_block(ops, remaining, taken, first, limit, options, costs);
      const double ratio = block.fused_cost / block.separate_cost;
      if (block.indices.size() > 1 && !block.only_swaps && ratio < best_ratio) {
        best_ratio = ratio;
        best = std::move(block);
      }
    }
    const Op<T>& head = ops[remaining[first]];
    if (!best.indices.empty()) {
      out.push_back(fuse_block(ops, best, options));
      for (std::size_t i : best.indices) taken[i] = true;
    } else {
      // Not worth fusing: emit the head alone and try again from the next gate.
      out.push_back(head);
      taken[remaining[first]] = true;
    }
    while (first < remaining.size() && taken[remaining[first]]) ++first;
  }
}

// Consecutive swaps without controls on disjoint qubits become one op that
// exchanges all their pairs in one sweep (the swaps that end a QFT).
template <typename T>
void merge_swaps(std::vector<Op<T>>& ops) {
  std::vector<Op<T>> out;
  auto plain_swap = [](const Op<T>& op) {
    return op.kind == OpKind::Swap && op.controls.empty() && !op.is_conditional();
  };
  for (std::size_t i = 0; i < ops.size();) {
    std::size_t end = i;
    std::uint64_t used = 0;
    while (end < ops.size() && plain_swap(ops[end]) && !(qubit_mask(ops[end]) & used)) {
      used |= qubit_mask(ops[end]);
      ++end;
    }
    if (end - i < 2) {
      out.push_back(std::move(ops[i]));
      ++i;
      continue;
    }
    Op<T> merged;
    merged.kind = OpKind::Swaps;
    for (; i < end; ++i)
      merged.targets.insert(merged.targets.end(), ops[i].targets.begin(), ops[i].targets.end());
    out.push_back(std::move(merged));
  }
  ops = std::move(out);
}

}  // namespace fusion_detail

// The program with its gates fused; measurements, resets, saves and
// conditional gates stay where they are and no gate moves across them.
template <typename T>
Program<T> fuse_program(Program<T> program, FusionOptions options) {
  if (!options.enabled || program.num_qubits < options.min_qubits || program.num_qubits > 64) {
    return program;  // moved, not copied: below the fusion threshold a run is mostly this
  }
  const std::size_t state_bytes =
      program.num_qubits < 48 ? sizeof(std::complex<T>) << program.num_qubits : SIZE_MAX;
  const fusion_detail::SweepCosts& costs = fusion_detail::sweep_costs(state_bytes, options.threads);
  // Building a fused diagonal's table costs each of its gates a pass over the
  // entries it changes: as wide as the state, that is what the gates cost
  // apart (QFT-14 ran 1.4x slower fused).  A table of at most a 2^-margin of
  // the state costs a small part of one.
  options.max_diagonal_qubits = std::min(
      options.max_diagonal_qubits,
      program.num_qubits > kDiagonalTableMargin ? program.num_qubits - kDiagonalTableMargin : 1u);
  Program<T> fused;
  fused.num_qubits = program.num_qubits;
  fused.num_clbits = program.num_clbits;
  fused.num_saves = program.num_saves;
  std::size_t segment = 0;
  for (std::size_t i = 0; i <= program.ops.size(); ++i) {
    const bool boundary =
        i == program.ops.size() || !program.ops[i].is_gate() || program.ops[i].is_conditional();
    if (!boundary) continue;
    const std::vector<Op<T>> joined =
        fusion_detail::absorb_one_qubit_gates(program.ops, segment, i);
    fusion_detail::fuse_segment(joined, 0, joined.size(), options, costs, fused.ops);
    if (i < program.ops.size()) fused.ops.push_back(program.ops[i]);
    segment = i + 1;
  }
  fusion_detail::merge_swaps(fused.ops);
  return fused;
}

}  // namespace svsim
