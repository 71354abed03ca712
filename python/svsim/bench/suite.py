"""The benchmark suite: configuration, checks, timing, workers, reports.

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
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from svsim.bench import circuits as C
from svsim.bench.peers import Peer, SvsimPeer, make_peer

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

FIDELITY_TOL = 1e-6
ITEMSIZE = {"double": 16, "single": 8}
DEFAULT_PEERS = ("svsim", "aer", "qulacs", "qsim", "lightning", "qibojit", "basic")
SECTIONS = ("family", "micro", "shots", "mid", "batch")
# How a worker shares its time among the sections when there is a budget.
SECTION_WEIGHTS = {"family": 0.5, "micro": 0.25, "shots": 0.15, "mid": 0.05, "batch": 0.05}


class BenchCheckError(RuntimeError):
    """A simulator's answer differed from svsim's: its figures were not taken."""


@dataclass
class BenchConfig:
    """Everything one run measures.  ``quick()`` gives the small version."""

    qubits: list[int] = field(default_factory=lambda: list(range(12, 29, 2)))
    micro_qubits: list[int] | None = None  # None: the same as ``qubits``
    threads: list[int] = field(default_factory=lambda: default_threads())
    precisions: list[str] = field(default_factory=lambda: ["double", "single"])
    sections: list[str] = field(default_factory=lambda: list(SECTIONS))
    families: list[str] = field(default_factory=lambda: list(C.FAMILIES))
    micro_gates: list[str] = field(default_factory=lambda: list(C.MICRO_GATES))
    micro_reps: int = 10
    repeats: int = 3
    shots: list[int] = field(default_factory=lambda: [1000, 100_000, 1_000_000])
    shot_qubits: list[int] = field(default_factory=lambda: [20, 26])
    mid_qubits: int = 12
    mid_shots: int = 1000
    batch_circuits: int = 1000
    batch_qubits: int = 10
    batch_gates: int = 100
    batch_shots: int = 100
    basic_max_qubits: int = 20
    single_thread_max_qubits: int | None = None  # cap n for the 1-thread runs
    cell_seconds: float = 120.0  # skip a cell predicted to take longer than this
    budget_seconds: float | None = None  # the whole run; None: no limit
    first_pass_share: float = 0.7  # of the budget, for the most threads (the rest: fewer)
    memory_fraction: float = 0.6  # of the available memory, for the states of one cell
    memory_wait_seconds: float = 120.0  # wait this long for memory that others hold
    first_round_max: int = 20  # sizes up to this in the first round, then one at a time
    qsim_max_fused_gate_size: int = 4
    qulacs_block_size: int = 2
    seed: int = 1234

    @classmethod
    def quick(cls, **overrides: Any) -> BenchConfig:
        base = cls(
            qubits=[10, 12, 14],
            micro_qubits=[12],
            threads=default_threads()[:1],
            shots=[1000, 100_000],
            shot_qubits=[12],
            mid_qubits=10,
            batch_circuits=100,
            cell_seconds=30.0,
        )
        for key, value in overrides.items():
            setattr(base, key, value)
        return base

    def micro_sizes(self) -> list[int]:
        return list(self.qubits if self.micro_qubits is None else self.micro_qubits)


def default_threads() -> list[int]:
    cores = os.cpu_count() or 1
    return [cores, 1] if cores > 1 else [1]


# ---------------------------------------------------------------- checks


def _dot(a: np.ndarray, b: np.ndarray) -> complex:
    """``<a|b>`` accumulated in complex128, a slice at a time (no full-size copies)."""
    total = 0j
    step = 1 << 20
    for start in range(0, a.size, step):
        x = a[start : start + step].astype(np.complex128, copy=False)
        y = b[start : start + step].astype(np.complex128, copy=False)
        total += complex(np.vdot(x, y))
    return total


def fidelity(reference: np.ndarray, state: np.ndarray) -> float:
    """``|<a|b>|^2 / (<a|a> <b|b>)``, accumulated in double precision.

    Normalised, so that the rounding of single-precision norms (first order in
    the fidelity) does not count; the norms are checked separately.
    """
    a = np.ravel(np.asarray(reference))
    b = np.ravel(np.asarray(state))
    if a.shape != b.shape:
        return 0.0
    na = _dot(a, a).real
    nb = _dot(b, b).real
    if not (na > 0 and nb > 0 and math.isfinite(na) and math.isfinite(nb)):
        return 0.0
    return float(abs(_dot(a, b)) ** 2 / (na * nb))


def state_check(reference: np.ndarray, state: np.ndarray, precision: str) -> dict[str, Any]:
    fid = fidelity(reference, state)
    flat = np.ravel(np.asarray(state))
    norm = _dot(flat, flat).real if flat.size else 0.0
    norm_tol = 1e-4 if precision == "single" else 1e-8
    ok = fid > 1 - FIDELITY_TOL and abs(norm - 1) < norm_tol
    return {"ok": bool(ok), "fidelity": fid, "norm": norm}


def sample_check(
    probabilities: Sequence[np.ndarray], counts: Sequence[dict[int, int]], shots: int
) -> dict[str, Any]:
    """Do the samples come from ``probabilities``?  (one pair per circuit)

    The statistic is the mean exact probability of the sampled outcomes; drawn
    from ``P`` its mean is ``sum(P^2)`` and its variance ``sum(P^3) - sum(P^2)^2``
    per sample.  Samples from a wrong distribution (reversed bits, a wrong
    angle) move it by far more than the 6 sigma allowed.  Every circuit's
    counts must also add up to ``shots``.
    """
    total = observed = expected = variance = 0.0
    for probs, got in zip(probabilities, counts, strict=True):
        p = np.asarray(probs, dtype=np.float64)
        keys = np.fromiter(got.keys(), dtype=np.int64, count=len(got))
        values = np.fromiter(got.values(), dtype=np.float64, count=len(got))
        if int(values.sum()) != shots:
            return {"ok": False, "reason": f"counts add up to {int(values.sum())}, not {shots}"}
        if keys.size and (keys.min() < 0 or keys.max() >= p.size):
            return {"ok": False, "reason": "an outcome outside the register"}
        p2 = float(np.dot(p, p))
        p3 = float(np.dot(p * p, p))
        observed += float(np.dot(values, p[keys]))
        expected += shots * p2
        variance += shots * max(p3 - p2 * p2, 0.0)
        total += shots
    stat, mean = observed / total, expected / total
    sigma = math.sqrt(variance) / total
    ok = abs(stat - mean) <= 6 * sigma + 1e-6 * mean
    z = (stat - mean) / sigma if sigma > 0 else 0.0
    return {"ok": bool(ok), "statistic": stat, "expected": mean, "z": z}


_SQ2 = 1 / math.sqrt(2)


def _op_matrix(op: C.Op) -> np.ndarray:
    """The matrix of ``op`` with ``op.qubits[0]`` as its low bit (Qiskit's)."""
    name = op.name
    if name == "unitary":
        return np.asarray(op.matrix)
    if name == "h":
        return np.array([[_SQ2, _SQ2], [_SQ2, -_SQ2]], dtype=complex)
    if name == "x":
        return np.array([[0, 1], [1, 0]], dtype=complex)
    if name in ("rx", "ry", "rz"):
        c, s = math.cos(op.params[0] / 2), math.sin(op.params[0] / 2)
        if name == "rx":
            return np.array([[c, -1j * s], [-1j * s, c]])
        if name == "ry":
            return np.array([[c, -s], [s, c]], dtype=complex)
        return np.diag([complex(c, -s), complex(c, s)])
    if name in ("cx", "swap"):
        perm = [0, 3, 2, 1] if name == "cx" else [0, 2, 1, 3]
        return np.eye(4, dtype=complex)[perm]
    if name == "cz":
        return np.diag([1, 1, 1, -1]).astype(complex)
    if name == "cp":
        return np.diag([1, 1, 1, np.exp(1j * op.params[0])])
    raise ValueError(f"no matrix for {name!r}")


def numpy_apply(state: np.ndarray, ops: Iterable[C.Op], num_qubits: int) -> np.ndarray:
    """A plain numpy statevector reference (for the mid-circuit check)."""
    psi = np.asarray(state, dtype=np.complex128).reshape([2] * num_qubits)
    for op in ops:
        k = len(op.qubits)
        tensor = _op_matrix(op).reshape([2] * (2 * k))
        axes = [num_qubits - 1 - q for q in reversed(op.qubits)]  # high bit first
        psi = np.tensordot(tensor, psi, axes=(list(range(k, 2 * k)), axes))
        psi = np.moveaxis(psi, list(range(k)), axes)
    return psi.reshape(-1)


def mid_circuit_probabilities(spec: C.Spec) -> np.ndarray:
    """Exact outcome probabilities of :func:`~svsim.bench.circuits.mid_circuit_spec`:
    outcome bit 0 is the mid-circuit result, bit ``q + 1`` the final qubit ``q``."""
    n = spec.num_qubits
    ops = list(spec.ops)
    cut = next(i for i, op in enumerate(ops) if op.name == "measure")
    assert ops[cut + 1].name == "reset" and ops[cut].qubits == ops[cut + 1].qubits
    qubit = ops[cut].qubits[0]
    suffix = [op for op in ops[cut + 2 :] if op.name != "measure"]
    start = np.zeros(1 << n, dtype=np.complex128)
    start[0] = 1
    psi = numpy_apply(start, ops[:cut], n)
    ones = (np.arange(1 << n) >> qubit) & 1
    out = np.zeros(1 << (n + 1))
    for bit in (0, 1):
        branch = np.where(ones == bit, psi, 0)
        weight = float(np.vdot(branch, branch).real)
        if weight == 0:
            continue
        if bit:  # reset: move the amplitudes to qubit = 0
            branch = branch[np.arange(1 << n) ^ (1 << qubit)]
        final = numpy_apply(branch / math.sqrt(weight), suffix, n)
        out[bit::2] = weight * np.abs(final) ** 2
    return out


# ---------------------------------------------------------------- machine and floor


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
                info[key] = value.strip()
            if key == "Flags":
                flags = value.split()
                info["simd"] = [f for f in ("avx2", "avx512f", "fma") if f in flags]
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    info["memory_gib"] = round(int(line.split()[1]) / (1 << 20), 1)
    with contextlib.suppress(Exception):
        import svsim

        info["svsim_build"] = {k: str(v) for k, v in svsim.build_info().items()}
    return info


def available_memory() -> int:
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    return 8 << 30


def _copy_seconds(src: np.ndarray, dst: np.ndarray, threads: int, pool: Any) -> float:
    """One timed copy of ``src`` into ``dst`` on ``threads`` threads (numpy releases the GIL)."""
    if threads <= 1:
        start = time.perf_counter()
        np.copyto(dst, src)
        return time.perf_counter() - start
    bounds = np.linspace(0, src.size, threads + 1).astype(int)
    start = time.perf_counter()
    futures = [
        pool.submit(np.copyto, dst[a:b], src[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    for f in futures:
        f.result()
    return time.perf_counter() - start


def measure_floor(
    sizes: Iterable[int], precisions: Iterable[str], threads: Iterable[int], repeats: int = 5
) -> list[dict[str, Any]]:
    """The copy time of a state-sized, pre-touched buffer (read + write: one pass).

    For ``T`` threads the buffer is split in ``T`` slices copied at once; the
    figure is the faster of that and a plain ``np.copyto``.  Small buffers are
    copied many times per repeat so that each repeat lasts at least a millisecond.
    """
    records = []
    thread_list = sorted(set(threads))
    with ThreadPoolExecutor(max(thread_list)) as pool:
        for precision in precisions:
            dtype = np.complex128 if precision == "double" else np.complex64
            for n in sorted(set(sizes)):
                src = np.ones(1 << n, dtype=dtype)
                dst = np.zeros_like(src)
                nbytes = src.nbytes
                inner = max(1, int(1e-3 / max(nbytes / 20e9, 1e-9)))
                for t in thread_list:
                    samples = []
                    for attempt in range(repeats + 1):
                        best = math.inf
                        for way in {1, t}:
                            total = sum(_copy_seconds(src, dst, way, pool) for _ in range(inner))
                            best = min(best, total / inner)
                        if attempt:  # the first is a warm-up
                            samples.append(best)
                    median = statistics.median(samples)
                    records.append(
                        {
                            "n": n,
                            "precision": precision,
                            "threads": t,
                            "bytes_moved": 2 * nbytes,
                            "repeats_s": samples,
                            "pass_s": median,
                            "gbps": 2 * nbytes / median / 1e9,
                        }
                    )
                del src, dst
    return records


# ---------------------------------------------------------------- the worker


class _Worker:
    """Runs one simulator at one thread count and precision; emits records.

    ``window = (lo, hi)``: only sizes ``lo < n <= hi`` (``lo = None``: the first
    round, which also runs the mid-circuit and many-circuit cases).  ``history``:
    this simulator's records from earlier rounds, which the time predictions
    start from.
    """

    def __init__(
        self,
        peer: Peer,
        config: BenchConfig,
        threads: int,
        precision: str,
        deadline: float | None,
        emit: Callable[[dict[str, Any]], None],
        log: Callable[[str], None],
        window: tuple[int | None, int | None] = (None, None),
        history: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.peer = peer
        self.config = config
        self.threads = threads
        self.precision = precision
        self.deadline = deadline
        self.section_deadline = deadline
        self.emit = emit
        self.log = log
        self.window = window
        self.reference: SvsimPeer | None = None
        self.sampler: SvsimPeer | None = None
        self.memory_gave_up = False
        self.base = {"sim": peer.name, "threads": threads, "precision": precision}
        self.options = {
            "basic_max_qubits": config.basic_max_qubits,
            "qsim_max_fused_gate_size": config.qsim_max_fused_gate_size,
            "qulacs_block_size": config.qulacs_block_size,
            "seed": config.seed,
        }
        # the last timed size of each series: key -> (n, median seconds, gates)
        self.last: dict[str, tuple[int, float, int]] = {}
        micro: dict[int, list[float]] = {}
        for r in sorted(history, key=lambda r: r["n"]):
            if r.get("type", "result") != "result" or not r.get("median_s"):
                continue
            if r["section"] == "micro":
                micro.setdefault(r["n"], []).append(r["median_s"])
            else:
                self.remember(self.series(r), r["n"], r["median_s"], r.get("gates") or 1)
        if micro:
            top = max(micro)
            self.last["micro"] = (top, statistics.median(micro[top]), 1)

    # -- helpers
    @staticmethod
    def series(record: dict[str, Any]) -> str:
        if record["section"] == "micro":
            return "micro"
        if record["section"] == "shots":
            return "shots"
        return f"{record['section']}:{record['family']}"

    def remember(self, key: str, n: int, seconds: float, gates: int) -> None:
        old = self.last.get(key)
        if old is None or old[0] < n or (old[0] == n and seconds > old[1]):
            self.last[key] = (n, seconds, gates)

    def predict(self, key: str, n: int, gates: int = 1) -> float:
        """Seconds for one run at ``n`` qubits, from the last size timed (0: no data)."""
        if key not in self.last:
            return 0.0
        ln, seconds, lg = self.last[key]
        return seconds * 2.0 ** max(n - ln, 0) * max(gates / max(lg, 1), 1.0)

    def sizes(self, sizes: Iterable[int]) -> list[int]:
        lo, hi = self.window
        return sorted(n for n in set(sizes) if (lo is None or n > lo) and (hi is None or n <= hi))

    def note(self, section: str, text: str, **extra: Any) -> None:
        self.emit({**self.base, "type": "note", "section": section, "note": text, **extra})
        self.log(f"  note: {self.peer.name} {self.precision} t={self.threads}: {text}")

    def setup(self, fusion: bool) -> None:
        self.peer.setup(self.threads, self.precision, fusion=fusion, **self.options)
        gc.collect()
        gc.freeze()  # the libraries' objects: later collections skip them
        self.emit(
            {
                **self.base,
                "type": "settings",
                "fusion": fusion,
                **self.peer.settings(),
                "loadavg": _loadavg(),
            }
        )

    def ref(self) -> SvsimPeer | None:
        """svsim, to check this peer against (none when the peer is svsim itself)."""
        if self.peer.name == "svsim":
            return None
        if self.reference is None:
            self.reference = SvsimPeer()
            self.reference.setup(self.threads, self.precision, **self.options)
        return self.reference

    def too_big(self, n: int, copies: int = 3) -> str | None:
        cap = self.peer.max_qubits
        if cap is not None and n > cap:
            return f"{n} qubits is above this simulator's cap of {cap}"
        limit = self.config.single_thread_max_qubits
        if limit is not None and self.threads == 1 and n > limit:
            return f"{n} qubits is above the 1-thread cap of {limit}"
        need = copies * ITEMSIZE[self.precision] << n
        waited = 0.0
        while need > self.config.memory_fraction * available_memory():
            # other work may hold the memory for a while: wait a little before giving up
            if waited >= self.config.memory_wait_seconds or self.memory_gave_up:
                self.memory_gave_up = True  # wait once per worker, not once per cell
                return f"{n} qubits needs about {need / 2**30:.1f} GiB, more than is free"
            time.sleep(5.0)
            waited += 5.0
        return None

    def over_time(self, cell: float, total: float | None = None) -> str | None:
        """Why not to run a cell predicted to take ``cell`` seconds (a group of
        cells: ``total``), or None."""
        if cell > self.config.cell_seconds:
            cap = self.config.cell_seconds
            return f"predicted {cell:.0f} s for the cell, over the {cap:g} s cap"
        deadline = self.section_deadline
        if deadline is not None and time.time() + (total or cell) > deadline:
            return "the time budget is spent"
        return None

    @staticmethod
    def collect(num_qubits: int) -> None:
        """A full garbage collection before a large cell (it costs tens of ms
        with Qiskit or Cirq loaded, more than a small cell)."""
        if num_qubits >= 18:
            gc.collect()

    @staticmethod
    def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
        """One run with the garbage collector paused (a full collection before
        every run would cost more than the small runs themselves)."""
        gc.disable()
        try:
            start = time.perf_counter()
            out = fn()
            return time.perf_counter() - start, out
        finally:
            gc.enable()

    def repeat(self, fn: Callable[[], Any]) -> list[float]:
        times = []
        for _ in range(self.config.repeats):
            seconds, out = self.timed(fn)
            del out
            times.append(seconds)
        return times

    # -- one state cell
    def state_cell(self, spec: C.Spec, section: str, extra: dict[str, Any]) -> float | None:
        """Check then time one circuit; returns the median, or None if not timed."""
        record: dict[str, Any] = {
            **self.base,
            "type": "result",
            "section": section,
            "family": spec.family if section == "family" else spec.key,
            "n": spec.num_qubits,
            "gates": spec.gates,
            **extra,
        }
        start = time.perf_counter()
        native = self.peer.build(spec)
        record["build_s"] = time.perf_counter() - start
        self.collect(spec.num_qubits)
        warm, handle = self.timed(lambda: self.peer.run_state(native))
        record["warmup_s"] = warm
        reference = self.ref()
        if reference is not None:
            # The peer's state alone is kept while svsim's reference runs, so a
            # check holds at most two states at once (28 qubits in double: 8 GiB).
            theirs = self.peer.statevector(handle)
            del handle
            ref_handle = reference.run_state(reference.build(spec))
            check = state_check(reference.statevector(ref_handle), theirs, self.precision)
            check["against"] = "svsim"
            del theirs, ref_handle
        else:
            check = {"ok": True, "against": "self"}
            del handle
        record["check"] = check
        if not check["ok"]:
            record["times_s"] = []
            record["median_s"] = None
            self.emit(record)
            self.log(f"  CHECK FAILED {self.peer.name} {record['family']} n={spec.num_qubits}")
            return None
        times = self.repeat(lambda: self.peer.run_state(native))
        record["times_s"] = times
        record["median_s"] = statistics.median(times)
        self.emit(record)
        return record["median_s"]

    # -- sections
    def families(self) -> None:
        self.setup(fusion=True)
        runs = self.config.repeats + 2  # the check (and svsim's reference), then the repeats
        for n in self.sizes(self.config.qubits):
            for family in self.config.families:
                spec = C.family_spec(family, n)
                key = f"family:{family}"
                why = self.too_big(n) or self.over_time(self.predict(key, n, spec.gates) * runs)
                if why:
                    self.note("family", f"{family} n={n} skipped: {why}", family=family, n=n)
                    continue
                median = self.state_cell(spec, "family", {})
                self.log(f"  {self.peer.name} {family} n={n}: {_fmt_s(median)}")
                if median is not None:
                    self.remember(key, n, median, spec.gates)

    def micro(self) -> None:
        fusion_off = self.peer.can_disable_fusion
        self.setup(fusion=not fusion_off)
        reps = self.config.micro_reps if fusion_off else 1
        if not fusion_off:
            self.note("micro", "fusion cannot be turned off: one gate per circuit")
        runs = self.config.repeats + 2
        for n in self.sizes(self.config.micro_sizes()):
            count = 1 + len(self.config.micro_gates) * len(C.micro_targets(n))
            cell = self.predict("micro", n) * runs
            why = self.too_big(n) or self.over_time(cell, cell * count)
            if why:
                self.note("micro", f"n={n} skipped: {why}", n=n)
                continue
            medians = []
            specs = [C.micro_spec("empty", 0, n, 0, reach_all=fusion_off)] + [
                C.micro_spec(gate, target, n, reps, reach_all=fusion_off)
                for gate in self.config.micro_gates
                for target in C.micro_targets(n)
            ]
            for spec in specs:
                meta = spec.meta
                median = self.state_cell(
                    spec,
                    "micro",
                    {
                        "gate": meta["gate"],
                        "target": meta.get("target"),
                        "reps": meta["reps"],
                        "fusion": not fusion_off,
                    },
                )
                if median is not None:
                    medians.append(median)
            typical = statistics.median(medians) if medians else 0.0
            self.log(f"  {self.peer.name} micro n={n}: median circuit {_fmt_s(typical)}")
            if medians:
                self.remember("micro", n, typical, 1)

    def _sample_cell(
        self,
        section: str,
        label: str,
        n: int,
        shots: int,
        probabilities: list[np.ndarray],
        run: Callable[[], Any],
        counts: Callable[[Any], list[dict[int, int]]],
        extra: dict[str, Any],
    ) -> float | None:
        record: dict[str, Any] = {
            **self.base,
            "type": "result",
            "section": section,
            "family": label,
            "n": n,
            "shots": shots,
            **extra,
        }
        self.collect(n)
        warm, handle = self.timed(run)
        record["warmup_s"] = warm
        check = sample_check(probabilities, counts(handle), shots)
        del handle
        record["check"] = check
        if not check["ok"]:
            record.update(times_s=[], median_s=None)
            self.emit(record)
            self.log(f"  CHECK FAILED {self.peer.name} {label} n={n}: {check}")
            return None
        times = self.repeat(run)
        record.update(times_s=times, median_s=statistics.median(times))
        self.emit(record)
        self.log(f"  {self.peer.name} {label} n={n}: {_fmt_s(record['median_s'])}")
        return record["median_s"]

    def _probabilities(self, spec: C.Spec) -> np.ndarray:
        """svsim's exact outcome probabilities for ``spec`` without its measurements."""
        if self.sampler is None:
            self.sampler = SvsimPeer()
            self.sampler.setup(self.threads, self.precision, **self.options)
        handle = self.sampler.run_state(C.to_svsim(spec, measure=False))
        probs = np.abs(self.sampler.statevector(handle).astype(np.complex128)) ** 2
        del handle
        return probs

    def shots(self) -> None:
        self.setup(fusion=True)
        runs = self.config.repeats + 1
        for n in self.sizes(self.config.shot_qubits):
            cell = self.predict("shots", n) * runs
            why = self.too_big(n, copies=6) or self.over_time(cell, cell * len(self.config.shots))
            if why:
                self.note("shots", f"n={n} skipped: {why}", n=n)
                continue
            spec = C.sample_spec(n)
            native = self.peer.build(spec)
            probs = [self._probabilities(spec)]
            slowest = 0.0
            for shots in sorted(self.config.shots):
                median = self._sample_cell(
                    "shots",
                    f"shots_{shots:.0e}".replace("+0", ""),
                    n,
                    shots,
                    probs,
                    lambda shots=shots, native=native: self.peer.run_shots(
                        native, shots, self.config.seed
                    ),
                    lambda handle: [self.peer.counts(handle)],
                    {"gates": spec.gates},
                )
                slowest = max(slowest, median or 0.0)
            del native, probs
            self.remember("shots", n, slowest, 1)

    def mid(self) -> None:
        self.setup(fusion=True)
        n = self.config.mid_qubits
        why = self.too_big(n)
        if why:
            self.note("mid", f"n={n} skipped: {why}", n=n)
            return
        spec = C.mid_circuit_spec(n)
        native = self.peer.build(spec)
        probs = [mid_circuit_probabilities(spec)]
        shots = self.config.mid_shots
        self._sample_cell(
            "mid",
            "mid",
            n,
            shots,
            probs,
            lambda: self.peer.run_shots(native, shots, self.config.seed),
            lambda handle: [self.peer.counts(handle)],
            {"gates": spec.gates},
        )

    def batch(self) -> None:
        self.setup(fusion=True)
        cfg = self.config
        specs = C.batch_specs(cfg.batch_circuits, cfg.batch_qubits, cfg.batch_gates)
        start = time.perf_counter()
        native = self.peer.build_batch(specs)
        build = time.perf_counter() - start
        probs = [self._probabilities(spec) for spec in specs]
        self._sample_cell(
            "batch",
            "batch",
            cfg.batch_qubits,
            cfg.batch_shots,
            probs,
            lambda: self.peer.run_batch(native, cfg.batch_shots, cfg.seed),
            self.peer.batch_counts,
            {"circuits": len(specs), "gates": cfg.batch_gates, "build_s": build},
        )

    def run(self) -> None:
        sections = [s for s in SECTIONS if s in self.config.sections and s in self.peer.sections]
        if self.precision != "double" and "batch" in sections:
            sections.remove("batch")
        if self.window[0] is not None:  # the later rounds: larger sizes only
            sections = [s for s in sections if s not in ("mid", "batch")]
        for index, section in enumerate(sections):
            if self.deadline is not None:
                # each section gets its weight's share of the time that is left
                left = sum(SECTION_WEIGHTS[s] for s in sections[index:])
                share = (self.deadline - time.time()) * SECTION_WEIGHTS[section] / left
                self.section_deadline = time.time() + max(share, 0.0)
            try:
                getattr(self, "families" if section == "family" else section)()
            except Exception as exc:  # one section's failure must not lose the others
                self.note(section, f"{section} failed: {type(exc).__name__}: {exc}", error=True)


def _loadavg() -> list[float] | None:
    """The machine's load averages (1, 5, 15 min): how busy it was with other work."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _config_from_dict(data: dict[str, Any]) -> BenchConfig:
    names = {f.name for f in fields(BenchConfig)}
    return BenchConfig(**{k: v for k, v in data.items() if k in names})


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


def run_worker(
    peer: Peer,
    config: BenchConfig,
    threads: int,
    precision: str,
    deadline: float | None = None,
    log: Callable[[str], None] = _log,
    window: tuple[int | None, int | None] = (None, None),
    history: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Run one simulator in this process; returns its records."""
    records: list[dict[str, Any]] = []
    _Worker(peer, config, threads, precision, deadline, records.append, log, window, history).run()
    return records


def worker_main(spec_path: str) -> int:
    """Entry point of a worker process: ``spec_path`` is the JSON the suite wrote."""
    spec = json.loads(Path(spec_path).read_text())
    out = open(spec["out"], "a")  # noqa: SIM115  (kept open for the whole worker)

    def emit(record: dict[str, Any]) -> None:
        out.write(json.dumps(record, default=_json_default) + "\n")
        out.flush()

    peer = make_peer(spec["peer"])
    config = _config_from_dict(spec["config"])
    with out:
        _Worker(
            peer,
            config,
            spec["threads"],
            spec["precision"],
            spec["deadline"],
            emit,
            _log,
            tuple(spec["window"]),
            spec["history"],
        ).run()
    return 0


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
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "QULACS_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(job.threads)
    code = "import sys; from svsim.bench.suite import worker_main as m; sys.exit(m(sys.argv[1]))"
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


def _summary(results: dict[str, Any]) -> str:
    rows = headline(results)
    if not rows:
        return "no peer figures to compare"
    lines = ["svsim time / peer time at the largest common n (below 1: svsim faster):"]
    for r in rows:
        if r["family"].startswith("micro:"):
            continue
        lines.append(
            f"  {r['precision']:6} t={r['threads']} {r['family']:10} n={r['n']:2} "
            f"vs {r['peer']:6}: {r['ratio']:.2f}"
        )
    return "\n".join(lines)


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


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


# ---------------------------------------------------------------- reports

_ORDER = ["svsim", "aer", "qulacs", "qsim", "lightning", "qibojit", "basic"]
_LABELS = {
    "svsim": "svsim",
    "aer": "Aer",
    "qulacs": "qulacs",
    "qsim": "qsim",
    "lightning": "Lightning",
    "qibojit": "qibojit",
    "basic": "BasicSim",
}


def _sims(records: Iterable[dict[str, Any]]) -> list[str]:
    names = {r["sim"] for r in records}
    return [s for s in _ORDER if s in names] + sorted(names - set(_ORDER))


def _floor_index(results: dict[str, Any]) -> dict[tuple[int, str, int], dict[str, Any]]:
    return {(f["n"], f["precision"], f["threads"]): f for f in results["floor"]}


def _cell(value: float | None) -> str:
    return "–" if value is None else _fmt_s(value)


def _ratio(mine: float | None, theirs: float | None) -> str:
    if mine is None or not theirs:
        return "–"
    return f"{mine / theirs:.2f}"


def micro_per_gate(records: list[dict[str, Any]]) -> dict[tuple, float | None]:
    """(sim, precision, threads, n, gate, target) -> per-gate seconds
    ((median - median of the empty circuit) / repetitions, at least 0)."""
    empty = {
        (r["sim"], r["precision"], r["threads"], r["n"]): r["median_s"]
        for r in records
        if r["section"] == "micro" and r["gate"] == "empty"
    }
    out: dict[tuple, float | None] = {}
    for r in records:
        if r["section"] != "micro" or r["gate"] == "empty":
            continue
        key = (r["sim"], r["precision"], r["threads"], r["n"], r["gate"], r["target"])
        base = empty.get(key[:4])
        if r["median_s"] is None or base is None:
            out[key] = None
        else:
            out[key] = max(r["median_s"] - base, 0.0) / r["reps"]
    return out


def _groups(records: list[dict[str, Any]]) -> list[tuple[str, int]]:
    pairs = {(r["precision"], r["threads"]) for r in records}
    return sorted(pairs, key=lambda p: (p[0] != "double", -p[1]))


def report_records(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The records for the tables: a simulator with a fixed thread count (Qiskit's
    BasicSimulator, one thread) ran once and shows under every thread count."""
    fixed = results["meta"].get("fixed_threads", {})
    records = results["records"]
    counts = sorted({r["threads"] for r in records if r["sim"] not in fixed})
    out = []
    for r in records:
        if r["sim"] in fixed and counts:
            out.extend({**r, "threads": t} for t in counts)
        else:
            out.append(r)
    return out


def headline(results: dict[str, Any]) -> list[dict[str, Any]]:
    """svsim / peer at the largest n both ran, per family, precision and threads."""
    all_records = report_records(results)
    records = [r for r in all_records if r["section"] != "micro"]
    table: dict[tuple, dict[str, float]] = {}
    for r in records:
        if r["median_s"] is None:
            continue
        table.setdefault((r["precision"], r["threads"], r["family"], r["n"]), {})[r["sim"]] = r[
            "median_s"
        ]
    micro = micro_per_gate(all_records)
    for (sim, prec, t, n, gate, _target), value in micro.items():
        if value is not None:
            key = (prec, t, f"micro:{gate}", n)
            cell = table.setdefault(key, {})
            cell[sim] = cell.get(sim, 0.0) + value  # summed over the targets
    rows = []
    for prec, t, family in sorted({k[:3] for k in table}):
        sizes = sorted(k[3] for k in table if k[:3] == (prec, t, family))
        peers = sorted({s for k in table if k[:3] == (prec, t, family) for s in table[k]})
        for peer in peers:
            if peer == "svsim":
                continue
            common = [
                n
                for n in sizes
                if {"svsim", peer} <= set(table[(prec, t, family, n)])
                and min(table[(prec, t, family, n)][s] for s in ("svsim", peer)) > 0
            ]
            if not common:
                continue
            n = common[-1]
            cell = table[(prec, t, family, n)]
            rows.append(
                {
                    "precision": prec,
                    "threads": t,
                    "family": family,
                    "peer": peer,
                    "n": n,
                    "svsim_s": cell["svsim"],
                    "peer_s": cell[peer],
                    "ratio": cell["svsim"] / cell[peer],
                }
            )
    return rows


def write_markdown(results: dict[str, Any], path: str | os.PathLike[str]) -> str:
    """The tables of medians and ratios (svsim time / fastest peer time)."""
    meta = results["meta"]
    machine = meta["machine"]
    records = report_records(results)
    floor = _floor_index(results)
    lines = [
        "# svsim benchmark results",
        "",
        f"- command: `{meta['command']}`",
        f"- started {meta['started']}, took {meta['elapsed_s']} s",
        f"- machine: {machine.get('Model name', '?')}, {machine.get('cores')} cores, "
        f"{machine.get('memory_gib', '?')} GiB, L2 {machine.get('L2 cache', '?')}, "
        f"L3 {machine.get('L3 cache', '?')}, {' '.join(machine.get('simd', []))}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        f"- every figure: median of {meta['config']['repeats']} runs after a warm-up that is "
        f"also the check (fidelity > 1 - {meta['fidelity_tolerance']:g} against svsim's state; "
        "samples: a 6-sigma test against svsim's exact probabilities); build and transpile "
        "excluded.",
        "- ratio = svsim time / fastest peer time (below 1: svsim is faster). "
        "passes = time / one copy of the state (the floor).",
        "",
    ]
    failures = [r for r in records if not r["check"]["ok"]]
    if failures:
        lines += ["## Check failures (not timed)", ""]
        for r in failures:
            where = f"{r['sim']} {r['precision']} t={r['threads']} {r['family']} n={r['n']}"
            lines.append(f"- {where}: {r['check']}")
        lines.append("")

    rows = headline(results)
    if rows:
        lines += ["## Headline: svsim / peer at the largest common n", ""]
        for prec, t in _groups(rows):
            sub = [r for r in rows if (r["precision"], r["threads"]) == (prec, t)]
            peers = [p for p in _sims([{"sim": r["peer"]} for r in sub])]
            lines += [
                f"**{prec}, {t} thread(s)** (micro: per-gate time summed over the targets)",
                "",
                "| family | " + " | ".join(f"vs {_LABELS.get(p, p)} (n)" for p in peers) + " |",
                "|---" * (len(peers) + 1) + "|",
            ]
            for family in sorted({r["family"] for r in sub}, key=_family_order):
                cells = []
                for p in peers:
                    hit = [r for r in sub if r["family"] == family and r["peer"] == p]
                    cells.append(f"{hit[0]['ratio']:.2f} ({hit[0]['n']})" if hit else "–")
                lines.append(f"| {family} | " + " | ".join(cells) + " |")
            lines.append("")

    fams = [r for r in records if r["section"] == "family"]
    for prec, t in _groups(fams):
        sub = [r for r in fams if (r["precision"], r["threads"]) == (prec, t)]
        sims = _sims(sub)
        lines += [
            f"## Circuit families: {prec}, {t} thread(s)",
            "",
            "| family | n | gates | "
            + " | ".join(_LABELS.get(s, s) for s in sims)
            + " | ratio | svsim passes | svsim gate-GB/s | floor GB/s |",
            "|---" * (len(sims) + 7) + "|",
        ]
        for family in sorted({r["family"] for r in sub}, key=_family_order):
            for n in sorted({r["n"] for r in sub if r["family"] == family}):
                cell = {r["sim"]: r for r in sub if r["family"] == family and r["n"] == n}
                gates = next(iter(cell.values()))["gates"]
                med = {s: cell[s]["median_s"] if s in cell else None for s in sims}
                mine = med.get("svsim")
                peer_times = [v for s, v in med.items() if s != "svsim" and v]
                best = min(peer_times) if peer_times else None
                f = floor.get((n, prec, t))
                passes = gbps = "–"
                if f and mine:
                    passes = f"{mine / f['pass_s']:.0f}"
                    gbps = f"{gates * f['bytes_moved'] / mine / 1e9:.1f}"
                lines.append(
                    f"| {family} | {n} | {gates} | "
                    + " | ".join(_cell(med[s]) for s in sims)
                    + f" | {_ratio(mine, best)} | {passes} | {gbps} | "
                    + (f"{f['gbps']:.1f}" if f else "–")
                    + " |"
                )
        lines.append("")

    micro = micro_per_gate(records)
    micro_recs = [r for r in records if r["section"] == "micro"]
    for prec, t in _groups(micro_recs):
        sims = _sims([r for r in micro_recs if (r["precision"], r["threads"]) == (prec, t)])
        lines += [
            f"## Gate microbenchmarks: {prec}, {t} thread(s), time per gate",
            "",
            "Per gate: (median of the circuit - median of the empty circuit) / repetitions; "
            "fusion off (qsim cannot turn it off: one gate per circuit). "
            "% floor = one-pass copy time / svsim's per-gate time.",
            "",
            "| gate | target | n | "
            + " | ".join(_LABELS.get(s, s) for s in sims)
            + " | ratio | svsim GB/s | % floor |",
            "|---" * (len(sims) + 6) + "|",
        ]
        keys = sorted(
            {(k[3], k[4], k[5]) for k in micro if k[1] == prec and k[2] == t},
            key=lambda k: (C.MICRO_GATES.index(k[1]) if k[1] in C.MICRO_GATES else 99, k[0], k[2]),
        )
        for n, gate, target in keys:
            values = {s: micro.get((s, prec, t, n, gate, target)) for s in sims}
            mine = values.get("svsim")
            peer_times = [v for s, v in values.items() if s != "svsim" and v]
            best = min(peer_times) if peer_times else None
            f = floor.get((n, prec, t))
            gbps = pct = "–"
            if f and mine:
                gbps = f"{f['bytes_moved'] / mine / 1e9:.1f}"
                pct = f"{100 * f['pass_s'] / mine:.0f}%"
            lines.append(
                f"| {gate} | {target} | {n} | "
                + " | ".join(_cell(values[s]) for s in sims)
                + f" | {_ratio(mine, best)} | {gbps} | {pct} |"
            )
        lines.append("")

    other = [r for r in records if r["section"] in ("shots", "mid", "batch")]
    if other:
        sims = _sims(other)
        lines += [
            "## Shots, mid-circuit measurement, many small circuits",
            "",
            "shots: one layer of ry, rz and a cx brickwork + measure_all, time to the counts "
            "(qulacs, qsim: to their samples); mid: measure + reset mid-circuit; batch: many "
            "10-qubit circuits in one run() call.",
            "",
            "| case | precision | threads | n | shots | "
            + " | ".join(_LABELS.get(s, s) for s in sims)
            + " | ratio |",
            "|---" * (len(sims) + 6) + "|",
        ]
        keys = sorted(
            {(r["family"], r["precision"], r["threads"], r["n"], r["shots"]) for r in other},
            key=lambda k: (k[1] != "double", -k[2], k[0].split("_")[0], k[3], k[4]),
        )
        for family, prec, t, n, shots in keys:
            cell = {
                r["sim"]: r["median_s"]
                for r in other
                if (r["family"], r["precision"], r["threads"], r["n"], r["shots"])
                == (family, prec, t, n, shots)
            }
            mine = cell.get("svsim")
            peer_times = [v for s, v in cell.items() if s != "svsim" and v]
            best = min(peer_times) if peer_times else None
            name = family
            if family == "batch":
                count = next(r["circuits"] for r in other if r["family"] == "batch")
                name = f"batch ({count} circuits)"
            lines.append(
                f"| {name} | {prec} | {t} | {n} | {shots} | "
                + " | ".join(_cell(cell.get(s)) for s in sims)
                + f" | {_ratio(mine, best)} |"
            )
        lines.append("")

    if results["floor"]:
        lines += [
            "## The floor: copy of a state-sized buffer (bytes read + written)",
            "",
            "| n | precision | threads | one pass | GB/s |",
            "|---|---|---|---|---|",
        ]
        order = sorted(
            results["floor"], key=lambda f: (f["precision"] != "double", f["n"], -f["threads"])
        )
        for f in order:
            lines.append(
                f"| {f['n']} | {f['precision']} | {f['threads']} | {_fmt_s(f['pass_s'])} | "
                f"{f['gbps']:.1f} |"
            )
        lines.append("")

    if results["notes"]:
        lines += ["## Notes and skips", ""]
        for note in results["notes"]:
            where = " ".join(
                str(note[k]) for k in ("sim", "precision", "threads") if note.get(k) is not None
            )
            lines.append(f"- {where}: {note['note']}")
        lines.append("")
    text = "\n".join(lines)
    Path(path).write_text(text)
    return text


def _family_order(name: str) -> tuple[int, str]:
    order = list(C.FAMILIES) + [f"micro:{g}" for g in C.MICRO_GATES]
    return (order.index(name) if name in order else len(order), name)


def write_plots(results: dict[str, Any], directory: str | os.PathLike[str]) -> list[Path]:
    """One PNG per family: time against qubits, log scale, one line per simulator
    (solid: the most threads, dashed: fewer; micro: per-gate time at target n/2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    records = results["records"]
    series: dict[str, dict[tuple[str, str, int], list[tuple[int, float]]]] = {}
    for r in records:
        if r["section"] == "micro" or r["median_s"] is None:
            continue
        name = r["family"] if r["section"] != "shots" else r["family"]
        series.setdefault(name, {}).setdefault((r["sim"], r["precision"], r["threads"]), []).append(
            (r["n"], r["median_s"])
        )
    for (sim, prec, t, n, gate, target), value in micro_per_gate(records).items():
        if value is not None and value > 0 and target == n // 2:
            series.setdefault(f"micro_{gate}", {}).setdefault((sim, prec, t), []).append((n, value))
    written = []
    most = max((r["threads"] for r in records), default=1)
    for family, lines in sorted(series.items()):
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for (sim, prec, t), points in sorted(lines.items()):
            points.sort()
            xs, ys = zip(*points, strict=True)
            style = "-" if t == most else "--"
            marker = "o" if prec == "double" else "s"
            ax.plot(xs, ys, style, marker=marker, label=f"{_LABELS.get(sim, sim)} {prec} t={t}")
        ax.set_yscale("log")
        ax.set_xlabel("qubits")
        ax.set_ylabel("seconds per gate" if family.startswith("micro_") else "seconds")
        ax.set_title(f"{family}" + (" (target n/2)" if family.startswith("micro_") else ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{family}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


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
