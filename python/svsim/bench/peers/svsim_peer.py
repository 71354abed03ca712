"""svsim itself, through its job API (or the engine it wraps, before the job layer existed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from svsim.bench.circuits import Spec, to_svsim
from svsim.bench.peers.base import Peer, counts_from_bitstrings, counts_from_ints


class _SvsimRun:
    """svsim's answer, whichever API produced it."""

    def __init__(self, result: Any, outputs: list[Any] | None) -> None:
        self.result = result  # an svsim Result (job API), or None
        self.outputs = outputs  # ExperimentOutputs (engine), or None

    def statevector(self, index: int = 0) -> np.ndarray:
        if self.outputs is not None:
            return self.outputs[index].statevector
        return np.asarray(self.result.get_statevector(index))

    def counts(self, index: int = 0) -> dict[int, int]:
        if self.outputs is not None:
            memory = self.outputs[index].memory
            if memory.shape[1] > 1:
                raise ValueError("the engine fallback counts at most 64 clbits")
            return counts_from_ints(memory[:, 0].astype(np.int64))
        return counts_from_bitstrings(self.result.get_counts(index))

    def all_counts(self) -> list[dict[int, int]]:
        size = len(self.outputs) if self.outputs is not None else len(self.result.results)
        return [self.counts(i) for i in range(size)]


def svsim_api() -> str:
    """``"job"`` when ``svsim.BasicSimulator`` exists, else ``"engine"``."""
    import svsim

    return "job" if hasattr(svsim, "BasicSimulator") else "engine"


def svsim_execute(
    circuits: Any,
    *,
    shots: int,
    seed: int,
    precision: str,
    threads: int,
    fusion: bool = True,
    backend: Any = None,
) -> _SvsimRun:
    """Run svsim circuits: the one place that chooses between the job API
    (``svsim.BasicSimulator``) and the engine it wraps (before the job layer existed).

    ``circuits`` is one circuit or a list; ``backend`` a ready BasicSimulator.
    """
    import svsim

    items = circuits if isinstance(circuits, list) else [circuits]
    if backend is not None or hasattr(svsim, "BasicSimulator"):
        if backend is None:
            backend = svsim.BasicSimulator(
                precision=precision, max_parallel_threads=threads, fusion=fusion
            )
        result = backend.run(items, shots=shots, seed_simulator=seed, memory=False).result()
        return _SvsimRun(result, None)
    from svsim.engine import run_experiment

    outputs = [
        run_experiment(
            c, shots=shots, seed=seed, precision=precision, threads=threads, fusion=fusion
        )
        for c in items
    ]
    return _SvsimRun(None, outputs)


class SvsimPeer(Peer):
    name = "svsim"
    label = "svsim"
    precisions = ("double", "single")
    sections = frozenset({"family", "micro", "shots", "mid", "batch"})

    def version(self) -> str:
        import svsim

        return f"{svsim.__version__} ({svsim_api()} API)"

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        super().setup(threads, precision, fusion, **options)
        import svsim

        self.backend = None
        if hasattr(svsim, "BasicSimulator"):
            self.backend = svsim.BasicSimulator(
                precision=precision, max_parallel_threads=threads, fusion=fusion
            )

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "api": svsim_api()}

    def _run(self, native: Any, shots: int, seed: int) -> _SvsimRun:
        return svsim_execute(
            native,
            shots=shots,
            seed=seed,
            precision=self.precision,
            threads=self.threads,
            fusion=self.fusion,
            backend=self.backend,
        )

    def build(self, spec: Spec) -> Any:
        return to_svsim(spec)

    def run_state(self, native: Any) -> Any:
        return self._run(native, 1, 1)

    def statevector(self, handle: Any) -> np.ndarray:
        return handle.statevector(0)

    def run_shots(self, native: Any, shots: int, seed: int) -> Any:
        run = self._run(native, shots, seed)
        return run, run.counts(0)  # counts are part of the answer a user waits for

    def counts(self, handle: Any) -> dict[int, int]:
        return handle[1]

    def run_batch(self, native: Any, shots: int, seed: int) -> Any:
        run = self._run(native, shots, seed)
        return run, run.all_counts()

    def batch_counts(self, handle: Any) -> list[dict[int, int]]:
        return handle[1]
