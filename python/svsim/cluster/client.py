"""The caller's side of a split job: the tasks submitted, collected and merged.

:func:`submit_split` cuts a job's circuit runs (each experiment, or each of
its shot parts with ``max_shot_size``: :mod:`svsim.cluster.parts`) into
contiguous groups of at most ``max_job_size``, one Dask task each, all
submitted in one ``client.map``.  :class:`SplitFuture` is the job's view of
them: it collects the tasks' outputs as they complete, puts them back in
order and makes one :class:`~svsim.result.Result` here, so seeds, counts
and memory equal a local run's.

Cancel.  ``cancel()`` (or a failed task) sets the job's Dask ``Event`` and
cancels the tasks' futures: a queued task never starts; a running one's
watcher turns the Event into the kernel's cancel flag.  Once every task
that started has reported its end (or after ``RELEASE_WAIT_S``), the Event
is cleared, which removes it from the scheduler.  A job that ends DONE never
created its Event there.

Reports.  The workers report every job's start, progress and end under one
Dask event topic, :data:`TOPIC`, each message tagged with its job; one
subscription per client hands them to the job (:class:`_Reports`).  The
scheduler keeps a bounded log per topic and never drops a topic, so a topic
per job would leave one log behind for each.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from svsim import _core
from svsim.cluster.parts import Part, merge_parts, split_shots
from svsim.cluster.wire import (
    circuit_to_wire,
    import_distributed,
    output_from_wire,
    outputs_from_wire,
    pack_payload,
)
from svsim.cluster.worker import POLL_S, run_task
from svsim.exceptions import JobError

if TYPE_CHECKING:
    from svsim.work import JobSpec

__all__ = [
    "SplitFuture",
    "check_client",
    "default_max_job_size",
    "is_dask_client",
    "submit_split",
]

# A task should hold at least this many amplitude-operations (~0.15 s of kernel on
# one core), so that its fixed cost (~10 ms) stays a few percent.
MIN_TASK_WORK = 1 << 28
# At most this many tasks per worker thread: small tasks balance the load and let
# results travel back while the next task runs.
TASKS_PER_THREAD = 8
# After a cancel, how long to wait for the running tasks to report their end before
# the job's Event is removed from the scheduler anyway; and at least this long,
# for a task already on its way to a worker to see the Event set.
RELEASE_WAIT_S = 60.0
RELEASE_GRACE_S = 5 * POLL_S


TOPIC = "svsim-jobs"
"""The Dask event topic of the workers' reports (``Worker.log_event``)."""


class _Reports:
    """One subscription to :data:`TOPIC` per client, handing each report to the
    job whose tag it carries (a report of an ended job is dropped)."""

    _lock = threading.Lock()
    _jobs: dict[str, SplitFuture] = {}
    _clients: weakref.WeakSet[Any] = weakref.WeakSet()

    @classmethod
    def add(cls, client: Any, tag: str, job: SplitFuture) -> None:
        with cls._lock:
            cls._jobs[tag] = job
            if client not in cls._clients:
                client.subscribe_topic(TOPIC, cls._dispatch)
                cls._clients.add(client)

    @classmethod
    def remove(cls, tag: str) -> None:
        with cls._lock:
            cls._jobs.pop(tag, None)

    @classmethod
    def _dispatch(cls, event: Any) -> None:
        """Runs in the client's event loop."""
        job = cls._jobs.get(str(event[1].get("job")))
        if job is not None:
            job._on_event(event)


def is_dask_client(executor: Any) -> bool:
    """True for a ``distributed.Client`` (checked by module, so Dask is not imported)."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(
        executor, "scheduler_info"
    )


def default_max_job_size(weights: Sequence[float], slots: int) -> int:
    """Circuits per task: at least one task per worker thread, more (up to
    ``TASKS_PER_THREAD`` per thread) while each still holds ``MIN_TASK_WORK``
    amplitude-operations, where the per-task cost (some ms) would show."""
    n = len(weights)
    by_work = max(1, int(sum(weights) // MIN_TASK_WORK))
    slots = max(slots, 1)
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
        parts: list[Part],
        groups: list[range],
        weights: Sequence[float],
    ) -> None:
        distributed = import_distributed()
        self._client = client
        self._spec = spec
        self._parts = parts
        self._groups = groups
        self._weights = [float(w) for w in weights]  # per part
        self._total = sum(self._weights) or 1.0
        self._task_done = [0.0] * len(groups)
        self._lock = threading.Lock()
        self._state = "pending"  # running, done, error, cancelled
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Any], None]] = []
        self._finished = threading.Event()
        self._started: set[int] = set()  # tasks that reported their start, and their end
        self._ended: set[int] = set()
        self._reported = threading.Condition(self._lock)
        self._event_set = False
        tag = f"svsim-{spec.job_id}-{uuid.uuid4().hex[:8]}"
        self._tag = tag
        self.event_name = f"{tag}-cancel"
        self._event = distributed.Event(self.event_name, client=client)
        _Reports.add(client, tag, self)
        s = spec.settings
        wires: dict[int, tuple[Any, ...]] = {}
        payloads = []
        for task, group in enumerate(groups):
            experiments = []
            for p in group:
                index, shots, seed = parts[p]
                e = spec.experiments[index]
                wire = wires.get(index)
                if wire is None:
                    wire = wires[index] = circuit_to_wire(e.circuit)
                experiments.append((wire, seed, shots, e.method, self._weights[p]))
            payloads.append(
                pack_payload(
                    {
                        "task": task,
                        "topic": TOPIC,
                        "job": tag,
                        "event": self.event_name,
                        "initial": spec.initial,
                        "settings": (
                            s.precision,
                            s.threads,
                            s.fusion,
                            s.max_memory_mb,
                            s.shot_branching,
                        ),
                        "experiments": experiments,
                    }
                )
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
        """Runs in the client's event loop: a task started, reports its progress, or ended."""
        _, msg = event
        task = int(msg.get("task", -1))
        if not 0 <= task < len(self._groups):
            return
        with self._lock:
            if "started" in msg:
                self._started.add(task)
                if self._state == "pending":
                    self._state = "running"
            if "done" in msg:
                self._task_done[task] = max(self._task_done[task], float(msg["done"]))
            if "ended" in msg:
                self._ended.add(task)
                self._reported.notify_all()

    # ---------------------------------------------------------- collecting

    def _describe(self, task: int) -> str:
        group = self._groups[task]
        first, last = self._parts[group.start].experiment, self._parts[group.stop - 1].experiment
        return (
            f"task {task} of {len(self._groups)} (Dask key {self._keys[task]!r}, circuits "
            f"{first}-{last})"
        )

    def _collect(self) -> None:
        distributed = import_distributed()
        index = {f.key: t for t, f in enumerate(self._futures)}
        outputs: list[list[dict[str, Any]]] = [[] for _ in self._futures]
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
                outputs[task] = outputs_from_wire(value)
                future.release()  # its output is here now; free the worker's copy
                with self._lock:
                    self._task_done[task] = sum(self._weights[p] for p in self._groups[task])
                    if self._state == "pending":
                        self._state = "running"
            result = self._merge(outputs)
        except BaseException as exc:  # noqa: BLE001 - the job must end
            self._fail(exc)
            return
        self._set("done", value=result)

    def _merge(self, outputs: list[list[dict[str, Any]]]) -> Any:
        from svsim.work import job_result

        spec = self._spec
        seeds = [e.seed for e in spec.experiments]
        merged = merge_parts(
            [output_from_wire(o) for task in outputs for o in task], self._parts, seeds
        )
        counts = [0] * len(seeds)
        for part in self._parts:
            counts[part.experiment] += 1
        return job_result(
            spec,
            merged,
            sum(o.time_taken for o in merged),
            [{"shot_parts": n} for n in counts],
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
        self._release()
        for callback in callbacks:
            callback(self)

    def _stop_remote(self) -> None:
        """Tell running kernels to stop and drop the queued tasks."""
        try:
            self._event.set()
            self._event_set = True
        except Exception:  # noqa: BLE001 - a closed client: its tasks are gone anyway
            pass
        try:
            self._client.cancel(self._futures)
        except Exception:  # noqa: BLE001
            pass

    def _release(self) -> None:
        """Leave nothing of the job on the scheduler: once the tasks that started
        have ended, its Event (in a thread, as the tasks may take a poll or two to
        stop); then stop taking its reports."""
        if not self._event_set:
            _Reports.remove(self._tag)
            return
        threading.Thread(
            target=self._release_event, name=f"svsim-release-{self._tag[6:14]}", daemon=True
        ).start()

    def _release_event(self) -> None:
        start = time.monotonic()
        time.sleep(RELEASE_GRACE_S)  # a task on its way to a worker reports its start
        with self._lock:
            self._reported.wait_for(
                lambda: self._started <= self._ended,
                timeout=max(0.0, RELEASE_WAIT_S - (time.monotonic() - start)),
            )
        try:
            # with no waiter, clearing an Event deletes it on the scheduler
            self._event.clear()
        except Exception:  # noqa: BLE001 - a closed client: the scheduler drops it too
            pass
        _Reports.remove(self._tag)

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


def submit_split(
    spec: JobSpec, client: Any, max_job_size: int | None, max_shot_size: int | None = None
) -> SplitFuture:
    """Split ``spec``'s circuit runs (its experiments, each cut into parts of at most
    ``max_shot_size`` shots) into tasks of at most ``max_job_size`` runs (by default
    :func:`default_max_job_size`) and submit them to ``client``."""
    slots = check_client(client)
    parts = split_shots([e.seed for e in spec.experiments], spec.shots, max_shot_size)
    circuits = [spec.experiments[p.experiment].circuit for p in parts]
    weights = [len(c.data) + 1 for c in circuits]
    work = [(1 << c.num_qubits) * w for c, w in zip(circuits, weights, strict=True)]
    size = max_job_size or default_max_job_size(work, slots)
    n = len(parts)
    groups = [range(start, min(start + size, n)) for start in range(0, n, size)]
    return SplitFuture(client, spec, parts, groups, weights)
