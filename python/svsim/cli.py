"""The ``svsim`` command line: ``svsim run``, ``svsim info`` and ``svsim bench``.

``svsim run SPEC`` builds a circuit (a built-in family from
:mod:`svsim.families`, or a ``.qasm`` file), submits it through
:meth:`svsim.BasicSimulator.run`, draws a progress bar from ``job.progress()``
on stderr while it runs, and prints a summary (or, with ``--json``, the
result's ``to_dict()`` alone) on stdout.  Ctrl-C cancels the job with
``job.cancel()`` and exits with 130.

Exit codes: 0 success; 1 the run itself failed; 2 bad input (one line on
stderr, never a traceback); 130 interrupted.

The progress bar needs ``tqdm`` and ``--plot`` needs ``matplotlib``, both in
the ``cli`` extra; without tqdm the command still runs, with a plain message
instead of a bar.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import platform
import secrets
import sys
import time
from collections.abc import Sequence
from typing import IO, Any, NoReturn

import numpy as np

import svsim
from svsim import engine, families, stabilizer
from svsim._qiskit_types import HAVE_QISKIT
from svsim.backend import BACKEND_NAME, BasicSimulator
from svsim.circuit import Circuit
from svsim.exceptions import JobError, SvsimError
from svsim.job import BasicProviderJob, JobStatus
from svsim.options import SEED_LIMIT

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C

DEFAULT_QUBITS = 20
DEFAULT_SHOTS = 1024
DEFAULT_TOP = 10
POLL_SECONDS = 0.05

CLI_EXTRA = 'pip install "svsim[cli]"'
QISKIT_EXTRA = 'pip install "svsim[qiskit]"'

_EXAMPLES = """\
examples:
  svsim run ghz --qubits 20 --shots 1000
  svsim run random --qubits 24 --depth 20 --precision single --threads 2
  svsim run qv --qubits 16 --seed 7 --json | jq '.results[0].data.counts'
  svsim run circuit.qasm --plot counts.png --statevector state.npy
  svsim info
  svsim bench --quick --out bench-results
"""

# Instructions that are not gates, for the summary's gate count.
_NOT_GATES = ("measure", "barrier", "reset")


class UsageError(Exception):
    """Bad input from the user: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, raised instead of printed."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (Qiskit's parse errors span several)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _int_at_least(minimum: int, maximum: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value >= maximum):
            bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum})"
            raise argparse.ArgumentTypeError(f"must be an integer {bound}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _format_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _peak_rss_bytes() -> int | None:
    """The process's peak resident memory, where the platform reports it."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _version_of(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------
# svsim run


def _check_output_path(path: str, option: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"svsim run: {option} {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise UsageError(f"svsim run: {option} {path!r}: the folder {parent!r} does not exist")


def _fits(backend: BasicSimulator, num_qubits: int, precision: str) -> None:
    """Refuse a family size beyond memory before building anything."""
    limit = backend.max_num_qubits
    if num_qubits > limit:
        need = engine.state_bytes(num_qubits, precision) if num_qubits < 100 else None
        need_text = f" ({_format_bytes(need)})" if need is not None else ""
        hint = " (try --precision single)" if precision == "double" else ""
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
    with open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=120)


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


# --------------------------------------------------------------------------
# svsim info


def _info() -> dict[str, Any]:
    build = svsim.build_info()
    available = engine.available_memory_bytes()
    limit_mb = engine.default_max_memory_mb()
    max_qubits = {}
    for precision in build.get("precisions", ("single", "double")):
        n = engine.max_qubits_for(limit_mb, precision)
        max_qubits[precision] = {
            "qubits": n,
            "statevector_bytes": engine.state_bytes(n, precision) if n > 0 else 0,
        }
    extras = {
        name: _version_of(dist)
        for name, dist in (
            ("qiskit", "qiskit"),
            ("stim", "stim"),
            ("tqdm", "tqdm"),
            ("matplotlib", "matplotlib"),
            ("distributed", "distributed"),
        )
    }
    return {
        "version": svsim.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
        "build": {k: (list(v) if isinstance(v, tuple) else v) for k, v in build.items()},
        "memory": {"available_bytes": available, "limit_bytes": limit_mb << 20},
        "max_qubits": max_qubits,
        "backend": {
            "name": BACKEND_NAME,
            "qiskit_backend_v2": HAVE_QISKIT,
            "methods": ["statevector", *(["stabilizer"] if extras["stim"] else [])],
        },
        "extras": extras,
    }


def _cmd_info(args: argparse.Namespace) -> int:
    info = _info()
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    build = info["build"]
    simd = build.get("simd", "?")
    cpu_simd = build.get("cpu_simd")
    simd_text = simd if cpu_simd in (None, simd) else f"{simd} (this CPU: {cpu_simd})"
    mem = info["memory"]
    lines = [
        f"svsim {info['version']} (Python {info['python']}, numpy {info['numpy']}, "
        f"{info['platform']})",
        f"  build       {build.get('max_threads', '?')} threads (svsim's thread pool), "
        f"SIMD {simd_text}, precisions {', '.join(build.get('precisions', ()))}",
        f"  memory      {_format_bytes(mem['available_bytes'])} available; default limit "
        f"{_format_bytes(mem['limit_bytes'])} (80%)",
    ]
    for precision, fit in info["max_qubits"].items():
        lines.append(
            f"  max qubits  {fit['qubits']:>2} in {precision} precision "
            f"({_format_bytes(fit['statevector_bytes'])} statevector)"
        )
    backend = info["backend"]
    kind = "a Qiskit BackendV2" if backend["qiskit_backend_v2"] else "numpy only (no Qiskit)"
    lines.append(
        f"  backend     BasicSimulator ({backend['name']!r}), {kind}; methods "
        f"{', '.join(backend['methods'])}"
        + ("" if "stabilizer" in backend["methods"] else " (stabilizer: pip install stim)")
    )
    extras = ", ".join(
        f"{name} {version}" if version else f"{name} (not installed)"
        for name, version in info["extras"].items()
    )
    lines.append(f"  optional    {extras}")
    print("\n".join(lines))
    return EXIT_OK


# --------------------------------------------------------------------------
# svsim bench


def _split_peers(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name for value in values for name in value.split(",") if name]


def _bench_table(results: dict[str, Any]) -> list[str]:
    """Medians per circuit and simulator, and svsim's time over each peer's.

    One row per (section, circuit, qubits, precision, threads) of the
    non-micro sections; the gate microbenchmarks are in ``results.md``.
    A ratio below 1 means svsim was faster.
    """
    records = [r for r in results.get("records", []) if r.get("section") != "micro"]
    sims = sorted({r["sim"] for r in records}, key=lambda s: (s != "svsim", s))
    peers = [s for s in sims if s != "svsim"]
    cells: dict[tuple[Any, ...], dict[str, float | None]] = {}
    for r in records:
        key = (r["section"], r.get("family", r["section"]), r["n"], r["precision"], r["threads"])
        cells.setdefault(key, {})[r["sim"]] = r.get("median_s")
    header = ["circuit", "n", "precision", "thr", *sims, *(f"svsim/{p}" for p in peers)]
    rows = [header]
    for key in sorted(cells, key=lambda k: (k[0] != "family", k[0], k[1], k[3], -k[4], k[2])):
        _section, circuit, n, precision, threads = key
        cell = cells[key]
        row = [str(circuit), str(n), precision, str(threads)]
        row += ["-" if cell.get(s) is None else _format_seconds(cell[s]) for s in sims]  # type: ignore[arg-type]
        for peer in peers:
            mine, theirs = cell.get("svsim"), cell.get(peer)
            row.append(f"{mine / theirs:.2f}" if mine and theirs else "-")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        parts = [
            text.ljust(width) if column < 3 else text.rjust(width)
            for column, (text, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        from svsim.bench.peers import PEERS
        from svsim.bench.suite import run_suite
    except ImportError as exc:
        _say(f"svsim bench: the benchmark suite is not available in this install ({exc})")
        return EXIT_FAILED
    peers = _split_peers(args.peers)
    for name in peers or ():
        if name not in PEERS and ":" not in name:
            raise UsageError(
                f"svsim bench: unknown peer {name!r}; choose from {', '.join(PEERS)} "
                "(or module:Class)"
            )
    command = "svsim bench" + (" --quick" if args.quick else "")
    if peers is not None:
        command += " --peers " + " ".join(peers)
    command += f" --out {args.out}"
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"svsim bench: cannot create {args.out!r}: {exc.strerror}") from None
    results = run_suite(
        quick=args.quick,
        peers=peers,
        out_dir=args.out,
        command=command,
        log=lambda text: _say(f"svsim bench: {text}"),
    )
    print("\n".join(_bench_table(results)))
    print("(median times; svsim/peer < 1 means svsim was faster)")
    for note in results.get("notes", []):
        _say(f"svsim bench: {note.get('sim', '?')}: {note.get('note', '')}")
    written = [os.path.join(args.out, name) for name in ("results.json", "results.md")]
    plots = os.path.join(args.out, "plots")
    if os.path.isdir(plots):
        written += sorted(os.path.join(plots, f) for f in os.listdir(plots) if f.endswith(".png"))
    _say(f"svsim bench: wrote {', '.join(written)}")
    failures = int(results.get("check_failures", 0))
    if failures:
        _say(f"svsim bench: {failures} check(s) failed: a simulator's answer differed from svsim's")
        return EXIT_FAILED
    return EXIT_OK


# --------------------------------------------------------------------------
# The parser and the entry point


def build_parser() -> argparse.ArgumentParser:
    """The ``svsim`` argument parser, with its three subcommands."""
    parser = _Parser(
        prog="svsim",
        description="svsim: a fast statevector quantum-circuit simulator.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"svsim {svsim.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="run a built-in circuit family or a .qasm file, with a progress bar",
        description=(
            "Run a circuit and print a summary of the outcomes. SPEC is a built-in family "
            f"({', '.join(families.FAMILIES)}) or a .qasm file (needs {QISKIT_EXTRA}). "
            "Ctrl-C cancels the job (exit code 130)."
        ),
    )
    run.add_argument("spec", metavar="SPEC", help="ghz, qft, random, qv, or a .qasm file")
    run.add_argument(
        "-n",
        "--qubits",
        type=_int_at_least(1),
        metavar="N",
        help=f"qubits of a built-in family (default {DEFAULT_QUBITS})",
    )
    run.add_argument(
        "-d",
        "--depth",
        type=_int_at_least(1),
        metavar="D",
        help=f"layers of random (default {families.DEFAULT_DEPTH}) or qv (default: N)",
    )
    run.add_argument(
        "-s",
        "--shots",
        type=_int_at_least(1),
        default=DEFAULT_SHOTS,
        metavar="S",
        help=f"measurement shots (default {DEFAULT_SHOTS})",
    )
    run.add_argument(
        "-p",
        "--precision",
        choices=("single", "double"),
        default="double",
        help="amplitudes as complex64 (single) or complex128 (double, the default)",
    )
    run.add_argument(
        "-t",
        "--threads",
        type=_int_at_least(0),
        default=0,
        metavar="T",
        help="kernel threads (default 0: all cores)",
    )
    run.add_argument(
        "--seed",
        type=_int_at_least(0, SEED_LIMIT),
        metavar="S",
        help="seeds both the random families and the sampling (default: drawn and printed)",
    )
    run.add_argument(
        "--top",
        type=_int_at_least(1),
        default=DEFAULT_TOP,
        metavar="K",
        help=f"outcomes shown in the summary and the plot (default {DEFAULT_TOP})",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the result's to_dict() alone on stdout (messages go to stderr)",
    )
    run.add_argument(
        "--plot", metavar="FILE", help=f"write a PNG histogram of the top outcomes ({CLI_EXTRA})"
    )
    run.add_argument(
        "--statevector", metavar="FILE", help="write the final statevector as a .npy file"
    )
    run.add_argument(
        "--mpi",
        action="store_true",
        help="one state over the ranks of an MPI job: mpiexec -n 4 svsim run ... --mpi "
        "(the mpi extra); rank 0 prints",
    )
    run.set_defaults(handler=_cmd_run)

    info = commands.add_parser(
        "info",
        help="version, build (threads, SIMD) and the largest circuits that fit",
        description="Show svsim's version, build and the qubit counts this machine can hold.",
    )
    info.add_argument("--json", action="store_true", help="print the information as JSON")
    info.set_defaults(handler=_cmd_info)

    bench = commands.add_parser(
        "bench",
        help="run the benchmark suite against the installed peers",
        description=(
            "Run the benchmark suite: prints a table of medians and ratios, writes JSON "
            "and a PNG plot to --out."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="a short run (well under a minute)")
    bench.add_argument(
        "--peers",
        nargs="+",
        metavar="NAME",
        help="peers to compare with (names, space- or comma-separated; default: all installed)",
    )
    bench.add_argument(
        "--out",
        default="bench-results",
        metavar="DIR",
        help="folder for the JSON and the plot (default: bench-results)",
    )
    bench.set_defaults(handler=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``svsim`` command line with ``argv`` (default ``sys.argv[1:]``); the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return EXIT_OK
        return int(args.handler(args))
    except UsageError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("svsim: interrupted")
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except BrokenPipeError:  # e.g. `svsim info | head -1`
        # Point stdout at /dev/null so the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
