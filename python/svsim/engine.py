"""One circuit through the compiled kernel: memory checks, the call, the output.

This is the single place that calls ``svsim._core.run``; the job layer and the
temporary :func:`svsim.simulate` both go through :func:`run_experiment`.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svsim import _core
from svsim.circuit import Circuit
from svsim.exceptions import CircuitError, SimulatorError
from svsim.program import Program

PRECISIONS = {"double": np.complex128, "single": np.complex64}
_AMPLITUDE_BYTES = {name: np.dtype(dtype).itemsize for name, dtype in PRECISIONS.items()}

# The kernel runs its loops on several threads only when they cover at least
# this many amplitudes (2^15, 512 KiB in double): below it, handing a loop to
# another thread costs more than it saves (bench.contention: per-shot
# trajectories of 14 qubits ran 1.4x slower on 2 threads than on 1 at 2^14).
PARALLEL_THRESHOLD = 1 << 15

# Fusion pays for its own work from this many qubits on (Aer uses 14 too).
FUSION_THRESHOLD = 14
MAX_FUSED_QUBITS = 4


MEMINFO_REUSE_S = 0.01
"""A reading of /proc/meminfo younger than this is reused: a read costs
20-70 us, more than a tiny job's whole run (issue 20)."""
_meminfo_reading: tuple[float, int] = (-1.0, 0)  # (time.monotonic(), bytes)


def available_memory_bytes() -> int:
    """Physical memory that is free now (MemAvailable on Linux; a reading is
    reused for :data:`MEMINFO_REUSE_S`)."""
    global _meminfo_reading
    now = time.monotonic()
    if now - _meminfo_reading[0] < MEMINFO_REUSE_S:
        return _meminfo_reading[1]
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    _meminfo_reading = (now, available)
                    return available
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


@functools.cache
def online_cpus() -> int:
    """``os.cpu_count()``, the threads a run with ``threads=0`` (all cores)
    gets, read once per process: glibc reads it from /sys, about 10 us, a
    tenth of a tiny job's own cost (issue 20).  It counts the machine's online
    CPUs, not this process's affinity (as before), so neither a fork nor a
    changed affinity makes it stale; only taking CPUs offline would."""
    return os.cpu_count() or 1


def default_max_memory_mb() -> int:
    """The default memory limit: 80% of what is available, leaving room for Python."""
    return int(available_memory_bytes() * 0.8) >> 20


HUGE_QUBITS = 60
"""Past this many qubits no machine holds a statevector: checks refuse them
without working out the bytes (an int of 2**n, for n in the millions, would
itself take seconds and gigabytes)."""


def state_bytes(num_qubits: int, precision: str) -> int:
    """Bytes of a statevector; past HUGE_QUBITS, those of HUGE_QUBITS + 1 qubits
    (already more than any limit)."""
    return (1 << min(num_qubits, HUGE_QUBITS + 1)) * _AMPLITUDE_BYTES[precision]


def max_qubits_for(max_memory_mb: float, precision: str) -> int:
    """The most qubits whose statevector fits in ``max_memory_mb``."""
    itemsize = _AMPLITUDE_BYTES[precision]
    limit = int(max_memory_mb * (1 << 20))
    return max(0, (limit // itemsize).bit_length() - 1)


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise SimulatorError(f"precision must be 'single' or 'double', not {precision!r}")
    return precision


def statevectors_needed(circuit: Circuit) -> int:
    """How many full statevectors a run of ``circuit`` holds at once, at most:
    the state, one per statevector save that is not at the end, and none for
    the prefix copy (that one is optional and counted by the caller)."""
    if not circuit.save_labels:  # most circuits: no scan of their instructions
        return 1
    saves = [i for i in circuit.data if i.name == "save_statevector"]
    return 1 + len(saves)


def probabilities_bytes(circuit: Circuit) -> int:
    """What a run's ``save_probabilities`` hold at most: 8 bytes per outcome of
    each save and, when a measurement, reset or condition comes before a save
    (so shots may each run it, adding their share), the largest once more for
    the share being computed."""
    if not circuit.save_labels:
        return 0
    sizes = []
    per_shot = False
    random_before = False
    for instruction in circuit.data:
        if instruction.name == "save_probabilities":
            sizes.append(8 << len(instruction.qubits))
            per_shot = per_shot or random_before
        elif instruction.name in ("measure", "reset") or instruction.condition is not None:
            random_before = True
    return sum(sizes) + (max(sizes) if per_shot else 0)


def shot_bytes(num_clbits: int, shots: int) -> int:
    """What the kernel allocates for ``shots`` shots of ``num_clbits`` classical bits:
    each shot's bits in 64-bit words and, while the shots are drawn, two 8-byte
    numbers per shot (the sampled index and its uniform).  Nothing without clbits."""
    words = (num_clbits + 63) // 64
    return shots * (8 * words + 16) if words else 0


def state_data_bytes(circuit: Circuit, precision: str) -> int:
    """What a run of ``circuit`` holds of quantum data, which its result keeps:
    its statevectors (:func:`statevectors_needed`) and its saved probabilities
    (:func:`probabilities_bytes`)."""
    one = state_bytes(circuit.num_qubits, precision)
    if not circuit.save_labels:  # most circuits: one state, no saved probabilities
        return one
    return statevectors_needed(circuit) * one + probabilities_bytes(circuit)


def memory_needed(circuit: Circuit, precision: str, shots: int = 0, initial_bytes: int = 0) -> int:
    """The bytes one run of ``circuit`` needs at once: its quantum data
    (:func:`state_data_bytes`), its shots (:func:`shot_bytes`) and the
    ``initial_bytes`` of an initial statevector the run reads from."""
    return (
        state_data_bytes(circuit, precision) + shot_bytes(circuit.num_clbits, shots) + initial_bytes
    )


def check_width(circuit: Circuit, precision: str) -> None:
    """Refuse a circuit wider than HUGE_QUBITS, whose byte counts state_bytes caps:
    before a memory check formats them."""
    if circuit.num_qubits > HUGE_QUBITS:
        raise SimulatorError(
            f"circuit {circuit.name!r} has {circuit.num_qubits} qubits: its statevector would "
            f"need 2**{circuit.num_qubits} x {_AMPLITUDE_BYTES[precision]} bytes, more than "
            "any machine has; a Clifford circuit (no conditions or saves) runs at any width "
            "with method='stabilizer'"
        )


def check_memory(
    circuit: Circuit,
    precision: str,
    max_memory_mb: float,
    shots: int = 0,
    initial_bytes: int = 0,
) -> int:
    """Refuse, before anything is allocated, a circuit whose run does not fit;
    else the bytes it needs (:func:`memory_needed`).

    The message says what the bytes are for and how to make the run fit.
    """
    check_width(circuit, precision)
    if not circuit.save_labels:  # most circuits: one state, no saves to read
        needed = state_bytes(circuit.num_qubits, precision) + initial_bytes
        needed += shot_bytes(circuit.num_clbits, shots)
        if needed <= max_memory_mb * (1 << 20):
            return needed
    states = statevectors_needed(circuit)
    state_part = states * state_bytes(circuit.num_qubits, precision)
    shot_part = shot_bytes(circuit.num_clbits, shots)
    probabilities_part = probabilities_bytes(circuit)
    needed = state_part + probabilities_part + shot_part + initial_bytes
    limit = int(max_memory_mb * (1 << 20))
    if needed <= limit:
        return needed
    parts = [
        f"{state_part:,} for {states} statevector{'s' if states > 1 else ''} of "
        f"{circuit.num_qubits} qubits in {precision} precision"
    ]
    fixes = ["use fewer qubits" + (" or precision='single'" if precision == "double" else "")]
    if probabilities_part:
        parts.append(f"{probabilities_part:,} for saved probabilities")
        if probabilities_part > state_part:
            fixes.insert(0, "save the probabilities of fewer qubits")
    if shot_part:
        parts.append(f"{shot_part:,} for the classical data of {shots:,} shots")
        if shot_part > state_part:
            fixes.insert(0, "use fewer shots")
    if initial_bytes:
        parts.append(f"{initial_bytes:,} for the initial statevector")
    raise SimulatorError(
        f"circuit {circuit.name!r} needs {needed:,} bytes ({'; '.join(parts)}), but the limit "
        f"is {limit:,} bytes (max_memory_mb={max_memory_mb:g}); {', '.join(fixes)}, or raise "
        f"max_memory_mb to at least {-(-needed // (1 << 20))} if the machine has the memory"
    )


def branch_states(spare_bytes: int, num_qubits: int, precision: str) -> int:
    """The most states shot branching may hold at once: the run's own one and
    as many more as fit in ``spare_bytes``, what the memory limit leaves."""
    return 1 + max(0, spare_bytes) // state_bytes(num_qubits, precision)


def check_initial_statevector(initial: Any, num_qubits: int) -> np.ndarray:
    """``initial`` as a C-contiguous complex128 vector of ``2**num_qubits`` entries
    of norm 1, or CircuitError."""
    if num_qubits > HUGE_QUBITS:
        raise CircuitError(
            f"initial_statevector cannot be given for {num_qubits} qubits: no machine holds "
            "a statevector that wide"
        )
    try:
        given = np.asarray(initial)
        if given.dtype.kind not in "biufc":  # numpy would read strings as numbers
            raise TypeError(f"its entries are {given.dtype}")
        vector = np.ascontiguousarray(given, dtype=np.complex128)
    except (TypeError, ValueError) as exc:
        raise CircuitError(
            f"initial_statevector must be an array of complex numbers, got "
            f"{type(initial).__name__} ({exc})"
        ) from exc
    if vector.shape != (1 << num_qubits,):
        raise CircuitError(
            f"initial_statevector has shape {vector.shape}; a {num_qubits}-qubit circuit needs "
            f"({1 << num_qubits},)"
        )
    norm = float(np.vdot(vector, vector).real)
    # Single-precision entries are rounded by up to 2**-24 each, and a state a
    # single-precision run returns drifts by about that per gate.
    single = given.dtype in (np.float32, np.complex64)
    tolerance = 1e-5 if single else 1e-8
    if not np.isfinite(norm) or abs(norm - 1.0) > tolerance:
        raise CircuitError(
            f"initial_statevector has norm^2 {norm}; normalise it to 1 (within {tolerance:g})"
        )
    if single:  # our own copy, brought to norm 1 in double (later checks use 1e-8)
        vector /= np.sqrt(norm)
    return vector


@dataclass(slots=True)
class ExperimentOutput:
    """What the kernel returned for one circuit, before it becomes a Result."""

    memory: np.ndarray  # (shots, words) uint64: clbit c is bit c % 64 of word c // 64
    method: str  # "sampling", "branching" or "trajectory"
    statevector: np.ndarray  # a view of the kernel's final state, not a copy
    saves: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    shots: int = 0
    threads: int = 1
    precision: str = "double"
    time_taken: float = 0.0
    fusion: bool = True
    ops_encoded: int = 0  # operations handed to the kernel, before fusion
    ops_run: int = 0  # operations the kernel ran, after fusion
    # The kernel's census of the gates it ran, as it gave it (read through gates_run):
    # dense gates by their number of targets, diagonals, permutations.
    census: tuple[Sequence[int], int, int] | None = None
    gate_sweeps: int = 0  # sweeps over the state that applied gates (a cache-blocked run: one)
    mpi: dict[str, Any] | None = None  # an MPI run's ranks and exchanges (svsim.mpi.run)
    branches: int = 0  # shot branching: the final branches, each sampled once
    branching_fell_back: bool = False  # the branches did not fit: per-shot trajectories ran

    @classmethod
    def of_kernel(
        cls,
        raw: dict[str, Any],
        program: Program,
        seed: int,
        shots: int,
        threads: int,
        precision: str,
        time_taken: float,
        fusion: bool,
    ) -> ExperimentOutput:
        """The output of ``raw``, what ``_core.run`` returned for ``program``.

        The fields are given in order, not by name: by name they cost 7,600 more
        instructions (about 1.5 us) in CPython 3.11, whose ``type.__call__`` puts
        keyword arguments in a dict; a few percent of a tiny job (issue 20).
        """
        labels = program.save_labels
        return cls(
            raw["memory"],
            raw["method"],
            raw["state"],
            dict(zip(labels, raw["saves"], strict=True)) if labels else {},
            seed,
            shots,
            threads,
            precision,
            time_taken,
            fusion,
            program.num_ops,
            raw["ops_run"],
            (raw["dense_by_targets"], raw["diagonals"], raw["permutations"]),
            raw["gate_sweeps"],
            None,  # mpi
            raw["branches"],
            raw["branching_fell_back"],
        )

    @property
    def gates_run(self) -> dict[str, int]:
        """The gates it ran by kind: "dense_<k>" (k targets), "diagonal" and
        "permutation"; empty for a run that gave no census.  Made when read, for
        the metadata: a tiny job that is not read does not pay for it (issue 20)."""
        if self.census is None:
            return {}
        dense, diagonals, permutations = self.census
        gates = {_DENSE_KEYS[k]: int(n) for k, n in enumerate(dense) if n}
        gates["diagonal"] = int(diagonals)
        gates["permutation"] = int(permutations)
        return gates


_DENSE_KEYS = tuple(f"dense_{k}" for k in range(64))


def run_experiment(
    circuit: Circuit,
    *,
    shots: int,
    seed: int,
    precision: str = "double",
    threads: int = 0,
    max_memory_mb: float | None = None,
    control: _core.RunControl | None = None,
    initial_statevector: np.ndarray | None = None,
    fusion: bool = True,
    fusion_threshold: int = FUSION_THRESHOLD,
    max_fused_qubits: int = MAX_FUSED_QUBITS,
    shot_branching: bool = True,
) -> ExperimentOutput:
    """Run one circuit to completion in the calling thread (the GIL is released).

    A circuit with mid-circuit measurement, reset or conditions runs by shot
    branching (cpp/include/svsim/branching.h) with ``shot_branching``, else one
    trajectory per shot.  Branching keeps at most as many states at once as fit
    in what the limit leaves (:func:`branch_states`); past that it runs per-shot
    trajectories instead, and the output says so (``branching_fell_back``).
    """
    check_precision(precision)
    limit = default_max_memory_mb() if max_memory_mb is None else max_memory_mb
    initial_bytes = 0 if initial_statevector is None else int(initial_statevector.nbytes)
    needed = check_memory(circuit, precision, limit, shots, initial_bytes)
    # Per-shot trajectories may keep one more state, the state before the first
    # measurement, to restart each shot from; only when it fits in what is left.
    spare = int(limit * (1 << 20)) - needed
    max_branch_states = branch_states(spare, circuit.num_qubits, precision)
    program = circuit.encode()
    threads = threads if threads > 0 else online_cpus()
    start = time.perf_counter()
    raw = _core.run(
        program.ops,
        program.qubits,
        program.values,
        program.num_qubits,
        program.num_clbits,
        shots,
        seed,
        precision,
        threads,
        PARALLEL_THRESHOLD,
        fusion,
        fusion_threshold,
        max_fused_qubits,
        max_branch_states > 1,  # the prefix copy fits
        control if control is not None else _core.RunControl(),
        initial_statevector,
        shot_branching,
        max_branch_states,
    )
    elapsed = time.perf_counter() - start
    return ExperimentOutput.of_kernel(
        raw, program, seed, shots, threads, precision, elapsed, fusion
    )
