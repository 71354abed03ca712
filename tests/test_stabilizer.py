"""The stabilizer (Clifford) path on Stim, against svsim's kernel and Qiskit's tableau.

Every statistical test has a fixed seed, so it either always passes or always
fails; the thresholds (p = 1e-4) only have to be fair to a correct sampler.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

stim = pytest.importorskip("stim", reason="needs Stim: pip install '.[stabilizer]'")

from stats import binom_p, chi2_sf, gof_p, two_sample_p  # noqa: E402
from svsim import _core  # noqa: E402
from svsim.bench.clifford import apply_ops  # noqa: E402
from svsim.circuit import Circuit  # noqa: E402
from svsim.engine import run_experiment  # noqa: E402
from svsim.exceptions import MissingExtraError, SimulatorError  # noqa: E402
from svsim.gates import GATES, gate_matrix  # noqa: E402
from svsim.stabilizer import (  # noqa: E402
    CLIFFORD_DESCRIPTION,
    CLIFFORD_GATES,
    _chunk_shots,
    _pack,
    _pack_plan,
    check_memory,
    is_clifford,
    run_stabilizer,
    stabilizer_memory_bytes,
    to_stim,
    why_not_clifford,
)

P_MIN = 1e-4
GATE_NAMES = sorted(CLIFFORD_GATES & set(GATES))
SINGLE = [g for g in GATE_NAMES if GATES[g].num_targets + (GATES[g].num_controls or 0) == 1]
DOUBLE = [g for g in GATE_NAMES if g not in SINGLE]

from svsim.bench.clifford import Op  # noqa: E402

# ---------------------------------------------------------------- statistics


def test_statistics_helpers_match_known_values():
    # chi-square(7) upper 0.001 quantile 24.322; chi-square(1) at 3.841 is 0.05
    assert chi2_sf(24.322, 7) == pytest.approx(1e-3, rel=1e-3)
    assert chi2_sf(3.8415, 1) == pytest.approx(0.05, rel=1e-3)
    assert chi2_sf(150.0, 120) == pytest.approx(0.033073, rel=1e-3)
    assert binom_p(5, 10) == pytest.approx(1.0)
    assert binom_p(0, 10) == pytest.approx(2 / 1024)
    assert binom_p(40, 100) == pytest.approx(0.056887, rel=1e-4)
    assert binom_p(50_600, 100_000) == pytest.approx(1.497e-4, rel=0.01)  # normal branch


# ---------------------------------------------------------------- circuits


def random_ops(rng: np.random.Generator, num_qubits: int, count: int, names=GATE_NAMES):
    ops: list[Op] = []
    for _ in range(count):
        name = str(rng.choice(names))
        width = 1 if name in SINGLE else 2
        qubits = tuple(int(q) for q in rng.choice(num_qubits, size=width, replace=False))
        ops.append((name, qubits, None))
    return ops


def build(num_qubits: int, ops: list[Op], num_clbits: int = 0) -> Circuit:
    return apply_ops(Circuit(num_qubits, num_clbits), ops)


def exact_probabilities(num_qubits: int, ops: list[Op]) -> np.ndarray:
    circuit = build(num_qubits, ops)
    circuit.save_probabilities(label="p")
    return run_experiment(circuit, shots=1, seed=0).saves["p"]


def measured(num_qubits: int, ops: list[Op]) -> Circuit:
    return build(num_qubits, ops + [("measure", (q,), q) for q in range(num_qubits)], num_qubits)


def outcome_counts(memory: np.ndarray, num_outcomes: int) -> np.ndarray:
    return np.bincount(memory[:, 0].astype(np.int64), minlength=num_outcomes)


def basis_change(basis: str) -> list[Op]:
    """Measuring Z after these is measuring ``basis[q]`` on qubit q (X: h; Y: sdg, h)."""
    ops: list[Op] = []
    for q, b in enumerate(basis):
        if b == "Y":
            ops.append(("sdg", (q,), None))
        if b in "XY":
            ops.append(("h", (q,), None))
    return ops


# ---------------------------------------------------------------- the gate table


def test_clifford_gate_set():
    expected = set("id x y z h s sdg sx sxdg cx cy cz swap iswap ecr".split())
    assert expected | {"measure", "reset", "barrier"} == set(CLIFFORD_GATES)
    assert set(GATE_NAMES) == expected


@pytest.mark.parametrize("name", GATE_NAMES)
def test_each_gate_is_svsims_matrix_up_to_phase(name):
    """Stim's tableau of the translation equals the tableau of svsim's matrix,
    in both argument orders (Tableau equality ignores only the global phase)."""
    width = 1 if name in SINGLE else 2
    orders = [(0,)] if width == 1 else [(0, 1), (1, 0)]
    for qubits in orders:
        circuit = Circuit(width)
        getattr(circuit, name)(*qubits)
        padded = stim.Circuit("I " + " ".join(map(str, range(width)))) + to_stim(circuit)
        matrix = gate_matrix(name)
        if qubits == (1, 0):
            swap = gate_matrix("swap")
            matrix = swap @ matrix @ swap
        assert padded.to_tableau() == stim.Tableau.from_unitary_matrix(matrix, endian="little")


@pytest.mark.parametrize("name", GATE_NAMES)
def test_each_gate_matches_the_kernels_statevector(name):
    """Stim's state after random Clifford preparations and the gate, against the
    kernel's statevector of the same circuit, up to global phase."""
    rng = np.random.default_rng(sum(map(ord, name)))
    for _ in range(6):
        width = 1 if name in SINGLE else 2
        qubits = tuple(int(q) for q in rng.choice(3, size=width, replace=False))
        ops = random_ops(rng, 3, 8) + [(name, qubits, None)] + random_ops(rng, 3, 4)
        circuit = build(3, ops)
        kernel = run_experiment(circuit, shots=1, seed=0).statevector
        simulator = stim.TableauSimulator()
        simulator.do_circuit(stim.Circuit("I 0 1 2") + to_stim(circuit))
        ours = simulator.state_vector(endian="little")
        assert abs(np.vdot(ours, kernel)) == pytest.approx(1.0, abs=1e-6), ops


# Gates with parameters, at the angles where they are Clifford gates: what
# transpile at optimization level 2 and above writes for h, s, cx and the like.
QUARTER_TURN_GATES = {
    "rx": 1, "ry": 1, "rz": 1, "p": 1, "u": 3,
    "cp": 1, "crz": 1, "crx": 1, "cry": 1, "rxx": 1, "ryy": 1, "rzz": 1, "rzx": 1,
    "cu": 4,
}  # fmt: skip


def quarter_turn_ops(rng: np.random.Generator, num_qubits: int, count: int) -> list:
    ops = []
    for _ in range(count):
        name = str(rng.choice(sorted(QUARTER_TURN_GATES)))
        params = [float(k) * math.pi / 2 for k in rng.integers(-4, 5, QUARTER_TURN_GATES[name])]
        if name in ("cp", "crz", "crx", "cry", "cu"):  # controlled: half turns only (cs is not)
            params = [float(k) * math.pi for k in rng.integers(-2, 3, len(params))]
        width = 1 if name in ("rx", "ry", "rz", "p", "u") else 2
        qubits = [int(q) for q in rng.choice(num_qubits, size=width, replace=False)]
        ops.append((name, params, qubits))
    return ops


@pytest.mark.parametrize("seed", range(12))
def test_gates_at_clifford_angles_and_clifford_unitaries_run_on_stim(seed):
    """Gates with parameters at Clifford angles, and random Clifford unitaries on
    one and two qubits, take the stabilizer path: Stim's state equals the
    kernel's up to global phase."""
    rng = np.random.default_rng(seed)
    circuit = build(4, random_ops(rng, 4, 6))
    for name, params, qubits in quarter_turn_ops(rng, 4, 12):
        getattr(circuit, name)(*params, *qubits)
    for width in (1, 2, 2):
        single = stim.Tableau.random(width).to_unitary_matrix(endian="little")
        left, _, right = np.linalg.svd(single.astype(complex))  # Stim's is complex64
        clifford = left @ right
        circuit.unitary(
            clifford * np.exp(1j * rng.uniform(0, 6)), list(rng.choice(4, width, False))
        )
    assert why_not_clifford(circuit) is None
    kernel = run_experiment(circuit, shots=1, seed=0).statevector
    simulator = stim.TableauSimulator()
    simulator.do_circuit(stim.Circuit("I 0 1 2 3") + to_stim(circuit))
    ours = simulator.state_vector(endian="little")
    assert abs(np.vdot(ours, kernel)) == pytest.approx(1.0, abs=1e-6)  # Stim: complex64


def test_only_unitary_clifford_matrices_are_clifford():
    from svsim.stabilizer import is_clifford_matrix

    assert is_clifford_matrix(gate_matrix("s")) and is_clifford_matrix(gate_matrix("cz"))
    for matrix in (np.full((2, 2), np.nan), np.zeros((4, 4)), 2 * gate_matrix("h")):
        assert not is_clifford_matrix(matrix)


def test_gates_off_clifford_angles_are_not_clifford():
    for circuit in (
        Circuit(1).rz(math.pi / 4, 0),
        Circuit(2).crz(math.pi / 2, 0, 1),  # diag(1, 1, e^-i pi/4, e^i pi/4): not Clifford
        Circuit(2).rzz(math.pi / 2 + 1e-7, 0, 1),
        Circuit(3).ccx(0, 1, 2),
        Circuit(2).unitary(gate_matrix("cu", (0.1, 0.2, 0.3, 0.4)), [0, 1]),
    ):
        assert why_not_clifford(circuit) is not None, circuit


# The six single-qubit stabilizer states, prepared from |0>.
PREPARATIONS = {
    "0": [],
    "1": ["x"],
    "+": ["h"],
    "-": ["x", "h"],
    "+i": ["h", "s"],
    "-i": ["h", "sdg"],
}


@pytest.mark.parametrize("name", GATE_NAMES)
def test_each_gate_on_every_product_stabilizer_state_in_every_basis(name):
    """The gate on each product of the six stabilizer states, measured in each
    product of X, Y and Z bases, in both argument orders.  These inputs span
    every density matrix and these bases fix every Pauli expectation, so only
    the right Clifford (up to global phase) passes; wrong conventions (S for
    SDG, a reversed ECR, ISWAP_DAG) move the support of some basis, and a
    single sampled outcome of probability 0 fails the test."""
    width = 1 if name in SINGLE else 2
    orders = [(0,)] if width == 1 else [(0, 1), (1, 0)]
    trial = 0
    for qubits in orders:
        for states in itertools.product(PREPARATIONS, repeat=width):
            for bases in itertools.product("XYZ", repeat=width):
                ops: list[Op] = []
                for q, label in enumerate(states):
                    ops += [(g, (q,), None) for g in PREPARATIONS[label]]
                ops.append((name, qubits, None))
                ops += basis_change("".join(bases))
                probs = exact_probabilities(width, ops)
                trial += 1
                out = run_stabilizer(measured(width, ops), shots=200, seed=trial)
                counts = outcome_counts(out.memory, 1 << width)
                assert gof_p(counts, probs) > P_MIN, (qubits, states, bases)


@pytest.mark.parametrize("seed", range(6))
def test_random_clifford_circuits_match_exact_probabilities(seed):
    rng = np.random.default_rng(seed)
    num_qubits = 4 + seed % 2
    ops = random_ops(rng, num_qubits, 30)
    probs = exact_probabilities(num_qubits, ops)
    out = run_stabilizer(measured(num_qubits, ops), shots=20000, seed=seed)
    assert gof_p(outcome_counts(out.memory, 1 << num_qubits), probs) > P_MIN


# ---------------------------------------------------------------- mid-circuit


def mid_circuit_ops(rng: np.random.Generator, num_qubits: int, num_clbits: int) -> list[Op]:
    """Gates with measurements into reused clbits and bare resets mixed in."""
    ops: list[Op] = []
    for _ in range(40):
        roll = rng.random()
        if roll < 0.15:
            ops.append(("measure", (int(rng.integers(num_qubits)),), int(rng.integers(num_clbits))))
        elif roll < 0.25:
            ops.append(("reset", (int(rng.integers(num_qubits)),), None))
        else:
            ops += random_ops(rng, num_qubits, 1)
    return ops + [("measure", (q,), q) for q in range(num_qubits)]


@pytest.mark.parametrize("seed", range(5))
def test_mid_circuit_measure_and_reset_against_trajectories(seed):
    rng = np.random.default_rng(50 + seed)
    num_qubits, num_clbits = 3 + seed % 2, 6
    circuit = build(num_qubits, mid_circuit_ops(rng, num_qubits, num_clbits), num_clbits)
    ours = run_stabilizer(circuit, shots=20000, seed=seed)
    kernel = run_experiment(circuit, shots=20000, seed=seed)
    assert kernel.method == "branching"
    a = outcome_counts(ours.memory, 1 << num_clbits)
    b = outcome_counts(kernel.memory, 1 << num_clbits)
    assert two_sample_p(a, b) > P_MIN


# ---------------------------------------------------------------- clbits and packing


def test_last_measurement_wins_and_unmeasured_clbits_stay_zero():
    circuit = Circuit(3, 5)
    circuit.x(0).measure(0, 1).x(0).measure(0, 1)  # clbit 1: 1 then 0
    circuit.x(1).measure(1, 3).h(2).measure(2, 3).reset(2).measure(2, 3)  # clbit 3: 1, ?, 0
    circuit.measure(1, 4)  # clbit 4: 1; clbits 0 and 2 never measured
    out = run_stabilizer(circuit, shots=500, seed=3)
    assert out.memory.shape == (500, 1)
    assert (out.memory[:, 0] == 0b10000).all()


def naive_memory(circuit: Circuit, shots: int, seed: int) -> np.ndarray:
    """Stim's own unpacked samples, one bit at a time, last write wins."""
    raw = to_stim(circuit).compile_sampler(seed=seed).sample(shots, bit_packed=True)
    bits = np.unpackbits(raw, axis=1, bitorder="little")
    memory = np.zeros((shots, -(-circuit.num_clbits // 64)), dtype=np.uint64)
    record = 0
    for instr in circuit.data:
        if instr.name == "measure":
            c = instr.clbits[0]
            word, bit = divmod(c, 64)
            memory[:, word] &= ~np.uint64(1 << bit)
            memory[:, word] |= bits[:, record].astype(np.uint64) << np.uint64(bit)
            record += 1
    return memory


@pytest.mark.parametrize("seed", range(4))
def test_packing_equals_stims_samples_bit_by_bit(seed):
    """Several words of clbits, measured in order, shifted, shuffled and reused."""
    rng = np.random.default_rng(seed)
    num_qubits, num_clbits = 90, 200
    circuit = Circuit(num_qubits, num_clbits)
    for name, qubits, _ in random_ops(rng, num_qubits, 300):
        getattr(circuit, name)(*qubits)
    offset = int(rng.integers(0, 40))
    circuit.measure(range(num_qubits), [q + offset for q in range(num_qubits)])
    for q, c in zip(rng.integers(0, num_qubits, 60), rng.integers(0, num_clbits, 60), strict=True):
        circuit.h(int(q)).measure(int(q), int(c))
    shots = 3000
    assert shots <= _chunk_shots(circuit, 150)  # one Stim call: the same samples
    out = run_stabilizer(circuit, shots=shots, seed=seed)
    assert out.memory.shape == (shots, 4)
    assert out.memory.dtype == np.uint64 and out.memory.flags.c_contiguous
    np.testing.assert_array_equal(out.memory, naive_memory(circuit, shots, seed))


def test_pack_plan_against_a_bit_loop():
    rng = np.random.default_rng(7)
    for trial in range(200):
        num_clbits, num_measurements = int(rng.integers(1, 200)), int(rng.integers(1, 300))
        if trial % 4 == 0:
            sources = rng.integers(-1, num_measurements, num_clbits)
        elif trial % 4 == 1:  # whole bytes of consecutive measurements, in shuffled order
            blocks = rng.permutation(-(-num_measurements // 8))
            sources = (blocks[:, None] * 8 + np.arange(8)).ravel()[:num_clbits]
            sources = np.pad(sources, (0, num_clbits - sources.size), constant_values=-1)
            sources[sources >= num_measurements] = -1
        else:
            sources = np.arange(num_clbits) + int(rng.integers(-4, num_measurements))
            if trial % 4 == 3:
                sources[rng.integers(0, num_clbits, 3)] = rng.integers(-1, num_measurements, 3)
            sources[(sources < 0) | (sources >= num_measurements)] = -1
        samples = rng.integers(0, 256, (17, -(-num_measurements // 8)), dtype=np.uint8)
        out = np.zeros((17, -(-num_clbits // 64)), dtype=np.uint64)
        _pack(samples, _pack_plan(sources, num_measurements), out.view(np.uint8))
        expected = np.zeros_like(out)
        for c, m in enumerate(sources):
            if m >= 0:
                bit = ((samples[:, m // 8] >> (m % 8)) & 1).astype(np.uint64)
                expected[:, c // 64] |= bit << np.uint64(c % 64)
        np.testing.assert_array_equal(out, expected, err_msg=f"trial {trial}")


def test_ghz_across_several_words_with_a_shuffled_register():
    rng = np.random.default_rng(11)
    num_qubits, num_clbits = 150, 230
    circuit = Circuit(num_qubits, num_clbits).h(0)
    for q in range(num_qubits - 1):
        circuit.cx(q, q + 1)
    clbits = rng.permutation(num_clbits)[:num_qubits]
    circuit.measure(range(num_qubits), [int(c) for c in clbits])
    out = run_stabilizer(circuit, shots=5000, seed=2)
    bits = np.unpackbits(out.memory.view(np.uint8), axis=1, bitorder="little")[:, :num_clbits]
    unmeasured = np.setdiff1d(np.arange(num_clbits), clbits)
    assert not bits[:, unmeasured].any()
    ones = bits[:, clbits].sum(axis=1)
    assert np.isin(ones, [0, num_qubits]).all()
    assert binom_p(int((ones > 0).sum()), 5000) > P_MIN


def test_no_clbits_no_measurements_and_zero_shots():
    circuit = Circuit(4).h(0).cx(0, 1)
    out = run_stabilizer(circuit, shots=10, seed=0)
    assert out.memory.shape == (10, 0) and out.memory.dtype == np.uint64
    assert out.memory.flags.c_contiguous
    out = run_stabilizer(Circuit(4, 3).h(0), shots=10, seed=0)
    assert out.memory.shape == (10, 1) and not out.memory.any()
    out = run_stabilizer(Circuit(2, 2).h(0).measure(0, 1), shots=0, seed=0)
    assert out.memory.shape == (0, 1)
    out = run_stabilizer(Circuit(0, 2), shots=3, seed=0)
    assert out.memory.shape == (3, 1) and not out.memory.any()


def test_output_fields():
    circuit = Circuit(2).h(0).cx(0, 1).measure_all()
    circuit.global_phase = 1.0
    out = run_stabilizer(circuit, shots=100, seed=42)
    assert out.method == "stabilizer" and out.statevector is None and out.saves == {}
    assert (out.seed, out.shots, out.threads, out.precision) == (42, 100, 1, "double")
    assert out.fusion is False and out.time_taken >= 0
    assert out.ops_encoded == out.ops_run == len(circuit.data) == 5
    assert set(out.memory[:, 0].tolist()) <= {0, 3}


# ---------------------------------------------------------------- seeds, chunks, cancel


def test_seeds_repeat_and_differ_across_chunks():
    circuit = measured(5, random_ops(np.random.default_rng(4), 5, 40))
    chunk = _chunk_shots(circuit, 5)
    shots = 2 * chunk + 77
    a = run_stabilizer(circuit, shots=shots, seed=123).memory
    b = run_stabilizer(circuit, shots=shots, seed=123).memory
    c = run_stabilizer(circuit, shots=shots, seed=124).memory
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[:chunk], a[chunk : 2 * chunk])  # the stream moves on


class _CancelAfter:
    """Reads as cancelled from its ``reads``-th look on (a RunControl stand-in)."""

    def __init__(self, reads: int) -> None:
        self.reads = reads

    @property
    def cancel_requested(self) -> bool:
        self.reads -= 1
        return self.reads < 0


def test_cancelled_control_raises():
    circuit = Circuit(3).h(0).cx(0, 1).measure_all()
    control = _core.RunControl()
    control.cancel()
    with pytest.raises(_core.Cancelled):
        run_stabilizer(circuit, shots=10, seed=0, control=control)
    run_stabilizer(circuit, shots=10, seed=0, control=_core.RunControl())  # not cancelled
    shots = 3 * _chunk_shots(circuit, 3)
    with pytest.raises(_core.Cancelled):  # between chunks
        run_stabilizer(circuit, shots=shots, seed=0, control=_CancelAfter(4))  # type: ignore[arg-type]


# ---------------------------------------------------------------- what runs


def test_is_clifford():
    base = Circuit(2, 2).h(0).cx(0, 1).iswap(0, 1).ecr(1, 0).barrier().reset(1).measure(0, 0)
    assert is_clifford(base)
    phased = base.copy()
    phased.global_phase = 0.3
    assert is_clifford(phased)
    assert not is_clifford(base.copy().t(0))
    assert not is_clifford(base.copy().rz(0.3, 0))
    assert not is_clifford(base.copy().rz(math.pi / 2 + 1e-6, 0))
    assert is_clifford(base.copy().rz(math.pi / 2, 0))  # S up to global phase
    assert not is_clifford(base.copy().h(0, condition=(0, 1)))
    assert not is_clifford(base.copy().measure(1, 1, condition=(0, 1)))
    assert not is_clifford(base.copy().save_statevector())
    assert not is_clifford(base.copy().save_probabilities())
    assert not is_clifford(base.copy().save_expectation_value("ZZ", [0, 1]))
    assert is_clifford(base.copy().unitary(np.eye(2), [0]))
    assert not is_clifford(base.copy().unitary(gate_matrix("t"), [0]))
    assert why_not_clifford(base) is None
    assert why_not_clifford(base.copy().t(0)) == "instruction 7 ('t') is not a Clifford instruction"
    assert "ecr" in CLIFFORD_DESCRIPTION and "measure" in CLIFFORD_DESCRIPTION
    with pytest.raises(SimulatorError, match="'t'"):
        run_stabilizer(base.copy().t(0), shots=1, seed=0)
    with pytest.raises(SimulatorError, match="seed"):
        run_stabilizer(base, shots=1, seed=-1)


def test_missing_stim_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "stim", None)  # makes `import stim` fail
    with pytest.raises(MissingExtraError, match=r'pip install "svsim\[stabilizer\]"'):
        run_stabilizer(Circuit(1).h(0), shots=1, seed=0)
    with pytest.raises(ImportError):
        to_stim(Circuit(1))


def test_module_imports_without_stim():
    code = "import sys; sys.modules['stim'] = None; import svsim.stabilizer, svsim; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_memory_bound_counts_result_tableau_and_chunks():
    ghz = Circuit(2000).h(0)
    for q in range(1999):
        ghz.cx(q, q + 1)
    ghz.measure_all()
    result = 10_000 * 32 * 8
    assert stabilizer_memory_bytes(ghz, 10_000) >= result + 2000**2 // 2
    assert stabilizer_memory_bytes(ghz, 10**6) - stabilizer_memory_bytes(ghz, 10**5) == (
        9 * 10**5 * 32 * 8  # beyond one chunk only the result grows
    )
    unmeasured = Circuit(2000, 100).h(0)
    assert stabilizer_memory_bytes(unmeasured, 1000) == 1000 * 2 * 8
    check_memory(ghz, 10_000, stabilizer_memory_bytes(ghz, 10_000) / (1 << 20))
    with pytest.raises(SimulatorError, match="use fewer shots"):
        check_memory(ghz, 10_000, stabilizer_memory_bytes(ghz, 10_000) / (1 << 20) - 0.01)


MEMORY_SCENARIOS = {
    "ghz-3000": """
        n, shots = 3000, 100_000
        c = Circuit(n).h(0)
        for q in range(n - 1):
            c.cx(q, q + 1)
        c.measure_all()
    """,
    "many-measurements": """
        n, shots = 100, 10_000
        c = Circuit(n, 3000)
        for k in range(20_000):
            c.h(k % n).cx(k % n, (k + 1) % n).measure(k % n, k % 3000)
    """,
}


@pytest.mark.parametrize("scenario", MEMORY_SCENARIOS)
def test_memory_bound_covers_the_peak(scenario):
    """Peak RSS growth of a fresh process running the circuit stays under
    stabilizer_memory_bytes (which must also cover the result)."""
    script = textwrap.dedent(
        """
        import resource
        from svsim import Circuit
        from svsim.stabilizer import run_stabilizer, stabilizer_memory_bytes
        """
    )
    script += textwrap.dedent(MEMORY_SCENARIOS[scenario])
    script += textwrap.dedent(
        """
        run_stabilizer(Circuit(2).h(0).measure_all(), shots=10, seed=0)  # load Stim's code
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out = run_stabilizer(c, shots=shots, seed=1)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(after - before, stabilizer_memory_bytes(c, shots), out.memory.nbytes)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    grown, bound, result = map(int, done.stdout.split())
    assert result <= bound and grown <= bound, (grown, bound, result)


# ---------------------------------------------------------------- large circuits


def test_ghz_1000_qubits_100k_shots():
    n, shots = 1000, 100_000
    circuit = Circuit(n).h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()
    memory = run_stabilizer(circuit, shots=shots, seed=2024).memory
    full = np.full(n // 64, np.uint64(2**64 - 1))
    tail = np.uint64((1 << (n % 64)) - 1)
    zeros = ~memory.any(axis=1)
    ones = (memory[:, :-1] == full).all(axis=1) & (memory[:, -1] == tail)
    assert (zeros | ones).all()
    assert binom_p(int(ones.sum()), shots) > P_MIN


def deferred_clifford_circuit(rng: np.random.Generator, n: int, rounds: int):
    """A random Clifford circuit with mid-circuit measurements (each into a fresh
    clbit), bare resets and a final measurement of every qubit, together with
    its deferred form for Qiskit: a measurement becomes a CX onto a fresh
    ancilla measured at the end, a reset a SWAP with a fresh |0> that is never
    measured.  Returns (svsim circuit, ops of the deferred circuit, its width,
    the deferred qubit that each clbit reads)."""
    ops: list[Op] = []
    deferred: list[tuple[str, tuple[int, ...]]] = []
    reads: list[int] = []
    spare = n
    mid = []
    for _ in range(rounds):
        for op in random_ops(rng, n, 2 * n):
            ops.append(op)
            deferred.append(op[:2])
        for q in rng.choice(n, size=n // 5, replace=False):
            mid.append(int(q))
            ops.append(("measure", (int(q),), len(reads)))
            deferred.append(("cx", (int(q), spare)))
            reads.append(spare)
            spare += 1
        for q in rng.choice(n, size=n // 10, replace=False):
            ops.append(("reset", (int(q),), None))
            deferred.append(("swap", (int(q), spare)))
            spare += 1
    for q in range(n):
        ops.append(("measure", (q,), len(reads)))
        reads.append(q)
    return build(n, ops, len(reads)), deferred, spare, reads


def left_null_space(matrix: np.ndarray) -> np.ndarray:
    """The rows v with v @ matrix = 0 over GF(2), as a basis."""
    rows, cols = matrix.shape
    work = np.concatenate([matrix.astype(bool), np.eye(rows, dtype=bool)], axis=1)
    pivot = 0
    for col in range(cols):
        hits = np.flatnonzero(work[pivot:, col])
        if not hits.size:
            continue
        chosen = pivot + hits[0]
        work[[pivot, chosen]] = work[[chosen, pivot]]
        others = np.flatnonzero(work[:, col])
        others = others[others != pivot]
        work[others] ^= work[pivot]
        pivot += 1
        if pivot == rows:
            break
    return work[pivot:, cols:]


def free_columns(matrix: np.ndarray) -> np.ndarray:
    """The non-pivot columns of the row-reduced matrix over GF(2)."""
    work = matrix.astype(bool).copy()
    pivots = []
    row = 0
    for col in range(work.shape[1]):
        hits = np.flatnonzero(work[row:, col])
        if not hits.size:
            continue
        work[[row, row + hits[0]]] = work[[row + hits[0], row]]
        others = np.flatnonzero(work[:, col])
        work[others[others != row]] ^= work[row]
        pivots.append(col)
        row += 1
        if row == work.shape[0]:
            break
    return np.setdiff1d(np.arange(work.shape[1]), pivots)


def test_200_qubit_mid_circuit_clifford_against_qiskits_tableau():
    """10^5 shots, every one checked against an independent tableau.

    Qiskit's StabilizerState holds the deferred circuit.  The records a Z
    measurement of a stabilizer state can give are an affine space, uniform:
    the constraints are the stabilizers that are Z-only on measured qubits and
    identity elsewhere (a null space over GF(2) of Qiskit's generators), each
    with the sign Qiskit's expectation_value gives.  Every shot must satisfy
    every constraint (deterministic outcomes exactly), and the free bits must
    be fair and independent coins (binomial tests, Bonferroni-corrected)."""
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Pauli, StabilizerState

    rng = np.random.default_rng(20240601)
    n, shots = 200, 100_000
    circuit, deferred, width, reads = deferred_clifford_circuit(rng, n, rounds=3)
    memory = run_stabilizer(circuit, shots=shots, seed=99).memory
    bits = np.unpackbits(memory.view(np.uint8), axis=1, bitorder="little")[:, : len(reads)]

    qc = QuantumCircuit(width)
    for name, qubits in deferred:
        getattr(qc, name)(*qubits)
    state = StabilizerState(qc)
    stab_x, stab_z = state.clifford.stab_x, state.clifford.stab_z
    unmeasured = np.setdiff1d(np.arange(width), reads)
    combos = left_null_space(np.concatenate([stab_x, stab_z[:, unmeasured]], axis=1))
    constraints = (combos.astype(np.int64) @ stab_z[:, reads].astype(np.int64)) % 2
    signs = []
    for row in constraints:
        z = np.zeros(width, dtype=bool)
        z[np.asarray(reads)[row.astype(bool)]] = True
        value = state.expectation_value(Pauli((z, np.zeros(width, dtype=bool))))
        assert value in (1, -1)
        signs.append(0 if value == 1 else 1)
    signs = np.array(signs)
    assert 0 < len(signs) < len(reads)  # both determined and random outcomes occur
    deterministic = [(row == 1).sum() == 1 for row in constraints]
    assert any(deterministic)

    for start in range(0, shots, 10_000):
        block = bits[start : start + 10_000].astype(np.float32)
        parities = (block @ constraints.T.astype(np.float32)).astype(np.int64) % 2
        bad = np.flatnonzero((parities != signs).any(axis=1))
        assert not bad.size, f"shot {start + bad[0]} has probability 0 under Qiskit's tableau"

    free = free_columns(constraints)
    assert free.size == len(reads) - len(signs)
    ones = bits[:, free].sum(axis=0)
    z_scores = (ones - shots / 2) / math.sqrt(shots / 4)
    bonferroni_z = 4.0 + math.sqrt(2 * math.log(free.size))  # per-bit p far below 1e-4 / size
    assert np.abs(z_scores).max() < bonferroni_z
    assert binom_p(int(ones.sum()), shots * int(free.size)) > P_MIN
    for _ in range(20):  # random parities of free bits: independence, not only fairness
        subset = rng.choice(free, size=int(rng.integers(2, 6)), replace=False)
        parity = bits[:, subset].sum(axis=1) % 2
        assert binom_p(int(parity.sum()), shots) > P_MIN / 20


def replay_circuit(rng: np.random.Generator, n: int):
    """Rounds of gates, then measurements into fresh clbits, each followed half
    the time by a reset (after a measurement a reset hides no outcome), then a
    final measurement of every qubit.  Returns the circuit and its steps: gate
    lists, ("measure", qubit, clbit) and ("reset", qubit, -1)."""
    ops: list[Op] = []
    steps: list[list[Op] | tuple[str, int, int]] = []
    clbit = 0
    for _ in range(5):
        gates = random_ops(rng, n, 2 * n)
        ops += gates
        steps.append(gates)
        for q in rng.choice(n, size=6, replace=False):
            ops.append(("measure", (int(q),), clbit))
            steps.append(("measure", int(q), clbit))
            clbit += 1
            if rng.random() < 0.5:
                ops.append(("reset", (int(q),), None))
                steps.append(("reset", int(q), -1))
    for q in range(n):
        ops.append(("measure", (q,), clbit))
        steps.append(("measure", q, clbit))
        clbit += 1
    return build(n, ops, clbit), steps


def test_replay_shots_through_qiskits_stabilizer_state():
    """Qiskit's StabilizerState replays sampled shots one measurement at a time:
    each recorded outcome must be possible (deterministic ones equal), the state
    is forced onto it, and the random outcomes must be fair coins.  Qiskit's
    measurement is pure Python (O(n^2) per measurement), hence the width; four
    circuits rather than one, since whether a wrong gate shows up in the
    determined outcomes depends on the circuit."""
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Clifford, Pauli, StabilizerState

    rng = np.random.default_rng(77)
    n, shots, replayed = 16, 20_000, 15
    random_bits: list[int] = []
    determined = 0
    for seed in range(4):
        circuit, steps = replay_circuit(rng, n)
        memory = run_stabilizer(circuit, shots=shots, seed=seed).memory
        bits = np.unpackbits(memory.view(np.uint8), axis=1, bitorder="little")
        cliffords = {}
        for i, step in enumerate(steps):
            if isinstance(step, list):
                qc = QuantumCircuit(n)
                for name, qubits, _ in step:
                    getattr(qc, name)(*qubits)
                cliffords[i] = Clifford(qc)
        for shot in rng.choice(shots, size=replayed, replace=False):
            state = StabilizerState(QuantumCircuit(n))
            state.seed(int(shot))
            for i, step in enumerate(steps):
                if isinstance(step, list):
                    state = state.evolve(cliffords[i])
                    continue
                kind, q, c = step
                if kind == "reset":
                    state = state.reset([q])
                    continue
                recorded = int(bits[shot, c])
                value = state.expectation_value(Pauli("I" * (n - 1 - q) + "Z" + "I" * q))
                if value != 0:
                    assert recorded == (0 if value == 1 else 1), f"circuit {seed} shot {shot}"
                    determined += 1
                    continue
                random_bits.append(recorded)
                for _ in range(64):  # force the recorded outcome: each try is a fair coin
                    outcome, after = state.measure([q])
                    if int(outcome) == recorded:
                        state = after
                        break
                else:
                    raise AssertionError("Qiskit never produced the recorded outcome")
    assert len(random_bits) > 500 and determined > 500
    assert binom_p(sum(random_bits), len(random_bits)) > P_MIN
