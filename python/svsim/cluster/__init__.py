"""Jobs of many circuits on a Dask cluster: split into tasks, merged in order.

``BasicSimulator(executor=client)`` with a ``distributed.Client`` hands a job
here (through :meth:`svsim.work.JobWork.submit_remote`).  The job's
experiments, each with the seed ``run()`` fixed for it (and, with
``max_shot_size``, each cut into shot parts: :mod:`svsim.cluster.parts`),
are cut into contiguous groups of at most ``max_job_size`` circuit runs;
each group is one Dask task.  The pieces:

* :mod:`svsim.cluster.wire`: what travels (plain data, a format version,
  no final statevector) and the checks both sides share;
* :mod:`svsim.cluster.worker`: :func:`run_task`, the task on a worker, with
  a watcher thread for cancel and progress;
* :mod:`svsim.cluster.client`: :func:`submit_split` and
  :class:`SplitFuture`, the job's view of its tasks (status, progress,
  cancel, the merged Result, the job's Event removed when it ends).

``distributed`` is imported only when a job runs: ``import svsim`` never loads it.
"""

from __future__ import annotations

from svsim.cluster.client import (
    SplitFuture,
    check_client,
    default_max_job_size,
    is_dask_client,
    submit_split,
)
from svsim.cluster.parts import check_shot_split
from svsim.cluster.wire import WIRE_FORMAT, circuit_from_wire, circuit_to_wire
from svsim.cluster.worker import run_task, running_tasks

__all__ = [
    "WIRE_FORMAT",
    "SplitFuture",
    "check_client",
    "check_shot_split",
    "circuit_from_wire",
    "circuit_to_wire",
    "default_max_job_size",
    "is_dask_client",
    "run_task",
    "running_tasks",
    "submit_split",
]
