"""Qiskit circuits to svsim circuits: :func:`circuit_from_qiskit` (behind
``Circuit.from_qiskit``), the converter it runs, and which Qiskit gates run
natively (:data:`NATIVE_GATES`).

This module holds the import guard of :mod:`svsim.qiskit`: without Qiskit,
importing it raises :class:`~svsim.result.MissingExtraError` (an ``ImportError``).

How instructions convert
------------------------
Qubit and clbit order are Qiskit's already, so a gate on qubits ``(a, b)``
becomes svsim's gate of the same name on ``(a, b)``.  Gates without a native
svsim method become a dense ``unitary`` from their matrix (gates on more than
:data:`DENSE_MAX_QUBITS` qubits that have a definition are expanded through it
instead).  Controlled gates with open controls (a ``ctrl_state`` other than
all ones) run natively between X gates on those controls.  Composite
instructions without a matrix are expanded through their definition.
``if_test`` blocks become conditions on each instruction of the block.  What
cannot be converted raises :class:`~svsim.CircuitError` naming the instruction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from svsim.circuit import Circuit
from svsim.exceptions import CircuitError
from svsim.result import MissingExtraError

INSTALL_HINT = 'pip install "svsim[qiskit]"'

try:
    from qiskit import QuantumCircuit
    from qiskit.circuit import (
        AnnotatedOperation,
        ClassicalRegister,
        Clbit,
        ControlledGate,
        ControlModifier,
        Gate,
        IfElseOp,
        Instruction,
        ParameterExpression,
        Qubit,
    )
    from qiskit.circuit.classical import expr
    from qiskit.circuit.library import (
        PhaseGate,
        U1Gate,
        UnitaryGate,
        XGate,
        ZGate,
        get_standard_gate_name_mapping,
    )
    from qiskit.quantum_info import Operator, Statevector
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise MissingExtraError(f"svsim.qiskit needs Qiskit: {INSTALL_HINT}") from exc

__all__ = ["DENSE_MAX_QUBITS", "INSTALL_HINT", "NATIVE_GATES", "circuit_from_qiskit"]

DENSE_MAX_QUBITS = 6
"""Gates on up to this many qubits without a native path run as one dense
matrix; larger ones are expanded through their definition when they have one."""

# Qiskit gates whose svsim method has the same name, parameters and qubit order.
_SAME_NAME = frozenset(
    "id x y z h s sdg t tdg sx sxdg rx ry rz p u "
    "cx cy cz ch swap iswap cp crx cry crz cu rxx ryy rzz rzx ecr ccx cswap".split()
)

_HALF_PI = math.pi / 2

# Qiskit gates that are an svsim gate under another name: name -> (method, params).
_RENAMED: dict[str, tuple[str, Callable[..., tuple[float, ...]]]] = {
    "u1": ("p", lambda lam: (lam,)),
    "u2": ("u", lambda phi, lam: (_HALF_PI, phi, lam)),
    "u3": ("u", lambda theta, phi, lam: (theta, phi, lam)),
    "r": ("u", lambda theta, phi: (theta, phi - _HALF_PI, _HALF_PI - phi)),
    "cu1": ("cp", lambda lam: (lam,)),
    "cu3": ("cu", lambda theta, phi, lam: (theta, phi, lam, 0.0)),
    "cs": ("cp", lambda: (_HALF_PI,)),
    "csdg": ("cp", lambda: (-_HALF_PI,)),
}

NATIVE_GATES: tuple[str, ...] = (
    *sorted(_SAME_NAME),
    *sorted(_RENAMED),
    "ccz",
    "mcx",
    "mcphase",
    "unitary",
    "global_phase",
)
"""The Qiskit gate names svsim's target offers: each runs as a
native svsim gate (``ccz``, ``cs``, ``u1``... through an equivalent svsim gate,
``mcx`` and ``mcphase`` with any number of controls, ``unitary`` of any size)."""

_STANDARD = get_standard_gate_name_mapping()


def _same(*params: float) -> tuple[float, ...]:
    return params


# The common case of a converted circuit, in bulk: a standard gate of exactly its
# standard class, unconditioned, closed controls, float parameters.  Name ->
# (Qiskit class, svsim method, parameters to svsim's).  Everything else goes the
# general way through _instruction's checks.
_DIRECT: dict[str, tuple[type, str, Callable[..., tuple[float, ...]]]] = {
    **{name: (_STANDARD[name].base_class, name, _same) for name in _SAME_NAME},
    **{
        name: (_STANDARD[name].base_class, method, convert)
        for name, (method, convert) in _RENAMED.items()
    },
}

_INIT_NAMES = ("initialize", "state_preparation")
_NO_OPS = ("delay",)

Condition = tuple[int | str, int]
"""svsim's ``condition=`` argument: ``(clbit_index, value)`` or ``(register_name, value)``."""


def _require_quantum_circuit(value: object) -> QuantumCircuit:
    if not isinstance(value, QuantumCircuit):
        raise CircuitError(
            f"Circuit.from_qiskit takes a qiskit.QuantumCircuit, got {type(value).__name__}"
        )
    return value


def _number(value: object, where: str) -> float:
    """A bound gate parameter as a float."""
    if isinstance(value, ParameterExpression) and value.parameters:
        names = ", ".join(sorted(p.name for p in value.parameters))
        raise CircuitError(
            f"{where} has unbound parameters ({names}); bind them with "
            "QuantumCircuit.assign_parameters() first"
        )
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CircuitError(
            f"{where} has a parameter that is not a real number: {value!r}"
        ) from None


def _state_of(op: Instruction) -> np.ndarray:
    """The state that an ``initialize`` / ``state_preparation`` prepares from |0...0>."""
    params = list(op.params)
    n = op.num_qubits
    if params and all(isinstance(p, str) for p in params):
        return np.asarray(Statevector.from_label("".join(params)).data, dtype=np.complex128)
    if len(params) == 1 and n >= 1:  # an int: bit i of it is qubit i
        value = params[0]
        if isinstance(value, (int, np.integer, float, complex, np.number)):
            index = int(np.real(value))
            state = np.zeros(1 << n, dtype=np.complex128)
            state[index] = 1.0
            return state
    state = np.array([complex(p) for p in params], dtype=np.complex128)
    if state.shape != (1 << n,):
        raise CircuitError(
            f"cannot read the state of Qiskit instruction {op.name!r}: expected {1 << n} "
            f"amplitudes, got {state.size}"
        )
    norm = float(np.linalg.norm(state))
    if not math.isfinite(norm) or norm == 0.0:
        raise CircuitError(f"Qiskit instruction {op.name!r} prepares a zero or non-finite state")
    return state / norm


def _preparation_unitary(state: np.ndarray) -> np.ndarray:
    """A unitary whose first column is ``state``: a phase times a Householder reflection.

    With ``alpha`` the phase of ``state[0]`` and ``v = state / alpha`` (so
    ``v[0]`` is real and >= 0), the reflection ``H = I - 2 w w^dagger / |w|^2``
    with ``w = e0 - v`` swaps ``e0`` and ``v``; then ``alpha * H`` maps
    ``e0`` to ``state``.
    """
    dim = state.shape[0]
    first = state[0]
    alpha = first / abs(first) if abs(first) > 1e-300 else 1.0 + 0.0j
    v = state / alpha
    w = -v
    w[0] += 1.0
    norm2 = float(np.vdot(w, w).real)
    matrix = np.eye(dim, dtype=np.complex128)
    if norm2 > 1e-30:
        matrix -= (2.0 / norm2) * np.outer(w, w.conj())
    return alpha * matrix


def _strip_cast(node: Any) -> Any:
    while isinstance(node, expr.Cast):
        node = node.operand
    return node


class _Converter:
    """Turns one Qiskit ``QuantumCircuit`` into an svsim :class:`Circuit`."""

    def __init__(self, qc: QuantumCircuit) -> None:
        self.qc = qc
        self.circuit = Circuit(qc.num_qubits, name=qc.name)
        # Results name Qiskit's registers and carry its metadata, as Qiskit's do.
        self.circuit.qregs = [(reg.name, reg.size) for reg in qc.qregs]
        self.circuit.metadata = dict(qc.metadata or {})
        self.phase = 0.0
        self.touched: set[int] = set()  # qubits something has acted on so far
        self.reg_names: dict[tuple[int, ...], str] = {}
        # Inside an if_test block: the condition's clbits, and whether the block
        # has measured into one of them (later conditioned instructions would
        # then see the new value, so they are refused).
        self.cond_bits: frozenset[int] = frozenset()
        self.clobbered = False
        self._registers()

    # ------------------------------------------------------------ registers

    def _registers(self) -> None:
        """svsim registers for Qiskit's: each must be a run of consecutive clbits, in
        order; clbits in no register get registers of their own (``c``, ``c0``, ...)."""
        qc = self.qc
        index = {bit: i for i, bit in enumerate(qc.clbits)}
        taken = {reg.name for reg in qc.cregs}
        spare = (f"c{k}" if k >= 0 else "c" for k in range(-1, len(qc.clbits) + 1))

        def loose(start: int, stop: int) -> None:
            name = next(spare)
            while name in taken:
                name = next(spare)
            self._add_register(name, tuple(range(start, stop)))

        pos = 0
        for reg in qc.cregs:
            bits = tuple(index[b] for b in reg)
            if bits:
                if bits != tuple(range(bits[0], bits[0] + len(bits))) or bits[0] < pos:
                    raise CircuitError(
                        f"cannot convert classical register {reg.name!r}: svsim registers are "
                        "runs of consecutive clbits that do not overlap, in the circuit's bit "
                        "order, and this one is not"
                    )
                if bits[0] > pos:
                    loose(pos, bits[0])
                pos = bits[-1] + 1
            self._add_register(reg.name, bits)
        if pos < len(qc.clbits):
            loose(pos, len(qc.clbits))

    def _add_register(self, name: str, bits: tuple[int, ...]) -> None:
        self.circuit.add_register(name, len(bits))
        if bits:
            self.reg_names.setdefault(bits, name)

    # ------------------------------------------------------------ conditions

    def _condition(self, raw: Any, cmap: dict[Clbit, int], where: str) -> Condition:
        """svsim's condition for a Qiskit condition (a tuple, or a simple expression)."""
        if isinstance(raw, expr.Expr):
            target, value = self._expr_condition(raw, where)
        elif isinstance(raw, tuple) and len(raw) == 2:
            target, value = raw
        else:
            raise CircuitError(f"cannot convert the condition of {where}: {raw!r}")
        value = int(value)
        if isinstance(target, Clbit):
            return (cmap[target], value)
        if isinstance(target, ClassicalRegister):
            bits = tuple(cmap[b] for b in target)
            name = self.reg_names.get(bits)
            if name is None:
                raise CircuitError(
                    f"cannot convert the condition of {where}: register {target.name!r} is not "
                    "one of the circuit's registers (condition on a register or a single clbit)"
                )
            return (name, value)
        raise CircuitError(f"cannot convert the condition of {where}: {raw!r}")

    @staticmethod
    def _expr_condition(node: Any, where: str) -> tuple[Any, int]:
        """``bit``, ``!bit``, ``bit == v``, ``register == v`` as (target, value)."""
        node = _strip_cast(node)
        if isinstance(node, expr.Var) and isinstance(node.var, Clbit):
            return node.var, 1
        if isinstance(node, expr.Unary) and node.op in (
            expr.Unary.Op.LOGIC_NOT,
            expr.Unary.Op.BIT_NOT,
        ):
            inner = _strip_cast(node.operand)
            if isinstance(inner, expr.Var) and isinstance(inner.var, Clbit):
                return inner.var, 0
        if isinstance(node, expr.Binary) and node.op is expr.Binary.Op.EQUAL:
            left, right = _strip_cast(node.left), _strip_cast(node.right)
            if isinstance(left, expr.Value):
                left, right = right, left
            if (
                isinstance(left, expr.Var)
                and isinstance(left.var, (Clbit, ClassicalRegister))
                and isinstance(right, expr.Value)
            ):
                return left.var, int(right.value)
        raise CircuitError(
            f"cannot convert the condition of {where}: svsim conditions are a clbit, its "
            f"negation, or a clbit or register equal to a value, not {node}"
        )

    # ------------------------------------------------------------ emitting

    def _emit(
        self, method: str, args: Sequence[Any], qubits: Iterable[int], cond: Condition | None
    ) -> None:
        if cond is not None and self.clobbered:
            raise CircuitError(
                "an if_test block measures into a clbit of its own condition and has "
                "instructions after that (or an else block); svsim checks the condition "
                "at each instruction, so move them out of the block"
            )
        getattr(self.circuit, method)(*args, condition=cond)
        self.touched.update(qubits)

    def _add_phase(self, phase: float, cond: Condition | None) -> None:
        if phase == 0.0:
            return
        if cond is None:
            self.phase += phase
        elif self.circuit.num_qubits:
            factor = complex(math.cos(phase), math.sin(phase))
            matrix = np.array([[factor, 0], [0, factor]])
            self._emit("unitary", (matrix, [0]), (), cond)

    # ------------------------------------------------------------ conversion

    def convert(self) -> Circuit:
        qc = self.qc
        qmap = {bit: i for i, bit in enumerate(qc.qubits)}
        cmap = {bit: i for i, bit in enumerate(qc.clbits)}
        self._add_phase(_number(qc.global_phase, "the circuit's global_phase"), None)
        self._block(qc, qmap, cmap, None)
        self.circuit.global_phase = self.phase
        return self.circuit

    def _block(
        self,
        block: QuantumCircuit,
        qmap: dict[Qubit, int],
        cmap: dict[Clbit, int],
        cond: Condition | None,
    ) -> None:
        direct = []  # (method, qubits, parameters) of gates appended in one go
        for ci in block.data:
            op = ci.operation
            qubits = [qmap[q] for q in ci.qubits]
            spec = _DIRECT.get(op.name) if cond is None else None
            if spec is not None and op.base_class is spec[0] and _closed_controls(op):
                params = op.params
                if all(type(p) is float for p in params):
                    direct.append((spec[1], tuple(qubits), spec[2](*params)))
                    self.touched.update(qubits)
                    continue
            if direct:
                self.circuit._append_gates(direct)
                direct = []
            clbits = [cmap[c] for c in ci.clbits]
            self._instruction(op, qubits, clbits, qmap, cmap, cond)
        if direct:
            self.circuit._append_gates(direct)

    def _instruction(
        self,
        op: Instruction,
        qubits: list[int],
        clbits: list[int],
        qmap: dict[Qubit, int],
        cmap: dict[Clbit, int],
        cond: Condition | None,
    ) -> None:
        name = op.name
        where = f"Qiskit instruction {name!r} on qubits {qubits}"
        if isinstance(op, IfElseOp):
            self._if_else(op, qubits, clbits, qmap, cmap, cond, where)
            return
        legacy = getattr(op, "condition", None)  # Qiskit 1.x c_if
        if legacy is not None:
            if cond is not None:
                raise CircuitError(f"cannot convert {where}: nested conditions are not supported")
            cond = self._condition(legacy, cmap, where)
        if name in _NO_OPS:
            return
        if name == "box":  # a scope with no effect of its own: run its body
            body = op.blocks[0]
            inner_q = dict(zip(body.qubits, qubits, strict=True))
            inner_c = dict(zip(body.clbits, clbits, strict=True))
            self._add_phase(_number(body.global_phase, where), cond)
            self._block(body, inner_q, inner_c, cond)
            return
        if name == "barrier":
            if qubits:
                self.circuit.barrier(qubits)
            return
        if name == "measure":
            self._emit("measure", (qubits[0], clbits[0]), qubits, cond)
            if cond is not None and clbits[0] in self.cond_bits:
                self.clobbered = True
            return
        if name == "reset":
            self._emit("reset", (qubits[0],), qubits, cond)
            return
        if name in _INIT_NAMES:
            self._initialize(op, qubits, cond, where)
            return
        unbound = _unbound_parameters(op)
        if unbound:
            raise CircuitError(
                f"cannot convert {where}: it has unbound parameters ({', '.join(unbound)}); "
                "bind them with QuantumCircuit.assign_parameters() first"
            )
        if name == "global_phase":
            self._add_phase(_number(op.params[0], where), cond)
            return
        if isinstance(op, UnitaryGate):
            self._emit("unitary", (op.to_matrix(), qubits), qubits, cond)
            return
        if isinstance(op, AnnotatedOperation):
            op = _plain_controlled(op)
        if isinstance(op, (Gate, AnnotatedOperation)):
            self._gate(op, qubits, cond, where)
            return
        if _has_definition(op):
            self._definition(op, qubits, clbits, cond)
            return
        raise CircuitError(
            f"cannot convert {where}: svsim runs gates, measure, reset, barrier, delay, "
            "initialize/prepare_state at the start, if_test and box blocks"
        )

    def _gate(
        self, op: Gate | AnnotatedOperation, qubits: list[int], cond: Condition | None, where: str
    ) -> None:
        native = _native(op, qubits, where) if isinstance(op, Gate) else None
        if native is not None:
            method, args = native
            open_controls: list[int] = []
            if isinstance(op, ControlledGate):
                state = int(op.ctrl_state)
                open_controls = [
                    qubits[i] for i in range(op.num_ctrl_qubits) if not (state >> i) & 1
                ]
            for q in open_controls:
                self._emit("x", (q,), (q,), cond)
            self._emit(method, args, qubits, cond)
            for q in open_controls:
                self._emit("x", (q,), (q,), cond)
            return
        if op.num_qubits > DENSE_MAX_QUBITS and _has_definition(op):
            self._definition(op, qubits, [], cond)
            return
        matrix = _matrix(op)
        if matrix is None:
            if _has_definition(op):
                self._definition(op, qubits, [], cond)
                return
            raise CircuitError(f"cannot convert {where}: it has neither a matrix nor a definition")
        label = getattr(op, "label", None)
        label = label if isinstance(label, str) and label else op.name
        self._emit("unitary", (matrix, qubits, label), qubits, cond)

    def _definition(
        self, op: Instruction, qubits: list[int], clbits: list[int], cond: Condition | None
    ) -> None:
        definition = op.definition
        assert definition is not None
        qmap = dict(zip(definition.qubits, qubits, strict=True))
        cmap = dict(zip(definition.clbits, clbits, strict=True))
        self._add_phase(_number(definition.global_phase, f"the definition of {op.name!r}"), cond)
        self._block(definition, qmap, cmap, cond)

    def _initialize(
        self, op: Instruction, qubits: list[int], cond: Condition | None, where: str
    ) -> None:
        used = sorted(self.touched.intersection(qubits))
        if used:
            raise CircuitError(
                f"cannot convert {where}: svsim converts initialize/prepare_state only where "
                f"its qubits are still in |0> (at the start of the circuit), but qubit {used[0]} "
                "was acted on before"
            )
        matrix = _preparation_unitary(_state_of(op))
        self._emit("unitary", (matrix, qubits, op.name), qubits, cond)

    def _if_else(
        self,
        op: IfElseOp,
        qubits: list[int],
        clbits: list[int],
        qmap: dict[Qubit, int],
        cmap: dict[Clbit, int],
        cond: Condition | None,
        where: str,
    ) -> None:
        if cond is not None:
            raise CircuitError(f"cannot convert {where}: nested if_test blocks are not supported")
        target, value = self._condition(op.condition, cmap, where)
        true_body, false_body = op.blocks[0], op.blocks[1] if len(op.blocks) > 1 else None
        if isinstance(target, str):
            bits = frozenset(self.circuit.register_clbits(target))
        else:
            bits = frozenset((target,))
        if false_body is not None and false_body.data and isinstance(target, str):
            raise CircuitError(
                f"cannot convert {where}: an else block on a register condition needs "
                "'register != value', which svsim conditions cannot express"
            )
        self.cond_bits, self.clobbered = bits, False
        try:
            for body, body_value in ((true_body, value), (false_body, 1 - value)):
                if body is None:
                    continue
                inner_q = dict(zip(body.qubits, qubits, strict=True))
                inner_c = dict(zip(body.clbits, clbits, strict=True))
                self._add_phase(_number(body.global_phase, where), (target, body_value))
                self._block(body, inner_q, inner_c, (target, body_value))
        finally:
            self.cond_bits, self.clobbered = frozenset(), False


def _closed_controls(op: Any) -> bool:
    """True unless ``op`` is a controlled gate with an open control."""
    state = getattr(op, "ctrl_state", None)
    return state is None or state == (1 << op.num_ctrl_qubits) - 1


def _unbound_parameters(op: Any) -> list[str]:
    """The names of the free parameters in ``op``'s parameters, sorted."""
    found = {
        p.name
        for value in getattr(op, "params", ())
        if isinstance(value, ParameterExpression)
        for p in value.parameters
    }
    return sorted(found)


def _plain_controlled(op: AnnotatedOperation) -> Any:
    """A controlled gate with one control modifier as a ``ControlledGate`` (so it can
    run natively); any other annotated operation as it is."""
    modifiers = list(op.modifiers)
    if (
        len(modifiers) == 1
        and isinstance(modifiers[0], ControlModifier)
        and isinstance(op.base_op, Gate)
    ):
        mod = modifiers[0]
        try:
            return op.base_op.control(
                mod.num_ctrl_qubits, ctrl_state=mod.ctrl_state, annotated=False
            )
        except Exception:  # fall back to the matrix of the annotated operation
            return op
    return op


def _has_definition(op: Any) -> bool:
    try:
        return op.definition is not None
    except Exception:  # a definition that fails to build counts as none
        return False


def _matrix(op: Gate | AnnotatedOperation) -> np.ndarray | None:
    """The gate's matrix, from ``to_matrix`` or else from its definition."""
    try:
        return np.asarray(op.to_matrix(), dtype=np.complex128)
    except Exception:  # Qiskit raises several kinds here
        pass
    try:
        return np.asarray(Operator(op).data, dtype=np.complex128)
    except Exception:
        return None


def _native(op: Gate, qubits: list[int], where: str) -> tuple[str, tuple[Any, ...]] | None:
    """The svsim method and its arguments that run ``op`` (controls taken as closed)."""
    name = op.name
    standard = _STANDARD.get(name)
    if standard is not None and op.base_class is not standard.base_class:
        return None  # a gate of another kind that shares a standard name
    if name in _SAME_NAME:
        params = tuple(_number(p, where) for p in op.params)
        return name, (*params, *qubits)
    if name in _RENAMED:
        method, convert = _RENAMED[name]
        params = tuple(_number(p, where) for p in op.params)
        return method, (*convert(*params), *qubits)
    if isinstance(op, ControlledGate):
        base = op.base_gate
        if op.num_qubits != op.num_ctrl_qubits + base.num_qubits or base.num_qubits != 1:
            return None
        controls, target = list(qubits[:-1]), qubits[-1]
        kind = base.base_class
        if kind is XGate:
            return "mcx", (controls, target)
        if kind in (PhaseGate, U1Gate):
            return "mcp", (_number(base.params[0], where), controls, target)
        if kind is ZGate:
            return "mcp", (math.pi, controls, target)
    return None


def circuit_from_qiskit(quantum_circuit: QuantumCircuit) -> Circuit:
    """An svsim :class:`~svsim.Circuit` equal to a Qiskit ``QuantumCircuit``.

    Converts every gate with a matrix (natively where svsim has the gate, else
    as a dense ``unitary``), ``global_phase``, ``measure``, ``reset``,
    ``barrier``, ``delay`` (dropped), ``initialize``/``prepare_state`` on qubits
    still in |0>, classical registers (names and sizes), and ``if_test`` blocks
    on a clbit or a register value (``else`` blocks on a clbit).  Composite
    instructions are expanded through their definitions.

    Raises:
        CircuitError: an instruction svsim cannot run (named in the message),
            an unbound parameter, or a register layout svsim cannot express.
    """
    qc = _require_quantum_circuit(quantum_circuit)
    return _Converter(qc).convert()
