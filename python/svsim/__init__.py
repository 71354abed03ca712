"""svsim: a fast statevector simulator with the job API of Qiskit's basic provider."""

from __future__ import annotations

from svsim import _core
from svsim.backend import BasicProvider, BasicSimulator
from svsim.circuit import Circuit, Instruction
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
]


def build_info() -> dict:
    """What this build can do: OpenMP, threads, vector instructions, precisions."""
    info = dict(_core.build_info())
    info["precisions"] = ("single", "double")
    info["version"] = __version__
    return info
