#!/usr/bin/env bash
# Regenerates python/svsim/_core.pyi, the type stubs of the compiled module,
# from the installed svsim with pybind11-stubgen (pip install svsim[dev]).
# Run it after changing cpp/bindings/module.cpp and rebuilding; the test
# tests/test_packaging.py::test_core_stubs_are_current fails until then.
# The file is written as generated (ruff leaves it alone), so that the test
# can compare it with a fresh run byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Run from the temporary folder, so that svsim is the installed package.
(cd "$tmp" && "$python" -m pybind11_stubgen svsim._core --output-dir "$tmp/out")
cp "$tmp/out/svsim/_core.pyi" python/svsim/_core.pyi
echo "wrote python/svsim/_core.pyi"
