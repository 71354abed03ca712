"""The job state machine, with work that the tests control step by step.

Work here is plain Python gated by ``threading.Event``s, so every state can
be held as long as a test needs it and no test waits on a timer.  Jobs that
run real circuits through the kernel are in ``test_backend.py``.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import pytest
import svsim
from svsim import _core
from svsim.job import JOB_FINAL_STATES, BasicProviderJob, JobControl, JobStatus

WAIT = 10.0  # seconds: a bound on waits that should end at once, so a bug fails, never hangs


class FakeBackend:
    """What a job needs from a backend: an executor."""

    def __init__(self, workers: int = 1) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


_ALL_WORK: list[GatedWork] = []


@pytest.fixture(autouse=True)
def release_all_work():
    """Let every gated work of a test finish at its end, so that a failing test
    leaves no worker thread blocked behind it."""
    yield
    for work in _ALL_WORK:
        work.release.set()
    _ALL_WORK.clear()


@pytest.fixture
def backend(release_all_work):
    b = FakeBackend()
    yield b
    for work in _ALL_WORK:
        work.release.set()
    b.close()


def spawn(fn, *args) -> threading.Thread:
    """Start ``fn`` on a daemon thread (one stuck by a bug cannot hold up pytest's exit)."""
    thread = threading.Thread(target=fn, args=args, daemon=True)
    thread.start()
    return thread


def call_with_timeout(fn):
    """``fn()`` on another thread, failing the test if it does not return in time."""
    out = []
    spawn(lambda: out.append(fn())).join(WAIT)
    assert out, f"{fn} did not return within {WAIT} s"
    return out[0]


class GatedWork:
    """Work that signals when it starts and finishes only when the test says so."""

    def __init__(self, control: JobControl | None = None, outcome: object = "result") -> None:
        self.control = control
        self.outcome = outcome
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.thread: threading.Thread | None = None
        _ALL_WORK.append(self)

    def __call__(self) -> object:
        self.calls += 1
        self.thread = threading.current_thread()
        run_control = self.control.start(0) if self.control is not None else None
        self.started.set()
        while not self.release.wait(0.001):
            if run_control is not None and run_control.cancel_requested:
                raise _core.Cancelled("stopped between operations")
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def start_job(backend, work, control=None, job_id="job-1"):
    job = BasicProviderJob(backend, job_id, work, control=control)
    job.submit()
    assert work.started.wait(WAIT)
    return job


def blocker(backend):
    """Occupy the backend's single worker so the next job stays QUEUED."""
    work = GatedWork()
    job = start_job(backend, work, job_id="blocker")
    return job, work


# ---------------------------------------------------------------- plain members


def test_status_enum_matches_qiskit():
    assert [s.name for s in JobStatus] == [
        "INITIALIZING",
        "QUEUED",
        "VALIDATING",
        "RUNNING",
        "CANCELLED",
        "DONE",
        "ERROR",
    ]
    assert JobStatus.DONE.value == "job has successfully run"
    assert JobStatus.ERROR.value == "job incurred error"
    assert set(JOB_FINAL_STATES) == {JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR}
    assert svsim.JobStatus is JobStatus and svsim.JOB_FINAL_STATES is JOB_FINAL_STATES


def test_finished_result_makes_a_done_job(backend):
    result = svsim.Result("svsim", "0", "j", True, [])
    job = BasicProviderJob(backend, "j", result)
    assert job.version == 1
    assert job.backend() is backend and job.job_id() == "j"
    assert job.status() is JobStatus.DONE
    assert job.done() and job.in_final_state() and not job.running() and not job.cancelled()
    assert job.result() is result and job.result(timeout=0) is result
    assert job.progress() == 1.0
    job.submit()  # harmless, as in Qiskit
    with pytest.raises(svsim.JobError, match="already submitted"):
        job.submit()
    assert job.cancel() is False
    assert job.status() is JobStatus.DONE


def test_life_of_a_job_queued_running_done(backend):
    _, first = blocker(backend)
    work = GatedWork(outcome="the result")
    job = BasicProviderJob(backend, "job-2", work)
    assert job.status() is JobStatus.INITIALIZING
    assert job.progress() == 0.0
    job.submit()
    assert job.status() is JobStatus.QUEUED
    assert not job.running() and not job.in_final_state()
    first.release.set()
    assert work.started.wait(WAIT)
    assert job.status() is JobStatus.RUNNING and job.running()
    assert not job.done() and not job.in_final_state()
    work.release.set()
    assert job.result(timeout=WAIT) == "the result"
    assert job.status() is JobStatus.DONE and job.done() and job.in_final_state()
    assert job.progress() == 1.0
    assert work.calls == 1


def test_second_submit_raises(backend):
    work = GatedWork()
    job = start_job(backend, work)
    with pytest.raises(svsim.JobError, match="already submitted"):
        job.submit()
    work.release.set()
    job.result(timeout=WAIT)
    with pytest.raises(svsim.JobError):
        job.submit()
    assert work.calls == 1


def test_unsubmitted_job_cannot_be_waited_for(backend):
    job = BasicProviderJob(backend, "never", GatedWork())
    with pytest.raises(svsim.JobError, match="never submitted"):
        job.result(timeout=WAIT)
    with pytest.raises(svsim.JobError, match="never submitted"):
        job.wait_for_final_state(timeout=WAIT)
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(svsim.JobError, match="CANCELLED"):
        job.submit()


def test_job_without_executor_uses_a_worker_thread():
    work = GatedWork()
    job = BasicProviderJob(object(), "no-executor", work)
    job.submit()
    assert work.started.wait(WAIT)
    assert work.thread is not threading.current_thread()
    work.release.set()
    assert job.result(timeout=WAIT) == "result"


# ---------------------------------------------------------------- errors


def test_failing_work_ends_in_error_chained_to_the_cause(backend):
    cause = ValueError("the kernel said no")
    work = GatedWork(outcome=cause)
    job = start_job(backend, work)
    work.release.set()
    with pytest.raises(svsim.JobError, match="the kernel said no") as info:
        job.result(timeout=WAIT)
    assert info.value.__cause__ is cause
    assert job.status() is JobStatus.ERROR and job.in_final_state() and not job.done()
    assert job.cancel() is False
    assert job.status() is JobStatus.ERROR
    # the backend's worker is free for the next job
    nxt = GatedWork()
    job2 = start_job(backend, nxt, job_id="next")
    nxt.release.set()
    assert job2.result(timeout=WAIT) == "result"


def test_executor_that_refuses_the_job():
    executor = ThreadPoolExecutor(max_workers=1)
    executor.shutdown()
    job = BasicProviderJob(None, "refused", GatedWork(), executor=executor)
    with pytest.raises(svsim.JobError, match="refused") as info:
        job.submit()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert job.status() is JobStatus.ERROR


def test_executor_shut_down_with_queued_job_cancels_it(backend):
    _, first = blocker(backend)
    work = GatedWork()
    job = BasicProviderJob(backend, "queued", work)
    job.submit()
    spawn(lambda: backend.executor.shutdown(cancel_futures=True))
    job.wait_for_final_state(timeout=WAIT, wait=0.01)
    assert job.status() is JobStatus.CANCELLED
    first.release.set()
    assert work.calls == 0


# ---------------------------------------------------------------- cancel


def test_cancel_queued_job_never_starts(backend):
    first_job, first = blocker(backend)
    work = GatedWork()
    job = BasicProviderJob(backend, "queued", work)
    job.submit()
    assert job.status() is JobStatus.QUEUED
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED and job.cancelled() and job.in_final_state()
    assert job.cancel() is False  # already final
    first.release.set()
    assert first_job.result(timeout=WAIT) == "result"
    # a job submitted after it runs, so the worker has passed the cancelled one
    later = GatedWork()
    later_job = start_job(backend, later, job_id="later")
    later.release.set()
    later_job.result(timeout=WAIT)
    assert work.calls == 0
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(svsim.JobError, match="cancelled"):
        job.result(timeout=WAIT)


class LateExecutor(Executor):
    """Takes work at once (its futures can no longer be cancelled, as with a
    remote scheduler) but runs it only when the test calls ``go``."""

    def __init__(self) -> None:
        self.pending: list[tuple[Future, object]] = []

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        future.set_running_or_notify_cancel()
        self.pending.append((future, fn))
        return future

    def go(self) -> None:
        for future, fn in self.pending:
            future.set_result(fn())


def test_cancelled_job_that_reaches_a_worker_anyway_does_not_run():
    executor = LateExecutor()
    work = GatedWork()
    work.release.set()
    job = BasicProviderJob(None, "late", work, executor=executor)
    job.submit()
    assert job.status() is JobStatus.QUEUED
    assert job.cancel() is True
    executor.go()  # the executor could not take it back: the job itself refuses
    assert work.calls == 0
    assert job.status() is JobStatus.CANCELLED


def test_cancel_running_job_stops_it_and_returns_true(backend):
    control = JobControl()
    work = GatedWork(control)
    job = start_job(backend, work, control)
    assert job.running()
    assert call_with_timeout(job.cancel) is True
    # cancel() waited for the work to stop: the job is final on return
    assert job.status() is JobStatus.CANCELLED
    assert job.cancel() is False
    with pytest.raises(svsim.JobError, match="cancelled"):
        job.result()
    assert not work.release.is_set()  # it stopped by itself, through the control


def test_cancel_running_job_without_control_is_refused(backend):
    work = GatedWork()
    job = start_job(backend, work)
    assert job.cancel() is False
    assert job.running()
    work.release.set()
    assert job.result(timeout=WAIT) == "result"


def test_cancel_wins_over_a_result_that_arrives_meanwhile(backend):
    """Work that ignores the flag and returns anyway: once cancel() was accepted
    while running, the job ends CANCELLED and the late result is dropped."""
    control = JobControl()
    work = GatedWork()  # does not look at the control
    job = start_job(backend, work, control)
    canceller = spawn(job.cancel)
    deadline = time.monotonic() + WAIT
    while not control.cancel_requested and time.monotonic() < deadline:
        time.sleep(0.001)
    work.release.set()
    canceller.join(WAIT)
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(svsim.JobError):
        job.result()


def test_cancel_after_done_returns_false(backend):
    work = GatedWork()
    job = start_job(backend, work)
    work.release.set()
    job.result(timeout=WAIT)
    assert job.cancel() is False
    assert job.done()


def test_job_control_between_experiments():
    control = JobControl([1, 3])
    assert control.progress() == 0.0
    first = control.start(0)
    assert isinstance(first, _core.RunControl)
    control.finish(0)
    assert control.progress() == pytest.approx(0.25)
    control.cancel()
    assert control.cancel_requested
    with pytest.raises(_core.Cancelled):
        control.start(1)


def test_job_control_cancel_reaches_the_running_kernel_control():
    control = JobControl()
    run_control = control.start(0)
    assert not run_control.cancel_requested
    control.cancel()
    assert run_control.cancel_requested


# ---------------------------------------------------------------- waiting


def test_result_timeout_then_result(backend):
    work = GatedWork()
    job = start_job(backend, work)
    start = time.monotonic()
    with pytest.raises(svsim.JobTimeoutError):
        job.result(timeout=0.01)
    assert time.monotonic() - start < 2.0
    assert isinstance(svsim.JobTimeoutError("x"), svsim.JobError)
    assert job.running()  # a timeout does not touch the job
    work.release.set()
    assert job.result() == "result"


def test_wait_for_final_state_calls_back_with_qiskits_arguments(backend):
    work = GatedWork()
    job = start_job(backend, work)
    calls = []

    def callback(job_id, status, the_job):
        calls.append((job_id, status, the_job))
        if len(calls) == 3:
            work.release.set()

    job.wait_for_final_state(timeout=WAIT, wait=0.001, callback=callback)
    assert job.done()
    assert len(calls) >= 3
    assert all(c == ("job-1", JobStatus.RUNNING, job) for c in calls)


def test_wait_for_final_state_timeout(backend):
    work = GatedWork()
    job = start_job(backend, work)
    polls = []
    start = time.monotonic()
    with pytest.raises(svsim.JobTimeoutError):
        job.wait_for_final_state(timeout=0.05, wait=0.02, callback=lambda *a: polls.append(a))
    elapsed = time.monotonic() - start
    assert 0.05 <= elapsed < 2.0
    assert 2 <= len(polls) <= 4  # polls at about 0, 0.02, 0.04 s
    work.release.set()
    job.wait_for_final_state(timeout=WAIT, wait=5)  # wakes when the job ends, not after 5 s
    assert time.monotonic() - start < 4.0
    assert job.done()


def test_wait_for_final_state_on_final_job_returns_without_callback(backend):
    job = BasicProviderJob(backend, "done", svsim.Result("svsim", "0", "done", True, []))
    job.wait_for_final_state(timeout=0, callback=lambda *a: pytest.fail("called back"))


# ---------------------------------------------------------------- threads


class CountingControl(JobControl):
    """A control that lets the work finish once ``n`` cancel requests reached it,
    so that all of them are made while the job is still running."""

    def __init__(self, n: int, release: threading.Event) -> None:
        super().__init__()
        self.n = n
        self.release = release
        self.requests = 0

    def cancel(self) -> None:
        super().cancel()
        self.requests += 1  # called under the job's lock: no race on the count
        if self.requests == self.n:
            self.release.set()


def test_many_threads_watch_and_cancel_a_running_job(backend):
    """Status, progress and the predicates answer at once from any thread while
    the job runs, each thread sees the states in order, and every cancel()
    made while it runs reports that it ends CANCELLED."""
    first_job, first = blocker(backend)
    work = GatedWork()  # finishes when the fourth cancel request arrives
    control = CountingControl(4, work.release)
    job = BasicProviderJob(backend, "watched", work, control=control)
    job.submit()
    order = [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLED]
    seen: list[list[JobStatus]] = [[] for _ in range(6)]
    slowest = [0.0] * 6

    def watch(i):
        while True:
            t = time.monotonic()
            status = job.status()
            job.progress(), job.running(), job.done(), job.cancelled(), job.in_final_state()
            slowest[i] = max(slowest[i], time.monotonic() - t)
            if not seen[i] or seen[i][-1] is not status:
                seen[i].append(status)
            if status in JOB_FINAL_STATES:
                return

    watchers = [spawn(watch, i) for i in range(6)]
    first.release.set()
    assert work.started.wait(WAIT)
    answers = []
    cancellers = [spawn(lambda: answers.append(job.cancel())) for _ in range(4)]
    for c in cancellers + watchers:
        c.join(WAIT)
    assert answers == [True] * 4
    assert job.status() is JobStatus.CANCELLED
    assert job.cancel() is False
    first_job.result(timeout=WAIT)
    for statuses in seen:
        assert statuses[-1] is JobStatus.CANCELLED
        assert statuses == sorted(statuses, key=order.index)  # never backwards
    assert max(slowest) < 1.0


def test_many_threads_wait_for_the_same_result(backend):
    work = GatedWork(outcome=object())
    job = start_job(backend, work)
    got = []
    threads = [spawn(lambda: got.append(job.result(timeout=WAIT))) for _ in range(8)]
    work.release.set()
    for t in threads:
        t.join(WAIT)
    assert len(got) == 8 and all(g is work.outcome for g in got)


def test_racing_cancel_and_finish_end_in_one_final_state(backend):
    """Cancel a queued job at the moment the worker reaches it, many times: each
    job ends in exactly one final state, and a job reported cancelled never ran."""
    for i in range(50):
        work = GatedWork()
        work.release.set()
        job = BasicProviderJob(backend, f"race-{i}", work)
        job.submit()
        cancelled = job.cancel()
        job.wait_for_final_state(timeout=WAIT, wait=0.001)
        status = job.status()
        assert status in JOB_FINAL_STATES
        if cancelled:
            assert status is JobStatus.CANCELLED and work.calls == 0
        else:
            assert status is JobStatus.DONE and work.calls == 1
