"""The built-in circuit families, each against a check that does not use them.

GHZ and QFT against their closed forms (the DFT matrix, computed with numpy),
the random families against their documented structure, and every family's
kernel state against the dense reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import svsim
from reference import reference_statevector, reference_unitary
from svsim import families
from svsim.families import FAMILIES, build, ghz, haar_su4, qft, quantum_volume, random_layers


def kernel_state(circuit: svsim.Circuit, precision: str = "double") -> np.ndarray:
    job = svsim.BasicSimulator(precision=precision).run(circuit, shots=1, seed_simulator=1)
    return np.asarray(job.result(timeout=60).get_statevector())


def dft_matrix(num_qubits: int) -> np.ndarray:
    """F[y, x] = exp(2 pi i x y / N) / sqrt(N), from the formula."""
    dim = 1 << num_qubits
    x = np.arange(dim)
    return np.exp(2j * np.pi * np.outer(x, x) / dim) / math.sqrt(dim)


# ------------------------------------------------------------------ ghz


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_ghz_amplitudes(n):
    expected = np.zeros(1 << n, dtype=complex)
    expected[0] = expected[-1] = 1 / math.sqrt(2)
    circuit = ghz(n)
    np.testing.assert_allclose(kernel_state(circuit), expected, atol=1e-12)
    np.testing.assert_allclose(reference_statevector(circuit), expected, atol=1e-12)
    assert circuit.count_ops() == ({"h": 1, "cx": n - 1} if n > 1 else {"h": 1})
    assert circuit.num_clbits == 0
    assert circuit.name == f"ghz_{n}"


def test_ghz_single_precision():
    state = kernel_state(ghz(12), precision="single")
    assert state.dtype == np.complex64
    assert abs(state[0] - 1 / math.sqrt(2)) < 1e-6
    assert abs(state[-1] - 1 / math.sqrt(2)) < 1e-6
    assert np.count_nonzero(np.abs(state) > 1e-6) == 2


# ------------------------------------------------------------------ qft


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_qft_unitary_is_the_dft(n):
    np.testing.assert_allclose(reference_unitary(qft(n)), dft_matrix(n), atol=1e-12)


@pytest.mark.parametrize("n", [3, 6, 9])
def test_qft_of_basis_states_in_the_kernel(n):
    dim = 1 << n
    y = np.arange(dim)
    for x in (0, 1, dim // 3, dim - 1):
        circuit = svsim.Circuit(n)
        for q in range(n):
            if x >> q & 1:
                circuit.x(q)
        prepared = qft(n)
        for instr in prepared.data:  # append the QFT after the X gates
            getattr(circuit, instr.name)(*instr.params, *instr.qubits)
        expected = np.exp(2j * np.pi * x * y / dim) / math.sqrt(dim)
        np.testing.assert_allclose(kernel_state(circuit), expected, atol=1e-10)


def test_qft_follows_qiskit_gate_order():
    n = 4
    listed = [(i.name, i.qubits, i.params) for i in qft(n).data]
    expected = []
    for j in range(n - 1, -1, -1):
        expected.append(("h", (j,), ()))
        for k in range(j - 1, -1, -1):
            expected.append(("cp", (j, k), (math.pi / 2 ** (j - k),)))
    expected += [("swap", (0, 3), ()), ("swap", (1, 2), ())]
    assert listed == expected


def test_qft_matches_qiskit_when_installed():
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit.circuit.library import QFTGate
    from qiskit.quantum_info import Operator

    n = 4
    np.testing.assert_allclose(reference_unitary(qft(n)), Operator(QFTGate(n)).data, atol=1e-12)


# ------------------------------------------------------------------ random


@pytest.mark.parametrize(("n", "depth"), [(1, 3), (2, 1), (5, 4), (6, 3)])
def test_random_layers_structure(n, depth):
    circuit = random_layers(n, depth, seed=3)
    data = circuit.data
    position = 0
    for layer in range(depth):
        for q in range(n):
            ry, rz = data[position], data[position + 1]
            assert (ry.name, ry.qubits) == ("ry", (q,))
            assert (rz.name, rz.qubits) == ("rz", (q,))
            for angle in (ry.params[0], rz.params[0]):
                assert 0.0 <= angle < 2 * math.pi
            position += 2
        for q in range(layer % 2, n - 1, 2):
            assert (data[position].name, data[position].qubits) == ("cx", (q, q + 1))
            position += 1
    assert position == len(data)
    assert circuit.name == f"random_{n}x{depth}"


def test_random_layers_seeded():
    first, again, other = random_layers(5, 4, 11), random_layers(5, 4, 11), random_layers(5, 4, 12)
    assert first.data == again.data
    assert first.data != other.data


@pytest.mark.parametrize("n", [3, 5])
def test_random_layers_state_matches_the_reference(n):
    circuit = random_layers(n, 4, seed=n)
    state = kernel_state(circuit)
    np.testing.assert_allclose(state, reference_statevector(circuit), atol=1e-10)
    assert abs(np.vdot(state, state) - 1) < 1e-12


# ------------------------------------------------------------------ quantum volume


def test_haar_su4_is_special_unitary():
    rng = np.random.default_rng(5)
    for _ in range(20):
        u = haar_su4(rng)
        np.testing.assert_allclose(u @ u.conj().T, np.eye(4), atol=1e-12)
        assert abs(np.linalg.det(u) - 1) < 1e-12


def test_haar_su4_is_not_degenerate():
    # Haar-random entries: E|u_ij|^2 = 1/4, and the matrices differ from draw to draw.
    rng = np.random.default_rng(9)
    draws = np.array([haar_su4(rng) for _ in range(400)])
    assert abs(np.mean(np.abs(draws) ** 2) - 0.25) < 0.02
    assert not np.allclose(draws[0], draws[1])


@pytest.mark.parametrize(("n", "depth"), [(1, 2), (4, 3), (5, 5), (6, None)])
def test_quantum_volume_structure(n, depth):
    circuit = quantum_volume(n, depth, seed=2)
    layers = n if depth is None else depth
    per_layer = n // 2
    assert len(circuit.data) == layers * per_layer
    for layer in range(layers):
        chunk = circuit.data[layer * per_layer : (layer + 1) * per_layer]
        touched = [q for instr in chunk for q in instr.qubits]
        assert len(touched) == len(set(touched)) == 2 * per_layer  # a pairing: disjoint
        for instr in chunk:
            assert instr.name == "unitary" and len(instr.qubits) == 2
            u = instr.matrix
            np.testing.assert_allclose(u @ u.conj().T, np.eye(4), atol=1e-12)
            assert abs(np.linalg.det(u) - 1) < 1e-10
    assert circuit.name == f"qv_{n}x{layers}"


@pytest.mark.parametrize("n", [4, 5])
def test_quantum_volume_state_matches_the_reference(n):
    circuit = quantum_volume(n, seed=7)
    state = kernel_state(circuit)
    assert abs(np.vdot(state, state) - 1) < 1e-12
    np.testing.assert_allclose(state, reference_statevector(circuit), atol=1e-10)
    # Random SU(4) layers spread the state: no outcome keeps most of the weight.
    assert np.max(np.abs(state) ** 2) < 0.5


def test_quantum_volume_seeded():
    assert quantum_volume(4, 3, 1).data == quantum_volume(4, 3, 1).data
    assert quantum_volume(4, 3, 1).data != quantum_volume(4, 3, 2).data


# ------------------------------------------------------------------ the table


def test_families_table():
    assert list(FAMILIES) == ["ghz", "qft", "random", "qv"]
    assert FAMILIES["ghz"] is ghz and FAMILIES["qv"] is quantum_volume


def test_build_dispatches_with_defaults():
    assert build("ghz", 3).data == ghz(3).data
    assert build("qft", 3).data == qft(3).data
    assert build("random", 3, seed=4).data == random_layers(3, families.DEFAULT_DEPTH, 4).data
    assert build("qv", 4, seed=4).data == quantum_volume(4, 4, 4).data
    assert build("random", 3, 2, 4).data == random_layers(3, 2, 4).data


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: build("nope", 3), "unknown circuit family"),
        (lambda: build("ghz", 3, depth=2), "takes no depth"),
        (lambda: ghz(0), "num_qubits"),
        (lambda: qft(2.5), "num_qubits"),
        (lambda: random_layers(3, 0), "depth"),
        (lambda: quantum_volume(3, True), "depth"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(svsim.CircuitError, match=message):
        call()
