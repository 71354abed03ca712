"""svsim's benchmark suite: svsim against Qiskit's BasicSimulator, Qiskit Aer,
qulacs and qsim, on the same circuits, checked before they are timed.

``svsim bench`` and ``bench/run.py`` call :func:`main`; :func:`run_suite` is the
same from Python.  No peer is imported until it runs (extra ``bench`` installs them).
"""

from __future__ import annotations

from svsim.bench.suite import BenchCheckError, BenchConfig, main, run_suite

__all__ = ["BenchCheckError", "BenchConfig", "main", "run_suite"]
