"""svsim's benchmark suite: svsim against Qiskit's BasicSimulator, Qiskit Aer,
qulacs and qsim, on the same circuits, checked before they are timed.

``svsim bench`` and ``bench/run.py`` call :func:`main`; :func:`run_suite` is the
same from Python; :func:`write_markdown` and :func:`write_plots` make its
reports from a ``results.json``.  No peer is imported until it runs (extra
``bench`` installs them).
"""

from __future__ import annotations

from svsim.bench.suite import (
    BenchCheckError,
    BenchConfig,
    main,
    run_suite,
    write_markdown,
    write_plots,
)

__all__ = ["BenchCheckError", "BenchConfig", "main", "run_suite", "write_markdown", "write_plots"]
