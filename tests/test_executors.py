"""Jobs on executors that run their work elsewhere: process pools and Dask.

A thread pool runs a job's own ``_execute`` (a bound method, with the cancel
flag and progress of this process).  Any other executor gets the job's
picklable form, ``run_job(spec)``: a module-level function over plain data.
These tests check that everything in it pickles, that a process pool and a
Dask client give the same results as the default thread, how cancel works
through the future, and that the memory check counts the result's trip back.
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
import sys
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import svsim
from circuits import chain, rich_circuit, same_results
from svsim import BasicSimulator, JobStatus
from svsim.backend import JobSpec, run_job
from svsim.job import BasicProviderJob, DaemonThreadExecutor, runs_in_process
from worker_state import wait_idle_and_polling

WAIT = 60.0


def ghz(n: int = 10) -> svsim.Circuit:
    qc = svsim.Circuit(n, name=f"ghz{n}").h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc.measure_all()


class InlineExecutor(Executor):
    """Runs each call at once in ``submit``: not a thread pool, so it counts as
    remote and gets the picklable task (which it pickles, to be sure)."""

    def __init__(self, pickle_calls: bool = True) -> None:
        self.calls = 0
        self.pickle_calls = pickle_calls

    def submit(self, fn, /, *args, **kwargs):
        self.calls += 1
        if self.pickle_calls:
            fn, args = pickle.loads(pickle.dumps((fn, args)))
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the future
            future.set_exception(exc)
        return future


class Failing:
    """Work whose remote form fails: ``math.sqrt(-1.0)`` in the worker."""

    def __call__(self):  # pragma: no cover - the remote form runs instead
        raise AssertionError("the in-process form must not run")

    def as_task(self):
        return math.sqrt, (-1.0,)


# ---------------------------------------------------------------- what pickles


def test_circuits_pickle_whole():
    qc = rich_circuit()
    copy = pickle.loads(pickle.dumps(qc))
    assert copy.name == qc.name and copy.cregs == qc.cregs
    assert copy.num_qubits == qc.num_qubits and copy.num_clbits == qc.num_clbits
    assert copy.global_phase == qc.global_phase and copy.save_labels == qc.save_labels
    assert copy.data == qc.data
    a, b = qc.encode(), copy.encode()
    for field in ("ops", "qubits", "values"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    copy.x(0)  # an independent circuit
    assert len(copy.data) == len(qc.data) + 1


def test_job_task_is_a_module_function_over_plain_data():
    # The executor's one worker is held, so the job stays queued and keeps its
    # work (a finished job drops it) until the task has been read.
    gate = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)
    pool.submit(gate.wait)
    backend = BasicSimulator(executor=pool)
    job = backend.run([rich_circuit(), ghz()], shots=50, memory=True, seed_simulator=4)
    fn, args = job._work.as_task()
    gate.set()
    assert fn is run_job and isinstance(args[0], JobSpec)
    fn2, args2 = pickle.loads(pickle.dumps((fn, args)))
    assert fn2 is run_job
    same_results(fn2(*args2), job.result(WAIT))
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        pickle.dumps(job._execute)  # what used to be submitted
    pool.shutdown()


def test_results_pickle():
    result = BasicSimulator().run([rich_circuit(), ghz()], shots=20, memory=True).result(WAIT)
    copy = pickle.loads(pickle.dumps(result))
    assert copy == result
    same_results(copy, result)


def test_thread_pools_run_in_process_other_executors_do_not():
    assert runs_in_process(ThreadPoolExecutor(max_workers=1))
    assert runs_in_process(DaemonThreadExecutor())
    assert runs_in_process(BasicSimulator().executor)
    assert not runs_in_process(InlineExecutor())
    assert not runs_in_process(ProcessPoolExecutor(max_workers=1))


def busy_executor() -> tuple[DaemonThreadExecutor, Future, threading.Event]:
    """A one-worker executor whose worker runs a call that waits for the event."""
    executor = DaemonThreadExecutor()
    started, release = threading.Event(), threading.Event()
    gate = executor.submit(lambda: (started.set(), release.wait(WAIT)))
    assert started.wait(WAIT)
    return executor, gate, release


@pytest.fixture
def gil_held():
    """A thread that wakes for a call cannot take the GIL from this one for a second:
    what run_here's caller holds between submit() and run_here() is certain to be first."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    yield
    sys.setswitchinterval(interval)


def started_and_idle(executor: DaemonThreadExecutor) -> DaemonThreadExecutor:
    """The executor once its worker has run a call, let go of it and polls again."""
    executor.submit(int).result(WAIT)
    wait_idle_and_polling(executor, WAIT)
    return executor


def test_run_here_runs_the_next_call_in_the_caller_when_none_runs(gil_held):
    executor = started_and_idle(DaemonThreadExecutor())
    ran: list[int] = []
    mine = executor.submit(lambda: ran.append(threading.get_ident()) or "mine")
    after = executor.submit(lambda: ran.append(threading.get_ident()) or "after")
    assert executor.run_here(mine) and mine.result(0) == "mine"
    assert ran[0] == threading.get_ident()
    assert not executor.run_here(mine)  # taken: never run twice
    assert after.result(WAIT) == "after" and ran[1] != threading.get_ident()  # the worker's
    executor.shutdown()


def test_run_here_leaves_a_call_to_the_worker_while_another_runs_or_is_ahead():
    executor, gate, release = busy_executor()
    order: list[str] = []
    first = executor.submit(order.append, "first")
    second = executor.submit(order.append, "second")
    assert not executor.run_here(first)  # the gate runs
    assert not executor.run_here(second)  # and the first is ahead of it
    release.set()
    second.result(WAIT)
    assert gate.done() and first.done() and order == ["first", "second"]
    executor.shutdown()


def test_run_here_ends_calls_cancelled_ahead_of_it_as_a_worker_would(gil_held):
    from concurrent.futures import wait

    executor = started_and_idle(DaemonThreadExecutor())
    cancelled = executor.submit(time.sleep, 0)
    mine = executor.submit(lambda: "mine")
    assert cancelled.cancel()
    assert executor.run_here(mine) and mine.result(0) == "mine"
    assert wait([cancelled], timeout=0).done == {cancelled}  # its waiters were told
    executor.shutdown()


def test_run_here_from_a_second_thread_leaves_the_first_ones_run_alone(slow_polls):
    executor = started_and_idle(DaemonThreadExecutor())
    started, release = threading.Event(), threading.Event()
    mine = executor.submit_held(lambda: (started.set(), release.wait(WAIT), "mine")[2])
    first = threading.Thread(target=executor.run_here, args=(mine,))
    first.start()
    assert started.wait(WAIT)
    assert not executor.run_here(mine)  # taken by the first thread, which runs it
    assert executor._line.busy and not mine.done()
    release.set()
    first.join(WAIT)
    assert mine.result(0) == "mine"
    executor.shutdown()


def test_join_waits_for_a_call_another_thread_runs(slow_polls):
    """The exit hook and close() join the executor: a held call that a caller's
    thread runs must end before join() says the executor is done."""
    executor = started_and_idle(DaemonThreadExecutor())
    started, release = threading.Event(), threading.Event()
    held = executor.submit_held(lambda: (started.set(), release.wait(WAIT)))
    caller = threading.Thread(target=executor.run_here, args=(held,), daemon=True)
    caller.start()
    assert started.wait(WAIT)
    executor.shutdown(wait=False)
    assert not executor.join(timeout=0.1)  # the worker has stopped; the caller's call runs
    release.set()
    assert executor.join(timeout=WAIT) and held.done()
    caller.join(WAIT)


def test_run_here_never_runs_a_call_ahead_of_one_the_worker_waits_to_run(slow_polls):
    executor = started_and_idle(DaemonThreadExecutor())
    order: list[str] = []
    later: list[Future] = []

    def first() -> None:
        # While this runs in the caller, two more come in; the worker dequeues the
        # second and waits for this one to end.
        later.append(executor.submit(order.append, "second"))
        later.append(executor.submit(order.append, "third"))
        time.sleep(0.1)
        order.append("first")

    held = executor.submit_held(first)
    assert executor.run_here(held)
    assert not executor.run_here(later[1])  # "second" is still ahead of it
    later[1].result(WAIT)
    assert order == ["first", "second", "third"]
    executor.shutdown()


def test_held_call_waits_for_run_here_release_or_the_next_call(slow_polls):
    executor = started_and_idle(DaemonThreadExecutor())
    ran: list[str] = []
    held = executor.submit_held(ran.append, "held")
    time.sleep(0.05)
    assert ran == [] and not held.done() and executor._line.queue.empty()
    executor.release()  # to the worker
    held.result(WAIT)
    started_and_idle(executor)
    first = executor.submit_held(ran.append, "first")
    second = executor.submit(ran.append, "second")  # the held one goes first
    second.result(WAIT)
    assert first.done() and ran == ["held", "first", "second"]
    started_and_idle(executor)
    mine = executor.submit_held(lambda: threading.get_ident())
    assert executor.run_here(mine) and mine.result(0) == threading.get_ident()
    assert not executor._line.held
    executor.shutdown()


def test_held_call_is_queued_at_once_while_another_runs_and_ends_at_shutdown(slow_polls):
    executor, gate, release = busy_executor()
    behind = executor.submit_held(lambda: "behind")
    assert not executor._line.held  # the worker is awake anyway
    release.set()
    assert behind.result(WAIT) == "behind"
    started_and_idle(executor)
    kept = executor.submit_held(lambda: "kept")
    executor.shutdown(wait=True)  # runs what is held
    assert kept.result(0) == "kept"
    other = started_and_idle(DaemonThreadExecutor())
    dropped = other.submit_held(lambda: "dropped")
    other.shutdown(wait=True, cancel_futures=True)
    assert dropped.cancelled()


def test_held_call_nobody_runs_starts_at_the_workers_next_poll():
    executor = started_and_idle(DaemonThreadExecutor())
    held = executor.submit_held(threading.get_ident)
    assert executor._line.held or held.done()  # held, unless a poll took it already
    assert held.result(WAIT) != threading.get_ident()  # the worker ran it
    executor.shutdown()


def test_worker_stops_polling_after_a_while_and_then_is_woken(monkeypatch):
    from svsim import executors

    monkeypatch.setattr(executors, "LINGER_S", 0.05)
    executor = started_and_idle(DaemonThreadExecutor())
    deadline = time.monotonic() + WAIT
    while executor._line.polling and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not executor._line.polling
    woken = executor.submit_held(lambda: "woken")  # not held: the worker waits for a wake-up
    assert not executor._line.held
    assert woken.result(WAIT) == "woken"
    executor.shutdown()


def test_run_here_is_for_a_single_worker_only():
    executor = DaemonThreadExecutor(max_workers=2)
    future = executor.submit(time.sleep, 0)
    assert not executor.run_here(future)
    assert future.result(WAIT) is None
    executor.shutdown()


def test_any_executor_that_is_not_a_thread_pool_gets_the_task():
    inline = InlineExecutor()
    backend = BasicSimulator(executor=inline)
    job = backend.run(ghz(), shots=100, seed_simulator=9)
    assert job.done() and job._remote and inline.calls == 1
    local = BasicSimulator().run(ghz(), shots=100, seed_simulator=9).result(WAIT)
    same_results(job.result(0), local)
    assert job.progress() == 1.0 and job.cancel() is False


def test_work_without_a_task_still_runs_on_any_executor():
    """Plain callables (no ``as_task``) keep being submitted as the job's own
    method, whatever the executor: the job layer stays general."""
    job = BasicProviderJob(None, "plain", lambda: "done", executor=InlineExecutor(False))
    job.submit()
    assert job.result(WAIT) == "done" and not job._remote


def test_remote_failure_ends_the_job_in_error_chained_to_the_cause():
    job = BasicProviderJob(None, "failing", Failing(), executor=InlineExecutor())
    job.submit()
    with pytest.raises(svsim.JobError, match="math domain error") as info:
        job.result(WAIT)
    assert isinstance(info.value.__cause__, ValueError)
    assert job.status() is JobStatus.ERROR


def test_remote_jobs_count_the_result_coming_back():
    """A 20-qubit state is 16 MiB; its result comes back serialised from a remote
    executor, which holds a second copy while it is read: 24 MiB is enough in a
    thread, not remotely."""
    qc = svsim.Circuit(20, name="wide").h(0)
    BasicSimulator(max_memory_mb=24).run(qc, shots=1).result(WAIT)
    with pytest.raises(svsim.SimulatorError, match="twice: the result comes back serialised"):
        BasicSimulator(max_memory_mb=24, executor=InlineExecutor()).run(qc, shots=1)
    BasicSimulator(max_memory_mb=33, executor=InlineExecutor()).run(qc, shots=1).result(WAIT)


# ---------------------------------------------------------------- a process pool


@pytest.fixture(scope="module")
def pool():
    # spawn: a fresh interpreter per worker, as on macOS and Windows (and safe
    # with the OpenMP runtime, which fork can leave in a bad state).
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def test_process_pool_gives_the_same_results_as_the_thread(pool):
    remote = BasicSimulator(executor=pool)
    local = BasicSimulator()
    circuits = [rich_circuit(), ghz(12)]
    for kwargs in (
        {"shots": 200, "seed_simulator": 11, "memory": True},
        {"shots": 3, "seed_simulator": 12, "precision": "single"},
    ):
        job = remote.run(circuits, **kwargs)
        result = job.result(WAIT)
        assert job.status() is JobStatus.DONE and job.progress() == 1.0
        same_results(result, local.run(circuits, **kwargs).result(WAIT))
    psi = np.zeros(1 << 10, dtype=complex)
    psi[5] = 1.0
    kwargs = {"shots": 7, "seed_simulator": 2, "initial_statevector": psi}
    same_results(
        remote.run(ghz(10), **kwargs).result(WAIT), local.run(ghz(10), **kwargs).result(WAIT)
    )


def test_process_pool_failure_and_timeout(pool):
    job = BasicProviderJob(None, "failing", Failing(), executor=pool)
    job.submit()
    with pytest.raises(svsim.JobError, match="math domain error") as info:
        job.result(WAIT)
    assert isinstance(info.value.__cause__, ValueError)
    assert job.status() is JobStatus.ERROR
    backend = BasicSimulator(executor=pool)
    slow = backend.run(chain(18, 3000), shots=1)
    with pytest.raises(svsim.JobTimeoutError):
        slow.result(timeout=0.01)
    assert slow.result(WAIT).get_statevector().shape == (1 << 18,)


def test_process_pool_cancel_queued_and_running(pool):
    """Queued: the future is cancelled and the call never starts.  Running: the job
    ends CANCELLED at once and its result is dropped; the worker finishes the
    call (best effort: a process pool cannot stop a running call)."""
    backend = BasicSimulator(executor=pool)
    running = backend.run(chain(20, 4000, name="running"), shots=1)
    # a pool of one worker keeps two more calls in its queue, beyond cancelling
    prefetched = [backend.run(ghz(), shots=5) for _ in range(2)]
    queued = backend.run(ghz(), shots=5)
    deadline = time.monotonic() + WAIT
    while not running.running():
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert queued.cancel() is True
    assert queued.status() is JobStatus.CANCELLED and queued._future.cancelled()
    start = time.monotonic()
    assert running.cancel() is True
    assert time.monotonic() - start < 1.0
    assert running.status() is JobStatus.CANCELLED
    with pytest.raises(svsim.JobError, match="cancelled"):
        running.result(0)
    # the pool goes on serving once the dropped call is done
    assert [sum(p.result(WAIT).get_counts().values()) for p in prefetched] == [5, 5]
    assert running.status() is JobStatus.CANCELLED  # the late result was dropped
    later = backend.run(ghz(), shots=6).result(WAIT)
    assert sum(later.get_counts().values()) == 6


# ---------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    client = distributed.Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    )
    yield client
    client.close()


def test_dask_client_gives_the_same_results_as_the_thread(dask_client):
    remote = BasicSimulator(executor=dask_client)
    local = BasicSimulator()
    circuits = [rich_circuit(), ghz(12)]
    job = remote.run(circuits, shots=100, seed_simulator=21, memory=True)
    assert job._remote
    result = job.result(WAIT)
    assert job.status() is JobStatus.DONE
    local_result = local.run(circuits, shots=100, seed_simulator=21, memory=True).result(WAIT)
    same_results(result, local_result, final_states=False)  # saved states only
    # equal jobs are separate tasks (pure=False): both run, neither is merged away
    twins = [remote.run(ghz(), shots=9, seed_simulator=1) for _ in range(2)]
    assert [t.result(WAIT).job_id for t in twins] == [t.job_id() for t in twins]


def test_dask_cancel(dask_client):
    backend = BasicSimulator(executor=dask_client)
    running = backend.run(chain(20, 4000, name="running"), shots=1)
    queued = backend.run(ghz(), shots=4)
    time.sleep(0.2)
    assert queued.cancel() is True and queued.status() is JobStatus.CANCELLED
    assert running.cancel() is True and running.status() is JobStatus.CANCELLED
    with pytest.raises(svsim.JobError, match="cancelled"):
        queued.result(0)
    assert sum(backend.run(ghz(), shots=3).result(WAIT).get_counts().values()) == 3


def test_dask_failure_ends_the_job_in_error(dask_client):
    job = BasicProviderJob(None, "failing", Failing(), executor=dask_client)
    job.submit()
    with pytest.raises(svsim.JobError, match="math domain error"):
        job.result(WAIT)
    assert job.status() is JobStatus.ERROR
