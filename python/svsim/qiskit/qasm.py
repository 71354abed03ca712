"""OpenQASM 2 and 3 to svsim circuits: :func:`circuit_from_qasm` (behind
``Circuit.from_qasm``) reads source or a file through Qiskit's own loaders,
reports parse errors as one line, and converts the result."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from svsim.circuit import Circuit
from svsim.exceptions import CircuitError
from svsim.qiskit.convert import INSTALL_HINT, circuit_from_qiskit
from svsim.result import MissingExtraError

__all__ = ["circuit_from_qasm"]


def _looks_like_path(text: str) -> bool:
    if "\n" in text or ";" in text:
        return False
    return text.endswith((".qasm", ".qasm2", ".qasm3", ".inc")) or os.path.isfile(text)


# What only OpenQASM 2 has: its registers and its standard include.
_QASM2_CONTENT = re.compile(r'^\s*(qreg|creg)\s|\binclude\s+"qelib1\.inc"', re.MULTILINE)
_QASM2_POSITION = re.compile(r"^<input>:(\d+),(\d+):\s*")


def _has_statements(text: str) -> bool:
    """Whether ``text`` holds anything but blanks and comments."""
    without_blocks = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return any(line.split("//", 1)[0].strip() for line in without_blocks.splitlines())


def _qasm_version(text: str) -> int:
    """2 or 3, from the ``OPENQASM`` header; a file without one (common in public
    benchmark sets) is OpenQASM 2 when it declares ``qreg``/``creg`` or includes
    ``qelib1.inc``, as Qiskit's ``qasm2.load`` accepts, else OpenQASM 3."""
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if line.startswith("OPENQASM"):
            version = line[len("OPENQASM") :].strip().rstrip(";").strip()
            if version.startswith("2"):
                return 2
            if version.startswith("3"):
                return 3
            raise CircuitError(f"unsupported OpenQASM version {version!r}; svsim reads 2 and 3")
        break
    return 2 if _QASM2_CONTENT.search(text) else 3


def _parse_error(where: str, version: int, exc: Exception, printed: str) -> CircuitError:
    """One line naming the source, the line and what is wrong: the parser's own
    printed complaint when it printed one (the OpenQASM 3 parser writes it to
    stderr and raises a bare error), with OpenQASM 2's ``<input>:L,C`` made a line."""
    lines = [line.strip() for line in printed.splitlines() if line.strip()]
    detail = lines[0] if lines else str(exc).strip().strip("'\"")
    if not detail:
        detail = f"a syntax error that the parser does not locate ({type(exc).__name__})"
    detail = _QASM2_POSITION.sub(lambda m: f"line {m.group(1)}, column {m.group(2)}: ", detail)
    detail = " ".join(detail.split())
    return CircuitError(f"cannot parse {where} as OpenQASM {version}: {detail}")


def circuit_from_qasm(text_or_path: str | os.PathLike[str]) -> Circuit:
    """An svsim :class:`~svsim.Circuit` from OpenQASM 2 or 3 source or a ``.qasm`` file.

    The version comes from the ``OPENQASM`` header.  OpenQASM 2 is read by
    ``qiskit.qasm2`` (with Qiskit's legacy custom instructions, so files that
    Qiskit exported load as Qiskit's standard gates; includes are looked up
    beside the file), OpenQASM 3 by ``qiskit.qasm3`` (which needs the
    ``qiskit-qasm3-import`` package of the extra); the circuit is then
    converted by :func:`circuit_from_qiskit`.  A circuit read from a file is
    named after the file.

    Raises:
        CircuitError: the file does not exist, or the source does not parse
            or convert.
        MissingExtraError: Qiskit's OpenQASM 3 importer is not installed.
    """
    from qiskit import qasm2, qasm3

    path: Path | None = None
    if isinstance(text_or_path, os.PathLike):
        path = Path(text_or_path)
    elif isinstance(text_or_path, str):
        if _looks_like_path(text_or_path):
            path = Path(text_or_path)
    else:
        raise CircuitError(
            f"from_qasm takes OpenQASM source or a path, got {type(text_or_path).__name__}"
        )
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise CircuitError(f"cannot read OpenQASM file {str(path)!r}: {exc}") from exc
    else:
        text = str(text_or_path)
    where = "the OpenQASM source" if path is None else f"OpenQASM file {str(path)!r}"
    if not _has_statements(text):
        raise CircuitError(f"{where} holds no OpenQASM program (it is empty or only comments)")
    version = _qasm_version(text)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stderr(printed):
            if version == 2:
                include_path = (str(path.parent) if path is not None else ".", ".")
                qc = qasm2.loads(
                    text,
                    include_path=include_path,
                    custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
                )
            else:
                qc = qasm3.loads(text)
    except ImportError as exc:
        raise MissingExtraError(
            f"reading OpenQASM 3 needs Qiskit's importer qiskit-qasm3-import: {INSTALL_HINT}"
        ) from exc
    except Exception as exc:  # the loaders raise their own error types
        raise _parse_error(where, version, exc, printed.getvalue()) from exc
    if path is not None:
        qc.name = path.stem
    return circuit_from_qiskit(qc)
