"""The simulator backend and its provider, with the API of Qiskit's ``basic_provider``.

There is one backend class, :class:`BasicSimulator`.  With Qiskit installed
it is a Qiskit ``BackendV2`` (a ``Target``, ``Options``, ``set_options``), so
``transpile``, ``backend.run`` and Qiskit's V2 primitives take it; without
Qiskit the same class runs on numpy alone (see :mod:`svsim._qiskit_types`).

``BasicSimulator.run`` checks everything it is given before it makes a job
(bad input raises there, not later from ``result()``), snapshots the
circuits, chooses each one's method and checks the job's memory
(:mod:`svsim.planning`: statevector, or the stabilizer method of
:mod:`svsim.stabilizer` for Clifford circuits) and submits a job whose work
runs the circuits one after another on the backend's executor.

A job's work is :func:`svsim.work.run_job` over a :class:`~svsim.work.JobSpec`
(plain, picklable data); both are importable from here too.
"""

from __future__ import annotations

import operator
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from svsim import _qiskit_types as qt
from svsim import engine, planning
from svsim.circuit import Circuit
from svsim.exceptions import (
    BackendNotFoundError,
    CircuitError,
    MissingExtraError,
    SimulatorError,
)
from svsim.executors import has_outstanding_jobs
from svsim.job import (
    BasicProviderJob,
    DaemonThreadExecutor,
    JobControl,
    outstanding_jobs,
    runs_in_process,
)
from svsim.options import DEFAULTS, SEED_LIMIT, check_option, new_job_id, random_seed
from svsim.work import (
    INLINE_MAX_WORK,
    SHORT_MAX_WORK,
    Experiment,
    JobSpec,
    JobWork,
    Settings,
    predicted_work,
    run_job,
)

__all__ = ["BACKEND_NAME", "BasicProvider", "BasicSimulator", "JobSpec", "run_job"]

BACKEND_NAME = "basic_simulator"  # Qiskit's; "svsim" is an alias for the provider
_BACKEND_ALIASES = (BACKEND_NAME, "svsim")
_RESERVED_LABELS = ("counts", "memory")


def _version() -> str:
    import svsim  # late: svsim/__init__ imports this module

    return svsim.__version__


class BasicSimulator(qt.BackendBase):  # type: ignore[misc]
    """svsim's simulator: Qiskit's ``BasicSimulator``, on a C++ kernel.

    With Qiskit installed this is a Qiskit ``BackendV2``: ``transpile(qc,
    backend)``, ``backend.run``, ``BackendSamplerV2`` and
    ``BackendEstimatorV2`` take it.  Its name is ``"basic_simulator"``.

    Args:
        precision: ``"double"`` (complex128 amplitudes) or ``"single"`` (complex64).
        max_parallel_threads: threads for the kernel; 0 means all cores.
        fusion: whether the kernel may fuse gates (recorded in each result's metadata).
        executor: where jobs run: any ``concurrent.futures.Executor`` or a Dask
            ``distributed.Client``.  By default the backend's own single worker
            thread (a daemon thread), so jobs queue and run one at a time.  Thread
            pools run jobs in this process (cancel mid-run, progress); a Dask
            client gets the job split into tasks of at most ``max_job_size``
            circuits (see :mod:`svsim.cluster`); its results carry no final
            statevector (a circuit that wants one saves it with
            ``save_statevector``, as Aer asks); other executors get a
            picklable task (see :mod:`svsim.job`).
        max_memory_mb: the most memory a job's statevectors may take; by default
            80% of the memory available when the job is checked and again when it runs.
        provider: the provider that gave out this backend (Qiskit's argument).
        target: a Qiskit ``Target`` to report instead of svsim's own.
        fields: defaults for the other run options (Qiskit's: ``shots``,
            ``memory``, ``seed_simulator``, ``initial_statevector``,
            ``use_clifford_optimization``; svsim's: ``method``, and
            ``max_job_size``: the most circuits in one Dask task, None to let
            :func:`svsim.cluster.default_max_job_size` choose; ``max_shot_size``:
            on a Dask client, the most shots of one circuit in one task, None not
            to split shots (see :mod:`svsim.cluster.parts`)).

    Every option (the first four arguments above too) is in :attr:`options`,
    can be changed with :meth:`set_options` and overridden for one run by
    ``run(..., name=value)``; each is checked the same way in all three places.
    :meth:`close` (or leaving a ``with BasicSimulator() as backend:`` block)
    waits for the backend's jobs and stops its own worker thread.

    Raises:
        AttributeError: a field that is not an option (as Qiskit's backends do).
        CircuitError, SimulatorError: an option's value is bad.
    """

    def __init__(
        self,
        precision: str = "double",
        max_parallel_threads: int = 0,
        fusion: bool = True,
        executor: Executor | None = None,
        max_memory_mb: float | None = None,
        *,
        mpi: bool = False,
        provider: Any = None,
        target: Any = None,
        **fields: Any,
    ) -> None:
        if not isinstance(mpi, bool):
            raise SimulatorError(f"mpi must be True or False, got {mpi!r}")
        if mpi and executor is not None:
            raise SimulatorError(
                "mpi=True runs each job on every rank of the MPI job, in the backend's own "
                "worker thread; drop the executor"
            )
        if mpi:
            from svsim.mpi import world  # late: mpi4py is optional and starts MPI

            world()  # the communicators, made here on every rank
        self._mpi = mpi
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise SimulatorError(
                f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}"
            )
        fields.update(
            precision=precision,
            max_parallel_threads=max_parallel_threads,
            fusion=fusion,
            max_memory_mb=max_memory_mb,
        )
        super().__init__(
            provider=provider,
            name=BACKEND_NAME,
            description="svsim: a statevector simulator on a C++ kernel",
            backend_version=_version(),
            **_checked_options(fields),
        )
        self._target = target
        self._executor = executor
        self._owns_executor = executor is None
        self._executor_lock = threading.Lock()
        self._closed = False
        self._last_settings: tuple[tuple[Any, ...], Settings] | None = None

    @classmethod
    def _default_options(cls) -> Any:
        return qt.Options(**DEFAULTS)

    def set_options(self, **fields: Any) -> None:
        """Change the backend's options; each value is checked as ``run()`` checks it.

        Raises:
            AttributeError: a name that is not an option (as Qiskit's backends do).
            CircuitError, SimulatorError: a bad value; no option is changed then.
        """
        self._options.update_options(**_checked_options(fields))

    # ------------------------------------------------------------ description

    @property
    def target(self) -> Any:
        """The Qiskit ``Target``: every gate of Qiskit's ``BasicSimulator`` and svsim's
        (``mcx``, ``mcphase``, ``unitary``, ``if_else``, ...), on any number of qubits."""
        if self._target is None:
            try:
                from svsim.qiskit import build_target  # late: Qiskit is optional
            except MissingExtraError as exc:
                raise MissingExtraError(f"BasicSimulator.target is a Qiskit Target: {exc}") from exc
            self._target = build_target()
        return self._target

    @property
    def max_circuits(self) -> None:
        """No limit on the circuits in one job (Qiskit's ``BackendV2`` member)."""
        return None

    @property
    def precision(self) -> str:
        return str(self._options.get("precision"))

    @property
    def max_parallel_threads(self) -> int:
        return int(self._options.get("max_parallel_threads"))

    @property
    def fusion(self) -> bool:
        return bool(self._options.get("fusion"))

    @property
    def max_memory_mb(self) -> float | None:
        limit: float | None = self._options.get("max_memory_mb")
        return limit

    @property
    def max_num_qubits(self) -> int:
        """The most qubits whose statevector fits at this precision under the memory limit
        (with no limit given: in 80% of the memory available now).  Clifford circuits
        run with the stabilizer method at any width."""
        limit = self.max_memory_mb
        if limit is None:
            limit = engine.default_max_memory_mb()
        return engine.max_qubits_for(limit, self.precision)

    @property
    def executor(self) -> Executor:
        """The executor jobs are submitted to (the backend's own worker, made on first use)."""
        with self._executor_lock:
            if self._executor is None:
                self._executor = DaemonThreadExecutor(
                    max_workers=1, thread_name_prefix=f"svsim-{id(self):x}"
                )
                if self._closed:
                    # A run() that passed its check as close() ran: its job is refused
                    # (ERROR) instead of starting a worker that nothing would stop.
                    self._executor.shutdown(wait=False)
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
        return (
            f"BasicSimulator(precision={self.precision!r}, "
            f"max_parallel_threads={self.max_parallel_threads}, fusion={self.fusion}, "
            f"max_memory_mb={self.max_memory_mb})"
        )

    # ------------------------------------------------------------ run

    def run(self, run_input: Any, **run_options: Any) -> BasicProviderJob:
        """Check the input, then submit a job that runs it; returns the job at once.

        ``run_input`` is a :class:`~svsim.Circuit`, a Qiskit ``QuantumCircuit``,
        or a list of them.  ``run_options`` override the backend's
        :attr:`options` for this run (``shots``, ``memory``, ``seed_simulator``,
        ``initial_statevector``, ``use_clifford_optimization``, ``method``,
        ``precision``, ``max_parallel_threads``, ``fusion``, ``max_memory_mb``,
        ``max_job_size``, ``max_shot_size``, ``shot_branching``);
        other names are warned about and ignored, as Qiskit's ``BasicSimulator``
        does.  Experiment ``i`` uses the seed ``seed_simulator + i`` (mod
        2**63), recorded in its result; with no seed one is drawn.

        A Clifford circuit (Clifford gates, measure, reset, barrier) runs with the
        stabilizer method when ``use_clifford_optimization`` is set or its
        statevector would not fit; ``method`` forces one method.

        Raises:
            CircuitError: a circuit or a run option (``shots``, ``memory``,
                ``seed_simulator``, ``initial_statevector``) is not acceptable.
            SimulatorError: a setting is bad, or the job does not fit in the
                memory limit.
        """
        if self._closed:
            raise SimulatorError("this backend is closed; make a new BasicSimulator")
        options = self._run_options(run_options)
        settings = self._settings(options)
        circuits = self._circuits(run_input)
        shots, memory, initial = options["shots"], options["memory"], None
        self._check_executor(circuits, shots, settings.max_shot_size)
        seed = options["seed_simulator"]
        if seed is None:
            seed = random_seed()
            if self._mpi:  # every rank draws with rank 0's seed
                from svsim.mpi import world

                seed = world("calls").bcast(seed, root=0)
        if options["initial_statevector"] is not None:
            for circuit in circuits:
                initial = engine.check_initial_statevector(
                    options["initial_statevector"], circuit.num_qubits
                )
        limit_mb = settings.max_memory_mb
        if limit_mb is None:  # read once: it costs a read of /proc/meminfo
            limit_mb = engine.default_max_memory_mb()
        if self._mpi:
            from svsim.mpi import world
            from svsim.mpi.experiment import check_memory as check_rank_memory

            ranks = world("calls").Get_size()
            for circuit in circuits:
                check_rank_memory(circuit, settings.precision, limit_mb, ranks, shots)
            methods = ["statevector"] * len(circuits)
        else:
            remote = not self._owns_executor and not runs_in_process(self.executor)
            methods = planning.job_methods(
                circuits,
                options["method"],
                options["use_clifford_optimization"],
                settings.precision,
                shots,
                limit_mb,
                memory,
                initial,
                remote,
            )
        experiments = tuple(
            [
                Experiment(c, (seed + i) % SEED_LIMIT, m)
                for i, (c, m) in enumerate(zip(circuits, methods, strict=True))
            ]
        )
        job_id = new_job_id()
        # The fields in order: by name they cost 0.5 us more (engine.ExperimentOutput.of_kernel)
        spec = JobSpec(
            job_id, self.name, self.backend_version, experiments, shots, memory, initial, settings
        )
        # A tiny job runs here, inside run(); a short one is held for the thread that
        # asks about it (docs/jobs.md): on the backend's own worker each would wait
        # for the hand-offs; with none queued, jobs still end in order.
        own_worker = self._owns_executor and not self._mpi
        work_units = predicted_work(spec, SHORT_MAX_WORK) if own_worker else SHORT_MAX_WORK + 1
        inline = work_units <= INLINE_MAX_WORK and not has_outstanding_jobs(self)
        # Nothing can reach a job that runs here before run() returns it, so it needs no
        # cancel flag or progress: without them it is 3-4 us cheaper (issue 20).
        control = None if inline else JobControl([len(c.data) + 1 for c in circuits])
        work = JobWork(spec, control, limit_mb if inline else None)  # the limit read above
        job = BasicProviderJob(
            self,
            job_id,
            work,
            control=control,
            collective=self._mpi,
            short=work_units <= SHORT_MAX_WORK,
        )
        if inline:
            job.run_here()
        else:
            job.submit()
        return job

    def _check_executor(
        self, circuits: list[Circuit], shots: int, max_shot_size: int | None
    ) -> None:
        """Refuse, before anything is sent, a run the executor cannot take: a closed
        Dask client, shots split where they cannot be merged exactly, or
        ``max_shot_size`` on an executor that is not a Dask client."""
        own = self._owns_executor  # the backend's own worker thread is no Dask client
        dask = not own and type(self.executor).__module__.split(".")[0] == "distributed"
        if dask:
            from svsim import cluster  # late: only with Dask

            dask = cluster.is_dask_client(self.executor)
        if not dask:
            if max_shot_size is not None:
                raise SimulatorError(
                    f"max_shot_size={max_shot_size} splits a circuit's shots over Dask tasks; "
                    "it needs BasicSimulator(executor=distributed.Client(...)), or "
                    "max_shot_size=None here"
                )
            return
        cluster.check_client(self.executor)
        cluster.check_shot_split(circuits, shots, max_shot_size)

    def _run_options(self, run_options: dict[str, Any]) -> dict[str, Any]:
        """The backend's options with this run's overrides, each checked."""
        # Qiskit's Options and svsim's hold a dict, _fields: one copy, not 13 lookups.
        fields = getattr(self._options, "_fields", None)
        if isinstance(fields, dict) and fields.keys() == DEFAULTS.keys():
            merged = dict(fields)
        else:
            merged = {name: self._options[name] for name in DEFAULTS}
        for name, value in run_options.items():
            if name in DEFAULTS:
                merged[name] = check_option(name, value)
            else:
                warnings.warn(
                    f"Option {name} is not used by this backend", UserWarning, stacklevel=3
                )
        return merged

    def _settings(self, options: dict[str, Any]) -> Settings:
        """The run's :class:`Settings` from its merged options; the last one is kept
        and given again while the options it was made from are unchanged (making one
        was 3 us of a tiny job's cost, issue 20)."""
        key = _settings_options(options)
        last = self._last_settings
        if last is not None and last[0] == key:
            return last[1]
        settings = Settings(mpi=self._mpi, **dict(zip(_SETTINGS_FIELDS, key, strict=True)))
        self._last_settings = (key, settings)
        return settings

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
                circuit = item._snapshot()
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
            labels = circuit.save_labels
            reserved = [label for label in labels if label in _RESERVED_LABELS] if labels else ()
            if reserved:
                raise CircuitError(
                    f"circuit {circuit.name!r} saves under the label {reserved[0]!r}, which the "
                    "result uses for its own data; choose another label"
                )
            circuits.append(circuit)
        return circuits


# The fields of a run's Settings (but mpi, the backend's own) and the options they come from.
_SETTINGS_FIELDS = (
    "precision",
    "threads",
    "fusion",
    "max_memory_mb",
    "max_job_size",
    "max_shot_size",
    "shot_branching",
)
_settings_options = operator.itemgetter(
    "precision",
    "max_parallel_threads",
    "fusion",
    "max_memory_mb",
    "max_job_size",
    "max_shot_size",
    "shot_branching",
)


def _checked_options(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` checked as options, for the constructor and ``set_options``.

    Raises:
        AttributeError: a name that is not an option (as Qiskit's backends do).
    """
    for name in fields:
        if name not in DEFAULTS:
            raise AttributeError(f"Options field {name} is not valid for this backend")
    return {name: check_option(name, value) for name, value in fields.items()}


class BasicProvider:
    """Gives out svsim's simulator, as Qiskit's ``BasicProvider`` gives out its own.

    ``get_backend()`` with no settings returns this provider's one shared
    simulator (so jobs from it share one queue); with settings
    (``precision="single"``, ``shots=100``, ...) a new simulator with those.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._default: BasicSimulator | None = None

    def _shared(self) -> BasicSimulator:
        with self._lock:
            if self._default is None or self._default.closed:
                self._default = BasicSimulator(provider=self)
            return self._default

    def backends(
        self,
        name: str | None = None,
        filters: Callable[[BasicSimulator], bool] | None = None,
        **kwargs: Any,
    ) -> list[BasicSimulator]:
        """The backends called ``name`` (``"basic_simulator"``, or its alias ``"svsim"``)
        for which ``filters`` (as Qiskit's) is true; ``kwargs`` are their settings.

        Raises:
            BackendNotFoundError: no backend has that name (Qiskit's
                ``QiskitBackendNotFoundError`` when Qiskit is installed).
        """
        if name is not None and name not in _BACKEND_ALIASES:
            raise BackendNotFoundError(
                f"The {name!r} backend is not installed in your system; this provider has "
                f"{BACKEND_NAME!r} (also answering to 'svsim')"
            )
        backends = [BasicSimulator(provider=self, **kwargs) if kwargs else self._shared()]
        return [b for b in backends if filters(b)] if filters is not None else backends

    def get_backend(self, name: str | None = None, **kwargs: Any) -> BasicSimulator:
        """The simulator called ``name`` (``None``: svsim's); ``kwargs`` are its settings
        and option defaults.

        Raises:
            BackendNotFoundError: no backend has that name.
        """
        return self.backends(name, **kwargs)[0]

    def __repr__(self) -> str:
        return "BasicProvider()"
