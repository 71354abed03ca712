"""Small jobs (issue 20): svsim's own overhead on a tiny job, and the throughput
of a batch of small circuits against Aer.

    python -m svsim.bench.overhead [--repeats 3000] [--short-repeats 500] [--batch-repeats 5]
        [--threads 1]

*Tiny job*: a 5-qubit circuit (h, a cx chain, rz, measure_all), 100 shots.
``kernel`` is the kernel call alone (``svsim._core.run`` on the encoded
program, as :func:`svsim.engine.run_experiment` makes it); ``job`` is the
whole ``backend.run(circuit).result()``, and ``counts`` the same up to
``get_counts()`` (a result builds its experiments when first read, so this
one counts the outcomes, header and metadata too).  Each is the median of
``--repeats`` calls, interleaved so a change in the machine's load reaches
all three; the overheads are their differences with ``kernel``.

*Small jobs*: circuits of 10 to 14 qubits (a 10-qubit QFT, a 12-qubit GHZ,
...; :data:`SMALL_CIRCUITS`), one shot: the kernel call and the whole job,
interleaved, median of ``--short-repeats``.  Each is named tiny (``run()``
runs it) or short (``result()`` runs it in the calling thread when the worker
is idle) by its predicted work (docs/jobs.md).

*Batch*: 1,000 random 10-qubit circuits of 100 gates
(:func:`svsim.bench.circuits.batch_specs`), 100 shots, in one ``run()`` up to
the counts of every circuit; the median of ``--batch-repeats``, for svsim and,
when installed, Qiskit Aer (``method="statevector"``, the same threads).
svsim runs them twice over: the same circuit objects each time (whose
encodings a circuit keeps) and circuits built anew before each run
(``svsim_fresh``, what a first run costs).

The load average is printed with the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import svsim
from svsim import _core, engine, work
from svsim.bench.circuits import batch_specs, family_spec, to_qiskit, to_svsim


def tiny_circuit(num_qubits: int = 5) -> svsim.Circuit:
    """The tiny job's circuit."""
    qc = svsim.Circuit(num_qubits, name="tiny")
    qc.h(0)
    for q in range(num_qubits - 1):
        qc.cx(q, q + 1)
    qc.rz(0.3, num_qubits - 1)
    return qc.measure_all()


def kernel_call(circuit: svsim.Circuit, shots: int, threads: int) -> Callable[[], Any]:
    """The kernel call alone, with the arguments ``run_experiment`` gives it."""
    program = circuit.encode()

    def call() -> Any:
        return _core.run(
            program.ops,
            program.qubits,
            program.values,
            program.num_qubits,
            program.num_clbits,
            shots,
            1,
            "double",
            threads,
            engine.PARALLEL_THRESHOLD,
            True,
            engine.FUSION_THRESHOLD,
            engine.MAX_FUSED_QUBITS,
            True,
            _core.RunControl(),
            None,
            True,
            1,
        )

    return call


def interleaved(calls: list[Callable[[], Any]], repeats: int) -> list[float]:
    """Median seconds of each call, the calls taking turns ``repeats`` times (after
    one warm-up each), so that a change in the machine's load reaches them all."""
    for call in calls:
        call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, spent in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def tiny_job(repeats: int, threads: int) -> dict[str, float]:
    """Median seconds of the kernel call, of the whole job and of the job up to
    its counts, interleaved."""
    circuit = tiny_circuit()
    backend = svsim.BasicSimulator(max_parallel_threads=threads)

    def job() -> Any:
        return backend.run(circuit, shots=100, seed_simulator=1).result()

    k, j, c = interleaved(
        [kernel_call(circuit, 100, threads), job, lambda: job().get_counts()], repeats
    )
    backend.close()
    return {"kernel": k, "job": j, "overhead": j - k, "counts": c, "counts_overhead": c - k}


SMALL_CIRCUITS = (
    ("qft", 10),
    ("ghz", 12),
    ("qv", 10),
    ("qft", 12),
    ("ghz", 14),
    ("qv", 12),
    ("random", 12),
)
"""Circuits of 10 to 14 qubits: the first three tiny jobs at one shot, the others
short ones (docs/jobs.md)."""


def job_kind(circuit: svsim.Circuit, shots: int) -> str:
    """``"tiny"``, ``"short"`` or ``"queued"``: how the backend's own worker runs a
    job of ``circuit`` alone (:func:`svsim.work.predicted_work`)."""
    settings = work.Settings("double", 1, True, None)
    experiment = work.Experiment(circuit, 1)
    spec = work.JobSpec("j", "b", "0", (experiment,), shots, False, None, settings)
    units = work.predicted_work(spec, work.SHORT_MAX_WORK)
    if units <= work.INLINE_MAX_WORK:
        return "tiny"
    return "short" if units <= work.SHORT_MAX_WORK else "queued"


def small_jobs(repeats: int, threads: int) -> dict[str, dict[str, Any]]:
    """For each of :data:`SMALL_CIRCUITS` (one shot, as the suite's families run):
    how it runs (:func:`job_kind`) and the median seconds of the kernel call and
    of ``run().result()``, interleaved."""
    backend = svsim.BasicSimulator(max_parallel_threads=threads)
    figures: dict[str, dict[str, Any]] = {}
    for family, num_qubits in SMALL_CIRCUITS:
        circuit = to_svsim(family_spec(family, num_qubits), measure=False)

        def job(circuit: svsim.Circuit = circuit) -> Any:
            return backend.run(circuit, shots=1, seed_simulator=1).result()

        k, j = interleaved([kernel_call(circuit, 1, threads), job], repeats)
        figures[f"{family}-{num_qubits}"] = {
            "kind": job_kind(circuit, 1),
            "kernel": k,
            "job": j,
            "overhead": j - k,
        }
    backend.close()
    return figures


def batch(repeats: int, threads: int, circuits: int = 1000) -> dict[str, float]:
    """Median seconds of the batch job for svsim and, if installed, Aer.

    ``svsim`` runs the same circuit objects every time, so from the second run
    on their encodings are kept (:class:`svsim.encoding.EncodingCache`);
    ``svsim_fresh`` runs circuits built anew, untimed, before each run: the
    first run of a batch.
    """
    specs = batch_specs(circuits)
    ours = [to_svsim(s) for s in specs]
    backend = svsim.BasicSimulator(max_parallel_threads=threads)

    def run_svsim(batch: list[Any]) -> Any:
        return backend.run(batch, shots=100, seed_simulator=1).result().get_counts()

    # name -> (the circuits, made untimed; the run, timed)
    cases: dict[str, tuple[Callable[[], list[Any]], Callable[[list[Any]], Any]]] = {
        "svsim": (lambda: ours, run_svsim),
        "svsim_fresh": (lambda: [to_svsim(s) for s in specs], run_svsim),
    }
    try:
        from qiskit_aer import AerSimulator
    except ImportError:
        pass
    else:
        aer = AerSimulator(method="statevector", max_parallel_threads=threads)
        theirs = [to_qiskit(s) for s in specs]
        cases["aer"] = (
            lambda: theirs,
            lambda batch: aer.run(batch, shots=100, seed_simulator=1).result().get_counts(),
        )
    times: dict[str, list[float]] = {name: [] for name in cases}
    for make, run in cases.values():
        run(make())  # warm
    for _ in range(repeats):
        for name, (make, run) in cases.items():
            circuits_now = make()
            start = time.perf_counter()
            run(circuits_now)
            times[name].append(time.perf_counter() - start)
    backend.close()
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3000)
    parser.add_argument("--short-repeats", type=int, default=500)
    parser.add_argument("--batch-repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"load before: {os.getloadavg()[0]:.2f}")
    tiny = tiny_job(args.repeats, args.threads)
    print(
        f"tiny job (5 qubits, 100 shots, median of {args.repeats}): kernel "
        f"{tiny['kernel'] * 1e6:.1f} us, run().result() {tiny['job'] * 1e6:.1f} us, "
        f"overhead {tiny['overhead'] * 1e6:.1f} us; with get_counts() {tiny['counts'] * 1e6:.1f} "
        f"us, overhead {tiny['counts_overhead'] * 1e6:.1f} us  (load {os.getloadavg()[0]:.2f})"
    )
    if args.short_repeats > 0:
        for name, f in small_jobs(args.short_repeats, args.threads).items():
            print(
                f"{f['kind']} job {name} (1 shot, median of {args.short_repeats}): kernel "
                f"{f['kernel'] * 1e6:.0f} us, run().result() {f['job'] * 1e6:.0f} us, overhead "
                f"{f['overhead'] * 1e6:.0f} us  (load {os.getloadavg()[0]:.2f})"
            )
    if args.batch_repeats > 0:
        times = batch(args.batch_repeats, args.threads)
        line = ", ".join(f"{name} {t:.3f} s" for name, t in times.items())
        ratio = ""
        if "aer" in times:
            ratio = (
                f"; aer / svsim {times['aer'] / times['svsim']:.1f}x, fresh circuits "
                f"{times['aer'] / times['svsim_fresh']:.1f}x"
            )
        print(
            f"batch (1000 x 10 qubits x 100 gates, 100 shots, {args.threads} thread(s), median "
            f"of {args.batch_repeats}): {line}{ratio}  (load {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
