"""Where jobs run: :class:`DaemonThreadExecutor` (a backend's own worker
threads) and the shared fallback one, how work is handed to any other executor,
and the registry of jobs not yet final, with the exit hook that cancels them
and joins the workers when the interpreter exits (see :mod:`svsim.job`)."""

from __future__ import annotations

import atexit
import contextlib
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svsim.job import BasicProviderJob

__all__ = ["DaemonThreadExecutor", "has_outstanding_jobs", "outstanding_jobs", "runs_in_process"]


# ---------------------------------------------------------------- registry

_registry_lock = threading.Lock()
# Submitted, not yet final; in the order of submission (a dict keeps it).
_outstanding: dict[BasicProviderJob, None] = {}
_executors: weakref.WeakSet[DaemonThreadExecutor] = weakref.WeakSet()  # for the exit hook


# ---------------------------------------------------------------- executors


# A queued call: (future, fn, args, kwargs), or None to stop the workers.
_WorkItem = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None


def _work_loop(work_queue: queue.SimpleQueue[_WorkItem]) -> None:
    """A worker thread's life: run queued calls until the stop sentinel ``None``."""
    while True:
        item = work_queue.get()
        if item is None:
            work_queue.put(None)  # the other workers stop too
            return
        future, fn, args, kwargs = item
        del item
        if future.set_running_or_notify_cancel():
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: B036 - handed to the future
                future.set_exception(exc)
                del exc
            else:
                future.set_result(value)
                del value
        del future, fn, args, kwargs  # hold no job between jobs


class DaemonThreadExecutor(Executor):
    """A ``concurrent.futures`` executor on daemon worker threads: a backend's own.

    It behaves like ``ThreadPoolExecutor`` (``submit``, ``shutdown(wait,
    cancel_futures)``, futures that cancel while queued) except at interpreter
    exit: Python does not wait for its threads there.  Instead svsim's exit
    hook cancels the jobs still queued or running (a running kernel stops
    before its next operation) and joins the threads, so exit is quick and
    never cuts a kernel off mid-operation.  The threads start on first use.
    """

    def __init__(self, max_workers: int = 1, thread_name_prefix: str = "svsim-job") -> None:
        if not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._queue: queue.SimpleQueue[_WorkItem] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shutdown = False
        # An executor dropped without shutdown() lets its threads end once idle.
        weakref.finalize(self, self._queue.put, None)
        with _registry_lock:
            _executors.add(self)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Schedule ``fn(*args, **kwargs)``; a ``Future`` for its outcome."""
        future: Future[Any] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queue.put((future, fn, args, kwargs))
            if len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=_work_loop,
                    args=(self._queue,),
                    name=f"{self._prefix}-{len(self._threads)}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; with ``cancel_futures`` drop the queued calls; with
        ``wait`` return once the running calls have ended."""
        dropped = []
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        dropped.append(item[0])
            self._queue.put(None)
        for future in dropped:  # outside the lock: cancel() runs the futures' callbacks
            future.cancel()
        if wait:
            self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the worker threads have stopped (after :meth:`shutdown`); True
        when they all have, False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        current = threading.current_thread()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is current:
                continue
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
        return not any(t.is_alive() for t in threads if t is not current)


def runs_in_process(executor: Any) -> bool:
    """True for executors that run work on threads of this process (thread pools):
    jobs on them run with their cancel flag and progress.  Any other executor is
    taken to run work elsewhere and gets the work's picklable form."""
    return isinstance(executor, (ThreadPoolExecutor, DaemonThreadExecutor))


def _submit_task(executor: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """``executor.submit(fn, *args)``; a Dask client is told the task is impure (each
    job is its own task, never merged with an equal-looking one)."""
    if type(executor).__module__.split(".")[0] == "distributed":
        return executor.submit(fn, *args, pure=False)
    return executor.submit(fn, *args)


def _cancel_future(future: Any) -> None:
    """``future.cancel()``, whatever the executor thinks of it (a closed Dask client
    raises): the job is already CANCELLED, this only spares the executor the work."""
    with contextlib.suppress(Exception):
        future.cancel()


_fallback_lock = threading.Lock()
_fallback: DaemonThreadExecutor | None = None


def _fallback_executor() -> DaemonThreadExecutor:
    """One shared worker thread for jobs whose backend brings no executor."""
    global _fallback
    with _fallback_lock:
        if _fallback is None or _fallback._shutdown:
            _fallback = DaemonThreadExecutor(max_workers=1, thread_name_prefix="svsim-job")
        return _fallback


def outstanding_jobs(backend: Any = None) -> list[BasicProviderJob]:
    """The jobs submitted and not yet final (of ``backend`` only, if given), oldest first."""
    with _registry_lock:
        jobs = list(_outstanding)
    if backend is not None:
        jobs = [job for job in jobs if job.backend() is backend]
    return jobs


def has_outstanding_jobs(backend: Any) -> bool:
    """Whether ``backend`` has a job submitted and not yet final (what ``run()``
    asks before each job; :func:`outstanding_jobs` builds lists)."""
    with _registry_lock:
        return bool(_outstanding) and any(job.backend() is backend for job in _outstanding)


EXIT_TIMEOUT = 30.0  # seconds the exit hook waits for cancelled kernels to stop


def _shutdown_at_exit() -> None:
    """Cancel what is left and stop the daemon workers, at interpreter exit.

    Registered with ``atexit``: it runs after Python has joined every non-daemon
    thread, so only jobs nobody can still wait for are cancelled.  A running
    kernel stops before its next operation; the worker threads are joined so
    none is inside the kernel when the interpreter is torn down.
    """
    for job in outstanding_jobs():
        with contextlib.suppress(Exception):
            job._abandon()
    with _registry_lock:
        executors = list(_executors)
    for executor in executors:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + EXIT_TIMEOUT
    for executor in executors:
        executor.join(max(deadline - time.monotonic(), 0.0))


atexit.register(_shutdown_at_exit)
