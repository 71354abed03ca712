"""Qiskit's simulators: the pure-Python BasicSimulator and Aer."""

from __future__ import annotations

from typing import Any

import numpy as np

from svsim.bench.circuits import Spec, to_qiskit
from svsim.bench.peers.base import Peer, counts_from_bitstrings


class BasicSimulatorPeer(Peer):
    """Qiskit's pure-Python BasicSimulator.

    It has no statevector output; after a run of a circuit without measurements
    its ``_statevector`` attribute holds the final state (a tensor of ``n`` axes
    whose C-order flattening is Qiskit's little-endian vector), which the
    check reads (not timed).  It is single-threaded (numpy).
    """

    name = "basic"
    label = "Qiskit BasicSimulator"
    max_qubits = 20
    fixed_threads = 1  # numpy, one thread: the suite runs it once
    # no gate microbenchmarks: a pure-Python einsum per gate says nothing about kernels
    sections = frozenset({"family", "shots", "mid", "batch"})
    module = "qiskit.providers.basic_provider"

    def version(self) -> str:
        from importlib.metadata import version

        return version("qiskit")

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        super().setup(threads, precision, fusion, **options)
        from qiskit.providers.basic_provider import BasicSimulator

        self.max_qubits = int(options.get("basic_max_qubits", self.max_qubits or 20))
        self.backend = BasicSimulator()

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "threads": 1, "fusion": False}

    def build(self, spec: Spec) -> Any:
        return to_qiskit(spec)

    def run_state(self, native: Any) -> Any:
        result = self.backend.run(native, shots=1).result()
        return result, self.backend._statevector

    def statevector(self, handle: Any) -> np.ndarray:
        return np.asarray(handle[1]).reshape(-1)

    def run_shots(self, native: Any, shots: int, seed: int) -> Any:
        return self.backend.run(native, shots=shots, seed_simulator=seed).result().get_counts()

    def counts(self, handle: Any) -> dict[int, int]:
        return counts_from_bitstrings(handle)

    def run_batch(self, native: Any, shots: int, seed: int) -> Any:
        return self.backend.run(native, shots=shots, seed_simulator=seed).result().get_counts()

    def batch_counts(self, handle: Any) -> list[dict[int, int]]:
        return [counts_from_bitstrings(c) for c in handle]


# ---------------------------------------------------------------- Qiskit Aer


class AerPeer(Peer):
    """Qiskit Aer, ``method="statevector"``, fusion on (its default), OpenMP
    threads through ``max_parallel_threads``.  The state comes back through
    ``save_statevector()``, appended when the circuit is built."""

    name = "aer"
    label = "Qiskit Aer"
    precisions = ("double",)  # Aer has single too; the suite pits qsim against svsim there
    sections = frozenset({"family", "micro", "shots", "mid", "batch"})
    module = "qiskit_aer"

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        super().setup(threads, precision, fusion, **options)
        from qiskit_aer import AerSimulator

        self.sim = AerSimulator(
            method="statevector",
            precision=precision,
            max_parallel_threads=threads,
            fusion_enable=fusion,
        )

    def build(self, spec: Spec) -> Any:
        return to_qiskit(spec, save_statevector=spec.kind == "state")

    def run_state(self, native: Any) -> Any:
        return self.sim.run(native, shots=1).result()

    def statevector(self, handle: Any) -> np.ndarray:
        return np.asarray(handle.get_statevector(0))

    def run_shots(self, native: Any, shots: int, seed: int) -> Any:
        return self.sim.run(native, shots=shots, seed_simulator=seed).result().get_counts()

    def counts(self, handle: Any) -> dict[int, int]:
        return counts_from_bitstrings(handle)

    def run_batch(self, native: Any, shots: int, seed: int) -> Any:
        return self.sim.run(native, shots=shots, seed_simulator=seed).result().get_counts()

    def batch_counts(self, handle: Any) -> list[dict[int, int]]:
        return [counts_from_bitstrings(c) for c in handle]
