"""The exceptions svsim raises.

``SvsimError`` is the base of them all.  ``CircuitError`` is also a
``ValueError``, so code that catches bad arguments the usual way still works.
"""

from __future__ import annotations

__all__ = [
    "CircuitError",
    "JobError",
    "JobTimeoutError",
    "MissingExtraError",
    "SimulatorError",
    "SvsimError",
]


class SvsimError(Exception):
    """Base class of every error raised by svsim."""


class JobError(SvsimError):
    """A job could not be submitted, was cancelled, or failed while running."""


class JobTimeoutError(JobError):
    """Waiting for a job took longer than the given timeout."""


class CircuitError(SvsimError, ValueError):
    """A circuit instruction was given bad arguments (raised when it is added)."""


class SimulatorError(SvsimError):
    """The simulator cannot run a circuit (for example, not enough memory)."""


class MissingExtraError(SvsimError, ImportError):
    """An optional dependency (an extra such as ``svsim[qiskit]``) is not installed."""
