"""One gate at a time against the peers: the time per gate on each target qubit.

    python -m svsim.bench.gates [--qubits 24] [--gates rz,cz] [--targets 0,1,2,3,12,23]
        [--peers svsim,lightning,qulacs] [--precision double] [--threads 1]
        [--rounds 5] [--repeats 3] [--reps 10] [--json FILE]

The suite's gate section (``micro``) times each circuit three times in one
process per simulator; on a shared machine whose speed drifts by 2x within
minutes, that cannot tell apart two kernels that differ by less than the
drift.  Here every round runs each simulator in a fresh process, one after
another (the order turns by one each round), so a slow minute reaches all of
them; within a process the circuit of ``--reps`` copies of the gate and the
empty circuit (:func:`svsim.bench.circuits.micro_spec`: an H on the top qubit,
fusion off) alternate ``--repeats`` times.  A round's figure is the
difference of their medians over ``--reps``; the table gives the median over
the rounds, in ms per gate, and svsim's time over each peer's.

Each simulator's state after one gate circuit per gate is checked against
svsim's by fidelity before anything of it is timed; a peer that cannot turn
fusion off (it would merge the copies into one gate) is left out, saying so.
Thread counts are set as the suite sets them: ``--threads`` for the peer and
the thread variables in its process's environment
(:func:`svsim.bench.config.thread_environment`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
from typing import Any

from svsim.bench import circuits as C
from svsim.bench.checks import state_check
from svsim.bench.config import thread_environment
from svsim.bench.machine import machine_info
from svsim.bench.peers import Peer, SvsimPeer, make_peer
from svsim.bench.worker import timed


def time_gates(
    simulator: str | Peer,
    num_qubits: int,
    gates: list[str],
    targets: list[int],
    precision: str,
    threads: int,
    repeats: int,
    reps: int,
) -> list[dict[str, Any]]:
    """One simulator's seconds per gate for each (gate, target), in this process;
    a record per cell, or one ``{"skip": why}`` record."""
    peer = make_peer(simulator)
    peer_name = peer.name
    why = peer.available()
    if why is None and not peer.can_disable_fusion:
        why = "its fusion cannot be turned off, so copies of a gate would run as one"
    if why is None and precision not in peer.precisions:
        why = f"it has no {precision} precision"
    if why is not None:
        return [{"sim": peer_name, "skip": why}]
    peer.setup(threads, precision, fusion=False)
    reference = None
    if peer_name != "svsim":
        reference = SvsimPeer()
        reference.setup(threads, precision, fusion=False)
    empty = peer.build(C.micro_spec("empty", 0, num_qubits, 0))
    records = []
    for gate in gates:
        for index, target in enumerate(targets):
            spec = C.micro_spec(gate, target, num_qubits, reps)
            native = peer.build(spec)
            if index == 0:  # checked once per gate, before it is timed
                state = peer.statevector(peer.run_state(native))
                if reference is not None:
                    expected = reference.statevector(reference.run_state(reference.build(spec)))
                    check = state_check(expected, state, precision)
                    del expected
                    if not check["ok"]:
                        return [{"sim": peer_name, "skip": f"{gate} failed its check: {check}"}]
                del state
            with_gate, without = [], []
            for _ in range(repeats):
                # [0]: the state is freed before the next run, as the suite does
                with_gate.append(timed(functools.partial(peer.run_state, native))[0])
                without.append(timed(functools.partial(peer.run_state, empty))[0])
            per_gate = (statistics.median(with_gate) - statistics.median(without)) / reps
            records.append({"sim": peer_name, "gate": gate, "target": target, "s": per_gate})
            del native
    return records


def _child(args: argparse.Namespace) -> int:
    records = time_gates(
        args.child,
        args.qubits,
        args.gates,
        args.targets,
        args.precision,
        args.threads,
        args.repeats,
        args.reps,
    )
    for record in records:
        print(json.dumps(record))
    return 0


def _run_child(peer: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    env = thread_environment(args.threads)
    command = [sys.executable, "-m", "svsim.bench.gates", "--child", peer]
    for name in ("qubits", "precision", "threads", "repeats", "reps"):
        command += [f"--{name}", str(getattr(args, name))]
    command += ["--gates", ",".join(args.gates), "--targets", ",".join(map(str, args.targets))]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return [{"sim": peer, "skip": f"its process failed: {tail[0]}"}]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def table(records: list[dict[str, Any]], peers: list[str]) -> str:
    """Markdown: ms per gate, median over the rounds, and svsim / each peer."""
    cells: dict[tuple[str, str, int], list[float]] = {}
    for r in records:
        if "skip" not in r:
            cells.setdefault((r["sim"], r["gate"], r["target"]), []).append(r["s"])
    timed = [p for p in peers if any(key[0] == p for key in cells)]
    others = [p for p in timed if p != "svsim"]
    head = ["gate", "target", *(f"{p} ms" for p in timed), *(f"svsim / {p}" for p in others)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = sorted({(gate, target) for _, gate, target in cells}, key=lambda k: (k[0], k[1]))
    for gate, target in rows:
        ms = {
            p: statistics.median(cells[(p, gate, target)]) * 1e3
            for p in timed
            if (p, gate, target) in cells
        }
        row = [gate, str(target), *(f"{ms[p]:.2f}" if p in ms else "" for p in timed)]
        for p in others:
            ok = "svsim" in ms and p in ms and ms[p] > 0
            row.append(f"{ms['svsim'] / ms[p]:.2f}" if ok else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svsim.bench.gates", description=__doc__)
    parser.add_argument("--qubits", type=int, default=24)
    parser.add_argument("--gates", type=lambda s: s.split(","), default=["rz", "cz"])
    parser.add_argument("--targets", type=_ints, help="default: 0, 1, 2, 3, n/2, n-1")
    parser.add_argument(
        "--peers", type=lambda s: s.split(","), default=["svsim", "lightning", "qulacs"]
    )
    parser.add_argument("--precision", choices=("double", "single"), default="double")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs per process")
    parser.add_argument("--reps", type=int, default=10, help="copies of the gate per circuit")
    parser.add_argument("--json", help="write every round's records here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = args.qubits
    if args.targets is None:
        args.targets = list(dict.fromkeys([0, 1, 2, 3, n // 2, n - 1]))
    bad = [g for g in args.gates if g not in C.MICRO_GATES]
    if bad or any(not 0 <= t < n for t in args.targets) or n < 2:
        parser.error(f"gates are {', '.join(C.MICRO_GATES)}; targets in [0, {n}); n >= 2")
    if args.child:
        return _child(args)
    peers = list(dict.fromkeys(["svsim", *args.peers]))
    machine = machine_info()
    cpu = f"{machine.get('Model name', '?')} ({', '.join(machine.get('simd', []))})"
    load = os.getloadavg()[0]
    print(f"{n} qubits, {args.precision}, {args.threads} thread(s); {cpu}; load {load:.2f}")
    records: list[dict[str, Any]] = []
    for round_index in range(args.rounds):
        turn = round_index % len(peers)
        for peer in peers[turn:] + peers[:turn]:
            got = _run_child(peer, args)
            for record in got:
                record["round"] = round_index
                if "skip" in record and round_index == 0:
                    print(f"{peer} left out: {record['skip']}", flush=True)
            records += got
        print(f"round {round_index + 1} of {args.rounds} done", flush=True)
    print(table(records, peers))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"args": vars(args), "machine": machine, "records": records}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
