"""The named gate methods of :class:`~svsim.Circuit`, from ``id`` to ``mcp``:
Qiskit's names and argument order (parameters, then controls, then targets),
each a one-line call of the circuit's argument checks.  :class:`GateMethods`
is a base class of :class:`~svsim.Circuit`, not used on its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from svsim.circuit import Circuit

__all__ = ["ConditionArg", "GateMethods", "QubitArg"]

QubitArg = int | Sequence[int]
"""One qubit index, or a sequence of them to apply a gate to each (broadcast)."""

ConditionArg = tuple[int | str, int]
"""``(clbit_index, 0 or 1)`` or ``(register_name, value)``."""


class GateMethods:
    """The named gates; :class:`~svsim.Circuit` supplies ``_gate`` and ``_multi_controlled``."""

    if TYPE_CHECKING:  # what Circuit supplies: (name, params, qubits or controls..., condition)
        _gate: Callable[[str, tuple[object, ...], tuple[object, ...], object], Circuit]
        _multi_controlled: Callable[[str, tuple[object, ...], object, object, object], Circuit]

    def id(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Identity."""
        return self._gate("id", (), (qubit,), condition)

    def x(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Pauli X."""
        return self._gate("x", (), (qubit,), condition)

    def y(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Pauli Y."""
        return self._gate("y", (), (qubit,), condition)

    def z(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Pauli Z."""
        return self._gate("z", (), (qubit,), condition)

    def h(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Hadamard."""
        return self._gate("h", (), (qubit,), condition)

    def s(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """S = diag(1, i)."""
        return self._gate("s", (), (qubit,), condition)

    def sdg(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """S dagger = diag(1, -i)."""
        return self._gate("sdg", (), (qubit,), condition)

    def t(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """T = diag(1, exp(i pi/4))."""
        return self._gate("t", (), (qubit,), condition)

    def tdg(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """T dagger = diag(1, exp(-i pi/4))."""
        return self._gate("tdg", (), (qubit,), condition)

    def sx(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Square root of X."""
        return self._gate("sx", (), (qubit,), condition)

    def sxdg(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Inverse square root of X."""
        return self._gate("sxdg", (), (qubit,), condition)

    def rx(
        self, theta: float, qubit: QubitArg, *, condition: ConditionArg | None = None
    ) -> Circuit:
        """exp(-i theta X / 2)."""
        return self._gate("rx", (theta,), (qubit,), condition)

    def ry(
        self, theta: float, qubit: QubitArg, *, condition: ConditionArg | None = None
    ) -> Circuit:
        """exp(-i theta Y / 2)."""
        return self._gate("ry", (theta,), (qubit,), condition)

    def rz(self, phi: float, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """exp(-i phi Z / 2)."""
        return self._gate("rz", (phi,), (qubit,), condition)

    def p(self, theta: float, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Phase gate diag(1, exp(i theta))."""
        return self._gate("p", (theta,), (qubit,), condition)

    def u(
        self,
        theta: float,
        phi: float,
        lam: float,
        qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Qiskit's U(theta, phi, lam)."""
        return self._gate("u", (theta, phi, lam), (qubit,), condition)

    def cx(
        self,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled X (CNOT)."""
        return self._gate("cx", (), (control_qubit, target_qubit), condition)

    def cy(
        self,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled Y."""
        return self._gate("cy", (), (control_qubit, target_qubit), condition)

    def cz(
        self,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled Z."""
        return self._gate("cz", (), (control_qubit, target_qubit), condition)

    def ch(
        self,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled Hadamard."""
        return self._gate("ch", (), (control_qubit, target_qubit), condition)

    def swap(
        self, qubit1: QubitArg, qubit2: QubitArg, *, condition: ConditionArg | None = None
    ) -> Circuit:
        """Swap two qubits."""
        return self._gate("swap", (), (qubit1, qubit2), condition)

    def iswap(
        self, qubit1: QubitArg, qubit2: QubitArg, *, condition: ConditionArg | None = None
    ) -> Circuit:
        """Swap two qubits, with a phase i on |01> and |10>."""
        return self._gate("iswap", (), (qubit1, qubit2), condition)

    def cp(
        self,
        theta: float,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled phase diag(1, 1, 1, exp(i theta))."""
        return self._gate("cp", (theta,), (control_qubit, target_qubit), condition)

    def crx(
        self,
        theta: float,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled RX."""
        return self._gate("crx", (theta,), (control_qubit, target_qubit), condition)

    def cry(
        self,
        theta: float,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled RY."""
        return self._gate("cry", (theta,), (control_qubit, target_qubit), condition)

    def crz(
        self,
        theta: float,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled RZ."""
        return self._gate("crz", (theta,), (control_qubit, target_qubit), condition)

    def cu(
        self,
        theta: float,
        phi: float,
        lam: float,
        gamma: float,
        control_qubit: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Controlled exp(i gamma) U(theta, phi, lam)."""
        return self._gate("cu", (theta, phi, lam, gamma), (control_qubit, target_qubit), condition)

    def rxx(
        self,
        theta: float,
        qubit1: QubitArg,
        qubit2: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """exp(-i theta X(x)X / 2)."""
        return self._gate("rxx", (theta,), (qubit1, qubit2), condition)

    def ryy(
        self,
        theta: float,
        qubit1: QubitArg,
        qubit2: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """exp(-i theta Y(x)Y / 2)."""
        return self._gate("ryy", (theta,), (qubit1, qubit2), condition)

    def rzz(
        self,
        theta: float,
        qubit1: QubitArg,
        qubit2: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """exp(-i theta Z(x)Z / 2)."""
        return self._gate("rzz", (theta,), (qubit1, qubit2), condition)

    def rzx(
        self,
        theta: float,
        qubit1: QubitArg,
        qubit2: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """exp(-i theta Z(qubit1) X(qubit2) / 2)."""
        return self._gate("rzx", (theta,), (qubit1, qubit2), condition)

    def ecr(
        self, qubit1: QubitArg, qubit2: QubitArg, *, condition: ConditionArg | None = None
    ) -> Circuit:
        """Echoed cross-resonance gate."""
        return self._gate("ecr", (), (qubit1, qubit2), condition)

    def ccx(
        self,
        control_qubit1: QubitArg,
        control_qubit2: QubitArg,
        target_qubit: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Toffoli: X on the target when both controls are 1."""
        return self._gate("ccx", (), (control_qubit1, control_qubit2, target_qubit), condition)

    def cswap(
        self,
        control_qubit: QubitArg,
        target_qubit1: QubitArg,
        target_qubit2: QubitArg,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Fredkin: swap the targets when the control is 1."""
        return self._gate("cswap", (), (control_qubit, target_qubit1, target_qubit2), condition)

    def mcx(
        self,
        control_qubits: QubitArg,
        target_qubit: int,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """X on the target when every control is 1."""
        return self._multi_controlled("mcx", (), control_qubits, target_qubit, condition)

    def mcp(
        self,
        lam: float,
        control_qubits: QubitArg,
        target_qubit: int,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Phase exp(i lam) when every control and the target are 1."""
        return self._multi_controlled("mcp", (lam,), control_qubits, target_qubit, condition)
