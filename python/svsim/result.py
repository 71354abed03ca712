"""Results of svsim jobs, shaped like ``qiskit.result.Result``.

A :class:`Result` holds one :class:`ExperimentResult` per circuit.  Each keeps
its raw data the way Qiskit does (counts and memory under hex keys such as
``"0x3"``, saved values under their labels), and the ``get_*`` methods format
it the way Qiskit's do, so code written against Qiskit's results reads ours
unchanged.  :meth:`Result.to_dict` gives plain JSON-ready data and
:meth:`Result.from_dict` rebuilds an equal result from it.

A result made by a job (:func:`svsim.work.result_from_outputs`) holds the
distinct outcomes of its shots; the hex-keyed ``data["counts"]`` and
``data["memory"]`` are built from them on first use: ``get_counts`` formats
its bitstrings straight from the outcomes, so a million distinct outcomes are
turned into strings once, not twice, and per-shot memory costs nothing until
it is read.

With Qiskit installed, :class:`Result` and :class:`ExperimentResult` are
subclasses of Qiskit's, ``get_counts`` returns Qiskit's ``Counts``, and each
experiment's ``data`` can be read and written as attributes too
(``exp.data.counts``), as Qiskit's own functions (``marginal_counts``, the V2
primitives) do: the one result type serves both.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from svsim import _qiskit_types as qt

# MissingExtraError lives in svsim.exceptions; it stays importable from here.
from svsim.exceptions import MissingExtraError, SvsimError

__all__ = [
    "ExperimentData",
    "ExperimentResult",
    "MissingExtraError",
    "Result",
    "experiment_header",
    "format_bitstring",
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
_RESULT_FIELDS = (
    "backend_name",
    "backend_version",
    "job_id",
    "success",
    "status",
    "date",
    "time_taken",
    "header",
)


# --------------------------------------------------------------------------
# Qiskit's bitstring formatting.


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


def experiment_header(circuit: Any) -> dict[str, Any]:
    """The header Qiskit's simulators attach to each experiment, for ``circuit``."""
    num_qubits = int(circuit.num_qubits)
    # Lists as in Qiskit's JSON header: [name, size] pairs of mixed type.
    cregs: list[list[Any]] = [[str(name), int(size)] for name, size in circuit.cregs]
    metadata = getattr(circuit, "metadata", None)
    return {
        "name": circuit.name,
        "n_qubits": num_qubits,
        "qreg_sizes": [["q", num_qubits]],
        "qubit_labels": [["q", i] for i in range(num_qubits)],
        "creg_sizes": cregs,
        "clbit_labels": [[name, j] for name, size in cregs for j in range(size)],
        "memory_slots": int(circuit.num_clbits),
        "global_phase": float(getattr(circuit, "global_phase", 0.0)),
        "metadata": dict(metadata) if metadata else {},
    }


# --------------------------------------------------------------------------
# JSON conversion and equality.


def _jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into plain Python.

    Complex numbers become ``[re, im]`` pairs (Qiskit's convention for
    statevectors in ``to_dict``), so a complex array becomes a list of pairs.
    """
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            pairs = np.stack([value.real, value.imag], axis=-1).astype(np.float64)
            return pairs.tolist()
        return value.tolist()
    if isinstance(value, (complex, np.complexfloating)):
        return [float(value.real), float(value.imag)]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _from_jsonable(value: Any, complex_dtype: type) -> Any:
    """Undo :func:`_jsonable` for one saved value: lists of ``[re, im]`` pairs are
    complex arrays, other numeric lists real arrays, and scalars stay scalars."""
    if not isinstance(value, list):
        return value
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        return value
    if array.ndim >= 2 and array.shape[-1] == 2:
        return (array[..., 0] + 1j * array[..., 1]).astype(complex_dtype)
    return array.astype(np.float64)


def _same(a: Any, b: Any) -> bool:
    """Deep equality that compares numpy arrays by value (shape and entries)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# What a dict that is not to_dict()'s output makes from_dict raise on its way.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return f"missing key {exc.args[0]!r}"
    return str(exc)


def _need_mapping(d: object, what: str) -> None:
    if not isinstance(d, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(d).__name__}")


def _malformed(cls_name: str, exc: BaseException, where: str = "") -> SvsimError:
    return SvsimError(
        f"{cls_name}.from_dict needs the output of {cls_name}.to_dict(); this dict is not: "
        f"{where}{_error_text(exc)}"
    )


# --------------------------------------------------------------------------
# Results.


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
    ``shot_order`` (each shot's row in ``outcomes``) for ``data["memory"]``: a
    job's memory costs an index per shot until someone reads it.
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
        shot_order: np.ndarray | None = None,
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
        self.header = header if header is not None else {}
        self.metadata = metadata if metadata is not None else {}
        self.final_statevector = final_statevector
        self._formatted: dict[str, str] | None = None
        self._formatted_for: tuple[Any, ...] = ()

    __getattr__ = _no_attribute

    @property
    def data(self) -> ExperimentData:
        """Hex counts, hex memory and saved values (the hex counts and memory built
        on first use)."""
        outcomes = self._outcomes
        if outcomes is not None:
            if self._shot_order is not None:
                keys = np.asarray(outcomes.hex_keys(), dtype=object)
                self._data["memory"] = keys[self._shot_order].tolist()
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
        return self.header.get("name")

    def _format_keys(self, keys: Any) -> dict[str, str]:
        """Formatted bitstrings for hex ``keys``, cached: each distinct key is done once
        (the cache starts again when the header's layout changes, as
        ``marginal_counts`` changes it)."""
        slots = int(self.header.get("memory_slots") or 0)
        cregs = self.header.get("creg_sizes") or []
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
        slots = int(self.header.get("memory_slots") or 0)
        cregs = self.header.get("creg_sizes") or []
        if slots and len(cregs) <= 1 and sum(int(size) for _, size in cregs) in (0, slots):
            # One register or none: the bitstring is the padded binary number,
            # made from the outcomes themselves while the hex counts are not
            # built (10^6 distinct outcomes: 1.25 s -> 0.5 s): one call per
            # outcome up to 64 clbits, numpy over all of them beyond.
            pattern = f"0{slots}b"
            outcomes = self._outcomes
            if outcomes is not None:
                if outcomes.fit_one_word():
                    values, tallies = outcomes.as_ints()
                    keys = [format(v, pattern) for v in values]
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

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data that ``json.dumps`` accepts."""
        return {
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


ExperimentKey = Any
"""An experiment's index (int), its circuit's name (str), or the circuit itself, or None."""


class Result(*qt.result_bases):  # type: ignore[misc]
    """The result of a job: one :class:`ExperimentResult` per circuit, as in Qiskit
    (with Qiskit installed, a ``qiskit.result.Result``).

    The ``get_*`` methods take an experiment by index, by circuit name or by
    the circuit object (anything with a ``name``), like Qiskit's.
    """

    def __init__(
        self,
        backend_name: str,
        backend_version: str,
        job_id: str,
        success: bool,
        results: list[ExperimentResult],
        *,
        date: str | None = None,
        status: str | None = None,
        header: dict[str, Any] | None = None,
        time_taken: float = 0.0,
    ) -> None:
        self.backend_name = backend_name
        self.backend_version = backend_version
        self.job_id = job_id
        self.success = success
        self.results = results
        self.date = date
        self.status = status
        self.header = header if header is not None else {}
        self.time_taken = time_taken

    __getattr__ = _no_attribute

    # ------------------------------------------------------------ lookup

    def _get_experiment(self, key: ExperimentKey = None) -> ExperimentResult:
        if key is None:
            if len(self.results) != 1:
                raise SvsimError(
                    f"this result holds {len(self.results)} experiments; choose one by index, "
                    "name or circuit"
                )
            key = 0
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            try:
                exp = self.results[int(key)]
            except IndexError:
                raise SvsimError(
                    f"no experiment {int(key)}: this result holds {len(self.results)}"
                ) from None
        else:
            name = key if isinstance(key, str) else getattr(key, "name", None)
            if not isinstance(name, str):
                raise SvsimError(
                    f"experiment must be an index, a name or a circuit, not {type(key).__name__}"
                )
            matches = [r for r in self.results if r.name == name]
            if not matches:
                known = ", ".join(repr(r.name) for r in self.results)
                raise SvsimError(f"no experiment named {name!r}; this result holds: {known}")
            if len(matches) > 1:
                warnings.warn(
                    f"several experiments are named {name!r}; returning the first. Use an "
                    "integer index to reach the others.",
                    UserWarning,
                    stacklevel=3,
                )
            exp = matches[0]
        if not exp.success:
            raise SvsimError(f"experiment {exp.name!r} did not succeed (status {exp.status!r})")
        return exp

    def data(self, experiment: ExperimentKey = None) -> dict[str, Any]:
        """The raw data of one experiment: hex counts, hex memory, saved values.

        A new dict, but its arrays are the stored ones, not copies.
        """
        return dict(self._get_experiment(experiment).data)

    # ------------------------------------------------------------ getters

    def get_counts(self, experiment: ExperimentKey = None) -> dict[str, int] | list[dict[str, int]]:
        """Counts keyed by bitstrings, clbit 0 rightmost, one word per register.

        With several experiments and no ``experiment``, a list of all their
        counts, as in Qiskit.  A circuit with no clbits has ``{}`` counts:
        Qiskit 2's ``BasicSimulator`` gives ``{}`` as well (it records no
        outcome when there is nothing to measure into).  With Qiskit installed
        each is a ``qiskit.result.Counts`` (``most_frequent()``, ...).
        """
        keys: Sequence[ExperimentKey]
        keys = range(len(self.results)) if experiment is None else [experiment]
        all_counts = []
        for key in keys:
            exp = self._get_experiment(key)
            if not exp.has("counts"):
                raise SvsimError(f"no counts for experiment {exp.name!r}")
            all_counts.append(qt.counts_type(exp.counts()))
        return all_counts[0] if len(all_counts) == 1 else all_counts

    def get_memory(self, experiment: ExperimentKey = None) -> list[str]:
        """Each shot's outcome, in shot order, formatted like :meth:`get_counts`.

        Only kept when the job ran with ``memory=True``.
        """
        exp = self._get_experiment(experiment)
        if not exp.has("memory"):
            raise SvsimError(f"no memory for experiment {exp.name!r}: run the job with memory=True")
        return exp.memory()

    def get_statevector(
        self,
        experiment: ExperimentKey = None,
        decimals: int | None = None,
        *,
        label: str = "statevector",
    ) -> np.ndarray:
        """The state saved under ``label``, or else the final state of the run.

        The array is the one the kernel returned (no copy) unless ``decimals``
        asks for a rounded one, as in Qiskit.
        """
        exp = self._get_experiment(experiment)
        state = exp.get(label)
        if state is None and label == "statevector":
            state = exp.final_statevector
        if not isinstance(state, np.ndarray):
            if exp.metadata.get("method") == "stabilizer":
                raise SvsimError(
                    f"experiment {exp.name!r} ran with the stabilizer method, which keeps no "
                    "statevector; run it with method='statevector' if it fits"
                )
            if exp.metadata.get("mpi"):
                raise SvsimError(
                    f"experiment {exp.name!r} ran over {exp.metadata['mpi']['ranks']} MPI ranks, "
                    f"which gather a statevector on rank 0 alone, where the circuit saves one: "
                    f"add save_statevector(label={label!r}) and read it on rank 0"
                )
            raise SvsimError(
                f"no statevector {label!r} for experiment {exp.name!r}; add "
                f"save_statevector(label={label!r}) to the circuit"
            )
        return np.around(state, decimals=decimals) if decimals else state

    def get_probabilities(
        self, experiment: ExperimentKey = None, label: str = "probabilities"
    ) -> np.ndarray:
        """The probabilities saved under ``label`` (outcome bit j is the j-th saved qubit)."""
        exp = self._get_experiment(experiment)
        value = exp.get(label)
        if not isinstance(value, np.ndarray):
            raise SvsimError(
                f"no probabilities {label!r} for experiment {exp.name!r}; add "
                f"save_probabilities(label={label!r}) to the circuit"
            )
        return value

    def get_expectation_value(
        self, experiment: ExperimentKey = None, label: str = "expectation_value"
    ) -> float:
        """The expectation value saved under ``label``."""
        exp = self._get_experiment(experiment)
        value = exp.get(label)
        if not isinstance(value, (float, int, np.floating)) or isinstance(value, bool):
            raise SvsimError(
                f"no expectation value {label!r} for experiment {exp.name!r}; add "
                f"save_expectation_value(..., label={label!r}) to the circuit"
            )
        return float(value)

    # ------------------------------------------------------------ conversion

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data that ``json.dumps`` accepts: counts and memory in hex,
        complex arrays as lists of ``[re, im]`` pairs, numpy scalars as Python ones."""
        return {
            "backend_name": self.backend_name,
            "backend_version": self.backend_version,
            "job_id": self.job_id,
            "success": bool(self.success),
            "status": self.status,
            "date": self.date,
            "time_taken": float(self.time_taken),
            "header": _jsonable(self.header),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Result:
        """Rebuild a result from :meth:`to_dict`'s output (equal to the original).

        Raises:
            SvsimError: ``d`` is not such a dict (a key missing, a value of the
                wrong type); the message names the field.
        """
        try:
            _need_mapping(d, "a result")
            results = d["results"]
            if not isinstance(results, (list, tuple)):
                raise TypeError(f"'results' must be a list, got {type(results).__name__}")
        except _MALFORMED as exc:
            raise _malformed("Result", exc) from exc
        experiments = []
        for i, r in enumerate(results):
            try:
                experiments.append(ExperimentResult._from_dict(r))
            except _MALFORMED as exc:
                raise _malformed("Result", exc, f"results[{i}]: ") from exc
        try:
            return cls._build(d, experiments)
        except _MALFORMED as exc:
            raise _malformed("Result", exc) from exc

    @classmethod
    def _build(cls, d: Mapping[str, Any], experiments: list[ExperimentResult]) -> Result:
        return cls(
            backend_name=d["backend_name"],
            backend_version=d["backend_version"],
            job_id=d["job_id"],
            success=bool(d["success"]),
            results=experiments,
            date=d.get("date"),
            status=d.get("status"),
            header=dict(d.get("header") or {}),
            time_taken=float(d.get("time_taken", 0.0)),
        )

    def to_qiskit(self) -> Any:
        """The same result as a ``qiskit.result.Result`` (needs ``pip install svsim[qiskit]``).

        Saved arrays are passed on as they are (no copy).
        """
        try:
            from qiskit.result import Result as QiskitResult
        except ImportError as exc:
            raise MissingExtraError(
                "Result.to_qiskit needs Qiskit: pip install svsim[qiskit]"
            ) from exc
        experiments = []
        for exp in self.results:
            data = dict(exp.data)
            if "statevector" not in data and exp.final_statevector is not None:
                # Qiskit's get_statevector reads data["statevector"]; ours falls
                # back to the final state, so hand that on (no copy).
                data["statevector"] = exp.final_statevector
            experiments.append(
                {
                    "shots": int(exp.shots),
                    "success": bool(exp.success),
                    "data": data,
                    "status": exp.status,
                    "seed_simulator": exp.seed_simulator,
                    "time_taken": float(exp.time_taken),
                    "header": dict(exp.header),
                    "metadata": dict(exp.metadata),
                    "name": exp.name,
                }
            )
        fields: dict[str, Any] = {
            "backend_name": self.backend_name,
            "backend_version": self.backend_version,
            "job_id": self.job_id,
            "success": bool(self.success),
            "results": experiments,
            "date": self.date,
            "status": self.status,
            "header": dict(self.header),
            "time_taken": float(self.time_taken),
        }
        if "qobj_id" in inspect.signature(QiskitResult.__init__).parameters:
            fields["qobj_id"] = self.job_id  # Qiskit 1.x still requires one
        return QiskitResult.from_dict(fields)

    # ------------------------------------------------------------ dunder

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        if len(self.results) != len(other.results):
            return False
        fields = _RESULT_FIELDS
        same = all(_same(getattr(self, f), getattr(other, f)) for f in fields)
        return same and all(a == b for a, b in zip(self.results, other.results, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        names = [r.name for r in self.results]
        return (
            f"Result(backend_name={self.backend_name!r}, job_id={self.job_id!r}, "
            f"success={self.success}, experiments={names})"
        )
