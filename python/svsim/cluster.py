"""Jobs of many circuits on a Dask cluster: split into tasks, merged in order.

``BasicSimulator(executor=client)`` with a ``distributed.Client`` hands a job
here (through :meth:`svsim.work.JobWork.submit_remote`).  The job's
experiments, each with the seed ``run()`` fixed for it, are cut into
contiguous groups of at most ``max_job_size`` circuits; each group is one
Dask task, all submitted in one ``client.map``.  The tasks' outputs are put
back in the original order and made into one :class:`~svsim.result.Result`
here, so seeds, counts and memory equal a local run's.

What travels (no pickled object of svsim's or the caller's classes):

* caller -> worker: a task payload of plain data: the format version, the
  caller's svsim version (a worker with another version refuses), each
  circuit in its wire form (:func:`circuit_to_wire`: tuples of ints,
  floats, strings and numpy matrices), its seed and method, the shots and
  the settings, and the names of the job's Dask ``Event`` (cancel) and
  event topic (start and progress);
* worker -> caller: per circuit a dict of numpy arrays and numbers (packed
  classical memory, final statevector, saved values) plus run statistics,
  one pickled frame per task that the caller unpickles with builtins and
  numpy arrays only allowed.

Cancel.  ``cancel()`` sets the job's Dask ``Event`` and cancels the tasks'
futures: a queued task never starts; a running one has a watcher thread that
polls the Event and turns it into the kernel's ``RunControl.cancel()``, so
the kernel stops before its next operation.

Progress.  The watcher also reports through ``Worker.log_event`` under the
job's topic: the task has started (the job is RUNNING) and the weight of its
operations done so far; the caller's subscription handler adds those up.

``distributed`` is imported here only: ``import svsim`` never loads it.
"""

from __future__ import annotations

import dataclasses
import io
import math
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from svsim import _core, engine, stabilizer
from svsim.circuit import Circuit, Instruction
from svsim.exceptions import JobError, MissingExtraError, SimulatorError

if TYPE_CHECKING:
    from svsim.work import JobSpec

__all__ = [
    "WIRE_FORMAT",
    "SplitFuture",
    "circuit_from_wire",
    "circuit_to_wire",
    "default_max_job_size",
    "is_dask_client",
    "run_task",
    "running_tasks",
    "submit_split",
]

WIRE_FORMAT = 1
"""The version of the task payload and of the circuits' wire form; a worker
refuses a payload of another format (or from another svsim version)."""

POLL_S = 0.1  # how often a worker's watcher reads the cancel Event and reports
# A task should hold at least this many amplitude-operations (~0.15 s of kernel on
# one core), so that its fixed cost (~10 ms) stays a few percent.
MIN_TASK_WORK = 1 << 28
# At most this many tasks per worker thread: small tasks balance the load and let
# results (a 22-qubit statevector is 64 MiB) travel back while the next task runs.
TASKS_PER_THREAD = 8


def is_dask_client(executor: Any) -> bool:
    """True for a ``distributed.Client`` (checked by module, so Dask is not imported)."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(
        executor, "scheduler_info"
    )


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - a client implies Dask is there
        raise MissingExtraError(
            'running jobs on a Dask cluster needs distributed: pip install "svsim[dask]"'
        ) from exc
    return distributed


def _version() -> str:
    import svsim

    return svsim.__version__


# ---------------------------------------------------------------- wire form


# An instruction travels as the tuple of its fields in this order.  Read from and
# written to the instances' __dict__ directly: twice as fast as attribute access
# and the frozen dataclass's __init__ (1,000 circuits of 100 gates: about 1 s less).
_FIELDS = ("name", "qubits", "clbits", "params", "condition", "matrix", "label")
if tuple(f.name for f in dataclasses.fields(Instruction)) != _FIELDS:  # pragma: no cover
    raise ImportError("svsim.circuit.Instruction changed; update svsim.cluster's WIRE_FORMAT")


def circuit_to_wire(circuit: Circuit) -> tuple[Any, ...]:
    """``circuit`` as plain data: ``(WIRE_FORMAT, num_qubits, name, global_phase,
    registers, save_labels, instructions)``, each instruction a tuple of builtins
    (a ``unitary`` keeps its complex128 matrix as a numpy array)."""
    registers = tuple((name, r.start, r.stop) for name, r in circuit._registers.items())
    saves = tuple(circuit._save_labels.items())
    data = tuple(tuple(vars(i).values()) for i in circuit._data)
    return (
        WIRE_FORMAT,
        circuit.num_qubits,
        circuit.name,
        circuit.global_phase,
        registers,
        saves,
        data,
    )


def circuit_from_wire(wire: tuple[Any, ...]) -> Circuit:
    """The circuit of :func:`circuit_to_wire`'s data (the caller checked it when it
    was built, so it is not checked again here)."""
    if not isinstance(wire, tuple) or not wire or wire[0] != WIRE_FORMAT:
        found = wire[0] if isinstance(wire, tuple) and wire else type(wire).__name__
        raise SimulatorError(
            f"circuit wire format {found!r} is not this worker's {WIRE_FORMAT}; install the "
            "same svsim version on the client and the workers"
        )
    _, num_qubits, name, phase, registers, saves, data = wire
    circuit = Circuit(num_qubits, name=name)
    circuit._registers = {n: range(start, stop) for n, start, stop in registers}
    circuit._num_clbits = max((stop for _, _, stop in registers), default=0)
    circuit._save_labels = dict(saves)
    circuit._global_phase = float(phase)
    new = object.__new__
    instructions = []
    for row in data:
        instruction = new(Instruction)
        instruction.__dict__.update(zip(_FIELDS, row, strict=True))
        instructions.append(instruction)
    circuit._data = instructions
    return circuit


# ---------------------------------------------------------------- worker side

_running_lock = threading.Lock()
_running = 0  # tasks of this module inside a kernel in this process


def running_tasks() -> int:
    """How many svsim tasks run in this process now (a worker-side flag for tests
    and monitoring: ``client.run(svsim.cluster.running_tasks)``)."""
    with _running_lock:
        return _running


class _Watcher(threading.Thread):
    """A worker-side thread that turns the job's cancel Event into the kernel's
    RunControl.cancel() and reports the task's progress to the caller."""

    def __init__(self, event: Any, report: Callable[[dict[str, Any]], None], task: int) -> None:
        super().__init__(name=f"svsim-watch-{task}", daemon=True)
        self._event = event
        self._report = report
        self._task = task
        self._stop_flag = threading.Event()
        self._lock = threading.Lock()
        self.cancelled = False
        self.control: _core.RunControl | None = None
        self.done = 0.0  # weight of the finished circuits
        self.weight = 0.0  # weight of the running one

    def run(self) -> None:
        last = -1.0
        while not self._stop_flag.wait(POLL_S):
            try:
                if self._event.is_set():
                    self.cancel()
                    return
            except Exception:  # noqa: BLE001 - the scheduler is gone: stop the kernel too
                self.cancel()
                return
            with self._lock:
                done = self.done
                if self.control is not None:
                    done += self.weight * float(self.control.progress())
            if done != last:
                last = done
                self._report({"task": self._task, "done": done})

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self.control is not None:
                self.control.cancel()

    def start_circuit(self, weight: float) -> _core.RunControl:
        control = _core.RunControl()
        with self._lock:
            if self.cancelled:
                raise _core.Cancelled("the job was cancelled")
            self.control, self.weight = control, weight
        return control

    def finish_circuit(self) -> None:
        with self._lock:
            self.done += self.weight
            self.control, self.weight = None, 0.0

    def stop(self) -> None:
        self._stop_flag.set()


def _output_to_wire(out: engine.ExperimentOutput) -> dict[str, Any]:
    """A kernel output as numpy arrays and numbers (its statevector copied out of
    the kernel's buffer view)."""
    return {
        "memory": np.ascontiguousarray(out.memory),
        "method": out.method,
        # None for the stabilizer method, which keeps no statevector
        "statevector": None if out.statevector is None else np.asarray(out.statevector),
        "saves": {
            k: (np.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in out.saves.items()
        },
        "seed": int(out.seed),
        "shots": int(out.shots),
        "threads": int(out.threads),
        "precision": out.precision,
        "time_taken": float(out.time_taken),
        "fusion": bool(out.fusion),
        "ops_encoded": int(out.ops_encoded),
        "ops_run": int(out.ops_run),
    }


def _outputs_from_wire(blob: bytes) -> list[dict[str, Any]]:
    """A task's outputs; only plain data is accepted (no class of svsim's or other)."""
    outputs: list[dict[str, Any]] = _PlainUnpickler(io.BytesIO(blob)).load()
    return outputs


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles builtins and numpy arrays only: what run_task sends."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("builtins", "complex"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a task's output holds {module}.{name}, not plain data")


def output_from_wire(data: dict[str, Any]) -> engine.ExperimentOutput:
    return engine.ExperimentOutput(**data)


def run_task(payload: dict[str, Any]) -> bytes:
    """Run one task's circuits on a Dask worker; their outputs as plain data (a
    list of dicts of numpy arrays and numbers, pickled as one bytes object).

    A module-level function over plain data (see the module's notes).  Raises
    ``svsim._core.Cancelled`` when the job's Event was set, SimulatorError when
    the payload comes from another svsim version.
    """
    global _running
    if payload.get("format") != WIRE_FORMAT or payload.get("svsim") != _version():
        raise SimulatorError(
            f"this worker has svsim {_version()} (task format {WIRE_FORMAT}); the client sent "
            f"svsim {payload.get('svsim')!r} (format {payload.get('format')!r}); install the "
            "same svsim version on the client and every worker"
        )
    distributed = _import_distributed()
    worker = distributed.get_worker()
    topic, task = payload["topic"], payload["task"]
    client = distributed.get_client()
    event = distributed.Event(payload["event"], client=client)
    if event.is_set():  # cancelled while it was on its way here
        raise _core.Cancelled("the job was cancelled")

    def report(msg: dict[str, Any]) -> None:
        worker.log_event(topic, msg)

    report({"task": task, "started": time.time()})
    watcher = _Watcher(event, report, task)
    precision, threads, fusion, max_memory_mb = payload["settings"]
    shots, initial = payload["shots"], payload["initial"]
    outputs = []
    kept = 0  # bytes the task's earlier outputs hold, as run_job counts them
    with _running_lock:
        _running += 1
    watcher.start()
    try:
        for wire, seed, method, weight in payload["experiments"]:
            circuit = circuit_from_wire(wire)
            limit = None if max_memory_mb is None else max_memory_mb - kept / (1 << 20)
            control = watcher.start_circuit(weight)
            if method == "stabilizer":
                out = stabilizer.run_stabilizer(circuit, shots=shots, seed=seed, control=control)
            else:
                out = engine.run_experiment(
                    circuit,
                    shots=shots,
                    seed=seed,
                    precision=precision,
                    threads=threads,
                    max_memory_mb=limit,
                    control=control,
                    initial_statevector=initial,
                    fusion=fusion,
                )
                kept += engine.state_data_bytes(circuit, precision)
            kept += int(out.memory.nbytes)
            watcher.finish_circuit()
            outputs.append(_output_to_wire(out))
    finally:
        watcher.stop()
        with _running_lock:
            _running -= 1
    # One pickle of the plain outputs (dicts of arrays and numbers), one frame on the
    # wire: Dask's own serialisation of hundreds of small arrays, one frame each,
    # cost 3x the kernel's time for 500 circuits of 10 qubits.
    return pickle.dumps(outputs, protocol=pickle.HIGHEST_PROTOCOL)


# ---------------------------------------------------------------- caller side


def default_max_job_size(weights: Sequence[float], slots: int) -> int:
    """Circuits per task: at least one task per worker thread, more (up to
    ``TASKS_PER_THREAD`` per thread) while each still holds ``MIN_TASK_WORK``
    amplitude-operations, where the per-task cost (some ms) would show."""
    n = len(weights)
    by_work = max(1, int(sum(weights) // MIN_TASK_WORK))
    slots = max(slots, 1)
    # At least one task per worker thread (a cluster is there to be used); beyond
    # that as many as the work pays for, up to TASKS_PER_THREAD per thread.
    tasks = max(1, min(n, TASKS_PER_THREAD * slots, max(slots, by_work)))
    return math.ceil(n / tasks)


def check_client(client: Any) -> int:
    """The worker threads of ``client``'s cluster (at least 1); JobError if the client
    is not connected, raised before anything is sent."""
    if getattr(client, "status", "running") != "running":
        raise JobError(
            f"the Dask client is {client.status}; connect it (or make a new Client) before run()"
        )
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


class SplitFuture:
    """The job's view of its tasks, with the members of a ``concurrent.futures``
    future that :class:`~svsim.job.BasicProviderJob` uses (``running``,
    ``cancel``, ``cancelled``, ``result``, ``add_done_callback``) and
    ``progress``.

    A collector thread waits for the tasks as they complete and keeps their
    outputs by index; the first failure cancels the rest.  Its outcome is
    the merged Result, a JobError naming the failed task (chained to the
    worker's exception), or cancelled.
    """

    def __init__(
        self,
        client: Any,
        spec: JobSpec,
        groups: list[range],
        weights: Sequence[float],
    ) -> None:
        distributed = _import_distributed()
        self._client = client
        self._spec = spec
        self._groups = groups
        self._weights = [float(w) for w in weights]
        self._total = sum(self._weights) or 1.0
        self._task_done = [0.0] * len(groups)
        self._lock = threading.Lock()
        self._state = "pending"  # running, done, error, cancelled
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Any], None]] = []
        self._finished = threading.Event()
        tag = f"svsim-{spec.job_id}-{uuid.uuid4().hex[:8]}"
        self._topic = tag
        self._event = distributed.Event(f"{tag}-cancel", client=client)
        client.subscribe_topic(self._topic, self._on_event)
        s = spec.settings
        version = _version()
        payloads = []
        for task, group in enumerate(groups):
            payloads.append(
                {
                    "format": WIRE_FORMAT,
                    "svsim": version,
                    "task": task,
                    "topic": self._topic,
                    "event": f"{tag}-cancel",
                    "shots": spec.shots,
                    "initial": spec.initial,
                    "settings": (s.precision, s.threads, s.fusion, s.max_memory_mb),
                    "experiments": [
                        (
                            circuit_to_wire(spec.experiments[i].circuit),
                            spec.experiments[i].seed,
                            spec.experiments[i].method,
                            self._weights[i],
                        )
                        for i in group
                    ],
                }
            )
        keys = [f"{tag}-task{t}-of{len(groups)}" for t in range(len(groups))]
        self._keys = keys
        # One map call: the scheduler gets all tasks at once.
        self._futures = client.map(run_task, payloads, key=keys, pure=False)
        self._collector = threading.Thread(
            target=self._collect, name=f"svsim-collect-{spec.job_id[:8]}", daemon=True
        )
        self._collector.start()

    # ---------------------------------------------------------- events from workers

    def _on_event(self, event: Any) -> None:
        """Runs in the client's event loop: a task started, or reports its progress."""
        _, msg = event
        task = int(msg.get("task", -1))
        with self._lock:
            if "started" in msg and self._state == "pending":
                self._state = "running"
            if "done" in msg and 0 <= task < len(self._task_done):
                self._task_done[task] = max(self._task_done[task], float(msg["done"]))

    # ---------------------------------------------------------- collecting

    def _describe(self, task: int) -> str:
        group = self._groups[task]
        return (
            f"task {task} of {len(self._groups)} (Dask key {self._keys[task]!r}, circuits "
            f"{group.start}-{group.stop - 1})"
        )

    def _collect(self) -> None:
        distributed = _import_distributed()
        index = {f.key: t for t, f in enumerate(self._futures)}
        outputs: list[list[dict[str, Any]] | None] = [None] * len(self._futures)
        try:
            # with_results: the client fetches each task's output as it completes,
            # concurrently, instead of one round trip after another from here.
            completed = distributed.as_completed(
                self._futures, with_results=True, raise_errors=False
            )
            for future, value in completed:
                task = index[future.key]
                if self._finished.is_set():
                    return  # cancelled
                if future.status == "cancelled":
                    self._fail(JobError(f"{self._describe(task)} was cancelled by Dask"))
                    return
                if future.status == "error":
                    # as_completed hands over a wrapped copy; the future has the
                    # worker's own exception (one round trip, on failure only)
                    value = future.exception()
                if isinstance(value, _core.Cancelled):
                    self._set("cancelled")
                    return
                if future.status == "error" or isinstance(value, BaseException):
                    error = JobError(
                        f"{self._describe(task)} failed on the cluster: "
                        f"{type(value).__name__}: {value}"
                    )
                    error.__cause__ = value if isinstance(value, BaseException) else None
                    self._fail(error)
                    return
                outputs[task] = _outputs_from_wire(value)
                future.release()  # its output is here now; free the worker's copy
                with self._lock:
                    self._task_done[task] = sum(self._weights[i] for i in self._groups[task])
                    if self._state == "pending":
                        self._state = "running"
            result = self._merge(outputs)
        except BaseException as exc:  # noqa: BLE001 - the job must end
            self._fail(exc)
            return
        self._set("done", value=result)

    def _merge(self, outputs: list[list[dict[str, Any]] | None]) -> Any:
        from svsim.work import experiment_metadata, result_from_outputs

        spec = self._spec
        flat = [output_from_wire(o) for task in outputs for o in (task or [])]
        return result_from_outputs(
            flat,
            [e.circuit for e in spec.experiments],
            job_id=spec.job_id,
            backend_name=spec.backend_name,
            backend_version=spec.backend_version,
            memory=spec.memory,
            metadata=[experiment_metadata(o, spec.settings) for o in flat],
            time_taken=sum(o.time_taken for o in flat),
        )

    def _fail(self, error: BaseException) -> None:
        self._stop_remote()
        self._set("error", error=error)

    def _set(self, state: str, value: Any = None, error: BaseException | None = None) -> None:
        with self._lock:
            if self._finished.is_set():
                return
            self._state, self._value, self._error = state, value, error
            self._finished.set()
            callbacks, self._callbacks = self._callbacks, []
        self._cleanup()
        for callback in callbacks:
            callback(self)

    def _stop_remote(self) -> None:
        """Tell running kernels to stop and drop the queued tasks."""
        try:
            self._event.set()
        except Exception:  # noqa: BLE001 - a closed client: its tasks are gone anyway
            pass
        try:
            self._client.cancel(self._futures)
        except Exception:  # noqa: BLE001
            pass

    def _cleanup(self) -> None:
        try:
            self._client.unsubscribe_topic(self._topic)
        except Exception:  # noqa: BLE001 - a closed client has no subscriptions left
            pass

    # ---------------------------------------------------------- future members

    def running(self) -> bool:
        with self._lock:
            return self._state == "running"

    def done(self) -> bool:
        return self._finished.is_set()

    def cancelled(self) -> bool:
        with self._lock:
            return self._state == "cancelled"

    def cancel(self) -> bool:
        """Cancel the queued tasks and stop the running kernels at their next operation."""
        if self._finished.is_set():
            return self.cancelled()
        self._stop_remote()
        self._set("cancelled")
        return True

    def progress(self) -> float:
        """The fraction of the job's operations done across its tasks."""
        with self._lock:
            if self._state == "done":
                return 1.0
            return min(max(sum(self._task_done) / self._total, 0.0), 1.0)

    def result(self, timeout: float | None = None) -> Any:
        if not self._finished.wait(timeout):
            raise TimeoutError(f"the job's tasks are not finished after {timeout} s")
        if self._state == "cancelled":
            from concurrent.futures import CancelledError

            raise CancelledError()
        if self._error is not None:
            raise self._error
        return self._value

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._finished.wait(timeout)
        return self._error

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        with self._lock:
            if not self._finished.is_set():
                self._callbacks.append(fn)
                return
        fn(self)


def submit_split(spec: JobSpec, client: Any, max_job_size: int | None) -> SplitFuture:
    """Split ``spec``'s experiments into tasks of at most ``max_job_size`` circuits
    (by default :func:`default_max_job_size`) and submit them to ``client``."""
    slots = check_client(client)
    weights = [len(e.circuit.data) + 1 for e in spec.experiments]
    work = [(1 << e.circuit.num_qubits) * w for e, w in zip(spec.experiments, weights, strict=True)]
    size = max_job_size or default_max_job_size(work, slots)
    n = len(spec.experiments)
    groups = [range(start, min(start + size, n)) for start in range(0, n, size)]
    return SplitFuture(client, spec, groups, weights)
