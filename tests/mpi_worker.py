"""What each rank runs in tests/test_mpi.py: ``mpiexec -n R python mpi_worker.py CASE ...``.

Every rank builds the same circuit (the functions below, which the test also
calls to run the circuit in one process) and writes what its job returned to
``OUT/rank<r>.json`` (rank 0 also ``OUT/statevector.npy``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import svsim
from reference import random_circuit
from svsim.families import random_layers

SHOTS = {
    "random": 2000,
    "relabel": 2000,
    "midcircuit": 100,
    "layers": 2000,
}  # one trajectory per shot: a few agreements each
SEED = 1234


def random_case(num_qubits: int, seed: int) -> svsim.Circuit:
    """Every gate kind on random qubits (the top ones are global over MPI), then
    every save kind over global and local qubits, then a measurement of all."""
    qc = random_circuit(num_qubits, depth=4, seed=seed)
    top = [num_qubits - 1, 0, num_qubits - 2]
    qc.save_probabilities(qubits=top, label="probabilities")
    qc.save_expectation_value("XYZ", top, label="xyz")
    qc.save_expectation_value("ZZ", [num_qubits - 1, num_qubits - 2], label="zz")
    qc.save_statevector()
    qc.measure_all()
    return qc


def midcircuit_case(num_qubits: int, seed: int) -> svsim.Circuit:
    """Measurements, resets and conditions between random gates, on global qubits too."""
    rng = np.random.default_rng(seed)
    qc = random_circuit(num_qubits, depth=2, seed=seed)
    qc.add_register("c", num_qubits)
    top = num_qubits - 1
    qc.measure(top, 0)
    qc.x(1, condition=(0, 1))
    qc.reset(top - 1)
    qc.h(top - 1)
    qc.measure(top - 1, 1)
    qc.cx(top - 1, 0, condition=("c", 1))
    qc.ry(float(rng.uniform(0, 3)), top, condition=(1, 0))
    qc.measure(2, 2)
    qc.save_probabilities(qubits=[top, 0], label="probabilities")
    for q in range(num_qubits):
        qc.h(q)
    qc.measure_all()
    return qc


def relabel_case(num_qubits: int, seed: int) -> svsim.Circuit:
    """X, CX, controlled swaps and diagonals on the global qubits: ranks trade roles
    (relabelling), and the state is put back in order before it is read."""
    top, second = num_qubits - 1, num_qubits - 2
    qc = svsim.Circuit(num_qubits, name=f"relabel-{seed}")
    for q in range(num_qubits - 2):
        qc.h(q)
    qc.rz(0.4, top).x(top).cx(top, second).ccx(top, second, 0).rzz(0.3, top, 1)
    qc.cswap(top, second, 2).cp(0.7, second, top).x(second).swap(top, second)
    qc.save_probabilities(qubits=[top, second, 0], label="probabilities")
    qc.save_expectation_value("ZZX", [top, second, 0], label="zz")
    qc.save_statevector()
    qc.measure_all()
    return qc


def layers_case(num_qubits: int, seed: int) -> svsim.Circuit:
    """The bench's random family: every layer puts a dense gate on every qubit,
    the global ones included."""
    qc = random_layers(num_qubits, depth=6, seed=seed)
    qc.save_probabilities(qubits=[num_qubits - 1, 0], label="probabilities")
    qc.save_statevector()
    qc.measure_all()
    return qc


CASES = {
    "random": random_case,
    "midcircuit": midcircuit_case,
    "relabel": relabel_case,
    "layers": layers_case,
}


def long_case(num_qubits: int) -> svsim.Circuit:
    """Seconds of work: a measurement after the gates makes every shot a trajectory."""
    qc = svsim.Circuit(num_qubits, 1, name="long")
    for _ in range(100):
        qc.h(num_qubits - 1).cx(num_qubits - 1, 0).rz(0.1, 1)
    qc.measure(num_qubits - 1, 0)
    qc.x(0, condition=(0, 1))
    return qc


def main() -> None:
    case, out = sys.argv[1], Path(sys.argv[2])
    args = sys.argv[3:]
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    record: dict = {"rank": rank}
    try:
        if case in CASES:
            num_qubits, precision, seed = int(args[0]), args[1], int(args[2])
            qc = CASES[case](num_qubits, seed)
            backend = svsim.BasicSimulator(precision=precision, mpi=True)
            job = backend.run(qc, shots=SHOTS[case], seed_simulator=SEED, memory=True)
            result = job.result(timeout=300)
            data = result.data(0)
            record["counts"] = result.get_counts()
            record["memory"] = result.get_memory()
            record["probabilities"] = np.asarray(data["probabilities"]).tolist()
            for label in ("xyz", "zz"):
                if label in data:
                    record[label] = float(data[label])
            record["mpi"] = result.results[0].metadata["mpi"]
            state = data.get("statevector")
            record["has_state"] = state is not None
            if state is None:
                try:
                    result.get_statevector()
                except svsim.SvsimError as exc:
                    record["no_state"] = str(exc)
            if state is not None:
                np.save(out / "statevector.npy", state)
        elif case in ("cancel", "raise", "die"):
            backend = svsim.BasicSimulator(mpi=True)
            if case == "raise" and rank == 1:
                from svsim.mpi import run as mpi_run

                def broken(self):  # noqa: ANN001
                    raise RuntimeError("injected failure")

                mpi_run.DistributedRun.flush = broken
            if case == "die" and rank == 1:
                from svsim.mpi import run as mpi_run

                def die(self):  # noqa: ANN001
                    os._exit(3)

                mpi_run.DistributedRun.flush = die
            job = backend.run(long_case(14), shots=2000, seed_simulator=1)
            if case == "cancel" and rank == 1:
                while job.progress() < 0.05:
                    time.sleep(0.01)
                record["cancel_returned"] = job.cancel()
            try:
                job.result(timeout=300)
            except svsim.JobError as exc:
                record["error"] = str(exc) + " | " + str(exc.__cause__)
            record["status"] = job.status().name
            record["progress"] = job.progress()
        elif case == "refuse":
            try:
                svsim.BasicSimulator(mpi=True).run(svsim.Circuit(int(args[0])).h(0).cx(0, 1))
            except svsim.SimulatorError as exc:
                record["refused"] = str(exc)
    finally:
        (out / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
