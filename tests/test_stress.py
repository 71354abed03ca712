"""The job layer under load: 1000 jobs from 16 threads, cancelled, polled and waited on.

Every circuit here has an outcome known in advance (a basis state, a GHZ
pair, a mid-circuit measurement that conditions a later gate), so each job
that finishes can be checked exactly.  The test keeps its own deadline: the
submitting threads are daemons joined against it, so a job that never ends
fails the test instead of hanging it.  At the end no job object may be left
alive and the process's resident memory must be back within 10% of where it
was before the jobs.
"""

from __future__ import annotations

import functools
import gc
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import svsim
from svsim import BasicSimulator, JobStatus

N_JOBS = 1000
N_THREADS = 16
N_BIG = 6  # long jobs, always cancelled (queued or running)
DEADLINE = 120.0  # seconds for the whole run; far more than it takes (a few seconds)
WAIT = 60.0  # bound on any one blocking call


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


# ---------------------------------------------------------------- circuits with known outcomes


def basis_circuit(n: int, value: int, rng: random.Random) -> svsim.Circuit:
    """Prepares |value>, hidden behind gate pairs that undo each other."""
    qc = svsim.Circuit(n, name=f"basis{n}-{value}")
    for q in range(n):
        if value >> q & 1:
            qc.x(q)
    for _ in range(2 * n):
        a, b = rng.sample(range(n), 2)
        theta = rng.uniform(-3, 3)
        qc.rx(theta, a).rx(-theta, a).cx(a, b).cx(a, b).rzz(theta, a, b).rzz(-theta, a, b)
    return qc.measure_all()


def ghz_circuit(n: int) -> svsim.Circuit:
    qc = svsim.Circuit(n, name=f"ghz{n}").h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc.measure_all()


def feedback_circuit(n: int, value: int) -> svsim.Circuit:
    """Measures qubit 0 mid-circuit and flips qubit 1 when it read 1: certain
    outcomes, so one branch, and one outcome."""
    qc = svsim.Circuit(n, 1, name=f"feedback{n}-{value}")
    for q in range(n):
        if value >> q & 1:
            qc.x(q)
    qc.measure(0, 0).x(1, condition=(0, 1))
    return qc.measure_all()


def feedback_key(n: int, value: int) -> str:
    final = value ^ (2 if value & 1 else 0)
    return f"{final:0{n}b} {value & 1}"


@functools.cache
def big_circuit(n: int = 20, gates: int = 24000) -> svsim.Circuit:
    """A job of about two seconds, made once: run() snapshots it for each job."""
    qc = svsim.Circuit(n, name="big")
    for k in range(gates // 2):
        qc.rx(0.1 + 0.001 * k, k % n).cx(k % n, (k + 1) % n)
    return qc


Checker = Callable[[svsim.Result], None]


@dataclass
class Planned:
    circuits: list[svsim.Circuit]
    shots: int
    memory: bool
    check: Checker
    big: bool = False


def plan_job(k: int, rng: random.Random) -> Planned:
    """Job ``k``: a mix of sizes 8..14 qubits, shot counts, one or more circuits."""
    n = rng.randint(8, 14)
    shots = rng.choice([1, 7, 64, 200])
    memory = rng.random() < 0.3
    kind = k % 4
    if kind == 0:
        value = rng.randrange(1 << n)
        key = format(value, f"0{n}b")

        def check(result: svsim.Result) -> None:
            assert result.get_counts() == {key: shots}
            state = result.get_statevector()
            assert abs(abs(state[value]) - 1.0) < 1e-9
            if memory:
                assert result.get_memory() == [key] * shots

        return Planned([basis_circuit(n, value, rng)], shots, memory, check)
    if kind == 1:
        zeros, ones = "0" * n, "1" * n

        def check(result: svsim.Result) -> None:
            counts = result.get_counts()
            assert set(counts) <= {zeros, ones} and sum(counts.values()) == shots
            state = result.get_statevector()
            assert abs(abs(state[0]) ** 2 - 0.5) < 1e-9
            assert abs(abs(state[-1]) ** 2 - 0.5) < 1e-9

        return Planned([ghz_circuit(n)], shots, memory, check)
    if kind == 2:
        value = rng.randrange(1 << n)
        key = feedback_key(n, value)
        shots = min(shots, 20)  # one branch (one trajectory per shot without branching)

        def check(result: svsim.Result) -> None:
            assert result.get_counts() == {key: shots}
            method = result.results[0].metadata["shot_method"]
            assert method == ("branching" if shots > 1 else "trajectory")  # 1 shot: 1 trajectory

        return Planned([feedback_circuit(n, value)], shots, memory, check)
    values = [rng.randrange(1 << n) for _ in range(3)]

    def check(result: svsim.Result) -> None:
        assert len(result.results) == 3
        for i, v in enumerate(values):
            assert result.get_counts(i) == {format(v, f"0{n}b"): shots}

    return Planned([basis_circuit(n, v, rng) for v in values], shots, memory, check)


# ---------------------------------------------------------------- the run

BATCH = 8  # jobs a thread submits at once before it acts on them
RECENT = 64  # jobs any thread may cancel (a window, so old results can be freed)


@dataclass
class Record:
    """What the test learns about one job; the job itself is dropped once checked,
    so results do not pile up (a user keeps the results they need, not all)."""

    planned: Planned
    job: svsim.BasicProviderJob | None = None
    status: JobStatus | None = None
    cancel_returned: list[tuple[bool, JobStatus]] = field(default_factory=list)


class Shared:
    """What the submitting threads share: records, a window of recent jobs, errors."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[int, Record] = {}
        self.recent: deque[Record] = deque(maxlen=RECENT)
        self.errors: list[BaseException] = []
        self.alive: weakref.WeakSet[svsim.BasicProviderJob] = weakref.WeakSet()


def act_on(job: svsim.BasicProviderJob, record: Record, rng: random.Random, shared: Shared) -> None:
    """Something random to a job, as a user's thread would do it."""
    planned = record.planned
    if planned.big:
        if rng.random() < 0.5:  # let it start, then stop it mid-run
            deadline = time.monotonic() + WAIT
            while job.status() is JobStatus.QUEUED and time.monotonic() < deadline:
                time.sleep(0.002)
        record.cancel_returned.append((job.cancel(), job.status()))
        return
    action = rng.random()
    if action < 0.35:
        try:
            result = job.result(timeout=WAIT)
        except svsim.JobError:
            assert job.cancelled()  # another thread cancelled it
        else:
            planned.check(result)
    elif action < 0.5:
        try:
            job.result(timeout=rng.choice([0.0, 0.0005, 0.002]))
        except svsim.JobTimeoutError:
            pass  # still queued or running: checked below
        except svsim.JobError:
            assert job.cancelled()
    elif action < 0.65:
        seen: list[tuple[str, JobStatus, float]] = []
        job.wait_for_final_state(
            timeout=WAIT,
            wait=0.005,
            callback=lambda job_id, status, j: seen.append((job_id, status, j.progress())),
        )
        assert job.in_final_state()
        for job_id, status, progress in seen:
            assert job_id == job.job_id() and status not in svsim.JOB_FINAL_STATES
            assert 0.0 <= progress <= 1.0
    elif action < 0.85:
        if rng.random() < 0.5:
            time.sleep(rng.choice([0.0, 0.001, 0.003]))
        record.cancel_returned.append((job.cancel(), job.status()))
    else:  # cancel a recent job, maybe another thread's, in whatever state it is
        with shared.lock:
            other = rng.choice(shared.recent)
            other_job = other.job
        if other_job is not None:
            other.cancel_returned.append((other_job.cancel(), other_job.status()))


def verify(job: svsim.BasicProviderJob, record: Record) -> None:
    """The job ends in a final state, soon, and what it says is consistent and right."""
    job.wait_for_final_state(timeout=WAIT, wait=0.01)
    status = job.status()
    assert status in (JobStatus.DONE, JobStatus.CANCELLED), status
    if status is JobStatus.DONE:
        assert not record.planned.big
        assert job.progress() == 1.0
        record.planned.check(job.result(timeout=0))
    else:
        with pytest.raises(svsim.JobError, match="cancelled"):
            job.result(timeout=0)
    record.status = status


def exercise(
    backend: BasicSimulator, thread: int, indices: list[int], n_big: int, shared: Shared
) -> None:
    """One submitting thread: batches of jobs submitted at once, then acted on and checked.
    Jobs ``k < n_big`` are long ones, always cancelled."""
    rng = random.Random(1000 + thread + 7 * indices[0])
    try:
        for first in range(0, len(indices), BATCH):
            batch = []
            for k in indices[first : first + BATCH]:
                if k < n_big:
                    planned = Planned([big_circuit()], 1, False, lambda r: None, big=True)
                else:
                    planned = plan_job(k, rng)
                job = backend.run(
                    planned.circuits, shots=planned.shots, memory=planned.memory, seed_simulator=k
                )
                record = Record(planned, job)
                with shared.lock:
                    shared.records[k] = record
                    shared.recent.append(record)
                shared.alive.add(job)
                batch.append((job, record))
            for job, record in batch:
                act_on(job, record, rng, shared)
            for job, record in batch:
                verify(job, record)
                record.job = None
            del batch, job, record
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        shared.errors.append(exc)


def run_wave(backend: BasicSimulator, n_jobs: int, n_big: int, deadline: float) -> Shared:
    """``n_jobs`` jobs from N_THREADS threads; fails the test past ``deadline``."""
    shared = Shared()
    order = list(range(n_jobs))
    random.Random(n_jobs).shuffle(order)  # the big jobs land in random threads and places
    threads = [
        threading.Thread(
            target=exercise,
            args=(backend, t, order[t::N_THREADS], n_big, shared),
            daemon=True,  # a stuck thread must not keep pytest from exiting
        )
        for t in range(N_THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0.0))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        jobs = list(shared.alive)
        states = {s.name: sum(j.status() is s for j in jobs) for s in JobStatus}
        for j in jobs:
            j.cancel()
        pytest.fail(f"threads {stuck} did not finish in time; jobs: {states}")
    return shared


def test_thousand_jobs_from_sixteen_threads_end_right_and_give_memory_back():
    start = time.monotonic()
    deadline = start + DEADLINE
    backend = BasicSimulator(max_parallel_threads=1)
    # A first, identical wave brings the process to its steady state, and memory
    # is measured from there: the worker thread, numpy's and Python's caches,
    # glibc's mmap threshold after a big state, and CPython's small-object
    # arenas (1 MiB each, kept while any object in them lives: a few hundred
    # cached objects from the busiest moment pin tens of MiB however many jobs
    # follow).  A leak, a job or result kept alive, grows past it.
    warm = run_wave(backend, N_JOBS, N_BIG, deadline)
    assert not warm.errors, warm.errors[0]
    del warm
    gc.collect()
    rss_start = rss_bytes()

    shared = run_wave(backend, N_JOBS, N_BIG, deadline)
    assert not shared.errors, shared.errors[0]
    records = shared.records
    assert len(records) == N_JOBS

    counts = {s: 0 for s in JobStatus}
    for k, r in records.items():
        assert r.status is not None, k
        counts[r.status] += 1
        for returned, status_after in r.cancel_returned:
            # True: the job ended CANCELLED; False: it was final already
            assert status_after in svsim.JOB_FINAL_STATES
            if returned:
                assert status_after is JobStatus.CANCELLED
        if any(returned for returned, _ in r.cancel_returned):
            assert r.status is JobStatus.CANCELLED
        if r.planned.big:
            assert r.status is JobStatus.CANCELLED
    assert counts[JobStatus.CANCELLED] >= N_BIG + 50, counts
    assert counts[JobStatus.DONE] >= N_JOBS // 2, counts
    assert backend.jobs() == []

    # the backend still serves; no job object outlives its users; memory goes back
    assert backend.run(ghz_circuit(3), shots=5).result(WAIT).get_counts()
    shared.recent.clear()
    records.clear()  # the test's own circuits
    del records, r
    gc.collect()
    assert len(shared.alive) == 0, "jobs are kept alive after their end"
    rss_end = rss_bytes()
    assert rss_end <= rss_start * 1.10, (rss_start >> 20, rss_end >> 20)
    backend.close()
    assert time.monotonic() - start < DEADLINE


def test_jobs_on_a_shared_thread_pool_from_many_threads():
    """Several kernels at once on a 3-worker pool, with cancels racing them."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=3)
    backend = BasicSimulator(max_parallel_threads=1, executor=pool)
    results: dict[int, tuple[svsim.BasicProviderJob, Planned, bool]] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def submit(t: int) -> None:
        rng = random.Random(t)
        try:
            for i in range(25):
                k = N_BIG + t * 25 + i
                planned = plan_job(k, rng)
                job = backend.run(planned.circuits, shots=planned.shots, memory=planned.memory)
                cancelled = rng.random() < 0.3 and job.cancel()
                with lock:
                    results[k] = (job, planned, cancelled)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(t,), daemon=True) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[0]
    for job, planned, cancelled in results.values():
        job.wait_for_final_state(timeout=WAIT, wait=0.01)
        if cancelled:
            assert job.status() is JobStatus.CANCELLED
        else:
            assert job.status() is JobStatus.DONE
            planned.check(job.result(0))
    assert len(results) == 200
    assert backend.jobs() == []
    pool.shutdown()
