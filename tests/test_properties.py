"""Property-based tests: random circuits over the whole instruction set,
against the dense references, in both precisions, with and without fusion,
at one and two threads."""

from __future__ import annotations

import numpy as np
import svsim
from hypothesis import given
from hypothesis import strategies as st
from reference import (
    ALL_GATES,
    apply_gate_tensor,
    full_operator,
    outcome_distribution,
    random_unitary,
    reference_statevector,
    tensor_reference,
)
from svsim.engine import run_experiment
from svsim.gates import GATES

angles = st.floats(-2 * np.pi, 2 * np.pi, allow_nan=False, allow_infinity=False)


@st.composite
def gate_calls(draw, num_qubits: int, num_clbits: int):
    """One gate call: (method name, args, condition or None)."""
    fitting = [
        g
        for g in ALL_GATES
        if g == "unitary" or (GATES[g].num_controls or 1) + GATES[g].num_targets <= num_qubits
    ]
    name = draw(st.sampled_from(fitting))
    if name == "unitary":
        width = draw(st.integers(1, min(3, num_qubits)))
        qubits = draw(st.permutations(range(num_qubits)))[:width]
        seed = draw(st.integers(0, 2**32 - 1))
        args = (random_unitary(width, np.random.default_rng(seed)), list(qubits))
    else:
        spec = GATES[name]
        params = tuple(draw(angles) for _ in range(spec.num_params))
        if spec.num_controls is None:
            width = draw(st.integers(2, num_qubits))
            qubits = draw(st.permutations(range(num_qubits)))[:width]
            args = (*params, list(qubits[:-1]), qubits[-1])
        else:
            width = spec.num_controls + spec.num_targets
            qubits = draw(st.permutations(range(num_qubits)))[:width]
            args = (*params, *qubits)
    condition = None
    if num_clbits and draw(st.integers(0, 4)) == 0:
        condition = (draw(st.integers(0, num_clbits - 1)), draw(st.integers(0, 1)))
    return name, args, condition


@st.composite
def unitary_circuits(draw, max_qubits: int = 10):
    num_qubits = draw(st.integers(1, max_qubits))
    circuit = svsim.Circuit(num_qubits, num_clbits=1)
    circuit.global_phase = draw(angles)
    for name, args, condition in draw(st.lists(gate_calls(num_qubits, 1), max_size=25)):
        getattr(circuit, name)(*args, condition=condition)
    return circuit


@st.composite
def measured_circuits(draw):
    """Circuits with mid-circuit measurement, reset and conditions (few
    measurements, so the exact distribution stays small)."""
    num_qubits = draw(st.integers(1, 5))
    num_clbits = draw(st.integers(1, 3))
    circuit = svsim.Circuit(num_qubits, num_clbits)
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["gate", "gate", "gate", "measure", "reset"]))
        if kind == "gate":
            name, args, condition = draw(gate_calls(num_qubits, num_clbits))
            getattr(circuit, name)(*args, condition=condition)
        elif kind == "measure":
            circuit.measure(
                draw(st.integers(0, num_qubits - 1)), draw(st.integers(0, num_clbits - 1))
            )
        else:
            circuit.reset(draw(st.integers(0, num_qubits - 1)))
    for c in range(num_clbits):
        if draw(st.booleans()):
            circuit.measure(draw(st.integers(0, num_qubits - 1)), c)
    return circuit


TOLERANCE = {"double": 1e-10, "single": 1e-4}


@given(
    circuit=unitary_circuits(),
    precision=st.sampled_from(["double", "single"]),
    fusion=st.booleans(),
    threads=st.sampled_from([1, 2]),
)
def test_statevector_matches_reference(circuit, precision, fusion, threads):
    out = run_experiment(
        circuit,
        shots=1,
        seed=0,
        precision=precision,
        threads=threads,
        fusion=fusion,
        fusion_threshold=1,
    )
    want = tensor_reference(circuit)
    np.testing.assert_allclose(out.statevector, want, atol=TOLERANCE[precision], rtol=0)


@given(circuit=unitary_circuits(), max_fused=st.integers(1, 5))
def test_fusion_on_and_off_agree_to_1e12(circuit, max_fused):
    fused = run_experiment(
        circuit, shots=1, seed=0, fusion=True, fusion_threshold=1, max_fused_qubits=max_fused
    )
    plain = run_experiment(circuit, shots=1, seed=0, fusion=False)
    np.testing.assert_allclose(fused.statevector, plain.statevector, atol=1e-12, rtol=0)


@given(circuit=unitary_circuits(max_qubits=6))
def test_the_two_references_agree(circuit):
    np.testing.assert_allclose(
        tensor_reference(circuit), reference_statevector(circuit), atol=1e-12, rtol=0
    )


@given(
    circuit=measured_circuits(),
    precision=st.sampled_from(["double", "single"]),
    fusion=st.booleans(),
    threads=st.sampled_from([1, 2]),
)
def test_counts_follow_the_exact_distribution(circuit, precision, fusion, threads):
    shots = 3000
    exact = outcome_distribution(circuit)
    out = run_experiment(
        circuit,
        shots=shots,
        seed=1234,
        precision=precision,
        threads=threads,
        fusion=fusion,
        fusion_threshold=1,
    )
    drawn = out.memory[:, 0].astype(np.int64)
    values, counts = np.unique(drawn, return_counts=True)
    tol = 1e-9 if precision == "double" else 1e-5
    for value in values:  # nothing impossible is ever drawn
        assert exact.get(int(value), 0.0) > tol, f"outcome {value} has probability 0"
    observed = dict(zip(values.tolist(), counts.tolist(), strict=True))
    stat, dof = 0.0, -1
    for value, p in exact.items():
        if p * shots < 1e-9:
            continue
        expected = p * shots
        stat += (observed.get(value, 0) - expected) ** 2 / expected
        dof += 1
    # Far beyond the 1 - 1e-9 quantile: with thousands of examples a fair
    # sampler must never fail, a biased one does.
    assert stat < dof + 12 * np.sqrt(2 * max(dof, 1)) + 40


def test_reference_operators_agree_on_a_known_case():
    # cx(0, 1) on |01> (qubit 0 set) gives |11>.
    state = np.zeros(4, dtype=np.complex128)
    state[1] = 1
    x = np.array([[0, 1], [1, 0]], dtype=np.complex128)
    np.testing.assert_allclose(apply_gate_tensor(state, x, (1,), (0,), 2), [0, 0, 0, 1])
    np.testing.assert_allclose(full_operator(x, (1,), (0,), 2) @ state, [0, 0, 0, 1])
