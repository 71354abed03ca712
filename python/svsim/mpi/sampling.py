"""Final sampling over the ranks, drawing exactly what one process draws.

The kernel's ``sample_indices`` (cpp/include/svsim/measure.h) sums |a|^2 over
blocks of ``REDUCE_BLOCK`` amplitudes, draws ``shots`` sorted uniforms from
``shots + 1`` exponentials, sweeps the state once to turn them into indices,
and shuffles the indices.  Here every rank sums its own blocks (the same
blocks, summed in the same order), the ranks share those sums (one
allgather), every rank draws the same uniforms from the same generator,
each sweeps only the uniforms that fall in its blocks (``Chunk.sweep``, the
kernel's loop), and the indices are gathered and shuffled on every rank with
the same draws.  A state whose chunks are smaller than one block is small:
its ranks share the whole state and each samples all of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from svsim import _core

if TYPE_CHECKING:
    from svsim.mpi.run import DistributedRun

__all__ = ["sample"]


def sample(run: DistributedRun, shots: int) -> np.ndarray:
    """``shots`` basis-state indices (uint64) of the whole state, on every rank;
    the state must be in its natural order (``DistributedRun.restore``)."""
    from svsim.mpi.run import REDUCE_BLOCK

    comm, chunk, rank, size = run.comm, run.chunk, run.rank, run.size
    chunk_size = run.data.size
    first = rank * chunk_size
    if chunk_size < REDUCE_BLOCK and size > 1:
        # Blocks span ranks: share the (small) state and sample it whole here.
        run.sync()
        whole = np.empty(chunk_size * size, run.dtype)
        run.mpi(comm.Allgather, run.data, whole)
        chunk = _core.Chunk(
            run.num_qubits, run.precision, run.threads, run.parallel_threshold, True
        )
        chunk.array()[:] = whole
        chunk_size, first, size, rank = whole.size, 0, 1, 0
    block = min(chunk_size * size, REDUCE_BLOCK)
    sums = run.guarded(chunk.block_sums, block)
    all_sums = _gathered(run, sums, size)
    before = np.concatenate(([0.0], np.cumsum(all_sums)))
    total = float(before[-1])
    if not total > 0.0:
        raise ValueError("cannot sample from a state of norm zero")
    targets, divisor = run.rng.sorted_exponentials(shots)
    u = targets * (total / divisor)
    blocks_per_rank = chunk_size // block
    b = np.searchsorted(before[:-1], u, side="right") - 1
    owner = np.maximum(b, 0) // blocks_per_rank
    bounds = np.searchsorted(owner, np.arange(size + 1), side="left")
    k0, k1 = int(bounds[rank]), int(bounds[rank + 1])
    local = np.zeros(0, dtype=np.int64)
    if k1 > k0:
        local = run.guarded(chunk.sweep, before, block, rank * blocks_per_rank, u[k0:k1])
    if local is not None:
        # -1 - i: amplitude i had no weight and none before it in this chunk;
        # one process would look further back, then forward: keep the forward
        # answer in this chunk, or -1 - (whole + rank) where there is none.
        whole = chunk_size * size
        mine = np.where(local >= 0, local + first, local)
        for k in np.flatnonzero(local < 0):
            forward = chunk.first_with_weight(-int(local[k]))
            mine[k] = -1 - (first + forward if forward >= 0 else whole + rank)
    samples = _gathered(run, mine, size)
    if (samples < 0).any():
        samples = _resolve_without_weight(run, samples, chunk, chunk_size, first, size)
    out = np.ascontiguousarray(samples, dtype=np.uint64)
    run.rng.shuffle(out)
    return out


def _gathered(run: DistributedRun, part: np.ndarray, size: int) -> np.ndarray:
    """Every rank's ``part``, in rank order, on every rank (the step's sync)."""
    if size == 1:
        run.sync()
        return part
    return np.concatenate(run.sync(part))


def _resolve_without_weight(
    run: DistributedRun,
    samples: np.ndarray,
    chunk: _core.Chunk,
    chunk_size: int,
    first: int,
    size: int,
) -> np.ndarray:
    """Samples that ended on an amplitude of weight zero with no weight before it
    in their chunk: the last index with weight in an earlier chunk, or else the
    first one after it (in its chunk, or a later one)."""
    last = chunk.last_with_weight(chunk_size - 1)
    head = chunk.first_with_weight(0)
    edges = run.sync((first + last if last >= 0 else -1, first + head if head >= 0 else -1))
    if size == 1:
        edges = [(first + last if last >= 0 else -1, first + head if head >= 0 else -1)]
    whole = chunk_size * size
    out: np.ndarray = samples.copy()
    for k in np.flatnonzero(samples < 0):
        code = -1 - int(samples[k])
        owner = code // chunk_size if code < whole else code - whole
        earlier = [e[0] for e in edges[:owner] if e[0] >= 0]
        later = [e[1] for e in edges[owner + 1 :] if e[1] >= 0]
        if earlier:
            out[k] = earlier[-1]
        elif code < whole:
            out[k] = code
        else:
            out[k] = later[0] if later else 0
    return out
