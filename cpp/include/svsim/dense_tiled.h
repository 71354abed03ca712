// The dense k-qubit kernel (k >= 2), the one that fusion makes hot.  Its body
// is compiled once per instruction set (see simd.h): amplitudes are gathered
// in tiles of B loop indices, split into real and imaginary parts, multiplied
// with the matrix vectorised across the tile, and scattered back.  Vectorising
// across loop indices rather than across the matrix works for any target
// qubits, low ones included.
//
// This file is included several times, each time inside a different
// `namespace svsim::isa_...` and `#pragma GCC target`; it has no include guard
// on purpose.

template <typename T, unsigned K>
void dense_tiled(std::complex<T>* state, index_t outer, const IndexExpander& expand,
                 const index_t* offsets, const std::complex<T>* matrix, const Parallelism& par) {
  constexpr unsigned B = 64 / sizeof(T);  // one 64-byte vector of reals per row of a tile
  alignas(64) T mr[K * K], mi[K * K];
  for (unsigned e = 0; e < K * K; ++e) {
    mr[e] = matrix[e].real();
    mi[e] = matrix[e].imag();
  }
  T* data = reinterpret_cast<T*>(state);
  auto tile = [&](index_t first, unsigned width) {
    alignas(64) T xr[K][B], xi[K][B];
    index_t base[B];
    for (unsigned b = 0; b < width; ++b) base[b] = expand(first + b);
    for (unsigned c = 0; c < K; ++c) {
      for (unsigned b = 0; b < width; ++b) {
        const index_t at = 2 * (base[b] + offsets[c]);
        xr[c][b] = data[at];
        xi[c][b] = data[at + 1];
      }
      for (unsigned b = width; b < B; ++b) xr[c][b] = xi[c][b] = T(0);
    }
    for (unsigned r = 0; r < K; ++r) {
      alignas(64) T yr[B] = {}, yi[B] = {};
      for (unsigned c = 0; c < K; ++c) {
        const T ar = mr[r * K + c], ai = mi[r * K + c];
#pragma omp simd aligned(yr, yi : 64)
        for (unsigned b = 0; b < B; ++b) {
          yr[b] += ar * xr[c][b] - ai * xi[c][b];
          yi[b] += ar * xi[c][b] + ai * xr[c][b];
        }
      }
      for (unsigned b = 0; b < width; ++b) {
        const index_t at = 2 * (base[b] + offsets[r]);
        data[at] = yr[b];
        data[at + 1] = yi[b];
      }
    }
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
    case 2: dense_tiled<T, 4>(state, outer, expand, offsets, matrix, par); return true;
    case 3: dense_tiled<T, 8>(state, outer, expand, offsets, matrix, par); return true;
    case 4: dense_tiled<T, 16>(state, outer, expand, offsets, matrix, par); return true;
    case 5: dense_tiled<T, 32>(state, outer, expand, offsets, matrix, par); return true;
    default: return false;
  }
}
