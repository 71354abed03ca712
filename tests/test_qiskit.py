"""Qiskit interop: circuits and OpenQASM in, Qiskit results out, the BackendV2.

Everything here needs the ``qiskit`` extra; the module is skipped without it.
The last tests check, in a subprocess where Qiskit cannot be imported, that
the core still works and that the interop entry points say how to install it.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

qiskit = pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")

import svsim  # noqa: E402
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm2, qasm3  # noqa: E402
from qiskit.circuit import Clbit, ControlledGate, Gate, Parameter, Qubit  # noqa: E402
from qiskit.circuit.classical import expr  # noqa: E402
from qiskit.circuit.library import (  # noqa: E402
    GlobalPhaseGate,
    MCPhaseGate,
    MCXGate,
    RYGate,
    UnitaryGate,
    get_standard_gate_name_mapping,
)
from qiskit.providers import JobStatus as QiskitJobStatus  # noqa: E402
from qiskit.providers.basic_provider import BasicSimulator as QiskitBasicSimulator  # noqa: E402
from qiskit.providers.exceptions import JobError as QiskitJobError  # noqa: E402
from qiskit.quantum_info import (  # noqa: E402
    SparsePauliOp,
    Statevector,
    random_statevector,
    random_unitary,
)
from qiskit.result import Result as QiskitResult  # noqa: E402
from qiskit.result import marginal_counts  # noqa: E402
from scipy import stats  # noqa: E402
from svsim import BasicSimulator, Circuit, CircuitError  # noqa: E402
from svsim.qiskit import NATIVE_GATES, SvsimBackend, SvsimJob  # noqa: E402

DATA = Path(__file__).parent / "data"
ATOL = 1e-10
TWO_PI = 2 * math.pi
P_MIN = 1e-4  # chi-square tests fail below this p-value (fixed seeds: no flakiness)

STANDARD = get_standard_gate_name_mapping()
LIBRARY = sorted(
    (g for g in STANDARD.values() if isinstance(g, Gate)), key=lambda g: g.name
)  # every standard gate, global_phase included


@pytest.fixture(scope="module")
def sim():
    return BasicSimulator()


@pytest.fixture(scope="module")
def backend():
    return BasicSimulator()


def make_gate(template: Gate, rng: np.random.Generator, open_controls: bool = True) -> Gate:
    """A fresh instance of ``template``'s class with random angles (and maybe open controls)."""
    params = rng.uniform(-TWO_PI, TWO_PI, len(template.params)).tolist()
    kwargs = {}
    if open_controls and isinstance(template, ControlledGate) and rng.random() < 0.3:
        kwargs["ctrl_state"] = int(rng.integers(2**template.num_ctrl_qubits))
    if not params and not kwargs:
        return template
    return template.base_class(*params, **kwargs)


def random_circuit(
    num_qubits: int,
    depth: int,
    seed: int,
    *,
    phases: bool = True,
    extras: bool = True,
    open_controls: bool = True,
) -> QuantumCircuit:
    """A circuit drawn from Qiskit's whole standard gate library, with fixed seed.

    ``phases``: a global phase and ``global_phase`` gates (OpenQASM cannot
    carry them); ``extras``: also multi-controlled gates and unitaries.
    """
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(num_qubits, name=f"random-{num_qubits}-{seed}")
    if phases:
        qc.global_phase = rng.uniform(0, TWO_PI)
    library = [
        g for g in LIBRARY if g.num_qubits <= num_qubits and (phases or g.name != "global_phase")
    ]
    for _ in range(depth):
        pick = rng.random()
        if extras and num_qubits >= 3 and pick < 0.05:
            k = int(rng.integers(2, num_qubits))
            gate = MCXGate(k, ctrl_state=int(rng.integers(2**k)))
        elif extras and num_qubits >= 3 and pick < 0.10:
            gate = MCPhaseGate(float(rng.uniform(-3, 3)), int(rng.integers(2, num_qubits)))
        elif extras and pick < 0.14:
            k = int(rng.integers(1, min(3, num_qubits) + 1))
            gate = UnitaryGate(random_unitary(2**k, seed=int(rng.integers(1 << 30))))
        elif extras and num_qubits >= 3 and pick < 0.17:
            angle = float(rng.uniform(-3, 3))
            gate = RYGate(angle).control(2, ctrl_state=int(rng.integers(4)), annotated=False)
        else:
            gate = make_gate(library[int(rng.integers(len(library)))], rng, open_controls)
        qubits = [int(q) for q in rng.choice(num_qubits, gate.num_qubits, replace=False)]
        qc.append(gate, qubits)
    return qc


def qft_gate(num_qubits: int) -> Gate:
    """Qiskit's QFT as one gate (``QFTGate`` from Qiskit 1.2, the circuit before)."""
    library = qiskit.circuit.library
    if hasattr(library, "QFTGate"):
        return library.QFTGate(num_qubits)
    return library.QFT(num_qubits).to_gate()  # pragma: no cover - old Qiskit


def state_of(sim: BasicSimulator, circuit) -> np.ndarray:
    return sim.run(circuit, shots=1, seed_simulator=1).result().get_statevector()


def assert_same_up_to_phase(a: np.ndarray, b: np.ndarray) -> None:
    assert abs(abs(np.vdot(a, b)) - 1) < ATOL


def qiskit_counts(qc: QuantumCircuit, shots: int, seed: int) -> dict[str, int]:
    """Counts from Qiskit's own BasicSimulator (after transpiling to its gate set)."""
    reference = QiskitBasicSimulator()
    isa = qiskit.transpile(qc, reference, optimization_level=0)
    return reference.run(isa, shots=shots, seed_simulator=seed).result().get_counts()


def chi_square_p(counts_a: dict[str, int], counts_b: dict[str, int]) -> float:
    """p-value of a chi-square test that two samples share one distribution
    (outcomes seen fewer than 10 times in both together share one bin)."""
    keys = sorted(set(counts_a) | set(counts_b))
    rows = np.array([[counts_a.get(k, 0) for k in keys], [counts_b.get(k, 0) for k in keys]])
    common = rows.sum(axis=0) >= 10
    table = np.column_stack([rows[:, common], rows[:, ~common].sum(axis=1, keepdims=True)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table)[1])


# --------------------------------------------------------------------------
# Circuit.from_qiskit: gates.


@pytest.mark.parametrize("name", [g.name for g in LIBRARY])
def test_each_standard_gate_matches_statevector(sim, name):
    template = STANDARD[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    n = template.num_qubits + 1
    for trial in range(3):
        qc = QuantumCircuit(n)
        for q in range(n):
            qc.u(*rng.uniform(-3, 3, 3), q)
        gate = make_gate(template, rng, open_controls=trial > 0)
        qc.append(gate, [int(q) for q in rng.permutation(n)[: gate.num_qubits]])
        circuit = Circuit.from_qiskit(qc)
        np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)


@pytest.mark.parametrize("seed", range(20))
def test_random_circuits_match_statevector(sim, seed):
    qc = random_circuit(seed % 10 + 1, 40, seed)
    circuit = Circuit.from_qiskit(qc)
    assert circuit.num_qubits == qc.num_qubits
    assert circuit.name == qc.name
    np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)


def test_native_gates_convert_natively():
    qc = QuantumCircuit(4)
    qc.h(0)
    qc.cx(0, 1)
    qc.ccx(0, 1, 2)
    qc.cp(0.3, 1, 2)
    qc.rzz(0.2, 2, 3)
    qc.ecr(0, 3)
    qc.u(0.1, 0.2, 0.3, 1)
    qc.cu(0.1, 0.2, 0.3, 0.4, 2, 3)
    qc.iswap(0, 2)
    qc.mcx([0, 1, 2], 3)
    qc.append(MCPhaseGate(0.5, 3), [0, 1, 2, 3])
    qc.ccz(0, 1, 2)
    qc.cs(0, 1)
    qc.append(qiskit.circuit.library.U1Gate(0.2), [3])
    circuit = Circuit.from_qiskit(qc)
    assert "unitary" not in circuit.count_ops()
    assert [i.name for i in circuit.data][:3] == ["h", "cx", "ccx"]
    assert circuit.data[1].qubits == (0, 1)


def test_open_controls_run_between_x_gates(sim):
    qc = QuantumCircuit(3)
    qc.h([0, 1])
    qc.append(MCXGate(2, ctrl_state="01"), [0, 1, 2])
    circuit = Circuit.from_qiskit(qc)
    assert [i.name for i in circuit.data] == ["h", "h", "x", "mcx", "x"]
    assert circuit.data[2].qubits == (1,)  # control 1 is open
    np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)


def test_gates_without_native_path_become_dense_unitaries():
    qc = QuantumCircuit(2)
    qc.dcx(0, 1)
    qc.append(qiskit.circuit.library.XXPlusYYGate(0.3, 0.2), [1, 0])
    circuit = Circuit.from_qiskit(qc)
    assert [i.name for i in circuit.data] == ["unitary", "unitary"]
    assert circuit.data[1].qubits == (1, 0)
    np.testing.assert_allclose(
        circuit.data[0].matrix, qiskit.quantum_info.Operator(qc.data[0].operation).data
    )


def test_composite_instructions_expand_through_their_definition(sim):
    inner = QuantumCircuit(2, 1, name="copymeas")
    inner.cx(0, 1)
    inner.measure(1, 0)
    qc = QuantumCircuit(3, 2)
    qc.x(2)
    qc.append(inner.to_instruction(), [2, 0], [1])
    circuit = Circuit.from_qiskit(qc)
    assert [i.name for i in circuit.data] == ["x", "cx", "measure"]
    assert circuit.data[2].qubits == (0,) and circuit.data[2].clbits == (1,)
    assert sim.run(circuit, shots=50, seed_simulator=2).result().get_counts() == {"10": 50}


def test_large_gates_expand_through_their_definition(sim):
    qc = QuantumCircuit(8)
    qc.h(range(8))
    qc.append(qft_gate(8), range(8))
    circuit = Circuit.from_qiskit(qc)
    assert all(i.qubits and len(i.qubits) <= 3 for i in circuit.data)
    np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)


def test_global_phase_is_kept(sim):
    qc = QuantumCircuit(1, global_phase=0.7)
    qc.append(GlobalPhaseGate(0.5), [])
    qc.h(0)
    circuit = Circuit.from_qiskit(qc)
    assert circuit.global_phase == pytest.approx(1.2)
    np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)


def test_bound_parameters_convert_and_unbound_ones_are_refused(sim):
    theta = Parameter("theta")
    qc = QuantumCircuit(1)
    qc.rx(theta, 0)
    qc.rz(2 * theta, 0)
    with pytest.raises(CircuitError, match=r"'rx'.*unbound parameters \(theta\)"):
        Circuit.from_qiskit(qc)
    bound = qc.assign_parameters({theta: 0.4})
    np.testing.assert_allclose(
        state_of(sim, Circuit.from_qiskit(bound)), Statevector(bound).data, atol=ATOL
    )


def test_delay_and_barrier(sim):
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.delay(100, 0)
    qc.barrier()
    qc.barrier(1)
    qc.cx(0, 1)
    circuit = Circuit.from_qiskit(qc)
    assert [i.name for i in circuit.data] == ["h", "barrier", "barrier", "cx"]
    assert circuit.data[2].qubits == (1,)


# --------------------------------------------------------------------------
# initialize / prepare_state.


@pytest.mark.parametrize("method", ["initialize", "prepare_state"])
def test_state_preparation_at_the_start(sim, method):
    psi = random_statevector(8, seed=5)
    qc = QuantumCircuit(4)
    getattr(qc, method)(psi, [3, 0, 2])
    qc.h(1)
    qc.cx(1, 0)
    circuit = Circuit.from_qiskit(qc)
    assert circuit.data[0].name == "unitary" and circuit.data[0].qubits == (3, 0, 2)
    np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)


@pytest.mark.parametrize("params", ["+-1r", 11, [0, 1j]])
def test_state_preparation_from_labels_ints_and_lists(sim, params):
    qc = QuantumCircuit(4)
    if isinstance(params, list):
        qc.initialize(params, [2])
    else:
        qc.prepare_state(params, range(4))
    np.testing.assert_allclose(
        state_of(sim, Circuit.from_qiskit(qc)), Statevector(qc).data, atol=ATOL
    )


def test_state_preparation_after_other_gates_is_refused():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.initialize([0, 1], [1])  # qubit 1 is still |0>: fine
    qc.initialize([0, 1], [0])
    with pytest.raises(CircuitError, match="'initialize' on qubits \\[0\\].*qubit 0"):
        Circuit.from_qiskit(qc)


# --------------------------------------------------------------------------
# Registers, measurement, reset, conditions.


def test_registers_keep_names_and_sizes(sim):
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "alpha"))
    qc.add_register(ClassicalRegister(1, "beta"))
    qc.x(0)
    qc.x(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    circuit = Circuit.from_qiskit(qc)
    assert circuit.cregs == [("alpha", 2), ("beta", 1)]
    counts = sim.run(qc, shots=20).result().get_counts()
    assert counts == QiskitBasicSimulator().run(qc, shots=20).result().get_counts()
    assert counts == {"1 01": 20}


def test_headers_match_qiskits_with_named_registers_and_metadata(sim):
    """Analysis code reads a circuit's tags and registers back from the header."""
    qc = QuantumCircuit(
        QuantumRegister(1, "anc"),
        QuantumRegister(2, "data"),
        ClassicalRegister(2, "c"),
        ClassicalRegister(1, "flag"),
        name="t1",
        metadata={"experiment_type": "T1", "xval": 0.5},
    )
    qc.h(0)
    qc.cx(0, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    mine = sim.run([qc, qc.copy("second")], shots=5).result().results
    theirs = QiskitBasicSimulator().run([qc, qc.copy("second")], shots=5).result().results
    for ours, reference in zip(mine, theirs, strict=True):
        expected = reference.header
        expected = expected if isinstance(expected, dict) else expected.to_dict()
        assert list(ours.header.items()) == list(expected.items())  # keys in Qiskit's order too
        assert ours.meas_level == reference.meas_level == 2
        assert set(reference.to_dict()) <= set(ours.to_dict())
    assert Circuit.from_qiskit(qc).qregs == [("anc", 1), ("data", 2)]
    native = Circuit(2, name="native").h(0).measure_all()
    native.metadata["run"] = 7
    header = sim.run(native, shots=3).result().results[0].header
    assert header["qreg_sizes"] == [["q", 2]] and header["metadata"] == {"run": 7}
    with pytest.raises(CircuitError, match="metadata must be a dict"):
        native.metadata = ["not", "a", "dict"]


def _clifford_layers(num_qubits: int) -> QuantumCircuit:
    qc = QuantumCircuit(num_qubits, num_qubits)
    for q in range(num_qubits):
        qc.h(q)
        qc.s(q)
        qc.h(q)
        qc.sdg(q)
    for q in range(num_qubits - 1):
        qc.cx(q, q + 1)
    qc.measure(range(num_qubits), range(num_qubits))
    return qc


def test_transpiled_clifford_circuits_run_on_the_tableau():
    """transpile at level 2 writes u1, u2, cp and crz at Clifford angles: the
    circuit is still taken for a Clifford one, at any width, and samples as the
    statevector does."""
    pytest.importorskip("stim")
    backend = svsim.BasicSimulator()
    wide = qiskit.transpile(_clifford_layers(30), backend, optimization_level=2, seed_transpiler=1)
    assert {"cp", "crz"} & set(wide.count_ops())  # gates outside Stim's own set
    result = backend.run(wide, shots=100, use_clifford_optimization=True).result()
    assert result.results[0].metadata["method"] == "stabilizer"
    narrow = qiskit.transpile(_clifford_layers(8), backend, optimization_level=2, seed_transpiler=1)
    counts = [
        backend.run(narrow, shots=4000, seed_simulator=3, method=method).result().get_counts()
        for method in ("stabilizer", "statevector")
    ]
    keys = sorted(set(counts[0]) | set(counts[1]))
    table = [[c.get(k, 0) for k in keys] for c in counts]
    assert stats.chi2_contingency(table).pvalue > P_MIN


def test_provider_backends_take_qiskits_filters():
    provider = svsim.BasicProvider()
    assert provider.backends(filters=lambda backend: backend.name == "basic_simulator")
    assert provider.backends(filters=lambda backend: False) == []


def test_measure_all_register():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.measure_all()
    assert Circuit.from_qiskit(qc).cregs == [("meas", 2)]


def test_loose_clbits_get_their_own_registers():
    qc = QuantumCircuit([Qubit(), Qubit(), Clbit()])
    qc.add_register(ClassicalRegister(2, "c"))
    qc.add_bits([Clbit()])
    circuit = Circuit.from_qiskit(qc)
    assert circuit.cregs == [("c0", 1), ("c", 2), ("c1", 1)]
    only_loose = QuantumCircuit([Qubit(), Clbit(), Clbit()])
    assert Circuit.from_qiskit(only_loose).cregs == [("c", 2)]


def test_overlapping_registers_are_refused():
    bits = [Clbit(), Clbit()]
    qc = QuantumCircuit([Qubit()], bits)
    qc.add_register(ClassicalRegister(name="a", bits=bits))
    qc.add_register(ClassicalRegister(name="b", bits=bits[:1]))
    with pytest.raises(CircuitError, match="register 'b'"):
        Circuit.from_qiskit(qc)


def test_if_test_on_a_clbit_with_else(sim):
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)) as else_:
        qc.x(1)
    with else_:
        qc.id(1)
    qc.measure(1, 1)
    circuit = Circuit.from_qiskit(qc)
    assert [i.condition for i in circuit.data if i.name in ("x", "id")] == [((0,), 1), ((0,), 0)]
    counts = sim.run(qc, shots=400, seed_simulator=3).result().get_counts()
    assert set(counts) == {"00", "11"}


def test_if_test_on_a_register_value(sim):
    qc = QuantumCircuit(QuantumRegister(3), ClassicalRegister(2, "m"), ClassicalRegister(1, "o"))
    qc.h([0, 1])
    qc.measure([0, 1], [0, 1])
    with qc.if_test((qc.cregs[0], 2)):
        qc.x(2)
        qc.global_phase += 0.5  # a conditional phase, harmless
    qc.measure(2, 2)
    circuit = Circuit.from_qiskit(qc)
    assert {i.condition for i in circuit.data if i.condition} == {((0, 1), 2)}
    counts = sim.run(circuit, shots=2000, seed_simulator=4).result().get_counts()
    assert set(counts) == {"0 00", "0 01", "1 10", "0 11"}


@pytest.mark.parametrize(
    "make",
    [
        lambda qc: expr.lift(qc.clbits[0]),
        lambda qc: expr.equal(qc.cregs[0], 1),
        lambda qc: expr.logic_not(expr.logic_not(qc.clbits[0])),
    ],
)
def test_if_test_on_simple_expressions(sim, make):
    qc = QuantumCircuit(2, 1)
    qc.x(0)
    qc.measure(0, 0)
    try:
        condition = make(qc)
    except Exception as exc:  # an expression this Qiskit cannot build
        pytest.skip(str(exc))
    with qc.if_test(condition):
        qc.x(1)
    try:
        circuit = Circuit.from_qiskit(qc)
    except CircuitError as exc:
        assert "condition" in str(exc)  # double negation is refused, with a reason
        return
    state = state_of(sim, circuit)
    assert abs(state[3]) == pytest.approx(1.0)


def test_if_test_that_changes_its_own_condition_is_refused():
    qc = QuantumCircuit(2, 1)
    with qc.if_test((qc.clbits[0], 0)):
        qc.measure(0, 0)
        qc.x(1)
    with pytest.raises(CircuitError, match="own condition"):
        Circuit.from_qiskit(qc)
    ok = QuantumCircuit(2, 1)
    with ok.if_test((ok.clbits[0], 0)):
        ok.x(1)
        ok.measure(0, 0)  # last: fine
    Circuit.from_qiskit(ok)


def test_box_runs_its_body(sim):
    qc = QuantumCircuit(2)
    if not hasattr(qc, "box"):
        pytest.skip("this Qiskit has no box")
    with qc.box():
        qc.h(0)
        qc.cx(0, 1)
    circuit = Circuit.from_qiskit(qc)
    assert [i.name for i in circuit.data] == ["h", "cx"]


def test_unsupported_instructions_are_named():
    qc = QuantumCircuit(1, 1)
    with qc.while_loop((qc.clbits[0], 0)):
        qc.h(0)
    with pytest.raises(CircuitError, match="'while_loop'"):
        Circuit.from_qiskit(qc)
    qc = QuantumCircuit(2, 2)
    with qc.if_test((qc.cregs[0], 1)) as else_:
        qc.x(0)
    with else_:
        qc.x(1)
    with pytest.raises(CircuitError, match="else block on a register"):
        Circuit.from_qiskit(qc)
    with pytest.raises(CircuitError, match="QuantumCircuit"):
        Circuit.from_qiskit("not a circuit")


def test_mid_circuit_measure_and_reset_counts_agree_with_qiskit(sim):
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        n = 3
        qc = QuantumCircuit(QuantumRegister(n), ClassicalRegister(2, "mid"))
        qc.add_register(ClassicalRegister(n, "end"))
        for step in range(12):
            gate = make_gate(LIBRARY[int(rng.integers(len(LIBRARY)))], rng)
            if gate.num_qubits > n or gate.name == "global_phase":
                continue
            qc.append(gate, [int(q) for q in rng.choice(n, gate.num_qubits, replace=False)])
            if step == 5:
                qc.measure(0, 0)
                qc.reset(1)
            if step == 8:
                qc.measure(2, 1)
        qc.measure(range(n), range(2, 2 + n))
        ours = sim.run(qc, shots=2000, seed_simulator=seed).result().get_counts()
        assert chi_square_p(ours, qiskit_counts(qc, 2000, seed)) > P_MIN


@pytest.mark.parametrize("seed", range(6))
def test_sampled_counts_agree_with_qiskit_basic_simulator(sim, seed):
    qc = random_circuit(seed % 5 + 2, 30, 1000 + seed, extras=False)
    qc.measure_all()
    ours = sim.run(qc, shots=4000, seed_simulator=seed).result().get_counts()
    assert sum(ours.values()) == 4000
    assert chi_square_p(ours, qiskit_counts(qc, 4000, seed)) > P_MIN


# --------------------------------------------------------------------------
# OpenQASM.


@pytest.mark.parametrize("seed", range(10))
def test_qasm2_and_qasm3_give_the_same_state(sim, seed, tmp_path):
    qc = random_circuit(seed + 1, 30, 2000 + seed, phases=False)
    expected = Statevector(qc).data
    for version, text in ((2, qasm2.dumps(qc)), (3, qasm3.dumps(qc))):
        if version == 2:
            reloaded = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        else:
            reloaded = qasm3.loads(text)
        from_text = state_of(sim, Circuit.from_qasm(text))
        np.testing.assert_allclose(from_text, Statevector(reloaded).data, atol=ATOL)
        assert_same_up_to_phase(from_text, expected)  # OpenQASM drops the global phase
        path = tmp_path / f"c{version}.qasm"
        path.write_text(text)
        from_file = Circuit.from_qasm(path)
        assert from_file.name == f"c{version}"
        np.testing.assert_allclose(state_of(sim, Circuit.from_qasm(str(path))), from_text)


def test_qasm2_file_with_custom_gate(sim):
    circuit = Circuit.from_qasm(DATA / "ghz_v2.qasm")
    assert circuit.cregs == [("c", 3)]
    counts = sim.run(circuit, shots=1000, seed_simulator=5).result().get_counts()
    assert set(counts) == {"000", "111"}


def test_qasm3_file_with_feed_forward(sim):
    circuit = Circuit.from_qasm(str(DATA / "conditional_v3.qasm"))
    assert circuit.cregs == [("m", 2), ("out", 1)]
    counts = sim.run(circuit, shots=4000, seed_simulator=6).result().get_counts()
    assert set(counts) == {"1 11", "0 00", "0 10"}
    expected = {"1 11": 2000, "0 00": 1000, "0 10": 1000}
    assert (
        stats.chisquare([counts[k] for k in expected], [expected[k] for k in expected]).pvalue
        > P_MIN
    )


def test_qasm2_includes_are_found_beside_the_file(sim, tmp_path):
    (tmp_path / "mygates.inc").write_text("gate flip a { x a; }\n")
    (tmp_path / "main.qasm").write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "mygates.inc";\nqreg q[1];\nflip q[0];\n'
    )
    np.testing.assert_allclose(state_of(sim, Circuit.from_qasm(tmp_path / "main.qasm")), [0, 1])


def test_qasm_errors_are_circuit_errors(tmp_path):
    with pytest.raises(CircuitError, match="OpenQASM 2"):
        Circuit.from_qasm("OPENQASM 2.0;\nqreg q[1];\nnot_a_gate q[0];\n")
    with pytest.raises(CircuitError, match="OpenQASM 3"):
        Circuit.from_qasm("OPENQASM 3.0;\nqubit[1] q;\nnot_a_gate q[0];\n")
    with pytest.raises(CircuitError, match="cannot read"):
        Circuit.from_qasm(tmp_path / "missing.qasm")
    with pytest.raises(CircuitError, match="version"):
        Circuit.from_qasm("OPENQASM 4.0;\nqubit q;\n")


def test_qasm_errors_are_one_line_naming_the_file_and_the_line(tmp_path, capfd):
    files = {
        "empty.qasm": ("", r"'.*empty\.qasm' holds no OpenQASM program"),
        "comments.qasm": ("// nothing\n/* at\nall */\n", r"holds no OpenQASM program"),
        "garbage.qasm": ("garbage\n", r"'.*garbage\.qasm' as OpenQASM 3: line 2:0 no viable"),
        "bad2.qasm": (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\nfoo q[1];\n',
            r"'.*bad2\.qasm' as OpenQASM 2: line 5, column 0: 'foo' is not defined",
        ),
    }
    for name, (text, match) in files.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(CircuitError, match=match) as info:
            Circuit.from_qasm(path)
        assert "\n" not in str(info.value)
    assert capfd.readouterr().err == ""  # the parsers print nothing of their own


def test_qasm2_without_a_header_is_read_as_qasm2(sim, tmp_path):
    """Public benchmark files often start at the include; Qiskit's qasm2 reads them."""
    path = tmp_path / "noheader.qasm"
    path.write_text('include "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n')
    circuit = Circuit.from_qasm(path)
    assert circuit.count_ops() == {"h": 1, "cx": 1} and circuit.name == "noheader"
    expected = np.zeros(4, dtype=complex)
    expected[[0, 3]] = 1 / math.sqrt(2)
    np.testing.assert_allclose(state_of(sim, circuit), expected, atol=ATOL)


# --------------------------------------------------------------------------
# BasicSimulator.run and Result.to_qiskit.


def test_basic_simulator_runs_qiskit_circuits(sim):
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    mine = Circuit.from_qiskit(qc)
    a = sim.run([qc, qc], shots=300, seed_simulator=9).result()
    b = sim.run([mine, mine], shots=300, seed_simulator=9).result()
    assert a.get_counts() == b.get_counts()
    assert set(a.get_counts(0)) == {"00", "11"}


def test_result_to_qiskit_agrees(sim):
    qc = QuantumCircuit(QuantumRegister(3), ClassicalRegister(2, "a"), ClassicalRegister(1, "b"))
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.7, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    result = sim.run(qc, shots=500, memory=True, seed_simulator=11).result()
    converted = result.to_qiskit()
    assert isinstance(converted, QiskitResult)
    assert converted.get_counts() == result.get_counts()
    assert converted.get_counts(0) == result.get_counts(0)
    assert converted.get_memory() == result.get_memory()
    np.testing.assert_allclose(
        np.asarray(converted.get_statevector()), result.get_statevector(), atol=0
    )
    assert marginal_counts(converted, indices=[2]).get_counts() == {
        k: v for k, v in _marginal(result.get_counts(), 0).items()
    }
    plotting = pytest.importorskip("qiskit.visualization")
    pytest.importorskip("matplotlib")
    plotting.plot_histogram(converted.get_counts())


def _marginal(counts: dict[str, int], word: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, n in counts.items():
        bit = key.split()[word]
        out[bit] = out.get(bit, 0) + n
    return out


# --------------------------------------------------------------------------
# BasicSimulator as a BackendV2 (the literal swap itself: tests/test_literal_swap.py).


def test_one_backend_class_and_one_job_class():
    from qiskit.providers import BackendV2, JobV1

    assert SvsimBackend is BasicSimulator and SvsimJob is svsim.BasicProviderJob
    assert issubclass(BasicSimulator, BackendV2)
    assert issubclass(svsim.BasicProviderJob, JobV1)
    assert issubclass(svsim.Result, QiskitResult)
    assert svsim.JobStatus is QiskitJobStatus


def test_backend_description(backend):
    assert backend.name == "basic_simulator"
    assert backend.max_circuits is None
    assert backend.num_qubits is None
    names = set(backend.target.operation_names)
    assert set(NATIVE_GATES) <= names
    assert {"measure", "reset", "delay", "if_else", "unitary", "mcx", "mcphase"} <= names
    assert set(QiskitBasicSimulator().target.operation_names) <= names
    assert backend.options.shots == 1024


def test_every_target_operation_runs(sim):
    """Each operation the target offers runs as Qiskit defines it: transpile keeps
    such gates as they are, so svsim must run each one exactly."""
    rng = np.random.default_rng(17)
    for name in sorted(set(sim.target.operation_names) & set(STANDARD)):
        gate = STANDARD[name]
        if not isinstance(gate, Gate) or name == "global_phase":
            continue
        params = [float(x) for x in rng.uniform(-math.pi, math.pi, len(gate.params))]
        op = gate.base_class(*params) if params else gate
        qc = QuantumCircuit(op.num_qubits + 1)
        qc.h(range(qc.num_qubits))
        qc.ry(0.3, 0)
        qc.append(op, list(range(1, op.num_qubits + 1)))
        np.testing.assert_allclose(
            state_of(sim, Circuit.from_qiskit(qc)), Statevector(qc).data, atol=ATOL, err_msg=name
        )


@pytest.mark.parametrize("seed", range(3))
def test_transpile_run_and_result(backend, sim, seed):
    qc = random_circuit(5, 25, 3000 + seed)
    qc.append(qft_gate(4), [0, 1, 2, 4])
    qc.measure_all()
    isa = qiskit.transpile(qc, backend, seed_transpiler=seed)
    assert set(isa.count_ops()) <= set(backend.target.operation_names) | {"barrier"}
    job = backend.run(isa, shots=3000, seed_simulator=seed, memory=True)
    assert isinstance(job, SvsimJob)
    result = job.result()
    assert isinstance(result, QiskitResult)
    assert job.status() is QiskitJobStatus.DONE and job.done()
    assert job.result() is result
    counts = result.get_counts()
    assert sum(counts.values()) == 3000
    assert len(result.get_memory()) == 3000
    same = sim.run(isa, shots=3000, seed_simulator=seed).result()
    assert counts == same.get_counts()
    assert chi_square_p(counts, qiskit_counts(qc, 3000, seed)) > P_MIN


def test_backend_options_and_svsim_circuits(backend):
    local = SvsimBackend(precision="single")
    local.set_options(shots=77)
    circuit = Circuit(1, 1).x(0).measure(0, 0)
    result = local.run(circuit).result()
    assert result.get_counts() == {"1": 77}
    assert result.results[0].metadata["precision"] == "single"
    assert local.run([circuit], shots=5, precision="double").result().get_counts() == {"1": 5}
    with pytest.raises(CircuitError):
        backend.run(QuantumCircuit(1), shots=0)


def test_backend_jobs_are_asynchronous_and_cancellable():
    gate = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        backend = SvsimBackend(executor=pool)
        pool.submit(gate.wait, 10)  # occupy the only worker
        qc = QuantumCircuit(1, 1)
        qc.h(0)
        qc.measure(0, 0)
        queued = backend.run(qc, shots=10)
        later = backend.run(qc, shots=10)
        assert queued.status() is QiskitJobStatus.QUEUED
        assert not queued.in_final_state()
        assert queued.cancel() is True
        assert queued.cancelled()
        with pytest.raises(QiskitJobError, match="cancelled"):
            queued.result()
        with pytest.raises(QiskitJobError):
            later.submit()
        seen = []
        gate.set()
        later.wait_for_final_state(timeout=10, wait=0.01, callback=lambda *a: seen.append(a))
        assert later.status() is QiskitJobStatus.DONE
        assert all(isinstance(s, QiskitJobStatus) and j is later for _, s, j in seen)
        assert sum(later.result().get_counts().values()) == 10
        assert later.progress() == 1.0
    finally:
        gate.set()
        pool.shutdown(wait=True)


# --------------------------------------------------------------------------
# Primitives.


def _sampler_circuits() -> list[QuantumCircuit]:
    out = []
    for seed in range(3):
        qc = random_circuit(4, 20, 4000 + seed, extras=False, phases=False)
        qc.measure_all()
        out.append(qc)
    return out


def test_backend_sampler_v2_agrees_with_statevector_sampler(backend):
    from qiskit.primitives import BackendSamplerV2, StatevectorSampler

    circuits = [qiskit.transpile(qc, backend, seed_transpiler=1) for qc in _sampler_circuits()]
    ours = BackendSamplerV2(backend=backend, options={"seed_simulator": 7})
    theirs = StatevectorSampler(seed=7)
    a = ours.run(circuits, shots=4000).result()
    b = theirs.run(circuits, shots=4000).result()
    for pa, pb in zip(a, b, strict=True):
        ca, cb = pa.data.meas.get_counts(), pb.data.meas.get_counts()
        assert sum(ca.values()) == 4000
        assert chi_square_p(ca, cb) > P_MIN


def test_backend_estimator_v2_agrees_with_statevector_estimator(backend):
    from qiskit.primitives import BackendEstimatorV2, StatevectorEstimator

    qc = random_circuit(3, 20, 5000, extras=False, phases=False)
    isa = qiskit.transpile(qc, backend, seed_transpiler=1)
    observables = [SparsePauliOp(["ZZI", "XIX", "IYZ"], [0.5, 0.3, -0.4]), SparsePauliOp("XYZ")]
    shots = 20000
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 3})
    estimator.options.default_precision = 1 / math.sqrt(shots)
    ours = estimator.run([(isa, observables)]).result()[0].data
    exact = StatevectorEstimator().run([(qc, observables)]).result()[0].data.evs
    sigma = np.maximum(np.asarray(ours.stds), 1 / math.sqrt(shots))
    assert np.all(np.abs(np.asarray(ours.evs) - exact) < 5 * sigma)


# --------------------------------------------------------------------------
# Without Qiskit.


def _run_without_qiskit(code: str) -> subprocess.CompletedProcess:
    blocker = textwrap.dedent(
        """
        import sys
        class _Block:
            def find_spec(self, name, path=None, target=None):
                if name == "qiskit" or name.startswith(("qiskit.", "qiskit_")):
                    raise ImportError(f"blocked: {name}")
                return None
        sys.meta_path.insert(0, _Block())
        """
    )
    return subprocess.run(
        [sys.executable, "-c", blocker + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_qiskit_nothing_of_qiskit_is_imported_and_the_types_are_svsims():
    proc = _run_without_qiskit(
        """
        import sys, svsim
        from svsim import _qiskit_types
        assert not _qiskit_types.HAVE_QISKIT
        backend = svsim.BasicSimulator(shots=10)
        assert backend.name == "basic_simulator" and backend.options.shots == 10
        backend.set_options(memory=False)
        assert backend.options.memory is False
        try:
            backend.set_options(no_such=1)
        except AttributeError:
            pass
        else:
            raise AssertionError("set_options took an unknown option")
        job = backend.run(svsim.Circuit(1, 1).x(0).measure(0, 0))
        assert job.result().get_counts() == {"1": 10}
        assert type(job.result().get_counts()) is dict
        assert job.status() is svsim.JobStatus.DONE and svsim.JobStatus.__module__ == "svsim.job"
        try:
            backend.target
        except ImportError as exc:
            assert 'pip install "svsim[qiskit]"' in str(exc), str(exc)
        else:
            raise AssertionError("target without Qiskit")
        try:
            svsim.BasicProvider().get_backend("no_such")
        except svsim.BackendNotFoundError:
            pass
        assert not [m for m in sys.modules if m.startswith("qiskit")], "qiskit imported"
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_core_works_and_interop_says_how_to_install_without_qiskit():
    proc = _run_without_qiskit(
        """
        import svsim
        from svsim import Circuit, BasicSimulator
        c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
        counts = BasicSimulator().run(c, shots=100, seed_simulator=1).result().get_counts()
        assert set(counts) <= {"00", "11"}, counts
        for call in (lambda: Circuit.from_qiskit(None), lambda: Circuit.from_qasm("x.qasm"),
                     lambda: __import__("svsim.qiskit")):
            try:
                call()
            except ImportError as exc:
                assert 'pip install "svsim[qiskit]"' in str(exc), str(exc)
            else:
                raise AssertionError("no ImportError")
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_annotated_operations(sim):
    from qiskit.circuit import AnnotatedOperation, ControlModifier, InverseModifier

    qc = QuantumCircuit(4)
    qc.h(range(4))
    qc.append(AnnotatedOperation(qiskit.circuit.library.XGate(), ControlModifier(2, 1)), [0, 1, 2])
    qc.append(
        AnnotatedOperation(
            qiskit.circuit.library.SXGate(), [InverseModifier(), ControlModifier(1)]
        ),
        [3, 0],
    )
    qc.append(RYGate(0.4).control(3, annotated=True), [0, 1, 2, 3])
    circuit = Circuit.from_qiskit(qc)
    assert "mcx" in circuit.count_ops()
    np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)


def test_bulk_conversion_keeps_order_and_hands_odd_gates_to_the_general_path(sim):
    """Standard gates go into the circuit in bulk; an open control, a numpy
    parameter, a conditioned block or a measurement between them must still come
    out in order and exact."""
    qc = QuantumCircuit(3, 1)
    qc.h(0)
    qc.cx(0, 1, ctrl_state=0)  # open control: the general path
    qc.rz(np.float64(0.3), 2)  # a numpy parameter
    qc.u(0.1, 0.2, 0.3, 1)
    qc.append(qiskit.circuit.library.CU1Gate(0.4), [1, 2])  # renamed: cu1 -> cp
    qc.barrier()
    qc.ry(0.7, 0)
    qc.swap(0, 2)
    circuit = Circuit.from_qiskit(qc)
    names = [i.name for i in circuit.data]
    assert names == ["h", "x", "mcx", "x", "rz", "u", "cp", "barrier", "ry", "swap"]
    np.testing.assert_allclose(state_of(sim, circuit), Statevector(qc).data, atol=ATOL)
    with pytest.raises(CircuitError, match="unbound parameters"):
        bad = QuantumCircuit(1)
        bad.rx(Parameter("theta"), 0)
        Circuit.from_qiskit(bad)
    with pytest.raises(CircuitError, match="finite"):
        bad = QuantumCircuit(1)
        bad.rx(float("inf"), 0)
        Circuit.from_qiskit(bad)
