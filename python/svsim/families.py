"""Built-in circuit families: small generators of well-known circuits.

Each builder returns a new :class:`~svsim.Circuit` with no measurements (add
``measure_all()`` to sample it), named after the family and its size, e.g.
``"qft_20"``.  Randomised families take a ``seed`` (an int, or ``None`` for
fresh entropy); the same seed gives the same circuit on every machine.

=========  ==========================================  =====================================
name       builder                                     circuit
=========  ==========================================  =====================================
``ghz``    ``ghz(num_qubits)``                         ``h(0)``, then a chain of ``cx``
``qft``    ``qft(num_qubits)``                         Qiskit's ``QFT`` gate order, with swaps
``random`` ``random_layers(num_qubits, depth, seed)``  ``ry``, ``rz`` layers + ``cx`` brickwork
``qv``     ``quantum_volume(num_qubits, depth, seed)`` random SU(4) on random qubit pairs
=========  ==========================================  =====================================

:data:`FAMILIES` maps each name to its builder; :func:`build` calls any of
them with one signature, which is what the command line uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from svsim.circuit import Circuit
from svsim.exceptions import CircuitError

__all__ = [
    "CLIFFORD_FAMILIES",
    "DEFAULT_DEPTH",
    "FAMILIES",
    "TAKES_DEPTH",
    "build",
    "ghz",
    "haar_su4",
    "qft",
    "quantum_volume",
    "random_layers",
]

# Layers of the ``random`` family when none are asked for (the peer figures
# in the benchmark use 10).  ``qv`` defaults to a square circuit: depth = width.
DEFAULT_DEPTH = 10


def _check_count(value: object, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise CircuitError(f"{what} must be an int >= {minimum}, got {value!r}")
    return int(value)


def ghz(num_qubits: int) -> Circuit:
    """The GHZ state preparation: ``h(0)`` then ``cx(i, i + 1)`` for each neighbour pair.

    Its state is ``(|0...0> + |1...1>) / sqrt(2)``.
    """
    n = _check_count(num_qubits, "num_qubits", 1)
    circuit = Circuit(n, name=f"ghz_{n}")
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    return circuit


def qft(num_qubits: int) -> Circuit:
    """The quantum Fourier transform, in the gate order of Qiskit's ``QFT`` (with swaps).

    For ``j`` from ``n - 1`` down to 0: ``h(j)``, then ``cp(pi / 2**(j - k), j, k)``
    for ``k`` from ``j - 1`` down to 0; then ``swap(i, n - 1 - i)``.  It maps the
    basis state ``|x>`` to ``sum_y exp(2 pi i x y / 2**n) |y> / sqrt(2**n)``.
    """
    n = _check_count(num_qubits, "num_qubits", 1)
    circuit = Circuit(n, name=f"qft_{n}")
    for j in reversed(range(n)):
        circuit.h(j)
        for k in reversed(range(j)):
            circuit.cp(math.pi / 2.0 ** (j - k), j, k)
    for i in range(n // 2):
        circuit.swap(i, n - 1 - i)
    return circuit


def random_layers(num_qubits: int, depth: int = DEFAULT_DEPTH, seed: int | None = None) -> Circuit:
    """``depth`` layers of random rotations and entanglers.

    Each layer applies ``ry`` then ``rz`` with angles drawn uniformly from
    ``[0, 2 pi)`` to every qubit, then a brickwork of ``cx(q, q + 1)`` on the
    pairs starting at qubit 0 in even layers and at qubit 1 in odd ones.
    """
    n = _check_count(num_qubits, "num_qubits", 1)
    d = _check_count(depth, "depth", 1)
    rng = np.random.default_rng(seed)
    circuit = Circuit(n, name=f"random_{n}x{d}")
    for layer in range(d):
        angles = rng.uniform(0.0, 2.0 * math.pi, size=(n, 2)).tolist()
        for q, (theta, phi) in enumerate(angles):
            circuit.ry(theta, q)
            circuit.rz(phi, q)
        for q in range(layer % 2, n - 1, 2):
            circuit.cx(q, q + 1)
    return circuit


def haar_su4(rng: np.random.Generator) -> np.ndarray:
    """A Haar-random 4x4 special unitary (determinant 1), drawn from ``rng``.

    The QR decomposition of a complex Gaussian matrix, with the phases of R's
    diagonal moved into Q (Mezzadri's recipe), then divided by a fourth root
    of its determinant.
    """
    z = (rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))) / math.sqrt(2.0)
    q, r = np.linalg.qr(z)
    diag = np.diagonal(r)
    q = q * (diag / np.abs(diag))
    unitary: np.ndarray = q / np.linalg.det(q) ** 0.25
    return unitary


def quantum_volume(num_qubits: int, depth: int | None = None, seed: int | None = None) -> Circuit:
    """A quantum-volume circuit: ``depth`` layers of random SU(4) gates on random pairs.

    Each layer draws a random permutation of the qubits and applies a
    Haar-random SU(4) (through :meth:`Circuit.unitary`) to each consecutive
    pair of it; with an odd number of qubits one of them rests.  ``depth``
    defaults to ``num_qubits`` (a square circuit, as in the QV protocol).
    """
    n = _check_count(num_qubits, "num_qubits", 1)
    d = n if depth is None else _check_count(depth, "depth", 1)
    rng = np.random.default_rng(seed)
    circuit = Circuit(n, name=f"qv_{n}x{d}")
    for _ in range(d):
        order = rng.permutation(n).tolist()
        for i in range(n // 2):
            circuit.unitary(haar_su4(rng), [order[2 * i], order[2 * i + 1]])
    return circuit


FAMILIES: dict[str, Callable[..., Circuit]] = {
    "ghz": ghz,
    "qft": qft,
    "random": random_layers,
    "qv": quantum_volume,
}
"""Family name -> builder.  ``ghz`` and ``qft`` take ``(num_qubits)``; ``random``
and ``qv`` take ``(num_qubits, depth, seed)``."""

TAKES_DEPTH = frozenset({"random", "qv"})
"""The families that take a ``depth`` and a ``seed``."""


CLIFFORD_FAMILIES = frozenset({"ghz"})
"""Families whose circuits are Clifford circuits: the stabilizer method runs them
at any width."""


def build(name: str, num_qubits: int, depth: int | None = None, seed: int | None = None) -> Circuit:
    """The circuit of family ``name`` with ``num_qubits`` qubits.

    ``depth`` and ``seed`` only apply to ``random`` and ``qv`` (``depth=None``:
    the family's default); giving a depth to another family is an error.

    Raises:
        CircuitError: unknown family, bad size, or a depth the family does not take.
    """
    if name not in FAMILIES:
        raise CircuitError(f"unknown circuit family {name!r}; choose one of {', '.join(FAMILIES)}")
    if name not in TAKES_DEPTH:
        if depth is not None:
            raise CircuitError(
                f"the {name} family takes no depth; only {' and '.join(sorted(TAKES_DEPTH))} do"
            )
        return FAMILIES[name](num_qubits)
    if depth is None and name == "random":
        depth = DEFAULT_DEPTH
    return FAMILIES[name](num_qubits, depth, seed)
