"""The simulator backend and its provider, with the API of Qiskit's ``basic_provider``.

``BasicSimulator.run`` checks everything it is given before it makes a job
(bad input raises there, not later from ``result()``), snapshots the
circuits, and submits a job whose work runs the circuits one after another
through :func:`svsim.engine.run_experiment` on the backend's executor.

A job's work is :func:`run_job` over a :class:`JobSpec`: plain, picklable data
(the circuits, shots, seeds, settings) in, a :class:`~svsim.result.Result`
out.  On a thread pool the job calls it with its :class:`~svsim.job.JobControl`
(cancel between gates, progress); a process pool or a Dask client gets
``run_job`` and the spec to run wherever it runs its work.
"""

from __future__ import annotations

import math
import numbers
import secrets
import threading
import time
import types
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from svsim import engine
from svsim.circuit import Circuit
from svsim.exceptions import CircuitError, SimulatorError, SvsimError
from svsim.job import (
    BasicProviderJob,
    DaemonThreadExecutor,
    JobControl,
    outstanding_jobs,
    runs_in_process,
)
from svsim.result import Result, result_from_outputs

__all__ = ["BasicProvider", "BasicSimulator", "JobSpec", "run_job"]

SEED_LIMIT = 1 << 63
_RESERVED_LABELS = ("counts", "memory")
# Options run() takes besides its named parameters: per-run overrides of the
# backend's settings.
_RUN_OPTIONS = ("precision", "max_parallel_threads", "fusion", "max_memory_mb")
_BACKEND_ALIASES = ("svsim", "basic_simulator")


def _version() -> str:
    import svsim  # late: svsim/__init__ imports this module

    return svsim.__version__


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_threads(value: object) -> int:
    if not _is_int(value) or int(value) < 0:  # type: ignore[call-overload]
        raise SimulatorError(
            f"max_parallel_threads must be an int >= 0 (0: all cores), got {value!r}"
        )
    return int(value)  # type: ignore[call-overload]


def _check_fusion(value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise SimulatorError(f"fusion must be True or False, got {value!r}")
    return bool(value)


def _check_max_memory(value: object) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or float(value) <= 0
    ):
        raise SimulatorError(f"max_memory_mb must be a positive number or None, got {value!r}")
    return float(value)


def _check_precision(value: object) -> str:
    if not isinstance(value, str):
        raise SimulatorError(f"precision must be 'single' or 'double', not {value!r}")
    return engine.check_precision(value)


@dataclass(frozen=True)
class _Settings:
    precision: str
    threads: int
    fusion: bool
    max_memory_mb: float | None


@dataclass(frozen=True)
class _Experiment:
    circuit: Circuit
    seed: int


class BasicSimulator:
    """svsim's statevector simulator, a drop-in for Qiskit's ``BasicSimulator``.

    Args:
        precision: ``"double"`` (complex128 amplitudes) or ``"single"`` (complex64).
        max_parallel_threads: threads for the kernel; 0 means all cores.
        fusion: whether the kernel may fuse gates (recorded in each result's metadata).
        executor: where jobs run: any ``concurrent.futures.Executor`` or a Dask
            ``distributed.Client``.  By default the backend's own single worker
            thread (a daemon thread), so jobs queue and run one at a time.  Thread
            pools run jobs in this process (cancel mid-run, progress); other
            executors get a picklable task (see :mod:`svsim.job`).
        max_memory_mb: the most memory a job's statevectors may take; by default
            80% of the memory available when the job is checked and again when it runs.

    :meth:`close` (or leaving a ``with BasicSimulator() as backend:`` block)
    waits for the backend's jobs and stops its own worker thread.
    """

    def __init__(
        self,
        precision: str = "double",
        max_parallel_threads: int = 0,
        fusion: bool = True,
        executor: Executor | None = None,
        max_memory_mb: float | None = None,
    ) -> None:
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise SimulatorError(
                f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}"
            )
        self._settings = _Settings(
            precision=_check_precision(precision),
            threads=_check_threads(max_parallel_threads),
            fusion=_check_fusion(fusion),
            max_memory_mb=_check_max_memory(max_memory_mb),
        )
        self._executor = executor
        self._owns_executor = executor is None
        self._executor_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------ description

    @property
    def name(self) -> str:
        return "svsim"

    @property
    def backend_version(self) -> str:
        return _version()

    @property
    def precision(self) -> str:
        return self._settings.precision

    @property
    def max_parallel_threads(self) -> int:
        return self._settings.threads

    @property
    def fusion(self) -> bool:
        return self._settings.fusion

    @property
    def max_memory_mb(self) -> float | None:
        return self._settings.max_memory_mb

    @property
    def max_num_qubits(self) -> int:
        """The most qubits whose statevector fits at this precision under the memory limit
        (with no limit given: in 80% of the memory available now)."""
        limit = self._settings.max_memory_mb
        if limit is None:
            limit = engine.default_max_memory_mb()
        return engine.max_qubits_for(limit, self._settings.precision)

    @property
    def options(self) -> types.SimpleNamespace:
        """The run defaults and the backend's settings (a snapshot; changing it changes nothing)."""
        s = self._settings
        return types.SimpleNamespace(
            shots=1024,
            memory=False,
            seed_simulator=None,
            initial_statevector=None,
            precision=s.precision,
            max_parallel_threads=s.threads,
            fusion=s.fusion,
            max_memory_mb=s.max_memory_mb,
        )

    @property
    def executor(self) -> Executor:
        """The executor jobs are submitted to (the backend's own worker, made on first use)."""
        with self._executor_lock:
            if self._executor is None:
                self._executor = DaemonThreadExecutor(
                    max_workers=1, thread_name_prefix=f"svsim-{id(self):x}"
                )
            return self._executor

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: ``run()`` then raises."""
        return self._closed

    def jobs(self) -> list[BasicProviderJob]:
        """This backend's jobs that are queued or running now."""
        return outstanding_jobs(self)

    def close(self, cancel_jobs: bool = False) -> None:
        """Stop taking jobs, wait for the backend's jobs to end, stop its own worker.

        With ``cancel_jobs`` the queued jobs are cancelled and the running ones
        stopped first (see :meth:`BasicProviderJob.cancel`); without, they run to
        their end.  An executor given to the backend is the caller's and stays
        open.  ``run()`` on a closed backend raises :class:`SimulatorError`;
        calling ``close()`` again does nothing more.
        """
        with self._executor_lock:
            self._closed = True
            own = self._executor if self._owns_executor else None
        jobs = outstanding_jobs(self)
        if cancel_jobs:
            # Newest first: a job that stops hands the worker to the next one
            # queued, which could run to its end before its own cancel.
            for job in reversed(jobs):
                job.cancel()
        for job in jobs:
            job._wait_final(None)
        if own is not None:
            own.shutdown(wait=True)

    def __enter__(self) -> BasicSimulator:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Close the backend; leaving on an exception cancels its jobs."""
        self.close(cancel_jobs=exc_type is not None)

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"BasicSimulator(precision={s.precision!r}, max_parallel_threads={s.threads}, "
            f"fusion={s.fusion}, max_memory_mb={s.max_memory_mb})"
        )

    # ------------------------------------------------------------ run

    def run(
        self,
        run_input: Any,
        shots: int = 1024,
        memory: bool = False,
        seed_simulator: int | None = None,
        initial_statevector: Any = None,
        **options: Any,
    ) -> BasicProviderJob:
        """Check the input, then submit a job that runs it; returns the job at once.

        ``run_input`` is a :class:`~svsim.Circuit`, a Qiskit ``QuantumCircuit``,
        or a list of them.  Experiment ``i`` uses the seed ``seed_simulator + i``
        (mod 2**63), recorded in its result; with no seed one is drawn.
        ``options`` may override ``precision``, ``max_parallel_threads``,
        ``fusion`` and ``max_memory_mb`` for this run; other names are warned
        about and ignored, as Qiskit's ``BasicSimulator`` does.

        Raises:
            CircuitError: a circuit, ``shots``, ``memory``, ``seed_simulator`` or
                ``initial_statevector`` is not acceptable.
            SimulatorError: a setting is bad, or the job's statevectors do not fit
                in the memory limit.
        """
        if self._closed:
            raise SimulatorError("this backend is closed; make a new BasicSimulator")
        settings = self._run_settings(options)
        circuits = self._circuits(run_input)
        if not _is_int(shots) or int(shots) < 1:
            raise CircuitError(f"shots must be a positive int, got {shots!r}")
        shots = int(shots)
        if not isinstance(memory, (bool, np.bool_)):
            raise CircuitError(f"memory must be True or False, got {memory!r}")
        memory = bool(memory)
        if seed_simulator is None:
            seed = secrets.randbits(63)
        elif _is_int(seed_simulator) and 0 <= int(seed_simulator) < SEED_LIMIT:
            seed = int(seed_simulator)
        else:
            raise CircuitError(
                f"seed_simulator must be an int in [0, 2**63) or None, got {seed_simulator!r}"
            )
        initial = None
        if initial_statevector is not None:
            for circuit in circuits:
                initial = engine.check_initial_statevector(initial_statevector, circuit.num_qubits)
        remote = not runs_in_process(self.executor)
        self._check_job_memory(circuits, shots, settings, memory, initial, remote)

        experiments = [_Experiment(c, (seed + i) % SEED_LIMIT) for i, c in enumerate(circuits)]
        control = JobControl([len(c.data) + 1 for c in circuits])
        job_id = str(uuid.uuid4())
        spec = JobSpec(
            job_id=job_id,
            backend_name=self.name,
            backend_version=self.backend_version,
            experiments=tuple(experiments),
            shots=shots,
            memory=memory,
            initial=initial,
            settings=settings,
        )
        job = BasicProviderJob(self, job_id, _JobWork(spec, control), control=control)
        job.submit()
        return job

    def _run_settings(self, options: dict[str, Any]) -> _Settings:
        known = {k: v for k, v in options.items() if k in _RUN_OPTIONS}
        for key in options:
            if key not in _RUN_OPTIONS:
                warnings.warn(
                    f"Option {key} is not used by this backend", UserWarning, stacklevel=3
                )
        s = self._settings
        return _Settings(
            precision=_check_precision(known.get("precision", s.precision)),
            threads=_check_threads(known.get("max_parallel_threads", s.threads)),
            fusion=_check_fusion(known.get("fusion", s.fusion)),
            max_memory_mb=_check_max_memory(known.get("max_memory_mb", s.max_memory_mb)),
        )

    @staticmethod
    def _circuits(run_input: Any) -> list[Circuit]:
        """The input as a list of circuit snapshots (later edits of the user's
        circuits do not reach a queued job)."""
        items = list(run_input) if isinstance(run_input, (list, tuple)) else [run_input]
        if not items:
            raise CircuitError("run() needs at least one circuit, got an empty list")
        circuits = []
        for i, item in enumerate(items):
            if isinstance(item, Circuit):
                circuit = item.copy()
            elif type(item).__module__.split(".")[0] == "qiskit":
                from_qiskit = getattr(Circuit, "from_qiskit", None)
                if from_qiskit is None:
                    raise CircuitError(
                        "running a Qiskit circuit needs svsim's converter Circuit.from_qiskit, "
                        "which comes with the qiskit extra: pip install svsim[qiskit]"
                    )
                circuit = from_qiskit(item)
            else:
                raise CircuitError(
                    f"run() takes svsim Circuits or Qiskit QuantumCircuits; item {i} is a "
                    f"{type(item).__name__}"
                )
            reserved = [label for label in circuit.save_labels if label in _RESERVED_LABELS]
            if reserved:
                raise CircuitError(
                    f"circuit {circuit.name!r} saves under the label {reserved[0]!r}, which the "
                    "result uses for its own data; choose another label"
                )
            circuits.append(circuit)
        return circuits

    @staticmethod
    def _check_job_memory(
        circuits: Sequence[Circuit],
        shots: int,
        settings: _Settings,
        memory: bool = False,
        initial: np.ndarray | None = None,
        remote: bool = False,
    ) -> None:
        """Refuse a job whose memory does not fit, before anything is allocated.

        Each circuit must fit on its own (:func:`svsim.engine.check_memory`).
        Then the job as a whole: its result keeps each experiment's final and
        saved statevectors, so the experiments add up, and so do their
        shots' classical data (8 bytes per 64 clbits per shot, 8 more per shot
        for ``memory=True``'s strings); on top comes the most that one
        experiment needs for a while (drawing its shots and counting them:
        about 24 bytes per shot, 16 more with ``memory=True``) and the
        initial statevector.  A job on a remote executor gets its result back
        serialised, which holds a second copy of each state while it is read,
        so there its statevectors count twice.
        """
        limit_mb = settings.max_memory_mb
        if limit_mb is None:
            limit_mb = engine.default_max_memory_mb()
        initial_bytes = 0 if initial is None else int(initial.nbytes)
        for circuit in circuits:
            engine.check_memory(circuit, settings.precision, limit_mb, shots, initial_bytes)
        limit = int(limit_mb * (1 << 20))
        copies = 2 if remote else 1
        kept = 0
        transient = 0
        for circuit in circuits:
            words = (circuit.num_clbits + 63) // 64
            kept += (
                copies
                * engine.statevectors_needed(circuit)
                * engine.state_bytes(circuit.num_qubits, settings.precision)
            )
            if words:
                kept += shots * (8 * words + (8 if memory else 0))
                transient = max(transient, shots * (24 + 8 * words + (16 if memory else 0)))
        total = kept + transient + initial_bytes
        if total > limit:
            what = (
                "the job's circuit needs"
                if len(circuits) == 1
                else f"the job's {len(circuits)} circuits need"
            )
            twice = " (twice: the result comes back serialised)" if remote else ""
            raise SimulatorError(
                f"{what} {total:,} bytes together (a result keeps each one's "
                f"statevectors{twice} and {shots:,} shots of classical data), but the limit is "
                f"{limit:,} bytes (max_memory_mb={limit_mb:g}); split the job, use fewer shots or "
                f"precision='single', or raise max_memory_mb to at least "
                f"{-(-total // (1 << 20))} if the machine has the memory"
            )


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
    experiments: tuple[_Experiment, ...]
    shots: int
    memory: bool
    initial: np.ndarray | None
    settings: _Settings


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
        output = engine.run_experiment(
            experiment.circuit,
            shots=spec.shots,
            seed=experiment.seed,
            precision=s.precision,
            threads=s.threads,
            max_memory_mb=limit,
            control=run_control,
            initial_statevector=spec.initial,
            fusion=s.fusion,
        )
        if control is not None:
            control.finish(index)
        outputs.append(output)
        circuit = experiment.circuit
        kept += engine.statevectors_needed(circuit) * engine.state_bytes(
            circuit.num_qubits, s.precision
        )
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


class _JobWork:
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


class BasicProvider:
    """Gives out svsim's simulator, as Qiskit's ``BasicProvider`` gives out its own.

    ``get_backend()`` with no settings returns this provider's one shared
    simulator (so jobs from it share one queue); with settings
    (``precision="single"``, ...) a new simulator with those.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._default: BasicSimulator | None = None

    def _shared(self) -> BasicSimulator:
        with self._lock:
            if self._default is None or self._default.closed:
                self._default = BasicSimulator()
            return self._default

    def backends(self, name: str | None = None, **kwargs: Any) -> list[BasicSimulator]:
        """The backends matching ``name`` (``"svsim"``, or Qiskit's ``"basic_simulator"``)."""
        if name is not None and name not in _BACKEND_ALIASES:
            return []
        return [BasicSimulator(**kwargs) if kwargs else self._shared()]

    def get_backend(self, name: str | None = None, **kwargs: Any) -> BasicSimulator:
        """The simulator called ``name`` (``None``: svsim's); ``kwargs`` are its settings."""
        found = self.backends(name, **kwargs)
        if not found:
            raise SvsimError(
                f"no backend named {name!r}; this provider has 'svsim' "
                "(also answering to 'basic_simulator')"
            )
        return found[0]

    def __repr__(self) -> str:
        return "BasicProvider()"
