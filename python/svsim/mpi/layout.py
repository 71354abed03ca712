"""Where each qubit of a distributed state lives, and how a gate reaches it.

A state of ``n`` qubits over ``2**k`` ranks keeps ``L = n - k`` qubits *local*
(positions ``0 .. L-1``: bits of the index into a rank's chunk) and ``k``
*global* (positions ``L .. n-1``: bits of the rank).  :class:`Layout` maps
logical qubits to positions and physical ranks to the values of the global
positions they hold; both change during a run:

- an unconditional SWAP, and a global/local exchange, move qubits between
  positions (lazy relabelling: nothing is swapped back);
- an X (controls global or none) or a controlled SWAP on global qubits
  permutes which rank holds which global value, without moving data.

:func:`route` turns one gate into what a rank runs on its chunk: the gate with
its qubits as local positions, its global controls resolved (the gate does not
act on a rank where one is 0) and its diagonal entries for the rank's global
bits picked out.  :class:`LookAhead` chooses which local qubit to give up when
a gate needs a global qubit local: the one needed again the latest.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from svsim import _ops

__all__ = ["DecodedOp", "Layout", "LocalOp", "LookAhead", "decode", "encode", "route"]


@dataclass(frozen=True)
class DecodedOp:
    """One row of the encoded op list (see :mod:`svsim._ops`)."""

    kind: int
    targets: tuple[int, ...]
    controls: tuple[int, ...]
    cond_clbits: tuple[int, ...]
    cond_value: int
    slot: int
    values: np.ndarray

    @property
    def is_gate(self) -> bool:
        return self.kind <= _ops.SWAP

    def needs_local(self) -> tuple[int, ...]:
        """The qubits this op may need local (a planning estimate for :class:`LookAhead`)."""
        if self.kind == _ops.DENSE:
            return self.targets
        if self.kind in (_ops.FLIP, _ops.SWAP) and self.controls:
            return self.targets
        if self.kind == _ops.SAVE_EXPECTATION:
            return tuple(
                q for q, c in zip(self.targets, self.values.real, strict=True) if c in (1, 2)
            )
        return ()


def _values_needed(kind: int, k: int) -> int:
    if kind == _ops.DENSE:
        return 1 << (2 * k)
    if kind == _ops.DIAGONAL:
        return 1 << k
    if kind == _ops.SAVE_EXPECTATION:
        return k
    return 0


def decode(ops: np.ndarray, qubits: np.ndarray, values: np.ndarray) -> list[DecodedOp]:
    """The encoded op list as :class:`DecodedOp` records."""
    out = []
    for row in ops.tolist():
        kind, nt, nc, qo, vo, slot, nb, cv = row[: _ops.OP_FIELDS]
        q = qubits[qo : qo + nt + nc + nb].tolist()
        out.append(
            DecodedOp(
                kind=kind,
                targets=tuple(q[:nt]),
                controls=tuple(q[nt : nt + nc]),
                cond_clbits=tuple(q[nt + nc :]),
                cond_value=cv,
                slot=slot,
                values=values[vo : vo + _values_needed(kind, nt)],
            )
        )
    return out


class Layout:
    """Logical qubits to positions, physical ranks to global values."""

    def __init__(self, num_qubits: int, ranks: int) -> None:
        self.num_qubits = num_qubits
        self.global_qubits = ranks.bit_length() - 1
        self.local_qubits = num_qubits - self.global_qubits
        self.position = list(range(num_qubits))  # qubit -> position
        self.qubit_at = list(range(num_qubits))  # position -> qubit
        self.rank_value = list(range(ranks))  # physical rank -> value of the global positions

    def copy(self) -> Layout:
        new = Layout.__new__(Layout)
        new.__dict__ = {
            k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
        }
        return new

    def is_local(self, qubit: int) -> bool:
        return self.position[qubit] < self.local_qubits

    def bit(self, qubit: int, rank: int) -> int:
        """The value of global ``qubit`` on physical ``rank``."""
        return self.rank_value[rank] >> (self.position[qubit] - self.local_qubits) & 1

    def rank_holding(self, value: int) -> int:
        return self.rank_value.index(value)

    def swap_qubits(self, a: int, b: int) -> None:
        """Qubits ``a`` and ``b`` trade positions (the data is not moved)."""
        pa, pb = self.position[a], self.position[b]
        self.position[a], self.position[b] = pb, pa
        self.qubit_at[pa], self.qubit_at[pb] = b, a

    def permute_global(self, pa: int, pb: int) -> None:
        """Global positions ``pa`` and ``pb`` (absolute) trade their qubits, and
        every rank's value its bits, so that the data means the same."""
        ja, jb = pa - self.local_qubits, pb - self.local_qubits
        for r, v in enumerate(self.rank_value):
            if (v >> ja & 1) != (v >> jb & 1):
                self.rank_value[r] = v ^ (1 << ja) ^ (1 << jb)
        qa, qb = self.qubit_at[pa], self.qubit_at[pb]
        self.swap_qubits(qa, qb)

    def relabel(
        self, flip: tuple[int, ...], swap: tuple[int, ...], controls: tuple[int, ...]
    ) -> None:
        """On the ranks where the global ``controls`` are 1, flip the global
        qubit ``flip`` (one or none) or swap the global qubits ``swap`` (two or none)."""
        L = self.local_qubits
        for r, v in enumerate(self.rank_value):
            if not all(v >> (self.position[c] - L) & 1 for c in controls):
                continue
            if flip:
                v ^= 1 << (self.position[flip[0]] - L)
            if swap:
                ja, jb = (self.position[q] - L for q in swap)
                if (v >> ja & 1) != (v >> jb & 1):
                    v ^= (1 << ja) | (1 << jb)
            self.rank_value[r] = v

    def is_identity(self) -> bool:
        return self.position == list(range(self.num_qubits)) and self.rank_value == list(
            range(len(self.rank_value))
        )


@dataclass(frozen=True)
class LocalOp:
    """A gate as a rank runs it on its chunk: positions instead of qubits."""

    kind: int
    targets: tuple[int, ...]
    controls: tuple[int, ...]
    values: np.ndarray


def route(op: DecodedOp, layout: Layout, rank: int) -> LocalOp | None:
    """``op`` (all its targets local, except a diagonal's) on ``rank``'s chunk,
    or None where it does not act there (a global control is 0)."""
    local_controls = []
    for c in op.controls:
        if layout.is_local(c):
            local_controls.append(layout.position[c])
        elif not layout.bit(c, rank):
            return None
    values = op.values
    targets = []
    if op.kind == _ops.DIAGONAL:
        keep = np.arange(len(values))
        for j, t in enumerate(op.targets):
            if layout.is_local(t):
                targets.append(layout.position[t])
            else:
                keep = keep[(keep >> j & 1) == layout.bit(t, rank)]
        values = values[keep]
    else:
        for t in op.targets:
            if not layout.is_local(t):
                raise AssertionError(f"qubit {t} is global; exchange it first")
            targets.append(layout.position[t])
    return LocalOp(op.kind, tuple(targets), tuple(local_controls), values)


class LookAhead:
    """For each qubit, the ops that need it local (:meth:`DecodedOp.needs_local`)."""

    def __init__(self, ops: list[DecodedOp], num_qubits: int) -> None:
        self._uses: list[list[int]] = [[] for _ in range(num_qubits)]
        for i, op in enumerate(ops):
            for q in op.needs_local():
                self._uses[q].append(i)

    def next_use(self, qubit: int, after: int) -> float:
        uses = self._uses[qubit]
        j = bisect.bisect_right(uses, after)
        return uses[j] if j < len(uses) else float("inf")

    def victim(
        self,
        layout: Layout,
        after: int,
        keep: set[int],
        spare: set[int],
        sooner: dict[int, int] | None = None,
    ) -> int:
        """The local qubit to make global when the ops up to ``after`` have been
        planned: not in ``keep``, if possible not in ``spare`` either (a gate's
        controls may be global), and needed local again the latest (ties: the
        highest position).  ``sooner`` maps qubits to the first of the ops at
        or before ``after`` that have not run yet and need them local."""
        sooner = sooner or {}

        def next_use(q: int) -> float:
            return min(sooner.get(q, float("inf")), self.next_use(q, after))

        best = self._latest(layout, keep | spare, next_use)
        return best if best >= 0 else self._latest(layout, keep, next_use)

    @staticmethod
    def _latest(layout: Layout, keep: set[int], next_use: Callable[[int], float]) -> int:
        best, best_key = -1, (-1.0, -1)
        for p in range(layout.local_qubits):
            q = layout.qubit_at[p]
            if q in keep:
                continue
            key = (next_use(q), p)
            if key > best_key:
                best, best_key = q, key
        return best


def encode(ops: list[LocalOp]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ops`` as the kernel's three arrays (see :mod:`svsim._ops`)."""
    rows = np.zeros((len(ops), _ops.OP_FIELDS), dtype=np.int64)
    qubits: list[int] = []
    values: list[np.ndarray] = []
    offset = 0
    for i, op in enumerate(ops):
        rows[i, _ops.KIND] = op.kind
        rows[i, _ops.NUM_TARGETS] = len(op.targets)
        rows[i, _ops.NUM_CONTROLS] = len(op.controls)
        rows[i, _ops.QUBIT_OFFSET] = len(qubits)
        rows[i, _ops.VALUE_OFFSET] = offset
        qubits.extend(op.targets)
        qubits.extend(op.controls)
        values.append(op.values)
        offset += len(op.values)
    flat = np.concatenate(values) if values else np.zeros(0)
    return rows, np.asarray(qubits, dtype=np.int32), np.ascontiguousarray(flat, np.complex128)
