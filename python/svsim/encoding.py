"""Encoding a circuit's instructions as the kernel's flat arrays (:func:`encode`).

The layout is that of :mod:`svsim._ops`.  A job of many small circuits spends
much of its time here, so the loop is kept lean (issue 20): each named gate's
kind, number of targets and, for a gate without parameters, its values are
looked up once in :data:`_GATE_CODES`; each op adds its eight fields to one
flat list, and the three arrays are made from flat lists by ``np.fromiter``
at the end (2x faster than ``np.array`` of a list of rows).

A circuit keeps its last encoding in an :class:`EncodingCache` (see
:meth:`svsim.Circuit.encode`): running the same circuit again, or the
snapshot that ``run()`` takes of it, does not encode it again.  The arrays of
a :class:`Program` are read-only, so one encoding can be shared.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from svsim import _ops
from svsim.exceptions import CircuitError
from svsim.gates import GATES, GateSpec
from svsim.program import Instruction, Program

__all__ = ["EncodingCache", "encode"]

_Values = Callable[..., Sequence[complex]]


def _values_of(spec: GateSpec) -> tuple[tuple[complex, ...] | _Values, int]:
    """The values a gate's op carries: a constant tuple for a gate without
    parameters, else the function of the parameters whose matrix holds them;
    and the step through that matrix's entries: past each diagonal entry to
    the next for a ``DIAGONAL`` gate (as :meth:`GateSpec.diagonal`, without its
    call), 1 for a dense one."""
    if spec.kind not in (_ops.DENSE, _ops.DIAGONAL):
        return (), 1
    step = (1 << spec.num_targets) + 1 if spec.kind == _ops.DIAGONAL else 1
    return (tuple(spec.flat()[::step]) if spec.num_params == 0 else spec.flat), step


# name -> (kind, number of targets, values or the function that makes them, step)
_GATE_CODES: Mapping[str, tuple[int, int, tuple[complex, ...] | _Values, int]] = {
    name: (spec.kind, spec.num_targets, *_values_of(spec)) for name, spec in GATES.items()
}


def encode(
    data: Sequence[Instruction],
    num_qubits: int,
    num_clbits: int,
    global_phase: float,
    save_labels: Mapping[str, str],
) -> Program:
    """The instructions ``data`` of a circuit as a :class:`Program`.

    ``save_labels`` maps each save label to its kind, in the order the saves
    were added: a save op's SLOT is its label's place there.
    """
    rows: list[int] = []  # the ops' rows one after another: np.fromiter reads a flat list fastest
    qubits: list[int] = []
    values: list[complex] = []
    labels = tuple(save_labels)
    slots = {label: i for i, label in enumerate(labels)}
    codes = _GATE_CODES
    append_row = rows.extend
    extend_qubits = qubits.extend
    extend_values = values.extend
    dense, diagonal = _ops.DENSE, _ops.DIAGONAL
    if global_phase != 0.0:
        append_row((diagonal, 0, 0, 0, 0, 0, 0, 0))
        values.append(cmath.exp(1j * global_phase))
    for instr in data:
        code = codes.get(instr.name)
        cond = instr.condition
        if code is not None:
            kind, num_targets, make, step = code
            gate_values = make if isinstance(make, tuple) else make(*instr.params)[::step]
            qs = instr.qubits
            num_controls = len(qs) - num_targets
            row_qubits = len(qubits)
            if num_controls:
                extend_qubits(qs[num_controls:])
                extend_qubits(qs[:num_controls])
            else:
                extend_qubits(qs)
            if cond is None:
                append_row((kind, num_targets, num_controls, row_qubits, len(values), 0, 0, 0))
            else:
                extend_qubits(cond[0])
                append_row(
                    (kind, num_targets, num_controls, row_qubits, len(values), 0)
                    + (len(cond[0]), cond[1])
                )
            extend_values(gate_values)
            continue
        name = instr.name
        if name == "barrier":
            continue
        slot = 0
        vals: Sequence[complex] = ()
        if name == "measure":
            kind, slot = _ops.MEASURE, instr.clbits[0]
        elif name == "unitary":
            assert instr.matrix is not None
            kind, vals = dense, instr.matrix.ravel().tolist()
        elif name == "reset":
            kind = _ops.RESET
        elif name in _SAVE_OPS:
            assert instr.label is not None  # every save instruction has its label
            kind, slot = _SAVE_OPS[name], slots[instr.label]
            if kind == _ops.SAVE_EXPECTATION:
                vals = [complex(_ops.PAULI_CODES[ch]) for ch in reversed(instr.params[0])]
        else:  # pragma: no cover - every method adds a known name
            raise CircuitError(f"cannot encode instruction {name!r}")
        qs = instr.qubits
        if cond is None:
            append_row((kind, len(qs), 0, len(qubits), len(values), slot, 0, 0))
            extend_qubits(qs)
        else:
            append_row((kind, len(qs), 0, len(qubits), len(values), slot, len(cond[0]), cond[1]))
            extend_qubits(qs)
            extend_qubits(cond[0])
        extend_values(vals)
    ops = np.fromiter(rows, dtype=np.int64, count=len(rows)).reshape(-1, _ops.OP_FIELDS)
    qubit_array = np.fromiter(qubits, dtype=np.int32, count=len(qubits))
    value_array = np.fromiter(values, dtype=np.complex128, count=len(values))
    for array in (ops, qubit_array, value_array):
        array.flags.writeable = False  # a program may be shared (EncodingCache)
    return Program(
        ops=ops,
        qubits=qubit_array,
        values=value_array,
        num_qubits=num_qubits,
        num_clbits=num_clbits,
        save_labels=labels,
        save_kinds=tuple(save_labels.values()),
    )


_SAVE_OPS: dict[str, int] = {
    "save_statevector": _ops.SAVE_STATEVECTOR,
    "save_probabilities": _ops.SAVE_PROBABILITIES,
    "save_expectation_value": _ops.SAVE_EXPECTATION,
}


class EncodingCache:
    """A circuit's last encoding and what it was made from.

    ``entry`` is ``(instructions, num_clbits, global_phase, save_labels,
    program)``: a copy of the circuit's instruction list, its number of
    clbits, global phase and save labels (as ``(label, kind)`` pairs) when
    ``program`` was encoded.  :meth:`valid_for` reads the program only if
    the circuit still has all of them, so any change, through the methods or
    through ``circuit.data`` itself, makes the next encoding a new one.  A
    circuit and the snapshots ``run()`` takes of it share one cache, so an
    encoding made by a job's worker serves the next run of the same circuit.
    ``entry`` is replaced whole, never changed, so threads may share a cache.
    """

    __slots__ = ("entry",)

    def __init__(self, entry: tuple[Any, ...] | None = None) -> None:
        self.entry = entry

    def valid_for(
        self,
        data: list[Instruction],
        num_clbits: int,
        global_phase: float,
        save_labels: Mapping[str, str],
    ) -> Program | None:
        """The cached program if it was encoded from exactly these, else None."""
        entry = self.entry
        if entry is None:
            return None
        instructions, clbits, phase, saves, program = entry
        # A list compares its items by identity first: one pointer test per
        # instruction when nothing changed (100 instructions: about 1 us).
        if (
            clbits == num_clbits
            and phase == global_phase
            and saves == tuple(save_labels.items())
            and instructions == data
        ):
            return program  # type: ignore[no-any-return]
        return None

    def store(
        self,
        data: list[Instruction],
        num_clbits: int,
        global_phase: float,
        save_labels: Mapping[str, str],
        program: Program,
    ) -> None:
        """Keep ``program``, encoded from these (``data``, a list no one changes)."""
        self.entry = (data, num_clbits, global_phase, tuple(save_labels.items()), program)
