"""Jobs split over Dask: the cost of the cluster against the local backend.

``python -m svsim.bench.cluster [--quick]`` prints a markdown table, each
figure the median of ``--repeats`` runs of the whole job API (``run()`` to
``result()``):

1. 1,000 random 10-qubit circuits of 100 gates (``batch_specs``), 100 shots;
2. 40 random-layer circuits at 22 qubits, 10 shots (``--quick``: 8 at 20).

each on the local backend (its own worker thread, the kernel on all cores)
and on a ``distributed.LocalCluster`` of 2 worker processes of 1 thread each
(the kernel on 1 thread in each), on the same cores: the ratio is the
cluster's overhead.  Then the per-task cost: a job of T one-gate circuits in T
tasks (``max_job_size=1``) minus the same job in one task, over T.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import svsim
from svsim.bench.circuits import batch_specs, to_svsim
from svsim.bench.clifford import cpu_name
from svsim.families import random_layers

__all__ = ["main", "measure"]


def measure(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The median wall time of ``run()`` over ``repeats`` runs, after one warm-up;
    a run of more than 5 s is its own warm-up (its one-off costs do not show) and
    the only sample, to keep the bench within minutes on 2 cores."""
    start = time.perf_counter()
    value = run()
    first = time.perf_counter() - start
    if first > 5.0:
        return first, value
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def _job(backend: svsim.BasicSimulator, circuits: Sequence[svsim.Circuit], shots: int, **kw: Any):
    return lambda: backend.run(list(circuits), shots=shots, seed_simulator=1, **kw).result(3600)


def main(argv: Sequence[str] | None = None) -> None:
    import distributed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases, for a smoke test")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    many = 100 if args.quick else 1000
    wide, count = (20, 8) if args.quick else (22, 40)
    cases = [
        (f"{many} circuits x 10 qubits", [to_svsim(s) for s in batch_specs(many, 10, 100)], 100),
        (
            f"{count} circuits x {wide} qubits",
            [random_layers(wide, depth=10, seed=k).measure_all() for k in range(count)],
            10,
        ),
    ]
    print(f"CPU: {cpu_name()}; svsim {svsim.__version__}; distributed {distributed.__version__}")
    print()
    print(
        "| job | local (s) | 2-worker LocalCluster (s) | cluster / local | tasks "
        "| kernel on the workers / 2 (s) | Dask's share of the cluster's time |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        local = svsim.BasicSimulator()
        remote = svsim.BasicSimulator(executor=client, max_parallel_threads=1)
        for label, circuits, shots in cases:
            t_local, _ = measure(_job(local, circuits, shots), args.repeats)
            with distributed.get_task_stream(client) as stream:
                t_remote, result = measure(_job(remote, circuits, shots), args.repeats)
            # The kernels' own time on the workers, spread over the 2 of them: what
            # the cluster's wall time would be with no cost of its own.
            kernel = sum(r.time_taken for r in result.results) / 2
            tasks = sum(1 for t in stream.data if str(t["key"]).startswith("svsim-"))
            tasks //= max(1, len({str(t["key"]).split("-task")[0] for t in stream.data}))
            print(
                f"| {label} | {t_local:.3f} | {t_remote:.3f} | {t_remote / t_local:.2f} | {tasks} "
                f"| {kernel:.3f} | {max(t_remote - kernel, 0.0) / t_remote:.0%} |"
            )
        tiny = [svsim.Circuit(1, 1).x(0).measure(0, 0) for _ in range(100)]
        one, _ = measure(_job(remote, tiny, 1, max_job_size=100), args.repeats)
        split, _ = measure(_job(remote, tiny, 1, max_job_size=1), args.repeats)
        print()
        print(
            f"Per-task overhead: {1000 * (split - one) / (len(tiny) - 1):.1f} ms "
            f"(100 one-gate circuits: one task {one:.3f} s, 100 tasks {split:.3f} s)"
        )


if __name__ == "__main__":
    main()
