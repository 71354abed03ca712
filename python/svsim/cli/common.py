"""What the ``svsim`` subcommands share: exit codes, defaults, the
:class:`UsageError` they raise for bad input, and small helpers (stderr
messages, number parsing, formatting of bytes and seconds, installed extras)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C

DEFAULT_QUBITS = 20
DEFAULT_SHOTS = 1024
DEFAULT_TOP = 10
POLL_SECONDS = 0.05

CLI_EXTRA = 'pip install "svsim[cli]"'
QISKIT_EXTRA = 'pip install "svsim[qiskit]"'


class UsageError(Exception):
    """Bad input from the user: reported as one line on stderr, exit code 2."""


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (Qiskit's parse errors span several)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _int_at_least(minimum: int, maximum: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value >= maximum):
            bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum})"
            raise argparse.ArgumentTypeError(f"must be an integer {bound}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _format_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _peak_rss_bytes() -> int | None:
    """The process's peak resident memory, where the platform reports it."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _version_of(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
