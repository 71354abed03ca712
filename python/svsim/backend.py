"""The simulator backend and its provider, with the API of Qiskit's ``basic_provider``.

``BasicSimulator.run`` checks everything it is given before it makes a job
(bad input raises there, not later from ``result()``), snapshots the
circuits, and submits a job whose work runs the circuits one after another
through :func:`svsim.engine.run_experiment` on the backend's executor.
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
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from svsim import engine
from svsim.circuit import Circuit
from svsim.exceptions import CircuitError, SimulatorError, SvsimError
from svsim.job import BasicProviderJob, JobControl
from svsim.result import Result, result_from_outputs

__all__ = ["BasicProvider", "BasicSimulator"]

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
        executor: where jobs run: any ``concurrent.futures.Executor``.  By default
            the backend's own single worker thread, so jobs queue and run one at a time.
        max_memory_mb: the most memory a job's statevectors may take; by default
            80% of the memory available when the job is checked and again when it runs.
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
        self._executor_lock = threading.Lock()

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
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"svsim-{id(self):x}"
                )
            return self._executor

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
        self._check_job_memory(circuits, shots, settings)

        experiments = [_Experiment(c, (seed + i) % SEED_LIMIT) for i, c in enumerate(circuits)]
        control = JobControl([len(c.data) + 1 for c in circuits])
        job_id = str(uuid.uuid4())
        work = _JobWork(self, job_id, experiments, shots, memory, initial, settings, control)
        job = BasicProviderJob(self, job_id, work, control=control)
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
    def _check_job_memory(circuits: Sequence[Circuit], shots: int, settings: _Settings) -> None:
        """Refuse a job whose memory does not fit, before anything is allocated.

        A result keeps each experiment's final and saved statevectors, so the
        experiments of one job add up; so does each one's classical memory.
        """
        limit_mb = settings.max_memory_mb
        if limit_mb is None:
            limit_mb = engine.default_max_memory_mb()
        for circuit in circuits:
            engine.check_memory(circuit, settings.precision, limit_mb)
        limit = int(limit_mb * (1 << 20))
        total = 0
        for circuit in circuits:
            total += engine.statevectors_needed(circuit) * engine.state_bytes(
                circuit.num_qubits, settings.precision
            )
            total += shots * 8 * ((circuit.num_clbits + 63) // 64)
        if total > limit:
            raise SimulatorError(
                f"the job's {len(circuits)} circuits need {total:,} bytes together (a result "
                f"keeps each one's statevectors and {shots} shots of memory), but the limit "
                f"is {limit:,} bytes; split the job, use fewer shots or raise max_memory_mb"
            )


class _JobWork:
    """The work of one job: run its experiments in order, then build the Result.

    A plain object rather than a closure so the job's ``repr`` and a
    debugger show what it holds.
    """

    def __init__(
        self,
        backend: BasicSimulator,
        job_id: str,
        experiments: list[_Experiment],
        shots: int,
        memory: bool,
        initial: np.ndarray | None,
        settings: _Settings,
        control: JobControl,
    ) -> None:
        self.backend = backend
        self.job_id = job_id
        self.experiments = experiments
        self.shots = shots
        self.memory = memory
        self.initial = initial
        self.settings = settings
        self.control = control

    def __call__(self) -> Result:
        start = time.perf_counter()
        s = self.settings
        outputs = []
        kept = 0  # bytes of statevectors the earlier experiments' outputs hold
        for index, experiment in enumerate(self.experiments):
            run_control = self.control.start(index)
            limit = None if s.max_memory_mb is None else s.max_memory_mb - kept / (1 << 20)
            output = engine.run_experiment(
                experiment.circuit,
                shots=self.shots,
                seed=experiment.seed,
                precision=s.precision,
                threads=s.threads,
                max_memory_mb=limit,
                control=run_control,
                initial_statevector=self.initial,
                fusion=s.fusion,
            )
            self.control.finish(index)
            outputs.append(output)
            kept += engine.statevectors_needed(experiment.circuit) * engine.state_bytes(
                experiment.circuit.num_qubits, s.precision
            )
        self.control.check()
        metadata = [
            {
                "fusion": _fusion_metadata(out),
                "parallel_shots": 1,
                "parallel_state_update": int(out.threads),
                "max_memory_mb": s.max_memory_mb,
            }
            for out, experiment in zip(outputs, self.experiments, strict=True)
        ]
        result = result_from_outputs(
            outputs,
            [e.circuit for e in self.experiments],
            job_id=self.job_id,
            backend_name=self.backend.name,
            backend_version=self.backend.backend_version,
            memory=self.memory,
            metadata=metadata,
            time_taken=time.perf_counter() - start,
        )
        self.control.check()
        return result


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
            if self._default is None:
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
