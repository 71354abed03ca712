"""The interface every simulator adapter implements, and the helpers they share.

An adapter builds its simulator's native circuit from a :class:`Spec` (not
timed), runs it (timed: from the built circuit to the final state, or to the
samples in the simulator's own output form), and hands back the state as a
numpy vector in svsim's bit order, or the samples as ``{int outcome: count}``
with clbit ``c`` as bit ``c`` of the outcome (not timed).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from svsim.bench.circuits import Spec

__all__ = ["Peer", "counts_from_bitstrings", "counts_from_ints"]


def counts_from_bitstrings(counts: dict[str, int]) -> dict[int, int]:
    """Qiskit-style counts (``"10 011"``, clbit 0 rightmost) as ``{int: count}``."""
    out: dict[int, int] = {}
    for key, value in counts.items():
        outcome = int(key.replace(" ", ""), 2) if key else 0
        out[outcome] = out.get(outcome, 0) + int(value)
    return out


def counts_from_ints(outcomes: np.ndarray) -> dict[int, int]:
    values, counts = np.unique(np.asarray(outcomes, dtype=np.int64), return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


class Peer:
    """The interface every simulator adapter implements.

    Attributes: ``name`` (the key used on the command line and in the JSON),
    ``label`` (for tables), ``precisions`` it runs, ``max_qubits`` (``None``:
    memory decides), ``sections`` it takes part in (``family micro shots mid
    batch``), and ``can_disable_fusion`` (if not, its gate microbenchmarks run
    one gate per circuit, since repeated gates would be fused into one).
    """

    name = "peer"
    label = "peer"
    precisions: tuple[str, ...] = ("double",)
    max_qubits: int | None = None
    sections: frozenset[str] = frozenset({"family", "micro", "shots"})
    can_disable_fusion = True
    fixed_threads: int | None = None  # a simulator that always runs on this many threads
    build_runs = 0  # untimed runs of the circuit that ``build`` makes (a calibration)
    module = ""  # the module whose import tells whether the peer is installed

    def __init__(self) -> None:
        self.threads = 1
        self.precision = "double"
        self.fusion = True
        self.options: dict[str, Any] = {}

    def available(self) -> str | None:
        """``None`` if the peer can run here, else why not (for the skip note)."""
        if not self.module:
            return None
        try:
            importlib.import_module(self.module)
        except Exception as exc:  # an ImportError, or a broken binary
            return f"{self.module} is not importable ({type(exc).__name__}: {exc})"
        return None

    def version(self) -> str:
        if not self.module:
            return ""
        try:
            from importlib.metadata import version

            return version(self.module.split(".")[0].replace("_", "-"))
        except Exception:
            mod = importlib.import_module(self.module.split(".")[0])
            return str(getattr(mod, "__version__", "?"))

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        """Import the library and make the simulator object for these settings."""
        self.threads = threads
        self.precision = precision
        self.fusion = fusion
        self.options = options

    def settings(self) -> dict[str, Any]:
        """The settings in force, for the JSON."""
        return {"threads": self.threads, "precision": self.precision, "fusion": self.fusion}

    def cell_settings(self, native: Any) -> dict[str, Any]:
        """Settings chosen for one built circuit (``build``'s result), for its
        record in the JSON; none by default."""
        return {}

    # -- state
    def build(self, spec: Spec) -> Any:
        raise NotImplementedError

    def run_state(self, native: Any) -> Any:
        """Run the built circuit to its final state (the timed part)."""
        raise NotImplementedError

    def statevector(self, handle: Any) -> np.ndarray:
        """The final state from ``run_state``'s handle, in svsim's bit order."""
        raise NotImplementedError

    # -- shots
    def run_shots(self, native: Any, shots: int, seed: int) -> Any:
        raise NotImplementedError

    def counts(self, handle: Any) -> dict[int, int]:
        raise NotImplementedError

    # -- many circuits in one call
    def build_batch(self, specs: Sequence[Spec]) -> Any:
        return [self.build(spec) for spec in specs]

    def run_batch(self, native: Any, shots: int, seed: int) -> Any:
        raise NotImplementedError

    def batch_counts(self, handle: Any) -> list[dict[int, int]]:
        raise NotImplementedError
