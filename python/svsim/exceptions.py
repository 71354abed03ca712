"""The exceptions svsim raises.

``SvsimError`` is the base of them all.  ``CircuitError`` is also a
``ValueError``, so code that catches bad arguments the usual way still works.

With Qiskit installed, each is also the Qiskit exception a program written for
Qiskit's ``BasicSimulator`` catches: every svsim error is a
``BasicProviderError`` (so a ``QiskitError``), ``JobError`` and
``JobTimeoutError`` are Qiskit's ``JobError`` and ``JobTimeoutError``, and
``BackendNotFoundError`` is a ``QiskitBackendNotFoundError``.  Their messages
read the same either way (Qiskit's base would quote them).
"""

from __future__ import annotations

from typing import Any

from svsim import _qiskit_types as qt

__all__ = [
    "BackendNotFoundError",
    "BasicProviderError",
    "CircuitError",
    "JobError",
    "JobTimeoutError",
    "MissingExtraError",
    "SimulatorError",
    "SvsimError",
]


class SvsimError(*qt.backend_error_bases, Exception):  # type: ignore[misc]
    """Base class of every error raised by svsim."""

    def __init__(self, *args: Any) -> None:
        Exception.__init__(self, *args)
        self.message = " ".join(str(a) for a in args)

    def __str__(self) -> str:
        return Exception.__str__(self)


BasicProviderError = SvsimError
"""Qiskit's name, for the literal swap ``from svsim import BasicProviderError``:
the base of every svsim error (with Qiskit installed, a subclass of Qiskit's
``BasicProviderError``, so either name catches svsim's errors)."""


class JobError(SvsimError, *qt.job_error_bases):  # type: ignore[misc]
    """A job could not be submitted, was cancelled, or failed while running."""


class JobTimeoutError(JobError, *qt.job_timeout_bases):  # type: ignore[misc]
    """Waiting for a job took longer than the given timeout."""


class CircuitError(SvsimError, ValueError):
    """A circuit instruction or a run's input was given bad arguments (raised
    when it is added, or by ``run()`` before a job exists)."""


class SimulatorError(SvsimError):
    """The simulator cannot run a circuit (for example, not enough memory)."""


class BackendNotFoundError(SvsimError, *qt.not_found_bases):  # type: ignore[misc]
    """A provider has no backend of the name asked for."""


class MissingExtraError(SvsimError, ImportError):
    """An optional dependency (an extra such as ``svsim[qiskit]``) is not installed."""
