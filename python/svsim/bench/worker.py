"""The worker: one simulator at one thread count and precision, over a window of
sizes, timed cell by cell (build, warm-up and check, then the timed repeats).

:func:`worker_main` is the entry point of a worker process; :func:`run_worker`
runs one in the calling process."""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from svsim.bench import circuits as C
from svsim.bench.checks import mid_circuit_probabilities, sample_check, state_check
from svsim.bench.config import (
    ITEMSIZE,
    SECTION_WEIGHTS,
    SECTIONS,
    BenchConfig,
    _fmt_s,
    _json_default,
    _log,
)
from svsim.bench.machine import available_memory
from svsim.bench.peers import Peer, SvsimPeer, make_peer


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of one run of ``fn`` with the garbage collector paused (a full
    collection before every run would cost more than the small runs
    themselves), and what it returned."""
    gc.disable()
    try:
        start = time.perf_counter()
        out = fn()
        return time.perf_counter() - start, out
    finally:
        gc.enable()


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

    def repeat(self, fn: Callable[[], Any]) -> list[float]:
        times = []
        for _ in range(self.config.repeats):
            seconds, out = timed(fn)
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
        record.update(self.peer.cell_settings(native))
        self.collect(spec.num_qubits)
        warm, handle = timed(lambda: self.peer.run_state(native))
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
        # the peer's calibration if any, the check (and svsim's reference), then the repeats
        runs = self.peer.build_runs + self.config.repeats + 2
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
        runs = self.peer.build_runs + self.config.repeats + 2
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
        warm, handle = timed(run)
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
        runs = self.peer.build_runs + self.config.repeats + 1
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
                    {"gates": spec.gates, **self.peer.cell_settings(native)},
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
            {"gates": spec.gates, **self.peer.cell_settings(native)},
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


def _config_from_dict(data: dict[str, Any]) -> BenchConfig:
    names = {f.name for f in fields(BenchConfig)}
    return BenchConfig(**{k: v for k, v in data.items() if k in names})


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
