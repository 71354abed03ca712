"""``svsim bench``: the benchmark suite (:mod:`svsim.bench`) from the command
line, and the table of medians and ratios it prints."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from svsim.cli.common import EXIT_FAILED, EXIT_OK, UsageError, _format_seconds, _one_line, _say


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
        from svsim.bench.peers import PEERS, make_peer
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
        if ":" in name:  # a peer of the user's own: load it now, not after the others ran
            try:
                make_peer(name)
            except Exception as exc:  # noqa: BLE001 - whatever the user's module raises
                raise UsageError(
                    f"svsim bench: cannot load peer {name!r}: {_one_line(exc)}; give an "
                    "importable module:Class whose class is a svsim.bench.peers.Peer"
                ) from None
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
