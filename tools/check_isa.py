"""Fails when svsim's compiled module has AVX instructions outside the kernels
that are chosen at run time (namespaces isa_avx2 and isa_avx512 of
cpp/include/svsim/simd.h).

Any other function runs on every CPU, so one AVX instruction there (from a
-march flag, or from an inline function that the compiler emitted once, under
the AVX target, for every caller) crashes a CPU without AVX with "illegal
instruction".  Takes a wheel, a .so or an executable with its symbols
(pybind11 strips the Release module, so tools/cross_check.sh runs this on
cpp/tests/kernel_check.cpp built from the same headers); needs objdump.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DISPATCHED = ("isa_avx2::", "isa_avx512::")
# VEX/EVEX-encoded instructions, which need AVX: every mnemonic that starts
# with "v" except the segment checks verr/verw, or any use of ymm/zmm/mask registers.
AVX_MNEMONIC = re.compile(r"^v(?!err|erw)[a-z0-9]+$")
AVX_REGISTER = re.compile(r"%(ymm|zmm)\d|%k[1-7]\b")
FUNCTION = re.compile(r"^[0-9a-f]+ <(.+)>:$")


def offending_functions(module: Path) -> tuple[int, dict[str, str]]:
    listing = subprocess.run(
        ["objdump", "-d", "-C", "--no-show-raw-insn", str(module)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    functions = 0
    current = ""
    found: dict[str, str] = {}
    for line in listing.splitlines():
        header = FUNCTION.match(line)
        if header:
            current = header.group(1)
            functions += 1
            continue
        parts = line.split("\t")
        if len(parts) < 2 or any(name in current for name in DISPATCHED):
            continue
        instruction = parts[1].strip()
        mnemonic = instruction.split(" ")[0]
        if (AVX_MNEMONIC.match(mnemonic) or AVX_REGISTER.search(instruction)) and (
            current not in found
        ):
            found[current] = instruction
    return functions, found


def main(path: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(path)
        if module.suffix == ".whl":
            with zipfile.ZipFile(module) as wheel:
                name = next(n for n in wheel.namelist() if re.search(r"_core\..*so$", n))
                module = Path(wheel.extract(name, tmp))
        functions, found = offending_functions(module)
    if functions < 100:
        print(f"check_isa: {module.name} has no symbols to check ({functions} functions)")
        return 1
    for function, instruction in sorted(found.items()):
        print(f"check_isa: AVX outside the dispatched kernels: {function}: {instruction}")
    if found:
        return 1
    print(f"check_isa: {functions} functions; AVX only in {' and '.join(DISPATCHED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
