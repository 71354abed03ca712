"""Small jobs (issue 20): a tiny job runs inside run() and still goes through
the whole job API; the memory limit is read once per job."""

from __future__ import annotations

import datetime
import os
import pickle
import sys
import threading
import time
import uuid

import numpy as np
import pytest
import svsim
from spy_executor import SpyExecutor
from svsim import engine, work
from svsim.job import BasicProviderJob, JobStatus
from svsim.options import new_job_id
from svsim.result import experiment_header
from svsim.work import Outcomes
from worker_state import wait_idle_and_polling

WAIT = 10.0


def tiny() -> svsim.Circuit:
    return svsim.Circuit(5, name="tiny").h(0).cx(0, 1).cx(1, 2).rz(0.3, 4).measure_all()


def kernel_threads(monkeypatch) -> list[tuple[threading.Thread, str]]:
    """The thread each experiment's kernel runs in, and its circuit's name, from now on."""
    seen: list[tuple[threading.Thread, str]] = []
    real = engine.run_experiment

    def spy(circuit: svsim.Circuit, **kwargs: object) -> engine.ExperimentOutput:
        seen.append((threading.current_thread(), circuit.name))
        return real(circuit, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "run_experiment", spy)
    return seen


def gate_the_worker(backend: svsim.BasicSimulator) -> tuple[BasicProviderJob, threading.Event]:
    """A job that holds the backend's worker until the event is set."""
    started, release = threading.Event(), threading.Event()

    def gated() -> str:
        started.set()
        assert release.wait(WAIT)
        return "gate"

    gate = BasicProviderJob(backend, "gate", gated)
    gate.submit()
    assert started.wait(WAIT)
    return gate, release


def short() -> svsim.Circuit:
    """Past the tiny bound, within the short one: 40 gates on 12 qubits."""
    qc = svsim.Circuit(12, name="short")
    for layer in range(4):
        qc.h(range(12)) if layer % 2 == 0 else qc.rz(0.1 * layer, range(12))
    return qc.measure_all()


def test_tiny_job_is_done_when_run_returns_and_keeps_the_job_api() -> None:
    backend = svsim.BasicSimulator()
    job = backend.run(tiny(), shots=100, seed_simulator=7)
    assert job.status() is JobStatus.DONE  # no wait: it ran inside run()
    assert job.done() and job.in_final_state() and not job.running()
    assert job.progress() == 1.0
    assert job.cancel() is False and job.status() is JobStatus.DONE
    assert backend.jobs() == []
    result = job.result(timeout=0)
    assert result.job_id == job.job_id() and job.backend() is backend
    assert sum(result.get_counts().values()) == 100
    meta = result.results[0].metadata
    assert meta["method"] == "statevector" and meta["shot_method"] == "sampling"
    assert len(result.get_memory()) == 100
    with pytest.raises(svsim.JobError, match="already submitted|cannot run"):
        job.submit()
    backend.close()


def test_tiny_job_gives_what_the_worker_thread_gives() -> None:
    inline = svsim.BasicSimulator().run(tiny(), shots=300, seed_simulator=11).result()
    spy = SpyExecutor()
    threaded = svsim.BasicSimulator(executor=spy).run(tiny(), shots=300, seed_simulator=11)
    assert threaded.result(timeout=WAIT).get_counts() == inline.get_counts()
    assert threaded.result().get_memory() == inline.get_memory()
    assert spy.submitted == 1  # an executor given: never inline
    spy.shutdown()


def test_failing_tiny_job_ends_in_error_not_in_an_exception_from_run(monkeypatch) -> None:
    cause = RuntimeError("the kernel said no")

    def fail(*args: object, **kwargs: object) -> None:
        raise cause

    monkeypatch.setattr(engine, "run_experiment", fail)
    job = svsim.BasicSimulator().run(tiny(), shots=100)
    assert job.status() is JobStatus.ERROR and job.in_final_state() and not job.done()
    with pytest.raises(svsim.JobError, match="the kernel said no") as info:
        job.result()
    assert info.value.__cause__ is cause
    assert job.cancel() is False


def test_tiny_job_behind_a_queued_one_waits_its_turn() -> None:
    backend = svsim.BasicSimulator()
    first, release = gate_the_worker(backend)
    job = backend.run(tiny(), shots=100, seed_simulator=1)
    assert job.status() is JobStatus.QUEUED  # jobs end in the order they were run
    assert job.cancel() is True and job.status() is JobStatus.CANCELLED
    second = backend.run(tiny(), shots=100, seed_simulator=1)
    assert second.status() is JobStatus.QUEUED
    release.set()
    assert first.result(timeout=WAIT) == "gate"
    assert sum(second.result(timeout=WAIT).get_counts().values()) == 100
    backend.close()


def test_predicted_work_picks_only_tiny_jobs() -> None:
    def spec_of(circuits: list[svsim.Circuit], shots: int) -> work.JobSpec:
        experiments = tuple(work.Experiment(c, 1) for c in circuits)
        settings = work.Settings("double", 1, True, None)
        return work.JobSpec("j", "b", "0", experiments, shots, False, None, settings)

    assert work.predicted_work(spec_of([tiny()], 100)) <= work.INLINE_MAX_WORK
    wide = svsim.Circuit(14).h(range(14)).measure_all()
    assert work.predicted_work(spec_of([wide], 100)) > work.INLINE_MAX_WORK
    assert work.predicted_work(spec_of([tiny()], 10**5)) > work.INLINE_MAX_WORK
    # a measurement before the end: one simulation per shot
    mid = svsim.Circuit(5, 1).h(0).measure(0, 0).h(1).measure_all()
    assert work.predicted_work(spec_of([mid], 500)) > work.INLINE_MAX_WORK
    assert work.predicted_work(spec_of([mid.copy()], 1)) <= work.INLINE_MAX_WORK
    stabilizer = work.JobSpec(
        "j",
        "b",
        "0",
        (work.Experiment(tiny(), 1, "stabilizer"),),
        1,
        False,
        None,
        work.Settings("double", 1, True, None),
    )
    assert work.predicted_work(stabilizer) > work.INLINE_MAX_WORK
    # short: within SHORT_MAX_WORK; the count goes on up to the limit it is given
    assert work.INLINE_MAX_WORK < work.predicted_work(spec_of([wide], 100), work.SHORT_MAX_WORK)
    assert work.predicted_work(spec_of([wide], 100), work.SHORT_MAX_WORK) <= work.SHORT_MAX_WORK
    assert work.predicted_work(spec_of([mid], 10**5), work.SHORT_MAX_WORK) > work.SHORT_MAX_WORK


def test_big_job_still_runs_on_the_worker_thread() -> None:
    backend = svsim.BasicSimulator()
    wide = svsim.Circuit(14).h(range(14)).measure_all()
    seen: list[threading.Thread] = []
    real = engine.run_experiment

    def spy(*args: object, **kwargs: object) -> engine.ExperimentOutput:
        seen.append(threading.current_thread())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    try:
        engine.run_experiment = spy  # type: ignore[assignment]
        backend.run(wide, shots=100).result(timeout=WAIT)
        backend.run(tiny(), shots=100).result(timeout=WAIT)
    finally:
        engine.run_experiment = real  # type: ignore[assignment]
    assert seen[0] is not threading.current_thread()
    assert seen[1] is threading.current_thread()
    backend.close()


def idle_backend() -> svsim.BasicSimulator:
    """A backend whose worker has run a job, let go of it and polls for held jobs."""
    backend = svsim.BasicSimulator()
    backend.run(short(), shots=1).result(timeout=WAIT)
    wait_idle_and_polling(backend.executor, WAIT)
    return backend


def test_short_job_is_held_and_runs_in_the_thread_that_asks(monkeypatch, slow_polls) -> None:
    backend = idle_backend()
    seen = kernel_threads(monkeypatch)
    job = backend.run(short(), shots=100, seed_simulator=3)
    line = backend.executor._line
    assert line.queue.empty() and len(line.held) == 1  # the worker was not woken for it
    assert seen == []
    result = job.result()  # runs the job here
    assert seen == [(threading.current_thread(), "short")]
    assert job.status() is JobStatus.DONE and job.progress() == 1.0
    assert result.job_id == job.job_id() and not line.held
    # the same counts on the worker thread, to which result(timeout=...) hands the job
    again = backend.run(short(), shots=100, seed_simulator=3)
    assert again.result(timeout=WAIT).get_counts() == result.get_counts()
    assert len(seen) == 2 and seen[1][0] is not threading.current_thread()
    backend.close()


def test_held_job_runs_when_first_looked_at(monkeypatch, slow_polls) -> None:
    backend = idle_backend()
    seen = kernel_threads(monkeypatch)
    job = backend.run(short(), shots=10)
    time.sleep(0.05)  # held: nothing runs it meanwhile
    assert seen == []
    assert job.done()  # status() ran it, here
    assert seen == [(threading.current_thread(), "short")]
    # so does wait_for_final_state, which polls status()
    other = backend.run(short(), shots=10)
    other.wait_for_final_state(timeout=WAIT)
    assert other.status() is JobStatus.DONE and len(seen) == 2
    backend.close()


def test_held_job_goes_to_the_worker_before_the_next_job(monkeypatch, slow_polls) -> None:
    backend = idle_backend()
    seen = kernel_threads(monkeypatch)
    first = backend.run(short(), shots=10)  # held
    second = backend.run(tiny(), shots=10)  # queued behind it: both go to the worker
    assert not backend.executor._line.held
    assert sum(second.result(timeout=WAIT).get_counts().values()) == 10
    assert first.status() is JobStatus.DONE
    worker = seen[0][0]
    assert worker is not threading.current_thread()
    assert seen == [(worker, "short"), (worker, "tiny")]
    backend.close()


def test_held_job_runs_when_the_backend_closes_or_is_cancelled(monkeypatch, slow_polls) -> None:
    backend = idle_backend()
    seen = kernel_threads(monkeypatch)
    dropped = backend.run(short(), shots=10)
    assert dropped.cancel() is True and dropped.status() is JobStatus.CANCELLED
    job = backend.run(short(), shots=10)  # held: the cancelled call ahead is dropped
    assert backend.executor._line.held and backend.executor._line.queue.empty()
    backend.close()  # waits for the job, which the worker runs
    assert job._status is JobStatus.DONE
    assert len(seen) == 1 and seen[0][0] is not threading.current_thread()


def test_held_job_nobody_asks_about_runs_on_the_worker(monkeypatch) -> None:
    backend = idle_backend()
    seen = kernel_threads(monkeypatch)
    job = backend.run(short(), shots=10)
    deadline = time.monotonic() + WAIT
    while job._status is not JobStatus.DONE and time.monotonic() < deadline:
        time.sleep(0.005)  # read without status(), which would run it here
    assert job._status is JobStatus.DONE
    assert len(seen) == 1 and seen[0][0] is not threading.current_thread()
    backend.close()


def test_ctrl_c_in_a_job_run_by_the_caller_cancels_it_and_goes_on(monkeypatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises once the kernel returns

    backend = idle_backend()
    monkeypatch.setattr(engine, "run_experiment", interrupted)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)  # the job is certain to be still queued at result()
    try:
        job = backend.run(short(), shots=10)
        with pytest.raises(KeyboardInterrupt):
            job.result()
    finally:
        sys.setswitchinterval(interval)
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(KeyboardInterrupt):  # a tiny job, run inside run()
        backend.run(tiny(), shots=10)
    monkeypatch.undo()
    assert sum(backend.run(short(), shots=10).result().get_counts().values()) == 10
    backend.close()


def test_ctrl_c_just_after_the_caller_took_a_held_job_leaves_the_worker_free(
    monkeypatch, slow_polls
) -> None:
    from svsim import executors

    take = executors._Line._take_next

    def interrupted(line: executors._Line, future: object) -> object:
        take(line, future)
        raise KeyboardInterrupt  # a Ctrl-C landing after run_here took it, before it ran

    backend = idle_backend()
    job = backend.run(short(), shots=10)
    assert backend.executor._line.held  # slow_polls: only result() can run it
    monkeypatch.setattr(executors._Line, "_take_next", interrupted)
    with pytest.raises(KeyboardInterrupt):
        job.result()
    monkeypatch.undo()
    assert job.status() is JobStatus.CANCELLED  # as a Ctrl-C inside its kernel leaves it
    assert not backend.executor._line.busy
    after = backend.run(short(), shots=10)  # with a timeout, result() hands it to the worker
    assert sum(after.result(timeout=WAIT).get_counts().values()) == 10
    backend.close()


def test_timeout_on_a_held_job_hands_it_to_the_worker_and_says_its_state(
    monkeypatch, slow_polls
) -> None:
    backend = idle_backend()
    seen = kernel_threads(monkeypatch)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)  # the worker cannot end it before the timeout is seen
    try:
        job = backend.run(short(), shots=10)
        with pytest.raises(svsim.JobTimeoutError, match="QUEUED|RUNNING"):
            job.result(timeout=0)
    finally:
        sys.setswitchinterval(interval)
    assert sum(job.result(timeout=WAIT).get_counts().values()) == 10
    assert len(seen) == 1 and seen[0][0] is not threading.current_thread()  # the worker's
    backend.close()


def test_waiting_for_a_short_job_behind_another_keeps_the_order(monkeypatch) -> None:
    backend = svsim.BasicSimulator()
    seen = kernel_threads(monkeypatch)
    gate, release = gate_the_worker(backend)
    first = backend.run(tiny(), shots=10)  # queued: the backend is busy
    second = backend.run(short(), shots=10)
    # While the gate runs, and then with the first ahead of it, result() leaves the
    # second to the worker, which runs both in order.
    threading.Timer(0.05, release.set).start()
    second.result()
    assert first.status() is JobStatus.DONE and second.status() is JobStatus.DONE
    worker = seen[0][0]
    assert worker is not threading.current_thread()
    assert seen == [(worker, "tiny"), (worker, "short")]
    backend.close()


def test_big_job_runs_on_the_worker_even_when_waited_for(monkeypatch) -> None:
    seen = kernel_threads(monkeypatch)
    big = svsim.Circuit(16).h(range(16)).cx(0, 1).measure_all()  # 18 ops x 2^16 > 2^21
    with svsim.BasicSimulator() as backend:
        backend.run(big, shots=10).result()
    assert len(seen) == 1 and seen[0][0] is not threading.current_thread()


def test_default_memory_limit_is_read_once_per_job_not_per_circuit(monkeypatch) -> None:
    reads = []

    def available() -> int:
        reads.append(1)
        return 8 << 30

    monkeypatch.setattr(engine, "available_memory_bytes", available)
    circuits = [svsim.Circuit(3).h(0).measure_all() for _ in range(20)]
    spy = SpyExecutor()
    job = svsim.BasicSimulator(executor=spy).run(circuits, shots=10)
    assert len(job.result(timeout=WAIT).results) == 20
    assert len(reads) <= 2  # one in run(), one when the job starts
    spy.shutdown()


@pytest.mark.parametrize("keep_order", [True, False])
def test_counts_of_few_clbits_by_histogram_equal_numpy_unique(keep_order: bool) -> None:
    rng = np.random.default_rng(3)
    for shots in (1, 5, 100, 1000):
        for top in (1, 30, 1024, 5000, 2**62):  # the histogram, then the sort past 4096
            memory = rng.integers(0, top, size=(shots, 1), dtype=np.int64).astype(np.uint64)
            unique, inverse, counts = np.unique(
                memory[:, 0], return_inverse=True, return_counts=True
            )
            # With the clbits known (the job's case) or not, the same outcomes.
            for num_clbits in (None, (top - 1).bit_length()):
                outcomes, order = Outcomes.from_memory(memory, keep_order, num_clbits)
                assert outcomes.words.dtype == np.uint64
                assert outcomes.words.shape == (unique.size, 1)
                np.testing.assert_array_equal(outcomes.words[:, 0], unique)
                np.testing.assert_array_equal(outcomes.counts, counts)
                if keep_order:
                    assert order is not None
                    np.testing.assert_array_equal(order, inverse.reshape(-1))
                else:
                    assert order is None


def test_lazy_result_gives_what_eager_building_gives() -> None:
    # A job's Result builds its experiments when first read; built at once from the
    # same outputs (work.experiment_results) they are equal, metadata and header too.
    circuits = [tiny(), svsim.Circuit(3, 3, name="b").x(1).measure([0, 1, 2], [0, 1, 2])]
    settings = work.Settings("double", 1, True, None)
    outputs = [
        engine.run_experiment(c, shots=50, seed=3 + i, threads=1, max_memory_mb=100.0)
        for i, c in enumerate(circuits)
    ]
    lazy = work.result_from_outputs(
        outputs, circuits, job_id="j", memory=True, settings=settings, date="d"
    )
    assert lazy._builder is not None  # nothing built yet
    assert lazy.job_id == "j" and lazy.time_taken == sum(o.time_taken for o in outputs)
    eager = work.experiment_results(outputs, circuits, True, None, settings)
    assert lazy.results == eager and lazy._builder is None
    assert list(lazy.results[0].metadata) == list(eager[0].metadata)  # same key order
    assert lazy.results is lazy.results  # built once
    assert lazy.get_memory(1) == ["010"] * 50


def test_lazy_result_is_built_once_across_threads_and_before_pickling() -> None:
    import copy
    import pickle

    backend = svsim.BasicSimulator()
    result = backend.run([tiny(), tiny()], shots=20, seed_simulator=5).result()
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(result.results)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is seen[0] for r in seen)
    fresh = backend.run([tiny(), tiny()], shots=20, seed_simulator=5).result()
    clone = pickle.loads(pickle.dumps(fresh))
    assert clone._builder is None and clone == fresh and copy.copy(fresh).results is fresh.results
    assert clone.get_counts() == result.get_counts()
    backend.close()


def test_padded_bitstrings_are_those_of_format() -> None:
    from svsim.experiment import padded_bitstrings

    rng = np.random.default_rng(11)
    for width in (1, 5, 12, 13, 40):
        values = [int(v) for v in rng.integers(0, 1 << min(width, 62), size=50)]
        for _ in range(2):  # made, then kept
            assert padded_bitstrings(values, width) == [format(v, f"0{width}b") for v in values]
    assert padded_bitstrings([9, 1], 3) == ["1001", "001"]  # beyond the width: not kept, as format
    assert padded_bitstrings([], 4) == []


def test_job_ids_are_distinct_uuid4_strings_and_differ_in_a_forked_child() -> None:
    ids = {new_job_id() for _ in range(2000)}
    assert len(ids) == 2000
    for job_id in list(ids)[:50]:
        parsed = uuid.UUID(job_id)
        assert str(parsed) == job_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    if not hasattr(os, "fork"):
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id must not be the parent's next one
        os.write(write, new_job_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    os.close(write)
    assert uuid.UUID(child).version == 4 and child != new_job_id()


def test_result_date_is_written_when_read_and_kept_through_pickle_and_dict() -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    result = svsim.BasicSimulator().run(tiny(), shots=10).result()
    after = datetime.datetime.now(datetime.timezone.utc)
    date = datetime.datetime.fromisoformat(result.date)
    assert date.utcoffset() == datetime.timedelta(0) and before <= date <= after
    assert result.date is result.date  # written once
    assert pickle.loads(pickle.dumps(result)).date == result.date
    assert svsim.Result.from_dict(result.to_dict()).date == result.date
    result.date = "2020-01-01T00:00:00+00:00"
    assert result.date == "2020-01-01T00:00:00+00:00"


def test_experiment_header_is_built_on_first_read_and_is_the_circuits() -> None:
    qc = svsim.Circuit(3, name="lazy").h(0).measure_all()
    qc.add_register("extra", 2)
    qc.global_phase = 0.5
    result = svsim.BasicSimulator().run([qc, tiny()], shots=20, seed_simulator=2).result()
    first, second = result.results
    # counts, names and lookups by name read the layout without the header's lists
    assert result.get_counts("lazy") == result.get_counts(0)
    assert sum(result.get_counts(0).values()) == 20
    assert " " in next(iter(result.get_counts(0)))  # two registers: two words
    assert first.name == "lazy" and second.name == "tiny"
    assert "_header" in vars(first) and vars(first)["_header_fields"] is not None
    back = pickle.loads(pickle.dumps(result))  # pickled before its header was built
    assert back.results[0].header == experiment_header(qc) == first.header
    assert vars(first)["_header_fields"] is None
    assert first.header is first.header  # built once
    assert first.header["creg_sizes"] == [["meas", 3], ["extra", 2]]
    assert first.header["global_phase"] == 0.5
    second.header = {"name": "renamed", "memory_slots": 5, "creg_sizes": [["c", 5]]}
    assert second.name == "renamed" and result.results[1].header["memory_slots"] == 5


@pytest.mark.parametrize("clbits", [5, 20, 70])
def test_memory_found_when_first_read_is_each_shots_outcome(clbits: int) -> None:
    qc = svsim.Circuit(5, clbits, name="mem").h(range(5)).rx(0.4, 2)
    qc.measure(range(5), list(range(clbits - 5, clbits)))
    result = svsim.BasicSimulator().run(qc, shots=300, seed_simulator=9).result()
    back = pickle.loads(pickle.dumps(result))  # pickled before the memory was read
    memory = result.get_memory()
    assert back.get_memory() == memory and len(memory) == 300
    counts = result.get_counts()
    assert {key: memory.count(key) for key in counts} == counts
    threaded = svsim.BasicSimulator(executor=SpyExecutor()).run(qc, shots=300, seed_simulator=9)
    assert threaded.result(timeout=WAIT).get_memory() == memory
    # in shot order: each shot's packed words, as the kernel gave them
    raw = engine.run_experiment(qc, shots=300, seed=9).memory
    shots = [sum(int(w) << (64 * i) for i, w in enumerate(row)) for row in raw]
    assert memory == [format(v, f"0{clbits}b") for v in shots]


def test_a_tiny_job_that_cannot_be_encoded_is_refused_by_run() -> None:
    from svsim.program import Instruction

    qc = tiny()
    qc.data.append(Instruction("bogus", (0,)))
    with svsim.BasicSimulator() as backend, pytest.raises(svsim.CircuitError, match="bogus"):
        backend.run(qc, shots=100)
