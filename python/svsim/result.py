"""Results of svsim jobs, shaped like ``qiskit.result.Result``.

This module holds :class:`Result`, a job's whole result; one circuit's
:class:`ExperimentResult` and Qiskit's bitstring formatting live in
:mod:`svsim.experiment`, the conversion to JSON-ready data and back in
:mod:`svsim.serialization` (all of these names stay importable from here).

A :class:`Result` holds one :class:`ExperimentResult` per circuit.  Each keeps
its raw data the way Qiskit does (counts and memory under hex keys such as
``"0x3"``, saved values under their labels), and the ``get_*`` methods format
it the way Qiskit's do, so code written against Qiskit's results reads ours
unchanged.  :meth:`Result.to_dict` gives plain JSON-ready data and
:meth:`Result.from_dict` rebuilds an equal result from it.

A result made by a job (:func:`svsim.work.result_from_outputs`) builds its
experiments when they are first read (:meth:`Result.pending`); each holds the
distinct outcomes of its shots, and the hex-keyed ``data["counts"]`` and
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

import datetime
import inspect
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from svsim import _qiskit_types as qt

# MissingExtraError lives in svsim.exceptions; it stays importable from here.
from svsim.exceptions import MissingExtraError, SvsimError
from svsim.experiment import (
    ExperimentData,
    ExperimentResult,
    _no_attribute,
    experiment_header,
    format_bitstring,
)
from svsim.serialization import _MALFORMED, _jsonable, _malformed, _need_mapping, _same

__all__ = [
    "ExperimentData",
    "ExperimentResult",
    "MissingExtraError",
    "Result",
    "experiment_header",
    "format_bitstring",
]

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


ExperimentKey = Any
"""An experiment's index (int), its circuit's name (str), or the circuit itself, or None."""

_BUILD_LOCK = threading.Lock()  # one build of a pending result's experiments, whichever thread


class Result(*qt.result_bases):  # type: ignore[misc]
    """The result of a job: one :class:`ExperimentResult` per circuit, as in Qiskit
    (with Qiskit installed, a ``qiskit.result.Result``).

    The ``get_*`` methods take an experiment by index, by circuit name or by
    the circuit object (anything with a ``name``), like Qiskit's.

    A job's result (:meth:`pending`) builds its :attr:`results` on first use:
    a job whose result is never read, or read only for its job id or date,
    does not pay for its experiments' outcomes, headers and metadata (issue
    20); what they hold is the same either way.
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
        # The fields behind the properties results and date, set here directly.
        self._builder: Callable[[], list[ExperimentResult]] | None = None
        self._results = results
        self._date: str | None = date
        self._finished_at: float | None = None
        self.status = status
        self.header = header if header is not None else {}
        self.time_taken = time_taken

    __getattr__ = _no_attribute

    @classmethod
    def pending(
        cls,
        build: Callable[[], list[ExperimentResult]],
        backend_name: str,
        backend_version: str,
        job_id: str,
        time_taken: float,
        date: str | None = None,
        finished_at: float | None = None,
    ) -> Result:
        """A successful job's result whose :attr:`results` are ``build()``, called
        once, on first use.  Given ``finished_at`` (a ``time.time()``) instead of
        ``date``, the date is that time in ISO form, written when first read (it
        costs 10 us, a fifth of a tiny job).  The arguments are named, not passed
        on as ``**fields``: that cost 1 us more (issue 20)."""
        result = cls(
            backend_name,
            backend_version,
            job_id,
            True,
            [],
            date=date,
            status="COMPLETED",
            header={"backend_name": backend_name, "backend_version": backend_version},
            time_taken=time_taken,
        )
        result._builder = build
        if date is None:
            result._finished_at = finished_at
        return result

    @property
    def date(self) -> str | None:
        """When the job finished, in ISO 8601 form with its UTC offset."""
        if self._date is None and self._finished_at is not None:
            stamp = datetime.datetime.fromtimestamp(self._finished_at, datetime.timezone.utc)
            self._date = stamp.isoformat()
        return self._date

    @date.setter
    def date(self, value: str | None) -> None:
        self._date = value
        self._finished_at = None

    @property
    def results(self) -> list[ExperimentResult]:
        """One :class:`ExperimentResult` per circuit, in the job's order."""
        if self._builder is not None:
            with _BUILD_LOCK:
                build = self._builder
                if build is not None:
                    self._results = build()
                    self._builder = None
        return self._results

    @results.setter
    def results(self, value: list[ExperimentResult]) -> None:
        self._results = value
        self._builder = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled and copied with its experiments built (the builder stays here)."""
        _ = self.results, self.date
        return self.__dict__

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
