"""Jobs: one submitted piece of work and its life, with Qiskit's job API.

A :class:`BasicProviderJob` is a small state machine guarded by one lock::

    INITIALIZING --submit()--> QUEUED --worker takes it--> RUNNING --> DONE | ERROR | CANCELLED
         |                       |
         +--------cancel()-------+-----------------------------------> CANCELLED

No transition leaves a final state.  The lock is only ever held for a few
Python statements (never while the kernel runs), so ``status()`` and every
other method answer at once from any thread while a job runs (a short job
held for the thread that asks about it runs first, in that thread: see
docs/jobs.md).  Waiting (``result()``,
``wait_for_final_state()``, ``cancel()`` of a running job) blocks on a
condition variable that the worker signals when the job reaches its final
state.

Cancelling a running job needs the work's cooperation: the backend hands the
job a :class:`JobControl`, and the work asks it for one kernel
``RunControl`` per experiment.  ``cancel()`` raises the flag of the current
``RunControl``; the kernel sees it before its next operation, frees its state
and raises ``svsim._core.Cancelled``.

Where the work runs.  A thread pool (:class:`DaemonThreadExecutor`, the
default, or any ``concurrent.futures.ThreadPoolExecutor``) runs the job's own
``_execute`` in this process, with the cancel flag and progress above.  A
work with a ``submit_remote(executor)`` method may submit itself there as
several tasks and return one future-like object (with ``progress()`` and a
``cancel()`` that reaches the remote kernels): :class:`~svsim.work.JobWork`
does so on a Dask ``distributed.Client`` (:mod:`svsim.cluster`).  Any
other executor (a ``ProcessPoolExecutor``)
runs the work elsewhere, so it gets the work's picklable form instead: when
the work has an ``as_task()`` method, ``function(*args)`` of the
``(function, args)`` it returns, a module-level function over plain data
whose return value is the result.  Such a job is cancelled through its
future: a queued one never starts; a running one ends CANCELLED at once and
its result is dropped when it arrives, but the remote computation may run
to its end (best effort: the executor decides).

At interpreter exit, once the main thread and every other non-daemon thread
have finished (so a thread still waiting for a result gets it), the jobs still
queued or running are cancelled and the default executors' daemon worker
threads are joined: the process exits quickly and cleanly.  The executors,
the registry of jobs not yet final and that exit hook live in
:mod:`svsim.executors`; this module holds the job and its status.
"""

from __future__ import annotations

import enum
import functools
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import CancelledError, Executor, Future
from typing import TYPE_CHECKING, Any

from svsim import _core
from svsim import _qiskit_types as qt
from svsim.control import JobControl
from svsim.exceptions import JobError, JobTimeoutError
from svsim.executors import (
    DaemonThreadExecutor,
    _cancel_future,
    _fallback_executor,
    _outstanding,
    _registry_lock,
    _submit_task,
    outstanding_jobs,
    runs_in_process,
)

if TYPE_CHECKING:
    from svsim.result import Result

__all__ = [
    "JOB_FINAL_STATES",
    "BasicProviderJob",
    "DaemonThreadExecutor",
    "JobControl",
    "JobStatus",
    "outstanding_jobs",
    "runs_in_process",
]


class _JobStatus(enum.Enum):
    """The states of a job; the values are Qiskit's messages."""

    INITIALIZING = "job is being initialized"
    QUEUED = "job is queued"
    VALIDATING = "job is being validated"
    RUNNING = "job is actively running"
    CANCELLED = "job has been cancelled"
    DONE = "job has successfully run"
    ERROR = "job incurred error"


# With Qiskit installed a job's status is Qiskit's own JobStatus (same members,
# same values), so ``job.status() == qiskit.providers.JobStatus.DONE`` holds.
JobStatus: Any = qt.job_status_type or _JobStatus

JOB_FINAL_STATES = (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR)


def _outcome(work: Callable[[], Any]) -> tuple[JobStatus, Any]:
    """Run ``work``: (DONE, its result), (CANCELLED, None), or (ERROR, the exception).

    A failure's traceback starts in this frame, which the job's ``_finish``
    clears once this has returned; the frames above it stay reachable (through
    ``f_back``) as long as the error is kept, so none of them may hold the work
    (see ``BasicProviderJob._run``)."""
    try:
        return JobStatus.DONE, work()
    except _core.Cancelled:
        return JobStatus.CANCELLED, None
    except BaseException as exc:  # noqa: B036 - the job must end whatever happened
        return JobStatus.ERROR, exc


def _future_done(job_ref: weakref.ref[BasicProviderJob], future: Future[Any]) -> None:
    job = job_ref()
    if job is not None:
        job._future_done(future)


class BasicProviderJob(*qt.job_bases):  # type: ignore[misc]
    """A job on an svsim backend, with the members of Qiskit's ``BasicProviderJob``
    (with Qiskit installed it is a Qiskit ``JobV1``).

    ``result`` is either a finished :class:`~svsim.result.Result` (the job is
    DONE at once, as Qiskit's synchronous simulator makes them) or a
    zero-argument callable that computes one on the backend's executor once
    :meth:`submit` is called.  Give ``control`` (the :class:`JobControl` the
    callable uses) to make a running job cancellable; without it,
    :meth:`cancel` can only stop a job that has not started.  ``short`` says
    the work takes a few milliseconds at most: on a :class:`DaemonThreadExecutor`
    with nothing queued or running it is then held (the worker is not woken for
    it), and :meth:`result` (with no timeout) or :meth:`status` runs it in the
    calling thread if it is still queued next in line on an idle worker, rather
    than wait for the worker to wake for it and then wake the caller; waiting
    with a timeout, the next submit or the backend's close hand it to the worker.

    ``executor`` overrides where the work runs; by default it is the
    backend's ``executor`` attribute, or a shared single worker thread.  On an
    executor that is not a thread pool (see :func:`runs_in_process`) a work
    with an ``as_task()`` method runs as the ``(function, args)`` it returns:
    ``function(*args)`` must be picklable and return the result.  Such a job
    is QUEUED until its future says it runs (RUNNING, where the future can
    tell), its progress is 0.0 until it is DONE, and :meth:`cancel` works
    through the future (see the module's notes).
    """

    version = 1

    def __init__(
        self,
        backend: Any,
        job_id: str,
        result: Any,
        *,
        control: JobControl | None = None,
        executor: Executor | None = None,
        collective: bool = False,
        short: bool = False,
        **metadata: Any,
    ) -> None:
        self._backend = backend
        # Runs over MPI: every rank's job must run its work, a cancelled one too.
        self._collective = collective and control is not None
        self._short = short and not self._collective
        self._queued_on: DaemonThreadExecutor | None = None  # where status(), result() may run it
        self._job_id = job_id
        self._control = control
        self._executor = executor
        self.metadata = metadata
        # The lock guards the state; a condition on it is made for the first waiter
        # only (_waiting_locked): most jobs are final before anyone waits, and making
        # one was a tenth of a tiny job's own cost (issue 20).
        self._lock = threading.Lock()
        self._waiters: threading.Condition | None = None
        self._submitted = False
        self._future: Future[Any] | None = None
        self._worker: int | None = None  # thread id of the worker while RUNNING
        self._cancel_requested = False
        self._remote = False  # runs as a picklable task on an executor elsewhere
        self._error: BaseException | None = None
        if callable(result):
            self._work: Callable[[], Any] | None = result
            self._result: Result | None = None
            self._status = JobStatus.INITIALIZING
        else:
            self._work = None
            self._result = result
            self._status = JobStatus.DONE

    # ------------------------------------------------------------ plain members

    def backend(self) -> Any:
        """The backend that runs this job."""
        return self._backend

    def job_id(self) -> str:
        """The job's id, unique for its backend."""
        return self._job_id

    def status(self) -> JobStatus:
        """The job's state now.  It never waits for another job's kernel; a short job
        still queued, next in line on an idle worker, runs first, here (docs/jobs.md)."""
        if self._queued_on is not None:
            self._run_or_release()
        with self._lock:
            status = self._status
            future = self._future if self._remote and status is JobStatus.QUEUED else None
        if future is not None:
            # A remote job is RUNNING once its future says so (a process pool's
            # does when it hands the call to a worker; a Dask future cannot tell).
            running = getattr(future, "running", None)
            if callable(running) and running() is True:
                with self._lock:
                    if self._status is JobStatus.QUEUED:
                        self._status = JobStatus.RUNNING
                    status = self._status
        return status

    def done(self) -> bool:
        """True when the job has run successfully."""
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        """True while the job is running."""
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        """True when the job was cancelled."""
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        """True when the job is DONE, CANCELLED or ERROR."""
        return self.status() in JOB_FINAL_STATES

    def progress(self) -> float:
        """The fraction of the job's operations done, 0.0 to 1.0 (not in Qiskit)."""
        status = self.status()  # a remote job's status is read from its future
        if status is JobStatus.DONE:
            return 1.0
        if status in (JobStatus.INITIALIZING, JobStatus.QUEUED) or self._control is None:
            return 0.0
        if self._remote:  # the work's progress is elsewhere: its future may know it
            with self._lock:
                future = self._future
            progress = getattr(future, "progress", None)
            return float(progress()) if callable(progress) else 0.0
        return self._control.progress()

    def __repr__(self) -> str:
        return f"<BasicProviderJob {self._job_id!r} {self.status().name}>"

    # ------------------------------------------------------------ submission

    def submit(self) -> None:
        """Schedule the work on the backend's executor.

        Raises:
            JobError: if the job was already submitted, was cancelled before
                being submitted, or the executor refused it.
        """
        with self._lock:
            if self._submitted:
                raise JobError(f"job {self._job_id!r} was already submitted; a job runs once")
            self._submitted = True
            if self._status is JobStatus.DONE:  # built from a finished result
                return
            if self._status is not JobStatus.INITIALIZING:
                raise JobError(
                    f"job {self._job_id!r} is {self._status.name} and cannot be submitted"
                )
            self._status = JobStatus.QUEUED
            with _registry_lock:
                _outstanding[self] = None
            work = self._work
        executor = self._executor or getattr(self._backend, "executor", None)
        if executor is None:
            executor = _fallback_executor()
        as_task = getattr(work, "as_task", None)
        future: Any
        try:
            if runs_in_process(executor) or as_task is None:
                if self._short and isinstance(executor, DaemonThreadExecutor):
                    # Held: the worker is not woken for a job the caller will most
                    # likely run itself (docs/jobs.md, "Short jobs").
                    future = executor.submit_held(self._execute)
                    self._queued_on = executor
                else:
                    future = executor.submit(self._execute)
            else:
                with self._lock:
                    self._remote = True
                # The seam for split execution: a work may submit itself as several
                # tasks and hand back one future-like object (svsim.cluster).
                submit_remote = getattr(work, "submit_remote", None)
                future = submit_remote(executor) if submit_remote is not None else None
                if future is None:
                    fn, args = as_task()
                    future = _submit_task(executor, fn, args)
        except BaseException as exc:
            self._finish(JobStatus.ERROR, error=exc)
            raise JobError(f"the executor refused job {self._job_id!r}: {exc}") from exc
        with self._lock:
            self._future = future
            cancel_future = self._status is JobStatus.CANCELLED
        if cancel_future:
            _cancel_future(future)
        # A future keeps its done-callbacks after running them; a weak reference
        # keeps the future from holding the job (and its final states) in a
        # cycle that only the garbage collector would free.
        future.add_done_callback(functools.partial(_future_done, weakref.ref(self)))

    def run_here(self) -> None:
        """Run the work now, in the calling thread, instead of :meth:`submit`.

        For a tiny job (see docs/jobs.md): the job is RUNNING, then DONE,
        ERROR or CANCELLED, and final when this returns (it is never QUEUED:
        nothing waits before it); a failing work makes it ERROR, it does not
        raise here.

        Raises:
            JobError: if the job was already submitted or cancelled.
        """
        with self._lock:
            if self._submitted or self._status is not JobStatus.INITIALIZING:
                raise JobError(
                    f"job {self._job_id!r} is {self._status.name} and cannot run; a job runs once"
                )
            self._submitted = True
            self._status = JobStatus.RUNNING
            self._worker = threading.get_ident()
        self._run()

    def _execute(self) -> None:
        """Run the work in the executor's thread (a job that was queued)."""
        with self._lock:
            if self._status is not JobStatus.QUEUED:  # cancelled while queued
                return None
            self._status = JobStatus.RUNNING
            self._worker = threading.get_ident()
        self._run()
        return None

    def _run(self) -> None:
        """Run the work in this thread (the job is RUNNING) and record how it ended.

        The work is read here and dropped before ``_finish``, not handed down by
        the callers: a kept error keeps every frame above ``_outcome`` alive,
        and the work (circuits, an initial statevector) must not live on in
        one of them once the job is final."""
        with self._lock:
            work = self._work
        assert work is not None  # a RUNNING job keeps its work until _finish
        status, outcome = _outcome(work)
        del work
        if status is JobStatus.DONE:
            self._finish(status, result=outcome)
        elif isinstance(outcome, KeyboardInterrupt):
            # Only the main thread gets a Ctrl-C: a job running there (a tiny one in
            # run(), a short one in result()) ends CANCELLED, and the interrupt goes on.
            self._finish(JobStatus.CANCELLED)
            traceback.clear_frames(outcome.__traceback__)  # _outcome's holds the work
            raise outcome
        else:
            self._finish(status, error=outcome)
        return None

    def _finish(
        self, status: JobStatus, result: Any = None, error: BaseException | None = None
    ) -> None:
        """Move to a final state, once; a cancel asked for while running wins."""
        with self._lock:
            if self._status in JOB_FINAL_STATES:
                return
            if self._cancel_requested:
                status, result, error = JobStatus.CANCELLED, None, None
            if error is not None and error.__traceback__ is not None:
                # Keep the traceback's lines but not its frames' locals, which can
                # hold earlier experiments' statevectors.
                traceback.clear_frames(error.__traceback__)
            self._status = status
            self._result = result
            self._error = error
            self._worker = None
            self._ended_locked()

    def _ended_locked(self) -> None:
        """Bookkeeping of a job that has just become final (``self._lock`` held)."""
        self._work = None  # drop the circuits and any initial state
        if self._waiters is not None:
            self._waiters.notify_all()
        with _registry_lock:
            _outstanding.pop(self, None)

    def _future_done(self, future: Future[Any]) -> None:
        """End a job whose future finished without running it (a cancelled or failed
        submission, an executor shut down with ``cancel_futures=True``), or a remote
        job with what its future holds."""
        if self._remote:
            self._remote_done(future)
            return
        if future.cancelled():
            self._finish(JobStatus.CANCELLED)
            return
        error = future.exception()
        if isinstance(error, KeyboardInterrupt):  # a Ctrl-C where the caller ran it, as in _run
            self._finish(JobStatus.CANCELLED)
        elif error is not None:
            self._finish(JobStatus.ERROR, error=error)
        elif not self.in_final_state():
            self._finish(
                JobStatus.ERROR,
                error=JobError(f"the executor finished job {self._job_id!r} without running it"),
            )

    def _remote_done(self, future: Any) -> None:
        """A remote job's future has finished: its value is the job's result."""
        try:
            if future.cancelled():
                self._finish(JobStatus.CANCELLED)
                return
            value = future.result()
        except CancelledError:
            self._finish(JobStatus.CANCELLED)
        except BaseException as exc:  # noqa: B036 - the job must end whatever happened
            self._finish(JobStatus.ERROR, error=exc)
        else:
            self._finish(JobStatus.DONE, result=value)

    # ------------------------------------------------------------ cancel

    def cancel(self) -> bool:
        """Cancel the job: a queued one never starts, a running one stops between gates.

        Returns True if the job ends CANCELLED, False if it was already in a
        final state (or is running work that cannot be interrupted).  A
        running job is waited for until it has stopped, which takes at most
        one kernel operation, so its memory is free when this returns.

        A job running on a remote executor (a process pool, Dask) ends
        CANCELLED at once and its result is dropped; its future is cancelled,
        which keeps a queued call from starting, but a call already running
        elsewhere may go on to its end there.
        """
        with self._lock:
            if self._status in JOB_FINAL_STATES:
                return False
            if self._collective and self._status is JobStatus.QUEUED:
                # The work still runs when its turn comes, and stops every rank
                # at its first step: the other ranks' jobs end CANCELLED too.
                self._cancel_requested = True
                self._control.cancel()  # type: ignore[union-attr]
                return True
            if self._status in (JobStatus.INITIALIZING, JobStatus.QUEUED) or self._remote:
                future = self._end_cancelled_locked()
            else:  # RUNNING here
                if self._control is None:
                    return False
                self._cancel_requested = True
                self._control.cancel()
                if self._worker == threading.get_ident():  # called from inside the work
                    return True
                while self._status not in JOB_FINAL_STATES:
                    self._waiting_locked().wait()
                return self._status is JobStatus.CANCELLED
        if future is not None:
            _cancel_future(future)  # outside the lock: it runs the future's callbacks at once
        return True

    def _end_cancelled_locked(self) -> Any:
        """Make a job that does not run here CANCELLED now (``self._lock`` held);
        returns its future, for the caller to cancel outside the lock."""
        self._status = JobStatus.CANCELLED
        self._ended_locked()
        return self._future

    def _abandon(self) -> None:
        """Cancel without waiting (the exit hook): a running kernel is only told to stop."""
        future = None
        with self._lock:
            if self._status in JOB_FINAL_STATES:
                return
            if self._status in (JobStatus.INITIALIZING, JobStatus.QUEUED) or self._remote:
                future = self._end_cancelled_locked()
            elif self._control is not None:
                self._cancel_requested = True
                self._control.cancel()
        if future is not None:
            _cancel_future(future)

    # ------------------------------------------------------------ waiting

    def _waiting_locked(self) -> threading.Condition:
        """The condition that the job's end notifies, made on first use (``self._lock`` held)."""
        if self._waiters is None:
            self._waiters = threading.Condition(self._lock)
        return self._waiters

    def _run_or_release(self) -> None:
        """A short job still queued runs here if it is next in line and no job runs;
        otherwise the worker is handed it, in case it was held (``DaemonThreadExecutor
        .submit_held``)."""
        executor = self._queued_on
        assert executor is not None
        with self._lock:
            future = self._future if self._status is JobStatus.QUEUED else None
        if future is not None and not executor.run_here(future):
            executor.release()

    def _wait_final(self, timeout: float | None) -> bool:
        if self._queued_on is not None:  # a held job waited for runs on the worker
            self._queued_on.release()
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        with self._lock:
            while self._status not in JOB_FINAL_STATES:
                if self._status is JobStatus.INITIALIZING:
                    raise JobError(f"job {self._job_id!r} was never submitted; call submit()")
                if deadline is None:
                    self._waiting_locked().wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._waiting_locked().wait(left)
            return True

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the job and return its :class:`~svsim.result.Result`.

        Raises:
            JobTimeoutError: if the job is not final after ``timeout`` seconds
                (it keeps running; call ``result()`` again later).
            JobError: if the job was cancelled, or failed (chained to the
                cause), or was never submitted.
        """
        if timeout is None and self._queued_on is not None:
            # A short job still queued, next in line on an idle worker, runs here: the
            # worker's wake-up and this thread's would cost more than its kernel.
            self._run_or_release()
        with self._lock:
            status, result, error = self._status, self._result, self._error
        if status not in JOB_FINAL_STATES:  # a final job (a tiny one is) needs no wait
            if not self._wait_final(timeout):
                with self._lock:  # not status(), which could run a held job here
                    now = self._status
                raise JobTimeoutError(
                    f"job {self._job_id!r} is not finished after {timeout} s; it is {now.name}"
                )
            with self._lock:
                status, result, error = self._status, self._result, self._error
        if status is JobStatus.DONE:
            assert result is not None  # a DONE job has its result
            return result
        if status is JobStatus.CANCELLED:
            raise JobError(f"job {self._job_id!r} was cancelled; it has no result")
        raise JobError(f"job {self._job_id!r} failed: {error}") from error

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 5,
        callback: Callable[[str, JobStatus, BasicProviderJob], Any] | None = None,
    ) -> None:
        """Poll the job's status until it is final, as Qiskit's ``JobV1`` does.

        After each poll that finds the job not yet final, ``callback(job_id,
        status, job)`` is called, then the loop waits up to ``wait`` seconds
        (it wakes early when the job ends, so no time is lost).

        Raises:
            JobTimeoutError: if the job is not final after ``timeout`` seconds.
        """
        start = time.monotonic()
        status = self.status()
        if status is JobStatus.INITIALIZING:
            raise JobError(f"job {self._job_id!r} was never submitted; call submit()")
        while status not in JOB_FINAL_STATES:
            elapsed = time.monotonic() - start
            if timeout is not None and elapsed >= timeout:
                raise JobTimeoutError(
                    f"timeout while waiting for job {self._job_id!r} ({status.name} after "
                    f"{elapsed:.3g} s)"
                )
            if callback is not None:
                callback(self._job_id, status, self)
            pause = wait if timeout is None else min(wait, timeout - elapsed)
            with self._lock:
                if self._status not in JOB_FINAL_STATES and pause > 0:
                    self._waiting_locked().wait(pause)
            status = self.status()
