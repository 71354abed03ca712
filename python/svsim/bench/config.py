"""What one benchmark run measures (:class:`BenchConfig`), the constants every
stage shares, and the small helpers they all use: logging, time formatting and
JSON encoding of numpy values."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svsim.bench import circuits as C

FIDELITY_TOL = 1e-6
ITEMSIZE = {"double": 16, "single": 8}
DEFAULT_PEERS = ("svsim", "aer", "qulacs", "qsim", "lightning", "qibojit", "basic")
SECTIONS = ("family", "micro", "shots", "mid", "batch")
# How a worker shares its time among the sections when there is a budget.
SECTION_WEIGHTS = {"family": 0.5, "micro": 0.25, "shots": 0.15, "mid": 0.05, "batch": 0.05}


class BenchCheckError(RuntimeError):
    """A simulator's answer differed from svsim's: its figures were not taken."""


@dataclass
class BenchConfig:
    """Everything one run measures.  ``quick()`` gives the small version."""

    qubits: list[int] = field(default_factory=lambda: list(range(12, 29, 2)))
    micro_qubits: list[int] | None = None  # None: the same as ``qubits``
    threads: list[int] = field(default_factory=lambda: default_threads())
    precisions: list[str] = field(default_factory=lambda: ["double", "single"])
    sections: list[str] = field(default_factory=lambda: list(SECTIONS))
    families: list[str] = field(default_factory=lambda: list(C.FAMILIES))
    micro_gates: list[str] = field(default_factory=lambda: list(C.MICRO_GATES))
    micro_reps: int = 10
    repeats: int = 3
    shots: list[int] = field(default_factory=lambda: [1000, 100_000, 1_000_000])
    shot_qubits: list[int] = field(default_factory=lambda: [20, 26])
    mid_qubits: int = 12
    mid_shots: int = 1000
    batch_circuits: int = 1000
    batch_qubits: int = 10
    batch_gates: int = 100
    batch_shots: int = 100
    basic_max_qubits: int = 20
    single_thread_max_qubits: int | None = None  # cap n for the 1-thread runs
    cell_seconds: float = 120.0  # skip a cell predicted to take longer than this
    budget_seconds: float | None = None  # the whole run; None: no limit
    first_pass_share: float = 0.7  # of the budget, for the most threads (the rest: fewer)
    memory_fraction: float = 0.6  # of the available memory, for the states of one cell
    memory_wait_seconds: float = 120.0  # wait this long for memory that others hold
    first_round_max: int = 20  # sizes up to this in the first round, then one at a time
    qsim_max_fused_gate_size: int | None = None  # None: per circuit, the fastest of 2, 3, 4
    qulacs_block_size: int = 2
    seed: int = 1234

    @classmethod
    def quick(cls, **overrides: Any) -> BenchConfig:
        base = cls(
            qubits=[10, 12, 14],
            micro_qubits=[12],
            threads=default_threads()[:1],
            shots=[1000, 100_000],
            shot_qubits=[12],
            mid_qubits=10,
            batch_circuits=100,
            cell_seconds=30.0,
        )
        for key, value in overrides.items():
            setattr(base, key, value)
        return base

    def micro_sizes(self) -> list[int]:
        return list(self.qubits if self.micro_qubits is None else self.micro_qubits)


THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "QULACS_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
"""The thread counts that peer libraries (and BLAS) read from the environment at import."""


def thread_environment(threads: int) -> dict[str, str]:
    """This process's environment with every one of :data:`THREAD_VARIABLES` set to
    ``threads``: for a process that runs one peer (or a BLAS product)."""
    return {**os.environ, **{name: str(threads) for name in THREAD_VARIABLES}}


def default_threads() -> list[int]:
    cores = os.cpu_count() or 1
    return [cores, 1] if cores > 1 else [1]


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
