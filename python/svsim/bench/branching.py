"""Shot branching (issue 20): circuits with mid-circuit measurement, reset or
conditions, branched against per-shot trajectories and against Qiskit Aer.

``python -m svsim.bench.branching`` prints two markdown tables, each time the
median of ``--repeats`` runs of the whole job API (``run()`` to ``result()``),
on ``--threads`` threads for svsim and Aer alike:

1. QASMBench's ``square_root_n18`` (18 qubits, 558 operations, 65 resets whose
   outcome is certain, the first at operation 21) at ``--shots`` shots:
   svsim branching, svsim per-shot trajectories (``shot_branching=False``; run
   for ``--trajectory-shots`` shots and scaled to ``--shots``, since the full
   run takes minutes), and Aer.
2. The seven mid-circuit circuits of QASMBench (ipea_n2, inverseqft_n4,
   qec_sm_n5, shor_n5, bb84_n8, seca_n11, cc_n12) at ``--shots`` shots: svsim
   branching against Aer (default options, and ``shot_branching_enable=True``;
   Aer 0.18's default is False), with the total variation distance between the two
   count distributions next to the distance two independent samples of that
   many shots from svsim's own distribution have (the noise floor).

The circuits are QASMBench's files (bench/qasmbench, with their source and
licence), loaded with Qiskit's OpenQASM 2 loader into a ``QuantumCircuit`` for
Aer and into an svsim ``Circuit`` (``svsim.qiskit.circuit_from_qasm``).
Aer needs ``pip install qiskit qiskit-aer``; its time is ``run()`` to
``result()`` of an already transpiled circuit, like svsim's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import svsim
from svsim.bench.clifford import cpu_name

__all__ = ["MID_CIRCUIT", "load", "main", "total_variation"]

MID_CIRCUIT = ("ipea_n2", "inverseqft_n4", "qec_sm_n5", "shor_n5", "bb84_n8", "seca_n11", "cc_n12")
RESET_CIRCUIT = "square_root_n18"
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "bench" / "qasmbench"


def load(name: str, folder: Path) -> tuple[svsim.Circuit, Any]:
    """QASMBench circuit ``name`` as an svsim Circuit and a Qiskit QuantumCircuit."""
    from qiskit import qasm2

    from svsim.qiskit import circuit_from_qasm

    path = folder / f"{name}.qasm"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: pass --qasm-dir, a folder with QASMBench's {name}.qasm"
        )
    quantum_circuit = qasm2.load(
        path,
        include_path=(str(folder),),
        custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
    )
    quantum_circuit.name = name
    return circuit_from_qasm(path), quantum_circuit


def total_variation(a: dict[str, int], b: dict[str, int]) -> float:
    """Half the L1 distance between two count dictionaries, as distributions."""
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def _plain(counts: dict[str, int]) -> dict[str, int]:
    return {key.replace(" ", ""): int(value) for key, value in counts.items()}


def _median_time(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def reset_table(
    folder: Path, shots: int, trajectory_shots: int, repeats: int, threads: int
) -> list[str]:
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    circuit, quantum_circuit = load(RESET_CIRCUIT, folder)
    backend = svsim.BasicSimulator(max_parallel_threads=threads)

    def ours(**options: Any) -> Callable[[], svsim.Result]:
        return lambda: backend.run(circuit, seed_simulator=7, **options).result()

    branch_time, branched = _median_time(ours(shots=shots), repeats)
    meta = branched.results[0].metadata
    per_shot_time, per_shot = _median_time(
        ours(shots=trajectory_shots, shot_branching=False), max(1, repeats // 2)
    )
    scaled = per_shot_time * shots / trajectory_shots
    rows = [
        f"load before: {_load_average()}",
        "",
        "| run | shots | seconds | per shot (ms) | method | branches | trajectory / this |",
        "|---|---|---|---|---|---|---|",
        f"| svsim branching | {shots:,} | {branch_time:.3f} | {1e3 * branch_time / shots:.4f} "
        f"| {meta['shot_method']} | {meta['shot_branching']['branches']} "
        f"| {scaled / branch_time:,.0f}x |",
        f"| svsim per-shot trajectories | {trajectory_shots:,} (x{shots // trajectory_shots} "
        f"= {scaled:,.1f} s for {shots:,}) | {per_shot_time:.3f} "
        f"| {1e3 * per_shot_time / trajectory_shots:.3f} "
        f"| {per_shot.results[0].metadata['shot_method']} | - | 1x |",
    ]
    for label, options in (
        ("Aer, shot_branching_enable=True", {"shot_branching_enable": True}),
        ("Aer, default options", {}),
    ):
        aer = AerSimulator(max_parallel_threads=threads, **options)
        compiled = transpile(quantum_circuit, aer)
        aer_shots = shots if options else trajectory_shots
        aer_time, result = _median_time(
            lambda aer=aer, compiled=compiled, n=aer_shots: aer.run(
                compiled, shots=n, seed_simulator=7
            ).result(),
            max(1, repeats // 2) if not options else repeats,
        )
        extra = (
            ""
            if aer_shots == shots
            else f" (x{shots // aer_shots} = {aer_time * shots / aer_shots:,.1f} s)"
        )
        rows.append(
            f"| {label} | {aer_shots:,}{extra} | {aer_time:.3f} | {1e3 * aer_time / aer_shots:.4f} "
            f"| {result.results[0].metadata.get('method', '?')} | - "
            f"| {scaled / (aer_time * shots / aer_shots):,.1f}x |"
        )
        if options:
            tvd = total_variation(_plain(branched.get_counts()), _plain(result.get_counts()))
            rows_tvd = f"svsim vs Aer (branching) at {shots:,} shots: total variation {tvd:.4f}"
    rows += ["", rows_tvd, f"load after: {_load_average()}"]
    return rows


def mid_circuit_table(folder: Path, shots: int, repeats: int, threads: int) -> list[str]:
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    backend = svsim.BasicSimulator(max_parallel_threads=threads)
    aers = [
        AerSimulator(max_parallel_threads=threads),
        AerSimulator(max_parallel_threads=threads, shot_branching_enable=True),
    ]
    rows = [
        f"load before: {_load_average()}",
        "",
        "| circuit | qubits | ops | svsim (ms) | branches | Aer default (ms) "
        "| Aer branching (ms) | svsim / faster Aer | TVD svsim-Aer | TVD noise floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in MID_CIRCUIT:
        circuit, quantum_circuit = load(name, folder)
        ours_time, ours = _median_time(
            lambda c=circuit: backend.run(c, shots=shots, seed_simulator=11).result(), repeats
        )
        aer_times, theirs = [], None
        for aer in aers:
            compiled = transpile(quantum_circuit, aer)
            elapsed, theirs = _median_time(
                lambda c=compiled, a=aer: a.run(c, shots=shots, seed_simulator=11).result(),
                repeats,
            )
            aer_times.append(elapsed)
        assert theirs is not None
        a, b = _plain(ours.get_counts()), _plain(theirs.get_counts())
        other = _plain(backend.run(circuit, shots=shots, seed_simulator=12).result().get_counts())
        meta = ours.results[0].metadata
        rows.append(
            f"| {name} | {circuit.num_qubits} | {len(circuit.data)} | {1e3 * ours_time:.2f} "
            f"| {meta['shot_branching']['branches']} ({meta['shot_method']}) "
            f"| {1e3 * aer_times[0]:.1f} | {1e3 * aer_times[1]:.1f} "
            f"| {ours_time / min(aer_times):.4f} | {total_variation(a, b):.4f} "
            f"| {total_variation(a, other):.4f} |"
        )
    rows += ["", f"load after: {_load_average()}"]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svsim.bench.branching", description=__doc__)
    parser.add_argument("--qasm-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--shots", type=int, default=20_000)
    parser.add_argument("--trajectory-shots", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-reset", action="store_true", help="only the seven circuits")
    args = parser.parse_args(argv)
    print(
        f"CPU: {cpu_name()}, {os.cpu_count()} cores, svsim {svsim.__version__}, "
        f"{args.threads} thread(s), median of {args.repeats}"
    )
    if not args.skip_reset:
        print(f"\n{RESET_CIRCUIT} (QASMBench), {args.shots:,} shots:\n")
        print(
            "\n".join(
                reset_table(
                    args.qasm_dir, args.shots, args.trajectory_shots, args.repeats, args.threads
                )
            )
        )
    print(f"\nMid-circuit QASMBench circuits, {args.shots:,} shots:\n")
    print("\n".join(mid_circuit_table(args.qasm_dir, args.shots, args.repeats, args.threads)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
