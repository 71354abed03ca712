"""svsim's thread pool (cpp/include/svsim/parallel.h): one per process, fork-safe.

Its speed on a busy machine is measured in ``python -m svsim.bench.contention``,
not here; these tests check what can be checked without a clock: how many
threads exist, that a forked child can still run on several threads, and that
simulators sharing the pool from several threads get the answers of one thread.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
import svsim
from svsim.families import qft, random_layers

CORES = svsim.build_info()["max_threads"]
needs_two_cores = pytest.mark.skipif(CORES < 2, reason="needs 2 cores for a second thread")


def _native_threads() -> int:
    """Threads of this process that Python did not start (the kernel's workers)."""
    return len(os.listdir("/proc/self/task")) - threading.active_count()


def _parallel_circuit() -> svsim.Circuit:
    # 16 qubits: every gate's loop is long enough to run on the pool.
    circuit = qft(16)
    circuit.measure_all()
    return circuit


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
@needs_two_cores
def test_simulators_share_one_pool_of_workers():
    # OpenMP gave each job thread a team of its own: three backends that had
    # each run a job kept three idle workers, whose spinning slowed the others.
    backends = [svsim.BasicSimulator(max_parallel_threads=2) for _ in range(3)]
    try:
        before = _native_threads()
        for backend in backends:
            backend.run(_parallel_circuit(), shots=10, seed_simulator=1).result(timeout=60)
        assert _native_threads() - before <= CORES - 1
    finally:
        for backend in backends:
            backend.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@needs_two_cores
def test_a_forked_child_runs_on_several_threads():
    # A child forked after a parallel run has none of the parent's workers (and
    # maybe a mutex that one of them held): it starts a pool of its own.
    circuit = _parallel_circuit()
    with svsim.BasicSimulator(max_parallel_threads=2) as backend:
        expected = backend.run(circuit, shots=100, seed_simulator=3).result().get_counts()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, exit without pytest's teardown
        status = 1
        try:
            os.close(read)
            signal_alarm = getattr(__import__("signal"), "alarm", None)
            if signal_alarm:
                signal_alarm(60)  # a hang ends the child, and the test fails
            backend = svsim.BasicSimulator(max_parallel_threads=2)
            counts = backend.run(circuit, shots=100, seed_simulator=3).result().get_counts()
            workers = _native_threads()  # the child's own pool, started for this run
            os.write(write, f"{workers} {sorted(counts.items())!r}".encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    workers, counts = reported.split(" ", 1)
    assert counts == repr(sorted(expected.items()))
    assert int(workers) >= 1, "the child ran on one thread: its pool has no workers"


@needs_two_cores
def test_concurrent_simulators_match_one_thread():
    # Two backends on 2 threads each run at once: each loop runs on the pool or,
    # while the other holds it, on its caller alone; the answers are those of
    # one thread, state and counts.
    circuits = [random_layers(16, depth=6, seed=s) for s in range(4)]
    for circuit in circuits:
        circuit.save_statevector()
        circuit.measure_all()
    with svsim.BasicSimulator(max_parallel_threads=1) as serial:
        expected = serial.run(circuits, shots=200, seed_simulator=11).result()
    results: dict[int, svsim.Result] = {}

    def run(index: int) -> None:
        with svsim.BasicSimulator(max_parallel_threads=2) as backend:
            results[index] = backend.run(circuits, shots=200, seed_simulator=11).result()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == [0, 1]
    for result in results.values():
        for k in range(len(circuits)):
            assert result.get_counts(k) == expected.get_counts(k)
            np.testing.assert_allclose(
                result.get_statevector(k), expected.get_statevector(k), atol=1e-12
            )


if sys.platform != "linux":  # the pool's tests read Linux's /proc and fork
    pytestmark = pytest.mark.skip(reason="Linux only")
