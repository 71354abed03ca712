"""One circuit over the ranks of an MPI communicator: :func:`run_distributed`.

Every rank calls it with the same encoded circuit (see :mod:`svsim._ops`) and
gets the same answer as :func:`svsim._core.run` in one process: a dict with
``method``, ``ops_run``, ``memory``, ``state`` and ``saves``, plus ``mpi``
(what the run exchanged).  How:

- Gates on local qubits collect into a step that the kernel runs on the
  rank's chunk in place, fused and cache-blocked like a whole run
  (``_core.Chunk.apply``).  Diagonal gates on global qubits and controls on
  global qubits are resolved per rank (:func:`~svsim.mpi.layout.route`);
  X, SWAP and CX among global qubits only relabel ranks.
- Any other gate on a global qubit first exchanges it with a local qubit
  (:meth:`DistributedRun.exchange`): each rank swaps half its chunk with one
  partner, in pieces of at most ``PIECE_BYTES`` through ``Sendrecv``, so the
  extra memory is two pieces.  The new order is kept; :class:`LookAhead`
  picks the local qubit needed latest.  Such a gate waits while the gates
  that do not depend on it run first (:meth:`DistributedRun.gates`), so that
  an exchange comes as late, and as rarely, as the circuit allows.
- Sampling draws the same numbers as the kernel from the same seed (the
  generator is the kernel's ``_core.Random``): the ranks share their block
  sums (one allgather), all make the same sorted uniforms, each resolves those
  in its own blocks with the kernel's sweep, and the samples are gathered and
  shuffled as one process does.  The state is first put back in its natural
  order (qubit q at position q, rank r holding global value r).
- Measurements, resets and conditions draw one uniform on every rank; the
  probabilities are summed from every rank's share (allgather, summed in rank
  order on every rank, so every rank decides the same).

Failures: every collective step starts with :meth:`DistributedRun.sync`, where
the ranks tell each other whether they were cancelled or failed; then every
rank raises (``_core.Cancelled``, or ``SimulatorError`` naming the rank that
failed).  A cancel on one rank reaches the others at once through a side
communicator (:class:`CancelRelay`) and stops their kernels between gates.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from svsim import _core, _ops
from svsim.exceptions import SimulatorError
from svsim.mpi.layout import DecodedOp, Layout, LocalOp, LookAhead, decode, encode, route
from svsim.mpi.relay import CancelRelay, ExchangeStats
from svsim.mpi.saves import save

__all__ = ["PIECE_BYTES", "DistributedRun", "run_distributed"]

PIECE_BYTES = 16 << 20  # one message of an exchange: 2^20 double amplitudes
REDUCE_BLOCK = 1 << 12  # the kernel's sampling block (kReduceChunk in parallel.h)
DTYPES = {"double": np.complex128, "single": np.complex64}


class DistributedRun:
    """One circuit's run on this rank; see the module's notes."""

    def __init__(
        self,
        comm: Any,
        program: Any,
        *,
        shots: int,
        seed: int,
        precision: str,
        threads: int,
        parallel_threshold: int,
        fusion: bool,
        fusion_threshold: int,
        max_fused_qubits: int,
        allow_prefix_copy: bool,
        control: _core.RunControl,
        initial_state: np.ndarray | None,
    ) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.ops: list[DecodedOp] = decode(program.ops, program.qubits, program.values)
        self.num_qubits = program.num_qubits
        self.num_clbits = program.num_clbits
        self.num_saves = len(program.save_labels)
        self.shots = shots
        self.precision = precision
        self.dtype = DTYPES[precision]
        self.threads = threads
        self.parallel_threshold = parallel_threshold
        self.fusion = (fusion, fusion_threshold, max_fused_qubits)
        self.allow_prefix_copy = allow_prefix_copy
        self.control = control
        self.initial_state = initial_state
        self.rng = _core.Random(seed)
        self.layout = Layout(self.num_qubits, self.size)
        self.lookahead = LookAhead(self.ops, self.num_qubits)
        self.stats = ExchangeStats(ranks=self.size, local_qubits=self.layout.local_qubits)
        self.pending: list[LocalOp] = []
        self.failure: tuple[str, str] | None = None
        self.stopped = False  # a sync raised: every rank raises at the same step
        self.error: BaseException | None = None
        self.done = 0
        self.total = 1
        piece = max(1, PIECE_BYTES // np.dtype(self.dtype).itemsize)
        self.piece = min(piece, max(1, (1 << self.layout.local_qubits) // 2))
        self.chunk = _core.Chunk(
            self.layout.local_qubits, precision, threads, parallel_threshold, self.rank == 0
        )
        self.data = self.chunk.array()
        self.load_initial()

    # ------------------------------------------------------------ collectives

    def guarded(self, fn: Any, *args: Any) -> Any:
        """Run local work; a failure is kept for the next :meth:`sync`, which follows at once."""
        if self.failure is None:
            try:
                return fn(*args)
            except _core.Cancelled:
                self.failure = ("cancelled", "")
            except Exception as exc:  # noqa: BLE001 - every rank must hear of it
                self.failure = ("error", f"{type(exc).__name__}: {exc}")
                self.error = exc
        self.sync()
        return None

    def sync(self, payload: Any = None) -> list[Any]:
        """Every rank's ``payload``, once all ranks got here; raises on every
        rank if one was cancelled or failed."""
        if self.failure is None and self.control.cancel_requested:
            self.failure = ("cancelled", "")
        start = time.perf_counter()
        got = self.comm.allgather((self.failure, payload))
        self.stats.mpi_seconds += time.perf_counter() - start
        self.stopped = any(failure is not None for failure, _ in got)
        for r, (failure, _) in enumerate(got):
            if failure is not None and failure[0] == "error":
                if r == self.rank and self.error is not None:
                    raise self.error
                raise SimulatorError(
                    f"MPI rank {r} of {self.size} failed, so the run stopped on every rank: "
                    f"{failure[1]}"
                )
        if any(failure is not None for failure, _ in got):
            raise _core.Cancelled("the run was cancelled on one of its MPI ranks")
        return [p for _, p in got]

    def mpi(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.stats.mpi_seconds += time.perf_counter() - start

    def step_done(self, count: int = 1) -> None:
        self.done += count
        self.control.count(min(self.done, self.total), self.total)

    # ------------------------------------------------------------ local work

    def load_initial(self) -> None:
        if self.initial_state is None:
            return
        size = self.data.size
        self.data[:] = self.initial_state[self.rank * size : (self.rank + 1) * size]

    def reset_state(self) -> None:
        self.data[:] = 0
        if self.rank == 0:
            self.data[0] = 1
        self.layout = Layout(self.num_qubits, self.size)
        self.load_initial()

    def flush(self) -> None:
        """Run the collected local gates on the chunk."""
        if not self.pending:
            return
        ops, self.pending = self.pending, []
        rows, qubits, values = encode(ops)
        fusion, threshold, max_fused = self.fusion
        self.stats.steps += 1
        self.guarded(
            self.chunk.apply, rows, qubits, values, fusion, threshold, max_fused, self.control
        )

    def relabelling(self, op: DecodedOp) -> bool:
        """Whether ``op`` only moves labels: an unconditional SWAP, or an X or a
        SWAP on global targets whose controls are all global."""
        if op.kind == _ops.SWAP and not op.controls:
            return True
        layout = self.layout
        if any(layout.is_local(c) for c in op.controls):
            return False
        global_targets = sum(not layout.is_local(t) for t in op.targets)
        return (op.kind == _ops.FLIP and global_targets == 1) or (
            op.kind == _ops.SWAP and global_targets == 2
        )

    def needs_exchange(self, op: DecodedOp) -> bool:
        """Whether ``op`` can run only after a global/local exchange."""
        return (
            op.kind != _ops.DIAGONAL
            and not self.relabelling(op)
            and any(not self.layout.is_local(t) for t in op.targets)
        )

    def gate(
        self,
        index: int,
        op: DecodedOp,
        after: int | None = None,
        sooner: dict[int, int] | None = None,
    ) -> None:
        """Route one gate: relabel, or exchange its global targets in, then queue it.
        ``after`` and ``sooner`` say which ops are still to run (see :meth:`gates`)."""
        layout = self.layout
        on_global = any(not layout.is_local(q) for q in op.targets + op.controls)
        if self.relabelling(op):
            if op.kind == _ops.SWAP and not op.controls:
                layout.swap_qubits(*op.targets)
                self.stats.relabels += on_global
            else:
                flip = op.targets if op.kind == _ops.FLIP else ()
                swap = op.targets if op.kind == _ops.SWAP else ()
                layout.relabel(flip, swap, op.controls)
                self.stats.relabels += 1
            return
        if self.needs_exchange(op):
            global_targets = [t for t in op.targets if not layout.is_local(t)]
            self.make_local(index, global_targets, set(op.targets), set(op.controls), after, sooner)
        local = route(op, self.layout, self.rank)
        if local is not None:
            self.pending.append(local)

    def gates(self, run: list[tuple[int, DecodedOp]]) -> None:
        """Run consecutive gates (``(index, op)`` in circuit order), each as early
        as the layout allows: a gate that needs an exchange waits, and so does
        every later gate that shares a qubit with a waiting one, while the others
        go ahead (they commute with what waits).  Only then is the first waiting
        gate's qubit exchanged in, and the rest planned again.  So one exchange
        serves every gate it can, and the kernel gets long, well fused steps: a
        layered circuit with one global qubit needs about one exchange in all
        instead of one per layer."""
        end = run[-1][0] if run else 0
        counted = False  # gates on global qubits are counted as the circuit reaches them
        while run:
            waiting: list[tuple[int, DecodedOp]] = []
            blocked: set[int] = set()
            for index, op in run:
                touched = op.targets + op.controls
                if not counted:
                    self.stats.global_gates += any(not self.layout.is_local(q) for q in touched)
                if blocked.isdisjoint(touched) and not self.needs_exchange(op):
                    self.gate(index, op)
                    self.step_done()
                else:
                    waiting.append((index, op))
                    blocked.update(touched)
            counted = True
            if not waiting:
                return
            sooner: dict[int, int] = {}
            for index, op in waiting[1:]:
                for q in op.needs_local():
                    sooner.setdefault(q, index)
            index, op = waiting[0]
            self.gate(index, op, end, sooner)
            self.step_done()
            run = waiting[1:]

    def make_local(
        self,
        index: int,
        qubits: list[int],
        keep: set[int],
        spare: frozenset[int] | set[int] = frozenset(),
        after: int | None = None,
        sooner: dict[int, int] | None = None,
    ) -> None:
        """Exchange the global ``qubits`` in, giving up local qubits not in ``keep``
        (nor in ``spare``, where there are others) for op ``index``; the ops
        still to run are those after ``after`` (default: ``index``) and the
        ones in ``sooner`` (see :meth:`LookAhead.victim`)."""
        after = index if after is None else after
        for q in qubits:
            if not self.layout.is_local(q):
                victim = self.lookahead.victim(
                    self.layout, after, keep | set(qubits), set(spare), sooner
                )
                if victim < 0:
                    raise SimulatorError(
                        f"op {index} needs {len(keep)} qubits local, more than the "
                        f"{self.layout.local_qubits} each rank keeps; use fewer ranks"
                    )
                self.exchange(q, victim)

    # ------------------------------------------------------------ data movement

    def exchange(self, global_qubit: int, local_qubit: int) -> None:
        """Swap a global and a local qubit: each rank trades with its partner the
        half of its chunk where the local qubit differs from its own global bit."""
        self.flush()
        self.sync()
        layout = self.layout
        j = layout.position[global_qubit] - layout.local_qubits
        bit = layout.position[local_qubit]
        mine = layout.rank_value[self.rank]
        own = mine >> j & 1
        partner = layout.rank_holding(mine ^ (1 << j))
        half = self.data.size // 2
        send = np.empty(self.piece, self.dtype)
        recv = np.empty(self.piece, self.dtype)
        value = 1 - own
        for first in range(0, half, self.piece):
            count = min(self.piece, half - first)
            self.chunk.pack(bit, value, first, count, send)
            self.mpi(
                self.comm.Sendrecv,
                send[:count],
                dest=partner,
                sendtag=7,
                recvbuf=recv[:count],
                source=partner,
                recvtag=7,
            )
            self.chunk.pack(bit, value, first, count, recv, unpack=True)
            self.stats.bytes_sent += count * send.itemsize
        layout.swap_qubits(global_qubit, local_qubit)
        self.stats.swaps += 1

    def permute_ranks(self) -> None:
        """Move whole chunks so that physical rank r holds global value r."""
        self.sync()
        layout = self.layout
        dest = layout.rank_value[self.rank]
        source = layout.rank_holding(self.rank)
        if dest != self.rank:
            buffer = np.empty(self.piece, self.dtype)
            for first in range(0, self.data.size, self.piece):
                part = self.data[first : first + self.piece]
                self.mpi(
                    self.comm.Sendrecv,
                    part,
                    dest=dest,
                    sendtag=8,
                    recvbuf=buffer[: part.size],
                    source=source,
                    recvtag=8,
                )
                part[:] = buffer[: part.size]
                self.stats.bytes_sent += part.nbytes
            self.stats.permutations += 1
        layout.rank_value = list(range(self.size))

    def restore(self) -> None:
        """Put the state back in its natural order (qubit q at position q, rank r
        holding global value r): sampling and gathering read it so."""
        layout = self.layout
        if layout.is_identity():
            return
        L = layout.local_qubits
        for p in range(L, self.num_qubits):
            q = p  # the qubit that belongs at global position p
            at = layout.position[q]
            if at == p:
                continue
            if at >= L:
                layout.permute_global(at, p)
            else:
                self.exchange(layout.qubit_at[p], q)
        for p in range(L):
            at = layout.position[p]
            if at != p:
                self.pending.append(LocalOp(_ops.SWAP, (p, at), (), np.zeros(0)))
                layout.swap_qubits(p, layout.qubit_at[p])
        self.flush()
        if layout.rank_value != list(range(self.size)):
            self.permute_ranks()

    # ------------------------------------------------------------ reading the state

    def measure(self, qubit: int) -> int:
        """Measure ``qubit`` with the kernel's draw; every rank collapses its chunk."""
        self.flush()
        layout = self.layout
        local = layout.is_local(qubit)

        def shares() -> tuple[float, float]:
            total = self.chunk.norm_squared()
            if local:
                return self.chunk.probability_of_one(layout.position[qubit]), total
            return (total if layout.bit(qubit, self.rank) else 0.0), total

        share = self.guarded(shares)
        got = self.sync(share)
        p1 = sum(p for p, _ in got)
        total = sum(t for _, t in got)
        outcome = 1 if self.rng.uniform() * total < p1 else 0
        probability = p1 if outcome else total - p1
        if local:
            self.guarded(self.chunk.collapse, layout.position[qubit], outcome, probability)
        elif layout.bit(qubit, self.rank) == outcome:
            self.guarded(self.chunk.scale, 1.0 / np.sqrt(probability))
        else:
            self.guarded(self.chunk.scale, 0.0)
        return outcome

    def reset(self, qubit: int) -> None:
        if self.measure(qubit):
            if self.layout.is_local(qubit):
                self.pending.append(
                    LocalOp(_ops.FLIP, (self.layout.position[qubit],), (), np.zeros(0))
                )
            else:
                self.layout.relabel((qubit,), (), ())

    # ------------------------------------------------------------ the run

    def run(self) -> dict[str, Any]:
        from svsim.mpi.sampling import sample

        start = time.perf_counter()
        saves: list[Any] = [None] * self.num_saves
        words = (self.num_clbits + 63) // 64
        measures = self.terminal_measures()
        if measures is not None:
            method = "sampling"
            self.total = len(self.ops) + 1
            self.run_ops(range(len(self.ops)), saves, 1.0, None)
            self.sync()
            memory = np.zeros((self.shots, words), dtype=np.uint64)
            if measures:
                self.restore()
                samples = sample(self, self.shots)
                for qubit, clbit in measures:
                    w, b = clbit // 64, np.uint64(clbit % 64)
                    bit = (samples >> np.uint64(qubit)) & np.uint64(1)
                    memory[:, w] = (memory[:, w] & ~(np.uint64(1) << b)) | (bit << b)
            self.step_done()
        else:
            method = "trajectory"
            memory = self.run_trajectories(saves, words)
        self.sync()
        self.stats.seconds = time.perf_counter() - start
        return {
            "method": method,
            "ops_run": len(self.ops),
            "memory": memory,
            "state": None,
            "saves": saves,
            "mpi": self.stats.as_dict(),
        }

    def terminal_measures(self) -> list[tuple[int, int]] | None:
        """The (qubit, clbit) of each measurement when all are terminal (as the
        kernel decides: no reset or condition, nothing after a measurement
        touches or saves its qubit), else None."""
        measured: set[int] = set()
        out = []
        for op in self.ops:
            if op.kind == _ops.RESET or op.cond_clbits:
                return None
            if op.kind == _ops.MEASURE:
                measured.add(op.targets[0])
                out.append((op.targets[0], op.slot))
            elif op.kind >= _ops.SAVE_STATEVECTOR:
                if measured:
                    return None
            elif measured & set(op.targets + op.controls):
                return None
        return out

    def run_trajectories(self, saves: list[Any], words: int) -> np.ndarray:
        """One trajectory per shot, drawing as the kernel does (see runner.h)."""
        ops = self.ops
        first_random = next(
            (
                i
                for i, op in enumerate(ops)
                if op.kind in (_ops.MEASURE, _ops.RESET) or op.cond_clbits
            ),
            len(ops),
        )
        shots = self.shots
        keep_prefix = self.allow_prefix_copy and shots > 1 and first_random > 0
        prefix_runs = 1 if keep_prefix or shots == 0 else shots
        self.total = max(prefix_runs * first_random + shots * (len(ops) - first_random), 1)

        prefix = range(first_random)
        self.run_ops(prefix, saves, 1.0, [])
        kept = None
        if keep_prefix:
            kept = (self.data.copy(), self.layout.copy())
        memory = np.zeros((shots, words), dtype=np.uint64)
        weight = 1.0 / shots if shots else 0.0
        for s in range(shots):
            if s > 0:
                if kept is not None:
                    self.data[:] = kept[0]
                    self.layout = kept[1].copy()
                else:
                    self.reset_state()
                    self.run_ops(prefix, None, 1.0, [])
            clbits = [0] * max(words, 1)
            self.run_ops(range(first_random, len(ops)), saves, weight, clbits)
            if words:
                memory[s] = clbits[:words]
        return memory

    def run_ops(
        self, indices: range, saves: list[Any] | None, weight: float, clbits: list[int] | None
    ) -> None:
        """Run ``self.ops[indices]``: runs of gates through :meth:`gates`, then
        each measurement, reset and save in its place.  ``clbits`` is the shot's
        classical register (measurements write it, conditions read it), or
        None where every measurement is terminal (sampled after the run).
        ``saves`` None skips the saves (a trajectory's repeated prefix)."""
        run: list[tuple[int, DecodedOp]] = []
        for i in indices:
            op = self.ops[i]
            if op.is_gate:
                if clbits is None or not op.cond_clbits or self.condition_holds(op, clbits):
                    run.append((i, op))
                else:
                    self.step_done()
                continue
            if op.kind == _ops.MEASURE and clbits is None:
                self.step_done()  # terminal: nothing later touches its qubit
                continue
            self.gates(run)
            run = []
            if op.kind >= _ops.SAVE_STATEVECTOR:
                if saves is not None:
                    save(self, i, op, saves, weight)
            elif op.kind == _ops.MEASURE:
                assert clbits is not None
                c = op.slot
                bit = self.measure(op.targets[0])
                clbits[c // 64] = (clbits[c // 64] & ~(1 << (c % 64))) | (bit << (c % 64))
            elif op.kind == _ops.RESET:
                self.reset(op.targets[0])
            self.step_done()
        self.gates(run)
        self.flush()

    @staticmethod
    def condition_holds(op: DecodedOp, clbits: list[int]) -> bool:
        for j, c in enumerate(op.cond_clbits):
            bit = clbits[c // 64] >> (c % 64) & 1
            want = op.cond_value >> j & 1 if j < 64 else 0
            if bit != want:
                return False
        return True


def run_distributed(comm: Any, program: Any, **kwargs: Any) -> dict[str, Any]:
    """Run the encoded ``program`` over ``comm``'s ranks; see the module's notes.

    Every rank must call it with the same program and arguments.
    """
    run = DistributedRun(comm, program, **kwargs)
    relay = CancelRelay(comm, run.control) if _thread_multiple() else None
    try:
        try:
            return run.run()
        except Exception as exc:
            if run.stopped:
                raise  # every rank raises at the same step
            # Failed here, between two steps: the other ranks hear of it at their next one.
            run.failure, run.error = ("error", f"{type(exc).__name__}: {exc}"), exc
            run.sync()
            raise
    finally:
        if relay is not None:
            relay.close()


def _thread_multiple() -> bool:
    from mpi4py import MPI

    return bool(MPI.Query_thread() >= MPI.THREAD_MULTIPLE)
