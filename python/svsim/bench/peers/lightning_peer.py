"""PennyLane Lightning (``lightning.qubit``), driven through its compiled state-vector classes."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from svsim.bench.circuits import Spec, to_lightning
from svsim.bench.peers.base import Peer


class LightningPeer(Peer):
    """PennyLane Lightning's ``lightning.qubit`` kernels, double and single precision.

    No PennyLane device, tape or QNode: the circuit is built (not timed) as a list
    of calls of the compiled ``StateVectorC128`` / ``StateVectorC64`` methods
    (``Hadamard``, ``CNOT``, ``ControlledPhaseShift``, ``applyMatrix``, ...); the
    timed part makes a new state (``|0...0>``) and makes the calls, the Python loop
    over the gates included (about a microsecond a gate).  Lightning has no gate
    fusion, so each gate is a pass over the state.  Threads: OpenMP, from
    ``OMP_NUM_THREADS``, which the suite sets to T before the import.  Its qubit 0
    is the most significant bit (see :func:`~svsim.bench.circuits.to_lightning`).
    """

    name = "lightning"
    label = "PennyLane Lightning"
    precisions = ("double", "single")
    sections = frozenset({"family", "micro"})
    module = "pennylane_lightning.lightning_qubit_ops"

    def version(self) -> str:
        from importlib.metadata import version

        return version("pennylane-lightning")

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        super().setup(threads, precision, fusion, **options)
        import pennylane_lightning.lightning_qubit_ops as ops

        self.runtime = {k: v for k, v in ops.runtime_info().items() if k != "binding_type"}
        env = os.environ.get("OMP_NUM_THREADS")
        self.env_threads = int(env) if env else None

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "fusion": False,
            "env_threads": self.env_threads,
            "simd": self.runtime,
        }

    def build(self, spec: Spec) -> Any:
        cls, calls = to_lightning(spec, self.precision)
        return spec.num_qubits, cls, calls

    def run_state(self, native: Any) -> Any:
        n, cls, calls = native
        state = cls(n)
        for method, args in calls:
            method(state, *args)
        return state

    def statevector(self, handle: Any) -> np.ndarray:
        dtype = np.complex128 if self.precision == "double" else np.complex64
        out = np.empty(handle.size(), dtype=dtype)
        handle.getState(out)
        return out
