"""The encoder (svsim.encoding) against a reference copy of the encoder it replaced.

The kernel reads the layout of :mod:`svsim._ops`; the faster encoder of issue
20 must produce exactly the arrays the old one did, for every instruction
kind, on random circuits with controls, conditions, unitaries and saves.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence

import numpy as np
import pytest
from circuits import rich_circuit
from svsim import Circuit, CircuitError, _ops
from svsim.gates import GATES
from svsim.program import Instruction


def _old_encode(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Circuit.encode as it was before issue 20 (a closure per op, list rows)."""
    rows: list[list[int]] = []
    qubits: list[int] = []
    values: list[complex] = []
    slots = {label: i for i, label in enumerate(circuit.save_labels)}

    def add(
        kind: int,
        targets: Sequence[int],
        controls: Sequence[int],
        vals: Sequence[complex],
        slot: int,
        cond: tuple[tuple[int, ...], int] | None,
    ) -> None:
        row = [kind, len(targets), len(controls), len(qubits), len(values), slot, 0, 0]
        qubits.extend(targets)
        qubits.extend(controls)
        if cond is not None:
            row[_ops.COND_BITS] = len(cond[0])
            row[_ops.COND_VALUE] = cond[1]
            qubits.extend(cond[0])
        values.extend(vals)
        rows.append(row)

    def slot_of(instr: Instruction) -> int:
        assert instr.label is not None
        return slots[instr.label]

    if circuit.global_phase != 0.0:
        add(_ops.DIAGONAL, (), (), (cmath.exp(1j * circuit.global_phase),), 0, None)
    for instr in circuit.data:
        name = instr.name
        spec = GATES.get(name)
        if spec is not None:
            split = len(instr.qubits) - spec.num_targets
            kind = spec.kind
            if kind == _ops.DIAGONAL:
                vals: Sequence[complex] = spec.diagonal(*instr.params)
            elif kind == _ops.DENSE:
                vals = spec.flat(*instr.params)
            else:
                vals = ()
            add(kind, instr.qubits[split:], instr.qubits[:split], vals, 0, instr.condition)
        elif name == "unitary":
            assert instr.matrix is not None
            add(_ops.DENSE, instr.qubits, (), instr.matrix.ravel().tolist(), 0, instr.condition)
        elif name == "measure":
            add(_ops.MEASURE, instr.qubits, (), (), instr.clbits[0], instr.condition)
        elif name == "reset":
            add(_ops.RESET, instr.qubits, (), (), 0, instr.condition)
        elif name == "barrier":
            continue
        elif name == "save_statevector":
            add(_ops.SAVE_STATEVECTOR, (), (), (), slot_of(instr), None)
        elif name == "save_probabilities":
            add(_ops.SAVE_PROBABILITIES, instr.qubits, (), (), slot_of(instr), None)
        elif name == "save_expectation_value":
            codes = [complex(_ops.PAULI_CODES[ch]) for ch in reversed(instr.params[0])]
            add(_ops.SAVE_EXPECTATION, instr.qubits, (), codes, slot_of(instr), None)
        else:
            raise AssertionError(name)
    ops = np.array(rows, dtype=np.int64).reshape(-1, _ops.OP_FIELDS)
    return ops, np.array(qubits, dtype=np.int32), np.array(values, dtype=np.complex128)


def _random_circuit(seed: int, num_qubits: int = 6, num_ops: int = 120) -> Circuit:
    """Every named gate (with its controls), unitaries, measures, resets,
    barriers, conditions and saves, in a random order."""
    rng = np.random.default_rng(seed)
    qc = Circuit(num_qubits, 4, name=f"random-{seed}")
    qc.add_register("flag", 2)
    qc.global_phase = float(rng.uniform(-1, 1)) if seed % 2 else 0.0
    names = sorted(GATES)
    for k in range(num_ops):
        pick = rng.random()
        cond = None
        if rng.random() < 0.15:
            cond = ("c", int(rng.integers(16))) if rng.random() < 0.5 else (int(rng.integers(6)), 1)
        if pick < 0.8:
            spec = GATES[names[int(rng.integers(len(names)))]]
            controls = spec.num_controls
            if controls is None:
                controls = int(rng.integers(0, 3))
            width = controls + spec.num_targets
            qs = [int(q) for q in rng.choice(num_qubits, size=width, replace=False)]
            params = [float(p) for p in rng.uniform(-math.pi, math.pi, size=spec.num_params)]
            method = getattr(qc, spec.name)
            if spec.name in ("mcx", "mcp"):
                method(*params, qs[:controls], qs[controls], condition=cond)
            else:
                method(*params, *qs, condition=cond)
        elif pick < 0.85:
            q = [int(v) for v in rng.choice(num_qubits, size=2, replace=False)]
            theta = float(rng.uniform(0, math.pi))
            u = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
            qc.unitary(np.kron(u, np.array([[0, 1j], [1j, 0]])), q, condition=cond)
        elif pick < 0.9:
            qc.measure(int(rng.integers(num_qubits)), int(rng.integers(6)), condition=cond)
        elif pick < 0.93:
            qc.reset(int(rng.integers(num_qubits)), condition=cond)
        elif pick < 0.95:
            qc.barrier()
        elif pick < 0.97:
            qc.save_probabilities([int(rng.integers(num_qubits))], label=f"p{k}")
        elif pick < 0.99:
            qc.save_expectation_value("XZ", [0, 1], label=f"e{k}")
        else:
            qc.save_statevector(label=f"s{k}")
    return qc


@pytest.mark.parametrize("seed", range(40))
def test_random_circuits_encode_as_the_old_encoder_did(seed: int) -> None:
    qc = _random_circuit(seed)
    program = qc.encode()
    ops, qubits, values = _old_encode(qc)
    assert program.ops.dtype == np.int64 and program.ops.shape == ops.shape
    np.testing.assert_array_equal(program.ops, ops)
    assert program.qubits.dtype == np.int32
    np.testing.assert_array_equal(program.qubits, qubits)
    assert program.values.dtype == np.complex128
    np.testing.assert_array_equal(program.values, values)
    assert program.save_labels == qc.save_labels
    assert all(a.flags.c_contiguous for a in (program.ops, program.qubits, program.values))


def test_rich_and_empty_circuits_encode_as_the_old_encoder_did() -> None:
    for qc in (rich_circuit(), Circuit(3), Circuit(2, 2).measure_all()):
        program = qc.encode()
        for new, old in zip(
            (program.ops, program.qubits, program.values), _old_encode(qc), strict=True
        ):
            np.testing.assert_array_equal(new, old)
        assert program.ops.shape[1] == _ops.OP_FIELDS


@pytest.mark.parametrize("seed", range(10))
def test_plain_circuits_with_a_global_phase_encode_as_the_old_encoder_did(seed: int) -> None:
    # The batch of small jobs' kind of circuit (gates, measurements, no
    # conditions or saves), with controls and a global phase.
    rng = np.random.default_rng(1000 + seed)
    qc = Circuit(5)
    qc.global_phase = float(rng.uniform(-math.pi, math.pi))
    for _ in range(60):
        name = str(rng.choice(["h", "rx", "rz", "u", "cx", "cp", "ccx", "swap", "rzz", "reset"]))
        spec = GATES.get(name)
        width = 1 if spec is None else spec.num_targets + (spec.num_controls or 0)
        qs = [int(q) for q in rng.choice(5, size=width, replace=False)]
        params = [] if spec is None else [float(p) for p in rng.uniform(-3, 3, spec.num_params)]
        getattr(qc, name)(*params, *qs)
    qc.measure_all()
    program = qc.encode()
    for new, old in zip(
        (program.ops, program.qubits, program.values), _old_encode(qc), strict=True
    ):
        assert new.dtype == old.dtype
        np.testing.assert_array_equal(new, old)


def test_an_instruction_of_no_known_kind_is_refused() -> None:
    qc = Circuit(2).h(0)
    qc.data.append(Instruction("bogus", (0,)))
    with pytest.raises(CircuitError, match="bogus"):
        qc.encode()
