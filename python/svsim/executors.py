"""Where jobs run: :class:`DaemonThreadExecutor` (a backend's own worker
threads) and the shared fallback one, how work is handed to any other executor,
and the registry of jobs not yet final, with the exit hook that cancels them
and joins the workers when the interpreter exits (see :mod:`svsim.job`)."""

from __future__ import annotations

import atexit
import collections
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


class _Call:
    """A queued call and whether a thread has taken it (a worker, or a caller
    that runs it in :meth:`DaemonThreadExecutor.run_here`)."""

    __slots__ = ("future", "fn", "args", "kwargs", "taken")

    def __init__(
        self,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.future = future
        self.fn: Callable[..., Any] | None = fn
        self.args = args
        self.kwargs = kwargs
        self.taken = False

    def run(self) -> None:
        """Run the call into its future, unless the future was cancelled; then let
        go of what it was given (a thread may hold the call a while longer)."""
        future, fn, args, kwargs = self.future, self.fn, self.args, self.kwargs
        self.fn, self.args, self.kwargs = None, (), {}
        if fn is not None and future.set_running_or_notify_cancel():
            try:
                value = fn(*args, **kwargs)
            except KeyboardInterrupt:  # only the main thread gets one: run_here's
                # A fresh one: the raised one's traceback would keep this stack's
                # frames (the job, its work) alive with the future.
                future.set_exception(KeyboardInterrupt())
                raise
            except BaseException as exc:  # noqa: B036 - handed to the future
                future.set_exception(exc)
                del exc
            else:
                future.set_result(value)
                del value


class _Line:
    """One executor's queue, shared with its worker threads (which must not hold
    the executor itself, so that one dropped without shutdown() is collected).

    ``waiting`` holds the calls no thread has taken, oldest first.  A thread
    takes a call (under ``lock``) before it runs it: a worker as it dequeues
    it, or a caller that runs the next call itself when no call runs
    (:meth:`DaemonThreadExecutor.run_here`).  With a single worker, ``busy``
    says a call runs, and a worker that has taken a call waits for it to end:
    the calls still run one at a time, in the order they came in.  ``held``
    are calls in ``waiting`` not yet put on ``queue``
    (:meth:`DaemonThreadExecutor.submit_held`)."""

    def __init__(self, single_worker: bool) -> None:
        self.queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()  # wakes the workers
        self.waiting: collections.deque[_Call] = collections.deque()
        self.held: list[_Call] = []
        self.lock = threading.Lock()  # guards all of the fields
        self.ended = threading.Condition(self.lock) if single_worker else None
        self.busy = False
        self.taken_here: _Call | None = None  # what run_next took, until it lets go,
        self.taken_by = 0  # and the thread that took it
        self.polling = False  # the single worker waits at most POLL_S, so calls may be held
        self.ended_at = -LINGER_S  # when a call last ended (time.monotonic())

    def next_wait(self) -> float | None:
        """How long the single worker waits on the queue before it looks for held
        calls: POLL_S while one is held or a call ended less than LINGER_S ago,
        otherwise until it is woken.  Calls are held only while it polls."""
        with self.lock:
            self.polling = self.ended is not None and (
                bool(self.held) or time.monotonic() - self.ended_at < LINGER_S
            )
            return POLL_S if self.polling else None

    def take_held(self) -> _Call | None:
        """The held call, taken to run it, for a worker whose poll found one that no
        thread ran; None if there is none or a call runs."""
        with self.lock:
            if not self.held or self.busy:
                return None
            call = self.held.pop(0)  # the head of waiting: calls are held only when none waits
            self._claim_locked(call)
            self.busy = True
            return call

    def idle_locked(self) -> bool:
        """Whether no call waits or runs (``lock`` held)."""
        return not self.waiting and not self.busy

    def _claim_locked(self, call: _Call) -> bool:
        """Mark ``call`` taken and out of line (``lock`` held); False if a thread
        already took it."""
        if call.taken:
            return False
        call.taken = True
        self.waiting.remove(call)  # the oldest, unless a caller took one
        return True

    def take(self, call: _Call) -> bool:
        """Take ``call`` to run it, unless a thread already took it; with a single
        worker, once no call runs.  The call stays at the head of ``waiting`` while
        the worker waits, so that no caller runs a later one before it."""
        with self.lock:
            if self.ended is not None:
                while self.busy and not call.taken:
                    self.ended.wait()
            if not self._claim_locked(call):
                return False
            if self.ended is not None:
                self.busy = True
            return True

    def drop(self, call: _Call) -> bool:
        """Take ``call`` not to run it (it is being cancelled), unless a thread took it."""
        with self.lock:
            return self._claim_locked(call)

    def run_next(self, future: Future[Any]) -> bool:
        """Run the call of ``future`` in this thread if no call runs and it is the
        next one in line (calls cancelled while queued, ahead of it, are taken and
        ended on the way); True if it ran it.  False for several workers.

        An interrupt (Ctrl-C: this is the caller's thread) at any point after the
        call was taken still lets the next call run, and a call it stopped before
        its end ends with the interrupt, as one inside its kernel would."""
        try:
            call = self._take_next(future)
            if call is None:
                return False
            call.run()
            return True
        finally:
            self._end_taken_here(future)

    def _take_next(self, future: Future[Any]) -> _Call | None:
        cancelled = []
        call = None
        me = threading.get_ident()
        with self.lock:
            waiting = self.waiting
            while waiting and waiting[0].future.cancelled():
                dropped = waiting.popleft()
                dropped.taken = True
                cancelled.append(dropped)
            if self.ended is not None and not self.busy and waiting and waiting[0].future is future:
                # Marked with no call in between, and before popleft(): an interrupt
                # lands only where a call returns, and _end_taken_here undoes this.
                call = waiting[0]
                call.taken = self.busy = True
                self.taken_by = me
                self.taken_here = call
                waiting.popleft()
            if self.held:
                self.held = [c for c in self.held if not c.taken]
        for dropped in cancelled:
            dropped.run()  # notifies the future's waiters, as a worker would
        return call

    def _end_taken_here(self, future: Future[Any]) -> None:
        """After :meth:`run_next`: let the next call run if this thread took the call
        of ``future``, and end that call if an interrupt stopped it before it did."""
        with self.lock:
            call = self.taken_here
            if call is None or call.future is not future or self.taken_by != threading.get_ident():
                return  # another thread asking about the same call runs it
            self.taken_here = None
            if self.waiting and self.waiting[0] is call:
                self.waiting.popleft()
            self._end_locked()
        if not future.done():
            call.fn, call.args, call.kwargs = None, (), {}
            future.set_exception(KeyboardInterrupt())

    def _end_locked(self) -> None:
        """The running call has ended (``lock`` held): the next one may run."""
        assert self.ended is not None
        self.busy = False
        self.ended_at = time.monotonic()
        self.ended.notify_all()  # the worker, and join()s waiting for a caller's call

    def run(self, call: _Call) -> None:
        """Run a call this thread took, then let the next one run."""
        try:
            call.run()
        finally:
            if self.ended is not None:
                with self.lock:
                    self._end_locked()


POLL_S = 0.02
"""How often a single worker that polls looks for held calls: a held call that
no thread runs starts on the worker within this."""

LINGER_S = 1.0
"""How long after a call ends a single worker keeps polling (waking POLL_S apart,
each time taking the GIL for a moment) before it waits until woken."""


def _work_loop(line: _Line) -> None:
    """A worker thread's life: run queued calls, and held ones that no thread ran,
    until the stop sentinel ``None``."""
    while True:
        try:
            call = line.queue.get(timeout=line.next_wait())
        except queue.Empty:
            call = line.take_held()
            if call is not None:
                line.run(call)
            del call  # hold no job between jobs
            continue
        if call is None:
            line.queue.put(None)  # the other workers stop too
            return
        if line.take(call):
            line.run(call)
        del call


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
        self._line = _Line(single_worker=max_workers == 1)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shutdown = False
        # An executor dropped without shutdown() lets its threads end once idle.
        weakref.finalize(self, self._line.queue.put, None)
        with _registry_lock:
            _executors.add(self)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Schedule ``fn(*args, **kwargs)``; a ``Future`` for its outcome."""
        return self._submit(fn, args, kwargs, hold=False)

    def submit_held(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """As :meth:`submit`, but on a single worker that polls (it ran a call in the
        last ``LINGER_S``) with nothing waiting or running, the worker is not woken
        for the call: it runs when a thread runs it with :meth:`run_here`, or on the
        worker once :meth:`release`, the next submit or :meth:`shutdown` hands it
        over, or at the worker's next poll (within ``POLL_S``).  For a call its
        caller will most likely wait for (a short job): on this project's virtual
        machine each wake-up of another thread cost the waker 10-25 us, and the
        woken worker then passes the GIL back and forth with the caller."""
        return self._submit(fn, args, kwargs, hold=True)

    def release(self) -> None:
        """Hand the held calls to the worker (wakes it if there are any)."""
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        """Put the held calls on the queue, oldest first (``self._lock`` held, so that no
        later call is put before them); those cancelled meanwhile are ended here, as a
        worker would end them, without waking it."""
        line = self._line
        with line.lock:
            held, line.held = line.held, []
            cancelled = [call for call in held if not call.taken and call.future.cancelled()]
            for call in cancelled:
                call.taken = True
                line.waiting.remove(call)
        for call in held:
            if call in cancelled:
                call.run()  # notifies the future's waiters
            else:
                line.queue.put(call)

    def _submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], hold: bool
    ) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            call = _Call(future, fn, args, kwargs)
            self._release_locked()  # calls held before this one run before it
            with self._line.lock:
                hold = hold and self._line.polling and self._line.idle_locked()
                self._line.waiting.append(call)
                if hold:
                    self._line.held.append(call)
            if not hold:
                self._line.queue.put(call)
            if len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=_work_loop,
                    args=(self._line,),
                    name=f"{self._prefix}-{len(self._threads)}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        return future

    def run_here(self, future: Future[Any]) -> bool:
        """Run the queued call of ``future`` in the calling thread, if no call runs
        and it is the next one in line; True if it ran it.

        For a caller that would otherwise wait for that call (``job.result()``
        on a short job): running it here spares the two thread hand-offs (the
        worker waking for it, the caller waking when it ends), and the calls
        still run one at a time, in order (a worker that dequeues the next one
        meanwhile waits for it).  A single-worker executor only; any other
        returns False.
        """
        return self._line.run_next(future)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; with ``cancel_futures`` drop the queued calls; with
        ``wait`` return once the running calls have ended."""
        dropped = []
        with self._lock:
            self._shutdown = True
            self._release_locked()  # held calls run, or are dropped with the others
            if cancel_futures:
                while True:
                    try:
                        call = self._line.queue.get_nowait()
                    except queue.Empty:
                        break
                    if call is not None and self._line.drop(call):
                        dropped.append(call.future)
            self._line.queue.put(None)
        for future in dropped:  # outside the lock: cancel() runs the futures' callbacks
            future.cancel()
        if wait:
            self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the worker threads have stopped (after :meth:`shutdown`) and
        no other thread runs one of the calls (:meth:`run_here`); True when so,
        False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        current = threading.current_thread()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is current:
                continue
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
        if any(t.is_alive() for t in threads if t is not current):
            return False
        line = self._line
        if line.ended is None:
            return True
        with line.lock:
            while line.taken_here is not None and line.taken_by != threading.get_ident():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                line.ended.wait(left)
        return True


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
