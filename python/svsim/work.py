"""What a job runs: :class:`JobSpec`, plain picklable data, and :func:`run_job`.

A job's work is :func:`run_job` over a :class:`JobSpec` (the circuits with
their seeds and methods, the shots, the settings): data in, a
:class:`~svsim.result.Result` out.  On a thread pool the job calls it with its
:class:`~svsim.job.JobControl` (cancel between gates, progress); a process
pool or a Dask client gets ``run_job`` and the spec (``JobWork.as_task``) to
run wherever it runs its work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from svsim import engine
from svsim.circuit import Circuit
from svsim.job import JobControl
from svsim.result import Result, result_from_outputs

__all__ = ["Experiment", "JobSpec", "JobWork", "Settings", "run_job"]


@dataclass(frozen=True)
class Settings:
    """The backend's settings with a run's overrides."""

    precision: str
    threads: int
    fusion: bool
    max_memory_mb: float | None


@dataclass(frozen=True)
class Experiment:
    """One circuit of a job, with its seed and the method that runs it."""

    circuit: Circuit
    seed: int
    method: str = "statevector"  # or "stabilizer"


@dataclass(frozen=True, eq=False)
class JobSpec:
    """What one job runs, as plain picklable data: all a remote executor receives.

    ``experiments[i]`` is circuit ``i`` with its seed; ``initial`` is the
    checked initial statevector (complex128) or None; ``settings`` the
    backend's settings with the run's overrides.
    """

    job_id: str
    backend_name: str
    backend_version: str
    experiments: tuple[Experiment, ...]
    shots: int
    memory: bool
    initial: np.ndarray | None
    settings: Settings


def run_job(spec: JobSpec, control: JobControl | None = None) -> Result:
    """Run a job's experiments one after another in this thread; its Result.

    A module-level function over plain data, so a process pool or a Dask
    worker can run it: ``executor.submit(run_job, spec)``.  Given the job's
    ``control`` (only where the job lives, in this process), it can be
    cancelled between and during experiments, and reports its progress.

    Each experiment's memory limit is what the earlier ones leave of
    ``max_memory_mb``: the result keeps their statevectors and shot data.
    """
    start = time.perf_counter()
    s = spec.settings
    outputs = []
    kept = 0  # bytes that the earlier experiments' outputs hold
    for index, experiment in enumerate(spec.experiments):
        run_control = control.start(index) if control is not None else None
        limit = None if s.max_memory_mb is None else s.max_memory_mb - kept / (1 << 20)
        circuit = experiment.circuit
        if experiment.method == "stabilizer":
            from svsim import stabilizer

            output = stabilizer.run_stabilizer(
                circuit, shots=spec.shots, seed=experiment.seed, control=run_control
            )
        else:
            output = engine.run_experiment(
                circuit,
                shots=spec.shots,
                seed=experiment.seed,
                precision=s.precision,
                threads=s.threads,
                max_memory_mb=limit,
                control=run_control,
                initial_statevector=spec.initial,
                fusion=s.fusion,
            )
            kept += engine.statevectors_needed(circuit) * engine.state_bytes(
                circuit.num_qubits, s.precision
            )
        if control is not None:
            control.finish(index)
        outputs.append(output)
        kept += int(output.memory.nbytes)
    if control is not None:
        control.check()
    metadata = [
        {
            "fusion": _fusion_metadata(out),
            "parallel_shots": 1,
            "parallel_state_update": int(out.threads),
            "max_memory_mb": s.max_memory_mb,
        }
        for out in outputs
    ]
    result = result_from_outputs(
        outputs,
        [e.circuit for e in spec.experiments],
        job_id=spec.job_id,
        backend_name=spec.backend_name,
        backend_version=spec.backend_version,
        memory=spec.memory,
        metadata=metadata,
        time_taken=time.perf_counter() - start,
    )
    if control is not None:
        control.check()
    return result


class JobWork:
    """The work of one job: :func:`run_job` over its spec, with its control here,
    or as a picklable task (:meth:`as_task`) for an executor elsewhere.

    A plain object rather than a closure so the job's ``repr`` and a
    debugger show what it holds.
    """

    def __init__(self, spec: JobSpec, control: JobControl) -> None:
        self.spec = spec
        self.control = control

    def __call__(self) -> Result:
        return run_job(self.spec, self.control)

    def as_task(self) -> tuple[Any, tuple[Any, ...]]:
        """``(run_job, (spec,))``: what a process pool or Dask runs."""
        return run_job, (self.spec,)


def _fusion_metadata(output: engine.ExperimentOutput) -> dict[str, Any]:
    """Aer's fusion record: was it enabled, and did it merge any operations."""
    return {
        "enabled": output.fusion,
        "applied": output.fusion and output.ops_run < output.ops_encoded,
        "ops_encoded": output.ops_encoded,
        "ops_run": output.ops_run,
        "threshold": engine.FUSION_THRESHOLD,
        "max_fused_qubits": engine.MAX_FUSED_QUBITS,
    }
