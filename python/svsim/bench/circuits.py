"""The benchmark's circuit families, and their translation into each simulator.

A family is first generated as a neutral :class:`Spec`: a list of :class:`Op`
records in svsim's (Qiskit's) conventions, built from a seeded generator so that
every process builds the same circuit.  The ``to_*`` functions then build each
simulator's native circuit from it with that simulator's own API (``cp`` becomes
``cp`` in Qiskit, ``CZPowGate`` in Cirq, a controlled ``U1`` in qulacs, ...).

Conventions: qubit 0 is the least significant bit of a basis-state index; a
dense matrix on ``(a, b)`` has ``a`` as its low bit; angles are Qiskit's
(``rz(t) = exp(-i t Z / 2)``).  Cirq is big-endian: :func:`to_cirq` returns the
qubit order (``LineQubit(n - 1)`` first) under which Cirq's state vector has
svsim's bit order.  PennyLane Lightning and Qibo number qubits from the other
end too (their qubit 0 is the most significant bit): :func:`to_lightning` and
:func:`to_qibo` put svsim's qubit ``q`` on their qubit ``n - 1 - q``, and their
state vectors then have svsim's bit order as they come.

Nothing here imports a peer at import time: each ``to_*`` imports its library.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FAMILIES",
    "MICRO_GATES",
    "Op",
    "Spec",
    "batch_specs",
    "family_spec",
    "haar_unitary",
    "micro_spec",
    "micro_targets",
    "mid_circuit_spec",
    "sample_spec",
    "to_cirq",
    "to_lightning",
    "to_qibo",
    "to_qiskit",
    "to_qulacs",
    "to_svsim",
]

# The circuit families whose final state is compared and timed.
FAMILIES = ("qft", "ghz", "random", "qv", "qcbm")
# Gate microbenchmarks: the gate, repeated on one target (two-qubit gates also
# touch a partner qubit next to it).
MICRO_GATES = ("h", "x", "rz", "u1q", "cx", "cz", "swap", "u2q")
_TWO_QUBIT = {"cx", "cz", "swap", "u2q"}

LAYERS = 10  # layers of the `random` and `qcbm` families


@dataclass(frozen=True, eq=False)
class Op:
    """One operation: ``name`` in ``h x rx ry rz cx cz swap cp unitary measure reset``.

    ``qubits`` are Qiskit-ordered (controls first, then targets; for
    ``unitary``, ``qubits[0]`` is the matrix's low bit).  ``clbit`` is set for
    ``measure`` only.
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[float, ...] = ()
    matrix: np.ndarray | None = None
    clbit: int | None = None


@dataclass(frozen=True, eq=False)
class Spec:
    """A circuit in neutral form.

    ``kind`` is ``"state"`` (no measurement: compare and time the final state)
    or ``"sample"`` (measurements: time the shots).  ``measure_all`` adds a
    final measurement of every qubit into its own bit (``meas`` register).
    """

    family: str
    num_qubits: int
    ops: tuple[Op, ...]
    num_clbits: int = 0
    kind: str = "state"
    measure_all: bool = False
    label: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def gates(self) -> int:
        """The number of unitary gates."""
        return sum(1 for op in self.ops if op.name not in ("measure", "reset"))

    @property
    def key(self) -> str:
        return self.label or self.family


def _rng(family: str, num_qubits: int, salt: int = 0) -> np.random.Generator:
    """A generator that depends only on its arguments (not on Python's hash seed)."""
    return np.random.default_rng([zlib.crc32(family.encode()), num_qubits, salt, 20240611])


def haar_unitary(dim: int, rng: np.random.Generator, special: bool = False) -> np.ndarray:
    """A Haar-random ``dim`` x ``dim`` unitary (QR of a complex Gaussian, phases fixed).

    With ``special=True`` its determinant is made 1 (an element of SU(dim)).
    """
    z = (rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))) / math.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diagonal(r)
    q = q * (d / np.abs(d))
    if special:
        q = q / np.linalg.det(q) ** (1.0 / dim)
    return np.ascontiguousarray(q)


# ---------------------------------------------------------------- families


def _qft(n: int) -> list[Op]:
    ops: list[Op] = []
    for j in reversed(range(n)):
        ops.append(Op("h", (j,)))
        for k in reversed(range(j)):
            ops.append(Op("cp", (k, j), (math.pi / (1 << (j - k)),)))
    for i in range(n // 2):
        ops.append(Op("swap", (i, n - 1 - i)))
    return ops


def _ghz(n: int) -> list[Op]:
    return [Op("h", (0,))] + [Op("cx", (i, i + 1)) for i in range(n - 1)]


def _layers(n: int, rng: np.random.Generator, layers: int, first: str, entangle: str) -> list[Op]:
    """``layers`` of (``first``, rz) on every qubit, then cx in a brickwork or a ring."""
    ops: list[Op] = []
    for layer in range(layers):
        angles = rng.uniform(0, 2 * math.pi, size=(n, 2))
        for q in range(n):
            ops.append(Op(first, (q,), (float(angles[q, 0]),)))
            ops.append(Op("rz", (q,), (float(angles[q, 1]),)))
        if entangle == "brick":
            ops.extend(Op("cx", (q, q + 1)) for q in range(layer % 2, n - 1, 2))
        elif n > 1:
            ops.extend(Op("cx", (q, (q + 1) % n)) for q in range(n if n > 2 else 1))
    return ops


def _qv(n: int, rng: np.random.Generator) -> list[Op]:
    ops: list[Op] = []
    for _ in range(n):
        perm = rng.permutation(n)
        for i in range(n // 2):
            a, b = int(perm[2 * i]), int(perm[2 * i + 1])
            ops.append(Op("unitary", (a, b), matrix=haar_unitary(4, rng, special=True)))
    return ops


def family_spec(family: str, num_qubits: int) -> Spec:
    """The circuit of ``family`` (one of :data:`FAMILIES`) on ``num_qubits`` qubits."""
    rng = _rng(family, num_qubits)
    if family == "qft":
        ops = _qft(num_qubits)
    elif family == "ghz":
        ops = _ghz(num_qubits)
    elif family == "random":
        ops = _layers(num_qubits, rng, LAYERS, "ry", "brick")
    elif family == "qv":
        ops = _qv(num_qubits, rng)
    elif family == "qcbm":
        ops = _layers(num_qubits, rng, LAYERS, "rx", "ring")
    else:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    return Spec(family, num_qubits, tuple(ops))


def micro_targets(num_qubits: int) -> list[int]:
    """The target qubits of the gate microbenchmarks: 0, 1, n/2, n-1 (distinct)."""
    return list(dict.fromkeys([0, 1, num_qubits // 2, num_qubits - 1]))


def _partner(target: int, num_qubits: int) -> int:
    return target + 1 if target + 1 < num_qubits else target - 1


def micro_spec(gate: str, target: int, num_qubits: int, reps: int, reach_all: bool = True) -> Spec:
    """``reps`` copies of ``gate`` on ``target`` (two-qubit gates pair it with a neighbour).

    With ``reach_all`` the circuit starts with an H on the top qubit: svsim
    works only on the amplitudes of the qubits that gates have reached, so
    gates on low qubits of a fresh state would cost it next to nothing.  (A
    simulator that cannot turn fusion off would fold that H into the gate.)
    ``gate == "empty"`` gives the start alone, with allocation and start-up,
    which the per-gate figure subtracts.
    """
    rng = _rng("micro-" + gate, num_qubits, target)
    p = _partner(target, num_qubits)
    start = (Op("h", (num_qubits - 1,)),) if reach_all else ()
    if gate == "empty":
        return Spec("micro", num_qubits, start, label="empty", meta={"gate": "empty", "reps": 0})
    if gate == "h":
        op = Op("h", (target,))
    elif gate == "x":
        op = Op("x", (target,))
    elif gate == "rz":
        op = Op("rz", (target,), (0.7,))
    elif gate == "u1q":
        op = Op("unitary", (target,), matrix=haar_unitary(2, rng))
    elif gate == "cx":
        op = Op("cx", (p, target))
    elif gate == "cz":
        op = Op("cz", (p, target))
    elif gate == "swap":
        op = Op("swap", (target, p))
    elif gate == "u2q":
        op = Op("unitary", (target, p), matrix=haar_unitary(4, rng))
    else:
        raise ValueError(f"unknown micro gate {gate!r}; choose from {', '.join(MICRO_GATES)}")
    return Spec(
        "micro",
        num_qubits,
        start + (op,) * reps,
        label=f"{gate}@q{target}",
        meta={"gate": gate, "target": target, "reps": reps, "two_qubit": gate in _TWO_QUBIT},
    )


def sample_spec(num_qubits: int) -> Spec:
    """The shots benchmark: one layer of ry, rz on every qubit and a cx brickwork,
    then ``measure_all``.  Cheap to prepare (a few passes), so that sampling
    dominates, and far from uniform (so that a wrong sampler shows)."""
    ops = _layers(num_qubits, _rng("shots", num_qubits), 1, "ry", "brick")
    return Spec("shots", num_qubits, tuple(ops), kind="sample", measure_all=True, label="shots")


def mid_circuit_spec(num_qubits: int, layers: int = 2) -> Spec:
    """Mid-circuit measurement and reset: ``layers`` of the random family, measure
    qubit 0 into clbit 0, reset it, ``layers`` more, then qubit q into clbit q + 1."""
    rng = _rng("mid", num_qubits)
    ops = _layers(num_qubits, rng, layers, "ry", "brick")
    ops.append(Op("measure", (0,), clbit=0))
    ops.append(Op("reset", (0,)))
    ops.extend(_layers(num_qubits, rng, layers, "ry", "brick"))
    ops.extend(Op("measure", (q,), clbit=q + 1) for q in range(num_qubits))
    return Spec(
        "mid",
        num_qubits,
        tuple(ops),
        num_clbits=num_qubits + 1,
        kind="sample",
        label="mid",
        meta={"layers": layers},
    )


_BATCH_GATES_1Q = ("h", "x", "rx", "ry", "rz")
_BATCH_GATES_2Q = ("cx", "cz", "swap")


def batch_specs(count: int, num_qubits: int = 10, gates: int = 100) -> list[Spec]:
    """``count`` random circuits of ``gates`` gates each (1q: h x rx ry rz; 2q: cx cz swap)."""
    specs = []
    for index in range(count):
        rng = _rng("batch", num_qubits, index)
        ops: list[Op] = []
        for _ in range(gates):
            if rng.random() < 0.6:
                name = _BATCH_GATES_1Q[int(rng.integers(len(_BATCH_GATES_1Q)))]
                q = int(rng.integers(num_qubits))
                params = (float(rng.uniform(0, 2 * math.pi)),) if name[0] == "r" else ()
                ops.append(Op(name, (q,), params))
            else:
                name = _BATCH_GATES_2Q[int(rng.integers(len(_BATCH_GATES_2Q)))]
                a, b = (int(v) for v in rng.choice(num_qubits, size=2, replace=False))
                ops.append(Op(name, (a, b)))
        specs.append(
            Spec("batch", num_qubits, tuple(ops), kind="sample", measure_all=True, label="batch")
        )
    return specs


# ---------------------------------------------------------------- svsim and Qiskit


def to_svsim(spec: Spec, measure: bool = True) -> Any:
    """An :class:`svsim.Circuit`; ``measure=False`` drops every measurement (the
    state before them), which the shot checks use."""
    import svsim

    qc = svsim.Circuit(spec.num_qubits, spec.num_clbits if measure else 0, name=spec.key)
    for op in spec.ops:
        if op.name == "measure":
            if measure:
                qc.measure(op.qubits[0], op.clbit)
        elif op.name == "unitary":
            qc.unitary(op.matrix, list(op.qubits))
        else:
            getattr(qc, op.name)(*op.params, *op.qubits)
    if spec.measure_all and measure:
        qc.measure_all()
    return qc


def to_qiskit(spec: Spec, save_statevector: bool = False) -> Any:
    """A ``qiskit.QuantumCircuit``; ``save_statevector`` appends Aer's save instruction."""
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(spec.num_qubits, spec.num_clbits, name=spec.key)
    for op in spec.ops:
        if op.name == "measure":
            qc.measure(op.qubits[0], op.clbit)
        elif op.name == "unitary":
            qc.unitary(op.matrix, list(op.qubits))
        else:
            getattr(qc, op.name)(*op.params, *op.qubits)
    if spec.measure_all:
        qc.measure_all()
    if save_statevector:
        import qiskit_aer  # noqa: F401  (registers QuantumCircuit.save_statevector)

        qc.save_statevector()
    return qc


# ---------------------------------------------------------------- qulacs


def qulacs_rotation_sign() -> int:
    """+1 if qulacs' ``RotX(q, t)`` is ``exp(-i t X / 2)`` (Qiskit's), -1 if it is
    the opposite sign (releases before 0.6)."""
    from qulacs import gate

    t = 0.3
    got = np.asarray(gate.RotX(0, t).get_matrix())
    want = np.array(
        [[math.cos(t / 2), -1j * math.sin(t / 2)], [-1j * math.sin(t / 2), math.cos(t / 2)]]
    )
    if np.allclose(got, want, atol=1e-12):
        return 1
    if np.allclose(got, want.conj(), atol=1e-12):
        return -1
    raise RuntimeError(f"unexpected qulacs RotX matrix {got!r}")


def to_qulacs(spec: Spec, rotation_sign: int = 1, measure: bool = False) -> Any:
    """A ``qulacs.QuantumCircuit`` (state specs only: measurement is done by sampling).

    ``rotation_sign`` is :func:`qulacs_rotation_sign`'s answer: angles are
    multiplied by it so that every rotation is Qiskit's.
    """
    from qulacs import QuantumCircuit, gate

    if spec.num_clbits:
        raise ValueError("qulacs adapter: mid-circuit measurement is not supported")
    n = spec.num_qubits
    circuit = QuantumCircuit(n)
    builders: dict[str, Callable[..., Any]] = {
        "h": gate.H,
        "x": gate.X,
        "cx": gate.CNOT,
        "cz": gate.CZ,
        "swap": gate.SWAP,
    }
    rotations = {"rx": gate.RotX, "ry": gate.RotY, "rz": gate.RotZ}
    for op in spec.ops:
        if op.name in builders:
            circuit.add_gate(builders[op.name](*op.qubits))
        elif op.name in rotations:
            circuit.add_gate(rotations[op.name](op.qubits[0], rotation_sign * op.params[0]))
        elif op.name == "cp":
            control, target = op.qubits
            phase = gate.DenseMatrix(target, np.diag([1.0, np.exp(1j * op.params[0])]))
            phase.add_control_qubit(control, 1)
            circuit.add_gate(phase)
        elif op.name == "unitary":
            # qulacs' target list is little-endian like Qiskit's: qubits[0] is the low bit.
            circuit.add_gate(gate.DenseMatrix(list(op.qubits), op.matrix))
        else:
            raise ValueError(f"qulacs adapter: unsupported operation {op.name!r}")
    return circuit


# ---------------------------------------------------------------- Cirq (qsim)


def to_cirq(spec: Spec) -> tuple[Any, list[Any]]:
    """A ``cirq.Circuit`` and the qubit order that gives svsim's bit order.

    svsim qubit ``q`` is ``cirq.LineQubit(q)``; Cirq's first qubit is the most
    significant, so the order is ``LineQubit(n - 1), ..., LineQubit(0)``.  A
    dense matrix on svsim's ``(a, b)`` (``a`` the low bit) is Cirq's
    ``MatrixGate(m).on(b, a)`` (Cirq's first qubit is the high bit).  Sample
    specs measure into key ``"c<clbit>"`` per clbit (each measured once), and
    ``"m"`` for measure_all (qubit 0 first).
    """
    import cirq

    n = spec.num_qubits
    qs = cirq.LineQubit.range(n)
    ops: list[Any] = []
    for op in spec.ops:
        q = [qs[i] for i in op.qubits]
        name = op.name
        if name == "h":
            ops.append(cirq.H(*q))
        elif name == "x":
            ops.append(cirq.X(*q))
        elif name == "rx":
            ops.append(cirq.rx(op.params[0]).on(*q))
        elif name == "ry":
            ops.append(cirq.ry(op.params[0]).on(*q))
        elif name == "rz":
            ops.append(cirq.rz(op.params[0]).on(*q))
        elif name == "cx":
            ops.append(cirq.CNOT(*q))
        elif name == "cz":
            ops.append(cirq.CZ(*q))
        elif name == "swap":
            ops.append(cirq.SWAP(*q))
        elif name == "cp":
            ops.append(cirq.CZPowGate(exponent=op.params[0] / math.pi).on(*q))
        elif name == "unitary":
            ops.append(cirq.MatrixGate(op.matrix).on(*reversed(q)))
        elif name == "measure":
            ops.append(cirq.measure(*q, key=f"c{op.clbit}"))
        elif name == "reset":
            ops.append(cirq.ResetChannel().on(*q))
        else:
            raise ValueError(f"cirq adapter: unsupported operation {name!r}")
    if spec.measure_all:
        ops.append(cirq.measure(*qs, key="m"))
    circuit = cirq.Circuit(ops)
    return circuit, list(reversed(qs))


# ---------------------------------------------------------------- PennyLane Lightning and Qibo

# svsim's gate names -> Lightning's state-vector methods, Qibo's gate classes.
_LIGHTNING_GATES = {
    "h": "Hadamard",
    "x": "PauliX",
    "rx": "RX",
    "ry": "RY",
    "rz": "RZ",
    "cx": "CNOT",
    "cz": "CZ",
    "swap": "SWAP",
    "cp": "ControlledPhaseShift",
}
_QIBO_GATES = {
    "h": "H",
    "x": "X",
    "rx": "RX",
    "ry": "RY",
    "rz": "RZ",
    "cx": "CNOT",
    "cz": "CZ",
    "swap": "SWAP",
    "cp": "CU1",
}


def to_lightning(
    spec: Spec, precision: str = "double"
) -> tuple[Any, list[tuple[Any, tuple[Any, ...]]]]:
    """Lightning's state-vector class (``lightning.qubit``'s compiled ``StateVectorC128``
    or ``StateVectorC64``) and the calls that apply the circuit to one of its states.

    Each call is ``(unbound method, arguments after the state)``: the named gates
    take ``(wires, inverse, params)``, ``applyMatrix`` takes ``(matrix, wires,
    inverse)`` with ``wires[0]`` the matrix's high bit, so svsim's ``(a, b)`` (``a``
    the low bit) is wires ``[n-1-b, n-1-a]``.  Rotations and ``ControlledPhaseShift``
    have Qiskit's conventions.
    """
    from pennylane_lightning.lightning_qubit_ops import StateVectorC64, StateVectorC128

    if spec.num_clbits or spec.measure_all:
        raise ValueError("Lightning adapter: state specs only (no measurement)")
    cls = StateVectorC128 if precision == "double" else StateVectorC64
    dtype = np.complex128 if precision == "double" else np.complex64
    n = spec.num_qubits
    calls: list[tuple[Any, tuple[Any, ...]]] = []
    for op in spec.ops:
        wires = [n - 1 - q for q in op.qubits]
        if op.name == "unitary":
            matrix = np.ascontiguousarray(op.matrix, dtype=dtype)
            calls.append((cls.applyMatrix, (matrix, wires[::-1], False)))
        elif op.name in _LIGHTNING_GATES:
            calls.append((getattr(cls, _LIGHTNING_GATES[op.name]), (wires, False, list(op.params))))
        else:
            raise ValueError(f"Lightning adapter: unsupported operation {op.name!r}")
    return cls, calls


def to_qibo(spec: Spec) -> Any:
    """A ``qibo.Circuit`` (state specs only).

    svsim's qubit ``q`` is Qibo's ``n - 1 - q``; ``Unitary(m, hi, lo)`` takes the
    matrix's high bit first, so svsim's ``(a, b)`` is ``Unitary(m, n-1-b, n-1-a)``.
    ``cp`` is Qibo's ``CU1``; rotations have Qiskit's conventions.
    """
    from qibo import Circuit, gates

    if spec.num_clbits or spec.measure_all:
        raise ValueError("Qibo adapter: state specs only (no measurement)")
    n = spec.num_qubits
    circuit = Circuit(n)
    for op in spec.ops:
        qubits = [n - 1 - q for q in op.qubits]
        if op.name == "unitary":
            circuit.add(gates.Unitary(op.matrix, *reversed(qubits)))
        elif op.name in _QIBO_GATES:
            circuit.add(getattr(gates, _QIBO_GATES[op.name])(*qubits, *op.params))
        else:
            raise ValueError(f"Qibo adapter: unsupported operation {op.name!r}")
    return circuit
