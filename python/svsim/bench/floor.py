"""The multiply-add floor of the circuit families (issue 20): how close svsim and
qsim come to the arithmetic a fused program needs.

    python -m svsim.bench.floor [--qubits 20,24] [--families random,qv,qcbm]
                                [--threads 1,2] [--precision single] [--repeats 5]

For each circuit svsim reports the gates its kernel ran after fusion
(``metadata["fusion"]["gates_run"]``).  A dense gate on ``k`` targets costs
``2^k`` complex multiply-adds per amplitude, a diagonal one; permutations
none.  svsim's dense kernel does a complex multiply-add in three real
multiply-adds (``cpp/include/svsim/dense_tiled.h``), so the program needs
``3 * 2^n * sum(2^k)`` real multiply-adds.  The floor is that count over the
machine's measured multiply-add rate: numpy's matrix product (BLAS) on
1024 x 1024 matrices of the same precision, in a process with that many BLAS
threads; a BLAS product runs close to the peak of the vector units, so the
floor is a bound no kernel of this arithmetic can beat.  Sparse fused blocks
(the kernel skips their zeros) make the count an upper bound for circuits
of permutations; the families here fuse into dense blocks.

The memory floor is the sweeps the kernel made over the state
(``metadata["fusion"]["gate_sweeps"]``: a run of gates done one cache-sized
block at a time is one) times the time of one copy of a state-sized buffer
(:func:`svsim.bench.machine.measure_floor`, the suite's copy floor).  The
floor of a circuit is the larger of the two: a kernel that overlapped its
arithmetic and its memory traffic perfectly would reach it.  Read it from about
20 qubits up: numpy's copy of a small state is slower than the kernel's sweeps
of it in the cache (a 256 KiB copy ran at 6 GB/s on the Zen 3 machine of
bench/RESULTS.md, and svsim's qv-14 took 0.43x that "floor").

The times are medians of ``--repeats`` runs, svsim (through
``svsim.BasicSimulator``) and qsim (``qsimcirq``, when installed, with the
suite's settings) interleaved so that both see the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from svsim.bench.circuits import family_spec
from svsim.bench.config import thread_environment
from svsim.bench.machine import measure_floor
from svsim.bench.peers import PEERS

# Run in a fresh process so that the BLAS library starts with the thread count asked for.
_RATE_PROGRAM = """
import json, sys, time
import numpy as np
dtype = np.float32 if sys.argv[1] == "single" else np.float64
n = 1024
a = np.random.default_rng(1).random((n, n)).astype(dtype)
b = np.random.default_rng(2).random((n, n)).astype(dtype)
a @ b
best = float("inf")
for _ in range(9):
    start = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - start)
print(json.dumps(n ** 3 / best))
"""


def multiply_add_rate(precision: str, threads: int, tries: int = 3) -> float:
    """Real multiply-adds per second of a BLAS matrix product on ``threads`` threads,
    the best of ``tries`` processes."""
    env = thread_environment(threads)
    best = 0.0
    for _ in range(tries):
        out = subprocess.run(
            [sys.executable, "-c", _RATE_PROGRAM, precision],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        best = max(best, float(json.loads(out.stdout)))
    return best


def peak_rates(precision: str, threads: list[int]) -> dict[int, float]:
    """The multiply-add rate each thread count's floor uses: never less than one
    thread's, since a floor must be the machine's peak and on a shared machine a
    try may lose its second core to another process.  Each count is measured once."""
    measured = {t: multiply_add_rate(precision, t) for t in sorted({1, *threads})}
    return {t: max(measured[1], measured[t]) for t in threads}


def complex_multiply_adds(gates_run: dict[str, int], num_qubits: int) -> int:
    """Complex multiply-adds of a program whose gate census is ``gates_run``."""
    per_amplitude = gates_run.get("diagonal", 0)
    for kind, count in gates_run.items():
        if kind.startswith("dense_"):
            per_amplitude += count << int(kind[len("dense_") :])
    return per_amplitude << num_qubits


def _timed(run: Any) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure_cell(
    family: str,
    num_qubits: int,
    threads: int,
    precision: str,
    repeats: int,
    rate: float,
    copy_s: float,
) -> dict[str, Any]:
    """svsim's and qsim's times on one circuit, against the floor of svsim's fused program."""
    spec = family_spec(family, num_qubits)
    runners: dict[str, Any] = {}
    census: dict[str, int] = {}
    sweeps = 0
    for name in ("svsim", "qsim"):
        peer = PEERS[name]()
        if peer.available() is not None or precision not in peer.precisions:
            continue
        peer.setup(threads, precision)
        native = peer.build(spec)
        handle = peer.run_state(native)  # the warm-up
        if name == "svsim":
            fusion = handle.result.results[0].metadata["fusion"]
            census, sweeps = fusion["gates_run"], fusion["gate_sweeps"]
        runners[name] = (peer, native)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, (peer, native) in runners.items():
            times[name].append(_timed(lambda peer=peer, native=native: peer.run_state(native)))
    fmas = 3 * complex_multiply_adds(census, num_qubits)
    record: dict[str, Any] = {
        "family": family,
        "qubits": num_qubits,
        "threads": threads,
        "precision": precision,
        "gates_run": census,
        "multiply_adds": fmas,
        "rate": rate,
        "arithmetic_floor_s": fmas / rate,
        "gate_sweeps": sweeps,
        "memory_floor_s": sweeps * copy_s,
        "floor_s": max(fmas / rate, sweeps * copy_s),
    }
    for name, samples in times.items():
        record[f"{name}_s"] = statistics.median(samples)
    return record


def _format(record: dict[str, Any]) -> str:
    floor = record["floor_s"]
    dense = ", ".join(
        f"{kind[len('dense_') :]}q x{count}"
        for kind, count in sorted(record["gates_run"].items())
        if kind.startswith("dense_")
    )
    cells = [
        f"{record['family']}-{record['qubits']}",
        str(record["threads"]),
        dense,
        f"{record['multiply_adds'] / 1e9:.2f}",
        f"{record['arithmetic_floor_s'] * 1e3:.1f}",
        str(record["gate_sweeps"]),
        f"{record['memory_floor_s'] * 1e3:.1f}",
        f"{record['svsim_s'] * 1e3:.1f} ({record['svsim_s'] / floor:.2f}x)",
    ]
    if "qsim_s" in record:
        cells += [
            f"{record['qsim_s'] * 1e3:.1f} ({record['qsim_s'] / floor:.2f}x)",
            f"{record['svsim_s'] / record['qsim_s']:.2f}",
        ]
    else:  # qsim is not installed, or runs single precision only
        cells += ["–", "–"]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qubits", default="20,24")
    parser.add_argument("--families", default="random,qv,qcbm")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--precision", default="single", choices=("single", "double"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the records to this file")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    rates = peak_rates(args.precision, threads)
    print(f"load average {os.getloadavg()[0]:.2f}")
    for t, rate in rates.items():
        print(f"measured {args.precision} multiply-add rate, {t} thread(s): {rate / 1e9:.1f} G/s")
    sizes = [int(q) for q in args.qubits.split(",")]
    copies = {
        (r["n"], r["threads"]): r["pass_s"]
        for r in measure_floor(sizes, [args.precision], threads, repeats=5)
    }
    print(
        "| circuit | threads | fused dense gates | G multiply-adds | arithmetic floor (ms) "
        "| sweeps | memory floor (ms) | svsim (ms, x floor) | qsim (ms, x floor) | svsim / qsim |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    records = []
    for n in sizes:
        for family in args.families.split(","):
            for t in threads:
                record = measure_cell(
                    family, n, t, args.precision, args.repeats, rates[t], copies[(n, t)]
                )
                records.append(record)
                print(_format(record), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(records, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
