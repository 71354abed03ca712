"""A circuit keeps its last encoding (issue 20): the cache must never give the
program of a circuit that has changed since, whatever changed it, and a job
must run the circuit as it was when run() was called."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable

import numpy as np
import pytest
from spy_executor import SpyExecutor
from svsim import BasicSimulator, Circuit
from svsim.encoding import encode
from svsim.program import Instruction, Program

WAIT = 10.0


def base() -> Circuit:
    qc = Circuit(3, 2, name="cached").h(0).cx(0, 1).rz(0.5, 2)
    return qc.measure(0, 0).measure(1, 1)


def fresh(qc: Circuit) -> Program:
    """The encoding of ``qc`` made now, without any cache."""
    return encode(
        list(qc.data),
        qc.num_qubits,
        qc.num_clbits,
        qc.global_phase,
        dict(qc._save_labels),
    )


def same(a: Program, b: Program) -> bool:
    return (
        np.array_equal(a.ops, b.ops)
        and np.array_equal(a.qubits, b.qubits)
        and np.array_equal(a.values, b.values)
        and (a.num_qubits, a.num_clbits, a.save_labels)
        == (b.num_qubits, b.num_clbits, b.save_labels)
    )


def test_an_unchanged_circuit_encodes_once_into_read_only_arrays() -> None:
    qc = base()
    program = qc.encode()
    assert qc.encode() is program
    for array in (program.ops, program.qubits, program.values):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 0


CHANGES: dict[str, Callable[[Circuit], object]] = {
    "a gate": lambda qc: qc.x(2),
    "a measurement": lambda qc: qc.measure(2, 1),
    "append to data": lambda qc: qc.data.append(Instruction("x", (1,))),
    "replace in data": lambda qc: qc.data.__setitem__(0, Instruction("y", (0,))),
    "replace with new params": lambda qc: qc.data.__setitem__(
        2, Instruction("rz", (2,), (), (0.7,))
    ),
    "delete from data": lambda qc: qc.data.__delitem__(1),
    "reverse data": lambda qc: qc.data.reverse(),
    "a register": lambda qc: qc.add_register("more", 3),
    "the global phase": lambda qc: setattr(qc, "global_phase", 0.25),
    "a save": lambda qc: qc.save_statevector(),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_any_change_makes_a_new_encoding(change: str) -> None:
    qc = base()
    before = qc.encode()
    CHANGES[change](qc)
    after = qc.encode()
    assert after is not before
    assert same(after, fresh(qc)) and not same(after, before)
    assert qc.encode() is after  # and that one is kept


def test_copies_and_pickles_encode_the_same_and_do_not_share_a_stale_program() -> None:
    qc = base()
    program = qc.encode()
    twin = qc.copy()
    assert same(twin.encode(), program)
    twin.x(0)
    assert not same(twin.encode(), program)
    assert qc.encode() is program  # the copy's change does not reach the original
    back = pickle.loads(pickle.dumps(qc))
    assert "_encoding" not in qc.__getstate__()
    assert same(back.encode(), program) and back.encode() is not program
    back.x(1)
    assert qc.encode() is program and not same(back.encode(), program)


def _gate_backend() -> tuple[BasicSimulator, threading.Event, SpyExecutor]:
    """A backend whose worker is held until the returned event is set."""
    spy = SpyExecutor()
    release = threading.Event()
    spy.submit(release.wait, WAIT)
    return BasicSimulator(executor=spy), release, spy


def test_changing_a_circuit_after_run_does_not_change_that_job() -> None:
    backend, release, spy = _gate_backend()
    qc = Circuit(2, 2).x(0).measure([0, 1], [0, 1])
    qc.encode()  # a cached program that the change below makes stale
    job = backend.run(qc, shots=20, seed_simulator=3)
    qc.data.insert(0, Instruction("x", (1,)))
    qc.encode()  # the cache the job's snapshot shares now holds the changed circuit
    second = backend.run(qc, shots=20, seed_simulator=3)
    release.set()
    assert job.result(timeout=WAIT).get_counts() == {"01": 20}
    assert second.result(timeout=WAIT).get_counts() == {"11": 20}
    qc.data.pop(0)
    third = backend.run(qc, shots=20, seed_simulator=3)
    assert third.result(timeout=WAIT).get_counts() == {"01": 20}
    spy.shutdown()


def test_a_job_encoding_serves_the_next_run_of_the_same_circuit() -> None:
    backend = BasicSimulator()
    qc = base()
    backend.run(qc, shots=10).result()
    program = qc.encode()  # made by the job, on its snapshot
    backend.run(qc, shots=10).result()
    assert qc.encode() is program
    backend.close()
