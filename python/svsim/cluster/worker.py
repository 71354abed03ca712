"""The worker side of a split job: :func:`run_task` runs one task's circuits.

A task's circuits run one after another in the worker's thread.  Beside
them a watcher thread (:class:`_Watcher`) polls the job's Dask ``Event``
and turns it into the kernel's ``RunControl.cancel()`` (the kernel stops
before its next operation), and reports through ``Worker.log_event`` under
svsim's topic, tagged with the job: the task has started, the weight of its operations done so
far, and that it has ended (however it ended), which the caller waits for
before it removes the job's Event from the scheduler.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from svsim import _core, engine
from svsim.cluster.wire import circuit_from_wire, import_distributed, output_to_wire, unpack_payload
from svsim.work import Experiment, Settings, run_experiment_of

__all__ = ["POLL_S", "run_task", "running_tasks"]

POLL_S = 0.1  # how often a worker's watcher reads the cancel Event and reports

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


def run_task(payload: dict[str, Any]) -> bytes:
    """Run one task's circuits on a Dask worker; their outputs as plain data (a
    list of dicts of numpy arrays and numbers, pickled as one bytes object).

    A module-level function over plain data (see :mod:`svsim.cluster.wire`).
    Raises ``svsim._core.Cancelled`` when the job's Event was set,
    SimulatorError when the payload comes from another svsim version.
    """
    global _running
    payload = unpack_payload(payload)
    distributed = import_distributed()
    worker = distributed.get_worker()
    topic, job, task = payload["topic"], payload["job"], payload["task"]
    event = distributed.Event(payload["event"], client=distributed.get_client())

    def report(msg: dict[str, Any]) -> None:
        worker.log_event(topic, {"job": job, **msg})

    report({"task": task, "started": time.time()})
    try:
        if event.is_set():  # cancelled while it was on its way here
            raise _core.Cancelled("the job was cancelled")
        watcher = _Watcher(event, report, task)
        with _running_lock:
            _running += 1
        watcher.start()
        try:
            outputs = _run_circuits(payload, watcher)
        finally:
            watcher.stop()
            with _running_lock:
                _running -= 1
    finally:
        report({"task": task, "ended": time.time()})
    # One pickle of the plain outputs (dicts of arrays and numbers), one frame on the
    # wire: Dask's own serialisation of hundreds of small arrays, one frame each,
    # cost 3x the kernel's time for 500 circuits of 10 qubits.
    return pickle.dumps(outputs, protocol=pickle.HIGHEST_PROTOCOL)


def _run_circuits(payload: dict[str, Any], watcher: _Watcher) -> list[dict[str, Any]]:
    """The payload's circuits run in order, each output as plain data.

    The memory limit is read once for the task (by default 80% of what the
    worker has available now: a read of /proc/meminfo, which per circuit was
    8% of a task of 500 small circuits); each circuit gets what the earlier
    ones' outputs leave of it.  A circuit's final state is dropped as soon as
    it has run: what is kept is its memory and saved values.
    """
    precision, threads, fusion, max_memory_mb, shot_branching = payload["settings"]
    settings = Settings(
        precision=precision,
        threads=threads,
        fusion=fusion,
        max_memory_mb=max_memory_mb,
        shot_branching=shot_branching,
    )
    total_mb = engine.default_max_memory_mb() if max_memory_mb is None else max_memory_mb
    outputs = []
    kept = 0  # bytes the task's earlier outputs hold
    for wire, seed, shots, method, weight in payload["experiments"]:
        experiment = Experiment(circuit_from_wire(wire), seed, method)
        control = watcher.start_circuit(weight)
        limit = total_mb - kept / (1 << 20)
        out = output_to_wire(
            run_experiment_of(experiment, shots, settings, payload["initial"], limit, control)
        )
        watcher.finish_circuit()
        kept += out["memory"].nbytes
        kept += sum(v.nbytes for v in out["saves"].values() if isinstance(v, np.ndarray))
        outputs.append(out)
    return outputs
