// Loops over the state that run on OpenMP threads only when the state is large
// enough to pay for them.  The thread count is always passed in, never set
// globally, so two simulators in one process do not change each other's threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace svsim {

using index_t = std::uint64_t;

struct Parallelism {
  int threads = 1;               // threads to use for a large loop
  index_t min_items = 1u << 13;  // loops shorter than this stay serial

  bool worth_it(index_t items) const { return threads > 1 && items >= min_items; }
};

inline int hardware_threads() {
#ifdef _OPENMP
  return omp_get_num_procs();
#else
  return 1;
#endif
}

// Calls body(i) for i in [0, count), statically split over the threads.
template <typename Body>
void parallel_for(const Parallelism& par, index_t count, Body&& body) {
#ifdef _OPENMP
  if (par.worth_it(count)) {
    const std::int64_t n = static_cast<std::int64_t>(count);
#pragma omp parallel for schedule(static) num_threads(par.threads)
    for (std::int64_t i = 0; i < n; ++i) body(static_cast<index_t>(i));
    return;
  }
#endif
  for (index_t i = 0; i < count; ++i) body(i);
}

// Sum of body(begin, end) over fixed-size chunks of [0, count).  The chunks do
// not depend on the thread count, so the result is bit-for-bit the same at any
// number of threads: measurement and sampling stay reproducible from a seed.
constexpr index_t kReduceChunk = index_t{1} << 12;

template <typename ChunkSum>
double deterministic_sum(const Parallelism& par, index_t count, ChunkSum&& chunk_sum) {
  const index_t chunks = (count + kReduceChunk - 1) / kReduceChunk;
  if (chunks <= 1) return count ? chunk_sum(index_t{0}, count) : 0.0;
  std::vector<double> partial(chunks);
  parallel_for(par, chunks, [&](index_t c) {
    const index_t begin = c * kReduceChunk;
    partial[c] = chunk_sum(begin, std::min(begin + kReduceChunk, count));
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace svsim
