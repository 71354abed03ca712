"""Threads under contention: how svsim's thread pool behaves on a busy machine.

``python -m svsim.bench.contention`` prints three markdown tables, each figure
the median of several runs (the whole job API, ``run()`` to ``result()``):

1. Per-shot trajectories (a GHZ-n circuit whose measurements are followed by
   ``save_probabilities``, so every shot is simulated on its own: dozens of
   short loops a shot) at 12-20 qubits, on 1 and 2 threads, on an idle machine
   and next to one competing process that keeps a core busy.
2. Millisecond-scale runs (GHZ-20 and QFT-18 in double, sampled) on 2 threads,
   idle and busy: the median and the slowest of the repeats, since a team that
   waits for a descheduled thread shows as runs that flip between fast and slow.
3. QFT-18 on one backend, alone and while a second backend that has run one
   job sits idle.

The competing process is a Python loop started for the busy columns only.  A
2-thread figure well above the 1-thread one, or a slowest run far above the
median, is what this bench exists to catch.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import svsim
from svsim.bench.clifford import cpu_name
from svsim.families import ghz, qft

__all__ = ["busy_core", "main", "trajectory_circuit"]

# Shots per width, so that one run takes a few tenths of a second on 1 thread.
TRAJECTORY_SHOTS = {12: 400, 14: 200, 16: 50, 18: 12, 20: 3}


def trajectory_circuit(num_qubits: int) -> svsim.Circuit:
    """GHZ-n, measured, then a save: the save makes every shot a trajectory."""
    circuit = svsim.Circuit(num_qubits, num_qubits)
    circuit.h(0)
    for q in range(num_qubits - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(num_qubits), range(num_qubits))
    circuit.save_probabilities([0, 1], label="p")
    return circuit


@contextlib.contextmanager
def busy_core(active: bool) -> Iterator[None]:
    """A competing process that keeps one core busy while the block runs."""
    if not active:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start spinning
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _times(work: Callable[[], object], repeats: int) -> list[float]:
    work()  # warm-up: buffers, the pool's threads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def _run(backend: svsim.BasicSimulator, circuit: svsim.Circuit, shots: int) -> Callable[[], object]:
    return lambda: backend.run(circuit, shots=shots, seed_simulator=1, memory=False).result()


def trajectories(widths: Sequence[int], repeats: int) -> list[str]:
    lines = [
        "| qubits | shots | 1 thread | 2 threads | 2/1 "
        "| 1 thread, busy | 2 threads, busy | 2/1 busy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in widths:
        shots = TRAJECTORY_SHOTS[n]
        circuit = trajectory_circuit(n)
        cells: dict[tuple[int, bool], float] = {}
        for busy in (False, True):
            with busy_core(busy):
                for threads in (1, 2):
                    with svsim.BasicSimulator(max_parallel_threads=threads) as backend:
                        work = _run(backend, circuit, shots)
                        cells[threads, busy] = statistics.median(_times(work, repeats))
        lines.append(
            f"| {n} | {shots} | {cells[1, False]:.3f} s | {cells[2, False]:.3f} s "
            f"| {cells[2, False] / cells[1, False]:.2f} | {cells[1, True]:.3f} s "
            f"| {cells[2, True]:.3f} s | {cells[2, True] / cells[1, True]:.2f} |"
        )
    return lines


def short_runs(repeats: int) -> list[str]:
    lines = [
        "| circuit | idle median | idle slowest | busy median | busy slowest |",
        "|---|---|---|---|---|",
    ]
    for name, circuit in (("GHZ-20", ghz(20)), ("QFT-18", qft(18))):
        circuit.measure_all()
        cells = []
        for busy in (False, True):
            with busy_core(busy), svsim.BasicSimulator(max_parallel_threads=2) as backend:
                times = _times(_run(backend, circuit, 1024), repeats)
            cells += [statistics.median(times), max(times)]
        lines.append(f"| {name} | " + " | ".join(f"{t * 1e3:.1f} ms" for t in cells) + " |")
    return lines


def idle_second_backend(repeats: int) -> list[str]:
    circuit = qft(18)
    circuit.measure_all()
    with svsim.BasicSimulator(max_parallel_threads=2) as first:
        work = _run(first, circuit, 1024)
        alone = statistics.median(_times(work, repeats))
        with svsim.BasicSimulator(max_parallel_threads=2) as second:
            _run(second, circuit, 1024)()  # has run one job, now sits idle
            beside = statistics.median(_times(work, repeats))
        after = statistics.median(_times(work, repeats))
    return [
        "| QFT-18, 2 threads | alone | a second backend idle | after it closed |",
        "|---|---|---|---|",
        f"| median | {alone * 1e3:.1f} ms | {beside * 1e3:.1f} ms | {after * 1e3:.1f} ms |",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svsim.bench.contention", description=__doc__)
    parser.add_argument("--widths", type=int, nargs="+", default=sorted(TRAJECTORY_SHOTS))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.widths) - set(TRAJECTORY_SHOTS))
    if unknown:
        parser.error(f"widths must be among {sorted(TRAJECTORY_SHOTS)}, not {unknown}")
    cores = svsim.build_info()["max_threads"]
    print(f"CPU: {cpu_name()}, {cores} cores, svsim {svsim.__version__}")
    print("\nPer-shot trajectories (GHZ-n, measured, then save_probabilities):\n")
    print("\n".join(trajectories(args.widths, args.repeats)))
    print(f"\nMillisecond-scale runs on 2 threads ({max(args.repeats, 9)} repeats):\n")
    print("\n".join(short_runs(max(args.repeats, 9))))
    print("\nAn idle second backend:\n")
    print("\n".join(idle_second_backend(max(args.repeats, 9))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
