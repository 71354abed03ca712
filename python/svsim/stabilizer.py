"""Clifford circuits on Stim's stabilizer sampler instead of a statevector.

A tableau of n qubits costs about n**2 / 2 bytes where a statevector costs
16 * 2**n, so Clifford circuits of thousands of qubits become cheap.  Stim is
an optional extra, imported inside the functions that need it (the core keeps
importing with numpy alone); its samples are packed into the kernel's
(shots, words) uint64 layout so that results need no second code path.
"""

from __future__ import annotations

import functools
import math
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from svsim import _core
from svsim.circuit import Circuit
from svsim.engine import ExperimentOutput
from svsim.exceptions import MissingExtraError, SimulatorError
from svsim.gates import GATES, gate_matrix

if TYPE_CHECKING:
    import stim

__all__ = [
    "CLIFFORD_DESCRIPTION",
    "CLIFFORD_GATES",
    "clifford_stim_text",
    "is_clifford_matrix",
    "check_memory",
    "is_clifford",
    "run_stabilizer",
    "stabilizer_memory_bytes",
    "to_stim",
    "why_not_clifford",
]

# svsim gate -> its Stim text, {0} and {1} the instruction's qubits in order.
# Each entry was checked against svsim's own matrix with
# stim.Tableau.from_unitary_matrix (tests/test_stabilizer.py repeats it): Stim's
# H, S, S_DAG, SQRT_X(_DAG), CX, CY, CZ, SWAP and ISWAP are Qiskit's gates of
# the same meaning, argument order included.  Stim has no ECR: Qiskit's
# ECR = (X_0 - X_1 Y_0) / sqrt2 = X_0 exp(-i pi/4 Z_0 X_1); conjugating by H_0
# turns Z_0 X_1 into X_0 X_1 (Stim's SQRT_XX), and X_0 H_0 = SQRT_Y_0 exactly.
_STIM_TEXT: dict[str, str] = {
    "id": "",
    "x": "X {0}",
    "y": "Y {0}",
    "z": "Z {0}",
    "h": "H {0}",
    "s": "S {0}",
    "sdg": "S_DAG {0}",
    "sx": "SQRT_X {0}",
    "sxdg": "SQRT_X_DAG {0}",
    "cx": "CX {0} {1}",
    "cy": "CY {0} {1}",
    "cz": "CZ {0} {1}",
    "swap": "SWAP {0} {1}",
    "iswap": "ISWAP {0} {1}",
    "ecr": "H {0}\nSQRT_XX {0} {1}\nSQRT_Y {0}",
}

CLIFFORD_GATES: frozenset[str] = frozenset(_STIM_TEXT) | {"measure", "reset", "barrier"}
"""Instruction names the stabilizer path runs whatever their qubits (gates up to
global phase); other gates and ``unitary`` on one or two qubits run when their
matrix is a Clifford one (:func:`clifford_stim_text`)."""

CLIFFORD_DESCRIPTION = (
    f"the gates {' '.join(sorted(_STIM_TEXT))}, any other gate or unitary on one or two "
    "qubits whose matrix is a Clifford one (rz, p, u, ... at multiples of pi/2; cp, crz, ... "
    "at multiples of pi), "
    "measure, reset and barrier, none with a condition"
)

# A matrix counts as Clifford when it maps each Pauli generator to within this
# distance of a Pauli string (transpiled angles of k pi/2 are off by about 1e-16).
_CLIFFORD_ATOL = 1e-9
_PAULIS_1Q = (
    np.eye(2, dtype=complex),
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]]),
    np.diag([1.0 + 0j, -1.0]),
)


def _pauli_strings(num_qubits: int) -> list[np.ndarray]:
    strings = [np.eye(1, dtype=complex)]
    for _ in range(num_qubits):
        strings = [np.kron(p, s) for p in _PAULIS_1Q for s in strings]
    return strings


def is_clifford_matrix(matrix: np.ndarray) -> bool:
    """Whether ``matrix`` (of one or two qubits) is unitary and maps every Pauli
    generator X_j, Z_j to a Pauli string times a phase: a Clifford gate."""
    dim = matrix.shape[0]
    if not np.allclose(matrix @ matrix.conj().T, np.eye(dim), rtol=0, atol=_CLIFFORD_ATOL):
        return False  # NaN included
    num_qubits = dim.bit_length() - 1
    strings = _pauli_strings(num_qubits)
    for j in range(num_qubits):
        for generator in (_PAULIS_1Q[1], _PAULIS_1Q[3]):
            full = np.kron(np.kron(np.eye(dim >> (j + 1)), generator), np.eye(1 << j))
            image = matrix @ full @ matrix.conj().T
            # The Pauli strings are orthogonal: the image's component along the
            # nearest one, and what is left of it (norms scaled to 1 for a Pauli).
            nearest = max(strings, key=lambda p: abs(np.vdot(p, image)))
            left = image - np.vdot(nearest, image) / dim * nearest
            if not np.linalg.norm(left) / math.sqrt(dim) <= _CLIFFORD_ATOL:
                return False
    return True


_GateKey = tuple[str, tuple[Any, ...], int, bytes]
"""A gate or ``unitary`` on 1 or 2 qubits: name, parameters, number of qubits and
(``unitary`` only) the matrix's bytes."""


def _gate_key(instr: Any) -> _GateKey | None:
    """The key of an unconditioned gate or ``unitary`` on one or two qubits, else None."""
    if instr.condition is not None or not 1 <= len(instr.qubits) <= 2:
        return None
    if instr.name == "unitary":
        matrix = np.ascontiguousarray(instr.matrix, dtype=complex)
        return (instr.name, (), len(instr.qubits), matrix.tobytes())
    if instr.name not in GATES:
        return None
    return (instr.name, tuple(instr.params), len(instr.qubits), b"")


def _key_matrix(key: _GateKey) -> np.ndarray:
    name, params, num_qubits, matrix_bytes = key
    if name == "unitary":
        return np.frombuffer(matrix_bytes, dtype=complex).reshape(1 << num_qubits, -1)
    controls = num_qubits - 1 if GATES[name].num_controls is None else None
    return gate_matrix(name, params, controls)


@functools.lru_cache(maxsize=4096)
def _is_clifford_gate(key: _GateKey) -> bool:
    return is_clifford_matrix(_key_matrix(key))


@functools.lru_cache(maxsize=4096)
def _clifford_gate_text(key: _GateKey) -> str:
    tableau = _import_stim().Tableau.from_unitary_matrix(_key_matrix(key), endian="little")
    lines = []
    for op in tableau.to_circuit():
        targets = " ".join(f"{{{t.value}}}" for t in op.targets_copy())
        lines.append(f"{op.name} {targets}")
    return "\n".join(lines)


def clifford_stim_text(instr: Any) -> str | None:
    """Stim's text (qubits as ``{0}``, ``{1}``) of a gate or ``unitary`` on one or
    two qubits whose matrix is a Clifford one (up to global phase), else None.
    Stim lets some matrices that are not Clifford through (``rz(0.3)`` became
    ``H 0 0``), so the check is ours (:func:`is_clifford_matrix`); the text
    needs Stim."""
    key = _gate_key(instr)
    if key is None or not _is_clifford_gate(key):
        return None
    return _clifford_gate_text(key)


def _is_clifford_instruction(instr: Any) -> bool:
    """Whether a gate outside CLIFFORD_GATES runs on the stabilizer path (no Stim needed)."""
    key = _gate_key(instr)
    return key is not None and _is_clifford_gate(key)


# Chunks keep memory bounded and, since Stim holds the GIL while it samples,
# bound how long other Python threads (status(), cancel()) wait.  They depend
# only on the circuit, never on the machine, so a seed gives the same samples
# wherever the same Stim build runs.
_CHUNK_MAX_SHOTS = 1 << 16
_CHUNK_BYTES = 64 << 20
_CHUNK_WORK = 1 << 26  # instruction x shot products per chunk (about 0.2 s of Stim)
_SHOT_ALIGN = 256  # Stim's frame simulator rounds shots up to whole 256-bit words
_STIM_PAD = 256  # ... and qubit and measurement counts likewise


def why_not_clifford(circuit: Circuit) -> str | None:
    """Why the stabilizer path cannot run ``circuit`` (its first obstacle, for
    an error message), or None when it can."""
    for index, instr in enumerate(circuit.data):
        if instr.condition is not None:
            return f"instruction {index} ({instr.name!r}) has a classical condition"
        if instr.name not in CLIFFORD_GATES and not _is_clifford_instruction(instr):
            return f"instruction {index} ({instr.name!r}) is not a Clifford instruction"
    return None


def is_clifford(circuit: Circuit) -> bool:
    """True when Stim can run ``circuit``: Clifford gates (those of
    CLIFFORD_GATES, and gates or ``unitary`` on one or two qubits whose matrix
    is a Clifford one within 1e-9), measure, reset and barrier only, none
    conditioned; no saves.  The global phase is unobservable in samples, so it
    does not matter."""
    return why_not_clifford(circuit) is None


def available() -> bool:
    """Whether Stim can be imported (the ``stabilizer`` extra is installed)."""
    try:
        _import_stim()
    except MissingExtraError:
        return False
    return True


def _import_stim() -> Any:
    try:
        import stim
    except ImportError as exc:
        raise MissingExtraError(
            'the stabilizer (Clifford) method needs Stim: pip install "svsim[stabilizer]"'
        ) from exc
    return stim


def _translate(circuit: Circuit) -> tuple[str, int, np.ndarray]:
    """The Stim program, its number of measurements, and for each clbit the
    measurement it holds last (-1: never measured)."""
    reason = why_not_clifford(circuit)
    if reason is not None:
        raise SimulatorError(
            f"circuit {circuit.name!r} cannot run with the stabilizer method: {reason}"
        )
    lines: list[str] = []
    sources = np.full(circuit.num_clbits, -1, dtype=np.int64)
    measurements = 0
    for instr in circuit.data:
        if instr.name == "measure":
            lines.append(f"M {instr.qubits[0]}")
            sources[instr.clbits[0]] = measurements  # the last write wins
            measurements += 1
        elif instr.name == "reset":
            lines.append(f"R {instr.qubits[0]}")
        elif instr.name in _STIM_TEXT:
            if instr.name != "id":
                lines.append(_STIM_TEXT[instr.name].format(*instr.qubits))
        elif instr.name != "barrier":
            text = clifford_stim_text(instr)
            assert text is not None  # why_not_clifford let it through
            if text:
                lines.append(text.format(*instr.qubits))
    return "\n".join(lines), measurements, sources


def to_stim(circuit: Circuit) -> stim.Circuit:
    """The Stim circuit that :func:`run_stabilizer` samples (measurements in
    order, one record each; barriers and ``id`` dropped)."""
    stim_module = _import_stim()
    return stim_module.Circuit(_translate(circuit)[0])


@dataclass(frozen=True)
class _PackPlan:
    """How to move Stim's bit-packed records into clbit words, a byte at a time
    where eight clbits come from eight consecutive measurements (the common
    case: ``measure_all``) and a bit at a time elsewhere."""

    fast_cols: np.ndarray  # output byte indices
    fast_lo: np.ndarray  # sample byte holding the output byte's first bit
    fast_hi: np.ndarray  # the next sample byte (clipped to the last one)
    fast_shift: np.ndarray  # uint16 bit offset of the first bit in fast_lo
    fast_run: tuple[int, int, int] | None  # (out, sample, count): one contiguous, unshifted run
    tail_col: int  # the byte of the last clbit
    tail_mask: int  # its clbits' bits, when a fast copy brought others in too
    slow: tuple[tuple[int, np.ndarray, np.ndarray, np.ndarray], ...]  # (bit, cols, byte, shift)


def _pack_plan(sources: np.ndarray, num_measurements: int) -> _PackPlan:
    num_clbits = int(sources.size)
    nbytes = -(-num_clbits // 8)
    in_bytes = max(1, -(-num_measurements // 8))
    padded = np.full(nbytes * 8, -1, dtype=np.int64)
    padded[:num_clbits] = sources
    table = padded.reshape(nbytes, 8)
    valid = (np.arange(nbytes * 8) < num_clbits).reshape(nbytes, 8)
    first = table[:, 0]
    consecutive = (table == first[:, None] + np.arange(8)) | ~valid
    fast = (first >= 0) & consecutive.all(axis=1)
    cols = np.flatnonzero(fast)
    lo = first[cols] >> 3
    shift = (first[cols] & 7).astype(np.uint16)
    run = None  # a plain slice copy is ~50x faster than the fancy indexing below
    if cols.size and not shift.any() and (np.diff(cols) == 1).all() and (np.diff(lo) == 1).all():
        run = (int(cols[0]), int(lo[0]), int(cols.size))
    tail_bits = num_clbits % 8
    tail_mask = (1 << tail_bits) - 1 if tail_bits and nbytes and fast[-1] else 0xFF
    slow_k, slow_b = np.nonzero(~fast[:, None] & valid & (table >= 0))
    slow = []
    for bit in range(8):
        pick = slow_b == bit
        if pick.any():
            src = table[slow_k[pick], bit]
            slow.append((bit, slow_k[pick], src >> 3, (src & 7).astype(np.uint8)))
    return _PackPlan(
        fast_cols=cols,
        fast_lo=lo,
        fast_hi=np.minimum(lo + 1, in_bytes - 1),
        fast_shift=shift,
        fast_run=run,
        tail_col=nbytes - 1,
        tail_mask=tail_mask,
        slow=tuple(slow),
    )


def _pack(samples: np.ndarray, plan: _PackPlan, out: np.ndarray) -> None:
    """OR Stim's ``samples`` (shots, ceil(m/8)) uint8 into ``out``, the zeroed
    uint8 view of the memory words, whose byte b holds clbits 8b..8b+7."""
    if plan.fast_run is not None:
        out_start, start, count = plan.fast_run
        out[:, out_start : out_start + count] = samples[:, start : start + count]
    elif plan.fast_shift.any():
        word = samples[:, plan.fast_hi].astype(np.uint16)
        word <<= 8
        word |= samples[:, plan.fast_lo]
        word >>= plan.fast_shift
        out[:, plan.fast_cols] = word.astype(np.uint8)  # keeps the low byte
    elif plan.fast_cols.size:
        out[:, plan.fast_cols] = samples[:, plan.fast_lo]
    if plan.tail_mask != 0xFF:
        out[:, plan.tail_col] &= plan.tail_mask
    for bit, cols, src, shift in plan.slow:
        bits = samples[:, src]
        bits >>= shift
        bits &= 1
        if bit:
            bits <<= bit
        out[:, cols] |= bits


def _padded(count: int) -> int:
    return -(-count // _STIM_PAD) * _STIM_PAD


def _per_shot_bytes(num_qubits: int, num_measurements: int, num_clbits: int) -> int:
    """Bytes one shot of a chunk needs while it is sampled and packed: Stim's
    X and Z frames, its measurement record, the record transposed and handed
    to numpy, and our packing temporaries (at most five bytes per output byte)."""
    frames = 2 * _padded(num_qubits) // 8
    records = 3 * (_padded(num_measurements) // 8)
    packing = 5 * (-(-num_clbits // 64) * 8)
    return frames + records + packing + 16


def _chunk_shots(circuit: Circuit, num_measurements: int) -> int:
    per_shot = _per_shot_bytes(circuit.num_qubits, num_measurements, circuit.num_clbits)
    work = _CHUNK_WORK // max(1, len(circuit.data))
    chunk = min(_CHUNK_MAX_SHOTS, _CHUNK_BYTES // per_shot, work)
    return max(_SHOT_ALIGN, chunk // _SHOT_ALIGN * _SHOT_ALIGN)


def stabilizer_memory_bytes(circuit: Circuit, shots: int) -> int:
    """An upper bound of what :func:`run_stabilizer` allocates at once, for the
    caller's memory-limit check: the result words, Stim's tableau (the
    reference sample runs an inverse tableau of 4 n^2 bits, counted twice for
    the temporaries of collapsing measurements), the circuit's text and Stim's
    copies of it, and one chunk of samples with everything that chunk needs."""
    num_measurements = sum(1 for instr in circuit.data if instr.name == "measure")
    words = -(-circuit.num_clbits // 64)
    result = shots * words * 8
    if not words or not num_measurements:
        return result
    tableau = 2 * (4 * _padded(circuit.num_qubits) ** 2 // 8)
    # Measured: about 80 bytes per Stim operation for the text being built, 35
    # for the stim.Circuit and 100 for the compiled sampler's copy.
    stim_ops = len(circuit.data) + 2 * sum(1 for instr in circuit.data if instr.name == "ecr")
    program = 400 * stim_ops + 2 * (_padded(num_measurements) // 8)
    chunk = min(shots, _chunk_shots(circuit, num_measurements))
    per_shot = _per_shot_bytes(circuit.num_qubits, num_measurements, circuit.num_clbits)
    return result + tableau + program + -(-chunk // _SHOT_ALIGN) * _SHOT_ALIGN * per_shot


def check_memory(circuit: Circuit, shots: int, max_memory_mb: float) -> None:
    """Refuse, before anything is allocated, a run whose
    :func:`stabilizer_memory_bytes` exceeds ``max_memory_mb``."""
    needed = stabilizer_memory_bytes(circuit, shots)
    limit = int(max_memory_mb * (1 << 20))
    if needed <= limit:
        return
    data = shots * -(-circuit.num_clbits // 64) * 8
    raise SimulatorError(
        f"circuit {circuit.name!r} needs {needed:,} bytes with the stabilizer method "
        f"({data:,} for the classical data of {shots:,} shots, {needed - data:,} for the "
        f"tableau of {circuit.num_qubits} qubits and the sampling), but the limit is "
        f"{limit:,} bytes (max_memory_mb={max_memory_mb:g}); use fewer shots or qubits, or "
        f"raise max_memory_mb to at least {-(-needed // (1 << 20))} if the machine has the memory"
    )


def _check_cancel(control: _core.RunControl | None) -> None:
    if control is not None and control.cancel_requested:
        raise _core.Cancelled("the run was cancelled")


def run_stabilizer(
    circuit: Circuit,
    *,
    shots: int,
    seed: int,
    control: _core.RunControl | None = None,
) -> ExperimentOutput:
    """Sample ``shots`` shots of a Clifford circuit with Stim.

    The memory is packed like the kernel's: clbit c is bit c % 64 of word
    c // 64, a clbit measured several times holds its last outcome, one never
    measured stays 0.  The same seed gives the same samples with the same Stim
    version on machines with the same SIMD width (Stim's own promise).
    ``control`` is checked before each chunk; Stim's calls themselves cannot be
    interrupted.  There is no progress to report: RunControl's counters are
    not writable from Python.

    Raises:
        SimulatorError: the circuit is not Clifford (see :func:`is_clifford`) or
            the seed is outside [0, 2**64).
        MissingExtraError: Stim is not installed.
        svsim._core.Cancelled: ``control`` was cancelled.
    """
    stim_module = _import_stim()
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 0:
        raise SimulatorError(f"shots must be an int >= 0, got {shots!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise SimulatorError(f"seed must be an int in [0, 2**64), got {seed!r}")
    shots, seed = int(shots), int(seed)
    start = time.perf_counter()
    _check_cancel(control)
    text, num_measurements, sources = _translate(circuit)
    words = math.ceil(circuit.num_clbits / 64)
    memory = np.zeros((shots, words), dtype=np.uint64)
    if shots and words and num_measurements:
        plan = _pack_plan(sources, num_measurements)
        chunk = _chunk_shots(circuit, num_measurements)
        stim_circuit = stim_module.Circuit(text)
        del text
        _check_cancel(control)
        sampler = stim_circuit.compile_sampler(seed=seed)
        out = memory.view(np.uint8)
        for first in range(0, shots, chunk):
            _check_cancel(control)
            count = min(chunk, shots - first)
            samples = sampler.sample(count, bit_packed=True)
            _pack(samples, plan, out[first : first + count])
            del samples
        if sys.byteorder == "big":  # the bytes were written little-endian
            memory.byteswap(inplace=True)
    return ExperimentOutput(
        memory=memory,
        method="stabilizer",
        statevector=None,  # type: ignore[arg-type]  # a tableau run has no statevector
        saves={},
        seed=seed,
        shots=shots,
        threads=1,
        time_taken=time.perf_counter() - start,
        fusion=False,
        ops_encoded=len(circuit.data),
        ops_run=len(circuit.data),
    )
