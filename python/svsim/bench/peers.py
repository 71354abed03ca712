"""Adapters: one class per simulator, each with the same small interface.

An adapter builds its simulator's native circuit from a :class:`Spec` (not
timed), runs it (timed: from the built circuit to the final state, or to the
samples in the simulator's own output form), and hands back the state as a
numpy vector in svsim's bit order, or the samples as ``{int outcome: count}``
with clbit ``c`` as bit ``c`` of the outcome (not timed).

Every peer is imported inside :meth:`Peer.setup`, never at import time, so a
missing peer costs a note, not an error.  Thread counts that a library reads
from the environment at import (qulacs) are set by the suite, which runs each
peer in its own process.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from svsim.bench.circuits import Spec, to_cirq, to_qiskit, to_qulacs, to_svsim

__all__ = [
    "PEERS",
    "AerPeer",
    "BasicSimulatorPeer",
    "Peer",
    "QsimPeer",
    "QulacsPeer",
    "SvsimPeer",
    "counts_from_bitstrings",
    "make_peer",
    "svsim_execute",
]


def counts_from_bitstrings(counts: dict[str, int]) -> dict[int, int]:
    """Qiskit-style counts (``"10 011"``, clbit 0 rightmost) as ``{int: count}``."""
    out: dict[int, int] = {}
    for key, value in counts.items():
        outcome = int(key.replace(" ", ""), 2) if key else 0
        out[outcome] = out.get(outcome, 0) + int(value)
    return out


def _counts_from_ints(outcomes: np.ndarray) -> dict[int, int]:
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


# ---------------------------------------------------------------- svsim


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
            return _counts_from_ints(memory[:, 0].astype(np.int64))
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


# ---------------------------------------------------------------- Qiskit BasicSimulator


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


# ---------------------------------------------------------------- qulacs


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
        return _counts_from_ints(np.asarray(handle))


# ---------------------------------------------------------------- qsim


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
        return _counts_from_ints(outcomes)


PEERS: dict[str, type[Peer]] = {
    "svsim": SvsimPeer,
    "basic": BasicSimulatorPeer,
    "aer": AerPeer,
    "qulacs": QulacsPeer,
    "qsim": QsimPeer,
}


def make_peer(spec: str | Peer) -> Peer:
    """A peer from its name in :data:`PEERS`, from ``"module:Class"``, or as given."""
    if isinstance(spec, Peer):
        return spec
    if spec in PEERS:
        return PEERS[spec]()
    if ":" in spec:
        module, _, attr = spec.partition(":")
        peer = getattr(importlib.import_module(module), attr)()
        if not isinstance(peer, Peer):
            raise TypeError(f"{spec} is not a svsim.bench.peers.Peer")
        return peer
    raise ValueError(f"unknown peer {spec!r}; choose from {', '.join(PEERS)} or module:Class")
