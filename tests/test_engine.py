"""The compiled kernel, through engine.run_experiment, against the dense reference."""

from __future__ import annotations

import itertools
import os
import resource
import subprocess
import sys

import numpy as np
import pytest
import svsim
from reference import (
    expectation_value,
    probabilities,
    random_circuit,
    random_unitary,
    reference_statevector,
    tensor_reference,
)
from svsim.engine import memory_needed, run_experiment, state_bytes
from svsim.gates import GATES

TOLERANCE = {"double": 1e-10, "single": 1e-4}


def random_state(num_qubits: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(1 << num_qubits) + 1j * rng.standard_normal(1 << num_qubits)
    return v / np.linalg.norm(v)


def final_state(circuit, precision="double", initial=None, threads=1, shots=1, seed=7, fusion=True):
    out = run_experiment(
        circuit,
        shots=shots,
        seed=seed,
        precision=precision,
        threads=threads,
        initial_statevector=initial,
        fusion=fusion,
    )
    return out.statevector


def placements(num_qubits: int, width: int, rng: np.random.Generator, limit: int = 60):
    """Every ordered choice of ``width`` distinct qubits, or a random sample of them."""
    every = list(itertools.permutations(range(num_qubits), width))
    if len(every) <= limit:
        return every
    return [every[i] for i in rng.choice(len(every), size=limit, replace=False)]


def add_gate(circuit, name, params, qubits):
    if name in ("mcx", "mcp"):
        args = (*params, list(qubits[:-1]), qubits[-1])
    else:
        args = (*params, *qubits)
    getattr(circuit, name)(*args)


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("name", sorted(GATES))
def test_every_gate_on_every_placement(name, precision):
    spec = GATES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for num_qubits in range(1, 9):
        widths = (
            range(2, num_qubits + 1)
            if spec.num_controls is None
            else [spec.num_controls + spec.num_targets]
        )
        for width in widths:
            if width > num_qubits:
                continue
            for qubits in placements(num_qubits, width, rng, limit=30 if num_qubits < 7 else 6):
                params = tuple(rng.uniform(-2 * np.pi, 2 * np.pi, spec.num_params))
                circuit = svsim.Circuit(num_qubits)
                add_gate(circuit, name, params, qubits)
                psi = random_state(num_qubits, rng)
                got = final_state(circuit, precision, psi)
                want = reference_statevector(circuit, psi)
                np.testing.assert_allclose(
                    got,
                    want,
                    atol=TOLERANCE[precision],
                    rtol=0,
                    err_msg=f"{name} on {qubits} of {num_qubits}",
                )


def check_unitary(matrix, qubits, num_qubits, precision, rng, what="unitary"):
    """``matrix`` on ``qubits`` of a random state: the kernel against the reference."""
    circuit = svsim.Circuit(num_qubits).unitary(matrix, [int(q) for q in qubits])
    psi = random_state(num_qubits, rng)
    if precision == "single":
        psi = psi.astype(np.complex64)
    np.testing.assert_allclose(
        final_state(circuit, precision, initial=psi),
        reference_statevector(circuit, psi.astype(np.complex128)),
        atol=TOLERANCE[precision],
        rtol=0,
        err_msg=f"{precision} {what} on {list(qubits)} of {num_qubits}",
    )


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 6])
def test_dense_unitary_of_every_width(width, precision):
    # Up to 9 qubits and 24 placements each, so that every kernel path is taken:
    # targets inside one vector of amplitudes (the low qubits), above it, and both.
    rng = np.random.default_rng(width)
    for num_qubits in range(width, 10):
        for qubits in placements(num_qubits, width, rng, limit=24):
            check_unitary(random_unitary(width, rng), qubits, num_qubits, precision, rng)


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("width", [2, 3, 4, 5])
def test_dense_unitaries_above_the_low_bits(width, precision):
    # Random placements rarely leave the lowest 5 qubits free, which is when
    # the kernel loads whole vectors of amplitudes and computes several rows
    # of the matrix at once (how many depends on the width).
    rng = np.random.default_rng(20 + width)
    num_qubits = width + 7
    for _ in range(4):
        qubits = [int(q) for q in rng.permutation(np.arange(5, num_qubits))[:width]]
        check_unitary(random_unitary(width, rng), qubits, num_qubits, precision, rng)


KERNEL_TESTS = "dense_unitar or sparse_unitaries or every_gate or diagonals_beyond"


@pytest.mark.parametrize("isa", ["avx2", "none"])
def test_kernels_of_every_instruction_set(isa):
    # The kernels are compiled for AVX-512, AVX2 and the baseline CPU and one
    # is picked at run time; SVSIM_ISA narrows the pick, so that the kernel
    # tests also check the paths this CPU would not take.
    env = {**os.environ, "SVSIM_ISA": isa}
    probe = [sys.executable, "-c", "import svsim._core as c; print(c.build_info()['simd'])"]
    chosen = subprocess.run(probe, env=env, capture_output=True, text=True, check=True)
    if chosen.stdout.strip() != isa:
        pytest.skip(f"this CPU runs the {chosen.stdout.strip()!r} kernels, not {isa!r}")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    result = subprocess.run(
        [*command, "-k", KERNEL_TESTS], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def sparse_unitary(width: int, block_width: int, rng: np.random.Generator) -> np.ndarray:
    """A unitary with 2**block_width nonzeros in every row: random unitary
    blocks on the diagonal, rows and columns shuffled."""
    dim, block = 1 << width, 1 << block_width
    matrix = np.zeros((dim, dim), dtype=np.complex128)
    for start in range(0, dim, block):
        matrix[start : start + block, start : start + block] = random_unitary(block_width, rng)
    return matrix[rng.permutation(dim)][:, rng.permutation(dim)]


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("width", [2, 3, 4, 5])
def test_sparse_unitaries(width, precision):
    # Fused gates from permutations and few one-qubit gates are sparse; from 3
    # targets on, above the low bits, the kernel skips their zeros (half, a
    # quarter or an eighth of each row); on 2 it computes them (in single
    # precision on AVX2, interleaved).  Placements above and across the low bits.
    rng = np.random.default_rng(40 + width)
    num_qubits = width + 6
    high = list(range(6, num_qubits))
    for block_width in range(0, width):
        for qubits in [high, *placements(num_qubits, width, rng, limit=6)]:
            matrix = sparse_unitary(width, block_width, rng)
            what = f"{block_width}-qubit blocks"
            check_unitary(matrix, qubits, num_qubits, precision, rng, what)


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("num_qubits", [1, 2, 3, 5, 8])
def test_random_circuits(num_qubits, precision):
    for seed in range(4):
        circuit = random_circuit(num_qubits, depth=6, seed=seed)
        got = final_state(circuit, precision)
        np.testing.assert_allclose(
            got, reference_statevector(circuit), atol=TOLERANCE[precision], rtol=0
        )


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize(
    ("num_qubits", "pairs"),
    [
        (13, [(0, 1), (1, 0), (2, 5), (3, 4), (5, 4), (0, 6), (12, 1), (11, 12), (8, 12), (9, 3)]),
        (16, [(0, 15), (15, 2), (14, 15), (6, 15)]),
    ],
)
def test_diagonals_beyond_one_chunk(num_qubits, pairs, precision):
    # The diagonal kernels walk the state in chunks of 2048 vectors; at 13 qubits
    # there are several, and a low controlled diagonal's factors repeat every
    # 8 to 64 amplitudes along them.  A controlled diagonal with a qubit from 6 up
    # repeats them along runs (controlled_diagonal), cut in pieces of 2^14
    # amplitudes: at 16 qubits a run of qubit 15 is two.  Fusion stays off below
    # 14 qubits and is turned off above.
    rng = np.random.default_rng(13)
    psi = random_state(num_qubits, rng)
    diagonals = ("rz", "p", "z", "s", "t", "cz", "cp", "crz", "mcp")
    for qubits in pairs:
        circuit = svsim.Circuit(num_qubits)
        for name in diagonals:
            spec = GATES[name]
            params = tuple(rng.uniform(-2 * np.pi, 2 * np.pi, spec.num_params))
            if name == "mcp":
                add_gate(circuit, name, params, (*qubits, 7))
            else:
                add_gate(circuit, name, params, qubits[: spec.num_controls + spec.num_targets])
        np.testing.assert_allclose(
            final_state(circuit, precision, psi, threads=2, fusion=False),
            reference_statevector(circuit, psi),
            atol=TOLERANCE[precision],
            rtol=0,
            err_msg=f"diagonals on {qubits}",
        )


def test_global_phase_applies():
    circuit = svsim.Circuit(2).h(0)
    circuit.global_phase = 0.7
    got = final_state(circuit)
    np.testing.assert_allclose(got, np.exp(0.7j) * np.array([1, 1, 0, 0]) / np.sqrt(2), atol=1e-12)


def test_statevector_is_a_view_of_the_kernel_buffer():
    circuit = svsim.Circuit(10).h(3).save_statevector()
    out = run_experiment(circuit, shots=1, seed=1)
    assert not out.statevector.flags.owndata
    assert out.statevector.dtype == np.complex128
    # A save at the end is the final state itself, not a copy.
    assert np.shares_memory(out.saves["statevector"], out.statevector)
    single = run_experiment(circuit, shots=1, seed=1, precision="single")
    assert single.statevector.dtype == np.complex64


def test_output_records_the_run_it_came_from():
    """Each field of the output holds what its name says (it is made from the
    kernel's dict by position)."""
    circuit = svsim.Circuit(3, 3).h(0).cx(0, 1).cz(1, 2).save_probabilities(label="p")
    circuit.measure(0, 0).x(2, condition=(0, 1)).measure([1, 2], [1, 2])
    out = run_experiment(circuit, shots=37, seed=5, precision="single", threads=2, fusion=False)
    assert (out.seed, out.shots, out.threads, out.precision) == (5, 37, 2, "single")
    assert out.fusion is False and out.mpi is None and out.time_taken > 0
    assert out.memory.shape == (37, 1) and out.memory.dtype == np.uint64
    assert out.method == "branching" and out.branches == 2 and not out.branching_fell_back
    assert out.statevector.dtype == np.complex64 and out.statevector.shape == (8,)
    np.testing.assert_allclose(out.saves["p"], [0.5, 0, 0, 0.5, 0, 0, 0, 0], atol=1e-6)
    assert out.ops_encoded == circuit.encode().num_ops == out.ops_run  # no fusion
    assert out.gates_run["dense_1"] >= 1 and out.gate_sweeps >= 1


def test_mid_circuit_statevector_save_is_a_snapshot():
    circuit = svsim.Circuit(2).h(0).save_statevector("before").cx(0, 1).save_statevector("after")
    out = run_experiment(circuit, shots=1, seed=1)
    np.testing.assert_allclose(out.saves["before"], [2**-0.5, 2**-0.5, 0, 0], atol=1e-12)
    np.testing.assert_allclose(out.saves["after"], [2**-0.5, 0, 0, 2**-0.5], atol=1e-12)
    assert not np.shares_memory(out.saves["before"], out.statevector)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_saved_probabilities_and_expectation_values(precision):
    rng = np.random.default_rng(11)
    for seed in range(5):
        circuit = random_circuit(5, depth=4, seed=seed)
        qubits = [int(q) for q in rng.permutation(5)[: rng.integers(1, 6)]]
        pauli = "".join(rng.choice(list("IXYZ"), size=len(qubits)))
        circuit.save_probabilities(qubits, label="p").save_probabilities(label="all")
        circuit.save_expectation_value(pauli, qubits, label="e")
        out = run_experiment(circuit, shots=1, seed=1, precision=precision)
        state = reference_statevector(circuit)
        tol = TOLERANCE[precision]
        np.testing.assert_allclose(out.saves["p"], probabilities(state, qubits), atol=tol)
        np.testing.assert_allclose(out.saves["all"], probabilities(state), atol=tol)
        assert out.saves["e"] == pytest.approx(expectation_value(state, pauli, qubits), abs=tol)


def chi_square(counts: np.ndarray, probs: np.ndarray) -> tuple[float, int]:
    expected = probs * counts.sum()
    mask = expected > 0
    assert counts[~mask].sum() == 0, "an outcome of probability zero was drawn"
    stat = float(((counts[mask] - expected[mask]) ** 2 / expected[mask]).sum())
    return stat, int(mask.sum()) - 1


def chi_square_bound(dof: int) -> float:
    # Far above the 1 - 1e-6 quantile of chi-square(dof) for the dofs used here;
    # with fixed seeds the test is deterministic, the bound only has to be fair.
    return dof + 8 * np.sqrt(2 * max(dof, 1)) + 12


def outcomes(memory: np.ndarray) -> np.ndarray:
    return memory[:, 0].astype(np.int64)


@pytest.mark.parametrize("num_qubits", [3, 6, 15])
def test_sampling_matches_the_distribution(num_qubits):
    circuit = random_circuit(num_qubits, depth=3, seed=num_qubits, gate_set=["h", "ry", "cx", "rz"])
    state = reference_statevector(circuit) if num_qubits <= 8 else None
    circuit.measure_all()
    out = run_experiment(circuit, shots=20000, seed=5)
    assert out.method == "sampling"
    if state is None:
        state = out.statevector
    probs = np.abs(np.asarray(state, dtype=np.complex128)) ** 2
    counts = np.bincount(outcomes(out.memory), minlength=1 << num_qubits)
    if num_qubits > 8:  # too many outcomes for a fair test: group them by their low 6 bits
        counts = counts.reshape(-1, 64).sum(axis=0)
        probs = probs.reshape(-1, 64).sum(axis=0)
    stat, dof = chi_square(counts, probs)
    assert stat < chi_square_bound(dof)


def test_samples_are_in_random_shot_order():
    circuit = svsim.Circuit(1, 1).h(0).measure(0, 0)
    bits = outcomes(run_experiment(circuit, shots=4000, seed=3).memory)
    # Sorted order would make almost every neighbour equal.
    changes = np.count_nonzero(np.diff(bits))
    assert 1700 < changes < 2300


def test_same_seed_same_samples_at_one_and_two_threads():
    circuit = random_circuit(16, depth=2, seed=1, gate_set=["h", "rx", "cz"]).measure_all()
    one = run_experiment(circuit, shots=5000, seed=42, threads=1).memory
    two = run_experiment(circuit, shots=5000, seed=42, threads=2).memory
    np.testing.assert_array_equal(one, two)
    other = run_experiment(circuit, shots=5000, seed=43, threads=2).memory
    assert not np.array_equal(one, other)


def test_trajectories_same_seed_same_samples_at_one_and_two_threads():
    circuit = svsim.Circuit(15, 2).h(0).measure(0, 0).cx(0, 1, condition=(0, 1))
    for q in range(15):
        circuit.ry(0.3 * q, q)
    circuit.measure(1, 1)
    one = run_experiment(circuit, shots=50, seed=9, threads=1, shot_branching=False)
    two = run_experiment(circuit, shots=50, seed=9, threads=2, shot_branching=False)
    assert one.method == "trajectory"
    np.testing.assert_array_equal(one.memory, two.memory)


def test_mid_circuit_measurement_and_condition():
    # Measure a |+>, then flip a second qubit when the result was 1: the two
    # clbits always agree.
    circuit = svsim.Circuit(2, 2).h(0).measure(0, 0).x(1, condition=(0, 1)).measure(1, 1)
    out = run_experiment(circuit, shots=2000, seed=4)
    assert out.method == "branching"
    values = outcomes(out.memory)
    assert set(np.unique(values)) == {0, 3}
    stat, dof = chi_square(np.bincount(values, minlength=4), np.array([0.5, 0, 0, 0.5]))
    assert stat < chi_square_bound(dof)


def test_register_condition():
    circuit = svsim.Circuit(3)
    circuit.add_register("a", 2).add_register("b", 1)
    circuit.x(0).x(1).measure(0, 0).measure(1, 1)
    circuit.x(2, condition=("a", 3)).measure(2, 2)
    assert outcomes(run_experiment(circuit, shots=10, seed=1).memory).tolist() == [7] * 10
    circuit = svsim.Circuit(3)
    circuit.add_register("a", 2).add_register("b", 1)
    circuit.x(0).measure(0, 0).measure(1, 1).x(2, condition=("a", 3)).measure(2, 2)
    assert outcomes(run_experiment(circuit, shots=10, seed=1).memory).tolist() == [1] * 10


def test_reset_returns_qubit_to_zero():
    circuit = svsim.Circuit(2, 2).h(0).cx(0, 1).reset(0).measure(0, 0).measure(1, 1)
    out = run_experiment(circuit, shots=2000, seed=8)
    values = outcomes(out.memory)
    assert set(np.unique(values)) <= {0, 2}
    stat, dof = chi_square(np.bincount(values, minlength=4), np.array([0.5, 0, 0.5, 0]))
    assert stat < chi_square_bound(dof)


def test_measurement_collapses_the_state():
    circuit = svsim.Circuit(2, 1).h(0).cx(0, 1).measure(0, 0).save_statevector()
    out = run_experiment(circuit, shots=1, seed=2)
    state = out.saves["statevector"]
    bit = int(out.memory[0, 0])
    want = np.zeros(4)
    want[3 * bit] = 1
    np.testing.assert_allclose(np.abs(state), want, atol=1e-12)


def test_trajectories_without_prefix_copy_give_the_same_samples():
    circuit = svsim.Circuit(4, 2).h(0).ry(0.4, 1).cx(1, 2).measure(0, 0).reset(0).measure(1, 1)
    program = circuit.encode()
    from svsim import _core

    def run(allow_copy):
        return _core.run(
            program.ops,
            program.qubits,
            program.values,
            4,
            2,
            300,
            5,
            "double",
            1,
            1 << 14,
            False,
            14,
            4,
            allow_copy,
            _core.RunControl(),
        )["memory"]

    np.testing.assert_array_equal(run(True), run(False))


def test_initial_statevector_is_used():
    rng = np.random.default_rng(2)
    psi = random_state(3, rng)
    circuit = svsim.Circuit(3).x(1)
    np.testing.assert_allclose(
        final_state(circuit, initial=psi), reference_statevector(circuit, psi), atol=1e-12
    )


def test_memory_limit_refused_before_allocation():
    circuit = svsim.Circuit(34)
    with pytest.raises(svsim.SimulatorError, match=r"274,877,906,944 bytes.*max_memory_mb"):
        run_experiment(circuit, shots=1, seed=1)
    with pytest.raises(svsim.SimulatorError, match="single"):
        run_experiment(svsim.Circuit(20), shots=1, seed=1, max_memory_mb=1)


def test_bad_initial_statevector():
    from svsim.engine import check_initial_statevector

    with pytest.raises(svsim.CircuitError, match="shape"):
        check_initial_statevector(np.ones(3), 2)
    with pytest.raises(svsim.CircuitError, match="normalise"):
        check_initial_statevector(np.ones(4), 2)


def test_cancel_before_start_raises_cancelled():
    from svsim import _core

    control = _core.RunControl()
    control.cancel()
    with pytest.raises(_core.Cancelled):
        run_experiment(svsim.Circuit(3).h(0), shots=1, seed=1, control=control)
    assert issubclass(_core.Cancelled, svsim.SvsimError)


def test_progress_reaches_one():
    from svsim import _core

    control = _core.RunControl()
    run_experiment(svsim.Circuit(3).h(0).cx(0, 1).measure_all(), shots=10, seed=1, control=control)
    assert control.progress() == 1.0


@pytest.mark.parametrize("max_fused", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("precision", ["double", "single"])
def test_fusion_gives_the_same_state(max_fused, precision):
    for seed in range(6):
        num_qubits = 3 + seed
        circuit = random_circuit(num_qubits, depth=8, seed=100 + seed)
        fused = run_experiment(
            circuit,
            shots=1,
            seed=1,
            precision=precision,
            fusion=True,
            fusion_threshold=1,
            max_fused_qubits=max_fused,
        )
        plain = run_experiment(circuit, shots=1, seed=1, precision=precision, fusion=False)
        tol = 1e-12 if precision == "double" else 1e-5
        np.testing.assert_allclose(fused.statevector, plain.statevector, atol=tol, rtol=0)
        np.testing.assert_allclose(
            fused.statevector, reference_statevector(circuit), atol=TOLERANCE[precision], rtol=0
        )
        if max_fused >= 3:
            assert fused.ops_run < plain.ops_run


@pytest.mark.parametrize("precision", ["double", "single"])
def test_dense_gates_whose_lowest_target_is_just_above_one_vector(precision):
    # Targets on qubits 2 to 4 are inside the dense kernel's widest tile but
    # above one vector of amplitudes (AVX2 and AVX-512, both precisions): the
    # kernel takes narrower contiguous tiles there (2 targets on AVX2: runs of
    # interleaved vectors as short as one).
    rng = np.random.default_rng(11)
    pairs = ([1, 4], [2, 3], [2, 9], [3, 4], [3, 7], [4, 10], [5, 6])
    more = ([2, 6, 8], [3, 6, 8, 9], [4, 5, 7, 9], [3, 5, 7, 8, 10], [4, 6, 7, 9, 10])
    for targets in (*pairs, *more):
        circuit = svsim.Circuit(11)
        for q in range(11):
            circuit.ry(float(rng.uniform(0, 3)), q)
        circuit.unitary(random_unitary(len(targets), rng), targets)
        out = run_experiment(circuit, shots=1, seed=1, precision=precision, fusion=False)
        np.testing.assert_allclose(
            out.statevector, reference_statevector(circuit), atol=TOLERANCE[precision], rtol=0
        )


@pytest.mark.parametrize("max_fused", [3, 4, 5])
@pytest.mark.parametrize("precision", ["double", "single"])
def test_fusion_of_permutations_and_one_qubit_gates(max_fused, precision):
    # Chains of cx, ccx and swap between one-qubit gates fuse into sparse
    # blocks, which the cost model prices by their nonzeros.
    gates = ["x", "h", "rx", "ry", "rz", "cz", "cx", "ccx", "swap", "cswap", "cp"]
    for seed in range(3):
        circuit = random_circuit(12, depth=6, seed=300 + seed, gate_set=gates)
        ring = svsim.Circuit(12)
        for q in range(12):
            ring.rx(0.3 + q, q).rz(0.7 * q, q)
        for q in range(12):
            ring.cx(q, (q + 1) % 12)
        for q in range(12):
            ring.ry(0.1 * q, q)
        for c in (circuit, ring):
            fused = run_experiment(
                c,
                shots=0,
                seed=1,
                precision=precision,
                fusion_threshold=1,
                max_fused_qubits=max_fused,
            )
            np.testing.assert_allclose(
                fused.statevector, tensor_reference(c), atol=TOLERANCE[precision], rtol=0
            )
            assert fused.ops_run < fused.ops_encoded


def test_fusion_keeps_measurements_and_conditions_in_place():
    circuit = random_circuit(6, depth=4, seed=3, gate_set=["h", "rz", "cx", "cp", "ry"])
    circuit.add_register("c", 2)
    circuit.measure(0, 0).x(1, condition=(0, 1)).save_probabilities(label="p")
    circuit.h(2).cz(2, 3).reset(2).rzz(0.4, 3, 4).measure(3, 1)
    fused = run_experiment(circuit, shots=300, seed=8, fusion=True, fusion_threshold=1)
    plain = run_experiment(circuit, shots=300, seed=8, fusion=False)
    np.testing.assert_array_equal(fused.memory, plain.memory)
    np.testing.assert_allclose(fused.saves["p"], plain.saves["p"], atol=1e-12)
    np.testing.assert_allclose(fused.statevector, plain.statevector, atol=1e-12)


def test_fusion_of_diagonal_runs_at_twelve_qubits():
    circuit = svsim.Circuit(12)
    for q in range(12):
        circuit.h(q)
    for q in range(11):
        circuit.cp(0.1 * (q + 1), q, q + 1).rz(0.3, q).rzz(0.2, q, 11 - q if q != 11 - q else 0)
    fused = run_experiment(circuit, shots=1, seed=1, fusion=True, fusion_threshold=1)
    plain = run_experiment(circuit, shots=1, seed=1, fusion=False)
    np.testing.assert_allclose(fused.statevector, plain.statevector, atol=1e-12, rtol=0)
    assert fused.ops_run < plain.ops_run


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("fusion", [True, False])
def test_cache_blocked_runs_at_seventeen_qubits(precision, fusion):
    # From 16 (double) or 17 (single) qubits, runs of gates on the low qubits
    # are applied block by block; high-qubit gates and measurements split the runs.
    circuit = random_circuit(17, depth=3, seed=17)
    state = tensor_reference(circuit)
    out = run_experiment(circuit, shots=1, seed=1, precision=precision, fusion=fusion)
    np.testing.assert_allclose(out.statevector, state, atol=TOLERANCE[precision], rtol=0)
    circuit.measure_all()
    assert run_experiment(circuit, shots=1, seed=1, fusion=fusion).method == "sampling"


def qubit_ladder(num_qubits: int, seed: int, circuit: svsim.Circuit | None = None) -> svsim.Circuit:
    """Qubits brought in one at a time, from the lowest up: on each new qubit
    first a phase on its |0> (which scales every amplitude reached so far) or a
    diagonal with a lower qubit, then gates among the qubits reached so far."""
    rng = np.random.default_rng(seed)
    qc = circuit if circuit is not None else svsim.Circuit(num_qubits)
    qc.h(0)
    for q in range(1, num_qubits):
        low = int(rng.integers(q))
        if q % 3 == 0:
            qc.cp(rng.uniform(0, 2 * np.pi), low, q).rzz(rng.uniform(0, 2 * np.pi), low, q)
        else:
            qc.rz(rng.uniform(0, 2 * np.pi), q)
        qc.cry(rng.uniform(0, 2 * np.pi), low, q)
        a, b = (int(x) for x in rng.choice(q + 1, size=2, replace=False))
        qc.cx(a, b).ry(rng.uniform(0, 2 * np.pi), int(rng.integers(q + 1)))
    return qc


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("fusion", [True, False])
def test_gates_reaching_new_qubits_one_at_a_time(precision, fusion):
    # Gates run on the amplitudes of the qubits reached so far, across the
    # cache-block size (15 qubits in double, 16 in single) and past it.
    circuit = qubit_ladder(17, seed=4)
    out = run_experiment(circuit, shots=0, seed=1, precision=precision, fusion=fusion)
    np.testing.assert_allclose(
        out.statevector, tensor_reference(circuit), atol=TOLERANCE[precision], rtol=0
    )


@pytest.mark.parametrize("keep_prefix", [True, False])
def test_each_trajectory_reaches_its_qubits_again(keep_prefix):
    # Shots after the first start from the state before the first measurement
    # (a copy of it, or the circuit run again): what was reached then must be
    # reached again.  The measured qubit is not reached yet, so it is surely 0
    # and the final state is the ladders'.
    n = 16
    circuit = svsim.Circuit(n, 1)
    qubit_ladder(8, seed=5, circuit=circuit)
    circuit.measure(8, 0)
    qubit_ladder(n, seed=6, circuit=circuit)
    without_measure = svsim.Circuit(n)
    qubit_ladder(8, seed=5, circuit=without_measure)
    qubit_ladder(n, seed=6, circuit=without_measure)
    shots = 3
    limit = memory_needed(circuit, "double", shots) / (1 << 20)
    limit += state_bytes(n, "double") / (1 << 20) * (1.5 if keep_prefix else 0.5)
    out = run_experiment(circuit, shots=shots, seed=1, max_memory_mb=limit, shot_branching=False)
    assert out.method == "trajectory"
    assert (out.memory == 0).all()
    np.testing.assert_allclose(
        out.statevector, tensor_reference(without_measure), atol=1e-10, rtol=0
    )


@pytest.mark.parametrize("precision", ["double", "single"])
def test_wide_diagonals_with_per_block_factors(precision):
    # Runs of diagonal gates over more qubits than a fused table holds (here 14,
    # n - 4; at most 15):
    # gates that touch the low 12 qubits go into the table, the others become
    # one factor per block of 2^12 amplitudes.  A QFT makes such runs, and so
    # do random cp / rzz / cz / controlled-phase gates over 18 qubits.
    n = 18
    rng = np.random.default_rng(18)
    qft = svsim.Circuit(n)
    for j in reversed(range(n)):
        qft.h(j)
        for k in reversed(range(j)):
            qft.cp(np.pi / (1 << (j - k)), k, j)
    mixed = svsim.Circuit(n)
    for q in range(n):
        mixed.h(q)
    for _ in range(60):
        a, b, c = (int(q) for q in rng.choice(n, size=3, replace=False))
        kind = rng.integers(4)
        if kind == 0:
            mixed.cp(rng.uniform(0, 2 * np.pi), a, b)
        elif kind == 1:
            mixed.rzz(rng.uniform(0, 2 * np.pi), a, b)
        elif kind == 2:
            mixed.cz(a, b)
        else:
            mixed.mcp(rng.uniform(0, 2 * np.pi), [a, b], c)
    mixed.h(0).h(n - 1)
    for circuit in (qft, mixed):
        fused = run_experiment(circuit, shots=0, seed=1, precision=precision, fusion=True)
        np.testing.assert_allclose(
            fused.statevector, tensor_reference(circuit), atol=TOLERANCE[precision], rtol=0
        )
        assert fused.ops_run < fused.ops_encoded / 4


def swapped_reference(state: np.ndarray, swaps: list[tuple[int, int]]) -> np.ndarray:
    """The state with qubits exchanged, one pair after another, by moving tensor axes."""
    n = state.size.bit_length() - 1
    tensor = state.reshape([2] * n)  # axis n - 1 - q is qubit q
    for a, b in swaps:
        tensor = np.swapaxes(tensor, n - 1 - a, n - 1 - b)
    return tensor.reshape(-1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("precision", ["double", "single"])
def test_runs_of_swaps_in_one_sweep(precision, threads):
    # Consecutive swaps on disjoint qubits run as one sweep over tiles of the
    # state: the bit reversal that ends a QFT, random sets of pairs, pairs
    # inside one tile, a state smaller than a tile, and a run that reuses a
    # qubit (two sweeps).
    rng = np.random.default_rng(29)
    cases = [(16, [(q, 15 - q) for q in range(8)]), (15, [(0, 1), (2, 3)]), (9, [(0, 8), (3, 5)])]
    for n in (14, 15, 17):
        for _ in range(3):
            pairs = rng.permutation(n)[: 2 * int(rng.integers(2, n // 2 + 1))]
            cases.append((n, [(int(a), int(b)) for a, b in pairs.reshape(-1, 2)]))
    cases.append((14, [(0, 13), (1, 12), (13, 5), (2, 7)]))
    for n, swaps in cases:
        circuit = svsim.Circuit(n)
        for a, b in swaps:
            circuit.swap(a, b)
        initial = random_state(n, rng)
        out = run_experiment(
            circuit,
            shots=0,
            seed=1,
            precision=precision,
            threads=threads,
            initial_statevector=initial,
            fusion_threshold=1,
        )
        np.testing.assert_allclose(
            out.statevector, swapped_reference(initial, swaps), atol=TOLERANCE[precision], rtol=0
        )
        reuses_a_qubit = len({q for pair in swaps for q in pair}) < 2 * len(swaps)
        assert out.ops_run == (2 if reuses_a_qubit else 1), (n, swaps)


@pytest.mark.parametrize("precision, num_qubits", [("double", 22), ("single", 23)])
def test_swap_sweep_of_a_state_larger_than_the_cache(precision, num_qubits):
    # From 64 MiB on, the sweep writes past the cache (streaming stores), and
    # the threads split the tiles that start an exchange, not the state.
    rng = np.random.default_rng(31)
    swaps = [(q, num_qubits - 1 - q) for q in range(num_qubits // 2)]
    circuit = svsim.Circuit(num_qubits)
    for a, b in swaps:
        circuit.swap(a, b)
    initial = random_state(num_qubits, rng)
    out = run_experiment(
        circuit, shots=0, seed=1, precision=precision, threads=2, initial_statevector=initial
    )
    assert out.ops_run == 1
    np.testing.assert_allclose(
        out.statevector, swapped_reference(initial, swaps), atol=TOLERANCE[precision], rtol=0
    )


@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="under AddressSanitizer every allocation also faults in shadow memory",
)
def test_a_freed_state_is_reused_by_the_next_one_of_its_size():
    # A fresh 32 MiB state costs 16 huge-page faults or 8192 small ones; the
    # buffer kept from the last run costs none.  The circuit's fused gates
    # free small states while fusion builds their matrices: those must not
    # push the kept buffer out.
    circuit = random_circuit(21, depth=2, seed=3)
    first = run_experiment(circuit, shots=0, seed=1)
    assert first.ops_run < first.ops_encoded  # fusion built matrices
    del first
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out = run_experiment(circuit, shots=0, seed=1)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults < 8
    assert out.statevector.nbytes == 32 << 20


def test_single_precision_rounds_a_fused_gate_once():
    """Fused matrices and diagonal tables are built from the gates' values in
    double and rounded to float once: an 18-qubit QFT on a random product state
    keeps its norm to 6e-7 (it drifted 1.8e-6 when each gate was rounded first;
    2e-7 with the narrower blocks of the AVX-512 costs, 3.4e-7 with AVX2's)."""
    rng = np.random.default_rng(3)
    n = 18
    circuit = svsim.Circuit(n)
    for q in range(n):
        circuit.ry(float(rng.uniform(0, 3)), q).rz(float(rng.uniform(0, 3)), q)
    for j in range(n - 1, -1, -1):  # Qiskit's QFT order
        circuit.h(j)
        for k in range(j - 1, -1, -1):
            circuit.cp(np.pi / 2 ** (j - k), k, j)
    for q in range(n // 2):
        circuit.swap(q, n - 1 - q)
    single = run_experiment(circuit, shots=1, seed=1, precision="single").statevector
    double = run_experiment(circuit, shots=1, seed=1, precision="double").statevector
    state = single.astype(np.complex128)
    assert abs(np.vdot(state, state).real - 1.0) < 6e-7
    assert np.max(np.abs(state - double)) < 1e-4


def test_all_cores_is_the_cpu_count_read_once() -> None:
    # threads=0 runs on os.cpu_count() threads (recorded in the output), read
    # once per process (engine.online_cpus), not once per run.
    qc = svsim.Circuit(2).h(0).cx(0, 1).measure_all()
    out = run_experiment(qc, shots=10, seed=1, threads=0)
    assert out.threads == (os.cpu_count() or 1) == svsim.engine.online_cpus()
    assert svsim.engine.online_cpus.cache_info().hits >= 1
