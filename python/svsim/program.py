"""The records a :class:`~svsim.Circuit` is made of: :class:`Instruction` (one
gate, measurement, reset, barrier or save, its arguments resolved) and
:class:`Program` (a whole circuit encoded as the flat arrays the kernel runs)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from svsim import _ops

__all__ = ["Instruction", "Program"]


@dataclass(frozen=True, eq=False)
class Instruction:
    """One instruction of a circuit.

    ``qubits`` are in the order of the method's arguments (controls, then
    targets).  ``condition`` is ``(clbits, value)`` with the condition's clbit
    indices resolved (a register becomes its bits, bit 0 first) and bit ``j``
    of ``value`` compared with ``clbits[j]``.  ``matrix`` is set for
    ``unitary`` only.  ``label`` is the save label for save instructions and
    the optional user label of ``unitary``.  ``save_expectation_value`` keeps
    its Pauli string as ``params[0]``.
    """

    name: str
    qubits: tuple[int, ...] = ()
    clbits: tuple[int, ...] = ()
    params: tuple[Any, ...] = ()
    condition: tuple[tuple[int, ...], int] | None = None
    matrix: np.ndarray | None = None
    label: str | None = None

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.qubits, self.clbits, self.params, self.condition, self.label)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        if self._key() != other._key():
            return False
        if self.matrix is None or other.matrix is None:
            return self.matrix is other.matrix
        return bool(np.array_equal(self.matrix, other.matrix))

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, eq=False)
class Program:
    """A circuit encoded for the kernel (see :mod:`svsim._ops`).

    ``ops`` is int64 of shape (n_ops, OP_FIELDS), ``qubits`` int32 and
    ``values`` complex128, all C-contiguous.  ``save_labels[i]`` and
    ``save_kinds[i]`` (``"statevector"``, ``"probabilities"`` or
    ``"expectation_value"``) describe the save op whose SLOT is ``i``.
    """

    ops: np.ndarray
    qubits: np.ndarray
    values: np.ndarray
    num_qubits: int
    num_clbits: int
    save_labels: tuple[str, ...]
    save_kinds: tuple[str, ...]

    @property
    def num_ops(self) -> int:
        return len(self.ops)

    @functools.cached_property
    def sampled_once(self) -> bool:
        """True when every measurement is at the end, with no reset or condition:
        the kernel simulates such a program once and samples its shots.  Found once
        per encoding: a scan per run was a tenth of a tiny job's own cost (issue 20)."""
        kinds = self.ops[:, _ops.KIND]
        if self.ops[:, _ops.COND_BITS].any() or (kinds == _ops.RESET).any():
            return False
        measures = np.flatnonzero(kinds == _ops.MEASURE)
        return measures.size == 0 or bool((kinds[measures[0] :] == _ops.MEASURE).all())
