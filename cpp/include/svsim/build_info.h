// What this build of the kernel can do, for svsim.build_info().
#pragma once

#include <string>

#include "parallel.h"

namespace svsim {

inline bool built_with_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

// The widest vector instructions this CPU offers, as far as the compiler can tell.
inline std::string cpu_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "sse2";
#elif defined(__aarch64__)
  return "neon";
#else
  return "none";
#endif
}

}  // namespace svsim
