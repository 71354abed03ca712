"""Results: Qiskit's count formatting, lookups, saved values, and the dict round trip."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import svsim
from svsim.result import (
    ExperimentResult,
    Result,
    format_bitstring,
)
from svsim.work import result_from_outputs

BACKEND = svsim.BasicSimulator()


def run(circuits, **kwargs):
    kwargs.setdefault("seed_simulator", 11)
    return BACKEND.run(circuits, **kwargs).result(timeout=60)


def fake_output(memory, *, shots=None, saves=None, seed=3, num_qubits=1):
    """An engine output with hand-made classical memory."""
    memory = np.asarray(memory, dtype=np.uint64)
    if memory.ndim == 1:
        memory = memory[:, None]
    return SimpleNamespace(
        memory=memory,
        method="sampling",
        statevector=np.zeros(1 << num_qubits, dtype=np.complex128),
        saves=saves or {},
        seed=seed,
        shots=shots if shots is not None else memory.shape[0],
        threads=1,
        precision="double",
        time_taken=0.5,
    )


def three_registers() -> svsim.Circuit:
    """Registers a (1 bit), b (2 bits), c (3 bits): clbits 0 | 1-2 | 3-5."""
    qc = svsim.Circuit(6, name="regs")
    qc.add_register("a", 1).add_register("b", 2).add_register("c", 3)
    # a = 1; b = 0b10 (b[1] set); c = 0b011 (c[0], c[1] set)
    qc.x([0, 2, 3, 4])
    qc.measure(list(range(6)), list(range(6)))
    return qc


# ---------------------------------------------------------------- formatting


def test_format_bitstring_by_hand():
    cregs = [["a", 1], ["b", 2], ["c", 3]]
    assert format_bitstring("0x0", 6, cregs) == "000 00 0"
    assert format_bitstring("0x1d", 6, cregs) == "011 10 1"
    assert format_bitstring("0x3f", 6, cregs) == "111 11 1"
    assert format_bitstring("0x5", 3, []) == "101"  # no register: one word
    assert format_bitstring("0x5", 0, []) == "101"  # no slots: no padding
    assert format_bitstring("0x1", 4, [["c", 4]]) == "0001"
    assert format_bitstring("0x0", 2, [["a", 0], ["b", 2]]) == "00 "  # empty register


def test_counts_of_several_registers_last_added_leftmost():
    result = run(three_registers(), shots=20, memory=True)
    assert result.get_counts() == {"011 10 1": 20}
    assert result.data()["counts"] == {"0x1d": 20}
    assert result.get_memory() == ["011 10 1"] * 20
    assert result.data()["memory"] == ["0x1d"] * 20


def test_counts_with_more_than_64_clbits():
    qc = svsim.Circuit(2, name="wide").add_register("lo", 64).add_register("hi", 6)
    qc.x(1).measure(1, 69).measure(1, 3).measure(0, 64)
    result = run(qc, shots=5, memory=True)
    assert result.data()["counts"] == {hex((1 << 69) | (1 << 3)): 5}
    expected = "100000 " + "0" * 60 + "1000"
    assert result.get_counts() == {expected: 5}
    assert result.get_memory() == [expected] * 5


def test_no_clbits_gives_empty_counts_and_memory():
    result = run(svsim.Circuit(2).h(0), shots=7, memory=True)
    assert result.get_counts() == {}
    assert result.get_memory() == []
    assert result.results[0].header["memory_slots"] == 0


def test_counts_from_many_shots_and_memory_order():
    outcomes = np.array([5, 0, 5, 7, 5, 0], dtype=np.uint64)
    circuit = svsim.Circuit(3, 3, name="m")
    result = result_from_outputs([fake_output(outcomes)], [circuit], job_id="j", memory=True)
    assert result.data()["counts"] == {"0x0": 2, "0x5": 3, "0x7": 1}
    assert result.get_memory() == ["101", "000", "101", "111", "101", "000"]
    assert all(type(v) is int for v in result.data()["counts"].values())
    no_memory = result_from_outputs([fake_output(outcomes)], [circuit], job_id="j")
    assert "memory" not in no_memory.data()
    with pytest.raises(svsim.SvsimError, match="memory=True"):
        no_memory.get_memory()


def test_counts_read_before_and_after_the_hex_counts_exist():
    # get_counts formats bitstrings from the outcomes; data["counts"] (hex) is
    # built when first read.  Both orders, with and without per-shot memory,
    # give the same counts, equal to counting the shots by hand.
    rng = np.random.default_rng(7)
    shots = rng.integers(0, 1 << 9, size=500).astype(np.uint64)
    by_hand: dict[int, int] = {}
    for v in shots.tolist():
        by_hand[v] = by_hand.get(v, 0) + 1
    expected_bits = {format(v, "09b"): n for v, n in by_hand.items()}
    expected_hex = {hex(v): n for v, n in by_hand.items()}
    circuit = svsim.Circuit(9, 9, name="m")
    for memory in (False, True):
        first = result_from_outputs([fake_output(shots)], [circuit], job_id="a", memory=memory)
        assert first.get_counts() == expected_bits
        assert first.data()["counts"] == expected_hex
        assert first.get_counts() == expected_bits
        second = result_from_outputs([fake_output(shots)], [circuit], job_id="b", memory=memory)
        assert second.results[0].data["counts"] == expected_hex
        assert second.get_counts() == expected_bits
        assert first.results[0] == second.results[0]
        assert Result.from_dict(json.loads(json.dumps(first.to_dict()))).get_counts() == (
            expected_bits
        )


def test_multiword_memory_counts():
    rows = np.array([[1, 2], [1, 2], [0, 2], [1, 0]], dtype=np.uint64)
    circuit = svsim.Circuit(2, 66, name="w")
    result = result_from_outputs([fake_output(rows)], [circuit], job_id="j", memory=True)
    assert result.data()["counts"] == {
        hex(1 | 2 << 64): 2,
        hex(2 << 64): 1,
        hex(1): 1,
    }
    assert result.data()["memory"] == [hex(1 | 2 << 64)] * 2 + [hex(2 << 64), hex(1)]


def test_counts_formatting_matches_qiskit():
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit.result import Result as QiskitResult
    from qiskit.result.postprocess import format_counts_memory

    headers = [
        {"memory_slots": 6, "creg_sizes": [["a", 1], ["b", 2], ["c", 3]]},
        {"memory_slots": 4, "creg_sizes": [["a", 1], ["b", 2]]},  # clbit outside registers
        {"memory_slots": 3, "creg_sizes": [["a", 0], ["b", 3]]},  # empty register
        {"memory_slots": 3, "creg_sizes": []},
        {"memory_slots": 0, "creg_sizes": []},
    ]
    for header in headers:
        for value in range(1 << max(header["memory_slots"], 1)):
            key = hex(value)
            ours = format_bitstring(key, header["memory_slots"], header["creg_sizes"])
            assert ours == format_counts_memory(key, header), (header, key)

    result = run([three_registers(), svsim.Circuit(1, 1).h(0).measure(0, 0)], shots=50)
    theirs = QiskitResult.from_dict(
        {
            "backend_name": "svsim",
            "backend_version": "0",
            "qobj_id": "q",
            "job_id": "j",
            "success": True,
            "results": [
                {
                    "shots": r.shots,
                    "success": True,
                    "data": {"counts": r.data["counts"]},
                    "header": r.header,
                }
                for r in result.results
            ],
        }
    )
    assert theirs.get_counts() == result.get_counts()
    assert result.to_qiskit().get_counts() == result.get_counts()


def test_counts_use_the_same_bitstrings_on_every_path():
    # One register or none takes a one-call formatting path; others go key by
    # key through format_bitstring.  Both must give format_bitstring's strings.
    rng = np.random.default_rng(5)
    headers = [
        {"memory_slots": 7, "creg_sizes": [["c", 7]]},
        {"memory_slots": 7, "creg_sizes": []},
        {"memory_slots": 70, "creg_sizes": [["meas", 70]]},
        {"memory_slots": 6, "creg_sizes": [["a", 2], ["b", 4]]},
        {"memory_slots": 6, "creg_sizes": [["a", 5]]},
    ]
    for header in headers:
        slots = header["memory_slots"]
        values = {int(v) for v in rng.integers(0, 1 << min(slots, 62), size=40)} | {0}
        raw = {hex(v << max(slots - 62, 0)): int(rng.integers(1, 9)) for v in values}
        experiment = ExperimentResult(shots=sum(raw.values()), success=True, data={"counts": raw})
        experiment.header = header
        expected: dict[str, int] = {}
        for key, n in raw.items():
            text = format_bitstring(key, slots, header["creg_sizes"])
            expected[text] = expected.get(text, 0) + n
        assert experiment.counts() == expected, header


def test_counts_match_qiskits_basic_simulator():
    """The same deterministic circuit through Qiskit's simulator and ours."""
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.providers.basic_provider import BasicSimulator

    theirs = QuantumCircuit(
        QuantumRegister(4, "q"), ClassicalRegister(1, "a"), ClassicalRegister(3, "b")
    )
    ours = svsim.Circuit(4, name="same").add_register("a", 1).add_register("b", 3)
    for qc in (theirs, ours):
        qc.x(0)
        qc.x(3)
        qc.measure(0, 0)
        qc.measure(1, 1)
        qc.measure(3, 2)
        qc.measure(0, 3)
    expected = BasicSimulator().run(theirs, shots=10, memory=True).result()
    got = run(ours, shots=10, memory=True)
    assert got.get_counts() == expected.get_counts() == {"110 1": 10}
    assert got.get_memory() == expected.get_memory()


# ---------------------------------------------------------------- lookups


def test_get_counts_by_index_name_and_circuit():
    one = svsim.Circuit(1, 1, name="one").x(0).measure(0, 0)
    zero = svsim.Circuit(1, 1, name="zero").measure(0, 0)
    result = run([one, zero], shots=8)
    assert result.get_counts() == [{"1": 8}, {"0": 8}]
    assert result.get_counts(0) == {"1": 8}
    assert result.get_counts(-1) == {"0": 8}
    assert result.get_counts(np.int64(1)) == {"0": 8}
    assert result.get_counts("zero") == {"0": 8}
    assert result.get_counts(one) == {"1": 8}
    with pytest.raises(svsim.SvsimError, match="no experiment 2"):
        result.get_counts(2)
    with pytest.raises(svsim.SvsimError, match="no experiment named 'two'"):
        result.get_counts("two")
    with pytest.raises(svsim.SvsimError, match="choose one"):
        result.get_memory()
    with pytest.raises(svsim.SvsimError, match="index, a name or a circuit"):
        result.get_counts(1.5)
    counts = result.get_counts(0)
    counts["1"] = 0  # the caller's copy
    assert result.get_counts(0) == {"1": 8}


def test_duplicate_names_warn_and_give_the_first():
    a = svsim.Circuit(1, 1, name="dup").x(0).measure(0, 0)
    b = svsim.Circuit(1, 1, name="dup").measure(0, 0)
    result = run([a, b], shots=4)
    with pytest.warns(UserWarning, match="several experiments"):
        assert result.get_counts("dup") == {"1": 4}


def test_failed_experiment_is_refused():
    exp = ExperimentResult(4, False, {"counts": {"0x0": 4}}, status="ERROR", header={"name": "x"})
    result = Result("svsim", "0", "j", False, [exp])
    with pytest.raises(svsim.SvsimError, match="did not succeed"):
        result.get_counts()


# ---------------------------------------------------------------- saved values


def test_statevector_is_the_kernels_array_not_a_copy():
    qc = svsim.Circuit(2, name="sv").h(0).cx(0, 1)
    result = run(qc, shots=1)
    state = result.get_statevector()
    assert state is result.get_statevector()
    assert state is result.results[0].final_statevector
    assert not state.flags.owndata  # a view of the kernel's buffer
    np.testing.assert_allclose(state, [2**-0.5, 0, 0, 2**-0.5], atol=1e-12)
    rounded = result.get_statevector(decimals=3)
    assert rounded is not state
    np.testing.assert_array_equal(rounded, np.around(state, 3))


def test_saved_values_by_label():
    qc = svsim.Circuit(2, name="saves").x(0).save_statevector("mid").h(1)
    qc.save_statevector().save_probabilities([1]).save_expectation_value("ZZ", [0, 1])
    result = run(qc, shots=1)
    np.testing.assert_allclose(result.get_statevector(label="mid"), [0, 1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(result.get_statevector(), [0, 2**-0.5, 0, 2**-0.5], atol=1e-12)
    assert result.get_statevector() is result.data()["statevector"]
    np.testing.assert_allclose(result.get_probabilities(), [0.5, 0.5], atol=1e-12)
    assert result.get_expectation_value() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(svsim.SvsimError, match="save_probabilities"):
        result.get_probabilities(label="missing")
    with pytest.raises(svsim.SvsimError, match="save_expectation_value"):
        result.get_expectation_value(label="mid")
    with pytest.raises(svsim.SvsimError, match="save_statevector"):
        result.get_statevector(label="other")


# ---------------------------------------------------------------- round trip


def rich_result(precision="double"):
    a = three_registers().h(5).save_statevector().save_probabilities([0, 5])
    a.save_expectation_value("XZ", [5, 0], label="xz")
    b = svsim.Circuit(2, 1, name="b").h(0).measure(0, 0)
    return run([a, b], shots=64, memory=True, precision=precision)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_to_dict_from_dict_round_trip_through_json(precision):
    result = rich_result(precision)
    text = json.dumps(result.to_dict())
    back = Result.from_dict(json.loads(text))
    assert back == result
    assert back.to_dict() == result.to_dict()
    assert back.get_counts() == result.get_counts()
    assert back.get_memory(1) == result.get_memory(1)
    state = back.get_statevector(0)
    assert state.dtype == result.get_statevector(0).dtype
    np.testing.assert_array_equal(state, result.get_statevector(0))
    assert isinstance(back.get_probabilities(0), np.ndarray)
    assert back.get_expectation_value(0, "xz") == result.get_expectation_value(0, "xz")
    assert back.results[0].metadata == result.results[0].metadata
    assert back.results[0].seed_simulator == result.results[0].seed_simulator


def test_to_dict_is_plain_python():
    d = rich_result().to_dict()

    def walk(value):
        if isinstance(value, dict):
            assert all(type(k) is str for k in value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert value is None or type(value) in (str, int, float, bool), type(value)

    walk(d)
    assert d["results"][0]["data"]["counts"] == {"0x1d": 64}  # measured before the h
    assert d["results"][0]["data"]["statevector"][0] == [0.0, 0.0]


def test_equality_sees_differences():
    result = rich_result()
    other = Result.from_dict(result.to_dict())
    assert other == result
    key = next(iter(other.results[1].data["counts"]))
    other.results[1].data["counts"][key] += 1
    assert other != result
    other = Result.from_dict(result.to_dict())
    other.results[0].data["statevector"][0] += 1e-9
    assert other != result
    other = Result.from_dict(result.to_dict())
    other.results.pop()
    assert other != result
    assert result != "a result"


def test_to_qiskit():
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    result = rich_result()
    theirs = result.to_qiskit()
    assert type(theirs).__module__.startswith("qiskit")
    assert theirs.get_counts() == result.get_counts()
    assert theirs.get_memory(1) == result.get_memory(1)
    assert theirs.job_id == result.job_id and theirs.backend_name == "basic_simulator"
    assert theirs.get_statevector(0) is result.get_statevector(0)


def test_to_qiskit_without_qiskit_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_qiskit(name, *args, **kwargs):
        if name == "qiskit" or name.startswith("qiskit."):
            raise ImportError("No module named 'qiskit'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_qiskit)
    result = run(svsim.Circuit(1, 1).measure(0, 0), shots=1)
    with pytest.raises(svsim.SvsimError, match=r"pip install svsim\[qiskit\]") as info:
        result.to_qiskit()
    assert isinstance(info.value, ImportError)


@pytest.mark.parametrize("num_clbits", [64, 65, 150])
def test_counts_of_outcomes_wider_than_a_word_agree_with_their_hex_keys(num_clbits):
    """Counts of one register beyond 64 clbits are formatted with numpy from the
    packed words; each must be the padded binary form of its hex key."""
    from svsim.engine import ExperimentOutput

    rng = np.random.default_rng(num_clbits)
    words = (num_clbits + 63) // 64
    memory = rng.integers(0, 2**63, (500, words), dtype=np.uint64)
    memory[:, -1] &= np.uint64((1 << (num_clbits - 64 * (words - 1))) - 1)
    memory[::3] = memory[0]  # repeats, so counts above 1 occur
    circuit = svsim.Circuit(1, num_clbits)
    output = ExperimentOutput(memory=memory, method="sampling", statevector=None, shots=500)
    result = result_from_outputs([output], [circuit], job_id="j", memory=True)
    counts = result.get_counts()
    expected = {
        format(int(key, 16), f"0{num_clbits}b"): n
        for key, n in result.results[0].data["counts"].items()
    }
    assert counts == expected and sum(counts.values()) == 500
    assert max(counts.values()) >= 167
    ints = {int.from_bytes(row.tobytes(), "little") for row in memory}
    assert {int(key, 2) for key in counts} == ints
