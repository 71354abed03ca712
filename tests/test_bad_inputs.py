"""A catalogue of bad inputs, each answered by a named svsim exception with a
message that says what was wrong, and never by a crash or a stray ``KeyError``.

Every case is one call.  Cases given to ``BasicSimulator.run`` must also make
no job: the backend's executor is a spy that counts what it is handed.  Cases
that need Qiskit skip without it.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import svsim
from spy_executor import SpyExecutor
from svsim import (
    BasicSimulator,
    Circuit,
    CircuitError,
    JobError,
    Result,
    SimulatorError,
    SvsimError,
)


@functools.cache
def spy() -> SpyExecutor:
    return SpyExecutor()


@functools.cache
def backend() -> BasicSimulator:
    return BasicSimulator(executor=spy(), max_parallel_threads=1)


def good() -> Circuit:
    return Circuit(2, 2, name="good").h(0).cx(0, 1).measure([0, 1], [0, 1])


@functools.cache
def good_result_dict() -> dict[str, Any]:
    return BasicSimulator().run(good(), shots=10, seed_simulator=1).result(60).to_dict()


def corrupt(**changes: Any) -> dict[str, Any]:
    """The good result's dict with top-level fields changed (None: removed)."""
    d = dict(good_result_dict())
    for key, value in changes.items():
        if value is None:
            d.pop(key)
        else:
            d[key] = value
    return d


def corrupt_experiment(**changes: Any) -> dict[str, Any]:
    experiment = dict(good_result_dict()["results"][0])
    for key, value in changes.items():
        if value is None:
            experiment.pop(key)
        else:
            experiment[key] = value
    return corrupt(results=[experiment])


def run(*args: Any, **kwargs: Any) -> Any:
    return backend().run(*args, **kwargs)


def qiskit_circuit(build: Callable[[Any], None], qubits: int = 2, clbits: int = 1) -> Any:
    qiskit = pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    qc = qiskit.QuantumCircuit(qubits, clbits)
    build(qc)
    return qc


def while_loop(qc: Any) -> None:
    qc.measure(0, 0)
    with qc.while_loop((qc.clbits[0], 0)):
        qc.x(0)


def for_loop(qc: Any) -> None:
    with qc.for_loop(range(2)):
        qc.x(0)


def unbound(qc: Any) -> None:
    from qiskit.circuit import Parameter

    qc.rx(Parameter("theta"), 0)


def opaque(qc: Any) -> None:
    from qiskit.circuit import Instruction

    qc.append(Instruction("mystery", 1, 0, []), [0])


def initialize_late(qc: Any) -> None:
    qc.h(0)
    qc.initialize([0, 1], 0)


def from_qiskit(circuit: Any) -> Circuit:
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    return Circuit.from_qiskit(circuit)


def from_qasm(text: Any) -> Circuit:
    pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    return Circuit.from_qasm(text)


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[], Any]
    error: type[BaseException]
    match: str
    makes_job: bool = False  # a run() case: must not reach the executor


def case(name: str, call: Callable[[], Any], error: type[BaseException], match: str) -> Any:
    return pytest.param(Case(name, call, error, match), id=name)


def run_case(name: str, call: Callable[[], Any], error: type[BaseException], match: str) -> Any:
    return pytest.param(Case(name, call, error, match, makes_job=True), id=name)


CATALOGUE = [
    # ---- wrong types
    case("num_qubits str", lambda: Circuit("3"), CircuitError, r"num_qubits must be an int.*'3'"),
    case("num_qubits float", lambda: Circuit(2.0), CircuitError, r"num_qubits must be an int"),
    case("num_clbits negative", lambda: Circuit(2, -1), CircuitError, r"num_clbits .* -1"),
    case("name not a str", lambda: Circuit(2, name=5), CircuitError, r"name must be a string"),
    case("qubit float", lambda: Circuit(2).h(1.0), CircuitError, r"qubit index must be an int"),
    case("qubit bool", lambda: Circuit(2).h(True), CircuitError, r"must be an int, got True"),
    case("qubit None", lambda: Circuit(2).x(None), CircuitError, r"qubit index must be an int"),
    case("parameter str", lambda: Circuit(1).p("pi", 0), CircuitError, r"real number.*'pi'"),
    case("parameter complex", lambda: Circuit(1).rx(1j, 0), CircuitError, r"complex 1j"),
    case(
        "parameter int beyond any float",
        lambda: Circuit(1).rx(10**400, 0),
        CircuitError,
        r"must be finite, got an int of 1329 bits",
    ),
    case(
        "condition on a register of no bits",
        lambda: Circuit(1).add_register("e", 0).x(0, condition=("e", 0)),
        CircuitError,
        r"register 'e': it has no bits",
    ),
    run_case(
        "a register of 10**12 clbits",
        lambda: run(Circuit(1, 10**12).h(0).t(0)),
        SimulatorError,
        r"for the classical data of 1,024 shots.*use fewer shots",
    ),
    case("condition malformed", lambda: Circuit(2, 1).x(0, condition=0), CircuitError, r"pair"),
    # ---- out-of-range qubits and clbits
    case("qubit too big", lambda: Circuit(2).h(2), CircuitError, r"qubit 2 .* 0\.\.1"),
    case("qubit negative", lambda: Circuit(2).h(-1), CircuitError, r"qubit -1 is out of range"),
    case("repeated qubit", lambda: Circuit(2).cx(1, 1), CircuitError, r"repeated qubit 1"),
    case("clbit too big", lambda: Circuit(2, 1).measure(0, 1), CircuitError, r"clbit 1 .* 0\.\.0"),
    case("no clbits", lambda: Circuit(2).measure(0, 0), CircuitError, r"has no clbits"),
    case(
        "broadcast lengths",
        lambda: Circuit(3).cx([0, 1], [2]),
        CircuitError,
        r"different lengths",
    ),
    case(
        "unknown register",
        lambda: Circuit(2, 1).x(0, condition=("zz", 1)),
        CircuitError,
        r"unknown register 'zz'.*'c'",
    ),
    case(
        "condition value too big",
        lambda: Circuit(2, 1).x(0, condition=(0, 2)),
        CircuitError,
        r"condition value 2 is out of range",
    ),
    # ---- NaN / inf parameters
    case("rx NaN", lambda: Circuit(1).rx(math.nan, 0), CircuitError, r"must be finite, got nan"),
    case("rz inf", lambda: Circuit(1).rz(math.inf, 0), CircuitError, r"finite, got inf"),
    case("u -inf", lambda: Circuit(1).u(0, -math.inf, 0, 0), CircuitError, r"parameter 1"),
    case("cp numpy NaN", lambda: Circuit(2).cp(np.float64("nan"), 0, 1), CircuitError, "finite"),
    case(
        "global phase NaN",
        lambda: setattr(Circuit(1), "global_phase", math.nan),
        CircuitError,
        r"global_phase must be finite",
    ),
    # ---- non-unitary and wrongly-sized matrices
    case(
        "non-unitary",
        lambda: Circuit(1).unitary([[1, 0], [0, 2]], [0]),
        CircuitError,
        r"not unitary",
    ),
    case(
        "matrix too small",
        lambda: Circuit(2).unitary(np.eye(2), [0, 1]),
        CircuitError,
        r"needs a 4x4 matrix, got shape \(2, 2\)",
    ),
    case(
        "matrix not square",
        lambda: Circuit(1).unitary(np.ones((2, 3)), [0]),
        CircuitError,
        r"2x2 matrix, got shape \(2, 3\)",
    ),
    case(
        "matrix with NaN",
        lambda: Circuit(1).unitary([[math.nan, 0], [0, 1]], [0]),
        CircuitError,
        r"NaN or infinite",
    ),
    # ---- empty input
    run_case("run empty list", lambda: run([]), CircuitError, r"at least one circuit"),
    run_case("run None", lambda: run(None), CircuitError, r"item 0 is a NoneType"),
    run_case("run a string", lambda: run("qc"), CircuitError, r"Qiskit QuantumCircuits"),
    run_case("run list with junk", lambda: run([good(), 3]), CircuitError, r"item 1 is a int"),
    # ---- shots
    run_case(
        "zero shots",
        lambda: run(good(), shots=0),
        CircuitError,
        r"shots must be an int from 1 to 2\*\*63 - 1, got 0",
    ),
    run_case("negative shots", lambda: run(good(), shots=-5), CircuitError, r"got -5"),
    run_case(
        "shots past 64 bits",
        lambda: run(Circuit(1).h(0), shots=2**64 + 3),
        CircuitError,
        r"2\*\*63",
    ),
    run_case(
        "too many qubits for any machine",
        lambda: run(Circuit(15_000).t(0), shots=1),
        SimulatorError,
        r"15000 qubits: its statevector would need 2\*\*15000 x 16 bytes.*method='stabilizer'",
    ),
    run_case("float shots", lambda: run(good(), shots=10.0), CircuitError, r"got 10\.0"),
    run_case("bool shots", lambda: run(good(), shots=True), CircuitError, r"got True"),
    run_case(
        "huge shots",
        lambda: run(good(), shots=10**12),
        SimulatorError,
        r"1,000,000,000,000 shots.*fewer shots",
    ),
    run_case(
        "shots beyond 64 bits",
        lambda: run(good(), shots=2**64),
        CircuitError,
        r"2\*\*63 - 1, got 18446744073709551616",
    ),
    # ---- seeds
    run_case("seed negative", lambda: run(good(), seed_simulator=-1), CircuitError, r"2\*\*63"),
    run_case("seed 2**63", lambda: run(good(), seed_simulator=2**63), CircuitError, r"\[0, 2"),
    run_case("seed float", lambda: run(good(), seed_simulator=1.5), CircuitError, r"got 1\.5"),
    run_case("seed str", lambda: run(good(), seed_simulator="7"), CircuitError, r"got '7'"),
    # ---- options and settings
    run_case(
        "unknown option warns",
        lambda: run(good(), shotz=5),
        UserWarning,
        r"Option shotz is not used by this backend",
    ),
    run_case("memory not bool", lambda: run(good(), memory="yes"), CircuitError, r"True or False"),
    run_case("bad precision", lambda: run(good(), precision="quad"), SimulatorError, r"'quad'"),
    run_case(
        "negative threads",
        lambda: run(good(), max_parallel_threads=-1),
        SimulatorError,
        r"max_parallel_threads must be an int >= 0",
    ),
    run_case(
        "NaN memory limit",
        lambda: run(good(), max_memory_mb=math.nan),
        SimulatorError,
        r"max_memory_mb must be a positive number",
    ),
    run_case(
        "too big for the limit",
        lambda: run(Circuit(20).h(0).t(0), max_memory_mb=1),  # t: no stabilizer method
        SimulatorError,
        r"16,777,216 bytes.*precision='single'.*raise max_memory_mb",
    ),
    case("backend precision", lambda: BasicSimulator(precision="half"), SimulatorError, "half"),
    case("backend executor", lambda: BasicSimulator(executor=3), SimulatorError, r"Executor"),
    case("backend fusion", lambda: BasicSimulator(fusion="yes"), SimulatorError, r"True or False"),
    # ---- initial statevectors
    run_case(
        "initial not normalised",
        lambda: run(good(), initial_statevector=[1, 1, 0, 0]),
        CircuitError,
        r"norm\^2 2\.0; normalise it",
    ),
    run_case(
        "initial zero",
        lambda: run(good(), initial_statevector=np.zeros(4)),
        CircuitError,
        r"norm\^2 0\.0",
    ),
    run_case(
        "initial NaN",
        lambda: run(good(), initial_statevector=[math.nan, 0, 0, 0]),
        CircuitError,
        r"norm\^2 nan",
    ),
    run_case(
        "initial wrong size",
        lambda: run(good(), initial_statevector=[1, 0]),
        CircuitError,
        r"shape \(2,\); a 2-qubit circuit needs \(4,\)",
    ),
    run_case(
        "initial not numbers",
        lambda: run(good(), initial_statevector="abc"),
        CircuitError,
        r"array of complex numbers, got str",
    ),
    run_case(
        "initial strings",
        lambda: run(good(), initial_statevector=["1", "0", "0", "0"]),
        CircuitError,
        r"array of complex numbers, got list \(its entries are <U1\)",
    ),
    run_case(
        "initial single, off by 1e-4",
        lambda: run(good(), initial_statevector=np.array([1.0001, 0, 0, 0], dtype=np.complex64)),
        CircuitError,
        r"normalise it to 1 \(within 1e-05\)",
    ),
    run_case(
        "initial 2-D",
        lambda: run(good(), initial_statevector=np.eye(4)),
        CircuitError,
        r"shape \(4, 4\)",
    ),
    run_case(
        "reserved save label",
        lambda: run(Circuit(1).save_probabilities(label="counts")),
        CircuitError,
        r"label 'counts'",
    ),
    # ---- other circuit mistakes
    case("duplicate register", lambda: Circuit(1, 1).add_register("c", 1), CircuitError, "exists"),
    case(
        "pauli characters",
        lambda: Circuit(2).save_expectation_value("XQ", [0, 1]),
        CircuitError,
        r"invalid characters \['Q'\]",
    ),
    case(
        "duplicate save label",
        lambda: Circuit(1).save_statevector().save_statevector(),
        CircuitError,
        r"duplicate save label 'statevector'",
    ),
    # ---- malformed QASM
    case(
        "qasm2 undefined gate",
        lambda: from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nfoo q[0];'),
        CircuitError,
        r"cannot parse the OpenQASM source as OpenQASM 2: line 4, column 0: 'foo' is not",
    ),
    case(
        "qasm2 out of range",
        lambda: from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[5];'),
        CircuitError,
        r"cannot parse the OpenQASM source as OpenQASM 2: line 4",
    ),
    case(
        "qasm3 syntax",
        lambda: from_qasm("OPENQASM 3.0;\nqubit[2] q;\nh q[0]\n"),
        CircuitError,
        r"cannot parse the OpenQASM source as OpenQASM 3: a syntax error",
    ),
    case(
        "qasm version",
        lambda: from_qasm("OPENQASM 4.0;\nqubit q;"),
        CircuitError,
        r"unsupported OpenQASM version '4\.0'",
    ),
    case(
        "qasm missing file",
        lambda: from_qasm("/nonexistent/circuit.qasm"),
        CircuitError,
        r"cannot read OpenQASM file",
    ),
    case("qasm bytes", lambda: from_qasm(b"OPENQASM 2.0;"), CircuitError, r"got bytes"),
    # ---- unsupported Qiskit instructions
    case(
        "qiskit while_loop",
        lambda: Circuit.from_qiskit(qiskit_circuit(while_loop)),
        CircuitError,
        r"'while_loop'",
    ),
    case(
        "qiskit for_loop",
        lambda: Circuit.from_qiskit(qiskit_circuit(for_loop)),
        CircuitError,
        r"'for_loop'",
    ),
    case(
        "qiskit unbound parameter",
        lambda: Circuit.from_qiskit(qiskit_circuit(unbound)),
        CircuitError,
        r"unbound parameters \(theta\).*assign_parameters",
    ),
    case(
        "qiskit opaque instruction",
        lambda: Circuit.from_qiskit(qiskit_circuit(opaque)),
        CircuitError,
        r"'mystery'",
    ),
    run_case(
        "qiskit initialize after a gate",
        lambda: run(qiskit_circuit(initialize_late)),
        CircuitError,
        r"'initialize'",
    ),
    case(
        "from_qiskit junk",
        lambda: from_qiskit(5),
        CircuitError,
        r"takes a qiskit\.QuantumCircuit, got int",
    ),
    # ---- Result.from_dict of a corrupted dict
    case("from_dict None", lambda: Result.from_dict(None), SvsimError, r"must be a dict, got"),
    case("from_dict empty", lambda: Result.from_dict({}), SvsimError, r"missing key 'results'"),
    case(
        "from_dict no backend_name",
        lambda: Result.from_dict(corrupt(backend_name=None)),
        SvsimError,
        r"missing key 'backend_name'",
    ),
    case(
        "from_dict results not a list",
        lambda: Result.from_dict(corrupt(results=5)),
        SvsimError,
        r"'results' must be a list, got int",
    ),
    case(
        "from_dict shots not a number",
        lambda: Result.from_dict(corrupt_experiment(shots="many")),
        SvsimError,
        r"results\[0\]: .*'many'",
    ),
    case(
        "from_dict no shots",
        lambda: Result.from_dict(corrupt_experiment(shots=None)),
        SvsimError,
        r"results\[0\]: missing key 'shots'",
    ),
    case(
        "from_dict counts a list",
        lambda: Result.from_dict(corrupt_experiment(data={"counts": [1, 2]})),
        SvsimError,
        r"results\[0\]",
    ),
    case(
        "from_dict experiment not a dict",
        lambda: Result.from_dict(corrupt(results=["x"])),
        SvsimError,
        r"an experiment must be a dict, got str",
    ),
]


def test_the_catalogue_is_big_enough():
    assert len(CATALOGUE) >= 30
    assert len({p.id for p in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("bad", CATALOGUE)
def test_bad_input_is_refused_with_a_useful_message(bad: Case):
    submitted = spy().submitted
    if issubclass(bad.error, Warning):
        with pytest.warns(bad.error, match=bad.match) as record:
            job = bad.call()
        message = str(record[0].message)
        job.result(60)  # a warning, not a refusal: the job runs
    else:
        with pytest.raises(bad.error, match=bad.match) as info:
            bad.call()
        message = str(info.value)
        # the named exception, not a stray KeyError or TypeError let through
        assert isinstance(info.value, (SvsimError, ValueError)), type(info.value)
        assert not isinstance(info.value, (KeyError, IndexError, AttributeError))
        if bad.makes_job:
            assert spy().submitted == submitted, "a refused run() reached the executor"
    assert len(message) >= 20 and "\n" not in message.strip(), message
    assert not re.search(r"object at 0x", message), message


def test_the_backend_serves_after_the_whole_catalogue():
    """Run after the catalogue: no refusal left anything behind."""
    assert backend().jobs() == []
    job = backend().run(good(), shots=16, seed_simulator=3)
    counts = job.result(60).get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 16


def test_job_errors_are_job_errors():
    """What a job refuses: a second submit, waiting on a job never submitted."""
    job = backend().run(good(), shots=2)
    job.result(60)
    with pytest.raises(JobError, match="already submitted"):
        job.submit()
    unsubmitted = svsim.BasicProviderJob(backend(), "j", lambda: None)
    with pytest.raises(JobError, match="never submitted"):
        unsubmitted.result(1)
    with pytest.raises(JobError, match="never submitted"):
        unsubmitted.wait_for_final_state(1)


def test_huge_registers_cost_nothing_until_a_run_refuses_them():
    circuit = Circuit(1, 10**12).add_register("r", 10**9)
    assert circuit.num_clbits == 10**12 + 10**9
    assert circuit.cregs == [("c", 10**12), ("r", 10**9)]
    assert circuit.register_clbits("r")[-1] == 10**12 + 10**9 - 1
    circuit.measure(0, 10**12 + 5)  # a clbit far out is still just an index


def test_more_threads_than_cores_are_capped_with_a_warning():
    from svsim.options import available_cores

    cores = available_cores()
    with pytest.warns(UserWarning, match=f"more than the {cores} cores"):
        backend = BasicSimulator(max_parallel_threads=1000)
    assert backend.max_parallel_threads == cores
    with pytest.warns(UserWarning, match="using"):
        job = backend.run(good(), shots=10, max_parallel_threads=cores + 1)
    assert job.result(60).results[0].metadata["threads"] <= cores


def test_a_width_no_machine_holds_is_refused_without_working_out_its_bytes():
    for num_qubits in (61, 2**31):
        with pytest.raises(SimulatorError, match=rf"{num_qubits} qubits: its statevector"):
            BasicSimulator().run(Circuit(num_qubits).t(0), shots=1)
        with pytest.raises(CircuitError, match=rf"for {num_qubits} qubits: no machine"):
            BasicSimulator().run(Circuit(num_qubits).t(0), shots=1, initial_statevector=[1, 0])
