"""qulacs (double precision)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from svsim.bench.circuits import Spec, to_qulacs
from svsim.bench.peers.base import Peer, counts_from_ints


class QulacsPeer(Peer):
    """qulacs (double only).  Fused by ``QuantumCircuitOptimizer().optimize(circuit,
    block_size)`` when the circuit is built; threads from ``QULACS_NUM_THREADS`` /
    ``OMP_NUM_THREADS``, which the suite sets before the import."""

    name = "qulacs"
    label = "qulacs"
    module = "qulacs"

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        super().setup(threads, precision, fusion, **options)
        import qulacs
        from qulacs.circuit import QuantumCircuitOptimizer

        from svsim.bench.circuits import qulacs_rotation_sign

        self.qulacs = qulacs
        self.optimizer = QuantumCircuitOptimizer()
        self.block_size = int(options.get("qulacs_block_size", 2))
        self.sign = qulacs_rotation_sign()
        env = os.environ.get("QULACS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        self.env_threads = int(env) if env else None

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "block_size": self.block_size if self.fusion else None,
            "env_threads": self.env_threads,
            "rotation_sign": self.sign,
        }

    def build(self, spec: Spec) -> Any:
        circuit = to_qulacs(spec, self.sign)
        if self.fusion and self.block_size > 0:
            self.optimizer.optimize(circuit, self.block_size)
        return spec.num_qubits, circuit

    def run_state(self, native: Any) -> Any:
        n, circuit = native
        state = self.qulacs.QuantumState(n)
        circuit.update_quantum_state(state)
        return state

    def statevector(self, handle: Any) -> np.ndarray:
        return np.asarray(handle.get_vector())

    def run_shots(self, native: Any, shots: int, seed: int) -> Any:
        state = self.run_state(native)
        return state.sampling(shots, seed)

    def counts(self, handle: Any) -> dict[int, int]:
        return counts_from_ints(np.asarray(handle))
