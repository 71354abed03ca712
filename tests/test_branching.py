"""Shot branching (cpp/include/svsim/branching.h): exact distributions against
exact probabilities and the per-shot method, no branch at a certain outcome,
the same counts at any thread count, and per-shot trajectories when the
branches do not fit in the memory limit."""

from __future__ import annotations

import numpy as np
import pytest
import svsim
from reference import outcome_distribution
from stats import gof_p, two_sample_p
from svsim.engine import memory_needed, run_experiment, state_bytes
from svsim.exceptions import SimulatorError

P_MIN = 1e-4
WAIT = 120
MiB = 1 << 20


def random_mid_circuit(seed: int, num_qubits: int = 4, num_clbits: int = 5) -> svsim.Circuit:
    """Random rotations and entanglers with mid-circuit measurements into
    reused clbits, resets, and gates conditioned on one clbit or on a register."""
    rng = np.random.default_rng(seed)
    circuit = svsim.Circuit(num_qubits, num_clbits, name=f"mid-{seed}")
    for _ in range(30):
        roll = rng.random()
        q = int(rng.integers(num_qubits))
        if roll < 0.15:
            circuit.measure(q, int(rng.integers(num_clbits)))
        elif roll < 0.22:
            circuit.reset(q)
        elif roll < 0.32:
            clbit = int(rng.integers(num_clbits))
            circuit.x(q, condition=(clbit, int(rng.integers(2))))
        elif roll < 0.37:
            circuit.ry(float(rng.uniform(0, np.pi)), q, condition=("c", int(rng.integers(4))))
        elif roll < 0.7:
            circuit.ry(float(rng.uniform(0, np.pi)), q).rz(float(rng.uniform(0, np.pi)), q)
        else:
            other = int((q + 1 + rng.integers(num_qubits - 1)) % num_qubits)
            circuit.cx(q, other)
    for q in range(min(num_qubits, num_clbits)):
        circuit.measure(q, q)
    return circuit


def values(memory: np.ndarray) -> np.ndarray:
    return memory[:, 0].astype(np.int64)


def pooled(counts: np.ndarray, probs: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes expected fewer than 5 times pooled into one, so chi-square holds;
    outcomes of probability zero stay apart (gof_p asserts they never appear)."""
    rare = (probs * shots < 5) & (probs > 1e-12)
    if rare.sum() < 2:
        return counts, probs
    keep = ~rare
    return (
        np.append(counts[keep], counts[rare].sum()),
        np.append(probs[keep], probs[rare].sum()),
    )


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("seed", range(6))
def test_random_mid_circuits_match_exact_probabilities_and_trajectories(seed, precision):
    circuit = random_mid_circuit(seed)
    shots = 40_000
    exact = outcome_distribution(circuit)
    probs = np.zeros(1 << circuit.num_clbits)
    for bits, p in exact.items():
        probs[bits] = p
    branched = run_experiment(circuit, shots=shots, seed=seed, precision=precision)
    per_shot = run_experiment(
        circuit, shots=shots, seed=seed + 100, precision=precision, shot_branching=False
    )
    assert branched.method == "branching" and per_shot.method == "trajectory"
    assert branched.branches > 1 and not branched.branching_fell_back
    a = np.bincount(values(branched.memory), minlength=probs.size)
    b = np.bincount(values(per_shot.memory), minlength=probs.size)
    assert gof_p(*pooled(a, probs, shots)) > P_MIN
    assert gof_p(*pooled(b, probs, shots)) > P_MIN
    assert two_sample_p(a, b) > P_MIN


def test_branch_shares_follow_the_binomial_and_memory_is_shuffled():
    # One random measurement of probability 0.3: two branches whose shot counts
    # are one binomial draw; the rows are shuffled, not one branch then the other.
    theta = 2 * np.arcsin(np.sqrt(0.3))
    circuit = svsim.Circuit(2, 2).ry(theta, 0).measure(0, 0).x(1, condition=(0, 1))
    circuit.measure(1, 1)
    shots = 20_000
    out = run_experiment(circuit, shots=shots, seed=3)
    assert out.method == "branching" and out.branches == 2
    v = values(out.memory)
    assert set(np.unique(v)) == {0, 3}
    ones = int((v == 3).sum())
    assert abs(ones - 0.3 * shots) < 5 * np.sqrt(shots * 0.21)
    first_half = int((v[: shots // 2] == 3).sum())
    assert abs(first_half - ones / 2) < 5 * np.sqrt(shots * 0.21 / 2)


def test_certain_outcomes_make_no_branch():
    # Resets and measurements of qubits in a definite state (as in QASMBench's
    # square_root_n18): one branch however many there are, and the answer is sampled.
    n = 6
    circuit = svsim.Circuit(n, n)
    for q in range(3):
        circuit.h(q)
    for _ in range(5):
        circuit.ccx(0, 1, 3).ccx(0, 1, 3)  # the ancilla returns to |0>
        circuit.reset(3).reset(4)
        circuit.x(5).measure(5, 5).x(5)  # surely 1, then back to 0
        circuit.x(4, condition=(5, 0))  # never: the clbit is 1
    circuit.measure(range(n), range(n))
    for precision in ("double", "single"):
        out = run_experiment(circuit, shots=5000, seed=1, precision=precision)
        assert out.method == "branching" and out.branches == 1
        v = values(out.memory)
        assert set(np.unique(v >> 3)) == {0}  # qubits 3, 4, 5 end at 0
        counts = np.bincount(v & 7, minlength=8)
        assert gof_p(counts, np.full(8, 1 / 8)) > P_MIN


def test_counts_identical_across_thread_counts():
    # 16 qubits: the kernel's loops run on both threads.
    circuit = svsim.Circuit(16, 4)
    for q in range(16):
        circuit.ry(0.2 + 0.1 * q, q)
    circuit.measure(0, 0).cx(0, 1, condition=(0, 1)).measure(1, 1).reset(0)
    circuit.h(0).measure(0, 2).ry(0.7, 3, condition=("c", 5)).measure(3, 3)
    for precision in ("double", "single"):
        one = run_experiment(circuit, shots=3000, seed=9, threads=1, precision=precision)
        two = run_experiment(circuit, shots=3000, seed=9, threads=2, precision=precision)
        assert one.method == "branching" and one.branches > 4
        assert one.branches == two.branches
        np.testing.assert_array_equal(one.memory, two.memory)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_branches_that_do_not_fit_fall_back_to_trajectories(precision):
    circuit = random_mid_circuit(2, num_qubits=12)
    shots = 4000
    need = memory_needed(circuit, precision, shots)
    state = state_bytes(12, precision)
    roomy = run_experiment(circuit, shots=shots, seed=5, precision=precision)
    assert roomy.method == "branching" and roomy.branches > 2
    # Room for two states at once: too few for these branches.
    tight = run_experiment(
        circuit, shots=shots, seed=5, precision=precision, max_memory_mb=(need + state) / MiB
    )
    assert tight.method == "trajectory" and tight.branching_fell_back and tight.branches == 0
    per_shot = run_experiment(
        circuit, shots=shots, seed=5, precision=precision, shot_branching=False
    )
    # The fallback is the per-shot run of the same seed, from its start.
    np.testing.assert_array_equal(tight.memory, per_shot.memory)
    size = 1 << circuit.num_clbits
    a = np.bincount(values(roomy.memory), minlength=size)
    b = np.bincount(values(tight.memory), minlength=size)
    assert two_sample_p(a, b) > P_MIN


def test_saves_in_branches_average_over_the_shots():
    # save_probabilities after a random measurement: each branch adds its share
    # of the shots, so the saved probabilities are the shots' measured fractions.
    circuit = svsim.Circuit(2, 2).h(0).ry(0.8, 1).measure(0, 0).save_probabilities([0])
    circuit.save_expectation_value("Z", [1], label="z1")
    circuit.measure(1, 1)
    shots = 1000
    out = run_experiment(circuit, shots=shots, seed=4)
    assert out.method == "branching" and out.branches == 2
    ones = int((values(out.memory) & 1).sum())
    np.testing.assert_allclose(
        out.saves["probabilities"], [1 - ones / shots, ones / shots], atol=1e-12
    )
    assert out.saves["z1"] == pytest.approx(np.cos(0.8), abs=1e-12)


def test_backend_metadata_and_option():
    backend = svsim.BasicSimulator(max_parallel_threads=1)
    mid = svsim.Circuit(2, 2, name="mid").h(0).measure(0, 0).x(1, condition=(0, 1))
    mid.measure(1, 1)
    result = backend.run(mid, shots=200, seed_simulator=4).result(WAIT)
    meta = result.results[0].metadata
    assert meta["shot_method"] == "branching" and meta["measure_sampling"] is False
    assert meta["shot_branching"] == {"enabled": True, "branches": 2, "fell_back": False}
    assert set(result.get_counts()) == {"00", "11"}
    off = backend.run(mid, shots=200, seed_simulator=4, shot_branching=False).result(WAIT)
    assert off.results[0].metadata["shot_method"] == "trajectory"
    assert off.results[0].metadata["shot_branching"]["branches"] == 0
    with pytest.raises(SimulatorError, match="shot_branching must be True or False"):
        backend.run(mid, shots=10, shot_branching="yes")


def test_qasmbench_square_root_makes_one_branch():
    # The circuit of issue 20 (bench/qasmbench): its 65 resets act on qubits in
    # a definite state, so the shots never split.
    pytest.importorskip("qiskit", reason="reading OpenQASM needs the qiskit extra")
    from pathlib import Path

    from svsim.bench.branching import load, total_variation

    folder = Path(__file__).resolve().parents[1] / "bench" / "qasmbench"
    circuit, _ = load("square_root_n18", folder)
    assert sum(i.name == "reset" for i in circuit.data) == 65
    result = svsim.BasicSimulator(max_parallel_threads=1).run(circuit, shots=2000, seed_simulator=3)
    meta = result.result(WAIT).results[0].metadata
    assert meta["shot_method"] == "branching" and meta["shot_branching"]["branches"] == 1
    assert total_variation({"0": 3, "1": 1}, {"0": 1, "1": 1}) == pytest.approx(0.25)


def test_cancel_stops_a_branch_split_of_billions_of_shots():
    """A random reset splits the shots with one draw per shot; with no clbits no
    memory bounds them, so 10^11 shots take minutes: cancel() must stop the
    split, not wait for it."""
    import threading
    import time

    backend = svsim.BasicSimulator(max_parallel_threads=1)
    job = backend.run(svsim.Circuit(1).h(0).reset(0).h(0), shots=10**11)
    deadline = time.monotonic() + WAIT
    while job.status() is not svsim.JobStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # inside the split
    cancelled: list[bool] = []
    canceller = threading.Thread(target=lambda: cancelled.append(job.cancel()), daemon=True)
    canceller.start()
    canceller.join(WAIT / 4)
    assert cancelled == [True] and job.status() is svsim.JobStatus.CANCELLED
    backend.close()


def test_single_precision_state_is_taken_back_as_an_initial_state():
    circuit = svsim.Circuit(12)
    for q in range(12):
        circuit.rx(0.3 + 0.1 * q, q)
    for q in range(11):
        circuit.cx(q, q + 1)
    backend = svsim.BasicSimulator(precision="single")
    state = backend.run(circuit, shots=1).result().get_statevector()
    assert state.dtype == np.complex64
    again = backend.run(circuit, shots=1, initial_statevector=state).result().get_statevector()
    assert again.shape == state.shape
