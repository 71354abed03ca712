// Gate kernels.  Every kernel takes its target and control qubits and loops only
// over the amplitudes whose control bits are all 1, so a gate with c controls
// touches 2^(n-c) amplitudes.
#pragma once

#include <algorithm>
#include <array>
#include <complex>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "parallel.h"
#include "state.h"

namespace svsim {

// std::complex's operator* checks for NaN and infinity on every call unless the
// compiler is told otherwise; amplitudes are finite, so multiply plainly.
template <typename T>
inline std::complex<T> cmul(std::complex<T> a, std::complex<T> b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

// Maps a loop counter to a state index with zeros inserted at the fixed bit
// positions (targets and controls), then the control bits set to 1.
class IndexExpander {
 public:
  IndexExpander(std::vector<unsigned> fixed_bits, const std::vector<unsigned>& controls) {
    std::sort(fixed_bits.begin(), fixed_bits.end());
    for (unsigned b : fixed_bits) low_masks_.push_back((index_t{1} << b) - 1);
    for (unsigned c : controls) control_mask_ |= index_t{1} << c;
  }

  index_t operator()(index_t i) const {
    for (index_t low : low_masks_) i = (i & low) | ((i & ~low) << 1);
    return i | control_mask_;
  }

  unsigned num_fixed() const { return static_cast<unsigned>(low_masks_.size()); }

 private:
  std::vector<index_t> low_masks_;
  index_t control_mask_ = 0;
};

inline std::vector<unsigned> concat(const std::vector<unsigned>& a,
                                    const std::vector<unsigned>& b) {
  std::vector<unsigned> out(a);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Offset of each basis state of the targets: bit j of m selects target j.
inline std::vector<index_t> target_offsets(const std::vector<unsigned>& targets) {
  std::vector<index_t> offsets(index_t{1} << targets.size(), 0);
  for (index_t m = 0; m < offsets.size(); ++m) {
    for (std::size_t j = 0; j < targets.size(); ++j) {
      if ((m >> j) & 1) offsets[m] |= index_t{1} << targets[j];
    }
  }
  return offsets;
}

inline index_t outer_count(unsigned num_qubits, const IndexExpander& expand) {
  return index_t{1} << (num_qubits - expand.num_fixed());
}

template <typename T>
void apply_dense_any(StateView<T> psi, const std::vector<unsigned>& targets,
                     const std::vector<unsigned>& controls, const std::complex<T>* m,
                     const Parallelism& par) {
  using C = std::complex<T>;
  const IndexExpander expand(concat(targets, controls), controls);
  const std::vector<index_t> offsets = target_offsets(targets);
  const index_t dim = offsets.size();
  C* data = psi.data();
  const index_t outer = outer_count(psi.num_qubits(), expand);
  // Each iteration needs a scratch vector; give each thread its own by
  // splitting the outer loop into one block per thread.
  const index_t blocks = par.worth_it(outer * dim) ? static_cast<index_t>(par.threads) : 1;
  Parallelism per_block = par;
  per_block.min_items = 1;
  if (blocks == 1) per_block.threads = 1;
  parallel_for(per_block, blocks, [&](index_t b) {
    std::vector<C> in(dim);
    const index_t begin = outer * b / blocks, end = outer * (b + 1) / blocks;
    for (index_t i = begin; i < end; ++i) {
      const index_t base = expand(i);
      for (index_t c = 0; c < dim; ++c) in[c] = data[base + offsets[c]];
      for (index_t r = 0; r < dim; ++r) {
        C acc(0);
        for (index_t c = 0; c < dim; ++c) acc += cmul(m[r * dim + c], in[c]);
        data[base + offsets[r]] = acc;
      }
    }
  });
}

// Calls body(base, length) for runs of consecutive loop indices that map to
// consecutive amplitudes: every index below the lowest fixed bit.  Loops over
// the runs, so memory is walked in order and the body's inner loop vectorises.
template <typename Body>
void for_each_run(const IndexExpander& expand, unsigned num_qubits, unsigned lowest_fixed_bit,
                  const Parallelism& par, Body&& body) {
  const index_t outer = outer_count(num_qubits, expand);
  const index_t run =
      std::min<index_t>(index_t{1} << lowest_fixed_bit, std::max<index_t>(outer, 1));
  Parallelism per_run = par;
  per_run.min_items = std::max<index_t>(1, par.min_items / run);
  parallel_for(per_run, outer / run, [&](index_t r) { body(expand(r * run), run); });
}

inline unsigned lowest_bit(const std::vector<unsigned>& a, const std::vector<unsigned>& b) {
  unsigned lowest = 63;
  for (unsigned q : a) lowest = std::min(lowest, q);
  for (unsigned q : b) lowest = std::min(lowest, q);
  return lowest;
}

inline unsigned highest_bit(const std::vector<unsigned>& a, const std::vector<unsigned>& b) {
  unsigned highest = 0;
  for (unsigned q : a) highest = std::max(highest, q);
  for (unsigned q : b) highest = std::max(highest, q);
  return highest;
}

inline index_t bit_mask(const std::vector<unsigned>& qubits) {
  index_t mask = 0;
  for (unsigned q : qubits) mask |= index_t{1} << q;
  return mask;
}

// Bit j of the result is bit positions[j] of value (the index of a basis state
// of those qubits).
inline index_t bits_at(index_t value, const std::vector<unsigned>& positions) {
  index_t bits = 0;
  for (std::size_t j = 0; j < positions.size(); ++j) bits |= ((value >> positions[j]) & 1) << j;
  return bits;
}

// Gates whose qubits all lie below this act alike on every chunk of at most
// 64 amplitudes.  X and SWAP with a qubit below it exchange runs of fewer than
// 64 amplitudes, which swap_amplitudes walks chunk by chunk; diagonals with all
// their qubits below it multiply by a table of the chunk's factors
// (periodic_diagonal).
constexpr unsigned kLowChunkBits = 6;

// A controlled diagonal with qubits at or above kLowChunkBits keeps one period
// of factors per value of its targets up there (controlled_diagonal): at most
// this many such targets, else it takes the generic walk.
constexpr unsigned kMaxHighDiagonalTargets = 3;

// A diagonal on k targets (k may be 0), for any targets and controls.  It
// walks runs of consecutive amplitudes and skips the factors that are 1 (a
// CZ multiplies a quarter of the state).
template <typename T>
void apply_diagonal_generic(StateView<T> psi, const std::vector<unsigned>& targets,
                            const std::vector<unsigned>& controls, const std::complex<T>* d,
                            const Parallelism& par) {
  using C = std::complex<T>;
  C* data = psi.data();
  const IndexExpander expand(concat(targets, controls), controls);
  const std::vector<index_t> offsets = target_offsets(targets);
  std::vector<std::pair<index_t, C>> factors;  // (offset, factor) for every factor that is not 1
  for (std::size_t m = 0; m < offsets.size(); ++m) {
    if (d[m] != C(1)) factors.emplace_back(offsets[m], d[m]);
  }
  if (factors.empty()) return;
  const unsigned lowest = lowest_bit(targets, controls);
  if (lowest < 3) {  // runs of fewer than 8 amplitudes: visit them one by one
    parallel_for(par, outer_count(psi.num_qubits(), expand), [&](index_t i) {
      const index_t base = expand(i);
      for (const auto& [offset, factor] : factors)
        data[base + offset] = cmul(factor, data[base + offset]);
    });
    return;
  }
  for_each_run(expand, psi.num_qubits(), lowest, par, [&](index_t base, index_t length) {
    for (const auto& [offset, factor] : factors) {
      C* x = data + base + offset;
      for (index_t j = 0; j < length; ++j) x[j] = cmul(factor, x[j]);
    }
  });
}

// One period of a diagonal's factors along the amplitudes of its qubits below
// kLowChunkBits: 2^(the highest of them + 1) amplitudes, at least 8, the
// period is returned and the factors written to `factors` (1 where a control
// is 0).  Its qubits from kLowChunkBits up are taken as set where they are
// controls, and as `high_index` says where they are targets (bit j: target j),
// so a diagonal with none up there repeats these factors along the whole
// state.  On the stack: a cache-blocked run makes them once per block, where a
// vector on the heap cost more than the gate on small blocks.
template <typename T>
index_t low_diagonal_period(const std::vector<unsigned>& targets,
                            const std::vector<unsigned>& controls, const std::complex<T>* d,
                            std::array<std::complex<T>, index_t{1} << kLowChunkBits>& factors,
                            index_t high_index = 0) {
  constexpr index_t low_bits = (index_t{1} << kLowChunkBits) - 1;
  unsigned top = 2;  // a period of at least 8
  for (unsigned q : targets) top = q < kLowChunkBits ? std::max(top, q) : top;
  for (unsigned q : controls) top = q < kLowChunkBits ? std::max(top, q) : top;
  const index_t period = index_t{2} << top;
  const index_t control_mask = bit_mask(controls) & low_bits;
  // bits_at reads 0 for a target from kLowChunkBits up: j has no bits there.
  for (index_t j = 0; j < period; ++j) {
    factors[j] = (j & control_mask) == control_mask ? d[bits_at(j, targets) | high_index]
                                                    : std::complex<T>(1);
  }
  return period;
}

// A diagonal gate on qubits at or above a block's low bits: constant over
// each block of 2^low_bits amplitudes, so a fused diagonal applies it as one
// factor per block instead of holding its qubits in its table.
template <typename T>
struct DiagonalFactor {
  std::vector<unsigned> targets;
  std::vector<unsigned> controls;
  std::vector<std::complex<T>> values;
};

// The product of the factors for each block of 2^low_bits amplitudes.
template <typename T>
std::vector<std::complex<T>> block_factors(unsigned num_qubits, unsigned low_bits,
                                           const std::vector<DiagonalFactor<T>>& factors) {
  std::vector<std::complex<T>> product(index_t{1} << (num_qubits - low_bits), std::complex<T>(1));
  for (const DiagonalFactor<T>& factor : factors) {
    index_t control_mask = 0;
    for (unsigned c : factor.controls) control_mask |= index_t{1} << (c - low_bits);
    for (index_t b = 0; b < product.size(); ++b) {
      if ((b & control_mask) != control_mask) continue;
      index_t m = 0;
      for (std::size_t j = 0; j < factor.targets.size(); ++j) {
        m |= ((b >> (factor.targets[j] - low_bits)) & 1) << j;
      }
      product[b] = cmul(product[b], factor.values[m]);
    }
  }
  return product;
}

// Tiles of at most 2^12 amplitudes: a tile and its partner (128 KiB in
// double) stay in a core's L2 cache while they are exchanged.
constexpr unsigned kSwapTileBits = 12;

// From this size on a state does not stay in the last-level cache from one
// sweep to the next, so a sweep that overwrites whole cache lines may write
// them past the cache: no read of each line before it is written (a third of
// the memory traffic), and no eviction of lines still to be read.
constexpr std::size_t kStreamingStoreBytes = std::size_t{64} << 20;

// row[j] = from[columns[j]] for j < count.  With `streaming`, row must be 16-byte
// aligned and count * sizeof(complex<T>) a multiple of 64; the caller fences.
template <typename T>
inline void gather_row(std::complex<T>* row, const std::complex<T>* from, const index_t* columns,
                       index_t count, bool streaming) {
#if defined(__SSE2__)
  if (streaming) {
    auto* out = reinterpret_cast<double*>(row);
    auto* in = reinterpret_cast<const double*>(from);
    if constexpr (sizeof(std::complex<T>) == 16) {
      for (index_t j = 0; j < count; ++j)
        _mm_stream_pd(out + 2 * j, _mm_loadu_pd(in + 2 * columns[j]));
    } else {
      for (index_t j = 0; j < count; j += 2) {
        const __m128d pair = _mm_loadh_pd(_mm_load_sd(in + columns[j]), in + columns[j + 1]);
        _mm_stream_pd(out + j, pair);
      }
    }
    return;
  }
#endif
  (void)streaming;
  for (index_t j = 0; j < count; ++j) row[j] = from[columns[j]];
}

inline void fence_streaming_stores() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// Several swaps of disjoint qubit pairs (a0, b0, a1, b1, ...) in one sweep,
// where one swap after another would sweep the state once each.  Exchanging
// the bits of every pair maps amplitude x to swap_bits(x) and back.  The
// sweep walks tiles: the low `run_bits` qubits (rows of consecutive
// amplitudes) with the partners of the pairs among them.  The other pairs map
// each tile onto one other tile (or itself); both are copied into contiguous
// buffers and written back permuted, so memory is read and written row by
// row, once.  Permuting in place would walk rows a power of two apart, which
// share cache sets and evict each other.
template <typename T>
void apply_swaps(StateView<T> psi, const std::vector<unsigned>& pairs, const Parallelism& par) {
  using C = std::complex<T>;
  std::vector<std::pair<unsigned, unsigned>> swaps;
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
    swaps.emplace_back(std::min(pairs[i], pairs[i + 1]), std::max(pairs[i], pairs[i + 1]));
  }
  auto swap_bits = [&swaps](index_t x) {
    for (const auto& [a, b] : swaps) {
      const index_t differ = ((x >> a) ^ (x >> b)) & 1;
      x ^= (differ << a) | (differ << b);
    }
    return x;
  };
  auto tile_bits_for = [&swaps](unsigned run_bits) {
    unsigned bits = run_bits;
    for (const auto& [a, b] : swaps) bits += a < run_bits && b >= run_bits;
    return bits;
  };
  unsigned run_bits = std::min(psi.num_qubits(), kSwapTileBits);
  while (tile_bits_for(run_bits) > kSwapTileBits) --run_bits;

  std::vector<unsigned> partners;  // the tile's qubits above its rows
  for (const auto& [a, b] : swaps) {
    if (a < run_bits && b >= run_bits) partners.push_back(b);
  }
  std::vector<unsigned> tile_qubits = partners;
  for (unsigned q = 0; q < run_bits; ++q) tile_qubits.push_back(q);
  const index_t run = index_t{1} << run_bits;
  // Row r of a tile starts at rows[r] in the state and at r * stride in a
  // buffer; one cache line of padding per row keeps a column's amplitudes in
  // different cache sets.
  const std::vector<index_t> rows = target_offsets(partners);
  const index_t stride = run + 64 / sizeof(C);
  auto buffer_index = [&](index_t offset) {
    return bits_at(offset, partners) * stride + (offset & (run - 1));
  };
  // The amplitude that lands at rows[r] + j comes from the partner tile's
  // buffer at row_source[r] + column_source[j].
  std::vector<index_t> row_source(rows.size()), column_source(run);
  for (index_t r = 0; r < rows.size(); ++r) row_source[r] = buffer_index(swap_bits(rows[r]));
  for (index_t j = 0; j < run; ++j) column_source[j] = buffer_index(swap_bits(j));
  // Rows are written in the order of the buffer columns they read, so the
  // next row reads the neighbours of what the last one read, still in L1.
  std::vector<index_t> row_order(rows.size());
  for (index_t r = 0; r < rows.size(); ++r) row_order[r] = r;
  std::sort(row_order.begin(), row_order.end(), [&](index_t a, index_t b) {
    return std::make_pair(row_source[a] % stride, row_source[a]) <
           std::make_pair(row_source[b] % stride, row_source[b]);
  });

  // Each tile pair is exchanged once, from its lower tile.  Which tiles those
  // are depends on the swaps (for a bit reversal, 3/4 of the first half of the
  // tiles and 1/4 of the second), so the threads split the list of them.
  const IndexExpander expand(tile_qubits, {});
  std::vector<index_t> lower_tiles;
  for (index_t t = 0; t < outer_count(psi.num_qubits(), expand); ++t) {
    const index_t base = expand(t);
    if (swap_bits(base) >= base) lower_tiles.push_back(base);
  }
  const index_t tiles = lower_tiles.size();
  const index_t buffer_size = stride * rows.size();
  const bool streaming = psi.size() * sizeof(C) >= kStreamingStoreBytes && run * sizeof(C) >= 64;
  // Each thread needs its own buffers: one block of tiles per thread.
  const index_t blocks = par.worth_it(psi.size()) ? static_cast<index_t>(par.threads) : 1;
  Parallelism per_block = par;
  per_block.min_items = 1;
  C* data = psi.data();
  parallel_for(per_block, blocks, [&](index_t block) {
    std::vector<C> own(buffer_size), other(buffer_size);
    auto load = [&](const C* tile, std::vector<C>& buffer) {
      for (index_t r = 0; r < rows.size(); ++r) {
        std::copy(tile + rows[r], tile + rows[r] + run, buffer.data() + r * stride);
      }
    };
    auto store = [&](C* tile, const std::vector<C>& source) {
      for (index_t r : row_order) {
        gather_row(tile + rows[r], source.data() + row_source[r], column_source.data(), run,
                   streaming);
      }
    };
    const index_t last = tiles * (block + 1) / blocks;
    for (index_t t = tiles * block / blocks; t < last; ++t) {
      const index_t base = lower_tiles[t], partner = swap_bits(base);
      load(data + base, own);
      if (partner == base) {
        store(data + base, own);
      } else {
        load(data + partner, other);
        store(data + base, other);
        store(data + partner, own);
      }
    }
    if (streaming) fence_streaming_stores();
  });
}

}  // namespace svsim
