"""The gate table: every named gate svsim knows, as Qiskit defines it.

Each gate is a *base* matrix acting on its target qubits, plus a number of
control qubits that must all be |1> for it to act.  ``cx`` is the base ``x``
with one control, ``cp(lam)`` is the base ``p(lam)`` with one control, and so
on.  ``mcx`` and ``mcp`` take any number of controls (``num_controls is None``).

Matrices use Qiskit's conventions exactly: the same parameter order and
signs, and the first target is the least significant bit of the row and column
index.  For a controlled gate the full matrix (see :func:`controlled_matrix`)
puts the controls on the low bits, then the targets, which is the order of the
qubit arguments of Qiskit's methods (``qc.cp(lam, control, target)``).

``kind`` says how the kernel runs the gate (the values are those of
:mod:`svsim._ops`): ``DIAGONAL`` when the base matrix is diagonal, ``FLIP`` when
it is X, ``SWAP`` when it swaps two targets, else ``DENSE``.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from svsim._ops import DENSE, DIAGONAL, FLIP, SWAP

__all__ = [
    "GATES",
    "MULTI_QUBIT_GATES",
    "ONE_QUBIT_GATES",
    "TWO_QUBIT_GATES",
    "GateSpec",
    "base_matrix",
    "controlled_matrix",
    "gate_matrix",
]

Flat = tuple[complex, ...]
"""A square matrix as its entries in row-major order."""


@dataclass(frozen=True)
class GateSpec:
    """One gate of the table.

    ``flat(*params)`` gives the base matrix (on the targets only) as a
    row-major tuple of Python complex numbers; it is cheap, which keeps
    :meth:`svsim.Circuit.encode` fast.  ``base`` names the uncontrolled gate
    whose matrix this is (``"x"`` for ``cx``, ``"u"`` for ``cu`` up to the
    phase ``gamma``).
    """

    name: str
    num_params: int
    num_controls: int | None  # None: any number (mcx, mcp)
    num_targets: int
    kind: int
    base: str
    flat: Callable[..., Flat]

    def matrix(self, *params: float) -> np.ndarray:
        """The base matrix on the targets, a (2**t, 2**t) complex128 array."""
        dim = 1 << self.num_targets
        return np.array(self.flat(*params), dtype=np.complex128).reshape(dim, dim)

    def diagonal(self, *params: float) -> Flat:
        """The diagonal of the base matrix (meaningful for ``DIAGONAL`` gates)."""
        dim = 1 << self.num_targets
        return self.flat(*params)[:: dim + 1]


# --------------------------------------------------------------------------
# Base matrices, as row-major tuples.

_R2 = 1.0 / math.sqrt(2.0)


def _const(*entries: complex) -> Callable[[], Flat]:
    values = tuple(complex(v) for v in entries)

    def flat() -> Flat:
        return values

    return flat


def _rx(theta: float) -> Flat:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return (c + 0j, -1j * s, -1j * s, c + 0j)


def _ry(theta: float) -> Flat:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return (c + 0j, -s + 0j, s + 0j, c + 0j)


def _rz(theta: float) -> Flat:
    return (cmath.exp(-0.5j * theta), 0j, 0j, cmath.exp(0.5j * theta))


def _p(lam: float) -> Flat:
    return (1 + 0j, 0j, 0j, cmath.exp(1j * lam))


def _u(theta: float, phi: float, lam: float) -> Flat:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return (
        c + 0j,
        -cmath.exp(1j * lam) * s,
        cmath.exp(1j * phi) * s,
        cmath.exp(1j * (phi + lam)) * c,
    )


def _cu(theta: float, phi: float, lam: float, gamma: float) -> Flat:
    phase = cmath.exp(1j * gamma)
    return tuple(phase * v for v in _u(theta, phi, lam))


def _rxx(theta: float) -> Flat:
    # cos(t/2) I - i sin(t/2) X(x)X
    c, s = math.cos(theta / 2) + 0j, -1j * math.sin(theta / 2)
    return (c, 0j, 0j, s, 0j, c, s, 0j, 0j, s, c, 0j, s, 0j, 0j, c)


def _ryy(theta: float) -> Flat:
    # cos(t/2) I - i sin(t/2) Y(x)Y;  Y(x)Y = antidiag(-1, 1, 1, -1)
    c, s = math.cos(theta / 2) + 0j, -1j * math.sin(theta / 2)
    return (c, 0j, 0j, -s, 0j, c, s, 0j, 0j, s, c, 0j, -s, 0j, 0j, c)


def _rzz(theta: float) -> Flat:
    a, b = cmath.exp(-0.5j * theta), cmath.exp(0.5j * theta)
    return (a, 0j, 0j, 0j, 0j, b, 0j, 0j, 0j, 0j, b, 0j, 0j, 0j, 0j, a)


def _rzx(theta: float) -> Flat:
    # exp(-i t/2 Z(q0) X(q1)) = cos(t/2) I - i sin(t/2) (X (x) Z), q0 the low bit
    c, s = math.cos(theta / 2) + 0j, -1j * math.sin(theta / 2)
    return (c, 0j, s, 0j, 0j, c, 0j, -s, s, 0j, c, 0j, 0j, -s, 0j, c)


_X = _const(0, 1, 1, 0)
_SWAP = _const(1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1)

_BASES: dict[str, tuple[int, int, int, Callable[..., Flat]]] = {
    # name: (num_params, num_targets, kind, flat)
    "id": (0, 1, DIAGONAL, _const(1, 0, 0, 1)),
    "x": (0, 1, FLIP, _X),
    "y": (0, 1, DENSE, _const(0, -1j, 1j, 0)),
    "z": (0, 1, DIAGONAL, _const(1, 0, 0, -1)),
    "h": (0, 1, DENSE, _const(_R2, _R2, _R2, -_R2)),
    "s": (0, 1, DIAGONAL, _const(1, 0, 0, 1j)),
    "sdg": (0, 1, DIAGONAL, _const(1, 0, 0, -1j)),
    "t": (0, 1, DIAGONAL, _const(1, 0, 0, cmath.exp(0.25j * math.pi))),
    "tdg": (0, 1, DIAGONAL, _const(1, 0, 0, cmath.exp(-0.25j * math.pi))),
    "sx": (0, 1, DENSE, _const((1 + 1j) / 2, (1 - 1j) / 2, (1 - 1j) / 2, (1 + 1j) / 2)),
    "sxdg": (0, 1, DENSE, _const((1 - 1j) / 2, (1 + 1j) / 2, (1 + 1j) / 2, (1 - 1j) / 2)),
    "rx": (1, 1, DENSE, _rx),
    "ry": (1, 1, DENSE, _ry),
    "rz": (1, 1, DIAGONAL, _rz),
    "p": (1, 1, DIAGONAL, _p),
    "u": (3, 1, DENSE, _u),
    "swap": (0, 2, SWAP, _SWAP),
    "iswap": (0, 2, DENSE, _const(1, 0, 0, 0, 0, 0, 1j, 0, 0, 1j, 0, 0, 0, 0, 0, 1)),
    "rxx": (1, 2, DENSE, _rxx),
    "ryy": (1, 2, DENSE, _ryy),
    "rzz": (1, 2, DIAGONAL, _rzz),
    "rzx": (1, 2, DENSE, _rzx),
    "ecr": (
        0,
        2,
        DENSE,
        _const(*(_R2 * v for v in (0, 1, 0, 1j, 1, 0, -1j, 0, 0, 1j, 0, 1, -1j, 0, 1, 0))),
    ),
}

# Controlled gates: name -> (base gate, number of controls or None for any).
_CONTROLLED: dict[str, tuple[str, int | None]] = {
    "cx": ("x", 1),
    "cy": ("y", 1),
    "cz": ("z", 1),
    "ch": ("h", 1),
    "cp": ("p", 1),
    "crx": ("rx", 1),
    "cry": ("ry", 1),
    "crz": ("rz", 1),
    "cu": ("u", 1),  # with the extra phase gamma, see _cu
    "ccx": ("x", 2),
    "cswap": ("swap", 1),
    "mcx": ("x", None),
    "mcp": ("p", None),
}


def _build_table() -> dict[str, GateSpec]:
    table = {
        name: GateSpec(name, n_params, 0, n_targets, kind, name, flat)
        for name, (n_params, n_targets, kind, flat) in _BASES.items()
    }
    for name, (base, n_controls) in _CONTROLLED.items():
        n_params, n_targets, kind, flat = _BASES[base]
        if name == "cu":
            n_params, flat = 4, _cu
        table[name] = GateSpec(name, n_params, n_controls, n_targets, kind, base, flat)
    return table


GATES: Mapping[str, GateSpec] = MappingProxyType(_build_table())
"""Every gate of the contract, by its lower-case name."""

ONE_QUBIT_GATES = tuple("id x y z h s sdg t tdg sx sxdg rx ry rz p u".split())
TWO_QUBIT_GATES = tuple("cx cy cz ch swap iswap cp crx cry crz cu rxx ryy rzz rzx ecr".split())
MULTI_QUBIT_GATES = ("ccx", "cswap", "mcx", "mcp")


def base_matrix(name: str, params: tuple[float, ...] | list[float] = ()) -> np.ndarray:
    """The base matrix of gate ``name`` on its targets only (no controls)."""
    spec = GATES[name]
    if len(params) != spec.num_params:
        raise ValueError(f"gate {name!r} takes {spec.num_params} parameters, got {len(params)}")
    return spec.matrix(*params)


def controlled_matrix(base: np.ndarray, num_controls: int) -> np.ndarray:
    """The full matrix of ``base`` with ``num_controls`` controls on the low bits.

    This is the matrix of Qiskit's controlled gate with the controls as its
    first qubit arguments (the order of ``qc.cx(control, target)``).
    """
    base = np.asarray(base, dtype=np.complex128)
    dim_t = base.shape[0]
    full = np.eye(dim_t << num_controls, dtype=np.complex128)
    rows = ((1 << num_controls) - 1) + (np.arange(dim_t) << num_controls)
    full[np.ix_(rows, rows)] = base
    return full


def gate_matrix(
    name: str, params: tuple[float, ...] | list[float] = (), num_controls: int | None = None
) -> np.ndarray:
    """The full matrix of gate ``name``, controls included, in Qiskit's order.

    ``num_controls`` is needed only for ``mcx`` and ``mcp``.
    """
    spec = GATES[name]
    if spec.num_controls is None:
        if num_controls is None:
            raise ValueError(f"gate {name!r} needs num_controls")
    elif num_controls is not None and num_controls != spec.num_controls:
        raise ValueError(f"gate {name!r} has {spec.num_controls} controls, not {num_controls}")
    else:
        num_controls = spec.num_controls
    return controlled_matrix(base_matrix(name, params), num_controls)
