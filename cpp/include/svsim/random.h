// A seeded generator whose numbers are the same on every platform and compiler
// (the standard distributions are not), so a seed reproduces counts anywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace svsim {

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Exponential with mean 1.
  double exponential() { return -std::log1p(-uniform()); }

  // Uniform integer in [0, bound), without modulo bias.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    std::uint64_t x;
    do x = engine_();
    while (x >= limit);
    return x % bound;
  }

  std::uint64_t next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace svsim
