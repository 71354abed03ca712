"""Clifford circuits: svsim's stabilizer path against Stim and Qiskit's BasicSimulator.

``python -m svsim.bench.clifford`` prints a markdown table: 10^5 shots of GHZ-n
and of random Clifford circuits (terminal measurements, and at n = 200 also
mid-circuit measurements and resets), each figure the median of several timed
runs after a checked warm-up, with the CPU named.

The columns:

- svsim: ``svsim.BasicSimulator().run(..., use_clifford_optimization=True)``
  to ``get_counts()`` (the whole job API).
- run_stabilizer: :func:`svsim.stabilizer.run_stabilizer` alone, to the packed
  memory: the translation, Stim and the packing, without the job layer.
- Stim: ``compile_sampler`` and ``sample(bit_packed=True)`` of the very Stim
  circuit run_stabilizer builds (the translation is not timed).
- Qiskit: ``qiskit.providers.basic_provider.BasicSimulator`` with
  ``use_clifford_optimization=True``, ``run()`` to ``get_counts()``.  Its
  sampler measures every qubit of every shot in pure Python (about n^3
  operations a shot: 7.6 s for one shot at n = 100 on the machine this was
  written on), so it is timed with ``qiskit_shots`` shots and scaled linearly
  to the table's shots (its cost is a loop over shots), and a cell predicted
  to need more than ``qiskit_seconds`` is skipped with its prediction.  Its
  Clifford path takes terminal measurements only: with a mid-circuit
  measurement it falls back to its statevector, which refuses more than 24
  qubits.

Nothing is imported from Stim or Qiskit before a cell needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svsim.circuit import Circuit
from svsim.stabilizer import run_stabilizer, to_stim

__all__ = ["apply_ops", "cpu_name", "ghz_ops", "main", "random_clifford_ops", "run_bench"]

Op = tuple[str, tuple[int, ...], int | None]  # (gate or "measure"/"reset", qubits, clbit)

ONE_QUBIT = ("id", "x", "y", "z", "h", "s", "sdg", "sx", "sxdg")
TWO_QUBIT = ("cx", "cy", "cz", "swap", "iswap", "ecr")


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def ghz_ops(n: int) -> tuple[list[Op], int]:
    ops: list[Op] = [("h", (0,), None)]
    ops += [("cx", (q, q + 1), None) for q in range(n - 1)]
    ops += [("measure", (q,), q) for q in range(n)]
    return ops, n


def random_clifford_ops(n: int, seed: int, mid_circuit: bool = False) -> tuple[list[Op], int]:
    """10 n random gates from the whole Clifford set (half one-, half two-qubit),
    then every qubit measured; with ``mid_circuit``, in 5 rounds, each ending
    with n/10 qubits measured (each into a clbit of its own) and n/20 reset."""
    rng = np.random.default_rng(seed)
    ops: list[Op] = []
    clbit = 0
    rounds = 5 if mid_circuit else 1
    for _ in range(rounds):
        for _ in range(10 * n // rounds):
            if rng.random() < 0.5:
                ops.append((str(rng.choice(ONE_QUBIT)), (int(rng.integers(n)),), None))
            else:
                a, b = (int(q) for q in rng.choice(n, size=2, replace=False))
                ops.append((str(rng.choice(TWO_QUBIT)), (a, b), None))
        if mid_circuit:
            for q in rng.choice(n, size=n // 10, replace=False):
                ops.append(("measure", (int(q),), clbit))
                clbit += 1
            for q in rng.choice(n, size=n // 20, replace=False):
                ops.append(("reset", (int(q),), None))
    ops += [("measure", (q,), clbit + q) for q in range(n)]
    return ops, clbit + n


def apply_ops(circuit: Any, ops: Sequence[Op]) -> Any:
    """Append ``ops`` to an svsim ``Circuit`` or a Qiskit ``QuantumCircuit`` (their
    gate methods share names and argument order); returns the circuit."""
    for name, qubits, clbit in ops:
        if name == "measure":
            circuit.measure(qubits[0], clbit)
        else:
            getattr(circuit, name)(*qubits)
    return circuit


def to_svsim(n: int, ops: Sequence[Op], num_clbits: int) -> Circuit:
    return apply_ops(Circuit(n, num_clbits), ops)


def to_qiskit(n: int, ops: Sequence[Op], num_clbits: int) -> Any:
    from qiskit import QuantumCircuit

    return apply_ops(QuantumCircuit(n, num_clbits), ops)


@dataclass
class Row:
    circuit: str
    qubits: int
    shots: int
    times: dict[str, float | None] = field(default_factory=dict)  # median seconds
    notes: list[str] = field(default_factory=list)


def _median_time(work: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _bits(memory: np.ndarray, num_clbits: int) -> np.ndarray:
    return np.unpackbits(memory.view(np.uint8), axis=1, bitorder="little")[:, :num_clbits]


def _check_against_stim(ours: np.ndarray, stim_bits: np.ndarray, what: str) -> None:
    """Per-clbit frequencies of two samplers of one circuit agree within 6
    sigma, and bits Stim never varies are equal: a wrong bit order shows."""
    a, b = ours.mean(axis=0), stim_bits.mean(axis=0)
    sigma = np.sqrt(0.25 / len(ours) + 0.25 / len(stim_bits))
    fixed = (b == 0) | (b == 1)
    if np.abs(a - b).max() > 6 * sigma or not np.array_equal(a[fixed], b[fixed]):
        raise RuntimeError(f"{what}: svsim's samples differ from Stim's")


def _svsim_counts(backend: Any, circuit: Circuit, shots: int, seed: int) -> Any:
    """svsim's whole path: the job API with Qiskit's option, to the counts."""
    job = backend.run(circuit, shots=shots, seed_simulator=seed, use_clifford_optimization=True)
    result = job.result()
    if result.results[0].metadata["method"] != "stabilizer":
        raise RuntimeError(f"{circuit.name}: the backend did not use the stabilizer method")
    return result.get_counts()


def _qiskit_cell(
    row: Row,
    qc: Any,
    valid: Callable[[str], bool],
    repeats: int,
    qiskit_shots: int,
    budget: float,
    per_shot_100: float | None,
) -> float | None:
    """Times Qiskit's Clifford path (scaled to row.shots) or notes why not;
    returns the seconds per shot it measured, for predicting larger cells.
    ``valid`` checks each outcome of the warm-up run."""
    try:
        from qiskit.providers.basic_provider import BasicSimulator
    except ImportError:
        row.notes.append("Qiskit not installed")
        return None
    if per_shot_100 is not None:
        predicted = per_shot_100 * (row.qubits / 100) ** 3 * qiskit_shots * repeats
        if predicted > budget:
            per_shot = per_shot_100 * (row.qubits / 100) ** 3
            row.notes.append(
                f"Qiskit skipped: predicted {per_shot:,.0f} s a shot (n^3 from n=100), "
                f"{per_shot * row.shots / 3600:,.0f} h for {row.shots:,} shots"
            )
            return None
    backend = BasicSimulator()

    def work() -> dict[str, int]:
        job = backend.run(qc, shots=qiskit_shots, seed_simulator=7, use_clifford_optimization=True)
        return job.result().get_counts()

    try:
        counts = work()
    except Exception as exc:
        row.notes.append(f"Qiskit failed: {type(exc).__name__}: {exc}")
        return None
    if sum(counts.values()) != qiskit_shots or not all(map(valid, counts)):
        row.notes.append(f"Qiskit's outcomes failed the check, not timed: {list(counts)[:3]}")
        return None
    measured = _median_time(work, repeats)
    row.times["qiskit"] = measured * row.shots / qiskit_shots
    row.notes.append(f"Qiskit timed at {qiskit_shots} shot(s), scaled x{row.shots // qiskit_shots}")
    return measured / qiskit_shots


def run_bench(
    *,
    shots: int = 100_000,
    repeats: int = 3,
    ghz_sizes: Sequence[int] = (100, 500, 1000),
    random_sizes: Sequence[int] = (100, 200),
    mid_sizes: Sequence[int] = (200,),
    qiskit_shots: int = 1,
    qiskit_seconds: float = 60.0,
    seed: int = 1234,
) -> list[Row]:
    """Every cell, checked then timed."""
    from svsim import BasicSimulator

    backend = BasicSimulator()
    cells = [("ghz", n, False) for n in ghz_sizes]
    cells += [("random", n, False) for n in random_sizes]
    cells += [("random+mid", n, True) for n in mid_sizes]
    rows = []
    per_shot_100: float | None = None
    for family, n, mid in cells:
        ops, num_clbits = ghz_ops(n) if family == "ghz" else random_clifford_ops(n, seed + n, mid)
        row = Row(family, n, shots)
        circuit = to_svsim(n, ops, num_clbits)
        stim_circuit = to_stim(circuit)

        def stim_sample(c: Any = stim_circuit) -> np.ndarray:
            return c.compile_sampler(seed=seed).sample(shots, bit_packed=True)

        def ours(c: Circuit = circuit) -> np.ndarray:
            return run_stabilizer(c, shots=shots, seed=seed).memory

        # The warm-up is the check: svsim's samples against Stim's.
        record = [clbit for name, _, clbit in ops if name == "measure"]
        stim_bits = np.unpackbits(stim_sample(), axis=1, bitorder="little")[:, : len(record)]
        _check_against_stim(_bits(ours(), num_clbits)[:, record], stim_bits, row.circuit)
        fixed = {
            record[j]: str(int(stim_bits[0, j]))
            for j in np.flatnonzero(stim_bits.min(axis=0) == stim_bits.max(axis=0))
        }

        def valid(key: str, fixed: dict[int, str] = fixed, ghz: bool = family == "ghz") -> bool:
            """A Qiskit outcome (clbit 0 rightmost) agrees with what Stim never varies."""
            if ghz and len(set(key)) != 1:
                return False
            return all(key[-1 - clbit] == bit for clbit, bit in fixed.items())

        row.times["run_stabilizer"] = _median_time(ours, repeats)
        row.times["stim"] = _median_time(stim_sample, repeats)
        _svsim_counts(backend, circuit, shots, seed)
        row.times["svsim"] = _median_time(
            lambda c=circuit: _svsim_counts(backend, c, shots, seed), repeats
        )
        if mid:
            row.notes.append("Qiskit: no Clifford path with mid-circuit measurements")
        else:
            qc = to_qiskit(n, ops, num_clbits)
            measured = _qiskit_cell(
                row, qc, valid, repeats, qiskit_shots, qiskit_seconds, per_shot_100
            )
            if measured is not None and n == 100 and per_shot_100 is None:
                per_shot_100 = measured
        rows.append(row)
    return rows


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} s" if value >= 100 else f"{value:.3g} s"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.3g}"


def markdown(rows: Sequence[Row], repeats: int) -> str:
    import stim

    versions = [f"stim {stim.__version__} ({type(stim.Circuit()).__module__})"]
    with contextlib.suppress(ImportError):
        import qiskit

        versions.append(f"qiskit {qiskit.__version__}")
    versions.append(f"numpy {np.__version__}")
    lines = [
        f"CPU: {cpu_name()}; {', '.join(versions)}; median of {repeats} runs.",
        "svsim column: BasicSimulator().run(..., use_clifford_optimization=True) to get_counts().",
        "",
        "| circuit | n | shots | svsim | run_stabilizer | Stim | Qiskit "
        "| svsim/Stim | run_stabilizer/Stim | svsim/Qiskit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        t = row.times
        lines.append(
            f"| {row.circuit} | {row.qubits} | {row.shots:,} | {_seconds(t.get('svsim'))} "
            f"| {_seconds(t.get('run_stabilizer'))} | {_seconds(t.get('stim'))} "
            f"| {_seconds(t.get('qiskit'))} | {_ratio(t.get('svsim'), t.get('stim'))} "
            f"| {_ratio(t.get('run_stabilizer'), t.get('stim'))} "
            f"| {_ratio(t.get('svsim'), t.get('qiskit'))} |"
        )
    notes = [f"- {row.circuit}-{row.qubits}: {'; '.join(row.notes)}" for row in rows if row.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svsim.bench.clifford", description=__doc__)
    parser.add_argument("--shots", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--qiskit-shots", type=int, default=1)
    parser.add_argument(
        "--qiskit-seconds",
        type=float,
        default=60.0,
        help="skip a Qiskit cell predicted to take longer than this (all its repeats)",
    )
    args = parser.parse_args(argv)
    rows = run_bench(
        shots=args.shots,
        repeats=args.repeats,
        qiskit_shots=args.qiskit_shots,
        qiskit_seconds=args.qiskit_seconds,
    )
    print(markdown(rows, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
