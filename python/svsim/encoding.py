"""Encoding a circuit's instructions as the kernel's flat arrays (:func:`encode`).

The layout is that of :mod:`svsim._ops`.  A job of many small circuits spends
much of its time here (issue 20), so the walk over the instructions is C++
(``_core.encode``, cpp/bindings/encode_module.h): about 1 us per instruction
in a Python loop, a small fraction of that there.  The gate matrices stay in
:mod:`svsim.gates`: :data:`_GATE_CODES` gives each named gate's kind, number of
targets and its values, constant for a gate without parameters, else the
function of the parameters that the encoder calls.

A circuit keeps its last encoding in an :class:`EncodingCache` (see
:meth:`svsim.Circuit.encode`): running the same circuit again, or the
snapshot that ``run()`` takes of it, does not encode it again.  The arrays of
a :class:`Program` are read-only, so one encoding can be shared.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from svsim import _core, _ops
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
_GATE_CODES: dict[str, tuple[int, int, tuple[complex, ...] | _Values, int]] = {
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
    ops, qubits, values = _core.encode(
        data if type(data) is list else list(data),
        cmath.exp(1j * global_phase) if global_phase != 0.0 else None,
        _GATE_CODES,
        {label: i for i, label in enumerate(save_labels)},
        _ops.PAULI_CODES,
        CircuitError,
    )
    for array in (ops, qubits, values):
        array.flags.writeable = False  # a program may be shared (EncodingCache)
    return Program(
        ops=ops,
        qubits=qubits,
        values=values,
        num_qubits=num_qubits,
        num_clbits=num_clbits,
        save_labels=tuple(save_labels),
        save_kinds=tuple(save_labels.values()),
    )


class EncodingCache:
    """A circuit's last encoding and what it was made from.

    ``entry`` is ``(instructions, num_clbits, global_phase, save_labels,
    program)``: a copy of the circuit's instruction list, its number of
    clbits, global phase and save labels (a copy of the label -> kind dict) when
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
            and saves == save_labels
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
        self.entry = (data, num_clbits, global_phase, dict(save_labels), program)
