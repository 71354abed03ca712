"""What a job runs: :class:`JobSpec`, plain picklable data, and :func:`run_job`.

A job's work is :func:`run_job` over a :class:`JobSpec` (the circuits with
their seeds and methods, the shots, the settings): data in, a
:class:`~svsim.result.Result` out.  On a thread pool the job calls it with its
:class:`~svsim.job.JobControl` (cancel between gates, progress); a process
pool or a Dask client gets ``run_job`` and the spec (``JobWork.as_task``) to
run wherever it runs its work.

:func:`result_from_outputs` turns the kernel's outputs into that result:
counts are built from the kernel's packed classical memory with numpy
(:class:`Outcomes`, :func:`numpy.unique` over the shots' words), so Python
only sees each distinct outcome once, never each shot.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from svsim import engine, stabilizer
from svsim.circuit import Circuit
from svsim.experiment import _RESERVED_KEYS, header_fields
from svsim.job import JobControl
from svsim.result import ExperimentResult, Result

__all__ = [
    "Experiment",
    "JobSpec",
    "JobWork",
    "Outcomes",
    "Settings",
    "INLINE_MAX_WORK",
    "SHORT_MAX_WORK",
    "experiment_metadata",
    "experiment_results",
    "job_result",
    "predicted_work",
    "result_from_outputs",
    "run_experiment_of",
    "run_job",
]


@dataclass(frozen=True)
class Settings:
    """The backend's settings with a run's overrides."""

    precision: str
    threads: int
    fusion: bool
    max_memory_mb: float | None
    mpi: bool = False  # one state over the ranks of the MPI job (svsim.mpi)
    max_job_size: int | None = None  # circuits per task on a Dask cluster (None: chosen)
    max_shot_size: int | None = None  # shots of a circuit per Dask task (None: not split)
    shot_branching: bool = True  # split the state at random mid-circuit outcomes (branching.h)


@dataclass(slots=True)
class Experiment:
    """One circuit of a job, with its seed and the method that runs it.
    Read-only by convention, as :class:`JobSpec` is."""

    circuit: Circuit
    seed: int
    method: str = "statevector"  # or "stabilizer"


@dataclass(eq=False, slots=True)
class JobSpec:
    """What one job runs, as plain picklable data: all a remote executor receives.
    Read-only by convention (not a frozen dataclass: making one cost 2.5 us of a
    tiny job's own 90, issue 20).

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


INLINE_MAX_WORK = 1 << 17
"""A job whose :func:`predicted_work` is at most this (0.05-0.3 ms of kernel
time) runs inside ``run()`` when the backend has its own worker and nothing
queued.  Queued, even a short job that the caller runs itself costs more than
one run here (its future, cancel flag and progress: 120,000 machine
instructions more for a 12-qubit GHZ circuit), as much as the kernel of such a
job (bench/RESULTS.md, "Tenth round")."""

SHORT_MAX_WORK = 1 << 21
"""A job whose :func:`predicted_work` is at most this (a few milliseconds of
kernel time) is *short*: queued on the backend's idle worker it is held (the
worker is not woken for it), and the first thread that asks about it
(``result()``, ``status()``) runs it, when it is still queued next in line and
no job runs (:meth:`svsim.executors.DaemonThreadExecutor.run_here`; docs/jobs.md).
The thread hand-offs it spares cost 0.1-0.2 ms on a loaded 2-vCPU machine; the
bound keeps a Ctrl-C in ``result()`` from waiting long for a kernel, and a
``status()`` that runs the job short."""


def predicted_work(spec: JobSpec, limit: int = INLINE_MAX_WORK) -> int:
    """A rough count of the kernel's work for ``spec``, in amplitude updates:
    each operation updates every amplitude once, a circuit that is not
    simulated once and sampled (a measurement before its end, a reset or a
    condition) is simulated once per shot, and each shot costs about 32 more
    (drawn, packed, counted).  Only the statevector method is counted: any
    other (Stim's) is beyond any limit.  The count stops once it passes
    ``limit``, all that is asked of it: whether a circuit is sampled once is
    read from its encoding, which only the circuits counted up to the limit
    are given here, in ``run()`` (kept for the run: nothing is encoded twice)."""
    total = 0
    shots = spec.shots
    for experiment in spec.experiments:
        circuit = experiment.circuit
        if experiment.method != "statevector":
            return 1 << 62
        once = (len(circuit.data) + 1) << circuit.num_qubits
        total += 32 * shots + once
        if total > limit:  # beyond the limit already: no need to encode it
            return total
        if not circuit.encode().sampled_once:
            total += once * max(shots - 1, 0)
    return total


def run_job(
    spec: JobSpec, control: JobControl | None = None, total_mb: float | None = None
) -> Result:
    """Run a job's experiments one after another in this thread; its Result.

    A module-level function over plain data, so a process pool or a Dask
    worker can run it: ``executor.submit(run_job, spec)``.  Given the job's
    ``control`` (only where the job lives, in this process), it can be
    cancelled between and during experiments, and reports its progress.

    Each experiment's memory limit is what the earlier ones leave of
    ``max_memory_mb``: the result keeps their statevectors and shot data.
    With no limit set, the default (80% of the memory available) is read
    once for the job, not per experiment: a read of /proc/meminfo, which was
    a tenth of the time of a job of many small circuits; ``total_mb`` is
    that default when the caller has just read it (a job run inside ``run()``).
    """
    start = time.perf_counter()
    s = spec.settings
    if s.max_memory_mb is not None:
        total_mb = s.max_memory_mb
    elif total_mb is None:
        total_mb = engine.default_max_memory_mb()
    outputs = []
    kept = 0  # bytes that the earlier experiments' outputs hold
    last = len(spec.experiments) - 1
    for index, experiment in enumerate(spec.experiments):
        # Over MPI every rank must enter the run, a cancelled one too: it stops all there.
        run_control = control.start(index, collective=s.mpi) if control is not None else None
        limit = total_mb - kept / (1 << 20)
        output = run_experiment_of(experiment, spec.shots, s, spec.initial, limit, run_control)
        if control is not None:
            control.finish(index)
        outputs.append(output)
        if index < last:  # what this one keeps is taken from the next one's limit
            if experiment.method != "stabilizer" and not s.mpi:
                kept += engine.state_data_bytes(experiment.circuit, s.precision)
            kept += int(output.memory.nbytes)
    if control is not None:
        control.check()
    result = job_result(spec, outputs, time.perf_counter() - start)
    if control is not None:
        control.check()
    return result


def run_experiment_of(
    experiment: Experiment,
    shots: int,
    settings: Settings,
    initial: np.ndarray | None,
    max_memory_mb: float | None,
    control: Any,
) -> engine.ExperimentOutput:
    """One experiment through its method's runner: Stim for the stabilizer method,
    else the kernel (over the MPI job's ranks with ``settings.mpi``)."""
    if experiment.method == "stabilizer":
        return stabilizer.run_stabilizer(
            experiment.circuit, shots=shots, seed=experiment.seed, control=control
        )
    run_experiment = engine.run_experiment
    if settings.mpi:  # the same call over the ranks of the MPI job
        from svsim.mpi.experiment import run_experiment
    return run_experiment(
        experiment.circuit,
        shots=shots,
        seed=experiment.seed,
        precision=settings.precision,
        threads=settings.threads,
        max_memory_mb=max_memory_mb,
        control=control,
        initial_statevector=initial,
        fusion=settings.fusion,
        shot_branching=settings.shot_branching,
    )


def job_result(
    spec: JobSpec,
    outputs: Sequence[engine.ExperimentOutput],
    time_taken: float,
    metadata: Sequence[Mapping[str, Any]] | None = None,
) -> Result:
    """The Result of ``spec``'s job from its experiments' outputs, in order, each
    with :func:`experiment_metadata` and ``metadata[i]`` in its metadata."""
    return result_from_outputs(
        outputs,
        [e.circuit for e in spec.experiments],
        job_id=spec.job_id,
        backend_name=spec.backend_name,
        backend_version=spec.backend_version,
        memory=spec.memory,
        metadata=metadata,
        settings=spec.settings,
        time_taken=time_taken,
    )


class JobWork:
    """The work of one job: :func:`run_job` over its spec, with its control here,
    or as a picklable task (:meth:`as_task`) for an executor elsewhere.

    A plain object rather than a closure so the job's ``repr`` and a
    debugger show what it holds.
    """

    def __init__(
        self, spec: JobSpec, control: JobControl | None, total_mb: float | None = None
    ) -> None:
        self.spec = spec
        self.control = control
        self.total_mb = total_mb  # the memory limit, when run() has just read it

    def __call__(self) -> Result:
        return run_job(self.spec, self.control, self.total_mb)

    def as_task(self) -> tuple[Any, tuple[Any, ...]]:
        """``(run_job, (spec,))``: what a process pool runs."""
        return run_job, (self.spec,)

    def submit_remote(self, executor: Any) -> Any:
        """On a Dask client: the job split into tasks (:mod:`svsim.cluster`), as a
        future-like object with ``progress()``; None for any other executor, which
        gets :meth:`as_task` instead."""
        from svsim import cluster  # late: it is only needed with Dask

        if not cluster.is_dask_client(executor):
            return None
        s = self.spec.settings
        return cluster.submit_split(self.spec, executor, s.max_job_size, s.max_shot_size)


def experiment_metadata(output: engine.ExperimentOutput, settings: Settings) -> dict[str, Any]:
    """What the backend adds to an experiment's metadata (here and for a split job)."""
    return {
        "fusion": _fusion_metadata(output),
        "parallel_shots": 1,
        "parallel_state_update": int(output.threads),
        "max_memory_mb": settings.max_memory_mb,
        "shot_branching": {
            "enabled": settings.shot_branching,
            "branches": output.branches,
            "fell_back": output.branching_fell_back,
        },
        **({"mpi": output.mpi} if output.mpi is not None else {}),
    }


def _fusion_metadata(output: engine.ExperimentOutput) -> dict[str, Any]:
    """Aer's fusion record: was it enabled, and did it merge any operations."""
    return {
        "enabled": output.fusion,
        "applied": output.fusion and output.ops_run < output.ops_encoded,
        "ops_encoded": output.ops_encoded,
        "ops_run": output.ops_run,
        "gates_run": output.gates_run,
        "gate_sweeps": output.gate_sweeps,
        "threshold": engine.FUSION_THRESHOLD,
        "max_fused_qubits": engine.MAX_FUSED_QUBITS,
    }


# --------------------------------------------------------------------------
# From the engine's outputs.


class Outcomes:
    """The distinct outcomes of a run's shots and how often each came up.

    Row i of ``words`` (packed like the kernel's memory: clbit c is bit c % 64
    of word c // 64) came up ``counts[i]`` times.
    """

    def __init__(self, words: np.ndarray, counts: np.ndarray) -> None:
        self.words = words
        self.counts = counts
        self._hex_keys: list[str] | None = None

    @classmethod
    def from_memory(
        cls, memory: np.ndarray, keep_order: bool, num_clbits: int | None = None
    ) -> tuple[Outcomes, np.ndarray | None]:
        """The outcomes of packed ``(shots, words)`` uint64 memory and, with
        ``keep_order``, each shot's row in them (an inverse index).
        ``num_clbits``, when given, bounds the outcomes without reading them."""
        shots, words = memory.shape
        if words == 1 and shots:
            column = memory[:, 0].view(np.int64)
            few = num_clbits is not None and num_clbits <= 12  # outcomes below 4096
            if few or int(column.max()) < max(4 * shots, 4096):
                # Few possible outcomes (up to 12 clbits): a histogram, 3x faster than
                # np.unique's sort on a small job (100 shots: 40 -> 12 us), same order.
                histogram = np.bincount(column)
                seen = histogram.nonzero()[0]
                inverse = None
                if keep_order:
                    rank = np.zeros(histogram.size, dtype=np.intp)
                    rank[seen] = np.arange(seen.size)
                    inverse = rank[column]
                return cls(seen.astype(np.uint64).reshape(-1, 1), histogram[seen]), inverse
        if words == 1:
            # A plain sort of one word each, with no inverse to track unless asked.
            # numpy's stubs know np.unique's results only for a literal return_inverse.
            unique, *rest = np.unique(  # type: ignore[call-overload]
                memory[:, 0], return_inverse=keep_order, return_counts=True
            )
            unique = unique.reshape(-1, 1)
        else:
            # Each shot's words as one opaque byte string: numpy sorts those with
            # memcmp, 3-20x faster than unique(axis=0)'s field-by-field compare
            # (10^5 shots of 16 words: 0.7 -> 0.03 s).  The order of the distinct
            # outcomes is then bytewise, which nothing depends on.
            rows = np.ascontiguousarray(memory, dtype="<u8").view(np.dtype((np.void, 8 * words)))
            unique, *rest = np.unique(  # type: ignore[call-overload]
                rows.reshape(-1), return_inverse=keep_order, return_counts=True
            )
            unique = unique.view("<u8").reshape(-1, words)
        inverse = np.asarray(rest[0]).reshape(-1) if keep_order else None
        return cls(unique, rest[-1]), inverse

    def rows_of(self, memory: np.ndarray) -> np.ndarray:
        """Each shot's row in these outcomes, for one-word outcomes (whose rows are
        sorted, as :meth:`from_memory` makes them) of the same ``memory``."""
        return np.searchsorted(self.words[:, 0], memory[:, 0])

    def fit_one_word(self) -> bool:
        return bool(self.words.shape[1] <= 1)

    def as_ints(self) -> tuple[list[int], list[int]]:
        """Each outcome as an int (clbit c is bit c), at most 64 clbits, and its count."""
        values = self.words[:, 0].tolist() if self.words.shape[1] else []
        return values, self.counts.tolist()

    def bitstrings(self, num_clbits: int) -> list[str]:
        """Each outcome as its padded binary string, clbit 0 rightmost, made for all
        outcomes at once with numpy (10^5 outcomes of 200 clbits: 0.3 -> 0.05 s)."""
        rows = np.ascontiguousarray(self.words, dtype="<u8").view(np.uint8)
        bits = np.unpackbits(rows, axis=1, bitorder="little")[:, :num_clbits]
        chars = np.ascontiguousarray(bits[:, ::-1]) + np.uint8(ord("0"))
        # bytes.decode on each is 5x faster than numpy's astype to str here
        return list(map(bytes.decode, chars.view(f"S{num_clbits}").ravel().tolist()))

    def hex_keys(self) -> list[str]:
        """Each outcome as Qiskit's hex key, made once."""
        if self._hex_keys is None:
            if self.fit_one_word():
                self._hex_keys = list(map(hex, self.as_ints()[0]))
            else:
                self._hex_keys = [
                    hex(int.from_bytes(row.tobytes(), "little")) for row in self.words
                ]
        return self._hex_keys

    def hex_counts(self) -> dict[str, int]:
        """Qiskit's raw counts: ``{"0x5": 3, ...}``."""
        return dict(zip(self.hex_keys(), self.counts.tolist(), strict=True))


def result_from_outputs(
    outputs: Sequence[Any],
    circuits: Sequence[Any],
    *,
    job_id: str,
    backend_name: str = "basic_simulator",
    backend_version: str = "",
    memory: bool = False,
    metadata: Sequence[Mapping[str, Any]] | None = None,
    settings: Settings | None = None,
    time_taken: float | None = None,
    date: str | None = None,
) -> Result:
    """Build a :class:`Result` from :func:`svsim.engine.run_experiment` outputs.

    ``outputs[i]`` is the run of ``circuits[i]``; :func:`experiment_metadata`
    of it (with the job's ``settings``, when given) and then ``metadata[i]``
    are merged into that experiment's metadata.
    Per-shot memory strings are only built when ``memory`` is true.  The
    experiments' results are built when first read (:meth:`Result.pending`,
    :func:`experiment_results`).
    """
    if len(outputs) != len(circuits):
        raise ValueError(f"{len(outputs)} outputs for {len(circuits)} circuits")
    for out in outputs:
        for label in out.saves:
            if label in _RESERVED_KEYS:
                raise ValueError(f"save label {label!r} is reserved for the result's {label}")
    if time_taken is None:
        time_taken = sum(float(out.time_taken) for out in outputs)
    return Result.pending(
        functools.partial(experiment_results, outputs, circuits, memory, metadata, settings),
        backend_name,
        backend_version,
        job_id,
        float(time_taken),
        date,
        time.time() if date is None else None,
    )


def experiment_results(
    outputs: Sequence[Any],
    circuits: Sequence[Any],
    memory: bool,
    metadata: Sequence[Mapping[str, Any]] | None,
    settings: Settings | None,
) -> list[ExperimentResult]:
    """One :class:`ExperimentResult` per output, as :func:`result_from_outputs` describes."""
    experiments = []
    for i, (out, circuit) in enumerate(zip(outputs, circuits, strict=True)):
        data: dict[str, Any] = {}
        outcomes: Outcomes | None = None
        order: np.ndarray | Callable[[], np.ndarray] | None = None
        if out.memory.shape[1] == 0:
            data["counts"] = {}
            if memory:
                data["memory"] = []
        else:
            outcomes, order = _outcomes_of(out.memory, memory, circuit.num_clbits)
        data.update(out.saves)
        stabilizer = out.method == "stabilizer"
        shot_method = "sampling" if stabilizer else out.method
        meta: dict[str, Any] = {
            "method": "stabilizer" if stabilizer else "statevector",
            "shot_method": shot_method,
            "measure_sampling": shot_method == "sampling",
            "threads": int(out.threads),
            "precision": out.precision,
        }
        if settings is not None:
            meta.update(experiment_metadata(out, settings))
        if metadata is not None:
            meta.update(metadata[i])
        experiments.append(
            ExperimentResult(
                shots=int(out.shots),
                success=True,
                data=data,
                status="DONE",
                seed_simulator=int(out.seed),
                time_taken=float(out.time_taken),
                header_fields=header_fields(circuit),
                metadata=meta,
                final_statevector=out.statevector,
                outcomes=outcomes,
                shot_order=order,
            )
        )
    return experiments


def _outcomes_of(
    memory: np.ndarray, keep_order: bool, num_clbits: int
) -> tuple[Outcomes, np.ndarray | Callable[[], np.ndarray] | None]:
    """:meth:`Outcomes.from_memory`, with each shot's row, when asked for and the
    outcomes fit one word, left to be found when the memory is first read (a
    third of the counting of a small job, which ``memory=True`` asks for by
    default and most never read)."""
    if keep_order and memory.shape[1] == 1:
        outcomes, _ = Outcomes.from_memory(memory, False, num_clbits)
        return outcomes, functools.partial(outcomes.rows_of, memory)
    return Outcomes.from_memory(memory, keep_order, num_clbits)
