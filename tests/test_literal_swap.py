"""The literal import swap: Qiskit programs for ``BasicSimulator``, run on both simulators.

Each test is a small program a Qiskit user writes for
``qiskit.providers.basic_provider``: transpile and run circuits, read counts,
memory and results, set options, handle errors, use the V2 primitives. The
``lib`` fixture is the module the program imports ``BasicSimulator`` and
``BasicProvider`` from, and every test runs twice: once on Qiskit's own
``qiskit.providers.basic_provider`` (which proves the test itself is right) and
once on ``svsim`` (the swap). Everything else (``transpile``, ``JobStatus``,
``Result``, ``marginal_counts``, ``BasicProviderError``, the primitives) comes
from Qiskit, exactly as in the user's program.

The two simulators draw different random streams, so distributions are
compared with chi-square or binomial tests against the exact probabilities
(from ``qiskit.quantum_info.Statevector``), never as exact counts across
simulators. Seeds are fixed, so a run is reproducible on each simulator; a
test fails below p = 1e-4.

svsim's ``run()`` returns before the simulation is done (Qiskit's returns a
job that is already DONE), so no test expects DONE before ``result()`` or
``wait_for_final_state()``.
"""

from __future__ import annotations

import importlib
import math
import time
from collections import Counter

import numpy as np
import pytest

qiskit = pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")

from qiskit import (  # noqa: E402
    ClassicalRegister,
    QuantumCircuit,
    QuantumRegister,
    transpile,
)
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.circuit.library import MCXGate, QFTGate  # noqa: E402
from qiskit.exceptions import QiskitError  # noqa: E402
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2  # noqa: E402
from qiskit.providers import BackendV2, JobStatus, JobV1, Options  # noqa: E402
from qiskit.providers.basic_provider import BasicProviderError  # noqa: E402
from qiskit.providers.exceptions import QiskitBackendNotFoundError  # noqa: E402
from qiskit.providers.jobstatus import JOB_FINAL_STATES  # noqa: E402
from qiskit.quantum_info import SparsePauliOp, Statevector, random_unitary  # noqa: E402
from qiskit.result import Counts, Result, marginal_counts  # noqa: E402
from qiskit.transpiler import Target, generate_preset_pass_manager  # noqa: E402
from scipy import stats  # noqa: E402  (a dependency of Qiskit)

# The module a user imports from: Qiskit's (the reference) and svsim (the swap).
# The ids: `pytest -k qiskit_ref` runs the reference half, `-k svsim` the swap.
SIMULATOR_MODULES = {
    "qiskit_ref": "qiskit.providers.basic_provider",
    "svsim": "svsim",
}

P_MIN = 1e-4  # a statistical check fails below this p-value
Z_MAX = float(stats.norm.isf(P_MIN / 2))  # the two-sided normal bound for P_MIN
SEED = 1234

# What Qiskit's BasicSimulator holds in `options` when it is made.
QISKIT_DEFAULT_OPTIONS = {
    "shots": 1024,
    "memory": True,
    "initial_statevector": None,
    "seed_simulator": None,
    "use_clifford_optimization": False,
}


@pytest.fixture(params=list(SIMULATOR_MODULES))
def lib(request):
    """The module the program imports BasicSimulator and BasicProvider from."""
    return importlib.import_module(SIMULATOR_MODULES[request.param])


@pytest.fixture
def backend(lib):
    return lib.BasicSimulator()


# --------------------------------------------------------------------------
# circuits and statistics
# --------------------------------------------------------------------------


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz{n}")
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def biased() -> QuantumCircuit:
    """Qubit 0 is 1 with probability 1/4; qubit 1 is always 1."""
    qc = QuantumCircuit(2, 2, name="biased")
    qc.ry(math.pi / 3, 0)
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    return qc


def exact_probabilities(qc: QuantumCircuit) -> dict[str, float]:
    """Outcome probabilities of a circuit whose only measurements are a final
    ``measure_all``, from Qiskit's reference Statevector."""
    state = Statevector(qc.remove_final_measurements(inplace=False))
    return {k: p for k, p in state.probabilities_dict().items() if p > 1e-12}


def assert_distribution(counts: dict[str, int], probs: dict[str, float]) -> None:
    """Chi-square goodness of fit of `counts` to `probs` (outcomes of
    probability zero must not appear at all)."""
    impossible = {k: v for k, v in counts.items() if probs.get(k, 0.0) <= 1e-12}
    assert not impossible, f"outcomes of probability 0 were drawn: {impossible}"
    keys = sorted(probs)
    shots = sum(counts.values())
    observed = np.array([counts.get(k, 0) for k in keys], dtype=float)
    expected = np.array([probs[k] for k in keys], dtype=float)
    expected *= shots / expected.sum()
    if len(keys) > 1:
        p = stats.chisquare(observed, expected).pvalue
        assert p >= P_MIN, f"p = {p:.3g}: counts {counts} against probabilities {probs}"


def assert_binomial(successes: int, trials: int, p: float) -> None:
    pvalue = stats.binomtest(successes, trials, p).pvalue
    assert pvalue >= P_MIN, f"{successes} of {trials} (expected p = {p}): p-value {pvalue:.3g}"


def assert_expectation(value: float, exact: float, shots: int) -> None:
    """An expectation value estimated from `shots` shots lies within shot noise."""
    std = math.sqrt(max(1.0 - exact * exact, 0.0) / shots)
    assert abs(value - exact) <= Z_MAX * std + 1e-9, (value, exact, std)


# --------------------------------------------------------------------------
# the backend object
# --------------------------------------------------------------------------


def test_import_every_name_of_qiskits_basic_provider(lib):
    """`from <module> import BasicProvider, BasicProviderError, BasicProviderJob,
    BasicSimulator` works, and the error is (a subclass of) Qiskit's."""
    reference = importlib.import_module(SIMULATOR_MODULES["qiskit_ref"])
    for name in reference.__all__:
        assert hasattr(lib, name), name
    assert issubclass(lib.BasicProviderError, BasicProviderError)


def test_backend_is_a_qiskit_backend_v2(backend):
    assert isinstance(backend, BackendV2)
    assert backend.version == 2


def test_backend_name_is_basic_simulator(backend):
    assert backend.name == "basic_simulator"


def test_backend_target_has_no_fixed_width_or_coupling_map(backend):
    """No qubit count and no coupling map: transpile keeps the circuit's width."""
    assert isinstance(backend.target, Target)
    assert backend.target.num_qubits is None
    assert backend.num_qubits is None
    assert backend.coupling_map is None
    assert "measure" in backend.target
    assert "cx" in backend.target


def test_backend_operation_names_hold_every_name_of_qiskits_target(backend):
    reference = importlib.import_module(SIMULATOR_MODULES["qiskit_ref"]).BasicSimulator()
    names = set(backend.operation_names)
    missing = set(reference.operation_names) - names
    assert not missing, f"operations of Qiskit's BasicSimulator missing: {sorted(missing)}"
    assert names == set(backend.target.operation_names)


def test_backend_max_circuits_is_none(backend):
    assert backend.max_circuits is None


def test_backend_options_are_qiskit_options_with_qiskits_defaults(backend):
    assert isinstance(backend.options, Options)
    for key, value in QISKIT_DEFAULT_OPTIONS.items():
        assert hasattr(backend.options, key), key
        assert getattr(backend.options, key) == value, key


# --------------------------------------------------------------------------
# transpile, run, get_counts
# --------------------------------------------------------------------------


def test_transpile_and_run_a_bell_circuit(backend):
    qc = bell()
    job = backend.run(transpile(qc, backend), shots=2000, seed_simulator=SEED)
    counts = job.result().get_counts()
    assert sum(counts.values()) == 2000
    assert_distribution(counts, {"00": 0.5, "11": 0.5})


def test_transpile_and_run_a_ghz_circuit(backend):
    qc = ghz(5)
    counts = backend.run(transpile(qc, backend), shots=2000, seed_simulator=SEED).result()
    counts = counts.get_counts()
    assert_distribution(counts, {"00000": 0.5, "11111": 0.5})


def test_counts_with_several_classical_registers(backend):
    """Each register is one word, the last-added register leftmost."""
    qr = QuantumRegister(3, "q")
    first = ClassicalRegister(1, "first")
    second = ClassicalRegister(2, "second")
    qc = QuantumCircuit(qr, first, second)
    qc.x(0)
    qc.h(1)
    qc.x(2)
    qc.measure(0, first[0])
    qc.measure(1, second[0])
    qc.measure(2, second[1])
    result = backend.run(transpile(qc, backend), shots=2000, seed_simulator=SEED).result()
    counts = result.get_counts()
    assert all(len(key.split(" ")) == 2 for key in counts), counts
    assert_distribution(counts, {"10 1": 0.5, "11 1": 0.5})
    memory = result.get_memory()
    assert Counter(memory) == counts


def test_transpile_rewrites_a_qft_gate(backend):
    qc = QuantumCircuit(3)
    qc.ry(0.3, 0)
    qc.ry(1.1, 1)
    qc.x(2)
    qc.append(QFTGate(3), range(3))
    qc.measure_all()
    tqc = transpile(qc, backend)
    # whatever the target holds (svsim may hold more gates), the result runs on it
    assert set(tqc.count_ops()) <= set(backend.operation_names) | {"barrier"}
    counts = backend.run(tqc, shots=4000, seed_simulator=SEED).result().get_counts()
    assert sum(counts.values()) == 4000
    assert_distribution(counts, exact_probabilities(qc))


def test_transpile_rewrites_appended_gates_outside_the_basis(backend):
    sub = QuantumCircuit(2, name="entangle")
    sub.ry(0.7, 0)
    sub.cx(0, 1)
    sub.rz(0.4, 1)
    sub.sx(1)
    qc = QuantumCircuit(4)
    qc.h([0, 1, 2])
    qc.append(sub.to_gate(), [1, 3])
    qc.append(MCXGate(3), [0, 1, 2, 3])
    qc.measure_all()
    tqc = transpile(qc, backend)
    # a custom gate is in no target: transpile must rewrite it (and mcx unless
    # the target holds it, as svsim's may)
    assert "entangle" not in backend.operation_names
    assert set(tqc.count_ops()) <= set(backend.operation_names) | {"barrier"}
    assert "entangle" not in tqc.count_ops()
    counts = backend.run(tqc, shots=4000, seed_simulator=SEED).result().get_counts()
    assert_distribution(counts, exact_probabilities(qc))


def test_measure_all_adds_a_meas_register(backend):
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 2)
    qc.x(1)
    qc.measure_all()
    result = backend.run(transpile(qc, backend), shots=1000, seed_simulator=SEED).result()
    counts = result.get_counts()
    assert_distribution(counts, {"010": 0.5, "111": 0.5})
    header = result.results[0].header
    creg_sizes = header["creg_sizes"] if isinstance(header, dict) else header.creg_sizes
    assert [list(reg) for reg in creg_sizes] == [["meas", 3]]


def test_run_a_list_of_circuits_gives_a_list_of_counts(backend):
    one = QuantumCircuit(2, 2, name="one")
    one.x(0)
    one.measure([0, 1], [0, 1])
    two = QuantumCircuit(2, 2, name="two")
    two.x(1)
    two.measure([0, 1], [0, 1])
    result = backend.run(
        transpile([one, two, bell()], backend), shots=500, seed_simulator=SEED
    ).result()
    counts = result.get_counts()
    assert isinstance(counts, list) and len(counts) == 3
    assert counts[0] == {"01": 500}
    assert counts[1] == {"10": 500}
    assert_distribution(counts[2], {"00": 0.5, "11": 0.5})
    assert all(isinstance(c, Counts) for c in counts)


def test_get_counts_by_circuit_name_and_index(backend):
    one = QuantumCircuit(1, 1, name="one")
    one.x(0)
    one.measure(0, 0)
    zero = QuantumCircuit(1, 1, name="zero")
    zero.measure(0, 0)
    result = backend.run(transpile([zero, one], backend), shots=100).result()
    assert result.get_counts(one) == {"1": 100}
    assert result.get_counts(zero) == {"0": 100}
    assert result.get_counts("one") == {"1": 100}
    assert result.get_counts(0) == {"0": 100}


def test_unitary_gate_runs_as_a_unitary(backend):
    qc = QuantumCircuit(3)
    qc.h(2)
    qc.unitary(random_unitary(4, seed=7), [0, 2])
    qc.measure_all()
    tqc = transpile(qc, backend)
    assert "unitary" in backend.operation_names
    assert set(tqc.count_ops()) <= set(backend.operation_names) | {"barrier"}
    counts = backend.run(tqc, shots=4000, seed_simulator=SEED).result().get_counts()
    assert_distribution(counts, exact_probabilities(qc))


def test_assign_parameters_then_run(backend):
    theta = Parameter("theta")
    qc = QuantumCircuit(1)
    qc.rx(theta, 0)
    qc.measure_all()
    bound = qc.assign_parameters({theta: 2 * math.pi / 3})  # P(1) = 3/4
    counts = backend.run(transpile(bound, backend), shots=2000, seed_simulator=SEED).result()
    counts = counts.get_counts()
    assert_binomial(counts.get("1", 0), 2000, 0.75)


def test_mid_circuit_measurement_and_reset(backend):
    qc = QuantumCircuit(2, 3)
    qc.h(0)
    qc.measure(0, 0)  # random
    qc.reset(0)
    qc.measure(0, 1)  # 0 after the reset
    qc.x(0)
    qc.cx(0, 1)
    qc.measure(1, 2)  # 1
    counts = backend.run(transpile(qc, backend), shots=1000, seed_simulator=SEED).result()
    assert_distribution(counts.get_counts(), {"100": 0.5, "101": 0.5})


def test_a_circuit_without_measurements_gives_empty_counts(backend):
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    result = backend.run(transpile(qc, backend), shots=10).result()
    counts = result.get_counts()
    assert isinstance(counts, Counts)
    assert counts == {}
    assert result.get_memory() == []


# --------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------


def test_get_memory_works_without_asking_for_memory(backend):
    """Qiskit's BasicSimulator has memory=True in its options."""
    result = backend.run(transpile(bell(), backend), shots=300, seed_simulator=SEED).result()
    memory = result.get_memory()
    assert len(memory) == 300
    assert set(memory) <= {"00", "11"}
    assert Counter(memory) == result.get_counts()


def test_get_memory_with_memory_true(backend):
    result = backend.run(bell(), shots=200, memory=True, seed_simulator=SEED).result()
    memory = result.get_memory(0)
    assert len(memory) == 200
    assert Counter(memory) == result.get_counts()


def test_get_memory_with_memory_false_raises_qiskit_error(backend):
    result = backend.run(bell(), shots=200, memory=False, seed_simulator=SEED).result()
    assert sum(result.get_counts().values()) == 200
    with pytest.raises(QiskitError):
        result.get_memory()


# --------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------


def test_shots_given_to_the_constructor(lib):
    backend = lib.BasicSimulator(shots=100)
    assert backend.options.shots == 100
    result = backend.run(transpile(bell(), backend), seed_simulator=SEED).result()
    assert sum(result.get_counts().values()) == 100
    assert result.results[0].shots == 100


def test_unknown_option_to_the_constructor_raises_attribute_error(lib):
    with pytest.raises(AttributeError):
        lib.BasicSimulator(not_an_option=1)


def test_set_options_shots(backend):
    backend.set_options(shots=250)
    assert backend.options.shots == 250
    result = backend.run(bell(), seed_simulator=SEED).result()
    assert sum(result.get_counts().values()) == 250
    assert len(result.get_memory()) == 250


def test_shots_given_to_run_do_not_change_the_options(backend):
    result = backend.run(bell(), shots=64, seed_simulator=SEED).result()
    assert sum(result.get_counts().values()) == 64
    assert backend.options.shots == 1024
    result = backend.run(bell(), seed_simulator=SEED).result()
    assert sum(result.get_counts().values()) == 1024


def test_set_options_with_an_unknown_option_raises_attribute_error(backend):
    with pytest.raises(AttributeError):
        backend.set_options(not_an_option=1)


def test_unknown_run_option_warns_and_is_ignored(backend):
    with pytest.warns(UserWarning, match="Option not_an_option is not used by this backend"):
        job = backend.run(bell(), shots=100, seed_simulator=SEED, not_an_option=3)
    assert sum(job.result().get_counts().values()) == 100


def test_seed_simulator_makes_runs_reproducible(backend):
    qc = transpile(ghz(3), backend)
    first = backend.run(qc, shots=200, seed_simulator=SEED).result()
    second = backend.run(qc, shots=200, seed_simulator=SEED).result()
    other = backend.run(qc, shots=200, seed_simulator=SEED + 1).result()
    assert first.get_counts() == second.get_counts()
    assert first.get_memory() == second.get_memory()
    # 200 fair coin flips agree by chance with probability 2**-200
    assert first.get_memory() != other.get_memory()


def test_seed_simulator_set_as_an_option(lib):
    backend = lib.BasicSimulator(seed_simulator=SEED)
    qc = transpile(ghz(3), backend)
    first = backend.run(qc, shots=200).result().get_memory()
    second = backend.run(qc, shots=200).result().get_memory()
    assert first == second
    backend.set_options(seed_simulator=SEED + 1)
    third = backend.run(qc, shots=200).result().get_memory()
    assert third != first


def test_initial_statevector_from_qiskits_docstring(backend):
    """The example in BasicSimulator.run's docstring: (|00> + i|11>)/sqrt(2)."""
    circuit_2q = QuantumCircuit(2)
    circuit_2q.measure_all()
    result = backend.run(
        circuit_2q,
        initial_statevector=np.array([1, 0, 0, 1j]) / math.sqrt(2),
        shots=2000,
        seed_simulator=SEED,
    ).result()
    assert_distribution(result.get_counts(), {"00": 0.5, "11": 0.5})


def test_initial_statevector_is_the_state_the_gates_act_on(backend):
    initial = np.array([0.6, 0, 0.8j, 0])  # 0.6|00> + 0.8i|10>: qubit 1 set
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.s(1)
    qc.h(1)
    expected = Statevector(initial).evolve(qc).probabilities_dict()
    qc.measure_all()
    counts = (
        backend.run(
            transpile(qc, backend), initial_statevector=initial, shots=4000, seed_simulator=SEED
        )
        .result()
        .get_counts()
    )
    assert_distribution(counts, {k: p for k, p in expected.items() if p > 1e-12})


def test_initial_statevector_of_the_wrong_length_raises(backend):
    with pytest.raises(BasicProviderError):
        backend.run(bell(), initial_statevector=[1, 0, 0]).result()


def test_initial_statevector_not_normalised_raises(backend):
    with pytest.raises(BasicProviderError):
        backend.run(bell(), initial_statevector=[1, 0, 0, 1]).result()


# --------------------------------------------------------------------------
# jobs and results
# --------------------------------------------------------------------------


def test_job_is_a_qiskit_job(lib, backend):
    job = backend.run(bell(), shots=10)
    assert isinstance(job, lib.BasicProviderJob)
    assert isinstance(job, JobV1)
    job.result()


def test_result_is_a_qiskit_result(backend):
    job = backend.run(transpile(bell(), backend), shots=100)
    result = job.result()
    assert isinstance(result, Result)
    assert result.success is True
    assert result.backend_name == "basic_simulator"
    assert result.job_id == job.job_id()
    assert result.results[0].shots == 100
    assert result.results[0].success


def test_result_data_and_dict_round_trip(backend):
    qc = QuantumCircuit(2, 2)
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    result = backend.run(transpile(qc, backend), shots=50, seed_simulator=SEED).result()
    assert result.results[0].seed_simulator == SEED
    assert result.data(0)["counts"] == {"0x2": 50}
    again = Result.from_dict(result.to_dict())
    assert again.get_counts() == {"10": 50}
    assert again.get_memory() == ["10"] * 50


def test_job_status_is_done_after_result(backend):
    job = backend.run(transpile(bell(), backend), shots=100)
    job.result()
    assert job.status() == JobStatus.DONE
    assert isinstance(job.status(), JobStatus)


def test_job_id_and_job_backend(backend):
    first = backend.run(bell(), shots=10)
    second = backend.run(bell(), shots=10)
    assert isinstance(first.job_id(), str) and first.job_id()
    assert first.job_id() != second.job_id()
    assert first.backend() is backend
    first.result()
    second.result()


def test_get_counts_returns_qiskit_counts(backend):
    result = backend.run(transpile(biased(), backend), shots=1000, seed_simulator=SEED).result()
    counts = result.get_counts()
    assert isinstance(counts, Counts)
    assert counts.most_frequent() == "10"
    assert counts.shots() == 1000
    assert set(counts.int_outcomes()) <= {2, 3}
    assert_distribution(counts, {"10": 0.75, "11": 0.25})


def test_marginal_counts_of_a_result(backend):
    result = backend.run(transpile(biased(), backend), shots=2000, seed_simulator=SEED).result()
    on_qubit_0 = marginal_counts(result, [0]).get_counts()
    assert set(on_qubit_0) <= {"0", "1"}
    assert sum(on_qubit_0.values()) == 2000
    assert_binomial(on_qubit_0.get("1", 0), 2000, 0.25)
    result = backend.run(transpile(biased(), backend), shots=2000, seed_simulator=SEED).result()
    assert marginal_counts(result, [1]).get_counts() == {"1": 2000}


def test_job_done_and_in_final_state_after_wait_for_final_state(backend):
    job = backend.run(transpile(ghz(4), backend), shots=100)
    job.wait_for_final_state(timeout=120, wait=0.05)
    assert job.status() == JobStatus.DONE
    assert job.done()
    assert job.in_final_state()
    assert not job.running()
    assert not job.cancelled()
    assert sum(job.result().get_counts().values()) == 100


def test_poll_job_status_until_final(backend):
    job = backend.run(transpile(ghz(4), backend), shots=100)
    for _ in range(12000):  # a bound against hanging, not a timing check
        if job.status() in JOB_FINAL_STATES:
            break
        time.sleep(0.01)
    assert job.status() == JobStatus.DONE
    assert sum(job.result().get_counts().values()) == 100


# Qiskit's job warns that `timeout` means nothing to it; that is not what this checks.
@pytest.mark.filterwarnings("ignore:The timeout kwarg:UserWarning")
def test_job_result_with_a_timeout(backend):
    job = backend.run(transpile(bell(), backend), shots=500, seed_simulator=SEED)
    result = job.result(timeout=120)
    assert isinstance(result, Result)
    assert_distribution(result.get_counts(), {"00": 0.5, "11": 0.5})
    assert job.done()
    assert job.result().get_counts() == result.get_counts()


# --------------------------------------------------------------------------
# provider and errors
# --------------------------------------------------------------------------


def test_get_backend_by_name(lib):
    backend = lib.BasicProvider().get_backend("basic_simulator")
    assert isinstance(backend, lib.BasicSimulator)
    assert backend.name == "basic_simulator"
    counts = backend.run(transpile(bell(), backend), shots=200, seed_simulator=SEED).result()
    assert_distribution(counts.get_counts(), {"00": 0.5, "11": 0.5})


def test_get_backend_without_a_name(lib):
    backend = lib.BasicProvider().get_backend()
    assert isinstance(backend, lib.BasicSimulator)
    assert backend.name == "basic_simulator"


def test_get_backend_of_an_unknown_name_raises(lib):
    with pytest.raises(QiskitBackendNotFoundError):
        lib.BasicProvider().get_backend("no_such")


def test_backends_is_a_list_holding_the_simulator(lib):
    provider = lib.BasicProvider()
    backends = provider.backends()
    assert isinstance(backends, list)
    assert "basic_simulator" in [b.name for b in backends]
    assert all(isinstance(b, BackendV2) for b in backends)
    named = provider.backends("basic_simulator")
    assert [b.name for b in named] == ["basic_simulator"]


def test_a_circuit_too_wide_for_a_statevector_raises(backend):
    qc = QuantumCircuit(40)
    qc.h(range(40))
    qc.t(0)
    qc.measure_all()
    with pytest.raises(BasicProviderError):
        backend.run(qc, shots=10).result()


# --------------------------------------------------------------------------
# Clifford circuits
# --------------------------------------------------------------------------


def test_clifford_optimization_runs_a_32_qubit_ghz(backend):
    """32 qubits do not fit as a statevector (Qiskit's limit is 24); the
    stabilizer method runs them. Every shot is all-0 or all-1."""
    qc = ghz(32)
    result = backend.run(qc, use_clifford_optimization=True, shots=4, seed_simulator=SEED).result()
    counts = result.get_counts()
    assert sum(counts.values()) == 4
    assert set(counts) <= {"0" * 32, "1" * 32}, counts


def test_clifford_optimization_ghz_outcomes_are_fair(backend):
    """One shot per seed (Qiskit's stabilizer sampling repeats one outcome
    for every shot of a seeded run, so only separate runs can show the
    distribution): all-1 about half the time. 16 runs make 'always the same
    outcome' fail (p = 3e-5)."""
    qc = ghz(32)
    ones = 0
    for seed in range(16):
        counts = (
            backend.run(qc, use_clifford_optimization=True, shots=1, seed_simulator=seed)
            .result()
            .get_counts()
        )
        assert set(counts) <= {"0" * 32, "1" * 32}, counts
        ones += counts.get("1" * 32, 0)
    assert_binomial(ones, 16, 0.5)


# --------------------------------------------------------------------------
# primitives
# --------------------------------------------------------------------------


def test_backend_sampler_v2_on_a_bell_circuit(backend):
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    isa = transpile(qc, backend)
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": SEED})
    result = sampler.run([isa], shots=2000).result()
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 2000
    assert_distribution(counts, {"00": 0.5, "11": 0.5})


def test_backend_estimator_v2_zz_on_a_bell_state(backend):
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend)
    isa = pm.run(qc)
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)
    estimator = BackendEstimatorV2(backend=backend)
    estimator.options.default_precision = 0.02
    estimator.options.seed_simulator = SEED
    result = estimator.run([(isa, observable)]).result()
    shots = result[0].metadata["shots"]
    assert shots == math.ceil(1 / 0.02**2)
    assert_expectation(float(result[0].data.evs), 1.0, shots)


def test_backend_estimator_v2_with_parameter_values(backend):
    theta = Parameter("θ")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend)
    isa = pm.run(qc)
    observables = [
        [SparsePauliOp("IZ").apply_layout(isa.layout)],
        [SparsePauliOp("XX").apply_layout(isa.layout)],
        [SparsePauliOp("ZZ").apply_layout(isa.layout)],
    ]
    values = np.array([0.0, math.pi / 3, math.pi / 2, 2.0])
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": SEED})
    result = estimator.run([(isa, observables, values)], precision=0.01).result()
    evs = result[0].data.evs
    assert evs.shape == (3, 4)
    shots = result[0].metadata["shots"]
    exact = np.array([np.cos(values), np.sin(values), np.ones_like(values)])
    for got, want in zip(evs.ravel(), exact.ravel(), strict=True):
        assert_expectation(float(got), float(want), shots)
