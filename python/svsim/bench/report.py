"""The reports of a benchmark run: ``results.md`` (medians, ratios to the fastest
peer, the headline table), the one-line summary, and one plot per family."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from svsim.bench import circuits as C
from svsim.bench.config import _fmt_s


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
    ((median - median of the empty circuit) / repetitions), or None when not
    measured: not run, or not above the empty circuit's time (a gate lost in
    the noise of a circuit's fixed cost, as qsim's one gate per circuit at 24
    qubits is)."""
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
        above = None if r["median_s"] is None or base is None else r["median_s"] - base
        out[key] = above / r["reps"] if above is not None and above > 0 else None
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
    # A gate's time summed over its targets, for a simulator measured on every
    # target that svsim was: a sum over fewer targets does not compare.
    targets: dict[tuple, dict[str, dict[int, float | None]]] = {}
    for (sim, prec, t, n, gate, target), value in micro_per_gate(all_records).items():
        targets.setdefault((prec, t, f"micro:{gate}", n), {}).setdefault(sim, {})[target] = value
    for key, by_sim in targets.items():
        wanted = by_sim.get("svsim", {}).keys()
        for sim, values in by_sim.items():
            if values.keys() == wanted and None not in values.values():
                table.setdefault(key, {})[sim] = sum(v for v in values.values() if v is not None)
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
            "–: not run, or no slower than the empty circuit (below the noise). "
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
        if value is not None and target == n // 2:
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
