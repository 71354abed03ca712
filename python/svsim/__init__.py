"""svsim: a fast statevector simulator, a drop-in for Qiskit's ``BasicSimulator``.

With Qiskit installed, ``svsim.BasicSimulator`` is a Qiskit ``BackendV2`` and
svsim's jobs, results, statuses and errors are Qiskit's types (see
:mod:`svsim._qiskit_types`); without it the same classes run on numpy alone.
"""

from __future__ import annotations

from typing import Any

from svsim import _core
from svsim._version import __version__
from svsim.backend import BasicProvider, BasicSimulator
from svsim.circuit import Circuit, Instruction
from svsim.exceptions import (
    BackendNotFoundError,
    BasicProviderError,
    CircuitError,
    JobError,
    JobTimeoutError,
    SimulatorError,
    SvsimError,
)
from svsim.job import JOB_FINAL_STATES, BasicProviderJob, JobStatus
from svsim.result import ExperimentResult, Result

__all__ = [
    "JOB_FINAL_STATES",
    "BackendNotFoundError",
    "BasicProvider",
    "BasicProviderError",
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


def build_info() -> dict[str, Any]:
    """What this build can do: threads, vector instructions, precisions."""
    info = dict(_core.build_info())
    info["precisions"] = ("single", "double")
    info["version"] = __version__
    return info
