"""Tests of the circuit layer: gate table, builder, validation, encoding."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest
from reference import (
    full_operator,
    random_circuit,
    reference_statevector,
    reference_unitary,
)
from svsim import _ops
from svsim.circuit import Circuit, Instruction, Program
from svsim.exceptions import (
    CircuitError,
    JobError,
    JobTimeoutError,
    SimulatorError,
    SvsimError,
)
from svsim.gates import (
    GATES,
    MULTI_QUBIT_GATES,
    ONE_QUBIT_GATES,
    TWO_QUBIT_GATES,
    base_matrix,
    controlled_matrix,
    gate_matrix,
)

CONTRACT_GATES = {
    *"id x y z h s sdg t tdg sx sxdg rx ry rz p u".split(),
    *"cx cy cz ch swap iswap cp crx cry crz cu rxx ryy rzz rzx ecr".split(),
    *"ccx cswap mcx mcp".split(),
}
X = np.array([[0, 1], [1, 0]], dtype=complex)
I2 = np.eye(2, dtype=complex)


def random_params(name: str, rng: np.random.Generator) -> list[float]:
    return rng.uniform(-2 * np.pi, 2 * np.pi, GATES[name].num_params).tolist()


def gate_widths(name: str) -> list[int]:
    """Numbers of controls to try for a gate."""
    spec = GATES[name]
    return [0, 1, 2, 3] if spec.num_controls is None else [spec.num_controls]


def add_gate(circuit, name: str, params: list[float], qubits: list[int]) -> None:
    """Call the Qiskit-style method ``name`` (works for svsim and Qiskit circuits)."""
    if GATES[name].num_controls is None:
        getattr(circuit, name)(*params, list(qubits[:-1]), qubits[-1])
    else:
        getattr(circuit, name)(*params, *qubits)


# ------------------------------------------------------------------ exceptions


def test_exception_hierarchy():
    assert issubclass(JobError, SvsimError)
    assert issubclass(JobTimeoutError, JobError)
    assert issubclass(CircuitError, SvsimError)
    assert issubclass(CircuitError, ValueError)
    assert issubclass(SimulatorError, SvsimError)
    assert not issubclass(SimulatorError, ValueError)


# ------------------------------------------------------------------ gate table


def test_gate_table_covers_the_contract():
    assert set(GATES) == CONTRACT_GATES
    assert set(ONE_QUBIT_GATES) | set(TWO_QUBIT_GATES) | set(MULTI_QUBIT_GATES) == CONTRACT_GATES
    for name in ONE_QUBIT_GATES:
        assert GATES[name].num_controls == 0 and GATES[name].num_targets == 1
    for name in TWO_QUBIT_GATES:
        spec = GATES[name]
        assert spec.num_controls + spec.num_targets == 2


@pytest.mark.parametrize(
    "name, num_params, num_controls, num_targets",
    [
        ("u", 3, 0, 1),
        ("cu", 4, 1, 1),
        ("cp", 1, 1, 1),
        ("rzz", 1, 0, 2),
        ("ccx", 0, 2, 1),
        ("cswap", 0, 1, 2),
        ("mcx", 0, None, 1),
        ("mcp", 1, None, 1),
        ("ecr", 0, 0, 2),
    ],
)
def test_gate_shapes(name, num_params, num_controls, num_targets):
    spec = GATES[name]
    assert (spec.num_params, spec.num_controls, spec.num_targets) == (
        num_params,
        num_controls,
        num_targets,
    )


@pytest.mark.parametrize("name", sorted(CONTRACT_GATES))
def test_base_matrix_is_unitary_and_of_its_kind(name):
    rng = np.random.default_rng(7)
    spec = GATES[name]
    for _ in range(3):
        m = base_matrix(name, random_params(name, rng))
        dim = 1 << spec.num_targets
        assert m.shape == (dim, dim) and m.dtype == np.complex128
        np.testing.assert_allclose(m @ m.conj().T, np.eye(dim), atol=1e-12)
        if spec.kind == _ops.DIAGONAL:
            np.testing.assert_array_equal(m, np.diag(np.diag(m)))
            assert spec.diagonal(*random_params(name, rng)) is not None
        elif spec.kind == _ops.FLIP:
            np.testing.assert_array_equal(m, X)
        elif spec.kind == _ops.SWAP:
            np.testing.assert_array_equal(m, np.eye(4)[[0, 2, 1, 3]])
        else:
            assert spec.kind == _ops.DENSE


def test_kinds_are_as_agreed():
    diagonal = {n for n, s in GATES.items() if s.kind == _ops.DIAGONAL}
    assert diagonal == set("z s sdg t tdg p rz rzz id cz cp crz mcp".split())
    assert {n for n, s in GATES.items() if s.kind == _ops.FLIP} == {"x", "cx", "ccx", "mcx"}
    assert {n for n, s in GATES.items() if s.kind == _ops.SWAP} == {"swap", "cswap"}


def test_diagonal_of_diagonal_gates():
    assert GATES["rzz"].diagonal(0.4) == pytest.approx(
        [cmath.exp(-0.2j), cmath.exp(0.2j), cmath.exp(0.2j), cmath.exp(-0.2j)]
    )
    assert GATES["cp"].diagonal(0.3) == pytest.approx([1, cmath.exp(0.3j)])


def test_some_matrices_by_hand():
    c, s = math.cos(0.35), math.sin(0.35)
    np.testing.assert_allclose(base_matrix("rx", [0.7]), [[c, -1j * s], [-1j * s, c]])
    np.testing.assert_allclose(base_matrix("sx") @ base_matrix("sx"), X, atol=1e-15)
    np.testing.assert_allclose(base_matrix("sx") @ base_matrix("sxdg"), I2, atol=1e-15)
    np.testing.assert_allclose(
        base_matrix("cu", [0.1, 0.2, 0.3, 0.4]),
        cmath.exp(0.4j) * base_matrix("u", [0.1, 0.2, 0.3]),
    )
    # cx with control 0, target 1: |01> (index 1) -> |11> (index 3)
    cx = gate_matrix("cx")
    assert cx[3, 1] == 1 and cx[1, 3] == 1 and cx[0, 0] == 1 and cx[2, 2] == 1


def test_controlled_matrix_and_errors():
    np.testing.assert_array_equal(controlled_matrix(X, 0), X)
    ccx = controlled_matrix(X, 2)
    assert ccx[7, 3] == 1 and ccx[3, 7] == 1 and ccx[5, 5] == 1
    with pytest.raises(ValueError, match="num_controls"):
        gate_matrix("mcx")
    with pytest.raises(ValueError, match="controls"):
        gate_matrix("cx", num_controls=2)
    with pytest.raises(ValueError, match="parameters"):
        base_matrix("rx", [])


@pytest.mark.parametrize("name", sorted(CONTRACT_GATES))
def test_gate_matrices_match_qiskit(name):
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Operator

    rng = np.random.default_rng(11)
    for num_controls in gate_widths(name):
        params = random_params(name, rng)
        n = num_controls + GATES[name].num_targets
        qc = QuantumCircuit(n)
        add_gate(qc, name, params, list(range(n)))
        expected = Operator(qc).data
        np.testing.assert_allclose(gate_matrix(name, params, num_controls), expected, atol=1e-12)
        # and through the builder and the reference, on shuffled qubits of a wider circuit
        qubits = [int(q) for q in rng.permutation(n + 1)[:n]]
        ours, theirs = Circuit(n + 1), QuantumCircuit(n + 1)
        add_gate(ours, name, params, qubits)
        add_gate(theirs, name, params, qubits)
        np.testing.assert_allclose(reference_unitary(ours), Operator(theirs).data, atol=1e-12)


def to_qiskit(circuit: Circuit):
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(circuit.num_qubits, global_phase=circuit.global_phase)
    for instr in circuit.data:
        if instr.name == "unitary":
            qc.unitary(instr.matrix, list(instr.qubits))
        elif instr.name == "barrier":
            qc.barrier(list(instr.qubits))
        else:
            add_gate(qc, instr.name, list(instr.params), list(instr.qubits))
    return qc


@pytest.mark.parametrize("seed", range(6))
def test_random_circuits_match_qiskit(seed):
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit.quantum_info import Statevector

    circuit = random_circuit(5, 8, seed=seed)
    expected = Statevector(to_qiskit(circuit)).data
    np.testing.assert_allclose(reference_statevector(circuit), expected, atol=1e-10)


def test_reference_pauli_and_probability_conventions_match_qiskit():
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit.quantum_info import Pauli, Statevector
    from reference import expectation_value, probabilities

    circuit = random_circuit(4, 5, seed=99)
    state = reference_statevector(circuit)
    sv = Statevector(state)
    for pauli, qubits in [("XYZ", [0, 2, 3]), ("ZX", [3, 1]), ("Y", [2])]:
        assert expectation_value(state, pauli, qubits) == pytest.approx(
            sv.expectation_value(Pauli(pauli), qubits).real, abs=1e-12
        )
    np.testing.assert_allclose(probabilities(state, [2, 0]), sv.probabilities([2, 0]))
    np.testing.assert_allclose(probabilities(state), sv.probabilities())


# ------------------------------------------------------------------ reference


def test_reference_operator_matches_kron():
    # Qiskit order: qubit 0 is the rightmost factor of a Kronecker product.
    np.testing.assert_allclose(full_operator(X, [0], [], 2), np.kron(I2, X))
    np.testing.assert_allclose(full_operator(X, [1], [], 2), np.kron(X, I2))
    np.testing.assert_allclose(full_operator(X, [1], [0], 2), gate_matrix("cx"))


def test_reference_rejects_measure_and_handles_conditions():
    circuit = Circuit(1, 1).x(0).measure(0, 0)
    with pytest.raises(ValueError, match="unitary"):
        reference_statevector(circuit)
    # all clbits are 0: a condition on value 0 applies, on value 1 does not
    circuit = Circuit(2, 1).x(0, condition=(0, 0)).x(1, condition=(0, 1))
    np.testing.assert_allclose(reference_statevector(circuit), [0, 1, 0, 0])


def test_random_circuit_draws_every_gate():
    seen = set()
    for seed in range(20):
        seen.update(random_circuit(5, 6, seed=seed).count_ops())
    assert seen == CONTRACT_GATES | {"unitary"}
    only = random_circuit(3, 4, seed=1, gate_set=["h", "cx"], global_phase=False)
    assert set(only.count_ops()) <= {"h", "cx"} and only.global_phase == 0
    assert random_circuit(4, 3, seed=5).data == random_circuit(4, 3, seed=5).data


# ------------------------------------------------------------------ builder


def test_chaining_and_instructions():
    qc = Circuit(3, 2, name="demo")
    assert qc.h(0).cx(0, 1).cp(0.5, 1, 2).u(0.1, 0.2, 0.3, 2) is qc
    assert qc.name == "demo" and qc.num_qubits == 3 and qc.num_clbits == 2
    assert [i.name for i in qc.data] == ["h", "cx", "cp", "u"]
    assert qc.data[1].qubits == (0, 1)
    assert qc.data[2] == Instruction("cp", (1, 2), (), (0.5,), None)
    assert qc.data[3].params == (0.1, 0.2, 0.3)
    assert all(isinstance(p, float) for p in qc.data[3].params)
    assert len(qc) == qc.size() == 4
    assert list(qc) == qc.data


def test_argument_order_of_multi_qubit_methods():
    qc = Circuit(5)
    qc.cu(0.1, 0.2, 0.3, 0.4, 3, 1).mcx([0, 2], 4).mcp(0.7, [4, 1, 3], 0)
    qc.ccx(4, 3, 2).cswap(0, 1, 2).rzz(0.3, 2, 4).unitary(np.eye(4), [3, 1])
    assert [(i.name, i.qubits, i.params) for i in qc.data] == [
        ("cu", (3, 1), (0.1, 0.2, 0.3, 0.4)),
        ("mcx", (0, 2, 4), ()),
        ("mcp", (4, 1, 3, 0), (0.7,)),
        ("ccx", (4, 3, 2), ()),
        ("cswap", (0, 1, 2), ()),
        ("rzz", (2, 4), (0.3,)),
        ("unitary", (3, 1), ()),
    ]


def test_every_gate_method_exists_and_takes_qiskit_arguments():
    rng = np.random.default_rng(3)
    for name in sorted(CONTRACT_GATES):
        qc = Circuit(4)
        spec = GATES[name]
        n = spec.num_targets + (2 if spec.num_controls is None else spec.num_controls)
        add_gate(qc, name, random_params(name, rng), list(range(n)))
        assert qc.data[0].name == name and qc.data[0].qubits == tuple(range(n))


def test_numpy_integers_and_floats_are_accepted():
    qc = Circuit(np.int64(3), np.int32(1))
    qc.rx(np.float32(0.5), np.int64(2)).measure(np.uint8(0), np.int16(0))
    qc.mcx(np.array([0, 1]), np.int64(2)).rz(np.array(0.25), 0)
    assert qc.num_qubits == 3 and qc.data[0].qubits == (2,)
    assert type(qc.data[0].qubits[0]) is int and type(qc.data[0].params[0]) is float
    assert qc.data[3].params == (0.25,)


def test_broadcasting_like_qiskit():
    qc = Circuit(4).h(range(4)).cx([0, 1], [2, 3]).cx(0, [1, 2]).measure_all()
    names = [(i.name, i.qubits) for i in qc.data[:8]]
    assert names == [
        ("h", (0,)),
        ("h", (1,)),
        ("h", (2,)),
        ("h", (3,)),
        ("cx", (0, 2)),
        ("cx", (1, 3)),
        ("cx", (0, 1)),
        ("cx", (0, 2)),
    ]
    qc = Circuit(2, 2).measure([0, 1], [1, 0]).reset([0, 1])
    assert [(i.name, i.qubits, i.clbits) for i in qc.data] == [
        ("measure", (0,), (1,)),
        ("measure", (1,), (0,)),
        ("reset", (0,), ()),
        ("reset", (1,), ()),
    ]


def test_failed_broadcast_is_atomic():
    qc = Circuit(3).h(0)
    with pytest.raises(CircuitError, match="range"):
        qc.h([0, 1, 5])
    with pytest.raises(CircuitError, match="repeated"):
        qc.cx([0, 1], [2, 1])
    with pytest.raises(CircuitError, match="unknown register"):
        qc.x([0, 1], condition=("nope", 1))
    assert len(qc) == 1


def test_registers_and_measure_all():
    qc = Circuit(3, 2)
    assert qc.cregs == [("c", 2)]
    qc.add_register("flags", 3)
    assert qc.cregs == [("c", 2), ("flags", 3)] and qc.num_clbits == 5
    assert tuple(qc.register_clbits("flags")) == (2, 3, 4)  # a range: built lazily
    qc.measure_all()
    assert qc.cregs == [("c", 2), ("flags", 3), ("meas", 3)]
    assert qc.data[0] == Instruction("barrier", (0, 1, 2))
    assert [(i.qubits, i.clbits) for i in qc.data[1:]] == [((0,), (5,)), ((1,), (6,)), ((2,), (7,))]
    qc.measure_all()
    assert qc.cregs[-1] == ("meas0", 3) and qc.num_clbits == 11
    assert Circuit(2).cregs == []
    qc = Circuit(2, 3).measure_all(add_bits=False)
    assert qc.cregs == [("c", 3)]
    assert [i.clbits for i in qc.data[1:]] == [(0,), (1,)]


def test_conditions_are_resolved_to_clbits():
    qc = Circuit(2, 1).add_register("r", 3)
    qc.x(0, condition=(0, 1)).h(1, condition=("r", 5)).measure(0, 1, condition=("c", True))
    assert qc.data[0].condition == ((0,), 1)
    assert qc.data[1].condition == ((1, 2, 3), 5)
    assert qc.data[2].condition == ((0,), 1)
    qc.unitary(np.eye(2), 0, condition=["r", 0])
    assert qc.data[3].condition == ((1, 2, 3), 0)


def test_barrier():
    qc = Circuit(3).barrier().barrier(2, 0).barrier([1, 2], 1)
    assert [i.qubits for i in qc.data] == [(0, 1, 2), (2, 0), (1, 2)]


def test_saves():
    qc = Circuit(3).save_statevector().save_probabilities().save_probabilities([2, 0], "p20")
    qc.save_expectation_value("XZ", [1, 2]).save_expectation_value("Y", 0, label="y0")
    assert qc.save_labels == ("statevector", "probabilities", "p20", "expectation_value", "y0")
    assert qc.data[1].qubits == (0, 1, 2)
    assert qc.data[2].qubits == (2, 0) and qc.data[2].label == "p20"
    assert qc.data[3].params == ("XZ",) and qc.data[3].qubits == (1, 2)
    assert qc.data[4].qubits == (0,)


def test_global_phase():
    qc = Circuit(1)
    assert qc.global_phase == 0.0
    qc.global_phase = 0.5
    assert qc.global_phase == 0.5
    qc.global_phase = -0.5
    assert qc.global_phase == pytest.approx(2 * math.pi - 0.5)
    qc.global_phase = np.float64(2 * math.pi)
    assert qc.global_phase == pytest.approx(0.0, abs=1e-15)


def test_count_ops_copy_repr():
    qc = Circuit(2, name="x").h(0).h(1).cx(0, 1).measure_all()
    assert qc.count_ops() == {"h": 2, "measure": 2, "cx": 1, "barrier": 1}
    assert list(qc.count_ops())[0] in ("h", "measure")
    dup = qc.copy(name="y")
    dup.x(0).add_register("extra", 1)
    assert len(qc) == 6 and len(dup) == 7 and dup.name == "y" and qc.name == "x"
    assert qc.cregs == [("meas", 2)]
    assert "num_qubits=2" in repr(qc)
    assert Circuit(1).name != Circuit(1).name


def test_zero_qubit_circuit():
    qc = Circuit(0)
    qc.barrier().save_statevector()
    assert qc.encode().ops.shape == (1, _ops.OP_FIELDS)


def test_instruction_is_frozen_hashable_and_compares_matrices():
    a = Circuit(1).unitary(np.eye(2), 0).data[0]
    b = Circuit(1).unitary(np.eye(2), 0).data[0]
    c = Circuit(1).unitary(X, 0).data[0]
    assert a == b and a != c and hash(a) == hash(b)
    assert a != Circuit(1).x(0).data[0]
    with pytest.raises(AttributeError):
        a.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        a.matrix[0, 0] = 2  # stored read-only


def test_unitary_copies_its_matrix():
    m = np.eye(2, dtype=complex)
    qc = Circuit(1).unitary(m, 0)
    m[0, 0] = -1
    assert qc.data[0].matrix[0, 0] == 1


# ------------------------------------------------------------------ validation

NOT_UNITARY = np.array([[1, 1], [0, 1]])

BAD_INPUT = [
    ("num_qubits negative", lambda: Circuit(-1), "num_qubits"),
    ("num_qubits float", lambda: Circuit(2.0), "num_qubits"),
    ("num_qubits bool", lambda: Circuit(True), "num_qubits"),
    ("num_clbits negative", lambda: Circuit(2, -1), "num_clbits"),
    ("name not a string", lambda: Circuit(2, name=3), "name"),
    ("qubit too large", lambda: Circuit(2).h(2), "0..1"),
    ("qubit negative", lambda: Circuit(2).h(-1), "out of range"),
    ("qubit float", lambda: Circuit(2).h(1.0), "int"),
    ("qubit bool", lambda: Circuit(2).x(True), "int"),
    ("qubit string", lambda: Circuit(2).x("0"), "int"),
    ("qubit in empty circuit", lambda: Circuit(0).x(0), "no qubits"),
    ("repeated qubit cx", lambda: Circuit(2).cx(0, 0), "repeated"),
    ("repeated qubit ccx", lambda: Circuit(3).ccx(0, 1, 0), "repeated"),
    ("repeated control mcx", lambda: Circuit(3).mcx([0, 1, 1], 2), "repeated"),
    ("target among controls", lambda: Circuit(3).mcp(0.1, [0, 1], 1), "repeated"),
    ("mcx controls not a list", lambda: Circuit(3).mcx("01", 2), "sequence"),
    ("NaN angle", lambda: Circuit(1).rx(float("nan"), 0), "finite"),
    ("inf angle", lambda: Circuit(2).cp(float("inf"), 0, 1), "finite"),
    ("complex angle", lambda: Circuit(1).rz(1j, 0), "real"),
    ("string angle", lambda: Circuit(1).ry("0.5", 0), "real"),
    ("None angle", lambda: Circuit(1).u(0.1, 0.2, None, 0), "real"),
    ("bool angle", lambda: Circuit(1).p(True, 0), "real"),
    ("non-unitary matrix", lambda: Circuit(1).unitary(NOT_UNITARY, [0]), "not unitary"),
    ("almost unitary", lambda: Circuit(1).unitary(np.eye(2) * (1 + 1e-6), 0), "not unitary"),
    ("wrong matrix size", lambda: Circuit(2).unitary(np.eye(2), [0, 1]), "4x4"),
    ("non-square matrix", lambda: Circuit(2).unitary(np.eye(4)[:2], [0]), "2x2"),
    ("NaN in matrix", lambda: Circuit(1).unitary([[np.nan, 0], [0, 1]], 0), "NaN"),
    ("matrix of strings", lambda: Circuit(1).unitary([["a", 0], [0, 1]], 0), "array"),
    ("unitary repeated qubit", lambda: Circuit(2).unitary(np.eye(4), [1, 1]), "repeated"),
    ("unitary no qubits", lambda: Circuit(2).unitary(np.eye(1), []), "at least one"),
    ("unknown register", lambda: Circuit(1, 1).x(0, condition=("r", 1)), "unknown register"),
    ("register value too big", lambda: Circuit(1, 2).x(0, condition=("c", 4)), "0..3"),
    ("negative condition value", lambda: Circuit(1, 2).x(0, condition=("c", -1)), "range"),
    ("clbit value 2", lambda: Circuit(1, 1).x(0, condition=(0, 2)), "0..1"),
    ("condition clbit out of range", lambda: Circuit(1, 1).x(0, condition=(1, 1)), "clbit"),
    ("condition not a pair", lambda: Circuit(1, 1).x(0, condition=0), "pair"),
    ("condition value float", lambda: Circuit(1, 1).x(0, condition=(0, 1.0)), "int"),
    ("condition key float", lambda: Circuit(1, 1).x(0, condition=(0.0, 1)), "register name"),
    ("measure without clbits", lambda: Circuit(1).measure(0, 0), "no clbits"),
    ("clbit out of range", lambda: Circuit(1, 2).measure(0, 2), "0..1"),
    ("broadcast mismatch", lambda: Circuit(4).cx([0, 1], [2, 3, 1]), "broadcast"),
    ("bad Pauli letter", lambda: Circuit(2).save_expectation_value("XQ", [0, 1]), "I, X, Y, Z"),
    ("lowercase Pauli", lambda: Circuit(1).save_expectation_value("z", [0]), "I, X, Y, Z"),
    ("empty Pauli", lambda: Circuit(1).save_expectation_value("", []), "non-empty"),
    ("Pauli length", lambda: Circuit(3).save_expectation_value("XZ", [0, 1, 2]), "characters"),
    ("Pauli repeated qubit", lambda: Circuit(2).save_expectation_value("XZ", [0, 0]), "repeated"),
    (
        "duplicate save label",
        lambda: Circuit(1).save_statevector("a").save_probabilities(label="a"),
        "duplicate",
    ),
    ("empty save label", lambda: Circuit(1).save_statevector(""), "label"),
    ("no probability qubits", lambda: Circuit(1).save_probabilities([]), "at least one"),
    ("duplicate register", lambda: Circuit(1, 1).add_register("c", 2), "already exists"),
    ("register size", lambda: Circuit(1).add_register("r", -2), "size"),
    ("register name", lambda: Circuit(1).add_register("a b", 2), "spaces"),
    ("unknown register lookup", lambda: Circuit(1).register_clbits("r"), "unknown register"),
    ("measure_all no bits", lambda: Circuit(2, 1).measure_all(add_bits=False), "clbits"),
    ("global phase NaN", lambda: setattr(Circuit(1), "global_phase", float("nan")), "finite"),
    ("huge register condition", lambda: Circuit(1, 64).x(0, condition=("c", 1)), "at most"),
]


@pytest.mark.parametrize("make, word", [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_raises_circuit_error(make, word):
    with pytest.raises(CircuitError, match=word) as info:
        make()
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------ encode


def run_program(program: Program) -> np.ndarray:
    """A tiny interpreter of the encoding, for unitary programs, built on the reference."""
    n = program.num_qubits
    state = np.zeros(1 << n, dtype=complex)
    state[0] = 1
    for row in program.ops:
        kind, nt, nc, qo, vo = (int(v) for v in row[:5])
        targets = program.qubits[qo : qo + nt].tolist()
        controls = program.qubits[qo + nt : qo + nt + nc].tolist()
        assert row[_ops.COND_BITS] == 0
        if kind == _ops.DENSE:
            base = program.values[vo : vo + 4**nt].reshape(2**nt, 2**nt)
        elif kind == _ops.DIAGONAL:
            base = np.diag(program.values[vo : vo + 2**nt])
        elif kind == _ops.FLIP:
            assert nt == 1
            base = X
        elif kind == _ops.SWAP:
            assert nt == 2
            base = np.eye(4)[[0, 2, 1, 3]]
        else:
            continue  # saves
        if nt == 0:
            state = state * base[0, 0]
        else:
            state = full_operator(base, targets, controls, n) @ state
    return state


@pytest.mark.parametrize("seed", range(8))
def test_encoding_runs_like_the_reference(seed):
    circuit = random_circuit(5, 6, seed=seed)
    np.testing.assert_allclose(
        run_program(circuit.encode()), reference_statevector(circuit), atol=1e-10
    )


def test_encode_empty_circuit():
    program = Circuit(3).encode()
    assert program.ops.shape == (0, _ops.OP_FIELDS) and program.ops.dtype == np.int64
    assert program.qubits.shape == (0,) and program.qubits.dtype == np.int32
    assert program.values.shape == (0,) and program.values.dtype == np.complex128
    assert program.num_qubits == 3 and program.num_clbits == 0
    assert program.save_labels == () and program.save_kinds == ()


def test_encode_rows_by_hand():
    qc = Circuit(3, 2)
    qc.global_phase = 0.25
    qc.cp(0.3, 0, 2)  # DIAGONAL on target 2, control 0
    qc.barrier()
    qc.h(1, condition=("c", 2))  # DENSE, condition bits (0, 1) value 2
    qc.mcx([0, 1], 2)  # FLIP, no values
    qc.cswap(2, 0, 1)  # SWAP, targets (0, 1), control 2
    qc.unitary(np.eye(4)[[1, 0, 3, 2]], [2, 0])
    qc.measure(1, 1)
    qc.reset(0, condition=(1, 1))
    program = qc.encode()
    ops, qubits, values = program.ops, program.qubits, program.values
    for array in (ops, qubits, values):
        assert array.flags.c_contiguous
    assert ops.dtype == np.int64 and qubits.dtype == np.int32 and values.dtype == np.complex128
    assert ops.shape == (8, _ops.OP_FIELDS)
    d, s, f, w, m, r = _ops.DIAGONAL, _ops.DENSE, _ops.FLIP, _ops.SWAP, _ops.MEASURE, _ops.RESET
    # kind, targets, controls, qubit offset, value offset, slot, cond bits, cond value
    assert ops.tolist() == [
        [d, 0, 0, 0, 0, 0, 0, 0],
        [d, 1, 1, 0, 1, 0, 0, 0],
        [s, 1, 0, 2, 3, 0, 2, 2],
        [f, 1, 2, 5, 7, 0, 0, 0],
        [w, 2, 1, 8, 7, 0, 0, 0],
        [s, 2, 0, 11, 7, 0, 0, 0],
        [m, 1, 0, 13, 23, 1, 0, 0],
        [r, 1, 0, 14, 23, 0, 1, 1],
    ]
    assert qubits.tolist() == [2, 0, 1, 0, 1, 2, 0, 1, 0, 1, 2, 2, 0, 1, 0, 1]
    np.testing.assert_allclose(values[0], cmath.exp(0.25j))
    np.testing.assert_allclose(values[1:3], [1, cmath.exp(0.3j)])
    np.testing.assert_allclose(values[3:7], np.array([1, 1, 1, -1]) / math.sqrt(2))
    np.testing.assert_array_equal(values[7:23], np.eye(4)[[1, 0, 3, 2]].ravel())
    assert len(values) == 23


def test_encode_no_phase_row_when_phase_is_zero():
    program = Circuit(1).x(0).encode()
    assert program.ops.tolist() == [[_ops.FLIP, 1, 0, 0, 0, 0, 0, 0]]
    assert program.qubits.tolist() == [0] and program.values.shape == (0,)


def test_encode_saves():
    qc = Circuit(3).save_probabilities(label="all").save_statevector()
    qc.save_expectation_value("XYZ", [0, 1, 2], "e").save_probabilities([2, 0], "p")
    program = qc.encode()
    assert program.save_labels == ("all", "statevector", "e", "p")
    assert program.save_kinds == (
        "probabilities",
        "statevector",
        "expectation_value",
        "probabilities",
    )
    ops = program.ops
    assert ops[:, _ops.KIND].tolist() == [
        _ops.SAVE_PROBABILITIES,
        _ops.SAVE_STATEVECTOR,
        _ops.SAVE_EXPECTATION,
        _ops.SAVE_PROBABILITIES,
    ]
    assert ops[:, _ops.SLOT].tolist() == [0, 1, 2, 3]
    assert ops[:, _ops.NUM_TARGETS].tolist() == [3, 0, 3, 2]
    assert program.qubits.tolist() == [0, 1, 2, 0, 1, 2, 2, 0]
    # the Pauli code of each target, in target order: "XYZ" puts Z on qubit 0
    offset = ops[2, _ops.VALUE_OFFSET]
    assert program.values[offset : offset + 3].real.tolist() == [3, 2, 1]


def test_encode_measure_all_and_clbits():
    program = Circuit(2, 1).measure_all().encode()
    assert program.num_clbits == 3
    assert program.ops[:, _ops.KIND].tolist() == [_ops.MEASURE, _ops.MEASURE]
    assert program.ops[:, _ops.SLOT].tolist() == [1, 2]


def test_encode_is_repeatable_and_independent():
    qc = Circuit(2).h(0)
    first = qc.encode()
    qc.cx(0, 1)
    second = qc.encode()
    assert first.num_ops == 1 and second.num_ops == 2
    np.testing.assert_array_equal(first.ops, second.ops[:1])


def test_circuit_and_program_pickle():
    # executors such as Dask's send circuits and programs to other processes
    import pickle

    qc = Circuit(2, 1, name="p").h(0).unitary(np.eye(2), 1).measure(0, 0, condition=(0, 1))
    qc.global_phase = 0.1
    back = pickle.loads(pickle.dumps(qc))
    assert back.data == qc.data and back.cregs == qc.cregs and back.global_phase == 0.1
    program = pickle.loads(pickle.dumps(qc.encode()))
    np.testing.assert_array_equal(program.ops, qc.encode().ops)
