"""Qiskit's types that svsim's classes build on, when Qiskit is installed.

svsim has one backend, one job, one result and one set of exceptions.  With
Qiskit installed they *are* Qiskit's: ``BasicSimulator`` is a ``BackendV2``,
``BasicProviderJob`` a ``JobV1``, ``Result`` a ``qiskit.result.Result``,
``JobStatus`` is Qiskit's enum, ``get_counts`` returns Qiskit's ``Counts`` and
every svsim error is a ``BasicProviderError`` (job errors are Qiskit's
``JobError`` too).  This module decides that once, at import: it imports the
few Qiskit classes that serve as bases, or, without Qiskit, gives small
stand-ins of its own, so the classes built on them have a single code path.

The stand-ins cover only what svsim itself uses: a base that stores a
backend's name and options, and an ``Options`` namespace.  Nothing here is
imported from Qiskit unless Qiskit is installed; ``import svsim`` on a
numpy-only install never tries more than the first ``import``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

__all__ = [
    "HAVE_QISKIT",
    "BackendBase",
    "Options",
    "backend_error_bases",
    "counts_type",
    "experiment_result_bases",
    "job_bases",
    "job_error_bases",
    "job_status_type",
    "job_timeout_bases",
    "not_found_bases",
    "result_bases",
]

try:
    from qiskit.providers import BackendV2, JobStatus, JobV1
    from qiskit.providers import Options as _QiskitOptions
    from qiskit.providers.basic_provider import BasicProviderError
    from qiskit.providers.exceptions import (
        JobError,
        JobTimeoutError,
        QiskitBackendNotFoundError,
    )
    from qiskit.result import Counts
    from qiskit.result import Result as _QiskitResult
    from qiskit.result.models import ExperimentResult as _QiskitExperimentResult
except ImportError:
    HAVE_QISKIT = False
else:
    HAVE_QISKIT = True


class _Options:
    """A backend's run options without Qiskit: a mutable namespace like Qiskit's
    ``Options`` (attribute and item access, ``get``, ``items``, ``update_options``)."""

    def __init__(self, **fields: Any) -> None:
        object.__setattr__(self, "_fields", dict(fields))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"Option {name} is not defined") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._fields[name] = value

    def __getitem__(self, name: str) -> Any:
        return self._fields[name]

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Options) and self._fields == other._fields

    def get(self, name: str, default: Any = None) -> Any:
        return self._fields.get(name, default)

    def items(self) -> Any:
        return self._fields.items()

    def keys(self) -> Any:
        return self._fields.keys()

    def update_options(self, **fields: Any) -> None:
        self._fields.update(fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"Options({inner})"


class _Backend:
    """Without Qiskit, what ``BackendV2.__init__`` would keep: name, description,
    version, provider and the options (defaults overridden by ``fields``)."""

    def __init__(
        self,
        provider: Any = None,
        name: str | None = None,
        description: str | None = None,
        online_date: datetime.datetime | None = None,
        backend_version: str | None = None,
        **fields: Any,
    ) -> None:
        self._options = self._default_options()  # type: ignore[attr-defined]
        self._provider = provider
        for field in fields:
            if field not in self._options:
                raise AttributeError(f"Options field {field} is not valid for this backend")
        self._options.update_options(**fields)
        self.name = name
        self.description = description
        self.online_date = online_date
        self.backend_version = backend_version

    @property
    def options(self) -> Any:
        return self._options

    @property
    def provider(self) -> Any:
        return self._provider


if HAVE_QISKIT:
    Options: Any = _QiskitOptions
    BackendBase: Any = BackendV2
    job_status_type: Any = JobStatus
    counts_type: Any = Counts
    backend_error_bases: tuple[type, ...] = (BasicProviderError,)
    job_error_bases: tuple[type, ...] = (JobError,)
    job_timeout_bases: tuple[type, ...] = (JobTimeoutError,)
    not_found_bases: tuple[type, ...] = (QiskitBackendNotFoundError,)
    job_bases: tuple[type, ...] = (JobV1,)
    result_bases: tuple[type, ...] = (_QiskitResult,)
    experiment_result_bases: tuple[type, ...] = (_QiskitExperimentResult,)
else:
    Options = _Options
    BackendBase = _Backend
    job_status_type = None  # svsim.job defines its own enum
    counts_type = dict
    backend_error_bases = ()
    job_error_bases = ()
    job_timeout_bases = ()
    not_found_bases = ()
    job_bases = ()
    result_bases = ()
    experiment_result_bases = ()
