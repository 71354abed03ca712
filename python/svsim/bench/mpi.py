"""The MPI benchmark: one process against the same cores split into MPI ranks.

``python -m svsim.bench.mpi --qubits 26,28 --families qft,random,qv`` runs each
circuit (with ``measure_all``, 1024 shots) twice, each in a fresh process:
one rank with ``--threads`` threads (``BasicSimulator``), and ``--ranks``
ranks of ``threads / ranks`` threads each (``mpiexec -n R``, ``mpi=True``);
it prints a Markdown table (time, bytes each rank sent, the share of rank 0's
time spent in MPI calls, global/local swaps against gates on global qubits)
and the paper model of :func:`paper_model`, and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "paper_model"]


def _worker(family: str, qubits: int, threads: int, mpi: bool, precision: str) -> None:
    import svsim
    from svsim.families import build

    circuit = build(family, qubits, seed=7) if family in ("random", "qv") else build(family, qubits)
    circuit.measure_all()
    backend = svsim.BasicSimulator(precision=precision, max_parallel_threads=threads, mpi=mpi)
    result = backend.run(circuit, shots=1024, seed_simulator=1).result()
    exp = result.results[0]
    record = {
        "family": family,
        "qubits": qubits,
        "threads": threads,
        "precision": precision,
        "seconds": exp.time_taken,
        "mpi": exp.metadata.get("mpi"),
        "counts_digest": hashlib.sha256(
            json.dumps(sorted(result.get_counts().items())).encode()
        ).hexdigest(),
    }
    rank = 0
    if mpi:
        from svsim.mpi import world

        rank = world("calls").Get_rank()
    if rank == 0:
        print("RECORD " + json.dumps(record), flush=True)


def _launch(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RECORD "):
            return json.loads(line[7:])
    raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")


def paper_model(
    qubits: int, nodes: int, bytes_per_swap_fraction: float, swaps: int, bandwidth: float
) -> dict[str, float]:
    """Communication time of a QFT of ``qubits`` over ``nodes`` ranks: each of
    ``swaps`` global/local swaps sends ``bytes_per_swap_fraction`` of a chunk
    (half, as measured) at ``bandwidth`` bytes/s per node, all pairs at once."""
    chunk = (16 << qubits) // nodes
    per_swap = bytes_per_swap_fraction * chunk
    return {
        "chunk_GiB": chunk / 2**30,
        "bytes_per_node_GiB": swaps * per_swap / 2**30,
        "seconds": swaps * per_swap / bandwidth,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svsim.bench.mpi", description=__doc__)
    parser.add_argument("--qubits", default="26,28")
    parser.add_argument("--families", default="qft,random,qv")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--precision", default="double")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        family, qubits, threads, mpi, precision = args.worker
        _worker(family, int(qubits), int(threads), mpi == "1", precision)
        return 0
    mpiexec = shutil.which("mpiexec") or shutil.which(
        "mpiexec", path=str(Path(sys.executable).parent)
    )
    if mpiexec is None:
        print("no mpiexec: pip install mpich", file=sys.stderr)
        return 2
    env = dict(os.environ)
    rows = []
    print(
        "| circuit | 1 rank x T threads (s) | R ranks x T/R (s) | ratio | GiB sent per rank | "
        "rank 0 in MPI | swaps / gates on global qubits | counts identical | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    per_rank = max(args.threads // args.ranks, 1)
    me = [sys.executable, "-m", "svsim.bench.mpi", "--worker"]
    for qubits in [int(q) for q in args.qubits.split(",")]:
        for family in args.families.split(","):
            one = _launch(
                [*me, family, str(qubits), str(args.threads), "0", args.precision],
                dict(env, OMP_NUM_THREADS=str(args.threads)),
            )
            split = _launch(
                [mpiexec, "-n", str(args.ranks), *me]
                + [family, str(qubits), str(per_rank), "1", args.precision],
                dict(env, OMP_NUM_THREADS=str(per_rank)),
            )
            load = os.getloadavg()[0]
            rows.append({"one": one, "split": split, "load_average_1min": load})
            m = split["mpi"]
            print(
                f"| {family}-{qubits} | {one['seconds']:.2f} | {split['seconds']:.2f} | "
                f"{split['seconds'] / one['seconds']:.2f}x | {m['bytes_sent'] / 2**30:.2f} | "
                f"{100 * m['mpi_fraction']:.0f}% | {m['swaps']} / {m['global_gates']} "
                f"({m['relabels']} relabelled) | "
                f"{'yes' if one['counts_digest'] == split['counts_digest'] else 'NO'} | "
                f"{load:.1f} |",
                flush=True,
            )
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "mpi.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
