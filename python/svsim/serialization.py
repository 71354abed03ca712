"""Result data to plain JSON-ready values and back (complex numbers as
``[re, im]`` pairs, as Qiskit's ``to_dict`` writes statevectors), deep equality
that compares numpy arrays by value, and the error ``from_dict`` raises on a
dict that is not ``to_dict``'s output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from svsim.exceptions import SvsimError


def _jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into plain Python.

    Complex numbers become ``[re, im]`` pairs (Qiskit's convention for
    statevectors in ``to_dict``), so a complex array becomes a list of pairs.
    """
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            pairs = np.stack([value.real, value.imag], axis=-1).astype(np.float64)
            return pairs.tolist()
        return value.tolist()
    if isinstance(value, (complex, np.complexfloating)):
        return [float(value.real), float(value.imag)]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _from_jsonable(value: Any, complex_dtype: type) -> Any:
    """Undo :func:`_jsonable` for one saved value: lists of ``[re, im]`` pairs are
    complex arrays, other numeric lists real arrays, and scalars stay scalars."""
    if not isinstance(value, list):
        return value
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        return value
    if array.ndim >= 2 and array.shape[-1] == 2:
        return (array[..., 0] + 1j * array[..., 1]).astype(complex_dtype)
    return array.astype(np.float64)


def _same(a: Any, b: Any) -> bool:
    """Deep equality that compares numpy arrays by value (shape and entries)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# What a dict that is not to_dict()'s output makes from_dict raise on its way.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return f"missing key {exc.args[0]!r}"
    return str(exc)


def _need_mapping(d: object, what: str) -> None:
    if not isinstance(d, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(d).__name__}")


def _malformed(cls_name: str, exc: BaseException, where: str = "") -> SvsimError:
    return SvsimError(
        f"{cls_name}.from_dict needs the output of {cls_name}.to_dict(); this dict is not: "
        f"{where}{_error_text(exc)}"
    )
