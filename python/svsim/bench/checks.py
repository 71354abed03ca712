"""The checks made before anything is timed: the fidelity of a final state against
svsim's, a statistical test of samples against exact probabilities, and a plain
numpy reference for the mid-circuit measurement case."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from svsim.bench import circuits as C
from svsim.bench.config import FIDELITY_TOL


def _dot(a: np.ndarray, b: np.ndarray) -> complex:
    """``<a|b>`` accumulated in complex128, a slice at a time (no full-size copies)."""
    total = 0j
    step = 1 << 20
    for start in range(0, a.size, step):
        x = a[start : start + step].astype(np.complex128, copy=False)
        y = b[start : start + step].astype(np.complex128, copy=False)
        total += complex(np.vdot(x, y))
    return total


def fidelity(reference: np.ndarray, state: np.ndarray) -> float:
    """``|<a|b>|^2 / (<a|a> <b|b>)``, accumulated in double precision.

    Normalised, so that the rounding of single-precision norms (first order in
    the fidelity) does not count; the norms are checked separately.
    """
    a = np.ravel(np.asarray(reference))
    b = np.ravel(np.asarray(state))
    if a.shape != b.shape:
        return 0.0
    na = _dot(a, a).real
    nb = _dot(b, b).real
    if not (na > 0 and nb > 0 and math.isfinite(na) and math.isfinite(nb)):
        return 0.0
    return float(abs(_dot(a, b)) ** 2 / (na * nb))


def state_check(reference: np.ndarray, state: np.ndarray, precision: str) -> dict[str, Any]:
    fid = fidelity(reference, state)
    flat = np.ravel(np.asarray(state))
    norm = _dot(flat, flat).real if flat.size else 0.0
    norm_tol = 1e-4 if precision == "single" else 1e-8
    ok = fid > 1 - FIDELITY_TOL and abs(norm - 1) < norm_tol
    return {"ok": bool(ok), "fidelity": fid, "norm": norm}


def sample_check(
    probabilities: Sequence[np.ndarray], counts: Sequence[dict[int, int]], shots: int
) -> dict[str, Any]:
    """Do the samples come from ``probabilities``?  (one pair per circuit)

    The statistic is the mean exact probability of the sampled outcomes; drawn
    from ``P`` its mean is ``sum(P^2)`` and its variance ``sum(P^3) - sum(P^2)^2``
    per sample.  Samples from a wrong distribution (reversed bits, a wrong
    angle) move it by far more than the 6 sigma allowed.  Every circuit's
    counts must also add up to ``shots``.
    """
    total = observed = expected = variance = 0.0
    for probs, got in zip(probabilities, counts, strict=True):
        p = np.asarray(probs, dtype=np.float64)
        keys = np.fromiter(got.keys(), dtype=np.int64, count=len(got))
        values = np.fromiter(got.values(), dtype=np.float64, count=len(got))
        if int(values.sum()) != shots:
            return {"ok": False, "reason": f"counts add up to {int(values.sum())}, not {shots}"}
        if keys.size and (keys.min() < 0 or keys.max() >= p.size):
            return {"ok": False, "reason": "an outcome outside the register"}
        p2 = float(np.dot(p, p))
        p3 = float(np.dot(p * p, p))
        observed += float(np.dot(values, p[keys]))
        expected += shots * p2
        variance += shots * max(p3 - p2 * p2, 0.0)
        total += shots
    stat, mean = observed / total, expected / total
    sigma = math.sqrt(variance) / total
    ok = abs(stat - mean) <= 6 * sigma + 1e-6 * mean
    z = (stat - mean) / sigma if sigma > 0 else 0.0
    return {"ok": bool(ok), "statistic": stat, "expected": mean, "z": z}


_SQ2 = 1 / math.sqrt(2)


def _op_matrix(op: C.Op) -> np.ndarray:
    """The matrix of ``op`` with ``op.qubits[0]`` as its low bit (Qiskit's)."""
    name = op.name
    if name == "unitary":
        return np.asarray(op.matrix)
    if name == "h":
        return np.array([[_SQ2, _SQ2], [_SQ2, -_SQ2]], dtype=complex)
    if name == "x":
        return np.array([[0, 1], [1, 0]], dtype=complex)
    if name in ("rx", "ry", "rz"):
        c, s = math.cos(op.params[0] / 2), math.sin(op.params[0] / 2)
        if name == "rx":
            return np.array([[c, -1j * s], [-1j * s, c]])
        if name == "ry":
            return np.array([[c, -s], [s, c]], dtype=complex)
        return np.diag([complex(c, -s), complex(c, s)])
    if name in ("cx", "swap"):
        perm = [0, 3, 2, 1] if name == "cx" else [0, 2, 1, 3]
        return np.eye(4, dtype=complex)[perm]
    if name == "cz":
        return np.diag([1, 1, 1, -1]).astype(complex)
    if name == "cp":
        return np.diag([1, 1, 1, np.exp(1j * op.params[0])])
    raise ValueError(f"no matrix for {name!r}")


def numpy_apply(state: np.ndarray, ops: Iterable[C.Op], num_qubits: int) -> np.ndarray:
    """A plain numpy statevector reference (for the mid-circuit check)."""
    psi = np.asarray(state, dtype=np.complex128).reshape([2] * num_qubits)
    for op in ops:
        k = len(op.qubits)
        tensor = _op_matrix(op).reshape([2] * (2 * k))
        axes = [num_qubits - 1 - q for q in reversed(op.qubits)]  # high bit first
        psi = np.tensordot(tensor, psi, axes=(list(range(k, 2 * k)), axes))
        psi = np.moveaxis(psi, list(range(k)), axes)
    return psi.reshape(-1)


def mid_circuit_probabilities(spec: C.Spec) -> np.ndarray:
    """Exact outcome probabilities of :func:`~svsim.bench.circuits.mid_circuit_spec`:
    outcome bit 0 is the mid-circuit result, bit ``q + 1`` the final qubit ``q``."""
    n = spec.num_qubits
    ops = list(spec.ops)
    cut = next(i for i, op in enumerate(ops) if op.name == "measure")
    assert ops[cut + 1].name == "reset" and ops[cut].qubits == ops[cut + 1].qubits
    qubit = ops[cut].qubits[0]
    suffix = [op for op in ops[cut + 2 :] if op.name != "measure"]
    start = np.zeros(1 << n, dtype=np.complex128)
    start[0] = 1
    psi = numpy_apply(start, ops[:cut], n)
    ones = (np.arange(1 << n) >> qubit) & 1
    out = np.zeros(1 << (n + 1))
    for bit in (0, 1):
        branch = np.where(ones == bit, psi, 0)
        weight = float(np.vdot(branch, branch).real)
        if weight == 0:
            continue
        if bit:  # reset: move the amplitudes to qubit = 0
            branch = branch[np.arange(1 << n) ^ (1 << qubit)]
        final = numpy_apply(branch / math.sqrt(weight), suffix, n)
        out[bit::2] = weight * np.abs(final) ** 2
    return out
