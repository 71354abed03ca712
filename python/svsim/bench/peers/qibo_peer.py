"""Qibo with its ``qibojit`` backend (numba kernels)."""

from __future__ import annotations

from typing import Any

import numpy as np

from svsim.bench.circuits import Spec, to_qibo
from svsim.bench.peers.base import Peer


class QiboPeer(Peer):
    """Qibo's ``qibojit`` backend (``platform="numba"``), double and single precision.

    ``qibo.set_backend("qibojit", platform="numba")``, ``qibo.set_threads(T)`` (numba's
    thread count; ``NUMBA_NUM_THREADS`` is left alone) and ``qibo.set_dtype("complex128"``
    or ``"complex64")``.  The timed part is ``backend.execute_circuit(circuit)`` on the
    built ``qibo.Circuit``; numba compiles each kernel on its first call, which the
    warm-up run (the check) pays, not the timed ones.  Its qubit 0 is the most
    significant bit (see :func:`~svsim.bench.circuits.to_qibo`).
    """

    name = "qibojit"
    label = "Qibo (qibojit)"
    precisions = ("double", "single")
    sections = frozenset({"family", "micro"})
    module = "qibojit"

    def version(self) -> str:
        from importlib.metadata import version

        return f"qibo {version('qibo')}, qibojit {version('qibojit')}"

    def setup(self, threads: int, precision: str, fusion: bool = True, **options: Any) -> None:
        super().setup(threads, precision, fusion, **options)
        import qibo

        qibo.set_backend("qibojit", platform="numba")
        qibo.set_threads(threads)
        qibo.set_dtype("complex128" if precision == "double" else "complex64")
        self.backend = qibo.get_backend()

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "fusion": False,
            "backend_threads": int(self.backend.nthreads),
            "dtype": str(self.backend.dtype),
        }

    def build(self, spec: Spec) -> Any:
        return to_qibo(spec)

    def run_state(self, native: Any) -> Any:
        return self.backend.execute_circuit(native)

    def statevector(self, handle: Any) -> np.ndarray:
        return np.asarray(handle.state())
