"""``svsim run SPEC``: build the circuit (a built-in family or a ``.qasm``
file), run it with a progress bar, Ctrl-C to cancel, and print or plot the
summary."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import secrets
import sys
import time
from typing import IO, Any

import numpy as np

from svsim import engine, families, stabilizer
from svsim.backend import BasicSimulator
from svsim.circuit import Circuit
from svsim.cli.common import (
    CLI_EXTRA,
    DEFAULT_QUBITS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    POLL_SECONDS,
    QISKIT_EXTRA,
    UsageError,
    _format_bytes,
    _format_seconds,
    _installed,
    _one_line,
    _peak_rss_bytes,
    _say,
)
from svsim.exceptions import JobError, SvsimError
from svsim.job import BasicProviderJob, JobStatus

_NOT_GATES = ("measure", "barrier", "reset")


def _check_output_path(path: str, option: str) -> None:
    """Refuse, before the run, a path the results could not be written to."""
    parent = os.path.dirname(os.path.abspath(path))
    if not path:
        raise UsageError(f"svsim run: {option} needs a file name")
    if os.path.isdir(path):
        raise UsageError(f"svsim run: {option} {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise UsageError(f"svsim run: {option} {path!r}: the folder {parent!r} does not exist")
    existed = os.path.exists(path)
    try:  # opened for appending, so nothing is lost, and removed again if it is new
        with open(path, "ab"):
            pass
    except OSError as exc:
        reason = exc.strerror or _one_line(exc)
        raise UsageError(f"svsim run: {option} {path!r} cannot be written: {reason}") from None
    if not existed:
        os.remove(path)


def _fits(backend: BasicSimulator, num_qubits: int, precision: str) -> None:
    """Refuse a family size beyond memory before building anything."""
    limit = backend.max_num_qubits
    if num_qubits > limit:
        need_text = ""
        if num_qubits <= engine.HUGE_QUBITS:  # state_bytes caps its count past it
            need_text = f" ({_format_bytes(engine.state_bytes(num_qubits, precision))})"
        # A single-precision amplitude is half the size: one qubit more fits.
        single_fits = precision == "double" and num_qubits <= limit + 1
        hint = " (try --precision single)" if single_fits else ""
        raise UsageError(
            f"svsim run: {num_qubits} qubits do not fit in memory{need_text}: this machine "
            f"holds at most {limit} qubits in {precision} precision{hint}"
        )


def _load_qasm(path: str) -> Circuit:
    """A circuit from a QASM 2 or 3 file, every failure as a UsageError."""
    try:
        with open(path, encoding="utf-8") as handle:
            handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _one_line(exc)
        raise UsageError(f"svsim run: cannot read {path!r}: {reason}") from None
    from_qasm = getattr(Circuit, "from_qasm", None)
    try:
        importlib.import_module("qiskit")
    except ImportError:
        from_qasm = None
    if from_qasm is None:
        raise UsageError(f"svsim run: reading a QASM file needs the qiskit extra: {QISKIT_EXTRA}")
    try:
        circuit = from_qasm(path)
    except ImportError as exc:
        raise UsageError(
            f"svsim run: reading {path!r} needs the qiskit extra ({_one_line(exc)}): {QISKIT_EXTRA}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - Qiskit's loaders raise many types
        raise UsageError(f"svsim run: cannot load {path!r}: {_one_line(exc)}") from None
    if not isinstance(circuit, Circuit):
        raise UsageError(f"svsim run: {path!r} did not give a circuit")
    return circuit


def _build_circuit(args: argparse.Namespace, backend: BasicSimulator, seed: int) -> Circuit:
    spec: str = args.spec
    if spec in families.FAMILIES:
        num_qubits = DEFAULT_QUBITS if args.qubits is None else args.qubits
        wide_clifford = (
            spec in families.CLIFFORD_FAMILIES
            and args.statevector is None
            and stabilizer.available()
        )
        if not wide_clifford:  # a Clifford family too wide runs with the stabilizer method
            _fits(backend, num_qubits, args.precision)
        try:
            return families.build(spec, num_qubits, args.depth, seed)
        except SvsimError as exc:
            raise UsageError(f"svsim run: {_one_line(exc)}") from None
    looks_like_file = (
        os.path.exists(spec) or spec.lower().endswith((".qasm", ".qasm3")) or os.sep in spec
    )
    if not looks_like_file:
        raise UsageError(
            f"svsim run: unknown circuit {spec!r}: give a family ({', '.join(families.FAMILIES)}) "
            "or the path of a .qasm file"
        )
    if args.qubits is not None or args.depth is not None:
        raise UsageError(
            "svsim run: --qubits and --depth apply to the built-in families, not to a QASM file"
        )
    return _load_qasm(spec)


def _make_bar(label: str, stream: IO[str]) -> Any:
    """A tqdm bar on ``stream`` (None without tqdm or when ``stream`` is not a terminal)."""
    try:
        from tqdm import tqdm
    except ImportError:
        _say(f"svsim: running {label} ... (for a progress bar: {CLI_EXTRA})")
        return None
    bar = tqdm(
        total=100.0,
        desc=label,
        file=stream,
        disable=None,  # no bar when stderr is not a terminal
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
        dynamic_ncols=True,
    )
    if bar.disable:
        _say(f"svsim: running {label} ...")
        return None
    return bar


def _follow(job: BasicProviderJob, label: str) -> None:
    """Wait for ``job`` to end, drawing its progress; KeyboardInterrupt passes through."""
    bar = _make_bar(label, sys.stderr)
    try:
        while not job.in_final_state():
            if bar is not None:
                bar.update(100.0 * job.progress() - bar.n)
            time.sleep(POLL_SECONDS)
        if bar is not None and job.done():
            bar.update(100.0 - bar.n)
    finally:
        if bar is not None:
            bar.close()


def _cancel(job: BasicProviderJob) -> int:
    _say(f"svsim run: interrupted; cancelling job {job.job_id()} ...")
    try:
        job.cancel()
    except KeyboardInterrupt:
        _say("svsim run: interrupted again; exiting without waiting for the job")
        return EXIT_INTERRUPTED
    status = job.status()
    if status is JobStatus.CANCELLED:
        _say(f"svsim run: job {job.job_id()} {status.name}")
    else:
        _say(f"svsim run: job {job.job_id()} had already ended ({status.name})")
    return EXIT_INTERRUPTED


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _nearly_uniform(counts: dict[str, int], top: int) -> bool:
    """More outcomes than the top list shows, and none above what chance gives the
    largest of equally likely ones (the mean count plus four standard deviations
    of a Poisson count, plus 4): a "top" list would be a few of many equals."""
    if len(counts) <= top:
        return False
    mean = sum(counts.values()) / len(counts)
    return max(counts.values()) <= mean + 4.0 * math.sqrt(mean) + 4.0


def _spread(counts: dict[str, int], shots: int) -> str:
    """What tells a person something about an even spread of outcomes."""
    largest = max(counts.values())
    probabilities = [n / shots for n in counts.values()]
    entropy = -sum(p * math.log2(p) for p in probabilities)
    return (
        f"  outcomes  {len(counts)} distinct in {_plural(shots, 'shot')}, spread nearly evenly: "
        f"the most frequent came up {_plural(largest, 'time')} ({100.0 * largest / shots:.2f}%); "
        f"entropy {entropy:.2f} bits (at most {math.log2(shots):.2f} for {shots} shots)"
    )


def _top_counts(counts: dict[str, int], top: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def _plot_counts(path: str, title: str, items: list[tuple[str, int]], shots: int) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    labels = [key or "(none)" for key, _ in items]
    values = [count for _, count in items]
    width = max(6.0, 0.45 * len(items) + 2.0)
    fig = Figure(figsize=(width, 4.8), layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(items)))
    bars = ax.bar(positions, values, color="#3467a8")
    ax.bar_label(bars, fontsize=8)
    long_labels = max((len(label) for label in labels), default=0) > 4
    ax.set_xticks(
        positions,
        labels,
        rotation=70 if long_labels else 0,
        ha="right" if long_labels else "center",
        rotation_mode="anchor",
        fontfamily="monospace",
        fontsize=8,
    )
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole numbers
    ax.set_ylabel(f"counts (of {_plural(shots, 'shot')})")
    ax.set_xlabel("outcome (clbit 0 rightmost)")
    ax.set_title(title)
    ax.margins(y=0.12)
    # The format follows the file's extension (png, pdf, svg, ...), png without one.
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    with open(path, "wb") as handle:
        fig.savefig(handle, format=suffix or "png", dpi=120)


def _summary(
    circuit: Circuit, result: Any, seed: int, top: int, counts: dict[str, int]
) -> list[str]:
    exp = result.results[0]
    meta = exp.metadata
    ops = circuit.count_ops()
    measures = ops.get("measure", 0)
    gates = sum(v for k, v in ops.items() if k not in _NOT_GATES and not k.startswith("save_"))
    precision = meta.get("precision", "?")
    stabilizer_run = meta.get("method") == "stabilizer"
    if stabilizer_run:
        how = f"  method    stabilizer (Stim), seed {seed}"
        held = stabilizer.stabilizer_memory_bytes(circuit, exp.shots)
        memory = f"  memory    at most {_format_bytes(held)} for the tableau and the shots"
    else:
        how = (
            f"  precision {precision}, {meta.get('threads', '?')} threads, seed {seed}, "
            f"method statevector ({meta.get('shot_method', '?')})"
        )
        held = engine.state_bytes(circuit.num_qubits, precision)
        memory = f"  memory    {_format_bytes(held)} statevector"
        mpi = meta.get("mpi")
        if mpi:
            memory += f" over {mpi['ranks']} MPI ranks ({_format_bytes(held // mpi['ranks'])} each)"
            how += (
                f"\n  mpi       {mpi['swaps']} global/local swaps for {mpi['global_gates']} gates "
                f"on global qubits, {_format_bytes(mpi['bytes_sent'])} sent by rank 0, "
                f"{100 * mpi['mpi_fraction']:.0f}% of its time in MPI"
            )
    lines = [
        f"{circuit.name}: {_plural(circuit.num_qubits, 'qubit')}, {_plural(gates, 'gate')}, "
        f"{_plural(measures, 'measurement')}, {_plural(exp.shots, 'shot')}",
        how,
        f"  time      {_format_seconds(result.time_taken)} "
        f"(simulation {_format_seconds(exp.time_taken)})",
    ]
    peak = _peak_rss_bytes()
    if peak is not None:
        memory += f", {_format_bytes(peak)} peak resident"
    lines.append(memory)
    if _nearly_uniform(counts, top):
        lines.append(_spread(counts, exp.shots))
        return lines
    shown = _top_counts(counts, top)
    lines.append(f"  outcomes  {len(counts)} distinct; top {len(shown)}:")
    width = max((len(key) for key, _ in shown), default=0)
    for key, count in shown:
        lines.append(f"    {key:<{width}}  {count:>8}  {100.0 * count / exp.shots:6.2f}%")
    return lines


def _cmd_run(args: argparse.Namespace) -> int:
    if args.plot is not None:
        if not _installed("matplotlib"):
            raise UsageError(f"svsim run: --plot needs matplotlib, in the cli extra: {CLI_EXTRA}")
        _check_output_path(args.plot, "--plot")
    if args.statevector is not None:
        _check_output_path(args.statevector, "--statevector")
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    rank = 0
    if args.mpi:
        if args.statevector is not None:
            raise UsageError("svsim run: --statevector is not gathered over --mpi; drop one")
        try:
            from svsim.mpi import world

            rank = world("calls").Get_rank()
            seed = world("calls").bcast(seed, root=0)  # rank 0's seed on every rank
        except SvsimError as exc:
            raise UsageError(f"svsim run: {_one_line(exc)}") from None
    try:
        backend = BasicSimulator(
            precision=args.precision, max_parallel_threads=args.threads, mpi=args.mpi
        )
    except SvsimError as exc:
        raise UsageError(f"svsim run: {_one_line(exc)}") from None
    circuit = _build_circuit(args, backend, seed)
    if "measure" not in circuit.count_ops():
        circuit.measure_all()
    try:
        job = backend.run(circuit, shots=args.shots, seed_simulator=seed, memory=False)
    except SvsimError as exc:  # too large for memory, or a circuit the kernel refuses
        raise UsageError(f"svsim run: {_one_line(exc)}") from None
    label = f"{circuit.name} ({_plural(circuit.num_qubits, 'qubit')}, {args.precision})"
    if rank != 0:  # every rank runs the job; rank 0 alone reports it
        try:
            job.result()
        except JobError:
            return EXIT_FAILED
        return EXIT_OK
    try:
        _follow(job, label)
    except KeyboardInterrupt:
        return _cancel(job)
    try:
        result = job.result()
    except JobError as exc:
        cause = exc.__cause__
        _say(f"svsim run: the job failed: {_one_line(cause if cause is not None else exc)}")
        return EXIT_FAILED
    counts = result.get_counts(0)
    try:
        if args.statevector is not None:
            with open(args.statevector, "wb") as handle:
                np.save(handle, result.get_statevector(0))
            _say(f"svsim run: wrote the final statevector to {args.statevector}")
        if args.plot is not None:
            title = f"{circuit.name}: top outcomes of {len(counts)}"
            if _nearly_uniform(counts, args.top):
                title += f" (spread nearly evenly over {_plural(args.shots, 'shot')})"
            _plot_counts(args.plot, title, _top_counts(counts, args.top), args.shots)
            _say(f"svsim run: wrote the histogram to {args.plot}")
    except OSError as exc:
        _say(f"svsim run: cannot write {exc.filename or ''}: {exc.strerror or _one_line(exc)}")
        return EXIT_USAGE
    if args.json:
        json.dump(result.to_dict(), sys.stdout)
        sys.stdout.write("\n")
    else:
        print("\n".join(_summary(circuit, result, seed, args.top, counts)))
    sys.stdout.flush()
    return EXIT_OK
