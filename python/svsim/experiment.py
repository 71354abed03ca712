"""One circuit's result: :class:`ExperimentResult` (shots, status, header,
metadata and its :class:`ExperimentData`: counts, memory, saved values), and
Qiskit's formatting of its outcomes (:func:`format_bitstring`, the header of
:func:`experiment_header`).  The job's whole result is :class:`svsim.result.Result`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from svsim import _qiskit_types as qt
from svsim.serialization import (
    _MALFORMED,
    _from_jsonable,
    _jsonable,
    _malformed,
    _need_mapping,
    _same,
)

__all__ = [
    "ExperimentData",
    "ExperimentResult",
    "HeaderFields",
    "experiment_header",
    "format_bitstring",
    "header_fields",
    "header_from_fields",
]

_RESERVED_KEYS = ("counts", "memory")
# What equality compares: the serialised record (to_dict's fields).
_EXPERIMENT_FIELDS = (
    "shots",
    "success",
    "status",
    "seed_simulator",
    "time_taken",
    "header",
    "metadata",
    "data",
)


# --------------------------------------------------------------------------
# Qiskit's bitstring formatting.


_SHORT_WIDTH = 12
_SHORT_BITSTRINGS: dict[int, dict[int, str]] = {}  # width -> value -> its padded bitstring


def padded_bitstrings(values: Sequence[int], width: int) -> list[str]:
    """Each value as its binary string of ``width`` digits (``format(v, "0{width}b")``).

    The strings of widths up to 12 (at most 4096 each) are kept once made, so a
    job of many small circuits formats each outcome once, not once per circuit
    (1,000 circuits of 10 clbits: 75,000 calls to ``format`` became 1,024).
    """
    pattern = f"0{width}b"
    if width > _SHORT_WIDTH:
        return [format(v, pattern) for v in values]
    table = _SHORT_BITSTRINGS.setdefault(width, {})
    try:
        return [table[v] for v in values]
    except KeyError:  # some not made yet: make them (the same strings in any thread)
        limit = 1 << width  # the table holds no more than the values of `width` bits
        for v in values:
            if v not in table and 0 <= v < limit:
                table[v] = format(v, pattern)
        return [table.get(v) or format(v, pattern) for v in values]


def format_bitstring(hex_key: str, memory_slots: int, creg_sizes: Sequence[Sequence[Any]]) -> str:
    """Turn a hex outcome key into the bitstring Qiskit's ``get_counts`` shows.

    The bits are written with clbit 0 rightmost, padded to ``memory_slots``,
    then cut into one word per register, the last-added register leftmost,
    joined by spaces.  This follows Qiskit's ``format_counts_memory`` to the
    letter, quirks included: the words are cut from the left by register size,
    so clbits that belong to no register are still counted in the padding but,
    when the registers' sizes add up to fewer than ``memory_slots``, the
    lowest bits are left out of the split string (Qiskit does the same); with
    no register at all the padded bitstring is returned whole.
    """
    bits = bin(int(hex_key, 16))[2:]
    if memory_slots:
        bits = bits.zfill(memory_slots)
        if creg_sizes:
            words = []
            start = 0
            for _, size in reversed(creg_sizes):
                words.append(bits[start : start + size])
                start += size
            bits = " ".join(words)
    return bits


HeaderFields = tuple[
    str, int, tuple[tuple[str, int], ...], int, float, Any, tuple[tuple[str, int], ...]
]
"""What a header is made of: the circuit's name, number of qubits, classical
registers as ``(name, size)``, number of clbits, global phase, metadata (or
None) and quantum registers as ``(name, size)``."""


def header_fields(circuit: Any) -> HeaderFields:
    """The fields of ``circuit``'s header (:func:`experiment_header`), as plain data."""
    metadata = getattr(circuit, "metadata", None)
    return (
        circuit.name,
        int(circuit.num_qubits),
        tuple((str(name), int(size)) for name, size in circuit.cregs),
        int(circuit.num_clbits),
        float(getattr(circuit, "global_phase", 0.0)),
        dict(metadata) if metadata else None,
        tuple(circuit.qregs),
    )


def header_from_fields(fields: HeaderFields) -> dict[str, Any]:
    """The header of :func:`header_fields`'s fields, its keys in Qiskit's order."""
    name, num_qubits, registers, num_clbits, global_phase, metadata, qregs = fields
    # Lists as in Qiskit's JSON header: [name, size] pairs of mixed type.
    cregs: list[list[Any]] = [[reg, size] for reg, size in registers]
    return {
        "name": name,
        "n_qubits": num_qubits,
        "qreg_sizes": [[reg, size] for reg, size in qregs],
        "creg_sizes": cregs,
        "qubit_labels": [[reg, j] for reg, size in qregs for j in range(size)],
        "clbit_labels": [[reg, j] for reg, size in registers for j in range(size)],
        "memory_slots": num_clbits,
        "global_phase": global_phase,
        "metadata": metadata if metadata is not None else {},  # header_fields copied it
    }


def experiment_header(circuit: Any) -> dict[str, Any]:
    """The header Qiskit's simulators attach to each experiment, for ``circuit``."""
    return header_from_fields(header_fields(circuit))


_HEADER_LOCK = threading.Lock()  # one build of a pending header, whichever thread reads it


# --------------------------------------------------------------------------
# One experiment's result.


def _no_attribute(self: Any, name: str) -> Any:
    """``__getattr__`` of the result classes: Qiskit's bases look unknown names up
    in a ``_metadata`` dict, which recurses while ``copy`` or ``pickle`` build an
    instance without ``__init__``; svsim keeps no such extra fields."""
    raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class ExperimentData(dict[str, Any]):
    """An experiment's data: a dict (``data["counts"]``) whose keys also read and
    write as attributes (``data.counts``), as Qiskit's ``ExperimentResultData`` does."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


class ExperimentResult(*qt.experiment_result_bases):  # type: ignore[misc]
    """The result of one circuit: Qiskit's ``ExperimentResult`` fields plus ``metadata``.

    ``data`` holds ``counts`` (hex keys), ``memory`` (hex strings in shot
    order, only when the job ran with ``memory=True``) and every saved value
    under its label.  ``final_statevector`` is the kernel's final state (for
    per-shot trajectories, the last shot's), a view of the kernel's buffer
    (no copy); it is not part of ``data``, of
    :meth:`to_dict` or of equality, since it can be large and a user who
    wants it kept in the record saves it with ``save_statevector``.  It is
    ``None`` in a result rebuilt by :meth:`from_dict`.  ``outcomes``, when
    given, stands for ``data["counts"]`` until ``data`` is first read, and with
    ``shot_order`` (each shot's row in ``outcomes``, or a function that finds
    them) for ``data["memory"]``: a job's memory costs nothing more than its
    packed shots until someone reads it.
    """

    def __init__(
        self,
        shots: int,
        success: bool,
        data: dict[str, Any],
        *,
        status: str = "DONE",
        seed_simulator: int | None = None,
        time_taken: float = 0.0,
        header: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        final_statevector: np.ndarray | None = None,
        outcomes: Any = None,
        shot_order: np.ndarray | Callable[[], np.ndarray] | None = None,
        header_fields: HeaderFields | None = None,
    ) -> None:
        self.shots = shots
        self.success = success
        self.data = data
        # Counts (and memory) not yet in data: made from these when data is first read.
        self._outcomes = outcomes
        self._shot_order = shot_order if outcomes is not None else None
        self.status = status
        self.seed_simulator = seed_simulator
        self.time_taken = time_taken
        self._header_fields: HeaderFields | None = None
        self.header = header if header is not None else {}
        if header is None and header_fields is not None:
            self._header_fields = header_fields  # the header, built on first read
        self.metadata = metadata if metadata is not None else {}
        self.final_statevector = final_statevector
        self._formatted: dict[str, str] | None = None
        self._formatted_for: tuple[Any, ...] = ()

    __getattr__ = _no_attribute

    @property
    def header(self) -> dict[str, Any]:
        """Qiskit's experiment header (name, registers, ...); a job's result builds
        it on first read (:func:`header_from_fields`): reading counts does not need
        it, and its two dozen small lists were most of what a batch of small
        circuits left to the garbage collector (issue 20)."""
        if self._header_fields is not None:
            with _HEADER_LOCK:
                fields = self._header_fields
                if fields is not None:
                    self._header = header_from_fields(fields)
                    self._header_fields = None
        return self._header

    @header.setter
    def header(self, value: dict[str, Any]) -> None:
        self._header = value
        self._header_fields = None

    def _layout(self) -> tuple[int, Sequence[Sequence[Any]]]:
        """The header's ``memory_slots`` and ``creg_sizes``, read without building it."""
        fields = self._header_fields
        if fields is not None:
            return fields[3], fields[2]
        header = self._header
        return int(header.get("memory_slots") or 0), header.get("creg_sizes") or []

    @property
    def data(self) -> ExperimentData:
        """Hex counts, hex memory and saved values (the hex counts and memory built
        on first use)."""
        outcomes = self._outcomes
        if outcomes is not None:
            order = self._shot_order
            if order is not None:
                if callable(order):  # found when first read
                    order = order()
                keys = np.asarray(outcomes.hex_keys(), dtype=object)
                self._data["memory"] = keys[order].tolist()
                self._shot_order = None
            self._data["counts"] = outcomes.hex_counts()
            self._outcomes = None
        return self._data

    @data.setter
    def data(self, value: Mapping[str, Any]) -> None:
        self._data = value if isinstance(value, ExperimentData) else ExperimentData(value)
        self._outcomes = None
        self._shot_order = None

    def has(self, key: str) -> bool:
        """Whether ``data`` has ``key``, without building the hex counts or memory."""
        if key in self._data:
            return True
        pending = self._outcomes is not None
        return pending and (key == "counts" or (key == "memory" and self._shot_order is not None))

    def get(self, key: str) -> Any:
        """``data.get(key)``, building the hex counts and memory only for those keys."""
        return self.data.get(key) if key in _RESERVED_KEYS else self._data.get(key)

    @property
    def name(self) -> str | None:
        """The circuit's name, from the header."""
        fields = self._header_fields
        return fields[0] if fields is not None else self._header.get("name")

    def _format_keys(self, keys: Any) -> dict[str, str]:
        """Formatted bitstrings for hex ``keys``, cached: each distinct key is done once
        (the cache starts again when the header's layout changes, as
        ``marginal_counts`` changes it)."""
        slots, cregs = self._layout()
        layout = (slots, tuple((str(name), int(size)) for name, size in cregs))
        if self._formatted is None or self._formatted_for != layout:
            self._formatted, self._formatted_for = {}, layout
        cache = self._formatted
        for key in keys:
            if key not in cache:
                cache[key] = format_bitstring(key, slots, cregs)
        return cache

    def counts(self) -> dict[str, int]:
        """The counts as Qiskit's ``get_counts`` shows them (a new dict each call)."""
        slots, cregs = self._layout()
        if slots and len(cregs) <= 1 and sum(int(size) for _, size in cregs) in (0, slots):
            # One register or none: the bitstring is the padded binary number,
            # made from the outcomes themselves while the hex counts are not
            # built (10^6 distinct outcomes: 1.25 s -> 0.5 s): one string per
            # outcome up to 64 clbits (padded_bitstrings), numpy over all beyond.
            pattern = f"0{slots}b"
            outcomes = self._outcomes
            if outcomes is not None:
                if outcomes.fit_one_word():
                    values, tallies = outcomes.as_ints()
                    keys = padded_bitstrings(values, slots)
                else:
                    keys, tallies = outcomes.bitstrings(slots), outcomes.counts.tolist()
                return dict(zip(keys, tallies, strict=True))
            return {format(int(key, 16), pattern): n for key, n in self.data["counts"].items()}
        raw = self.data["counts"]
        names = self._format_keys(raw)
        counts: dict[str, int] = {}
        for key, n in raw.items():
            text = names[key]
            # Outcomes that differ only in clbits left out of the split string
            # (see format_bitstring) share a key; Qiskit keeps the last one's
            # count, we add them up so the counts still total the shots.
            counts[text] = counts.get(text, 0) + n
        return counts

    def memory(self) -> list[str]:
        """Each shot's bitstring, formatted like :meth:`counts`, in shot order."""
        raw = self.get("memory")
        names = self._format_keys(set(raw))
        return [names[key] for key in raw]

    meas_level = 2
    """Qiskit's ``MeasLevel.CLASSIFIED``: outcomes are bits (counts and memory)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data that ``json.dumps`` accepts."""
        return {
            "name": self.name,
            "meas_level": self.meas_level,
            "shots": int(self.shots),
            "success": bool(self.success),
            "status": self.status,
            "seed_simulator": None if self.seed_simulator is None else int(self.seed_simulator),
            "time_taken": float(self.time_taken),
            "header": _jsonable(self.header),
            "metadata": _jsonable(self.metadata),
            "data": _jsonable(self.data),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExperimentResult:
        """Rebuild an experiment result from :meth:`to_dict`'s output.

        Complex arrays come back as ``complex64`` when the metadata says the
        run was in single precision, else ``complex128``.

        Raises:
            SvsimError: ``d`` is not such a dict (a key missing, a value of the
                wrong type); the message names the field.
        """
        try:
            return cls._from_dict(d)
        except _MALFORMED as exc:
            raise _malformed("ExperimentResult", exc) from exc

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any]) -> ExperimentResult:
        _need_mapping(d, "an experiment")
        metadata = dict(d.get("metadata") or {})
        complex_dtype = np.complex64 if metadata.get("precision") == "single" else np.complex128
        data: dict[str, Any] = {}
        for key, value in (d.get("data") or {}).items():
            if key == "counts":
                data[key] = {str(k): int(v) for k, v in value.items()}
            elif key == "memory":
                data[key] = [str(m) for m in value]
            else:
                data[key] = _from_jsonable(value, complex_dtype)
        return cls(
            shots=int(d["shots"]),
            success=bool(d["success"]),
            data=data,
            status=d.get("status", "DONE"),
            seed_simulator=d.get("seed_simulator"),
            time_taken=float(d.get("time_taken", 0.0)),
            header=dict(d.get("header") or {}),
            metadata=metadata,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExperimentResult):
            return NotImplemented
        return all(_same(getattr(self, f), getattr(other, f)) for f in _EXPERIMENT_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (
            f"ExperimentResult(name={self.name!r}, shots={self.shots}, success={self.success}, "
            f"data keys={sorted(set(self._data) | ({'counts'} if self.has('counts') else set()))})"
        )
