// The ceiling of a dense complex product's inner loop on AVX2 (16 vector
// registers): the rate of real multiply-adds of the loop shapes the kernels
// can take, against the register-only peak measured in the same run.  Single
// precision, one thread, operands in L1.  bench/RESULTS.md, "Eleventh round".
//
//   g++ -O3 -mavx2 -mfma -o product_ceiling bench/native/product_ceiling.cpp && ./product_ceiling
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <vector>

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

__m256 sum_of(const __m256 (&acc)[12]) {
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  return s;
}

// 12 independent multiply-adds on registers: the peak.
__attribute__((noinline)) float registers_only(long iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(1e-3f * i);
  const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-6f);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  return _mm256_cvtss_f32(sum_of(acc));
}

// 12 multiply-adds, each with one operand loaded from L1.
__attribute__((noinline)) float one_load_each(const float* tile, long columns, long reps) {
  __m256 acc[12];
  for (auto& a : acc) a = _mm256_setzero_ps();
  const __m256 k = _mm256_set1_ps(0.5f);
  for (long r = 0; r < reps; ++r) {
    for (long c = 0; c < columns; ++c) {
      const float* t = tile + c * 96;
#pragma GCC unroll 12
      for (int v = 0; v < 12; ++v) acc[v] = _mm256_fmadd_ps(k, _mm256_loadu_ps(t + 8 * v), acc[v]);
    }
  }
  return _mm256_cvtss_f32(sum_of(acc));
}

// A row of a Gauss tile (dense_tiled.h): four vectors, three sums each; per
// column three matrix entries and twelve tile operands.  Broadcast: the
// entries are scalars; otherwise each is stored as a vector of copies.
template <bool Broadcast>
__attribute__((noinline)) float gauss_row(const float* tile, const float* entries, long columns,
                                          long reps) {
  __m256 acc[12];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (long r = 0; r < reps; ++r) {
    for (long c = 0; c < columns; ++c) {
      const float* t = tile + c * 96;
      __m256 e[3];
#pragma GCC unroll 3
      for (int j = 0; j < 3; ++j) {
        e[j] = Broadcast ? _mm256_broadcast_ss(entries + 3 * c + j)
                         : _mm256_loadu_ps(entries + 24 * c + 8 * j);
      }
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) {
#pragma GCC unroll 3
        for (int j = 0; j < 3; ++j) {
          acc[3 * v + j] =
              _mm256_fmadd_ps(e[j], _mm256_loadu_ps(t + 32 * j + 8 * v), acc[3 * v + j]);
        }
      }
    }
  }
  return _mm256_cvtss_f32(sum_of(acc));
}

}  // namespace

int main() {
  const long columns = 8, reps = 6'000'000, iterations = 50'000'000;
  const std::vector<float> tile(columns * 96, 1e-3f), entries(columns * 24, 0.5f);
  const double row = 12.0 * 8 * columns * reps;  // real multiply-adds of a loop over the tile
  float sink = 0;
  for (int run = 0; run < 5; ++run) {
    double t = now();
    sink += registers_only(iterations);
    const double peak = 12.0 * 8 * iterations / (now() - t) / 1e9;
    t = now();
    sink += one_load_each(tile.data(), columns, reps);
    const double loads = row / (now() - t) / 1e9;
    t = now();
    sink += gauss_row<true>(tile.data(), entries.data(), columns, reps);
    const double broadcast = row / (now() - t) / 1e9;
    t = now();
    sink += gauss_row<false>(tile.data(), entries.data(), columns, reps);
    const double vectors = row / (now() - t) / 1e9;
    std::printf(
        "G multiply-adds/s: peak %.1f | one load each %.1f (%.2f) | Gauss row, entries "
        "broadcast %.1f (%.2f) | entries as vectors %.1f (%.2f)\n",
        peak, loads, loads / peak, broadcast, broadcast / peak, vectors, vectors / peak);
  }
  return sink == 12345.0f;  // keeps the loops
}
