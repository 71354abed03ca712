"""One circuit over MPI, as :func:`svsim.engine.run_experiment` runs one in a
process: the per-rank memory check, the run, its output."""

from __future__ import annotations

import time

import numpy as np

from svsim import _core, engine
from svsim.circuit import Circuit
from svsim.exceptions import SimulatorError
from svsim.mpi import check_split, world
from svsim.mpi.run import PIECE_BYTES, run_distributed

__all__ = ["check_memory", "memory_per_rank", "run_experiment"]


def memory_per_rank(
    circuit: Circuit, precision: str, ranks: int, shots: int = 0, initial_bytes: int = 0
) -> dict[str, int]:
    """What each rank of a run over ``ranks`` needs at once, by what it is for
    (rank 0 also gathers each saved statevector)."""
    state = engine.state_bytes(circuit.num_qubits, precision)
    chunk = state // ranks
    saves = sum(1 for i in circuit.data if i.name == "save_statevector")
    parts = {
        "chunk": chunk,
        "exchange buffers": 2 * min(PIECE_BYTES, max(chunk // 2, 1)),
        "saved statevectors (rank 0)": saves * state,
        "saved probabilities": 2 * engine.probabilities_bytes(circuit),
        "shots": engine.shot_bytes(circuit.num_clbits, shots) + 8 * shots,
        "initial statevector": initial_bytes,
    }
    return {k: v for k, v in parts.items() if v}


def check_memory(
    circuit: Circuit,
    precision: str,
    max_memory_mb: float,
    ranks: int,
    shots: int = 0,
    initial_bytes: int = 0,
) -> None:
    """Refuse, before anything is allocated, a run that does not fit in one rank's limit."""
    check_split(circuit, ranks)
    engine.check_width(circuit, precision)
    parts = memory_per_rank(circuit, precision, ranks, shots, initial_bytes)
    needed = sum(parts.values())
    limit = int(max_memory_mb * (1 << 20))
    if needed <= limit:
        return
    detail = "; ".join(f"{v:,} for the {k}" for k, v in parts.items())
    more = ranks * 2
    raise SimulatorError(
        f"circuit {circuit.name!r} needs {needed:,} bytes per MPI rank ({detail}; "
        f"{circuit.num_qubits} qubits in {precision} precision over {ranks} ranks), but the limit "
        f"per rank is {limit:,} bytes (max_memory_mb={max_memory_mb:g}); use more ranks "
        f"(mpiexec -n {more}), fewer qubits"
        + (" or precision='single'" if precision == "double" else "")
        + f", or raise max_memory_mb to at least {-(-needed // (1 << 20))} if each rank has it"
    )


def run_experiment(
    circuit: Circuit,
    *,
    shots: int,
    seed: int,
    precision: str = "double",
    threads: int = 0,
    max_memory_mb: float | None = None,
    control: _core.RunControl | None = None,
    initial_statevector: np.ndarray | None = None,
    fusion: bool = True,
    fusion_threshold: int = engine.FUSION_THRESHOLD,
    max_fused_qubits: int = engine.MAX_FUSED_QUBITS,
    shot_branching: bool = False,
) -> engine.ExperimentOutput:
    """:func:`svsim.engine.run_experiment` over the ranks of the MPI job; every
    rank calls it with the same arguments and gets the same output (a saved
    statevector only on rank 0, None elsewhere; no final statevector).
    ``shot_branching`` is not done over MPI: mid-circuit measurement runs one
    trajectory per shot whatever it says."""
    engine.check_precision(precision)
    comm = world("jobs")
    ranks = comm.Get_size()
    limit = engine.default_max_memory_mb() if max_memory_mb is None else max_memory_mb
    initial_bytes = 0 if initial_statevector is None else int(initial_statevector.nbytes)
    check_memory(circuit, precision, limit, ranks, shots, initial_bytes)
    needed = sum(memory_per_rank(circuit, precision, ranks, shots, initial_bytes).values())
    spare = int(limit * (1 << 20)) - needed
    program = circuit.encode()
    threads = threads if threads > 0 else engine.online_cpus()
    start = time.perf_counter()
    raw = run_distributed(
        comm,
        program,
        shots=shots,
        seed=seed,
        precision=precision,
        threads=threads,
        parallel_threshold=engine.PARALLEL_THRESHOLD,
        fusion=fusion,
        fusion_threshold=fusion_threshold,
        max_fused_qubits=max_fused_qubits,
        allow_prefix_copy=spare >= engine.state_bytes(circuit.num_qubits, precision) // ranks,
        control=control if control is not None else _core.RunControl(),
        initial_state=initial_statevector,
    )
    elapsed = time.perf_counter() - start
    if raw["memory"].shape[0] != shots:
        raise SimulatorError("the MPI run returned the wrong number of shots")
    return engine.ExperimentOutput(
        memory=raw["memory"],
        method=raw["method"],
        statevector=None,  # type: ignore[arg-type]  # gathered only where saved
        saves=dict(zip(program.save_labels, raw["saves"], strict=True)),
        seed=seed,
        shots=shots,
        threads=threads,
        precision=precision,
        time_taken=elapsed,
        fusion=fusion,
        ops_encoded=program.num_ops,
        ops_run=raw["ops_run"],
        mpi=raw["mpi"],
    )
