"""BasicSimulator and BasicProvider: run() checks, real kernel jobs, cancel, errors, load."""

from __future__ import annotations

import gc
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np
import pytest
import svsim
from spy_executor import SpyExecutor
from svsim import engine
from svsim.backend import BasicProvider, BasicSimulator
from svsim.job import JobStatus

WAIT = 120.0  # a bound for waits that should end much sooner: a bug fails, never hangs


@pytest.fixture
def jobs():
    """Jobs a test starts; any still running at its end are cancelled, so a
    failing test does not leave the worker busy for the tests after it."""
    started: list[svsim.BasicProviderJob] = []
    yield started
    for job in started:
        job.cancel()


def chain_circuit(num_qubits: int, num_gates: int, name: str = "chain") -> svsim.Circuit:
    """rx and cx gates alternating along the qubits: work for every amplitude."""
    qc = svsim.Circuit(num_qubits, name=name)
    k = 0
    while len(qc.data) < num_gates:
        q = k % num_qubits
        if k % 2 == 0:
            qc.rx(0.1 + 0.01 * k, q)
        else:
            qc.cx(q, (q + 1) % num_qubits)
        k += 1
    return qc


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def wait_until_running(job, min_progress: float = 0.0) -> None:
    deadline = time.monotonic() + WAIT
    while not (job.running() and job.progress() > min_progress):
        assert not job.in_final_state(), job.status()
        assert time.monotonic() < deadline
        time.sleep(0.001)


# ---------------------------------------------------------------- the backend


def test_name_options_and_settings():
    backend = BasicSimulator(precision="single", max_parallel_threads=1, fusion=False)
    assert backend.name == "basic_simulator"  # Qiskit's name
    assert backend.backend_version == svsim.__version__
    assert (backend.precision, backend.max_parallel_threads, backend.fusion) == ("single", 1, False)
    options = backend.options
    # Qiskit's BasicSimulator defaults: memory=True.
    assert (options.shots, options.memory, options.seed_simulator) == (1024, True, None)
    assert options.use_clifford_optimization is False and options.initial_statevector is None
    assert (options.precision, options.method) == ("single", "automatic")
    assert "svsim" in repr(backend) or "BasicSimulator" in repr(backend)


def test_max_num_qubits_follows_precision_and_memory():
    assert BasicSimulator(max_memory_mb=16).max_num_qubits == 20  # 2**20 * 16 B = 16 MiB
    assert BasicSimulator(max_memory_mb=16, precision="single").max_num_qubits == 21
    assert BasicSimulator(max_memory_mb=15.9).max_num_qubits == 19
    assert BasicSimulator().max_num_qubits >= 20


@pytest.mark.parametrize(
    "kwargs",
    [
        {"precision": "half"},
        {"precision": 64},
        {"max_parallel_threads": -1},
        {"max_parallel_threads": True},
        {"max_parallel_threads": 1.5},
        {"fusion": "yes"},
        {"max_memory_mb": 0},
        {"max_memory_mb": float("nan")},
        {"executor": "pool"},
    ],
)
def test_bad_backend_settings(kwargs):
    with pytest.raises(svsim.SimulatorError):
        BasicSimulator(**kwargs)


def test_default_executor_is_one_lazy_worker():
    backend = BasicSimulator()
    assert backend._executor is None  # nothing made until a job needs it
    executor = backend.executor
    # a daemon-thread executor, so interpreter exit need not wait for its jobs
    assert isinstance(executor, svsim.job.DaemonThreadExecutor)
    assert isinstance(executor, Executor)
    assert backend.executor is executor
    assert executor._max_workers == 1


def test_given_executor_runs_the_jobs():
    spy = SpyExecutor()
    backend = BasicSimulator(executor=spy)
    job = backend.run(svsim.Circuit(1, 1).x(0).measure(0, 0), shots=3)
    assert job.result(timeout=WAIT).get_counts() == {"1": 3}
    assert spy.submitted == 1
    spy.shutdown()


def test_provider():
    provider = BasicProvider()
    backend = provider.get_backend()
    assert isinstance(backend, BasicSimulator) and backend.name == "basic_simulator"
    assert provider.get_backend("basic_simulator") is backend  # Qiskit's name
    assert provider.get_backend("svsim") is backend  # svsim's own, an alias
    assert backend.provider is provider
    assert provider.backends() == [backend]
    # Qiskit's provider raises for an unknown name in backends() and get_backend()
    for lookup in (provider.backends, provider.get_backend):
        with pytest.raises(svsim.BackendNotFoundError, match="'other' backend is not installed"):
            lookup("other")
    single = provider.get_backend(precision="single")
    assert single is not backend and single.precision == "single"
    assert svsim.BasicProvider is BasicProvider and svsim.BasicSimulator is BasicSimulator


# ---------------------------------------------------------------- run() checks


def bell() -> svsim.Circuit:
    return svsim.Circuit(2, 2, name="bell").h(0).cx(0, 1).measure([0, 1], [0, 1])


BAD_RUNS = [
    ({"run_input": "not a circuit"}, svsim.CircuitError, "item 0 is a str"),
    ({"run_input": [bell(), 3]}, svsim.CircuitError, "item 1 is a int"),
    ({"run_input": []}, svsim.CircuitError, "at least one circuit"),
    ({"shots": 0}, svsim.CircuitError, "shots"),
    ({"shots": -5}, svsim.CircuitError, "shots"),
    ({"shots": True}, svsim.CircuitError, "shots"),
    ({"shots": 10.0}, svsim.CircuitError, "shots"),
    ({"shots": "10"}, svsim.CircuitError, "shots"),
    ({"memory": "yes"}, svsim.CircuitError, "memory"),
    ({"seed_simulator": -1}, svsim.CircuitError, "seed_simulator"),
    ({"seed_simulator": 2**63}, svsim.CircuitError, "seed_simulator"),
    ({"seed_simulator": 1.0}, svsim.CircuitError, "seed_simulator"),
    ({"seed_simulator": True}, svsim.CircuitError, "seed_simulator"),
    ({"initial_statevector": [1, 0]}, svsim.CircuitError, "shape"),
    ({"initial_statevector": [1, 1, 0, 0]}, svsim.CircuitError, "norm"),
    ({"precision": "half"}, svsim.SimulatorError, "precision"),
    ({"max_parallel_threads": -2}, svsim.SimulatorError, "max_parallel_threads"),
    ({"run_input": chain_circuit(17, 2), "max_memory_mb": 1}, svsim.SimulatorError, "17 qubits"),
    (
        {"run_input": [chain_circuit(15, 2)] * 3, "max_memory_mb": 1},
        svsim.SimulatorError,
        "together",
    ),
    (
        {"run_input": svsim.Circuit(1).save_probabilities(label="counts")},
        svsim.CircuitError,
        "label 'counts'",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_RUNS)
def test_bad_run_input_raises_before_any_job(kwargs, error, match):
    spy = SpyExecutor()
    backend = BasicSimulator(executor=spy)
    kwargs = dict(kwargs)
    run_input = kwargs.pop("run_input", bell())
    with pytest.raises(error, match=match):
        backend.run(run_input, **kwargs)
    assert spy.submitted == 0
    spy.shutdown()


def test_qiskit_circuit_without_the_converter_says_how_to_install(monkeypatch):
    class QuantumCircuit:  # stands for qiskit's, whatever is installed
        __module__ = "qiskit.circuit.quantumcircuit"

    monkeypatch.delattr(svsim.Circuit, "from_qiskit", raising=False)
    spy = SpyExecutor()
    with pytest.raises(svsim.CircuitError, match=r"pip install svsim\[qiskit\]"):
        BasicSimulator(executor=spy).run(QuantumCircuit())
    assert spy.submitted == 0
    spy.shutdown()


def test_unknown_options_warn_and_are_ignored():
    backend = BasicSimulator()
    with pytest.warns(UserWarning, match="Option chop_threshold is not used by this backend"):
        job = backend.run(bell(), shots=10, seed_simulator=1, chop_threshold=1e-10)
    assert sum(job.result(timeout=WAIT).get_counts().values()) == 10


def test_run_options_override_the_backends_settings():
    backend = BasicSimulator(max_parallel_threads=2)
    result = backend.run(
        svsim.Circuit(1).h(0), shots=1, precision="single", max_parallel_threads=1, fusion=False
    ).result(timeout=WAIT)
    meta = result.results[0].metadata
    assert meta["precision"] == "single" and meta["threads"] == 1
    assert meta["fusion"]["enabled"] is False and meta["fusion"]["applied"] is False
    assert result.get_statevector().dtype == np.complex64
    assert backend.precision == "double"  # the override was for that run only


def test_circuits_are_snapshotted_at_run():
    backend = BasicSimulator(executor=SpyExecutor())
    gate = threading.Event()
    backend.executor.submit(gate.wait, WAIT)  # hold the worker
    qc = svsim.Circuit(1, 1, name="snap").measure(0, 0)
    job = backend.run(qc, shots=4)
    qc.x(0)  # after run(): must not reach the queued job
    gate.set()
    assert job.result(timeout=WAIT).get_counts() == {"0": 4}


def test_initial_statevector():
    state = np.array([0, 0, 0, 1], dtype=complex)
    result = (
        BasicSimulator()
        .run(svsim.Circuit(2, 2).measure([0, 1], [0, 1]), shots=5, initial_statevector=state)
        .result(timeout=WAIT)
    )
    assert result.get_counts() == {"11": 5}


# ---------------------------------------------------------------- results and seeds


def test_seeds_recorded_per_experiment_and_reproducible():
    backend = BasicSimulator()
    circuits = [bell(), svsim.Circuit(3, 3, name="h3").h([0, 1, 2]).measure([0, 1, 2], [0, 1, 2])]
    first = backend.run(circuits, shots=200, memory=True).result(timeout=WAIT)
    seeds = [r.seed_simulator for r in first.results]
    assert seeds[1] == (seeds[0] + 1) % 2**63
    again = backend.run(circuits, shots=200, memory=True, seed_simulator=seeds[0]).result(WAIT)
    assert [again.get_memory(i) for i in range(2)] == [first.get_memory(i) for i in range(2)]
    alone = backend.run(circuits[1], shots=200, memory=True, seed_simulator=seeds[1]).result(WAIT)
    assert alone.get_memory() == first.get_memory(1)
    wrap = backend.run(circuits, shots=1, seed_simulator=2**63 - 1).result(WAIT)
    assert [r.seed_simulator for r in wrap.results] == [2**63 - 1, 0]


def test_same_seed_same_memory_at_one_and_two_threads():
    qc = chain_circuit(16, 120, name="wide").measure_all()  # 2**16 amplitudes: threads engage
    runs = [
        BasicSimulator(max_parallel_threads=t)
        .run(qc, shots=300, memory=True, seed_simulator=99)
        .result(timeout=WAIT)
        for t in (1, 2)
    ]
    assert runs[0].get_memory() == runs[1].get_memory()
    assert [r.results[0].metadata["threads"] for r in runs] == [1, 2]


def test_counts_follow_the_uniform_distribution():
    """H on 3 qubits: chi-square of 8000 shots against 1000 per outcome, at fixed seeds.

    With 7 degrees of freedom, chi2 > 24.32 has probability 0.001 for a fair
    sampler; a biased one (one outcome off by 10%) scores around 100.
    """
    qc = svsim.Circuit(3, 3, name="h3").h([0, 1, 2]).measure([0, 1, 2], [0, 1, 2])
    backend = BasicSimulator()
    for seed in (1, 2, 3):
        counts = backend.run(qc, shots=8000, seed_simulator=seed).result(WAIT).get_counts()
        assert sorted(counts) == [format(i, "03b") for i in range(8)]
        observed = np.array([counts[format(i, "03b")] for i in range(8)])
        chi2 = float(((observed - 1000) ** 2 / 1000).sum())
        assert chi2 < 24.32, (seed, counts)


def test_metadata_records_the_sampling_method_and_settings():
    backend = BasicSimulator(max_parallel_threads=1)
    mid = svsim.Circuit(2, 2, name="mid").h(0).measure(0, 0).x(1, condition=(0, 1))
    mid.measure(1, 1)
    result = backend.run([bell(), mid], shots=50, seed_simulator=4).result(WAIT)
    terminal, trajectory = (r.metadata for r in result.results)
    assert terminal["method"] == trajectory["method"] == "statevector"
    assert terminal["shot_method"] == "sampling" and terminal["measure_sampling"] is True
    assert trajectory["shot_method"] == "branching" and trajectory["measure_sampling"] is False
    for meta in (terminal, trajectory):
        assert meta["threads"] == 1 and meta["precision"] == "double"
        assert meta["fusion"]["enabled"] is True
        assert meta["parallel_shots"] == 1
    assert set(result.get_counts(1)) <= {"00", "11"}
    header = result.results[0].header
    assert header["name"] == "bell" and header["creg_sizes"] == [["c", 2]]
    assert header["memory_slots"] == 2 and header["n_qubits"] == 2
    assert (
        result.backend_name == "basic_simulator" and result.success and result.status == "COMPLETED"
    )
    assert result.job_id and result.date


# ---------------------------------------------------------------- the kernel's jobs


def test_fusion_is_recorded_and_can_be_turned_off():
    qc = chain_circuit(16, 300, name="fusable").measure_all()
    fused = BasicSimulator().run(qc, shots=100, seed_simulator=8).result(WAIT)
    plain = BasicSimulator(fusion=False).run(qc, shots=100, seed_simulator=8).result(WAIT)
    assert fused.results[0].metadata["fusion"]["enabled"] is True
    assert fused.results[0].metadata["fusion"]["applied"] is True
    ops = plain.results[0].metadata["fusion"]["ops_encoded"]
    assert fused.results[0].metadata["fusion"]["ops_run"] < ops
    assert plain.results[0].metadata["fusion"] == {
        "enabled": False,
        "applied": False,
        "ops_encoded": ops,
        "ops_run": ops,
        "gates_run": {"dense_1": 150, "diagonal": 0, "permutation": 150},  # rx, cx
        "gate_sweeps": plain.results[0].metadata["fusion"]["gate_sweeps"],
        "threshold": engine.FUSION_THRESHOLD,
        "max_fused_qubits": engine.MAX_FUSED_QUBITS,
    }
    fused_gates = fused.results[0].metadata["fusion"]["gates_run"]
    assert sum(fused_gates.values()) == fused.results[0].metadata["fusion"]["ops_run"] - 16
    assert fused_gates["permutation"] == 0  # every cx went into a fused block
    # Gates on qubits below 15 run a cache-sized block at a time: one sweep per run of them.
    sweeps = [r.results[0].metadata["fusion"]["gate_sweeps"] for r in (fused, plain)]
    assert 0 < sweeps[0] <= 8 and 8 < sweeps[1] < 300
    np.testing.assert_allclose(fused.get_statevector(), plain.get_statevector(), atol=1e-10, rtol=0)


def test_cancel_running_kernel_job_stops_it_early(jobs):
    """A 22-qubit, 2000-gate job cancelled once it runs ends CANCELLED in a small
    part of the time the same job takes uncancelled, measured here too.  Fusion
    is off so that the job is long (fused, it takes a fraction of a second)."""
    qc = chain_circuit(22, 2000, name="long")
    backend = BasicSimulator(fusion=False)
    start = time.perf_counter()
    backend.run(qc, shots=1, seed_simulator=1).result(timeout=WAIT)
    full = time.perf_counter() - start

    start = time.perf_counter()
    job = backend.run(qc, shots=1, seed_simulator=1)
    jobs.append(job)
    wait_until_running(job)
    assert job.cancel() is True
    cancelled_after = time.perf_counter() - start
    assert job.status() is JobStatus.CANCELLED
    assert job.progress() < 0.5
    assert cancelled_after < full / 3, (cancelled_after, full)
    with pytest.raises(svsim.JobError, match="cancelled"):
        job.result()
    # the backend goes on serving
    assert backend.run(bell(), shots=4, seed_simulator=2).result(WAIT).get_counts() != {}


def test_cancel_queued_kernel_job_never_starts(jobs):
    backend = BasicSimulator(fusion=False)  # a long first job
    running = backend.run(chain_circuit(22, 3000, name="first"), shots=1)
    jobs.append(running)
    queued = backend.run(bell(), shots=10)
    jobs.append(queued)
    assert queued.status() is JobStatus.QUEUED and queued.progress() == 0.0
    assert queued.cancel() is True
    assert queued.status() is JobStatus.CANCELLED
    assert running.cancel() is True
    later = backend.run(bell(), shots=10)
    assert later.result(timeout=WAIT).get_counts()
    assert queued.status() is JobStatus.CANCELLED and queued.progress() == 0.0
    with pytest.raises(svsim.JobError):
        queued.result()


def test_kernel_releases_the_gil_and_cancel_frees_the_state(jobs):
    """While the kernel runs, this thread keeps running Python: it counts and
    reads the job's progress between 0 and 1.  With the GIL held for the whole
    call it could not run at all until the kernel returned."""
    backend = BasicSimulator(max_parallel_threads=1, fusion=False)  # a long job
    job = backend.run(chain_circuit(22, 3000, name="gil"), shots=1)
    jobs.append(job)
    wait_until_running(job)
    count = 0
    during = []
    progress = []
    while len(during) < 2000 and not job.in_final_state():
        count += 1
        p = job.progress()
        if 0.0 < p < 1.0:
            during.append(count)
            progress.append(p)
    assert len(during) == 2000, "the job ended before Python could count"
    assert progress == sorted(progress)  # progress only moves forward
    rss_running = rss_bytes()
    assert job.cancel() is True
    state_bytes = (1 << 22) * 16
    assert rss_bytes() < rss_running - state_bytes // 2  # the 64 MiB state is gone


def test_result_timeout_on_a_long_job_then_result(jobs):
    backend = BasicSimulator(fusion=False)
    job = backend.run(chain_circuit(21, 300, name="slow"), shots=3, seed_simulator=5)
    jobs.append(job)
    with pytest.raises(svsim.JobTimeoutError):
        job.result(timeout=0.01)
    assert not job.in_final_state()
    result = job.result(timeout=WAIT)
    assert job.done() and job.progress() == 1.0
    assert result.get_counts() == {}  # no clbits
    assert result.get_statevector().shape == (1 << 21,)


def test_wait_for_final_state_with_callback_on_a_kernel_job(jobs):
    backend = BasicSimulator()
    job = backend.run(chain_circuit(22, 600, name="poll"), shots=1)
    jobs.append(job)
    calls = []
    job.wait_for_final_state(timeout=WAIT, wait=0.01, callback=lambda *a: calls.append(a))
    assert job.done()
    assert calls and all(c[0] == job.job_id() and c[2] is job for c in calls)
    assert {c[1] for c in calls} <= {JobStatus.QUEUED, JobStatus.RUNNING}


def test_memory_refused_at_run_time_ends_the_job_in_error(monkeypatch):
    """The default memory limit follows the memory available.  A job checked
    against it at run(), then queued while the memory ran out, is refused by
    the engine when it starts: the job ends ERROR with the SimulatorError as
    its cause, and the backend serves the next job."""
    executor = ThreadPoolExecutor(max_workers=1)
    backend = BasicSimulator(executor=executor)
    gate = threading.Event()
    executor.submit(gate.wait, WAIT)  # other work ahead in the queue
    job = backend.run(chain_circuit(12, 10), shots=1)
    assert job.status() is JobStatus.QUEUED
    monkeypatch.setattr(engine, "available_memory_bytes", lambda: 1 << 16)
    gate.set()
    with pytest.raises(svsim.JobError, match="failed") as info:
        job.result(timeout=WAIT)
    assert isinstance(info.value.__cause__, svsim.SimulatorError)
    assert job.status() is JobStatus.ERROR
    monkeypatch.undo()
    after = backend.run(bell(), shots=8).result(timeout=WAIT)
    assert sum(after.get_counts().values()) == 8
    executor.shutdown()


def test_two_hundred_jobs_from_eight_threads():
    backend = BasicSimulator(max_parallel_threads=1)
    found: dict[int, svsim.BasicProviderJob] = {}
    errors = []

    def submit(thread: int) -> None:
        try:
            for i in range(25):
                k = thread * 25 + i
                value = k % 32
                qc = svsim.Circuit(5, name=f"job{k}")
                for q in range(5):
                    if value >> q & 1:
                        qc.x(q)
                qc.measure_all()
                found[k] = backend.run(qc, shots=16, seed_simulator=k)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not errors
    assert len(found) == 200
    assert len({job.job_id() for job in found.values()}) == 200
    for k, job in found.items():
        assert job.result(timeout=WAIT).get_counts() == {format(k % 32, "05b"): 16}
        assert job.status() is JobStatus.DONE


def test_dropping_job_and_result_frees_the_state_without_the_garbage_collector():
    """No reference cycle holds a finished job's states: dropping the job and its
    result returns the memory at once, with the cyclic garbage collector off."""
    backend = BasicSimulator()
    state_bytes = (1 << 22) * 16
    backend.run(bell(), shots=1).result(timeout=WAIT)  # warm up threads and imports
    gc.collect()
    gc.disable()
    try:
        before = rss_bytes()
        job = backend.run(chain_circuit(22, 4), shots=1)
        result = job.result(timeout=WAIT)
        assert result.get_statevector().nbytes == state_bytes
        assert rss_bytes() > before + state_bytes // 2
        del job, result
        assert rss_bytes() < before + state_bytes // 4
    finally:
        gc.enable()


# ---------------------------------------------------------------- method choice


def ghz_measured(num_qubits: int) -> svsim.Circuit:
    circuit = svsim.Circuit(num_qubits, num_qubits, name=f"ghz{num_qubits}").h(0)
    for q in range(num_qubits - 1):
        circuit.cx(q, q + 1)
    return circuit.measure(range(num_qubits), range(num_qubits))


def only_all_equal(counts: dict[str, int], num_qubits: int) -> bool:
    return set(counts) <= {"0" * num_qubits, "1" * num_qubits}


def test_a_clifford_circuit_too_wide_for_a_statevector_runs_with_the_stabilizer_method():
    pytest.importorskip("stim", reason="needs Stim: pip install '.[stabilizer]'")
    backend = BasicSimulator(max_memory_mb=64)
    result = backend.run(ghz_measured(40), shots=400, seed_simulator=3).result(WAIT)
    counts = result.get_counts()
    assert only_all_equal(counts, 40) and len(counts) == 2 and sum(counts.values()) == 400
    assert result.results[0].metadata["method"] == "stabilizer"
    with pytest.raises(svsim.SvsimError, match="stabilizer method, which keeps no statevector"):
        result.get_statevector()
    # a circuit that fits keeps the statevector method unless asked otherwise
    small = backend.run(ghz_measured(10), shots=10).result(WAIT)
    assert small.results[0].metadata["method"] == "statevector"


def test_use_clifford_optimization_and_method_choose_the_stabilizer():
    pytest.importorskip("stim", reason="needs Stim: pip install '.[stabilizer]'")
    backend = BasicSimulator()
    clifford, other = ghz_measured(6), ghz_measured(6).t(0)
    for options in ({"use_clifford_optimization": True}, {"method": "stabilizer"}):
        result = backend.run(clifford, shots=300, seed_simulator=5, **options).result(WAIT)
        assert result.results[0].metadata["method"] == "stabilizer"
        assert only_all_equal(result.get_counts(), 6)
    # the same seed gives the same shots; another seed other ones
    again = backend.run(clifford, shots=300, seed_simulator=5, method="stabilizer").result(WAIT)
    assert again.get_memory() == result.get_memory()
    other_seed = backend.run(clifford, shots=300, seed_simulator=6, method="stabilizer")
    assert other_seed.result(WAIT).get_memory() != result.get_memory()
    # not Clifford: use_clifford_optimization falls back, method="stabilizer" refuses
    fallback = backend.run(other, shots=10, use_clifford_optimization=True).result(WAIT)
    assert fallback.results[0].metadata["method"] == "statevector"
    with pytest.raises(svsim.CircuitError, match=r"stabilizer method.*'t'"):
        backend.run(other, method="stabilizer")
    state = np.zeros(1 << 6, dtype=complex)
    state[0] = 1.0
    with pytest.raises(svsim.CircuitError, match="initial_statevector"):
        backend.run(clifford, method="stabilizer", initial_statevector=state)
    fallback = backend.run(
        clifford, shots=5, use_clifford_optimization=True, initial_statevector=state
    )
    assert fallback.result(WAIT).results[0].metadata["method"] == "statevector"
    with pytest.raises(svsim.SimulatorError, match="method must be one of"):
        backend.run(clifford, method="tableau")


def test_a_stabilizer_run_that_does_not_fit_is_refused_before_it_starts():
    pytest.importorskip("stim", reason="needs Stim: pip install '.[stabilizer]'")
    backend = BasicSimulator(max_memory_mb=1)
    with pytest.raises(svsim.SimulatorError, match="with the stabilizer method"):
        backend.run(ghz_measured(300), shots=10**6)
    assert backend.jobs() == []


def test_without_stim_clifford_circuits_that_fit_run_as_statevectors():
    code = """
        import sys
        class _Block:
            def find_spec(self, name, path=None, target=None):
                if name == "stim" or name.startswith("stim."):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, _Block())
        import svsim
        c = svsim.Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
        backend = svsim.BasicSimulator(max_memory_mb=64)
        result = backend.run(c, shots=50, use_clifford_optimization=True).result()
        assert result.results[0].metadata["method"] == "statevector"
        wide = svsim.Circuit(40, 1).h(0).measure(0, 0)
        try:
            backend.run(wide)
        except svsim.exceptions.MissingExtraError as exc:
            assert 'pip install "svsim[stabilizer]"' in str(exc), str(exc)
        else:
            raise AssertionError("ran a 40-qubit circuit without Stim")
        print("ok")
    """
    import subprocess
    import sys
    import textwrap

    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
