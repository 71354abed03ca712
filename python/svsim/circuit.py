"""The circuit builder: :class:`Circuit`, its argument checks, the instructions
beyond the named gates (``unitary``, measurement, reset, barrier, saves) and
its encoding.  The named gate methods (``h``, ``cx``, ``mcp``...) are in
:mod:`svsim.circuit_gates`; the :class:`Instruction` and :class:`Program`
records in :mod:`svsim.program`.

A :class:`Circuit` is a list of :class:`Instruction` records.  Every method
that adds one checks its arguments first and raises :class:`CircuitError`,
saying what to fix, before anything is added.  :meth:`Circuit.encode` turns
the list into the flat :class:`Program` arrays that the C++ kernel runs (the
layout is described in :mod:`svsim._ops`).

Conventions (Qiskit's): qubit 0 is the least significant bit of a basis-state
index; gate methods take their parameters first, then controls, then targets;
gate matrices are those of :mod:`svsim.gates`.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, TypeGuard

import numpy as np

from svsim.circuit_gates import ConditionArg, GateMethods, QubitArg
from svsim.encoding import EncodingCache, encode
from svsim.exceptions import CircuitError
from svsim.program import Instruction, Program

__all__ = ["Circuit", "Instruction", "Program"]


_UNITARY_ATOL = 1e-8
_MAX_CONDITION_BITS = 63  # the value must fit ops[:, COND_VALUE] (int64)
_PAULI_CHARS = frozenset("IXYZ")
_SAVE_KINDS = {
    "save_statevector": "statevector",
    "save_probabilities": "probabilities",
    "save_expectation_value": "expectation_value",
}
_name_counter = itertools.count()


# --------------------------------------------------------------------------
# Argument checks shared by the methods.


def _is_index(value: object) -> TypeGuard[int | np.integer[Any]]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# TypeGuard lets a type checker see what the callers have checked.
def _is_sequence(value: object) -> TypeGuard[Sequence[object] | np.ndarray[Any, Any]]:
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, (list, tuple, range))


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _real(value: object, what: str) -> float:
    """A finite real number, or CircuitError."""
    if isinstance(value, (bool, np.bool_)):
        raise CircuitError(f"{what} must be a real number, got a bool")
    if isinstance(value, numbers.Real) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"
    ):
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float, such as 10**400
            bits = int(value).bit_length()  # type: ignore[arg-type]
            raise CircuitError(f"{what} must be finite, got an int of {bits} bits") from None
    elif isinstance(value, numbers.Complex):
        raise CircuitError(f"{what} must be a real number, got the complex {value!r}")
    else:
        raise CircuitError(
            f"{what} must be a real number, got {_describe(value)}; "
            "bind symbolic parameters before adding the gate"
        )
    if not math.isfinite(number):
        raise CircuitError(f"{what} must be finite, got {number}")
    return number


def _label(label: object, what: str) -> str:
    if not isinstance(label, str) or not label:
        raise CircuitError(f"{what} must be a non-empty string, got {_describe(label)}")
    return label


class Circuit(GateMethods):
    """A quantum circuit on ``num_qubits`` qubits, built by chained method calls.

    ``num_clbits > 0`` creates a classical register named ``"c"`` of that
    size; :meth:`add_register` appends more registers.

    >>> qc = Circuit(2).h(0).cx(0, 1).measure_all()
    """

    def __init__(self, num_qubits: int, num_clbits: int = 0, name: str | None = None) -> None:
        if not _is_index(num_qubits) or num_qubits < 0:
            raise CircuitError(f"num_qubits must be an int >= 0, got {_describe(num_qubits)}")
        if not _is_index(num_clbits) or num_clbits < 0:
            raise CircuitError(f"num_clbits must be an int >= 0, got {_describe(num_clbits)}")
        if name is None:
            name = f"circuit-{next(_name_counter)}"
        elif not isinstance(name, str):
            raise CircuitError(f"name must be a string, got {_describe(name)}")
        self._num_qubits = int(num_qubits)
        self._num_clbits = 0
        self._name = name
        # Each register's clbits as a range: a register of 10**12 bits costs nothing
        # until a run refuses it for the memory its shots would need.
        self._registers: dict[str, range] = {}
        self._data: list[Instruction] = []
        self._save_labels: dict[str, str] = {}  # label -> kind, in order of addition
        self._global_phase = 0.0
        self._metadata: dict[str, Any] = {}
        self._qregs: tuple[tuple[str, int], ...] | None = None  # None: one register "q"
        self._encoding = EncodingCache()  # the last encode(), shared with run()'s snapshots
        if num_clbits > 0:
            self.add_register("c", int(num_clbits))

    # ---------------------------------------------------------------- properties

    @property
    def num_qubits(self) -> int:
        return self._num_qubits

    @property
    def num_clbits(self) -> int:
        return self._num_clbits

    @property
    def name(self) -> str:
        return self._name

    @property
    def data(self) -> list[Instruction]:
        """The instructions, in order.  Add to it through the methods only."""
        return self._data

    @property
    def cregs(self) -> list[tuple[str, int]]:
        """The classical registers as ``(name, size)``, in order of addition."""
        return [(name, len(bits)) for name, bits in self._registers.items()]

    @property
    def qregs(self) -> list[tuple[str, int]]:
        """The quantum registers as ``(name, size)``: one named ``"q"`` over every
        qubit, unless set (a Qiskit circuit's registers, so that results name them
        as Qiskit's simulator does)."""
        if self._qregs is None:
            return [("q", self._num_qubits)]
        return list(self._qregs)

    @qregs.setter
    def qregs(self, registers: Any) -> None:
        # As in Qiskit, a qubit may be in no register or in several: sizes need not add up.
        try:
            named = tuple((name, int(size)) for name, size in registers)
            if any(not isinstance(name, str) or size < 0 for name, size in named):
                raise ValueError
        except (TypeError, ValueError):
            raise CircuitError(f"qregs must be (str, int >= 0) pairs, got {registers!r}") from None
        self._qregs = named

    @property
    def metadata(self) -> dict[str, Any]:
        """Free-form data about the circuit, copied into each result's header (as
        Qiskit's ``QuantumCircuit.metadata``)."""
        return self._metadata

    @metadata.setter
    def metadata(self, value: Any) -> None:
        if value is not None and not isinstance(value, dict):
            raise CircuitError(f"metadata must be a dict, got {_describe(value)}")
        self._metadata = value if value is not None else {}

    @property
    def save_labels(self) -> tuple[str, ...]:
        """The labels of the save instructions, in order."""
        return tuple(self._save_labels)

    @property
    def global_phase(self) -> float:
        """The circuit's global phase in radians, kept in [0, 2*pi)."""
        return self._global_phase

    @global_phase.setter
    def global_phase(self, value: float) -> None:
        self._global_phase = _real(value, "global_phase") % (2 * math.pi)

    def register_clbits(self, name: str) -> range:
        """The clbit indices of register ``name``, its bit 0 first."""
        try:
            return self._registers[name]
        except (KeyError, TypeError):
            raise CircuitError(self._unknown_register(name)) from None

    def size(self) -> int:
        """The number of instructions (barriers and saves included)."""
        return len(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self._data)

    def count_ops(self) -> dict[str, int]:
        """How many instructions of each name, the most frequent first."""
        return dict(Counter(instr.name for instr in self._data).most_common())

    def copy(self, name: str | None = None) -> Circuit:
        """A copy of the circuit (instructions are immutable and shared)."""
        new = self._snapshot()
        new._name = self._name if name is None else name
        new._encoding = EncodingCache(self._encoding.entry)  # its own from now on
        return new

    def _snapshot(self) -> Circuit:
        """A copy that shares this circuit's encoding cache (what ``run()`` takes):
        the job's encoding then serves the next run of this circuit."""
        fields = self.__dict__.copy()  # and given whole: half the cost of setting each
        fields["_registers"] = self._registers.copy()
        fields["_data"] = self._data.copy()
        fields["_save_labels"] = self._save_labels.copy()
        fields["_metadata"] = self._metadata.copy()
        new = Circuit.__new__(Circuit)
        new.__dict__ = fields
        return new

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its encoding cache (the receiver encodes it if it runs it)."""
        state = dict(self.__dict__)
        state.pop("_encoding", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._encoding = EncodingCache()

    def __repr__(self) -> str:
        return (
            f"Circuit(num_qubits={self._num_qubits}, num_clbits={self._num_clbits}, "
            f"name={self._name!r}, size={len(self._data)})"
        )

    # ---------------------------------------------------------------- Qiskit

    @classmethod
    def from_qiskit(cls, quantum_circuit: Any) -> Circuit:
        """The svsim circuit of a Qiskit ``QuantumCircuit`` (needs ``pip install "svsim[qiskit]"``).

        See :func:`svsim.qiskit.circuit_from_qiskit` for what converts.

        Raises:
            CircuitError: an instruction svsim cannot run, named in the message.
            svsim.result.MissingExtraError: Qiskit is not installed (an ``ImportError``).
        """
        from svsim.qiskit import circuit_from_qiskit  # late: Qiskit is optional

        return circuit_from_qiskit(quantum_circuit)

    @classmethod
    def from_qasm(cls, text_or_path: Any) -> Circuit:
        """The svsim circuit of OpenQASM 2 or 3 source, or of a ``.qasm`` file.

        Parsed by Qiskit's own loaders (needs ``pip install "svsim[qiskit]"``);
        see :func:`svsim.qiskit.circuit_from_qasm`.
        """
        from svsim.qiskit import circuit_from_qasm  # late: Qiskit is optional

        return circuit_from_qasm(text_or_path)

    # ---------------------------------------------------------------- registers

    def add_register(self, name: str, size: int) -> Circuit:
        """Append a classical register of ``size`` new clbits named ``name``."""
        if not isinstance(name, str) or not name or any(ch.isspace() for ch in name):
            raise CircuitError(
                f"register name must be a non-empty string without spaces, got {_describe(name)}"
            )
        if name in self._registers:
            raise CircuitError(f"a register named {name!r} already exists; choose another name")
        if not _is_index(size) or size < 0:
            raise CircuitError(f"register size must be an int >= 0, got {_describe(size)}")
        start = self._num_clbits
        self._registers[name] = range(start, start + int(size))
        self._num_clbits = start + int(size)
        return self

    def _unknown_register(self, name: object) -> str:
        known = ", ".join(repr(n) for n in self._registers) or "none"
        return f"unknown register {name!r}; this circuit's registers are: {known}"

    # ---------------------------------------------------------------- checks

    def _index(self, value: object, kind: str) -> int:
        size = self._num_qubits if kind == "qubit" else self._num_clbits
        if not _is_index(value):
            raise CircuitError(f"{kind} index must be an int, got {_describe(value)}")
        index = int(value)
        if not 0 <= index < size:
            if size == 0:
                raise CircuitError(f"{kind} {index} is out of range: this circuit has no {kind}s")
            raise CircuitError(f"{kind} {index} is out of range: valid {kind}s are 0..{size - 1}")
        return index

    def _indices(self, values: object, kind: str, what: str) -> tuple[int, ...]:
        """A sequence of distinct indices (an int counts as a sequence of one)."""
        if _is_index(values):
            return (self._index(values, kind),)
        if not _is_sequence(values):
            raise CircuitError(
                f"{what} must be an int or a sequence of ints, got {_describe(values)}"
            )
        result = tuple(self._index(v, kind) for v in values)
        self._distinct(result, what)
        return result

    @staticmethod
    def _distinct(qubits: tuple[int, ...], what: str) -> None:
        if len(set(qubits)) != len(qubits):
            repeated = sorted({q for q in qubits if qubits.count(q) > 1})
            raise CircuitError(
                f"repeated qubit {repeated[0]} in {what} {list(qubits)}: "
                "each qubit may appear once per gate"
            )

    def _broadcast(self, args: tuple[object, ...], kinds: tuple[str, ...]) -> list[tuple[int, ...]]:
        """Expand Qiskit-style broadcast arguments to one index tuple per instruction."""
        lengths = {len(a) for a in args if _is_sequence(a)}
        if not lengths:
            return [tuple(self._index(a, k) for a, k in zip(args, kinds, strict=True))]
        if len(lengths) > 1:
            raise CircuitError(
                f"cannot broadcast qubit lists of different lengths {sorted(lengths)}; "
                "pass lists of the same length"
            )
        (length,) = lengths
        columns = []
        for arg, kind in zip(args, kinds, strict=True):
            if _is_sequence(arg):
                columns.append([self._index(v, kind) for v in arg])
            else:
                columns.append([self._index(arg, kind)] * length)
        return list(zip(*columns, strict=True))

    def _condition(self, condition: object) -> tuple[tuple[int, ...], int] | None:
        if condition is None:
            return None
        if not isinstance(condition, (tuple, list)) or len(condition) != 2:
            raise CircuitError(
                "condition must be a pair (clbit_index_or_register_name, value), "
                f"got {_describe(condition)}"
            )
        key, value = condition
        bits: Sequence[int]
        if isinstance(key, str):
            bits = self.register_clbits(key)
            what = f"register {key!r} ({len(bits)} bits)"
            if not bits:
                raise CircuitError(
                    f"cannot condition on register {key!r}: it has no bits, so the condition "
                    "would always hold"
                )
            if len(bits) > _MAX_CONDITION_BITS:
                raise CircuitError(
                    f"cannot condition on register {key!r}: it has {len(bits)} bits, "
                    f"conditions take at most {_MAX_CONDITION_BITS}"
                )
        elif _is_index(key):
            bits = (self._index(key, "clbit"),)
            what = f"clbit {int(key)}"
        else:
            raise CircuitError(
                f"condition must start with a clbit index or a register name, got {_describe(key)}"
            )
        if not isinstance(value, (int, np.integer, bool, np.bool_)):
            raise CircuitError(f"condition value must be an int, got {_describe(value)}")
        value = int(value)
        if not 0 <= value < (1 << len(bits)):
            raise CircuitError(
                f"condition value {value} is out of range for {what}: use 0..{(1 << len(bits)) - 1}"
            )
        return tuple(bits), value  # a register's range, now known to be short

    # ---------------------------------------------------------------- gates

    def _gate(
        self,
        name: str,
        params: tuple[object, ...],
        qargs: tuple[object, ...],
        condition: object,
    ) -> Circuit:
        values = tuple(_real(p, f"{name} parameter {i}") for i, p in enumerate(params))
        groups = self._broadcast(qargs, ("qubit",) * len(qargs))
        for qubits in groups:
            self._distinct(qubits, name)
        cond = self._condition(condition)
        self._data.extend(Instruction(name, qubits, (), values, cond) for qubits in groups)
        return self

    def _append_gates(self, gates: list[tuple[str, tuple[int, ...], tuple[float, ...]]]) -> None:
        """Append ``(name, qubits, parameters)`` gates from a converter whose qubits
        are already distinct valid indices (a Qiskit circuit's), so only the
        parameters are checked: a converted circuit of 10^5 gates skips the
        per-call argument handling of the public methods."""
        for name, qubits, params in gates:
            if not all(type(p) is float and math.isfinite(p) for p in params):
                params = tuple(_real(p, f"{name} parameter {i}") for i, p in enumerate(params))
            self._data.append(Instruction(name, qubits, (), params))

    def _multi_controlled(
        self,
        name: str,
        params: tuple[object, ...],
        controls: object,
        target: object,
        condition: object,
    ) -> Circuit:
        values = tuple(_real(p, f"{name} parameter {i}") for i, p in enumerate(params))
        ctrl = self._indices(controls, "qubit", f"{name} controls")
        qubits = (*ctrl, self._index(target, "qubit"))
        self._distinct(qubits, name)
        cond = self._condition(condition)
        self._data.append(Instruction(name, qubits, (), values, cond))
        return self

    def unitary(
        self,
        matrix: Any,
        qubits: QubitArg,
        label: str | None = None,
        *,
        condition: ConditionArg | None = None,
    ) -> Circuit:
        """Any k-qubit unitary, a (2**k, 2**k) matrix; ``qubits[0]`` is its low bit."""
        targets = self._indices(qubits, "qubit", "unitary qubits")
        if not targets:
            raise CircuitError("unitary needs at least one qubit")
        try:
            array = np.array(matrix, dtype=np.complex128)
        except (TypeError, ValueError):
            raise CircuitError(
                f"unitary matrix must be a 2-D array of numbers, got {_describe(matrix)}"
            ) from None
        dim = 1 << len(targets)
        if array.shape != (dim, dim):
            raise CircuitError(
                f"unitary on {len(targets)} qubit(s) needs a {dim}x{dim} matrix, "
                f"got shape {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise CircuitError("unitary matrix has NaN or infinite entries")
        if not np.allclose(array @ array.conj().T, np.eye(dim), rtol=0, atol=_UNITARY_ATOL):
            raise CircuitError(
                f"matrix is not unitary (U @ U^dagger differs from I by more than {_UNITARY_ATOL})"
            )
        if label is not None:
            label = _label(label, "unitary label")
        cond = self._condition(condition)
        array.flags.writeable = False
        self._data.append(Instruction("unitary", targets, (), (), cond, array, label))
        return self

    # ---------------------------------------------------------------- non-unitary

    def measure(
        self, qubit: QubitArg, clbit: QubitArg, *, condition: ConditionArg | None = None
    ) -> Circuit:
        """Measure ``qubit`` into ``clbit`` (sequences of equal length measure each pair)."""
        pairs = self._broadcast((qubit, clbit), ("qubit", "clbit"))
        cond = self._condition(condition)
        self._data.extend(Instruction("measure", (q,), (c,), (), cond) for q, c in pairs)
        return self

    def measure_all(self, add_bits: bool = True) -> Circuit:
        """A barrier, then every qubit i measured into bit i of a new register ``meas``.

        As in Qiskit, the register is named ``meas`` (``meas0``, ``meas1``, ...
        when taken).  With ``add_bits=False`` the existing clbits 0..n-1 are used.
        """
        n = self._num_qubits
        bits: Sequence[int]
        if add_bits:
            name = "meas"
            suffix = itertools.count()
            while name in self._registers:
                name = f"meas{next(suffix)}"
            self.add_register(name, n)
            bits = self._registers[name]
        else:
            if self._num_clbits < n:
                raise CircuitError(
                    f"measure_all(add_bits=False) needs {n} clbits, this circuit has "
                    f"{self._num_clbits}"
                )
            bits = tuple(range(n))
        self.barrier()
        self._data.extend(Instruction("measure", (q,), (bits[q],)) for q in range(n))
        return self

    def reset(self, qubit: QubitArg, *, condition: ConditionArg | None = None) -> Circuit:
        """Reset ``qubit`` (or each qubit of a sequence) to |0>."""
        groups = self._broadcast((qubit,), ("qubit",))
        cond = self._condition(condition)
        self._data.extend(Instruction("reset", q, (), (), cond) for q in groups)
        return self

    def barrier(self, *qubits: QubitArg) -> Circuit:
        """A barrier on the given qubits (all qubits when none are given)."""
        flat: list[int] = []
        for arg in qubits:
            if _is_sequence(arg):
                flat.extend(self._index(q, "qubit") for q in arg)
            else:
                flat.append(self._index(arg, "qubit"))
        chosen = tuple(dict.fromkeys(flat)) if qubits else tuple(range(self._num_qubits))
        self._data.append(Instruction("barrier", chosen))
        return self

    # ---------------------------------------------------------------- saves

    def _save(
        self, name: str, label: object, qubits: tuple[int, ...], params: tuple[Any, ...]
    ) -> Circuit:
        label = _label(label, "save label")
        if label in self._save_labels:
            raise CircuitError(
                f"duplicate save label {label!r}: each save instruction needs its own label"
            )
        self._save_labels[label] = _SAVE_KINDS[name]
        self._data.append(Instruction(name, qubits, (), params, None, None, label))
        return self

    def save_statevector(self, label: str = "statevector") -> Circuit:
        """Save the full statevector at this point under ``label``."""
        return self._save("save_statevector", label, (), ())

    def save_probabilities(
        self, qubits: QubitArg | None = None, label: str = "probabilities"
    ) -> Circuit:
        """Save the probabilities of the basis states of ``qubits`` (all qubits if None).

        Outcome index bit j is the value of ``qubits[j]``.
        """
        if qubits is None:
            chosen = tuple(range(self._num_qubits))
        else:
            chosen = self._indices(qubits, "qubit", "save_probabilities qubits")
            if not chosen:
                raise CircuitError("save_probabilities needs at least one qubit (or None for all)")
        return self._save("save_probabilities", label, chosen, ())

    def save_expectation_value(
        self, pauli: str, qubits: QubitArg, label: str = "expectation_value"
    ) -> Circuit:
        """Save <psi|P|psi> for the Pauli string ``pauli`` on ``qubits``.

        As in Qiskit's labels, the rightmost character acts on ``qubits[0]``.
        """
        if not isinstance(pauli, str) or not pauli:
            raise CircuitError(
                f"pauli must be a non-empty string of I, X, Y, Z, got {_describe(pauli)}"
            )
        bad = sorted(set(pauli) - _PAULI_CHARS)
        if bad:
            raise CircuitError(f"pauli {pauli!r} has invalid characters {bad}; use only I, X, Y, Z")
        chosen = self._indices(qubits, "qubit", "save_expectation_value qubits")
        if len(chosen) != len(pauli):
            raise CircuitError(
                f"pauli {pauli!r} has {len(pauli)} characters but {len(chosen)} qubits were "
                "given; give one qubit per character"
            )
        return self._save("save_expectation_value", label, chosen, (pauli,))

    # ---------------------------------------------------------------- encoding

    def encode(self) -> Program:
        """The circuit as flat arrays for the kernel (layout in :mod:`svsim._ops`).

        The program is kept, and given again while the circuit is unchanged
        (:class:`svsim.encoding.EncodingCache`); its arrays are read-only.
        """
        clbits, phase = self._num_clbits, self._global_phase
        program = self._encoding.valid_for(self._data, clbits, phase, self._save_labels)
        if program is None:
            # Encode copies, so what is kept is what was encoded, even if
            # another thread adds to the circuit meanwhile.
            data, saves = list(self._data), dict(self._save_labels)
            program = encode(data, self._num_qubits, clbits, phase, saves)
            self._encoding.store(data, clbits, phase, saves, program)
        return program
