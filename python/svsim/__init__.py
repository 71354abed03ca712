"""svsim: a fast statevector simulator with the job API of Qiskit's basic provider."""

from __future__ import annotations

from svsim import _core
from svsim.backend import BasicProvider, BasicSimulator
from svsim.circuit import Circuit, Instruction
from svsim.engine import ExperimentOutput, run_experiment
from svsim.exceptions import CircuitError, JobError, JobTimeoutError, SimulatorError, SvsimError
from svsim.job import JOB_FINAL_STATES, BasicProviderJob, JobStatus
from svsim.result import ExperimentResult, Result

__version__ = "0.1.0"

__all__ = [
    "JOB_FINAL_STATES",
    "BasicProvider",
    "BasicProviderJob",
    "BasicSimulator",
    "Circuit",
    "CircuitError",
    "ExperimentOutput",
    "ExperimentResult",
    "Instruction",
    "JobError",
    "JobStatus",
    "JobTimeoutError",
    "Result",
    "SimulatorError",
    "SvsimError",
    "__version__",
    "build_info",
    "simulate",
]


def build_info() -> dict:
    """What this build can do: OpenMP, threads, vector instructions, precisions."""
    info = dict(_core.build_info())
    info["precisions"] = ("single", "double")
    info["version"] = __version__
    return info


def simulate(
    circuit: Circuit,
    shots: int = 1024,
    seed: int | None = None,
    precision: str = "double",
    threads: int = 0,
    max_memory_mb: float | None = None,
) -> ExperimentOutput:
    """Run ``circuit`` synchronously (temporary entry until the job layer lands)."""
    import numpy as np

    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**63))
    return run_experiment(
        circuit,
        shots=shots,
        seed=seed,
        precision=precision,
        threads=threads,
        max_memory_mb=max_memory_mb,
    )
