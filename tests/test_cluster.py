"""Jobs split over a real Dask cluster (svsim.cluster).

One ``distributed.LocalCluster`` of 2 worker processes (1 thread each) on
loopback serves the module and is closed at its end.  The tests check that a
split job equals a local run with the same seed, that its tasks really are
several and run on both workers, status and progress from the workers, a
cancel that stops the kernels on the workers (watched through the workers'
own count of running svsim tasks), a task failing and a worker killed
mid-task, bad input refused before anything reaches the scheduler, the
final statevector left on the workers unless saved, a circuit's shots split
over tasks (``max_shot_size``), and the job's cancel Event removed from the
scheduler when the job ends.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
import svsim
from circuits import chain, rich_circuit, same_results
from svsim import BasicSimulator, JobStatus
from svsim import cluster as svsim_cluster
from svsim.cluster import parts as svsim_parts
from svsim.cluster import wire as svsim_wire

distributed = pytest.importorskip(
    "distributed", reason="the Dask tests need the dask extra: pip install 'svsim[dask]'"
)

WAIT = 120.0


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        host="127.0.0.1",
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def small_circuits(count: int, num_qubits: int = 5, seed: int = 3) -> list[svsim.Circuit]:
    rng = np.random.default_rng(seed)
    circuits = []
    for k in range(count):
        qc = svsim.Circuit(num_qubits, num_qubits, name=f"small{k}")
        for _ in range(12):
            q = int(rng.integers(num_qubits))
            qc.rx(float(rng.uniform(0, 3)), q)
            qc.cx(q, (q + 1 + int(rng.integers(num_qubits - 1))) % num_qubits)
        qc.measure(range(num_qubits), range(num_qubits))
        circuits.append(qc)
    return circuits


def svsim_tasks(stream: list[dict], job_id: str) -> list[dict]:
    return [t for t in stream if str(t["key"]).startswith(f"svsim-{job_id}")]


def wait_until(predicate, timeout: float = WAIT, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def worker_tasks_running(client) -> dict[str, int]:
    return client.run(svsim_cluster.running_tasks)


def scheduler_events(client) -> list[str]:
    """The names of the Dask Events the scheduler holds now."""

    def names(dask_scheduler) -> list[str]:
        return [str(name) for name in dask_scheduler.extensions["events"]._events]

    return client.run_on_scheduler(names)


# ---------------------------------------------------------------- no cluster needed


def test_wire_form_round_trips_every_kind_of_instruction():
    qc = rich_circuit()
    wire = svsim_cluster.circuit_to_wire(qc)
    assert wire[0] == svsim_cluster.WIRE_FORMAT
    back = svsim_cluster.circuit_from_wire(wire)
    assert back.data == qc.data and back.cregs == qc.cregs
    assert back.global_phase == qc.global_phase and back.save_labels == qc.save_labels
    for a, b in zip(back.encode().__dict__.values(), qc.encode().__dict__.values(), strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
    with pytest.raises(svsim.SimulatorError, match="same svsim version"):
        svsim_cluster.circuit_from_wire((99, *wire[1:]))


def test_task_outputs_are_plain_data_only():
    import pickle

    plain = [{"memory": np.zeros((3, 1), np.uint64), "saves": {"e": 0.5, "z": 1j}, "n": 3}]
    back = svsim_wire.outputs_from_wire(pickle.dumps(plain))
    assert back[0]["saves"] == {"e": 0.5, "z": 1j} and back[0]["memory"].shape == (3, 1)
    with pytest.raises(pickle.UnpicklingError, match="not plain data"):
        svsim_wire.outputs_from_wire(pickle.dumps([svsim.Circuit(1)]))
    # a task's argument: format and version in the clear, the rest one bytes object
    packed = svsim_wire.pack_payload(
        {"experiments": [(svsim_cluster.circuit_to_wire(chain(2, 4)),)]}
    )
    assert isinstance(packed["body"], bytes)
    assert svsim_wire.unpack_payload(packed)["experiments"][0][0][1] == 2
    sneaky = dict(packed, body=pickle.dumps({"experiments": svsim.Circuit(1)}))
    with pytest.raises(pickle.UnpicklingError, match="not plain data"):
        svsim_wire.unpack_payload(sneaky)


def test_default_task_size_uses_every_worker_and_pays_for_itself():
    # tiny circuits: one task per worker thread
    assert svsim_cluster.default_max_job_size([100.0] * 500, slots=2) == 250
    # heavy circuits: up to 8 tasks per thread, for balance and results on the way back
    assert svsim_cluster.default_max_job_size([2.0**30] * 40, slots=2) == 3
    assert svsim_cluster.default_max_job_size([2.0**34] * 40, slots=8) == 1
    # middling: as many tasks as the work pays for
    assert svsim_cluster.default_max_job_size([2.0**26] * 40, slots=2) == 4
    # fewer circuits than threads: one each
    assert svsim_cluster.default_max_job_size([2.0**30] * 3, slots=8) == 1


# ---------------------------------------------------------------- on the cluster


def test_split_job_equals_a_local_run(client):
    circuits = [rich_circuit(), *small_circuits(6)]
    local = BasicSimulator().run(circuits, shots=50, seed_simulator=77, memory=True).result(WAIT)
    backend = BasicSimulator(executor=client, max_job_size=2)
    with distributed.get_task_stream(client) as stream:
        job = backend.run(circuits, shots=50, seed_simulator=77, memory=True)
        result = job.result(WAIT)
    assert job.status() is JobStatus.DONE and job.progress() == 1.0
    same_results(result, local, final_states=False)
    assert result.job_id == job.job_id()
    # 7 circuits, at most 2 a task: 4 tasks, each a task of the cluster
    assert len(svsim_tasks(stream.data, job.job_id())) == 4
    # run()'s option overrides the backend's
    with distributed.get_task_stream(client) as stream:
        job = backend.run(circuits, shots=50, seed_simulator=77, memory=True, max_job_size=7)
        same_results(job.result(WAIT), local, final_states=False)
    assert len(svsim_tasks(stream.data, job.job_id())) == 1
    # Clifford circuits with the stabilizer method travel the same way
    pytest.importorskip("stim")
    ghz = svsim.Circuit(30, 30, name="ghz30").h(0)
    for q in range(29):
        ghz.cx(q, q + 1)
    ghz.measure(range(30), range(30))
    mixed = [ghz, *small_circuits(2)]
    options = {"shots": 40, "seed_simulator": 3, "use_clifford_optimization": True}
    local = BasicSimulator().run(mixed, **options).result(WAIT)
    same_results(backend.run(mixed, **options).result(WAIT), local, final_states=False)


def test_500_small_circuits_over_both_workers(client):
    circuits = small_circuits(500, num_qubits=6, seed=11)
    local = BasicSimulator().run(circuits, shots=20, seed_simulator=5).result(WAIT)
    backend = BasicSimulator(executor=client)
    with distributed.get_task_stream(client) as stream:
        job = backend.run(circuits, shots=20, seed_simulator=5)
        result = job.result(WAIT)
    tasks = svsim_tasks(stream.data, job.job_id())
    assert len(tasks) >= 2 and len({t["worker"] for t in tasks}) == 2
    # every job reports under one event topic: the scheduler keeps no log per job
    topics = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler._broker._topics))
    assert [t for t in topics if str(t).startswith("svsim")] == [svsim_cluster.client.TOPIC]
    assert [r.header["name"] for r in result.results] == [c.name for c in circuits]
    same_results(result, local, final_states=False)


def test_status_progress_and_a_cancel_that_stops_the_workers_kernels(client):
    # 4 circuits of some seconds each, one a task: both workers busy, two queued
    circuits = [chain(20, 6000, name=f"long{k}") for k in range(4)]
    backend = BasicSimulator(executor=client, max_job_size=1, max_parallel_threads=1)
    job = backend.run(circuits, shots=1, seed_simulator=1)
    assert job.status() in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert wait_until(lambda: job.status() is JobStatus.RUNNING), job.status()
    assert wait_until(lambda: job.progress() > 0.0), "no progress reported from the workers"
    assert job.progress() < 0.5
    # waiting with a timeout returns on time while the tasks run
    with pytest.raises(svsim.JobTimeoutError):
        job.result(timeout=0.2)
    with pytest.raises(svsim.JobTimeoutError):
        job.wait_for_final_state(timeout=0.2, wait=0.05)
    assert wait_until(lambda: sum(worker_tasks_running(client).values()) == 2)
    cancelled_at = time.monotonic()
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    event_name = job._future.event_name
    assert event_name in scheduler_events(client)  # set, for the workers to see
    # each worker's kernel stops at its next operation, not at the end of its circuit
    assert wait_until(lambda: sum(worker_tasks_running(client).values()) == 0, timeout=10)
    # A circuit takes about 5 s on one thread here and had just begun: without the
    # cancel reaching the kernels they would run on for seconds.
    stopped_after = time.monotonic() - cancelled_at
    assert stopped_after < 2.0
    with pytest.raises(svsim.JobError, match="cancelled"):
        job.result(0)
    # the queued tasks never started, and the cluster takes the next job
    time.sleep(0.3)
    assert sum(worker_tasks_running(client).values()) == 0
    after_job = BasicSimulator(executor=client).run(small_circuits(2), shots=5)
    assert len(after_job.result(WAIT).results) == 2
    # once the tasks have stopped, the cancelled job's Event leaves the scheduler;
    # a job that ends DONE never put one there
    assert wait_until(lambda: event_name not in scheduler_events(client), timeout=10)
    assert not [n for n in scheduler_events(client) if after_job.job_id() in n]


def test_a_failing_task_ends_the_job_in_error_naming_it(client):
    def break_kernel() -> None:
        import svsim.engine

        def boom(*args, **kwargs):
            raise RuntimeError("worker kernel exploded")

        svsim.engine._real_run_experiment = svsim.engine.run_experiment
        svsim.engine.run_experiment = boom

    def mend_kernel() -> None:
        import svsim.engine

        svsim.engine.run_experiment = svsim.engine._real_run_experiment

    client.run(break_kernel)
    try:
        job = BasicSimulator(executor=client, max_job_size=2).run(small_circuits(4), shots=5)
        with pytest.raises(svsim.JobError, match="task [01] of 2") as info:
            job.result(WAIT)
        assert job.status() is JobStatus.ERROR
        # the worker's exception is chained
        chain_ = []
        error: BaseException | None = info.value
        while error is not None:
            chain_.append(error)
            error = error.__cause__
        assert any(isinstance(e, RuntimeError) and "exploded" in str(e) for e in chain_)
        # the failure set the job's Event to stop the other task; it is removed too
        event_name = job._future.event_name
        assert wait_until(lambda: event_name not in scheduler_events(client), timeout=10)
    finally:
        client.run(mend_kernel)


def test_a_worker_of_another_svsim_version_refuses(client):
    payload = {"format": svsim_cluster.WIRE_FORMAT, "svsim": "0.0.0-other", "experiments": []}
    future = client.submit(svsim_cluster.run_task, payload, pure=False)
    with pytest.raises(svsim.SimulatorError, match="same svsim version"):
        future.result(WAIT)


def test_a_killed_worker_ends_the_job_correctly_or_in_error(client):
    circuits = [chain(20, 2500, name=f"k{k}") for k in range(2)]
    backend = BasicSimulator(executor=client, max_job_size=1, max_parallel_threads=1)
    job = backend.run(circuits, shots=4, seed_simulator=9)
    assert wait_until(lambda: sum(worker_tasks_running(client).values()) >= 1)
    pids = client.run(os.getpid)
    busy = [addr for addr, n in worker_tasks_running(client).items() if n > 0]
    os.kill(pids[busy[0]], signal.SIGKILL)
    job.wait_for_final_state(timeout=WAIT, wait=0.2)
    print("after the kill the job is", job.status().name)
    if job.status() is JobStatus.DONE:  # Dask ran the task again elsewhere
        local = BasicSimulator(max_parallel_threads=1).run(circuits, shots=4, seed_simulator=9)
        same_results(job.result(0), local.result(WAIT), final_states=False)
    else:
        assert job.status() is JobStatus.ERROR
        with pytest.raises(svsim.JobError, match=r"task \d of 2"):
            job.result(0)
    # the nanny brings the worker back; wait for it so later tests have two
    client.wait_for_workers(2, timeout=WAIT)


def test_bad_input_is_refused_before_anything_is_sent(client):
    backend = BasicSimulator(executor=client)
    with distributed.get_task_stream(client) as stream:
        with pytest.raises(svsim.SimulatorError, match="max_job_size must be an int >= 1"):
            backend.run(small_circuits(3), max_job_size=0)
        with pytest.raises(svsim.CircuitError, match="shots"):
            backend.run(small_circuits(3), shots=0)
        with pytest.raises(svsim.SimulatorError, match="max_job_size"):
            BasicSimulator(executor=client, max_job_size=2.5)
        closed = distributed.Client(client.scheduler.address)
        closed.close()
        with pytest.raises(svsim.JobError, match="Dask client is closed"):
            BasicSimulator(executor=closed).run(small_circuits(3))
    assert stream.data == []
    assert backend.jobs() == []


# ---------------------------------------------------------------- what comes back


def test_the_final_state_comes_back_only_where_the_circuit_saves_it(client):
    plain = chain(6, 20, name="plain").measure_all()
    saved = chain(6, 20, name="saved")
    saved.save_statevector()
    saved.measure_all()
    local = BasicSimulator().run([plain, saved], shots=10, seed_simulator=4).result(WAIT)
    result = BasicSimulator(executor=client).run([plain, saved], shots=10, seed_simulator=4)
    result = result.result(WAIT)
    assert result.results[0].final_statevector is None
    with pytest.raises(svsim.SvsimError, match="save_statevector"):
        result.get_statevector("plain")
    np.testing.assert_allclose(result.get_statevector("saved"), local.get_statevector("saved"))
    assert result.get_counts() == local.get_counts()


# ---------------------------------------------------------------- max_shot_size


def test_shot_parts_and_their_seeds():
    parts = svsim_parts.split_shots([11, 12], shots=1000, max_shot_size=300)
    assert [(p.experiment, p.shots) for p in parts] == [(0, 300), (0, 300), (0, 300), (0, 100)] + [
        (1, 300),
        (1, 300),
        (1, 300),
        (1, 100),
    ]
    # part 0 keeps the experiment's seed; the others are drawn from it, all distinct
    assert parts[0].seed == 11 and parts[4].seed == 12
    assert len({p.seed for p in parts}) == 8 and all(0 <= p.seed < 2**63 for p in parts)
    assert svsim_parts.split_shots([11], 1000, 300) == parts[:4]
    # not split: one part of all the shots
    assert svsim_parts.split_shots([5], 100, None) == [svsim_parts.Part(0, 100, 5)]
    assert svsim_parts.split_shots([5], 100, 100) == [svsim_parts.Part(0, 100, 5)]


def two_qubit_circuit(mid_circuit: bool) -> svsim.Circuit:
    """Four outcomes of unequal probabilities; with ``mid_circuit``, a measurement and
    a conditioned gate before the end, so each shot runs its own trajectory."""
    qc = svsim.Circuit(2, 2, name="mid" if mid_circuit else "plain2")
    qc.ry(1.1, 0).ry(0.5, 1).cx(0, 1).rz(0.3, 1)
    if mid_circuit:
        qc.measure(0, 0).x(1, condition=(0, 1)).ry(0.7, 1)
    return qc.measure([0, 1], [0, 1])


def expected_probabilities(qc: svsim.Circuit) -> np.ndarray:
    """Exact outcome probabilities, from a local run of many shots' worth: the
    dense reference here is the local backend with 200,000 shots."""
    counts = BasicSimulator().run(qc, shots=200_000, seed_simulator=1).result(WAIT).get_counts()
    return np.array([counts.get(k, 0) for k in ("00", "01", "10", "11")]) / 200_000


@pytest.mark.parametrize("mid_circuit", [False, True])
def test_max_shot_size_splits_shots_reproducibly(client, mid_circuit):
    qc = two_qubit_circuit(mid_circuit)
    backend = BasicSimulator(executor=client, max_job_size=1)
    shots = 4000
    with distributed.get_task_stream(client) as stream:
        job = backend.run(qc, shots=shots, seed_simulator=21, max_shot_size=1000, memory=True)
        result = job.result(WAIT)
    assert len(svsim_tasks(stream.data, job.job_id())) == 4  # 4 parts, one a task
    exp = result.results[0]
    assert exp.shots == shots and exp.seed_simulator == 21 and exp.metadata["shot_parts"] == 4
    counts = result.get_counts()
    assert sum(counts.values()) == shots and len(result.get_memory()) == shots
    assert {k: result.get_memory().count(k) for k in counts} == counts
    # the same seed and max_shot_size: the same counts and memory, whatever the tasks
    again = BasicSimulator(executor=client).run(
        qc, shots=shots, seed_simulator=21, max_shot_size=1000, memory=True
    )
    assert again.result(WAIT).get_memory() == result.get_memory()
    # part 0 is the local run's first 1000 shots
    local = BasicSimulator().run(qc, shots=1000, seed_simulator=21, memory=True).result(WAIT)
    assert result.get_memory()[:1000] == local.get_memory()
    # another max_shot_size draws other shots
    other = BasicSimulator(executor=client).run(
        qc, shots=shots, seed_simulator=21, max_shot_size=700, memory=True
    )
    assert other.result(WAIT).get_memory() != result.get_memory()
    # the merged counts follow the circuit's distribution: chi-square against the
    # outcome probabilities, 3 degrees of freedom, p = 0.001 at 16.27
    expected = expected_probabilities(qc) * shots
    observed = np.array([counts.get(k, 0) for k in ("00", "01", "10", "11")])
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    assert chi2 < 16.27, (observed, expected)
    # not split when the shots fit in one part: exactly the local run
    whole = BasicSimulator(executor=client).run(
        qc, shots=1000, seed_simulator=21, max_shot_size=1000
    )
    assert whole.result(WAIT).get_counts() == local.get_counts()


def test_max_shot_size_refuses_what_it_cannot_merge_before_sending(client):
    saved = two_qubit_circuit(False)
    saved.save_probabilities([0])
    backend = BasicSimulator(executor=client)
    with distributed.get_task_stream(client) as stream:
        with pytest.raises(svsim.SimulatorError, match="max_shot_size=100 would split"):
            backend.run([two_qubit_circuit(False), saved], shots=1000, max_shot_size=100)
        with pytest.raises(svsim.SimulatorError, match="max_shot_size must be an int >= 1"):
            backend.run(saved, shots=1000, max_shot_size=0)
    assert stream.data == [] and backend.jobs() == []
    # a circuit with saves whose shots fit in one part runs
    result = backend.run(saved, shots=100, max_shot_size=100).result(WAIT)
    assert "probabilities" in result.data(0)
    # elsewhere than on a Dask client, max_shot_size is refused, not ignored
    with pytest.raises(svsim.SimulatorError, match="needs BasicSimulator\\(executor=distributed"):
        BasicSimulator().run(saved, shots=1000, max_shot_size=100)
