"""The cancel flag and the progress of a running job (:class:`JobControl`), which
the job reads and its work writes, experiment by experiment."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from svsim import _core

__all__ = ["JobControl"]


class JobControl:
    """The cancel flag and the progress of one job, shared with the work that runs it.

    The work calls :meth:`start` before each experiment to get the kernel's
    ``RunControl`` for it, and :meth:`finish` after.  ``weights[i]`` is the
    share of experiment ``i`` in the job's progress (its number of
    operations, say).  All methods are thread-safe.
    """

    def __init__(self, weights: Sequence[float] = (1.0,)) -> None:
        self._lock = threading.Lock()
        self._weights = [max(float(w), 0.0) for w in weights] or [1.0]
        self._total = sum(self._weights) or 1.0
        self._done = 0.0
        self._current: _core.RunControl | None = None
        self._current_weight = 0.0
        self._cancelled = False

    @property
    def cancel_requested(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise ``svsim._core.Cancelled`` if the job was cancelled."""
        if self._cancelled:
            raise _core.Cancelled("the job was cancelled")

    def start(self, index: int, collective: bool = False) -> _core.RunControl:
        """A fresh ``RunControl`` for experiment ``index`` (``Cancelled`` if the job was;
        with ``collective``, a run over MPI that every rank must enter, one already
        cancelled instead, which stops the run on every rank at its first step)."""
        control = _core.RunControl()
        with self._lock:
            if collective and self._cancelled:
                control.cancel()
            else:
                self.check()
            self._current = control
            self._current_weight = self._weights[index]
        return control

    def finish(self, index: int) -> None:
        """Experiment ``index`` has run to its end."""
        with self._lock:
            self._done += self._weights[index]
            self._current = None
            self._current_weight = 0.0

    def cancel(self) -> None:
        """Ask the work to stop: the running kernel stops before its next operation."""
        with self._lock:
            self._cancelled = True
            current = self._current
        if current is not None:
            current.cancel()

    def progress(self) -> float:
        """The fraction of the job's operations done so far, 0.0 to 1.0."""
        with self._lock:
            done = self._done
            if self._current is not None:
                done += self._current_weight * float(self._current.progress())
        return min(max(done / self._total, 0.0), 1.0)
