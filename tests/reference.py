"""A slow, independent dense reference for the tests.

Every gate becomes its full 2**n x 2**n operator, built by an explicit loop
over basis states from the gate's *base* matrix (``svsim.gates``), and is
multiplied into the state.  Nothing here uses ``Circuit.encode`` or the
kernel, so the two can be checked against each other.  Only unitary circuits
are supported (measure and reset raise); conditions are evaluated against
classical bits that are all 0 unless ``clbits`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from svsim.circuit import Circuit, Instruction
from svsim.gates import GATES

__all__ = [
    "apply_instruction",
    "expectation_value",
    "full_diagonal",
    "full_operator",
    "probabilities",
    "random_circuit",
    "random_unitary",
    "reference_statevector",
    "reference_unitary",
]

_SKIPPED = {"barrier", "save_statevector", "save_probabilities", "save_expectation_value"}


def full_operator(
    base: np.ndarray,
    targets: Sequence[int],
    controls: Sequence[int],
    num_qubits: int,
) -> np.ndarray:
    """The 2**n x 2**n operator of ``base`` on ``targets`` with ``controls``.

    ``targets[j]`` is bit j of the base matrix's index (Qiskit's order); the
    operator is the identity wherever some control is 0.
    """
    dim = 1 << num_qubits
    k = len(targets)
    control_mask = sum(1 << c for c in controls)
    target_mask = sum(1 << t for t in targets)
    op = np.zeros((dim, dim), dtype=np.complex128)
    for col in range(dim):
        if col & control_mask != control_mask:
            op[col, col] = 1.0
            continue
        sub_col = sum(((col >> t) & 1) << j for j, t in enumerate(targets))
        rest = col & ~target_mask
        for sub_row in range(1 << k):
            row = rest | sum(((sub_row >> j) & 1) << t for j, t in enumerate(targets))
            op[row, col] = base[sub_row, sub_col]
    return op


def _condition_holds(instr: Instruction, clbits: Sequence[int] | None) -> bool:
    if instr.condition is None:
        return True
    bits, value = instr.condition
    if clbits is None:  # all classical bits are 0
        return value == 0
    return all(clbits[b] == (value >> j) & 1 for j, b in enumerate(bits))


def apply_instruction(
    state: np.ndarray,
    instr: Instruction,
    num_qubits: int,
    clbits: Sequence[int] | None = None,
) -> np.ndarray:
    """``state`` after ``instr`` (a new array); barriers and saves change nothing.

    ``clbits`` are the classical bit values that conditions test (all 0 if None).
    """
    if instr.name in _SKIPPED:
        return state.copy()
    if instr.name in ("measure", "reset"):
        raise ValueError(f"the reference handles unitary circuits only, not {instr.name!r}")
    if not _condition_holds(instr, clbits):
        return state.copy()
    if instr.name == "unitary":
        assert instr.matrix is not None
        op = full_operator(instr.matrix, instr.qubits, (), num_qubits)
    else:
        spec = GATES[instr.name]
        split = len(instr.qubits) - spec.num_targets
        base = spec.matrix(*instr.params)
        targets, controls = instr.qubits[split:], instr.qubits[:split]
        if np.count_nonzero(base - np.diag(np.diagonal(base))) == 0:
            return full_diagonal(np.diagonal(base), targets, controls, num_qubits) * state
        op = full_operator(base, targets, controls, num_qubits)
    return op @ state


def full_diagonal(
    base: np.ndarray, targets: Sequence[int], controls: Sequence[int], num_qubits: int
) -> np.ndarray:
    """The diagonal of :func:`full_operator` for a diagonal gate whose own diagonal
    is ``base``, without the 2**n x 2**n matrix (16 qubits would need 64 GiB)."""
    index = np.arange(1 << num_qubits)
    control_mask = sum(1 << c for c in controls)
    sub = sum(((index >> t) & 1) << j for j, t in enumerate(targets))
    return np.where((index & control_mask) == control_mask, np.asarray(base)[sub], 1.0)


def reference_statevector(circuit: Circuit, initial: np.ndarray | None = None) -> np.ndarray:
    """The final state of a unitary ``circuit``, from |0...0> or ``initial``."""
    n = circuit.num_qubits
    if initial is None:
        state = np.zeros(1 << n, dtype=np.complex128)
        state[0] = 1.0
    else:
        state = np.array(initial, dtype=np.complex128).reshape(-1)
        if state.shape != (1 << n,):
            raise ValueError(f"initial state must have {1 << n} amplitudes")
    clbits = [0] * circuit.num_clbits
    for instr in circuit.data:
        state = apply_instruction(state, instr, n, clbits)
    return state * np.exp(1j * circuit.global_phase)


def reference_unitary(circuit: Circuit) -> np.ndarray:
    """The full unitary of ``circuit``: column i is the final state from |i>."""
    dim = 1 << circuit.num_qubits
    columns = [reference_statevector(circuit, np.eye(dim)[i]) for i in range(dim)]
    return np.stack(columns, axis=1)


_PAULIS = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}


def expectation_value(state: np.ndarray, pauli: str, qubits: Sequence[int]) -> float:
    """<state|P|state> for a Pauli label; its rightmost character acts on ``qubits[0]``."""
    n = int(np.log2(len(state)))
    result = np.asarray(state, dtype=np.complex128)
    for char, qubit in zip(reversed(pauli), qubits, strict=True):
        result = full_operator(_PAULIS[char].astype(np.complex128), (qubit,), (), n) @ result
    return float(np.vdot(state, result).real)


def probabilities(state: np.ndarray, qubits: Sequence[int] | None = None) -> np.ndarray:
    """Probabilities of the outcomes of ``qubits`` (all, in order, if None).

    Bit j of an outcome's index is the value of ``qubits[j]``.
    """
    n = int(np.log2(len(state)))
    qubits = range(n) if qubits is None else qubits
    probs = np.zeros(1 << len(qubits))
    for index, amp in enumerate(np.asarray(state)):
        outcome = sum(((index >> q) & 1) << j for j, q in enumerate(qubits))
        probs[outcome] += abs(amp) ** 2
    return probs


def random_unitary(num_qubits: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random unitary on ``num_qubits`` qubits (QR of a complex Gaussian)."""
    dim = 1 << num_qubits
    z = (rng.standard_normal((dim, dim)) + 1j * rng.standard_normal((dim, dim))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diag(r)
    return q * (d / np.abs(d))


ALL_GATES: tuple[str, ...] = (*GATES, "unitary")


def random_circuit(
    num_qubits: int,
    depth: int,
    seed: int | None = None,
    gate_set: Iterable[str] | None = None,
    global_phase: bool = True,
) -> Circuit:
    """A random unitary circuit of ``depth`` layers.

    Each layer walks the qubits in a random order and places random gates
    from ``gate_set`` (default: every gate of the table and ``unitary``) on
    them until too few qubits are left; angles are uniform in [-2pi, 2pi).
    ``mcx`` and ``mcp`` get 1 to n-1 controls, ``unitary`` acts on 1 to 3
    qubits.  With ``global_phase`` the circuit also gets a random phase.
    """
    rng = np.random.default_rng(seed)
    names = list(ALL_GATES if gate_set is None else gate_set)
    for name in names:
        if name != "unitary" and name not in GATES:
            raise ValueError(f"unknown gate {name!r}")
    circuit = Circuit(num_qubits, name=f"random-{num_qubits}-{depth}-{seed}")
    if global_phase:
        circuit.global_phase = rng.uniform(0, 2 * np.pi)

    def width(name: str, free: int) -> int:
        """How many qubits gate ``name`` takes here, or 0 if it does not fit."""
        if name == "unitary":
            return int(rng.integers(1, min(3, free) + 1)) if free >= 1 else 0
        spec = GATES[name]
        if spec.num_controls is None:  # mcx, mcp: 1 .. n-1 controls
            return int(rng.integers(2, free + 1)) if free >= 2 else 0
        need = spec.num_controls + spec.num_targets
        return need if need <= free else 0

    for _ in range(depth):
        order = [int(q) for q in rng.permutation(num_qubits)]
        while order:
            name = names[int(rng.integers(len(names)))]
            k = width(name, len(order))
            if k == 0:
                fits = [nm for nm in names if nm == "unitary" or _min_width(nm) <= len(order)]
                if not fits:
                    break
                name = fits[int(rng.integers(len(fits)))]
                k = width(name, len(order))
            qubits, order = order[:k], order[k:]
            if name == "unitary":
                circuit.unitary(random_unitary(k, rng), qubits)
                continue
            spec = GATES[name]
            params = rng.uniform(-2 * np.pi, 2 * np.pi, spec.num_params).tolist()
            if spec.num_controls is None:
                getattr(circuit, name)(*params, qubits[:-1], qubits[-1])
            else:
                getattr(circuit, name)(*params, *qubits)
    return circuit


def _min_width(name: str) -> int:
    spec = GATES[name]
    if spec.num_controls is None:
        return 2
    return spec.num_controls + spec.num_targets


def apply_gate_tensor(
    state: np.ndarray,
    base: np.ndarray,
    targets: Sequence[int],
    controls: Sequence[int],
    num_qubits: int,
) -> np.ndarray:
    """``base`` on ``targets`` where every control is 1, by tensor contraction.

    A second, faster route than :func:`full_operator` (no 2**n x 2**n matrix),
    for the larger circuits; the two are checked against each other in the tests.
    """
    n, k = num_qubits, len(targets)
    psi = np.array(state, dtype=np.complex128).reshape([2] * n)  # axis n-1-q is qubit q
    index: list[object] = [slice(None)] * n
    for c in controls:
        index[n - 1 - c] = 1
    sub = psi[tuple(index)]
    # Axes of `sub` after the control axes are dropped.
    kept = [a for a in range(n) if index[a] == slice(None)]
    target_axes = [kept.index(n - 1 - t) for t in reversed(targets)]  # t_{k-1} .. t_0
    gate = np.asarray(base, dtype=np.complex128).reshape([2] * (2 * k))
    moved = np.moveaxis(sub, target_axes, range(k))
    result = np.tensordot(gate, moved, axes=(range(k, 2 * k), range(k)))
    sub[...] = np.moveaxis(result, range(k), target_axes)
    return psi.reshape(-1)


def _instruction_operands(
    instr: Instruction,
) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """(base matrix, targets, controls) of a gate instruction."""
    if instr.name == "unitary":
        assert instr.matrix is not None
        return instr.matrix, tuple(instr.qubits), ()
    spec = GATES[instr.name]
    split = len(instr.qubits) - spec.num_targets
    return spec.matrix(*instr.params), tuple(instr.qubits[split:]), tuple(instr.qubits[:split])


def tensor_reference(circuit: Circuit) -> np.ndarray:
    """The final state of a unitary circuit, gate by gate on the state as a
    tensor: no operator of the whole register, so fine for 20 qubits.  Clbits
    are all 0, as in a circuit without measurements."""
    n = circuit.num_qubits
    state = np.zeros(1 << n, dtype=np.complex128)
    state[0] = 1.0
    for instr in circuit.data:
        if instr.name == "barrier" or not _condition_holds(instr, [0] * circuit.num_clbits):
            continue
        base, targets, controls = _instruction_operands(instr)
        state = apply_gate_tensor(state, base, targets, controls, n)
    return state * np.exp(1j * circuit.global_phase)


def outcome_distribution(circuit: Circuit) -> dict[int, float]:
    """The exact distribution of the final classical bits (as an integer,
    clbit c = bit c), following every branch of every measurement and reset."""
    n = circuit.num_qubits
    start = np.zeros(1 << n, dtype=np.complex128)
    start[0] = 1.0
    # Each branch: (probability, normalised state, classical bits).
    branches: list[tuple[float, np.ndarray, int]] = [(1.0, start, 0)]
    indices = np.arange(1 << n)
    for instr in circuit.data:
        if instr.name in _SKIPPED:
            continue
        next_branches = []
        for prob, state, bits in branches:
            clbits = [(bits >> c) & 1 for c in range(circuit.num_clbits)]
            if not _condition_holds(instr, clbits):
                next_branches.append((prob, state, bits))
                continue
            if instr.name in ("measure", "reset"):
                q = instr.qubits[0]
                for outcome in (0, 1):
                    mask = ((indices >> q) & 1) == outcome
                    p = float(np.sum(np.abs(state[mask]) ** 2))
                    if p < 1e-14:
                        continue
                    collapsed = np.where(mask, state, 0) / np.sqrt(p)
                    if instr.name == "measure":
                        c = instr.clbits[0]
                        new_bits = (bits & ~(1 << c)) | (outcome << c)
                        next_branches.append((prob * p, collapsed, new_bits))
                    else:
                        if outcome:
                            collapsed = collapsed[indices ^ (1 << q)]
                        next_branches.append((prob * p, collapsed, bits))
                continue
            base, targets, controls = _instruction_operands(instr)
            next_branches.append((prob, apply_gate_tensor(state, base, targets, controls, n), bits))
        branches = next_branches
    distribution: dict[int, float] = {}
    for prob, _, bits in branches:
        distribution[bits] = distribution.get(bits, 0.0) + prob
    return distribution
