"""Circuits that several test modules build, and how they compare two results."""

from __future__ import annotations

import numpy as np
import svsim


def chain(num_qubits: int, num_gates: int, name: str = "chain") -> svsim.Circuit:
    """rx and cx pairs walking along the qubits: work for every amplitude."""
    qc = svsim.Circuit(num_qubits, name=name)
    for k in range(num_gates // 2):
        qc.rx(0.1 + 0.001 * k, k % num_qubits).cx(k % num_qubits, (k + 1) % num_qubits)
    return qc


def rich_circuit() -> svsim.Circuit:
    """A bit of everything a circuit can hold."""
    qc = svsim.Circuit(4, 2, name="rich")
    qc.add_register("flag", 1)
    qc.global_phase = 0.3
    qc.h(0).cx(0, 1).rx(0.4, 2).cu(0.1, 0.2, 0.3, 0.4, 2, 3).mcx([0, 1], 3)
    qc.unitary(np.array([[0, 1j], [1j, 0]]), [2], label="iX")
    qc.save_statevector("middle")
    qc.measure(0, 0).x(1, condition=(0, 1)).reset(2).x(2, condition=("c", 1))
    qc.save_probabilities([0, 1], label="p01").save_expectation_value("ZX", [0, 1])
    qc.measure(1, 1).measure(3, 2)
    return qc


def same_results(a: svsim.Result, b: svsim.Result, final_states: bool = True) -> None:
    """Equal experiments: headers, seeds, counts, memory, final states and saves.
    ``final_states=False``: ``a`` carries none (a Dask job's result)."""
    assert len(a.results) == len(b.results)
    for x, y in zip(a.results, b.results, strict=True):
        assert x.header == y.header and x.seed_simulator == y.seed_simulator
        assert x.data.keys() == y.data.keys()
        assert x.data["counts"] == y.data["counts"]
        assert x.data.get("memory") == y.data.get("memory")
        if not final_states:
            assert x.final_statevector is None
        elif x.final_statevector is None:  # the stabilizer method keeps none
            assert y.final_statevector is None
        else:
            np.testing.assert_allclose(x.final_statevector, y.final_statevector, atol=1e-12)
        for label, value in x.data.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_allclose(value, y.data[label], atol=1e-12)
