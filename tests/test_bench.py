"""Smoke tests of the benchmark suite (svsim alone: no peer needs to be installed;
the tests of a peer's adapter are skipped, with the reason, when it is not).

No timing is asserted: only that the suite runs, writes its reports, and refuses
to time a simulator whose answer differs from svsim's.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from reference import reference_statevector
from svsim.bench import BenchCheckError, main, run_suite
from svsim.bench import circuits as C
from svsim.bench.checks import (
    fidelity,
    mid_circuit_probabilities,
    numpy_apply,
    sample_check,
)
from svsim.bench.peers import PEERS, SvsimPeer, make_peer
from svsim.bench.report import headline, micro_per_gate

SMALL = {
    "threads": [1],
    "micro_qubits": [10],
    "micro_gates": ["h", "cx", "u2q"],
    "shot_qubits": [10],
    "shots": [1000],
    "mid_qubits": 6,
    "mid_shots": 200,
    "batch_circuits": 5,
}


class ExtraGatePeer(SvsimPeer):
    """A deliberately wrong adapter: an extra ry(1) on qubit 0 in every circuit."""

    name = "extra-ry"
    label = "extra-ry"

    def build(self, spec: C.Spec) -> object:
        return super().build(spec).ry(1.0, 0)


class BigEndianPeer(SvsimPeer):
    """A deliberately wrong adapter: it hands back the state in Cirq's (big-endian) order."""

    name = "big-endian"
    label = "big-endian"

    def statevector(self, handle: object) -> np.ndarray:
        state = np.asarray(super().statevector(handle))
        n = state.size.bit_length() - 1
        return state.reshape([2] * n).transpose().reshape(-1)


def test_quick_svsim_alone_writes_reports(tmp_path):
    out = tmp_path / "out"
    status = main(
        [
            "--quick",
            "--peers",
            "svsim",
            "--qubits",
            "10",
            "--threads",
            "1",
            "--micro-qubits",
            "10",
            "--shot-qubits",
            "10",
            "--shots",
            "1000",
            "--batch-circuits",
            "5",
            "--mid-qubits",
            "6",
            "--in-process",
            "--no-plots",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    markdown = (out / "results.md").read_text()
    records = results["records"]
    assert results["check_failures"] == 0
    families = {r["family"] for r in records if r["section"] == "family"}
    assert families == set(C.FAMILIES)
    for r in records:
        assert r["check"]["ok"], r
        assert len(r["times_s"]) >= 3
        assert r["median_s"] == pytest.approx(sorted(r["times_s"])[len(r["times_s"]) // 2])
    sections = {r["section"] for r in records}
    assert sections == {"family", "micro", "shots", "mid", "batch"}
    assert {r["precision"] for r in records} == {"double", "single"}
    assert results["floor"] and all(f["gbps"] > 0 for f in results["floor"])
    assert "## Circuit families: double, 1 thread(s)" in markdown
    assert "Gate microbenchmarks" in markdown
    assert "The floor" in markdown


def test_a_wrong_peer_fails_the_check_and_is_not_timed(tmp_path):
    results = run_suite(
        quick=True,
        peers=["svsim", ExtraGatePeer()],
        out_dir=tmp_path,
        qubits=[10],
        sections=["family", "micro"],
        precisions=["double"],
        plots=False,
        **{k: v for k, v in SMALL.items() if k.startswith(("threads", "micro"))},
    )
    wrong = [r for r in results["records"] if r["sim"] == "extra-ry"]
    assert wrong
    for r in wrong:
        assert not r["check"]["ok"]
        assert r["check"]["fidelity"] < 0.99
        assert r["times_s"] == [] and r["median_s"] is None
    assert all(r["check"]["ok"] for r in results["records"] if r["sim"] == "svsim")
    assert results["check_failures"] == len(wrong)
    markdown = (tmp_path / "results.md").read_text()
    assert "Check failures" in markdown and "extra-ry" in markdown


class KnobPeer(SvsimPeer):
    """svsim under another name, reporting a setting chosen per circuit."""

    name = "knob"
    label = "knob"

    def cell_settings(self, native: object) -> dict[str, object]:
        return {"knob": 7}


def test_per_circuit_settings_reach_the_records(tmp_path):
    results = run_suite(
        quick=True,
        peers=["svsim", KnobPeer()],
        out_dir=tmp_path,
        qubits=[8],
        sections=["family", "shots"],
        families=["qv"],
        precisions=["single"],
        plots=False,
        **{k: v for k, v in SMALL.items() if k.startswith(("threads", "shot"))},
    )
    mine = [r for r in results["records"] if r["sim"] == "knob"]
    assert {r["section"] for r in mine} == {"family", "shots"}
    assert all(r["knob"] == 7 and r["check"]["ok"] for r in mine)
    assert not any("knob" in r for r in results["records"] if r["sim"] == "svsim")


def test_qsim_takes_its_fastest_fusion_width_per_circuit():
    pytest.importorskip("qsimcirq")
    spec = C.family_spec("qv", 8)
    want = reference_statevector(C.to_svsim(spec))
    peer = make_peer("qsim")
    peer.setup(1, "single")
    assert "fastest" in peer.settings()["max_fused_gate_size"] and peer.build_runs == 6
    native = peer.build(spec)
    chosen = peer.cell_settings(native)
    times = chosen["fused_gate_size_calibration_s"]
    assert set(times) == {"2", "3", "4"}
    assert chosen["max_fused_gate_size"] == int(min(times, key=times.__getitem__))
    got = peer.statevector(peer.run_state(native))
    assert fidelity(got, want) > 1 - 1e-5
    # samples: calibrated with run(), not simulate()
    shots = C.sample_spec(6)
    assert peer.cell_settings(peer.build(shots))["max_fused_gate_size"] in (2, 3, 4)
    # the option forces one width, with no calibration
    forced = make_peer("qsim")
    forced.setup(1, "single", qsim_max_fused_gate_size=3)
    assert forced.settings()["max_fused_gate_size"] == 3 and forced.build_runs == 0
    native = forced.build(spec)
    assert forced.cell_settings(native) == {"max_fused_gate_size": 3}
    assert fidelity(forced.statevector(forced.run_state(native)), want) > 1 - 1e-5


def test_strict_raises_on_a_bit_order_mistake(tmp_path):
    with pytest.raises(BenchCheckError, match="big-endian random n=10"):
        run_suite(
            quick=True,
            peers=[BigEndianPeer()],
            out_dir=tmp_path,
            qubits=[10],
            threads=[1],
            sections=["family"],
            families=["random"],
            precisions=["single"],
            strict=True,
            plots=False,
        )
    # the reports are written before the error
    results = json.loads((tmp_path / "results.json").read_text())
    bad = [r for r in results["records"] if r["sim"] == "big-endian"]
    assert bad and not any(r["check"]["ok"] for r in bad)


def test_isolated_worker_process(tmp_path):
    results = run_suite(
        peers=["svsim"],
        out_dir=tmp_path,
        qubits=[8],
        threads=[1],
        sections=["family"],
        families=["ghz"],
        precisions=["double"],
        plots=False,
    )
    (record,) = results["records"]
    assert record["sim"] == "svsim" and record["n"] == 8 and record["check"]["ok"]
    assert len(record["times_s"]) == 3


def test_sample_check_catches_reversed_bits():
    rng = np.random.default_rng(7)
    n = 4
    probs = rng.random(1 << n) ** 3
    probs /= probs.sum()
    reverse = np.array([int(f"{i:0{n}b}"[::-1], 2) for i in range(1 << n)])

    def draw(p: np.ndarray, shots: int) -> dict[int, int]:
        values, counts = np.unique(rng.choice(p.size, size=shots, p=p), return_counts=True)
        return dict(zip(values.tolist(), counts.tolist(), strict=True))

    assert sample_check([probs], [draw(probs, 20000)], 20000)["ok"]
    assert not sample_check([probs], [draw(probs[reverse], 20000)], 20000)["ok"]
    short = draw(probs, 100)
    assert not sample_check([probs], [short], 101)["ok"]


def test_fidelity_and_numpy_reference_agree_with_svsim():
    spec = C.family_spec("random", 5)
    start = np.zeros(32, dtype=complex)
    start[0] = 1
    mine = numpy_apply(start, spec.ops, 5)
    peer = SvsimPeer()
    peer.setup(1, "double")
    state = peer.statevector(peer.run_state(peer.build(spec)))
    assert fidelity(mine, state) > 1 - 1e-12
    assert fidelity(mine, np.roll(state, 1)) < 0.9


def test_mid_circuit_probabilities_sum_to_one():
    probs = mid_circuit_probabilities(C.mid_circuit_spec(5))
    assert probs.shape == (1 << 6,)
    assert math.isclose(probs.sum(), 1.0, rel_tol=1e-12)
    assert 0 < probs[1::2].sum() < 1  # the mid-circuit result is random


def test_families_are_deterministic_and_well_formed():
    for family in C.FAMILIES:
        a, b = C.family_spec(family, 6), C.family_spec(family, 6)
        assert [op.name for op in a.ops] == [op.name for op in b.ops]
        assert all(q < 6 for op in a.ops for q in op.qubits)
    qv = C.family_spec("qv", 6)
    assert len(qv.ops) == 6 * 3
    for op in qv.ops:
        u = op.matrix
        assert np.allclose(u @ u.conj().T, np.eye(4))
        assert np.isclose(np.linalg.det(u), 1)
    assert C.micro_targets(10) == [0, 1, 5, 9]


def test_gate_microbenchmarks_work_on_the_whole_state():
    # svsim skips the amplitudes of qubits no gate has reached: a microbenchmark
    # of a gate on qubit 0 of a fresh state would time almost nothing.  The
    # empty circuit starts the same way, so the difference is the gates alone.
    n = 12
    for gate in ("empty", "h", "cx", "u2q"):
        spec = C.micro_spec(gate, 0, n, 10 if gate != "empty" else 0)
        assert spec.ops[0].name == "h" and spec.ops[0].qubits == (n - 1,)
        assert len(spec.ops) == 1 + spec.meta["reps"]
        assert all(n - 1 not in op.qubits for op in spec.ops[1:])
    fresh = C.micro_spec("h", 0, n, 1, reach_all=False)
    assert [(op.name, op.qubits) for op in fresh.ops] == [("h", (0,))]


def test_a_gate_lost_in_the_noise_is_not_measured_and_not_summed():
    # qsim runs one gate per circuit: at 24 qubits the gate can take less than the
    # noise of the circuit's fixed cost.  That figure is "not measured", not 0 s, and
    # the headline's sum over targets leaves out a simulator missing one of them.
    def micro(sim: str, gate: str, target: int | None, median: float) -> dict:
        return {"section": "micro", "sim": sim, "precision": "single", "threads": 1,
                "n": 24, "family": gate, "gate": gate, "target": target,
                "median_s": median, "reps": 10}  # fmt: skip

    records = [micro(sim, "empty", None, 1.0) for sim in ("svsim", "qsim", "lightning")]
    for target in (0, 12):
        records += [micro("svsim", "h", target, 1.1), micro("lightning", "h", target, 1.2)]
    records += [micro("qsim", "h", 0, 0.9), micro("qsim", "h", 12, 1.5)]
    per_gate = micro_per_gate(records)
    assert per_gate[("qsim", "single", 1, 24, "h", 0)] is None
    assert per_gate[("qsim", "single", 1, 24, "h", 12)] == pytest.approx(0.05)
    rows = {row["peer"]: row for row in headline({"meta": {}, "records": records})}
    assert set(rows) == {"lightning"}
    assert rows["lightning"]["ratio"] == pytest.approx(0.5)


# Peers that number their qubits from the other end than svsim (both precisions).
REVERSED_PEERS = ("lightning", "qibojit")


def _installed(name: str) -> object:
    peer = make_peer(name)
    why = peer.available()
    if why is not None:
        pytest.skip(f"{name} is not installed ({why}): pip install '.[bench]'")
    return peer


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("name", REVERSED_PEERS)
def test_reversed_order_peers_match_the_reference(name, precision):
    # Every circuit family and every gate microbenchmark, on 7 qubits, against the
    # dense numpy reference of the tests: bit order, matrix order, angles.
    peer = _installed(name)
    peer.setup(1, precision)
    assert precision in peer.precisions
    tol = 1e-10 if precision == "double" else 1e-5
    specs = [C.family_spec(family, 7) for family in C.FAMILIES]
    specs += [C.micro_spec(gate, t, 7, 2) for gate in C.MICRO_GATES for t in (0, 3, 6)]
    for spec in specs:
        want = reference_statevector(C.to_svsim(spec))
        got = peer.statevector(peer.run_state(peer.build(spec)))
        assert got.shape == want.shape, spec.key
        assert got.dtype == (np.complex128 if precision == "double" else np.complex64)
        assert fidelity(got, want) > 1 - tol, (spec.family, spec.key)
        assert abs(np.linalg.norm(got) - 1) < tol, spec.key
    # not the reversed order: a single qubit flipped shows
    x = C.Spec("x", 7, (C.Op("x", (0,)),))
    state = peer.statevector(peer.run_state(peer.build(x)))
    assert abs(state[1]) == pytest.approx(1.0)


@pytest.mark.parametrize("name", REVERSED_PEERS)
def test_reversed_order_peers_run_in_the_suite(tmp_path, name):
    # Through the suite as on the command line: a worker process per thread count
    # and precision, the check against svsim before the timing.
    _installed(name)
    assert name in PEERS
    results = run_suite(
        peers=["svsim", name],
        out_dir=tmp_path,
        qubits=[8],
        threads=[1],
        sections=["family", "micro"],
        families=["qft", "qv"],
        micro_qubits=[8],
        micro_gates=["cx", "u2q"],
        plots=False,
    )
    mine = [r for r in results["records"] if r["sim"] == name]
    assert {(r["section"], r["precision"]) for r in mine} == {
        (section, precision)
        for section in ("family", "micro")
        for precision in ("double", "single")
    }
    assert all(r["check"]["ok"] and len(r["times_s"]) == 3 for r in mine)
    assert results["check_failures"] == 0
    # the thread count reached the library: OMP_NUM_THREADS (Lightning), numba's (qibojit)
    settings = [s for s in results["settings"] if s["sim"] == name]
    assert settings
    key = "env_threads" if name == "lightning" else "backend_threads"
    assert all(s["threads"] == 1 and s[key] == 1 for s in settings)


def test_floor_counts_the_fused_programs_multiply_adds(capsys):
    from svsim.bench import floor

    # Two 3-qubit dense gates and a diagonal on 10 qubits: (8 + 8 + 1) * 2^10.
    assert floor.complex_multiply_adds({"dense_3": 2, "diagonal": 1}, 10) == 17 << 10
    assert floor.complex_multiply_adds({"permutation": 5, "diagonal": 0}, 10) == 0
    args = ["--qubits", "14", "--families", "qv", "--threads", "1", "--repeats", "1"]
    assert floor.main(args) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| qv-14"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # The census of qv-14 (7 two-qubit gates per layer) fused: some dense blocks, each
    # of 2 to 4 qubits, and a positive floor that svsim's own time cannot beat.
    assert cells[2] and all(2 <= int(part.split("q")[0]) <= 4 for part in cells[2].split(", "))
    assert float(cells[4]) > 0 and int(cells[5]) > 0
    assert float(cells[7].split(" ")[0]) >= float(cells[4])


def test_gates_times_every_cell_and_refuses_a_wrong_peer():
    from svsim.bench import gates

    records = gates.time_gates("svsim", 8, ["rz", "cz"], [0, 4], "double", 1, 1, 2)
    assert [(r["gate"], r["target"]) for r in records] == [
        ("rz", 0),
        ("rz", 4),
        ("cz", 0),
        ("cz", 4),
    ]
    assert all(r["sim"] == "svsim" and math.isfinite(r["s"]) for r in records)
    # svsim under another name passes its check against svsim; a wrong adapter does
    # not, and nothing of it is timed.
    assert len(gates.time_gates(KnobPeer(), 8, ["cz"], [0, 4], "double", 1, 1, 2)) == 2
    wrong = gates.time_gates(ExtraGatePeer(), 8, ["rz"], [0, 4], "double", 1, 1, 2)
    assert len(wrong) == 1 and "failed its check" in wrong[0]["skip"]
    # The table: the median over rounds, and svsim's time over the peer's.
    rounds = [
        {"sim": sim, "gate": "rz", "target": 0, "s": s}
        for sim, s in [("svsim", 1e-3), ("svsim", 3e-3), ("svsim", 2e-3), ("knob", 4e-3)]
    ]
    row = gates.table(rounds, ["svsim", "knob"]).splitlines()[-1]
    assert [c.strip() for c in row.strip("|").split("|")] == ["rz", "0", "2.00", "4.00", "0.50"]


def test_gates_command_runs_each_simulator_in_its_own_process(capsys):
    from svsim.bench import gates

    args = ["--qubits", "8", "--gates", "x", "--targets", "0,7", "--peers", "svsim"]
    assert gates.main([*args, "--rounds", "1", "--repeats", "1", "--reps", "2"]) == 0
    out = capsys.readouterr().out
    assert "| x | 0 |" in out and "| x | 7 |" in out and "8 qubits, double" in out
    with pytest.raises(SystemExit):
        gates.main(["--qubits", "8", "--targets", "8"])


def test_overhead_command_times_the_tiny_and_the_small_jobs(capsys):
    import svsim
    from svsim.bench import circuits, overhead

    # job_kind says what the backend does: run() runs a tiny job, a short one waits
    kinds = {}
    backend = svsim.BasicSimulator(max_parallel_threads=1)
    for family, num_qubits in overhead.SMALL_CIRCUITS:
        circuit = circuits.to_svsim(circuits.family_spec(family, num_qubits), measure=False)
        kind = kinds[f"{family}-{num_qubits}"] = overhead.job_kind(circuit, 1)
        job = backend.run(circuit, shots=1, seed_simulator=1)
        # read without status(), which would run a short job that waits for a look
        assert (job._status is svsim.JobStatus.DONE) is (kind == "tiny"), (family, kind)
        job.result()
    backend.close()
    assert set(kinds.values()) == {"tiny", "short"}
    overhead.main(["--repeats", "3", "--short-repeats", "2", "--batch-repeats", "0"])
    out = capsys.readouterr().out
    assert "tiny job (5 qubits, 100 shots, median of 3)" in out
    for name, kind in kinds.items():
        assert f"{kind} job {name} (1 shot, median of 2): kernel" in out
