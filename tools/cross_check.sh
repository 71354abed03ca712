#!/usr/bin/env bash
# Checks that the kernel is portable, without svsim's Python package:
#   1. x86-64, GCC:   cpp/tests/kernel_check.cpp built for the baseline CPU,
#                     run on every instruction set this CPU has (SVSIM_ISA),
#                     and tools/check_isa.py: AVX only in the dispatched kernels.
#   2. x86-64, Clang: the same driver and the pybind11 module with -Werror.
#   3. aarch64:       the driver cross-compiled, static, with zig c++
#                     (pip install ziglang), and run under qemu-aarch64 when
#                     that is installed (apt-get install qemu-user-static).
# Each step runs when its tool is there and says so when it is not.  Takes
# several minutes: the driver instantiates every kernel of every instruction set.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/cross-check
mkdir -p "$out"
# The Python with ziglang and pybind11: the active environment, or PYTHON.
python=${PYTHON:-python}
flags=(-std=c++17 -O3 -Wall -Wextra -Werror -fopenmp-simd -pthread -Icpp/include)
status=0

echo "== x86-64, GCC (baseline CPU)"
g++ "${flags[@]}" -Wno-psabi cpp/tests/kernel_check.cpp -o "$out/kernel_check-gcc"
for isa in none avx2 ""; do
  SVSIM_ISA=$isa "$out/kernel_check-gcc" || status=1
done
"$python" tools/check_isa.py "$out/kernel_check-gcc" || status=1

if command -v clang++ >/dev/null; then
  echo "== x86-64, Clang $(clang++ -dumpversion)"
  clang++ "${flags[@]}" cpp/tests/kernel_check.cpp -o "$out/kernel_check-clang"
  for isa in none ""; do
    SVSIM_ISA=$isa "$out/kernel_check-clang" || status=1
  done
  "$python" tools/check_isa.py "$out/kernel_check-clang" || status=1
  if "$python" -c "import pybind11" 2>/dev/null; then
    # shellcheck disable=SC2046
    clang++ "${flags[@]}" -fPIC -fsyntax-only $("$python" -m pybind11 --includes) \
      cpp/bindings/module.cpp
    echo "module.cpp: no Clang warnings"
  fi
else
  echo "== Clang: not installed (apt-get install clang), skipped"
fi

if "$python" -m ziglang version >/dev/null 2>&1; then
  echo "== aarch64, zig c++ $("$python" -m ziglang version) (static, musl)"
  # Clang cannot vectorise the strided 'omp simd' loop of dense_1q_low on
  # NEON and says so (-Wpass-failed); the loop is correct, only scalar.
  "$python" -m ziglang c++ -target aarch64-linux-musl -static "${flags[@]}" \
    -Wno-error=pass-failed cpp/tests/kernel_check.cpp -o "$out/kernel_check-aarch64"
  if command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null; then
    qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64)
    "$qemu" "$out/kernel_check-aarch64" || status=1
  else
    echo "qemu-aarch64: not installed (apt-get install qemu-user-static), not run"
  fi
else
  echo "== aarch64: ziglang not installed (pip install ziglang), skipped"
fi
exit $status
