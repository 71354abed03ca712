"""The benchmark suite's orchestration: :func:`run_suite`, the rounds of worker
processes it starts (each simulator in its own), and the command line (:func:`main`).

The stages live beside it: :mod:`svsim.bench.config` (what a run measures),
:mod:`svsim.bench.checks` (checked before timed), :mod:`svsim.bench.machine`
(the machine and its copy floor), :mod:`svsim.bench.worker` (the timing) and
:mod:`svsim.bench.report` (markdown, plots, headline).

One call of :func:`run_suite` measures the machine's copy bandwidth (the
physical floor), then, for every thread count and precision, runs each
simulator in a fresh process of its own (so that thread counts a library reads
from the environment at import take effect), and writes ``results.json`` (every
raw repeat), ``results.md`` (medians and ratios) and one PNG per family.

In every cell (simulator, family, qubits, threads, precision) the native
circuit is built once (not timed); a first run is the warm-up and the check:
its final state must have fidelity > 1 - 1e-6 with svsim's state (samples: a
statistical test against svsim's exact probabilities); a peer that fails is
not timed, and the failure is reported.  Then ``repeats`` timed runs, from the
built circuit to the final state (or to the samples), whose median is the
figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from svsim.bench import circuits as C
from svsim.bench.checks import fidelity, sample_check
from svsim.bench.config import (
    DEFAULT_PEERS,
    FIDELITY_TOL,
    SECTIONS,
    BenchCheckError,
    BenchConfig,
    _json_default,
    _log,
    thread_environment,
)
from svsim.bench.machine import available_memory, machine_info, measure_floor
from svsim.bench.peers import Peer, make_peer
from svsim.bench.report import _summary, write_markdown, write_plots
from svsim.bench.worker import _loadavg, run_worker

__all__ = [
    "BenchCheckError",
    "BenchConfig",
    "FIDELITY_TOL",
    "fidelity",
    "machine_info",
    "main",
    "measure_floor",
    "run_suite",
    "sample_check",
    "write_markdown",
    "write_plots",
]


# ---------------------------------------------------------------- worker processes


@dataclass
class _Job:
    """One worker: a simulator at one thread count and precision, over one window of sizes."""

    item: str | Peer
    peer: Peer
    threads: int
    precision: str
    window: tuple[int | None, int | None]

    @property
    def tag(self) -> str:
        name = self.peer.name.replace(":", "_")
        return f"{name}-{self.precision}-t{self.threads}-w{self.window[1]}"


def _run_isolated(
    job: _Job,
    config: BenchConfig,
    deadline: float | None,
    history: list[dict[str, Any]],
    workdir: Path,
) -> list[dict[str, Any]]:
    """One worker process, with the thread count in its environment before any import."""
    assert isinstance(job.item, str)
    out = workdir / f"{job.tag}.jsonl"
    spec_path = workdir / f"{job.tag}.json"
    spec_path.write_text(
        json.dumps(
            {
                "peer": job.item,
                "config": asdict(config),
                "threads": job.threads,
                "precision": job.precision,
                "deadline": deadline,
                "window": list(job.window),
                "history": history,
                "out": str(out),
            },
            default=_json_default,
        )
    )
    env = thread_environment(job.threads)
    code = "import sys; from svsim.bench.worker import worker_main as m; sys.exit(m(sys.argv[1]))"
    timeout = None if deadline is None else max(deadline - time.time(), 0) + 300
    records: list[dict[str, Any]] = []
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(spec_path)], env=env, timeout=timeout, check=False
        )
        status: int | str = proc.returncode
    except subprocess.TimeoutExpired:
        status = "timeout"
    if out.exists():
        records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    if status != 0:
        records.append(
            {
                "type": "note",
                "sim": job.peer.name,
                "threads": job.threads,
                "precision": job.precision,
                "section": "worker",
                "note": f"worker ended with status {status}; its figures so far are kept",
                "error": True,
            }
        )
    return records


def _windows(config: BenchConfig) -> list[tuple[int | None, int | None]]:
    """The rounds: every size up to ``first_round_max`` first, then one size at a time."""
    sizes = set(config.qubits) | set(config.micro_sizes())
    if "shots" in config.sections:
        sizes |= set(config.shot_qubits)
    big = sorted(n for n in sizes if n > config.first_round_max)
    bounds: list[int | None] = [None, config.first_round_max, *big]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def _cell_cost(record: dict[str, Any]) -> float:
    return record.get("warmup_s", 0.0) + sum(record["times_s"]) + record.get("build_s", 0.0)


def _section_sizes(config: BenchConfig, section: str) -> list[int]:
    if section == "family":
        return list(config.qubits)
    if section == "micro":
        return config.micro_sizes()
    if section == "shots":
        return list(config.shot_qubits)
    return []


def _predict_round(
    records: list[dict[str, Any]],
    threads: int,
    window: tuple[int | None, int | None],
    thread_order: list[int],
    config: BenchConfig,
    caps: dict[str, int | None],
    fixed: set[str],
) -> float | None:
    """Seconds a round will take, or None if there is nothing to go on.

    Each series (simulator, precision, circuit) at this thread count grows from
    its largest timed size, x2 per qubit, to each of its sizes in the window;
    cells over the cell cap are left out (they will be skipped).  For a thread
    count's first round: that round at the most threads, x their ratio.
    """
    lo, hi = window
    done = [r for r in records if r.get("type") == "result" and r["median_s"] is not None]

    def inside(n: int) -> bool:
        return (lo is None or n > lo) and (hi is None or n <= hi)

    mine = [r for r in done if r["threads"] == threads and r["sim"] not in fixed]
    if not mine:
        if threads == thread_order[0]:
            return None
        first = [
            r
            for r in done
            if r["threads"] == thread_order[0] and r["sim"] not in fixed and inside(r["n"])
        ]
        if not first:
            return None
        ratio = thread_order[0] / threads
        return 1.3 * sum(
            c for c in (_cell_cost(r) * ratio for r in first) if c <= config.cell_seconds
        )
    last: dict[tuple, dict[str, Any]] = {}
    for r in mine:
        key = (r["sim"], r["precision"], r["section"], r["family"], r.get("shots"))
        if key not in last or r["n"] > last[key]["n"]:
            last[key] = r
    total = 0.0
    for (sim, _, section, _, _), r in last.items():
        cap = caps.get(sim)
        for n in _section_sizes(config, section):
            if not inside(n) or n <= r["n"] or (cap is not None and n > cap):
                continue
            cost = _cell_cost(r) * 2.0 ** (n - r["n"])
            if cost <= config.cell_seconds:
                total += cost
    return 1.3 * total  # svsim's reference states, process starts, builds


# ---------------------------------------------------------------- the suite


def run_suite(
    quick: bool = False,
    peers: Sequence[str | Peer] | None = None,
    out_dir: str | os.PathLike[str] = "bench/out",
    qubits: Sequence[int] | None = None,
    threads: Sequence[int] | None = None,
    config: BenchConfig | None = None,
    isolate: bool = True,
    strict: bool = False,
    plots: bool = True,
    command: str | None = None,
    log: Callable[[str], None] = _log,
    **overrides: Any,
) -> dict[str, Any]:
    """Run the benchmark and write ``results.json``, ``results.md`` and plots in ``out_dir``.

    ``peers``: names from :data:`svsim.bench.peers.PEERS` (svsim is always
    added), ``"module:Class"`` strings, or :class:`Peer` objects (run in this
    process).  ``isolate=False`` runs named peers in this process too (thread
    counts read from the environment then stay as they are).  ``overrides``
    set :class:`BenchConfig` fields.  With ``strict`` a failed check raises
    :class:`BenchCheckError` after the reports are written.  Returns the
    results dict (the JSON's content).

    The work goes in rounds: every size up to ``first_round_max`` (and the
    mid-circuit and many-circuit cases), then each larger size in turn, all
    simulators in a round before the next; within a round the most threads
    first.  With a ``budget_seconds``, a round (for one thread count) whose
    predicted time exceeds what is left is skipped whole, so every simulator
    reaches the same sizes; each is noted.
    """
    if config is None:
        config = BenchConfig.quick() if quick else BenchConfig()
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise TypeError(f"unknown benchmark setting {key!r}")
        setattr(config, key, value)
    if qubits is not None:
        config.qubits = sorted(int(q) for q in qubits)
    if threads is not None:
        config.threads = [int(t) for t in threads]
    wanted: list[str | Peer] = list(DEFAULT_PEERS if peers is None else peers)
    if not any((p if isinstance(p, str) else p.name) == "svsim" for p in wanted):
        wanted.insert(0, "svsim")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_start = _loadavg()
    deadline = None if config.budget_seconds is None else started + config.budget_seconds

    notes: list[dict[str, Any]] = []
    versions: dict[str, str] = {}
    runnable: list[tuple[str | Peer, Peer]] = []
    for item in wanted:
        peer = make_peer(item)
        why = peer.available()
        if why:
            notes.append({"sim": peer.name, "note": f"skipped: {why}"})
            log(f"skipping {peer.name}: {why}")
            continue
        with contextlib.suppress(Exception):
            versions[peer.name] = peer.version()
        runnable.append((item, peer))

    sizes = set(config.qubits) | set(config.micro_sizes())
    if "shots" in config.sections:
        sizes |= set(config.shot_qubits)
    fit = {n for n in sizes if 3 * 16 << n <= config.memory_fraction * available_memory()}
    log(f"floor: copy bandwidth at {sorted(fit)} qubits")
    floor = measure_floor(fit, config.precisions, config.threads)

    thread_order = sorted(set(config.threads), reverse=True)
    windows = _windows(config)
    caps = {peer.name: peer.max_qubits for _, peer in runnable}
    fixed_names = {peer.name for _, peer in runnable if peer.fixed_threads}
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="svsim-bench-") as tmp:
        # the most threads first, all sizes; then the next thread count
        for t in thread_order:
            stopped = False  # once a round is skipped, the larger ones are too
            # the most threads may use first_pass_share of the budget, the rest after them
            pass_end = deadline
            if deadline is not None and t == thread_order[0] and len(thread_order) > 1:
                pass_end = started + config.budget_seconds * config.first_pass_share
            for window in windows:
                if stopped:
                    notes.append(
                        {"threads": t, "note": f"round {window[0]} < n <= {window[1]} skipped too"}
                    )
                    continue
                limit = config.single_thread_max_qubits
                if t == 1 and limit is not None and window[0] is not None and window[0] >= limit:
                    continue
                jobs = []
                for precision in config.precisions:
                    for item, peer in runnable:
                        if precision not in peer.precisions:
                            continue
                        if peer.fixed_threads is not None and t != thread_order[0]:
                            continue  # no thread setting: it runs once, in the first pass
                        threads_for = peer.fixed_threads or t
                        jobs.append(_Job(item, peer, threads_for, precision, window))
                if pass_end is not None:
                    predicted = _predict_round(
                        records, t, window, thread_order, config, caps, fixed_names
                    )
                    left = pass_end - time.time()
                    if predicted is not None and predicted > left:
                        text = (
                            f"round {window[0] or 0} < n <= {window[1]} at {t} thread(s) "
                            f"skipped: predicted {predicted:.0f} s, {max(left, 0):.0f} s of the "
                            "budget left"
                        )
                        notes.append({"threads": t, "note": text})
                        log(text)
                        stopped = True
                        continue
                # The first round (the base of every comparison) has no deadline: only
                # the cell cap.  A later round was predicted to fit; its workers may use
                # what is left of the pass, a guard should the prediction be wrong.
                first_round = t == thread_order[0] and window == windows[0]
                for job in jobs:
                    share = None if first_round else pass_end
                    log(
                        f"[{time.time() - started:6.0f} s] {job.peer.name} {job.precision} "
                        f"threads={job.threads} qubits {window[0] or 0}<n<={window[1] or 'all'}"
                    )
                    history = [
                        r
                        for r in records
                        if r.get("type") == "result"
                        and (r["sim"], r["threads"], r["precision"])
                        == (job.peer.name, job.threads, job.precision)
                    ]
                    if isolate and isinstance(job.item, str):
                        records += _run_isolated(job, config, share, history, Path(tmp))
                    else:
                        records += run_worker(
                            job.peer,
                            config,
                            job.threads,
                            job.precision,
                            share,
                            log,
                            job.window,
                            history,
                        )

    failures = [r for r in records if r.get("type") == "result" and not r["check"]["ok"]]
    settings: dict[str, Any] = {}
    for r in records:
        if r.get("type") == "settings":
            settings[f"{r['sim']} {r['precision']} t={r['threads']} fusion={r['fusion']}"] = r
    results = {
        "meta": {
            "command": command or f"run_suite(quick={quick!r})",
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "elapsed_s": round(time.time() - started, 1),
            "machine": machine_info(),
            "versions": versions,
            "config": asdict(config),
            "fidelity_tolerance": FIDELITY_TOL,
            "isolated": isolate,
            "loadavg_start": load_start,
            "loadavg_end": _loadavg(),
            "fixed_threads": {
                peer.name: peer.fixed_threads for _, peer in runnable if peer.fixed_threads
            },
        },
        "floor": floor,
        "records": [r for r in records if r.get("type") == "result"],
        "settings": list(settings.values()),
        "notes": notes + [r for r in records if r.get("type") == "note"],
        "check_failures": len(failures),
    }
    (out / "results.json").write_text(json.dumps(results, indent=1, default=_json_default))
    write_markdown(results, out / "results.md")
    if plots:
        try:
            write_plots(results, out / "plots")
        except ImportError as exc:
            log(f"no plots: {exc}")
    log(_summary(results))
    log(f"wrote {out / 'results.json'}, {out / 'results.md'}" + (" and plots/" if plots else ""))
    if strict and failures:
        names = sorted({f"{r['sim']} {r['family']} n={r['n']}" for r in failures})
        raise BenchCheckError(f"{len(failures)} check(s) failed: {', '.join(names)}")
    return results


# ---------------------------------------------------------------- command line


def _int_list(text: str) -> list[int]:
    """``"12,14,16"`` or ``"12:26:2"`` (inclusive)."""
    if ":" in text:
        parts = [int(p) for p in text.split(":")]
        start, stop = parts[0], parts[1]
        step = parts[2] if len(parts) > 2 else 1
        return list(range(start, stop + 1, step))
    return [int(p) for p in text.split(",") if p]


def build_parser(prog: str = "svsim bench") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Benchmark svsim against its peers (see bench/README.md)."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (10..14 qubits)")
    parser.add_argument(
        "--peers",
        nargs="+",
        default=None,
        help=f"simulators to run (default: {' '.join(DEFAULT_PEERS)}); svsim is always run",
    )
    parser.add_argument("--out", default="bench/out", help="output directory")
    parser.add_argument("--qubits", type=_int_list, help="e.g. 12:26:2 or 12,16,20")
    parser.add_argument("--micro-qubits", type=_int_list, help="sizes of the gate benchmarks")
    parser.add_argument("--threads", type=_int_list, help="thread counts, e.g. 2,1")
    parser.add_argument("--precisions", nargs="+", choices=["double", "single"])
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS))
    parser.add_argument("--families", nargs="+", choices=list(C.FAMILIES))
    parser.add_argument("--repeats", type=int, help="timed runs per figure (at least 3)")
    parser.add_argument("--shots", type=_int_list, help="shot counts, e.g. 1000,100000")
    parser.add_argument("--shot-qubits", type=_int_list)
    parser.add_argument("--mid-qubits", type=int)
    parser.add_argument("--batch-circuits", type=int)
    parser.add_argument("--basic-max-qubits", type=int)
    parser.add_argument("--single-thread-max-qubits", type=int)
    parser.add_argument("--cell-seconds", type=float, help="skip cells predicted to be longer")
    parser.add_argument("--budget", type=float, help="seconds for the whole run")
    parser.add_argument(
        "--first-round-max", type=int, help="sizes up to this in the first round (default 20)"
    )
    parser.add_argument(
        "--first-pass-share", type=float, help="share of --budget for the most threads (0.7)"
    )
    parser.add_argument(
        "--qsim-fused-gate-size",
        type=int,
        choices=range(1, 7),
        metavar="{1..6}",
        help="force qsim's max_fused_gate_size (default: per circuit, the fastest of 2, 3, 4)",
    )
    parser.add_argument("--in-process", action="store_true", help="no worker processes")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 2 if a check fails")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "svsim bench") -> int:
    """The command line (``svsim bench`` and ``bench/run.py``); returns the exit status."""
    args = build_parser(prog).parse_args(argv)
    config = BenchConfig.quick() if args.quick else BenchConfig()
    mapping = {
        "qubits": "qubits",
        "micro_qubits": "micro_qubits",
        "threads": "threads",
        "precisions": "precisions",
        "sections": "sections",
        "families": "families",
        "repeats": "repeats",
        "shots": "shots",
        "shot_qubits": "shot_qubits",
        "mid_qubits": "mid_qubits",
        "batch_circuits": "batch_circuits",
        "basic_max_qubits": "basic_max_qubits",
        "single_thread_max_qubits": "single_thread_max_qubits",
        "cell_seconds": "cell_seconds",
        "budget": "budget_seconds",
        "first_round_max": "first_round_max",
        "first_pass_share": "first_pass_share",
        "qsim_fused_gate_size": "qsim_max_fused_gate_size",
    }
    for arg, key in mapping.items():
        value = getattr(args, arg)
        if value is not None:
            setattr(config, key, value)
    if config.repeats < 3:
        print("--repeats must be at least 3", file=sys.stderr)
        return 2
    command = " ".join([prog, *(argv if argv is not None else sys.argv[1:])])
    try:
        results = run_suite(
            peers=args.peers,
            out_dir=args.out,
            config=config,
            isolate=not args.in_process,
            strict=args.strict,
            plots=not args.no_plots,
            command=command,
        )
    except BenchCheckError as exc:
        print(f"check failed: {exc}", file=sys.stderr)
        return 2
    return 1 if results["check_failures"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
