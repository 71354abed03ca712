"""Circuits that several test modules build."""

from __future__ import annotations

import svsim


def chain(num_qubits: int, num_gates: int, name: str = "chain") -> svsim.Circuit:
    """rx and cx pairs walking along the qubits: work for every amplitude."""
    qc = svsim.Circuit(num_qubits, name=name)
    for k in range(num_gates // 2):
        qc.rx(0.1 + 0.001 * k, k % num_qubits).cx(k % num_qubits, (k + 1) % num_qubits)
    return qc
