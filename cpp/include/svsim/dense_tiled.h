// The kernels whose speed is that of the vector instructions: dense k-qubit
// gates (the ones fusion makes hot), one-qubit gates, diagonals and exchanges.  The dense kernel
// works on tiles of B loop indices, split into real and imaginary parts and multiplied with the
// matrix vectorised across the tile; vectorising across loop indices rather than across the matrix
// works for any target qubits, low ones included.
//
// This file is included several times, each time inside a different
// `namespace svsim::isa_...` and `#pragma GCC target`; it has no include guard
// on purpose.

// The dense kernels load, split and store whole vector registers through the
// compiler's vector extension: one vector holds B = kVectorBytes / sizeof(T)
// reals.  Vectors wider than the registers were compiled through the stack
// (15 times slower on AVX2).
template <typename T>
constexpr unsigned lanes_per_vector() {
  return kVectorBytes / sizeof(T);
}

template <typename T>
struct VectorLanes {
  static constexpr unsigned B = lanes_per_vector<T>();
  typedef T vec __attribute__((vector_size(kVectorBytes)));
  using lane_int = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  typedef lane_int lane_indices __attribute__((vector_size(kVectorBytes)));

  // Lane i of the result is lane I_i of the concatenation a, b.
  template <std::size_t... I>
  static vec shuffle(vec a, vec b) {
#if defined(__clang__) || __GNUC__ >= 12
    return __builtin_shufflevector(a, b, I...);
#else
    return __builtin_shuffle(a, b, lane_indices{static_cast<lane_int>(I)...});
#endif
  }

  // Two vectors of interleaved amplitudes, in[0, 2B), as reals and
  // imaginaries whose lanes hold the amplitudes in an order of their own:
  // each 128-bit lane of the results takes the same lane of both inputs, so
  // that splitting is two in-lane shuffles (vshufps) and join, which undoes
  // it, two more (vunpcklps, vunpckhps).  Products lane by lane do not mind
  // the order; in natural order split and join took 6 and 4 instructions on
  // AVX2, crossing lanes.
  static constexpr std::size_t kLaneReals = 16 / sizeof(T);
  static constexpr std::size_t split_lane(std::size_t j, std::size_t part) {
    const std::size_t lane = j / kLaneReals * kLaneReals, i = j % kLaneReals;
    return i < kLaneReals / 2 ? lane + 2 * i + part : B + lane + 2 * (i - kLaneReals / 2) + part;
  }
  static constexpr std::size_t join_lane(std::size_t j, std::size_t half) {
    const std::size_t at = j / kLaneReals * kLaneReals + half * kLaneReals / 2 + j % kLaneReals / 2;
    return j % 2 ? B + at : at;
  }
  // The amplitude, of the B that split takes, in lane p of its results.
  static constexpr unsigned amplitude_in_lane(unsigned p) {
    return static_cast<unsigned>(split_lane(p, 0) / 2);
  }
  template <std::size_t... J>
  static void split(const T* in, vec& re, vec& im, std::index_sequence<J...>) {
    vec a, b;
    std::memcpy(&a, in, sizeof a);
    std::memcpy(&b, in + B, sizeof b);
    re = shuffle<split_lane(J, 0)...>(a, b);
    im = shuffle<split_lane(J, 1)...>(a, b);
  }
  template <std::size_t... J>
  static void join(T* out, vec re, vec im, std::index_sequence<J...>) {
    const vec a = shuffle<join_lane(J, 0)...>(re, im);
    const vec b = shuffle<join_lane(J, 1)...>(re, im);
    std::memcpy(out, &a, sizeof a);
    std::memcpy(out + B, &b, sizeof b);
  }

  // v[j] <- v[j ^ 2^Bit]: one or two shuffle instructions.
  template <unsigned Bit, std::size_t... J>
  static vec swap_lanes(vec v, std::index_sequence<J...>) {
    return shuffle<(J ^ (std::size_t{1} << Bit))...>(v, v);
  }
};

// A matrix split for products with three real multiply-adds each instead of
// four: with m = c + id and x = a + ib,
//   m x = [c (a + b) - b (c + d)] + i [c (a + b) + a (d - c)],
// and the c (a + b) terms of a row are summed once for both parts.  The row's
// two final subtractions and each column's a + b are adds, which Zen 4 runs on
// pipes of their own and which are few; the multiply-adds were the bound of the
// dense kernel on 3 to 5 targets.
template <typename T, unsigned K>
struct GaussMatrix {
  alignas(64) T re[K * K];    // c
  alignas(64) T sum[K * K];   // c + d
  alignas(64) T diff[K * K];  // d - c
};

// With 16 vector registers the twelve sums of a row of four vectors leave
// three registers, for the row's coefficients, so every operand from the tile
// is a load; summing a + b in the row then costs two loads more per vector
// than loading a sum made once per tile.  Measured on AVX2 (Zen 3, one
// thread, interleaved, CPU time): the product alone on a tile in L1 ran
// 1.16-1.2 times faster on 3 to 5 targets; whole gates at 20 qubits with the
// targets above the tile 1.06-1.2 times, single and double.  On 2 targets the
// rows are too short to pay for the sums (1.03-1.08 times slower), and with 32
// registers a and b stay in registers for the row's sum.
template <unsigned K>
constexpr bool tile_sums() {
  return kVectorRegisters < 32 && K >= 8;
}

// A tile of B loop indices: the K amplitudes of each, as reals and
// imaginaries, and (when tile_sums) their sums.
template <typename T, unsigned K, unsigned B>
struct GaussTile {
  alignas(64) T re[K][B], im[K][B];
  alignas(64) T sum[tile_sums<K>() ? K : 1][B];

  // Column c's sums, once its reals and imaginaries are in.
  void sum_column(unsigned c) {
    if constexpr (tile_sums<K>()) {
#pragma omp simd
      for (unsigned b = 0; b < B; ++b) sum[c][b] = re[c][b] + im[c][b];
    }
  }
};

// R rows of the product that share the NZ columns at column(n), n < NZ: y[r][b]
// = sum_n m[rows[r]][c_n] x[c_n][b].  Written with the compiler's vector
// extension so that the sums stay in registers (as arrays they went back to
// the stack on every column).  Rows share the loads of the tile, which is why
// there are R of them: one row would wait on the loads, not on the arithmetic.
template <typename T, unsigned K, unsigned B, unsigned NZ, unsigned R, typename Column>
__attribute__((always_inline)) inline void tile_rows(const GaussMatrix<T, K>& m,
                                                     const unsigned (&rows)[R], Column column,
                                                     const GaussTile<T, K, B>& x, T (&yr)[R][B],
                                                     T (&yi)[R][B]) {
  typedef T vec __attribute__((vector_size(kVectorBytes)));
  constexpr unsigned L = kVectorBytes / sizeof(T), V = B / L;
  vec both[R][V] = {}, re[R][V] = {}, im[R][V] = {};
  for (unsigned n = 0; n < NZ; ++n) {
    const unsigned c = column(n);
    for (unsigned v = 0; v < V; ++v) {
      vec a, b, s;
      std::memcpy(&a, &x.re[c][v * L], sizeof a);
      std::memcpy(&b, &x.im[c][v * L], sizeof b);
      if constexpr (tile_sums<K>()) {
        std::memcpy(&s, &x.sum[c][v * L], sizeof s);
      } else {
        s = a + b;
      }
      for (unsigned r = 0; r < R; ++r) {
        const unsigned e = rows[r] * K + c;
        both[r][v] += m.re[e] * s;
        re[r][v] += m.sum[e] * b;
        im[r][v] += m.diff[e] * a;
      }
    }
  }
  for (unsigned r = 0; r < R; ++r) {
    for (unsigned v = 0; v < V; ++v) {
      const vec out_re = both[r][v] - re[r][v], out_im = both[r][v] + im[r][v];
      std::memcpy(&yr[r][v * L], &out_re, sizeof out_re);
      std::memcpy(&yi[r][v * L], &out_im, sizeof out_im);
    }
  }
}

// Rows computed together on full rows.  Measured on AVX-512 (Zen 4, 20
// qubits, one thread): 2 targets are fastest one row at a time, 3 and 5 two
// rows at a time, 4 four; then 3 to 5 targets take 0.86, 0.8 and 0.68 of the
// time of rows of four multiply-adds per product (at 26 qubits on two threads,
// where the memory bounds them, 1.0, 0.85 and 0.74).  With 16 vector
// registers the sums of more than one row do not fit.
template <unsigned K>
constexpr unsigned dense_rows_per_step() {
  if (kVectorRegisters < 32 || K < 8) return 1;
  return K == 16 ? 4 : 2;
}

// The whole product of a tile, row by row: store(r, yr, yi) takes row r.  A
// row with at most `work` nonzeros computes only those, at columns[r * K ...].
// Always inlined, with `store`: when GCC called them instead, the rows went
// through the stack and 3 targets took 1.15 times as long.
template <typename T, unsigned K, unsigned B, typename Store>
__attribute__((always_inline)) inline void tile_product(const GaussMatrix<T, K>& m,
                                                        const std::uint32_t* columns, unsigned work,
                                                        const GaussTile<T, K, B>& x, Store store) {
  if (work == K) {
    constexpr unsigned R = dense_rows_per_step<K>();
    for (unsigned first = 0; first < K; first += R) {
      unsigned rows[R];
      for (unsigned r = 0; r < R; ++r) rows[r] = first + r;
      alignas(64) T yr[R][B], yi[R][B];
      tile_rows<T, K, B, K, R>(m, rows, [](unsigned n) { return n; }, x, yr, yi);
      for (unsigned r = 0; r < R; ++r) store(first + r, yr[r], yi[r]);
    }
    return;
  }
  for (unsigned r = 0; r < K; ++r) {
    const unsigned rows[1] = {r};
    const std::uint32_t* row_columns = columns + r * K;
    auto column = [row_columns](unsigned n) { return row_columns[n]; };
    alignas(64) T yr[1][B], yi[1][B];
    if (work == K / 2) {
      tile_rows<T, K, B, std::max(K / 2, 1u), 1>(m, rows, column, x, yr, yi);
    } else if (work == K / 4) {
      tile_rows<T, K, B, std::max(K / 4, 1u), 1>(m, rows, column, x, yr, yi);
    } else {
      tile_rows<T, K, B, std::max(K / 8, 1u), 1>(m, rows, column, x, yr, yi);
    }
    store(r, yr[0], yi[0]);
  }
}

// Tiles fetched ahead by software when prefetch_pays.
constexpr index_t kPrefetchTiles = 4;

// Whether the smallest offset between a tile's streams is 1 to 8 KiB.
inline bool prefetch_pays(const index_t* offsets, unsigned count, std::size_t amplitude_bytes) {
  index_t nearest = ~index_t{0};
  for (unsigned c = 1; c < count; ++c) nearest = std::min(nearest, offsets[c]);
  const index_t bytes = nearest * 2 * amplitude_bytes;
  return bytes >= 1024 && bytes <= 8192;
}

// Pairs 1 to 4 KiB apart, read as two interleaved streams, ran 2 to 2.5
// times slower than a gate on a high qubit (a one-qubit gate on qubit 6 or 7
// of a 24-qubit double state, 1 thread: 27-28 ms against 9); copying each
// block of both streams into a buffer first reads it as one stream (11-12 ms).
// From 8 KiB on the copy gained nothing, and dense tiles of 2 to 4 targets,
// staged the same way, gained at some strides and lost at others: they keep
// their prefetches.
constexpr std::size_t kStagedBlockBytes = 8192;
inline bool stages_pair_blocks(std::size_t stride_bytes) {
  return stride_bytes >= 1024 && 2 * stride_bytes <= kStagedBlockBytes;
}

// The entries of each row that the dense kernel computes for a gate on
// log2(K) targets whose rows have at most row_entries nonzeros: from 3
// targets on, a half, a quarter or (from 4) an eighth of the row, nonzeros
// first, when they fit; otherwise all K (on 2 targets skipping measured slower).
constexpr unsigned dense_row_work(unsigned K, unsigned row_entries) {
  if (K >= 16 && 8 * row_entries <= K) return K / 8;
  if (K >= 8 && 4 * row_entries <= K) return K / 4;
  if (K >= 8 && 2 * row_entries <= K) return K / 2;
  return K;
}

// Loop indices per tile: two 64-byte vectors of reals per row of a tile.
template <typename T>
constexpr unsigned dense_tile_width() {
  return 128 / sizeof(T);
}

// The dense product on tiles of B consecutive loop indices that are B consecutive amplitudes (no
// target or control among the low log2(B) bits): tiles load and store whole vectors.  B is the
// widest such run up to dense_tile_width, and at least one vector of reals.
template <typename T, unsigned K, unsigned B>
void dense_contiguous_tiles(T* data, index_t outer, const IndexExpander& expand,
                            const index_t* offsets, const GaussMatrix<T, K>& gauss,
                            const std::uint32_t* columns, unsigned work, const Parallelism& par) {
  Parallelism per_tile = par;
  per_tile.min_items = std::max<index_t>(1, par.min_items / (B * K));
  const index_t tiles = outer / B;
  // Measured at 24 qubits (Zen 4): when the nearest target or control is
  // 1 to 8 KiB of amplitudes away, the tiles' streams are runs too
  // short for the hardware prefetcher and the kernel ran 2 to 4 times
  // slower; fetching a few tiles ahead recovers most of it.  Elsewhere the
  // prefetches only cost time.
  const bool prefetch = prefetch_pays(offsets, K, sizeof(T));
  parallel_for(per_tile, tiles, [&](index_t t) {
    const index_t base = expand(t * B);
    if (prefetch && t + kPrefetchTiles < tiles) {
      const char* ahead =
          reinterpret_cast<const char*>(data + 2 * expand((t + kPrefetchTiles) * B));
      for (unsigned c = 0; c < K; ++c) {
        for (unsigned line = 0; line < 2 * B * sizeof(T); line += 64) {
          __builtin_prefetch(ahead + 2 * sizeof(T) * offsets[c] + line, 1);
        }
      }
    }
    GaussTile<T, K, B> x;
    using Lanes = VectorLanes<T>;
    constexpr unsigned L = Lanes::B;
    constexpr auto lanes = std::make_index_sequence<L>{};
    for (unsigned c = 0; c < K; ++c) {
      const T* in = data + 2 * (base + offsets[c]);
      for (unsigned v = 0; v < B / L; ++v) {
        typename Lanes::vec re, im;
        Lanes::split(in + 2 * v * L, re, im, lanes);
        std::memcpy(&x.re[c][v * L], &re, sizeof re);
        std::memcpy(&x.im[c][v * L], &im, sizeof im);
      }
      x.sum_column(c);
    }
    tile_product<T, K, B>(gauss, columns, work, x,
                          [&](unsigned r, const T* yr, const T* yi) __attribute__((always_inline)) {
                            T* out = data + 2 * (base + offsets[r]);
                            for (unsigned v = 0; v < B / L; ++v) {
                              typename Lanes::vec re, im;
                              std::memcpy(&re, yr + v * L, sizeof re);
                              std::memcpy(&im, yi + v * L, sizeof im);
                              Lanes::join(out + 2 * v * L, re, im, lanes);
                            }
                          });
  });
}

// The longest run of consecutive loop indices that are consecutive amplitudes, up to `widest`.
inline unsigned contiguous_run(index_t outer, const IndexExpander& expand, unsigned widest) {
  unsigned run = widest;
  while (run > 1 && !(expand(run - 1) - expand(0) == run - 1 && outer % run == 0)) run /= 2;
  return run;
}

// Two targets on amplitudes left interleaved: for each matrix entry m = c + id
// and vector v of amplitudes x + iy, m v = c v + d [-y, x], so a row takes two
// multiply-adds per entry and vector, on v and on its swapped copy [y, x], made
// once.  No split, no join, no tile in memory: for 2 targets the Gauss tiles'
// fill and stores cost more than the multiply-add they save per product.
// Measured on AVX2 (Zen 3, one thread, thread CPU time, against the Gauss
// tiles alternating): single precision 0.72-0.91 of their time at 20 qubits
// and 0.75-0.88 at 16, on seven target pairs from {3, 4} to {10, 14}, where
// qsim's 2-target gates had been 1.5-1.6 times faster than the tiles; whole
// qv-20 and qcbm-20 about 0.97.  Single precision on AVX2 only: in double the
// pairs gained 0.5-0.92 but {5, 6} at 20 qubits lost (1.1-1.46) and qv-20 did
// not gain, and AVX-512, with 32 registers, was not measured.  Needs runs of
// at least one vector of consecutive amplitudes (the targets and controls
// above it) and a state aligned to a vector.
template <typename T>
void dense2_interleaved(T* data, index_t outer, unsigned run, const IndexExpander& expand,
                        const index_t* offsets, const std::complex<T>* matrix,
                        const Parallelism& par) {
  using Lanes = VectorLanes<T>;
  using vec = typename Lanes::vec;
  constexpr unsigned L = Lanes::B, P = L / 2;  // reals, amplitudes per vector
  constexpr auto lanes = std::make_index_sequence<L>{};
  alignas(64) T c[16][L], d[16][L];
  for (unsigned e = 0; e < 16; ++e) {
    for (unsigned j = 0; j < L; ++j) {
      c[e][j] = matrix[e].real();
      d[e][j] = (j % 2 == 0) ? -matrix[e].imag() : matrix[e].imag();
    }
  }
  // Short runs (a target or control just above one vector) are taken several
  // to a task, so that each task has at least kTaskAmplitudes amplitudes.
  constexpr unsigned kTaskAmplitudes = 64;
  const index_t per_task = std::max(1u, kTaskAmplitudes / run), runs = outer / run;
  Parallelism per_chunk = par;
  per_chunk.min_items = std::max<index_t>(1, par.min_items / (4 * run * per_task));
  parallel_for(per_chunk, (runs + per_task - 1) / per_task, [&](index_t chunk) {
    const index_t end = std::min(runs, (chunk + 1) * per_task);
    for (index_t g = chunk * per_task; g < end; ++g) {
      const index_t base = expand(g * run);
      T* at[4];
      for (unsigned r = 0; r < 4; ++r) at[r] = data + 2 * (base + offsets[r]);
      for (unsigned a = 0; a < run; a += P) {
        // Aligned loads and stores (the caller checks the state's alignment):
        // GCC's generic tuning splits a 32-byte copy it cannot prove aligned
        // into halves, and the swap then waits on a failed store forwarding.
        const vec v0 = *reinterpret_cast<const vec*>(at[0] + 2 * a);
        const vec v1 = *reinterpret_cast<const vec*>(at[1] + 2 * a);
        const vec v2 = *reinterpret_cast<const vec*>(at[2] + 2 * a);
        const vec v3 = *reinterpret_cast<const vec*>(at[3] + 2 * a);
        const vec w0 = Lanes::template swap_lanes<0>(v0, lanes);
        const vec w1 = Lanes::template swap_lanes<0>(v1, lanes);
        const vec w2 = Lanes::template swap_lanes<0>(v2, lanes);
        const vec w3 = Lanes::template swap_lanes<0>(v3, lanes);
        for (unsigned r = 0; r < 4; ++r) {
          const vec* cr = reinterpret_cast<const vec*>(c[4 * r]);
          const vec* dr = reinterpret_cast<const vec*>(d[4 * r]);
          const vec y = cr[0] * v0 + dr[0] * w0 + cr[1] * v1 + dr[1] * w1 + cr[2] * v2 +
                        dr[2] * w2 + cr[3] * v3 + dr[3] * w3;
          *reinterpret_cast<vec*>(at[r] + 2 * a) = y;
        }
      }
    }
  });
}

template <typename T, unsigned K>
void dense_tiled(std::complex<T>* state, index_t outer, const IndexExpander& expand,
                 const index_t* offsets, const std::complex<T>* matrix, const Parallelism& par) {
  constexpr unsigned B = dense_tile_width<T>();
  constexpr unsigned L = kVectorBytes / sizeof(T);
  const unsigned run = contiguous_run(outer, expand, B);
  T* data = reinterpret_cast<T*>(state);
  // Chosen before the Gauss setup, which it does not use.  On 2 targets the
  // tiles compute every entry of a row too (dense_row_work), so matrices with
  // zeros lose nothing here.
  if constexpr (K == 4 && kVectorBytes == 32 && sizeof(T) == 4) {
    if (run >= L / 2 && reinterpret_cast<std::uintptr_t>(data) % kVectorBytes == 0) {
      return dense2_interleaved<T>(data, outer, run, expand, offsets, matrix, par);
    }
  }
  GaussMatrix<T, K> gauss;
  const T* mr = gauss.re;
  alignas(64) T mi[K * K];
  for (unsigned e = 0; e < K * K; ++e) {
    gauss.re[e] = matrix[e].real();
    mi[e] = matrix[e].imag();
    gauss.sum[e] = gauss.re[e] + mi[e];
    gauss.diff[e] = mi[e] - gauss.re[e];
  }
  // Each row's columns, its nonzeros first, for rows that skip their zeros.
  std::uint32_t columns[K * K];
  unsigned row_entries = 0;
  for (unsigned r = 0; r < K; ++r) {
    auto is_zero = [&](unsigned c) { return mr[r * K + c] == T(0) && mi[r * K + c] == T(0); };
    unsigned count = 0;
    for (unsigned c = 0; c < K; ++c) {
      if (!is_zero(c)) columns[r * K + count++] = static_cast<std::uint32_t>(c);
    }
    row_entries = std::max(row_entries, count);
    for (unsigned c = 0; c < K; ++c) {
      if (is_zero(c)) columns[r * K + count++] = static_cast<std::uint32_t>(c);
    }
  }
  const unsigned work = dense_row_work(K, row_entries);
  // Tiles narrower than the widest (a target or control on the bits just
  // above one vector) ran as fast per amplitude, measured on AVX2 (Zen 3, 20
  // qubits, single, one thread): 4 targets with the lowest on qubit 3 took
  // 2.2 ms in tiles of 8 against 3.5 ms gathered; on qubit 4, 2.0 ms in tiles
  // of 16 against 3.5.  Narrower than a vector they are gathered (below).
  if (run >= B) {
    return dense_contiguous_tiles<T, K, B>(data, outer, expand, offsets, gauss, columns, work, par);
  }
  if constexpr (B / 2 >= L) {
    if (run == B / 2) {
      return dense_contiguous_tiles<T, K, B / 2>(data, outer, expand, offsets, gauss, columns, work,
                                                 par);
    }
  }
  if constexpr (B / 4 >= L) {
    if (run == B / 4) {
      return dense_contiguous_tiles<T, K, B / 4>(data, outer, expand, offsets, gauss, columns, work,
                                                 par);
    }
  }
  // Measured on AVX-512: when the low bits are taken, the row-wise path below
  // beats gathered tiles in double precision from 2 targets on; in single
  // precision the gathered tiles win.
  const bool row_wise = sizeof(T) == 8 && K >= 4;
  // Otherwise vectorise across the rows of the matrix, one loop index at a
  // time: each input amplitude is broadcast, so nothing is gathered into
  // vectors element by element.
  if (row_wise) {
    alignas(64) T cr[K * K], ci[K * K];  // column-major: column c is contiguous
    for (unsigned r = 0; r < K; ++r) {
      for (unsigned c = 0; c < K; ++c) {
        cr[c * K + r] = mr[r * K + c];
        ci[c * K + r] = mi[r * K + c];
      }
    }
    Parallelism per_index = par;
    per_index.min_items = std::max<index_t>(1, par.min_items / K);
    parallel_for(per_index, outer, [&](index_t i) {
      const index_t base = expand(i);
      alignas(64) T yr[K] = {}, yi[K] = {};
      for (unsigned c = 0; c < K; ++c) {
        const T xr = data[2 * (base + offsets[c])], xi = data[2 * (base + offsets[c]) + 1];
#pragma omp simd aligned(yr, yi : 64)
        for (unsigned r = 0; r < K; ++r) {  // four separate multiply-adds, each fused
          yr[r] += cr[c * K + r] * xr;
          yr[r] -= ci[c * K + r] * xi;
          yi[r] += cr[c * K + r] * xi;
          yi[r] += ci[c * K + r] * xr;
        }
      }
      for (unsigned r = 0; r < K; ++r) {
        data[2 * (base + offsets[r])] = yr[r];
        data[2 * (base + offsets[r]) + 1] = yi[r];
      }
    });
    return;
  }
  auto tile = [&](index_t first, unsigned width) {
    GaussTile<T, K, B> x;
    index_t base[B];
    for (unsigned b = 0; b < width; ++b) base[b] = expand(first + b);
    for (unsigned c = 0; c < K; ++c) {
      for (unsigned b = 0; b < width; ++b) {
        const index_t at = 2 * (base[b] + offsets[c]);
        x.re[c][b] = data[at];
        x.im[c][b] = data[at + 1];
      }
      for (unsigned b = width; b < B; ++b) x.re[c][b] = x.im[c][b] = T(0);
      x.sum_column(c);
    }
    tile_product<T, K, B>(gauss, columns, work, x,
                          [&](unsigned r, const T* yr, const T* yi) __attribute__((always_inline)) {
                            for (unsigned b = 0; b < width; ++b) {
                              const index_t at = 2 * (base[b] + offsets[r]);
                              data[at] = yr[b];
                              data[at + 1] = yi[b];
                            }
                          });
  };
  const index_t tiles = outer / B;
  Parallelism per_tile = par;
  per_tile.min_items = std::max<index_t>(1, par.min_items / (B * K));
  parallel_for(per_tile, tiles, [&](index_t t) { tile(t * B, B); });
  if (outer % B) tile(tiles * B, static_cast<unsigned>(outer % B));
}

template <typename T>
bool dense_tiled_dispatch(std::complex<T>* state, unsigned k, index_t outer,
                          const IndexExpander& expand, const index_t* offsets,
                          const std::complex<T>* matrix, const Parallelism& par) {
  switch (k) {
    case 1: dense_tiled<T, 2>(state, outer, expand, offsets, matrix, par); return true;
    case 2: dense_tiled<T, 4>(state, outer, expand, offsets, matrix, par); return true;
    case 3: dense_tiled<T, 8>(state, outer, expand, offsets, matrix, par); return true;
    case 4: dense_tiled<T, 16>(state, outer, expand, offsets, matrix, par); return true;
    case 5: dense_tiled<T, 32>(state, outer, expand, offsets, matrix, par); return true;
    default: return false;
  }
}

// The position of the n-th set bit of mask.
constexpr unsigned nth_set_bit(unsigned mask, unsigned n) {
  for (unsigned bit = 0;; ++bit) {
    if ((mask >> bit) & 1) {
      if (n == 0) return bit;
      --n;
    }
  }
}

// One column block of the low-target product: the KH rows of the tile gain
// coef[r][d] * v for every value d of (source XOR destination) on the low
// targets (the lane bits in LowMask), taken in Gray-code order so that each
// next permutation of v is one swap of lanes.  Products as in tile_rows: three
// multiply-adds into the three sums of each row (see GaussMatrix).
template <typename T, unsigned KH, unsigned LowMask, unsigned S = 0>
inline void low_product(typename VectorLanes<T>::vec vr, typename VectorLanes<T>::vec vi,
                        typename VectorLanes<T>::vec (&both)[KH],
                        typename VectorLanes<T>::vec (&re)[KH],
                        typename VectorLanes<T>::vec (&im)[KH],
                        const typename VectorLanes<T>::vec* coef, unsigned h) {
  using Tile = VectorLanes<T>;
  constexpr unsigned KL = 1u << __builtin_popcount(LowMask);
  constexpr unsigned d = S ^ (S >> 1);
  const typename Tile::vec vs = vr + vi;
  for (unsigned r = 0; r < KH; ++r) {
    const typename Tile::vec* c = coef + 3 * ((r * KH + h) * KL + d);
    both[r] += c[0] * vs;
    re[r] += c[1] * vi;
    im[r] += c[2] * vr;
  }
  if constexpr (S + 1 < KL) {
    constexpr unsigned bit = nth_set_bit(LowMask, __builtin_ctz(S + 1));
    constexpr auto lanes = std::make_index_sequence<Tile::B>{};
    low_product<T, KH, LowMask, S + 1>(Tile::template swap_lanes<bit>(vr, lanes),
                                       Tile::template swap_lanes<bit>(vi, lanes), both, re, im,
                                       coef, h);
  }
}

// A dense gate with some targets inside a tile of B consecutive amplitudes
// and the rest, and every control, above it.  A tile and its KH - 1 partners
// (the other values of the high targets) are split whole (lane p holds the
// tile's amplitude VectorLanes::amplitude_in_lane(p)), and the low part of the
// product is done by permuting lanes in registers: LowMask has the lane bits
// that hold the low targets' bits.  coef holds, for each (high row r, high
// column h, d), three vectors of B: the entries' real parts c, c + d and d - c
// (see GaussMatrix), lane by lane.
template <typename T, unsigned KH, unsigned LowMask>
void dense_low_tiles(std::complex<T>* state, index_t groups, const IndexExpander& expand,
                     const index_t* high_offsets, const T* coef, const Parallelism& par) {
  using Tile = VectorLanes<T>;
  using vec = typename Tile::vec;
  constexpr unsigned B = Tile::B;
  constexpr auto lanes = std::make_index_sequence<B>{};
  T* data = reinterpret_cast<T*>(state);
  const vec* coef_vectors = reinterpret_cast<const vec*>(coef);
  // Threads share chunks of groups, so the loop over a chunk is compiled
  // inline with the coefficients' addresses hoisted out of it.
  constexpr index_t chunk = 64;
  Parallelism per_chunk = par;
  per_chunk.min_items = std::max<index_t>(1, par.min_items / (B * KH * chunk));
  parallel_for(per_chunk, (groups + chunk - 1) / chunk, [&](index_t c) {
    const index_t end = std::min(groups, (c + 1) * chunk);
    for (index_t g = c * chunk; g < end; ++g) {
      const index_t base = expand(g * B);
      vec both[KH] = {}, re[KH] = {}, im[KH] = {};
      for (unsigned h = 0; h < KH; ++h) {
        vec vr, vi;
        Tile::split(data + 2 * (base + high_offsets[h]), vr, vi, lanes);
        low_product<T, KH, LowMask>(vr, vi, both, re, im, coef_vectors, h);
      }
      for (unsigned r = 0; r < KH; ++r) {
        Tile::join(data + 2 * (base + high_offsets[r]), both[r] - re[r], both[r] + im[r], lanes);
      }
    }
  });
}

// The low-target kernel for k targets whose low ones are held by the lane bits
// lane_mask; false when there is no instance: more than 5 targets, or more than
// 3 high ones (16 rows of accumulators do not fit in the registers).
template <typename T, unsigned Mask = 0>
bool dense_low_dispatch(std::complex<T>* state, unsigned k, unsigned lane_mask, index_t groups,
                        const IndexExpander& expand, const index_t* high_offsets, const T* coef,
                        const Parallelism& par) {
  if constexpr (Mask < lanes_per_vector<T>()) {
    if (lane_mask != Mask) {
      return dense_low_dispatch<T, Mask + 1>(state, k, lane_mask, groups, expand, high_offsets,
                                             coef, par);
    }
    constexpr unsigned kl = __builtin_popcount(Mask);
    if (k < kl || k > 5) return false;
    switch (k - kl) {
      case 0: dense_low_tiles<T, 1, Mask>(state, groups, expand, high_offsets, coef, par); break;
      case 1: dense_low_tiles<T, 2, Mask>(state, groups, expand, high_offsets, coef, par); break;
      case 2:
        if constexpr (kl > 3) return false;
        dense_low_tiles<T, 4, Mask>(state, groups, expand, high_offsets, coef, par);
        break;
      case 3:
        if constexpr (kl > 2) return false;
        dense_low_tiles<T, 8, Mask>(state, groups, expand, high_offsets, coef, par);
        break;
      default: return false;
    }
    return true;
  } else {
    return false;
  }
}

// Exchanges of amplitudes (X and SWAP with any controls) only move data, but
// in cache their speed is that of the vector moves: AVX-512 moves four
// amplitudes where SSE2 moves one.

// x[j] <-> y[j] for j < count, as reals: a loop over std::complex swaps is not
// vectorised.
template <typename T>
inline void exchange_reals(T* x, T* y, index_t count) {
#pragma omp simd
  for (index_t j = 0; j < count; ++j) {
    const T t = x[j];
    x[j] = y[j];
    y[j] = t;
  }
}

// For each chunk of 2^chunk_bits amplitudes that `chunks` yields, exchanges
// the Run amplitudes at offset a with those at offset b for every (a, b) in
// `pairs` (offsets from the chunk; b may lie beyond it).  Run is a constant so
// that each exchange compiles to a few vector moves.
template <index_t Run, typename T>
void exchange_runs(std::complex<T>* state, index_t count, const IndexExpander& chunks,
                   unsigned chunk_bits, const std::vector<std::pair<index_t, index_t>>& pairs,
                   const Parallelism& par) {
  Parallelism per_chunk = par;
  per_chunk.min_items = std::max<index_t>(1, par.min_items >> chunk_bits);
  parallel_for(per_chunk, count, [&](index_t c) {
    std::complex<T>* chunk = state + chunks(c << chunk_bits);
    for (const auto& [a, b] : pairs) {
      exchange_reals(reinterpret_cast<T*>(chunk + a), reinterpret_cast<T*>(chunk + b), 2 * Run);
    }
  });
}

// exchange_runs for runs of 2^run_bits amplitudes, run_bits < 6.
template <typename T>
void exchange_runs_dispatch(std::complex<T>* state, unsigned run_bits, index_t count,
                            const IndexExpander& chunks, unsigned chunk_bits,
                            const std::vector<std::pair<index_t, index_t>>& pairs,
                            const Parallelism& par) {
  switch (run_bits) {
    case 0: return exchange_runs<1>(state, count, chunks, chunk_bits, pairs, par);
    case 1: return exchange_runs<2>(state, count, chunks, chunk_bits, pairs, par);
    case 2: return exchange_runs<4>(state, count, chunks, chunk_bits, pairs, par);
    case 3: return exchange_runs<8>(state, count, chunks, chunk_bits, pairs, par);
    case 4: return exchange_runs<16>(state, count, chunks, chunk_bits, pairs, par);
    default: return exchange_runs<32>(state, count, chunks, chunk_bits, pairs, par);
  }
}

// Exchanges the runs of 2^run_bits amplitudes at offset_a and offset_b from
// every base that `expand` yields.
template <typename T>
void exchange_long_runs(std::complex<T>* state, unsigned num_qubits, const IndexExpander& expand,
                        unsigned run_bits, index_t offset_a, index_t offset_b,
                        const Parallelism& par) {
  for_each_run(expand, num_qubits, run_bits, par, [=](index_t base, index_t length) {
    exchange_reals(reinterpret_cast<T*>(state + base + offset_a),
                   reinterpret_cast<T*>(state + base + offset_b), 2 * length);
  });
}

// Calls body(begin, end) on consecutive chunks of [0, count) that the threads share.
template <typename Body>
void for_each_chunk(const Parallelism& par, index_t count, Body&& body) {
  constexpr index_t chunk = 2048;
  if (count <= chunk) return body(index_t{0}, count);
  Parallelism per_chunk = par;
  per_chunk.min_items = std::max<index_t>(1, par.min_items / chunk);
  parallel_for(per_chunk, count / chunk, [&](index_t c) { body(c * chunk, (c + 1) * chunk); });
}

// A one-qubit matrix on a target at least 8 amplitudes apart: pair index i
// maps to the amplitudes i0 and i0 + stride, and runs of i within one stride
// are contiguous in memory, so the inner loop vectorises.
template <typename T>
void dense_1q_runs(std::complex<T>* state, index_t size, unsigned target, const std::complex<T>* m,
                   const Parallelism& par) {
  const index_t stride = index_t{1} << target;
  const T ar = m[0].real(), ai = m[0].imag(), br = m[1].real(), bi = m[1].imag();
  const T cr = m[2].real(), ci = m[2].imag(), dr = m[3].real(), di = m[3].imag();
  T* data = reinterpret_cast<T*>(state);
  const index_t offsets[2] = {0, stride};
  const bool prefetch = prefetch_pays(offsets, 2, sizeof(T));
  if (stages_pair_blocks(stride * 2 * sizeof(T))) {
    // Each block of 2 * stride amplitudes is copied into a buffer in one
    // sequential read, then written back paired from there.
    const index_t reals = 4 * stride;
    Parallelism per_block = par;
    per_block.min_items = std::max<index_t>(1, par.min_items / (2 * stride));
    parallel_for(per_block, size / (2 * stride), [=](index_t b) {
      alignas(64) T in[kStagedBlockBytes / sizeof(T)];
      T* x0 = data + b * reals;
      T* x1 = x0 + 2 * stride;
      std::memcpy(in, x0, reals * sizeof(T));
      const T* y0 = in;
      const T* y1 = in + 2 * stride;
#pragma omp simd
      for (index_t j = 0; j < stride; ++j) {
        const T p = y0[2 * j], q = y0[2 * j + 1], u = y1[2 * j], v = y1[2 * j + 1];
        x0[2 * j] = ar * p - ai * q + br * u - bi * v;
        x0[2 * j + 1] = ar * q + ai * p + br * v + bi * u;
        x1[2 * j] = cr * p - ci * q + dr * u - di * v;
        x1[2 * j + 1] = cr * q + ci * p + dr * v + di * u;
      }
    });
    return;
  }
  auto first_of_pair = [=](index_t i) {
    return data + 2 * (((i >> target) << (target + 1)) | (i & (stride - 1)));
  };
  for_each_chunk(par, size / 2, [=](index_t begin, index_t end) {
    for (index_t i = begin; i < end;) {
      // Runs of at most 64 pairs, so the prefetches keep pace (see dense_tiled).
      const index_t len = std::min({end, (i | (stride - 1)) + 1, i + 64}) - i;
      T* x0 = first_of_pair(i);
      T* x1 = x0 + 2 * stride;
      if (prefetch && i + 256 < end) {
        const char* ahead = reinterpret_cast<const char*>(first_of_pair(i + 256));
        for (unsigned line = 0; line < 2 * 64 * sizeof(T); line += 64) {
          __builtin_prefetch(ahead + line, 1);
          __builtin_prefetch(ahead + 2 * sizeof(T) * stride + line, 1);
        }
      }
#pragma omp simd
      for (index_t j = 0; j < len; ++j) {
        const T p = x0[2 * j], q = x0[2 * j + 1], u = x1[2 * j], v = x1[2 * j + 1];
        x0[2 * j] = ar * p - ai * q + br * u - bi * v;
        x0[2 * j + 1] = ar * q + ai * p + br * v + bi * u;
        x1[2 * j] = cr * p - ci * q + dr * u - di * v;
        x1[2 * j + 1] = cr * q + ci * p + dr * v + di * u;
      }
      i += len;
    }
  });
}

// A one-qubit matrix on target 0, 1 or 2: the loop runs over blocks of
// 2 * Stride amplitudes, each holding Stride whole pairs, and vectorises
// across blocks with strided loads.
template <typename T, unsigned Stride>
void dense_1q_low(std::complex<T>* state, index_t size, const std::complex<T>* m,
                  const Parallelism& par) {
  const T ar = m[0].real(), ai = m[0].imag(), br = m[1].real(), bi = m[1].imag();
  const T cr = m[2].real(), ci = m[2].imag(), dr = m[3].real(), di = m[3].imag();
  T* data = reinterpret_cast<T*>(state);
  for_each_chunk(par, size / (2 * Stride), [=](index_t begin, index_t end) {
#pragma omp simd
    for (index_t b = begin; b < end; ++b) {
      T* x = data + b * 4 * Stride;
      for (unsigned s = 0; s < Stride; ++s) {
        const T p = x[2 * s], q = x[2 * s + 1];
        const T u = x[2 * (Stride + s)], v = x[2 * (Stride + s) + 1];
        x[2 * s] = ar * p - ai * q + br * u - bi * v;
        x[2 * s + 1] = ar * q + ai * p + br * v + bi * u;
        x[2 * (Stride + s)] = cr * p - ci * q + dr * u - di * v;
        x[2 * (Stride + s) + 1] = cr * q + ci * p + dr * v + di * u;
      }
    }
  });
}

// A one-qubit matrix on whole vectors of interleaved amplitudes, as
// dense2_interleaved multiplies: with m = c + id and x + iy,
// m (x + iy) = c [x, y] + d [-y, x].  Lane j multiplies by entry(j).
template <typename T>
struct OneQubitFactors {
  using vec = typename VectorLanes<T>::vec;
  vec c, d;
  OneQubitFactors() = default;  // unset: for arrays filled later
  template <typename Entry>
  explicit OneQubitFactors(Entry entry) {
    constexpr unsigned L = VectorLanes<T>::B;
    alignas(64) T cs[L], ds[L];
    for (unsigned j = 0; j < L; ++j) {
      const std::complex<T> e = entry(j);
      cs[j] = e.real();
      ds[j] = j % 2 ? e.imag() : -e.imag();
    }
    std::memcpy(&c, cs, sizeof c);
    std::memcpy(&d, ds, sizeof d);
  }
  // One entry in every lane.
  explicit OneQubitFactors(std::complex<T> e) : OneQubitFactors([e](unsigned) { return e; }) {}
  // m x for the vector v and its copy w with real and imaginary parts swapped.
  vec times(vec v, vec w) const { return c * v + d * w; }
};

// Whether a one-qubit matrix has no imaginary parts.
template <typename T>
bool is_real_matrix(const std::complex<T>* m) {
  return m[0].imag() == T(0) && m[1].imag() == T(0) && m[2].imag() == T(0) && m[3].imag() == T(0);
}

// Target inside one vector: each amplitude pairs with one in the same vector,
// a shuffle away, and the row is the amplitude's own target bit.
template <typename T, unsigned Target>
void dense_1q_in_vector(T* data, index_t size, const std::complex<T>* m, const Parallelism& par) {
  using Lanes = VectorLanes<T>;
  using vec = typename Lanes::vec;
  constexpr unsigned P = Lanes::B / 2;  // amplitudes per vector
  constexpr auto lanes = std::make_index_sequence<Lanes::B>{};
  static_assert((1u << Target) < P);
  auto row = [](unsigned j) { return (j / 2 >> Target) & 1; };
  const OneQubitFactors<T> self([&](unsigned j) { return m[3 * row(j)]; });
  const OneQubitFactors<T> partner([&](unsigned j) { return m[1 + row(j)]; });
  vec* at = reinterpret_cast<vec*>(data);
  Parallelism per_vector = par;
  per_vector.min_items = std::max<index_t>(1, par.min_items / P);
  if (is_real_matrix(m)) {  // as in dense_1q_vector_pairs
    return for_each_chunk(per_vector, size / P, [=](index_t begin, index_t end) {
      for (index_t i = begin; i < end; ++i) {
        const vec v = at[i];
        at[i] = self.c * v + partner.c * Lanes::template swap_lanes<Target + 1>(v, lanes);
      }
    });
  }
  for_each_chunk(per_vector, size / P, [=](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      const vec v = at[i];
      const vec p = Lanes::template swap_lanes<Target + 1>(v, lanes);
      at[i] = self.times(v, Lanes::template swap_lanes<0>(v, lanes)) +
              partner.times(p, Lanes::template swap_lanes<0>(p, lanes));
    }
  });
}

// Target at or above one vector: vector s of each block of 2 * span vectors
// pairs with vector span + s.
template <typename T>
void dense_1q_vector_pairs(T* data, index_t size, unsigned target, const std::complex<T>* m,
                           const Parallelism& par) {
  using Lanes = VectorLanes<T>;
  using vec = typename Lanes::vec;
  constexpr unsigned P = Lanes::B / 2;
  constexpr auto lanes = std::make_index_sequence<Lanes::B>{};
  const OneQubitFactors<T> m00(m[0]), m01(m[1]), m10(m[2]), m11(m[3]);
  const unsigned span_bits = target - __builtin_ctz(P);
  const index_t span = index_t{1} << span_bits;  // vectors between a pair's two
  vec* at = reinterpret_cast<vec*>(data);
  Parallelism per_pair = par;
  per_pair.min_items = std::max<index_t>(1, par.min_items / (2 * P));
  // update(x0, x1) on every pair.  From 4 vectors apart, pairs go in runs of
  // consecutive vectors within a block, so that the inner loop only steps
  // pointers (computing each pair's place was a third of the loop's
  // instructions; at 14 qubits, double, one thread: 0.5-0.75 of the time on
  // qubits 3 to 12); closer pairs are taken one at a time, as runs of one or
  // two were no faster.
  auto sweep = [&](auto update) {
    for_each_chunk(per_pair, size / (2 * P), [=](index_t begin, index_t end) {
      if (span_bits < 2) {
        for (index_t i = begin; i < end; ++i) {
          vec* first = at + ((i >> span_bits) << (span_bits + 1)) + (i & (span - 1));
          update(first[0], first[span]);
        }
        return;
      }
      for (index_t i = begin; i < end;) {
        const index_t len = std::min(end, (i | (span - 1)) + 1) - i;
        vec* first = at + ((i >> span_bits) << (span_bits + 1)) + (i & (span - 1));
        for (index_t j = 0; j < len; ++j) update(first[j], first[span + j]);
        i += len;
      }
    });
  };
  // A real matrix (h, ry) needs neither the swapped copies nor their products:
  // half the multiply-adds.  Measured on AVX2 (Zen 3, 14 qubits, double, one
  // thread, against rx in the same runs): h and ry 0.67-0.72 of rx's time.
  if (is_real_matrix(m)) {
    const vec a = m00.c, b = m01.c, c = m10.c, d = m11.c;
    return sweep([=](vec& x0, vec& x1) {
      const vec v0 = x0, v1 = x1;
      x0 = a * v0 + b * v1;
      x1 = c * v0 + d * v1;
    });
  }
  sweep([=](vec& x0, vec& x1) {
    const vec v0 = x0, v1 = x1;
    const vec w0 = Lanes::template swap_lanes<0>(v0, lanes);
    const vec w1 = Lanes::template swap_lanes<0>(v1, lanes);
    x0 = m00.times(v0, w0) + m01.times(v1, w1);
    x1 = m10.times(v0, w0) + m11.times(v1, w1);
  });
}

// Any one-qubit matrix without controls; the state must have at least 8 amplitudes.
template <typename T>
void dense_1q(std::complex<T>* state, index_t size, unsigned target, const std::complex<T>* m,
              const Parallelism& par) {
  // Whole vectors, measured on AVX2 (Zen 3, a u gate timed alone, alternating
  // with the loops below; bench/RESULTS.md): 2.1-5x faster on targets 0-2 (24
  // qubits, double, one thread: 33-50 ms -> 9-11.5), 1.1-2.7x on the middle
  // ones; on the top one 1.1-1.8x, except 1.1x slower at 22 qubits in single,
  // and level on two threads.  The baseline build and AVX-512 (not measured)
  // keep the loops below.
  if constexpr (kVectorBytes == 32) {
    constexpr unsigned P = kVectorBytes / sizeof(T) / 2;
    T* data = reinterpret_cast<T*>(state);
    if (reinterpret_cast<std::uintptr_t>(data) % kVectorBytes == 0) {
      if (target == 0) return dense_1q_in_vector<T, 0>(data, size, m, par);
      if constexpr (P > 2) {  // single precision: 4 amplitudes per vector
        if (target == 1) return dense_1q_in_vector<T, 1>(data, size, m, par);
      }
      return dense_1q_vector_pairs(data, size, target, m, par);
    }
  }
  switch (target) {
    case 0: return dense_1q_low<T, 1>(state, size, m, par);
    case 1: return dense_1q_low<T, 2>(state, size, m, par);
    case 2: return dense_1q_low<T, 4>(state, size, m, par);
    default: return dense_1q_runs(state, size, target, m, par);
  }
}

// One period of a diagonal's factors (8 to 64 amplitudes, a power of two),
// laid out for multiplying whole periods of amplitudes: on AVX2 the factors of
// each vector's place in the period (interleaved amplitudes, as dense_1q
// multiplies them), elsewhere their real and imaginary parts.  Made on the
// stack by periodic_diagonal and controlled_diagonal: a cache-blocked run makes
// them once per block, and a vector on the heap was not aligned for them.
template <typename T>
struct PeriodFactors {
  using Lanes = VectorLanes<T>;
  using vec = typename Lanes::vec;
  static constexpr unsigned P = Lanes::B / 2;  // amplitudes per vector
  static constexpr index_t kMaxPeriod = index_t{1} << kLowChunkBits;

  PeriodFactors() = default;  // unset: for arrays filled later
  // `aligned`: the state is aligned for whole vectors; only the layout that
  // multiply() will read is made.
  PeriodFactors(const std::complex<T>* f, index_t period, bool aligned)
      : period_(period), vectors_(kVectorBytes == 32 && aligned) {
    if constexpr (kVectorBytes == 32) {
      if (vectors_) {
        for (index_t v = 0; v < period / P; ++v) {
          of_place_[v] = OneQubitFactors<T>([&](unsigned j) { return f[v * P + j / 2]; });
          bool changes = false;
          for (unsigned j = 0; j < P; ++j) changes = changes || f[v * P + j] != T(1);
          if (changes) changed_[changed_count_++] = static_cast<std::uint8_t>(v);
        }
        return;
      }
    }
    for (index_t j = 0; j < period; ++j) {
      re_[j] = f[j].real();
      im_[j] = f[j].imag();
    }
  }

  // What multiply() works in: whole vectors or single amplitudes.
  index_t unit() const { return vectors_ ? P : 1; }

  // Amplitudes [first, first + count) of the interleaved state `data`: whole
  // periods from the start of one.
  void multiply(T* data, index_t first, index_t count) const {
    if constexpr (kVectorBytes == 32) {  // as dense_1q: AVX2 only, measured there
      if (vectors_) {
        constexpr auto lanes = std::make_index_sequence<Lanes::B>{};
        vec* at = reinterpret_cast<vec*>(data + 2 * first);
        const OneQubitFactors<T>* of_place = of_place_.data();
        const index_t places = period_ / P;
        if (changed_count_ == places) {
          const index_t place = places - 1;  // vector i's place in the period: i & place
          for (index_t i = 0; i < count / P; ++i)
            at[i] = of_place[i & place].times(at[i], Lanes::template swap_lanes<0>(at[i], lanes));
          return;
        }
        // Only the vectors whose factors are not all 1: a quarter of them for
        // cz, half for p or cp on a qubit from one vector up.
        for (index_t start = 0; start < count / P; start += places) {
          for (unsigned k = 0; k < changed_count_; ++k) {
            vec& x = at[start + changed_[k]];
            x = of_place[changed_[k]].times(x, Lanes::template swap_lanes<0>(x, lanes));
          }
        }
        return;
      }
    }
    const T* fr = re_.data();
    const T* fi = im_.data();
    for (index_t start = first; start < first + count; start += period_) {
      T* x = data + 2 * start;
#pragma omp simd
      for (index_t j = 0; j < period_; ++j) {
        const T p = x[2 * j], q = x[2 * j + 1];
        x[2 * j] = fr[j] * p - fi[j] * q;
        x[2 * j + 1] = fr[j] * q + fi[j] * p;
      }
    }
  }

 private:
  index_t period_ = 8;
  bool vectors_ = false;
  std::array<OneQubitFactors<T>, kMaxPeriod / P> of_place_;
  // The places of the period's vectors that multiply() changes (whole vectors only).
  std::array<std::uint8_t, kMaxPeriod / P> changed_;
  unsigned changed_count_ = 0;
  alignas(64) std::array<T, kMaxPeriod> re_, im_;
};

// A diagonal whose factors repeat every `period` amplitudes (a power of two
// from 8 to 64 that divides size): amplitude i is multiplied by f[i % period].
template <typename T>
void periodic_diagonal(std::complex<T>* state, index_t size, index_t period,
                       const std::complex<T>* f, const Parallelism& par) {
  T* data = reinterpret_cast<T*>(state);
  const PeriodFactors<T> factors(f, period,
                                 reinterpret_cast<std::uintptr_t>(data) % kVectorBytes == 0);
  // Chunks of whole vectors on AVX2 (each chunk of 2048 starts a period), else of amplitudes.
  const index_t unit = factors.unit();
  Parallelism per_unit = par;
  per_unit.min_items = std::max<index_t>(1, par.min_items / unit);
  for_each_chunk(per_unit, size / unit, [&](index_t begin, index_t end) {
    factors.multiply(data, begin * unit, (end - begin) * unit);
  });
}

// A one-qubit diagonal without controls; the state must have at least 8
// amplitudes.  Amplitude i is multiplied by d[(i >> target) & 1].
template <typename T>
void diagonal_1q(std::complex<T>* state, index_t size, unsigned target, const std::complex<T>* d,
                 const Parallelism& par) {
  if (target < kLowChunkBits) {
    // low_diagonal_period's table for one target, made here: that one takes its
    // qubits in vectors, which a cache-blocked run would make once per block.
    const index_t period = std::max<index_t>(8, index_t{2} << target);
    std::complex<T> f[64];
    for (index_t j = 0; j < period; ++j) f[j] = d[(j >> target) & 1];
    return periodic_diagonal(state, size, period, f, par);
  }
  // Runs of 2^target amplitudes share one factor: each run is scaled by it (a
  // table of 64 copies of it, refilled per 64 amplitudes, was 1.1-1.4x slower
  // on the top qubit on AVX2, 2.7x on the middle one in a cache-blocked run).
  const index_t run = index_t{1} << target;
  T* data = reinterpret_cast<T*>(state);
  if constexpr (kVectorBytes == 32) {
    if (reinterpret_cast<std::uintptr_t>(data) % kVectorBytes == 0) {
      using Lanes = VectorLanes<T>;
      using vec = typename Lanes::vec;
      constexpr unsigned P = Lanes::B / 2;
      constexpr auto lanes = std::make_index_sequence<Lanes::B>{};
      const OneQubitFactors<T> f0(d[0]), f1(d[1]);
      const index_t run_vectors = run / P;
      vec* at = reinterpret_cast<vec*>(data);
      Parallelism per_vector = par;
      per_vector.min_items = std::max<index_t>(1, par.min_items / P);
      for_each_chunk(per_vector, size / P, [=](index_t begin, index_t end) {
        for (index_t i = begin; i < end;) {
          const index_t stop = std::min(end, (i | (run_vectors - 1)) + 1);
          const OneQubitFactors<T> f = (i / run_vectors) & 1 ? f1 : f0;
          for (; i < stop; ++i) at[i] = f.times(at[i], Lanes::template swap_lanes<0>(at[i], lanes));
        }
      });
      return;
    }
  }
  for_each_chunk(par, size, [&](index_t begin, index_t end) {
    for (index_t start = begin; start < end;) {
      const index_t stop = std::min(end, (start | (run - 1)) + 1);
      const T gr = d[(start >> target) & 1].real(), gi = d[(start >> target) & 1].imag();
      T* x = data + 2 * start;
#pragma omp simd
      for (index_t j = 0; j < stop - start; ++j) {
        const T p = x[2 * j], q = x[2 * j + 1];
        x[2 * j] = gr * p - gi * q;
        x[2 * j + 1] = gr * q + gi * p;
      }
      start = stop;
    }
  });
}

// The amplitude at y (real, imaginary) times the factor f, and times s as well
// when Scaled.
template <bool Scaled, typename T>
inline void multiply_by_factor(T* y, T fr, T fi, T sr, T si) {
  if constexpr (Scaled) {
    const T r = fr * sr - fi * si;
    fi = fr * si + fi * sr;
    fr = r;
  }
  const T p = y[0], q = y[1];
  y[0] = fr * p - fi * q;
  y[1] = fr * q + fi * p;
}

// A diagonal with controls and a qubit at or above kLowChunkBits (cz(12, 13),
// cp(0, 23)), with at most kMaxHighDiagonalTargets of its targets up there.
// The amplitudes it changes lie in runs of 2^h, h the lowest of its qubits at
// or above kLowChunkBits: one run per value of those qubits that sets their
// controls.  Along a run the factors repeat with the period of its qubits
// below (low_diagonal_period), one period of factors per value of its high
// targets.  The generic walk multiplied such runs in baseline code, or
// amplitude by amplitude with a qubit below 3.
template <typename T>
void controlled_diagonal(std::complex<T>* state, unsigned num_qubits,
                         const std::vector<unsigned>& targets,
                         const std::vector<unsigned>& controls, const std::complex<T>* d,
                         const Parallelism& par) {
  // Its qubits from kLowChunkBits up: the controls, then all of them, and the
  // places j in `targets` of the targets.
  std::vector<unsigned> high_controls;
  for (unsigned c : controls) {
    if (c >= kLowChunkBits) high_controls.push_back(c);
  }
  std::vector<unsigned> high = high_controls;
  std::vector<unsigned> high_targets;
  for (unsigned j = 0; j < targets.size(); ++j) {
    if (targets[j] >= kLowChunkBits) {
      high.push_back(targets[j]);
      high_targets.push_back(j);
    }
  }
  // One period of factors per value of the high targets that changes anything,
  // and where that value's amplitudes lie from a run's start.
  T* data = reinterpret_cast<T*>(state);
  const bool aligned = reinterpret_cast<std::uintptr_t>(data) % kVectorBytes == 0;
  std::array<PeriodFactors<T>, 1u << kMaxHighDiagonalTargets> periods;
  std::array<index_t, 1u << kMaxHighDiagonalTargets> offsets;
  std::size_t count = 0;
  for (index_t value = 0; value < (index_t{1} << high_targets.size()); ++value) {
    index_t offset = 0, high_index = 0;
    for (std::size_t k = 0; k < high_targets.size(); ++k) {
      if ((value >> k) & 1) {
        offset |= index_t{1} << targets[high_targets[k]];
        high_index |= index_t{1} << high_targets[k];
      }
    }
    std::array<std::complex<T>, PeriodFactors<T>::kMaxPeriod> f;
    const index_t period = low_diagonal_period(targets, controls, d, f, high_index);
    if (std::all_of(f.begin(), f.begin() + period, [](std::complex<T> x) { return x == T(1); }))
      continue;
    periods[count] = PeriodFactors<T>(f.data(), period, aligned);
    offsets[count++] = offset;
  }
  if (count == 0) return;
  const IndexExpander expand(high, high_controls);
  const index_t run = index_t{1} << *std::min_element(high.begin(), high.end());
  const index_t runs = outer_count(num_qubits, expand) / run;
  // Runs are cut in pieces, so that even one run of half the state is shared by
  // the threads; a piece is a whole number of periods.
  const index_t piece = std::min<index_t>(run, index_t{1} << 14);
  const index_t pieces_per_run = run / piece;
  Parallelism per_piece = par;
  per_piece.min_items = std::max<index_t>(1, par.min_items / piece);
  parallel_for(per_piece, runs * pieces_per_run, [&](index_t item) {
    const index_t start = expand(item / pieces_per_run * run) + item % pieces_per_run * piece;
    for (std::size_t k = 0; k < count; ++k) periods[k].multiply(data, start + offsets[k], piece);
  });
}

// A diagonal on several targets and no controls (what fusion makes of runs of
// diagonal gates): one sweep in memory order; the diagonal's index comes from
// a table for the low bits and is computed once per block for the high bits.
// With `block_factor`, amplitude block b is also multiplied by block_factor[b].
template <typename T>
void wide_diagonal(std::complex<T>* state, unsigned num_qubits,
                   const std::vector<unsigned>& targets, const std::complex<T>* d,
                   const std::complex<T>* block_factor, const Parallelism& par) {
  const unsigned low_bits = std::min(num_qubits, kDiagonalBlockBits);
  const index_t block = index_t{1} << low_bits;
  auto diagonal_index = [&](index_t i) { return static_cast<std::uint32_t>(bits_at(i, targets)); };
  std::vector<std::uint32_t> low_table(block);
  for (index_t i = 0; i < block; ++i) low_table[i] = diagonal_index(i);
  const std::size_t dim = std::size_t{1} << targets.size();
  std::vector<T> dr(dim), di(dim);
  for (std::size_t m = 0; m < dim; ++m) {
    dr[m] = d[m].real();
    di[m] = d[m].imag();
  }
  // When the first targets are qubits 0, 1, ..., p-1 (as in every fused
  // diagonal that touches qubit 0), runs of 2^p amplitudes take consecutive
  // entries of the diagonal: read as vectors instead of gathered one by one.
  unsigned prefix = 0;
  while (prefix < low_bits && prefix < targets.size() && targets[prefix] == prefix) ++prefix;
  const index_t run = prefix >= 3 ? index_t{1} << prefix : 1;
  T* data = reinterpret_cast<T*>(state);
  const std::uint32_t* table = low_table.data();
  const T* fr_all = dr.data();
  const T* fi_all = di.data();
  Parallelism per_block = par;
  per_block.min_items = std::max<index_t>(1, par.min_items / block);
  parallel_for(per_block, (index_t{1} << num_qubits) / block, [&](index_t b) {
    const std::uint32_t high = diagonal_index(b * block);
    T* x = data + 2 * b * block;
    const T sr = block_factor ? block_factor[b].real() : T(1);
    const T si = block_factor ? block_factor[b].imag() : T(0);
    auto multiply = [&](auto scaled) {
      if (run > 1) {
        for (index_t start = 0; start < block; start += run) {
          const T* gr = fr_all + (high | table[start]);
          const T* gi = fi_all + (high | table[start]);
          T* y = x + 2 * start;
#pragma omp simd
          for (index_t i = 0; i < run; ++i) {
            multiply_by_factor<decltype(scaled)::value>(y + 2 * i, gr[i], gi[i], sr, si);
          }
        }
        return;
      }
#pragma omp simd
      for (index_t i = 0; i < block; ++i) {
        const std::uint32_t m = high | table[i];
        multiply_by_factor<decltype(scaled)::value>(x + 2 * i, fr_all[m], fi_all[m], sr, si);
      }
    };
    if (block_factor) {
      multiply(std::true_type{});
    } else {
      multiply(std::false_type{});
    }
  });
}
