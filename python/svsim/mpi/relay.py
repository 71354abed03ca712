"""What a rank of an MPI run records (:class:`ExchangeStats`) and how a cancel
reaches every rank (:class:`CancelRelay`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from svsim import _core

__all__ = ["CancelRelay", "ExchangeStats"]


@dataclass
class ExchangeStats:
    """What one rank did over MPI during a run."""

    ranks: int = 1
    local_qubits: int = 0
    bytes_sent: int = 0
    mpi_seconds: float = 0.0
    swaps: int = 0  # global/local exchanges of half a chunk
    permutations: int = 0  # whole chunks moved to put ranks back in order
    global_gates: int = 0  # gates that touch a global qubit
    relabels: int = 0  # of those, done by relabelling alone
    steps: int = 0  # kernel calls on the chunk
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        d["mpi_fraction"] = self.mpi_seconds / self.seconds if self.seconds > 0 else 0.0
        d.update(self.extra)
        return d


class CancelRelay:
    """Carries a cancel from the rank where it was asked to every other rank.

    A thread polls, every ``interval`` seconds, the run's control (cancelled
    here? tell the others) and a communicator of its own (cancelled there?
    stop the kernel here).  :meth:`close` receives every notice that was
    sent, so none is left in flight.
    """

    def __init__(self, comm: Any, control: _core.RunControl, interval: float = 0.01) -> None:
        from mpi4py import MPI

        self._mpi = MPI
        self._comm = comm.Dup()
        self._control = control
        self._interval = interval
        self._sent = False
        self._requests: list[Any] = []
        self._received: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="svsim-mpi-cancel", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        comm, status = self._comm, self._mpi.Status()
        if self._control.cancel_requested and not self._sent:
            self._sent = True
            me = comm.Get_rank()
            self._requests = [
                comm.isend(me, dest=r, tag=1) for r in range(comm.Get_size()) if r != me
            ]
        while comm.Iprobe(source=self._mpi.ANY_SOURCE, tag=1, status=status):
            comm.recv(source=status.Get_source(), tag=1)
            self._received.add(status.Get_source())
            self._control.cancel()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._poll()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        comm = self._comm
        sent = comm.allgather(self._sent)
        for r, did in enumerate(sent):
            if did and r != comm.Get_rank() and r not in self._received:
                comm.recv(source=r, tag=1)
        for request in self._requests:
            request.wait()
        comm.Free()
