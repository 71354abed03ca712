"""qsim through qsimcirq (single precision)."""

from __future__ import annotations

from typing import Any

import numpy as np

from svsim.bench.circuits import Spec, to_cirq
from svsim.bench.peers.base import Peer, counts_from_ints


class QsimPeer(Peer):
    """qsim through ``qsimcirq`` (single precision only).

    ``QSimOptions(cpu_threads=T, max_fused_gate_size=4)``;
    ``circuit_memoization_size=1`` so the warm-up translates the Cirq circuit
    and the timed runs reuse it; ``simulate_into_1d_array`` returns the raw
    vector.  qsim always fuses repeated one-qubit gates, so its gate
    microbenchmarks run one gate per circuit.
    """

    name = "qsim"
    label = "qsim"
    precisions = ("single",)
    sections = frozenset({"family", "micro", "shots", "mid"})
    can_disable_fusion = False
    module = "qsimcirq"

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        super().setup(threads, precision, fusion, **options)
        import qsimcirq

        self.qsimcirq = qsimcirq
        self.fused = int(options.get("qsim_max_fused_gate_size", 4))
        self.sim = qsimcirq.QSimSimulator(
            qsimcirq.QSimOptions(cpu_threads=threads, max_fused_gate_size=self.fused),
            seed=int(options.get("seed", 1)),
            circuit_memoization_size=1,
        )

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "max_fused_gate_size": self.fused, "fusion": True}

    def build(self, spec: Spec) -> Any:
        circuit, order = to_cirq(spec)
        return circuit, order, spec

    def run_state(self, native: Any) -> Any:
        circuit, order, _ = native
        return self.sim.simulate_into_1d_array(circuit, qubit_order=order)[1]

    def statevector(self, handle: Any) -> np.ndarray:
        return np.asarray(handle)

    def run_shots(self, native: Any, shots: int, seed: int) -> Any:
        circuit, _, spec = native
        return self.sim.run(circuit, repetitions=shots), spec

    def counts(self, handle: Any) -> dict[int, int]:
        result, spec = handle
        measurements = result.measurements
        outcomes = np.zeros(next(iter(measurements.values())).shape[0], dtype=np.int64)
        if spec.measure_all:
            bits = np.asarray(measurements["m"], dtype=np.int64)
            outcomes |= bits @ (np.int64(1) << np.arange(bits.shape[1], dtype=np.int64))
        for key, bits in measurements.items():
            if key.startswith("c"):
                outcomes |= np.asarray(bits[:, 0], dtype=np.int64) << int(key[1:])
        return counts_from_ints(outcomes)
