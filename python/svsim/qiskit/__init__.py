"""Qiskit interop (the ``qiskit`` extra): circuits in, results out, a ``BackendV2``.

- :func:`circuit_from_qiskit` (``Circuit.from_qiskit``) converts a Qiskit
  ``QuantumCircuit``; :func:`circuit_from_qasm` (``Circuit.from_qasm``) reads
  OpenQASM 2 or 3 through Qiskit's own loaders and converts the result.
- :func:`build_target` makes the ``Target`` of :class:`svsim.BasicSimulator`,
  which with Qiskit installed is itself a Qiskit ``BackendV2`` (see
  :mod:`svsim.backend`); ``SvsimBackend`` and ``SvsimJob`` are aliases of
  svsim's one backend and one job class.

This package imports Qiskit when it is imported itself; ``import svsim`` never
imports it.  Without Qiskit, importing it raises
:class:`~svsim.result.MissingExtraError` (an ``ImportError``).

Where things live: :mod:`svsim.qiskit.convert` (Qiskit circuits in),
:mod:`svsim.qiskit.qasm` (OpenQASM in) and :mod:`svsim.qiskit.target` (the
backend's ``Target``); this module gathers their names and the aliases.
"""

from __future__ import annotations

from svsim.backend import BasicSimulator
from svsim.job import BasicProviderJob
from svsim.qiskit.convert import DENSE_MAX_QUBITS, NATIVE_GATES, circuit_from_qiskit
from svsim.qiskit.qasm import circuit_from_qasm
from svsim.qiskit.target import build_target

__all__ = [
    "DENSE_MAX_QUBITS",
    "NATIVE_GATES",
    "SvsimBackend",
    "SvsimJob",
    "build_target",
    "circuit_from_qasm",
    "circuit_from_qiskit",
]

SvsimBackend = BasicSimulator
"""An alias of :class:`svsim.BasicSimulator`, which is itself a Qiskit ``BackendV2``."""

SvsimJob = BasicProviderJob
"""An alias of :class:`svsim.BasicProviderJob`, which is itself a Qiskit ``JobV1``."""
