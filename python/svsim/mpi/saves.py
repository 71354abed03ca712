"""What the save instructions read from a distributed state: the whole
statevector (gathered on rank 0), marginal probabilities and Pauli
expectation values, each summed over the ranks in rank order so that every
rank holds the same number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from svsim import _ops

if TYPE_CHECKING:
    from svsim.mpi.layout import DecodedOp
    from svsim.mpi.run import DistributedRun

__all__ = ["expectation", "gather", "probabilities", "save"]


def save(run: DistributedRun, index: int, op: DecodedOp, saves: list[Any], weight: float) -> None:
    """Save op ``index`` into ``saves[op.slot]``, added with ``weight`` (a
    trajectory's share of the shots) to what earlier shots saved there."""
    slot = op.slot
    if op.kind == _ops.SAVE_STATEVECTOR:
        run.flush()
        saves[slot] = gather(run)
    elif op.kind == _ops.SAVE_PROBABILITIES:
        p = probabilities(run, op.targets)
        if saves[slot] is None:
            saves[slot] = p * weight if weight != 1.0 else p
        else:
            saves[slot] += weight * p
    else:
        codes = [int(c) for c in op.values.real]
        value = expectation(run, index, op.targets, codes)
        saves[slot] = (saves[slot] or 0.0) + weight * value


def gather(run: DistributedRun) -> np.ndarray | None:
    """The whole state, in order, on rank 0 (None elsewhere)."""
    run.restore()
    run.sync()
    size = run.data.size
    if run.rank != 0:
        for first in range(0, size, run.piece):
            part = run.data[first : first + run.piece]
            run.mpi(run.comm.Send, part, dest=0, tag=9)
            run.stats.bytes_sent += part.nbytes
        return None
    full = np.empty(size * run.size, run.dtype)
    full[:size] = run.data
    for r in range(1, run.size):
        for first in range(0, size, run.piece):
            end = min(first + run.piece, size)
            run.mpi(run.comm.Recv, full[r * size + first : r * size + end], source=r, tag=9)
    return full


def probabilities(run: DistributedRun, qubits: tuple[int, ...]) -> np.ndarray:
    """Marginal probabilities of ``qubits`` (entry m: bit j is qubits[j])."""
    run.flush()
    layout = run.layout
    local = [j for j, q in enumerate(qubits) if layout.is_local(q)]

    def part() -> np.ndarray:
        p = run.chunk.probabilities([layout.position[qubits[j]] for j in local])
        index = np.zeros(p.size, dtype=np.int64)
        m = np.arange(p.size, dtype=np.int64)
        for i, j in enumerate(local):
            index |= (m >> i & 1) << j
        for j, q in enumerate(qubits):
            if not layout.is_local(q):
                index |= layout.bit(q, run.rank) << j
        full = np.zeros(1 << len(qubits))
        full[index] = p
        return full

    full = run.guarded(part)
    run.sync()
    total = np.zeros(1 << len(qubits)) if run.rank == 0 else None
    run.mpi(run.comm.Reduce, full, total, root=0)
    if run.rank != 0:
        total = np.empty(1 << len(qubits))
    run.mpi(run.comm.Bcast, total, root=0)
    assert total is not None  # every rank has it after the broadcast
    return total


def expectation(
    run: DistributedRun, index: int, qubits: tuple[int, ...], codes: list[int]
) -> float:
    flips = [q for q, c in zip(qubits, codes, strict=True) if c in (1, 2)]
    run.make_local(index, flips, set(flips), set(qubits))
    run.flush()
    layout = run.layout

    def part() -> float:
        sign = 1.0
        positions, local_codes = [], []
        for q, c in zip(qubits, codes, strict=True):
            if layout.is_local(q):
                positions.append(layout.position[q])
                local_codes.append(c)
            elif c == 3 and layout.bit(q, run.rank):
                sign = -sign
        return sign * run.chunk.expectation(positions, local_codes)

    value = run.guarded(part)
    return float(sum(run.sync(value)))
