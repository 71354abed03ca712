"""The ``svsim`` command line: ``svsim run``, ``svsim info`` and ``svsim bench``.

This module holds the argument parser and :func:`main`; each subcommand lives
in a module of its own (:mod:`svsim.cli.run`, :mod:`svsim.cli.info`,
:mod:`svsim.cli.bench`), and what they share in :mod:`svsim.cli.common`.

``svsim run SPEC`` builds a circuit (a built-in family from
:mod:`svsim.families`, or a ``.qasm`` file), submits it through
:meth:`svsim.BasicSimulator.run`, draws a progress bar from ``job.progress()``
on stderr while it runs, and prints a summary (or, with ``--json``, the
result's ``to_dict()`` alone) on stdout.  Ctrl-C cancels the job with
``job.cancel()`` and exits with 130.

Exit codes: 0 success; 1 the run itself failed; 2 bad input (one line on
stderr, never a traceback); 130 interrupted.

The progress bar needs ``tqdm`` and ``--plot`` needs ``matplotlib``, both in
the ``cli`` extra; without tqdm the command still runs, with a plain message
instead of a bar.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

import svsim
from svsim import families
from svsim.cli.bench import _cmd_bench
from svsim.cli.common import (
    CLI_EXTRA,
    DEFAULT_QUBITS,
    DEFAULT_SHOTS,
    DEFAULT_TOP,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    QISKIT_EXTRA,
    UsageError,
    _int_at_least,
    _say,
)
from svsim.cli.info import _cmd_info
from svsim.cli.run import _cmd_run
from svsim.options import SEED_LIMIT

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

# Errors of writing the output itself: a full disk, a quota, a device that fails.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}


_EXAMPLES = """\
examples:
  svsim run ghz --qubits 20 --shots 1000
  svsim run random --qubits 24 --depth 20 --precision single --threads 2
  svsim run qv --qubits 16 --seed 7 --json | jq '.results[0].data.counts'
  svsim run circuit.qasm --plot counts.png --statevector state.npy
  svsim info
  svsim bench --quick --out bench-results
"""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, raised instead of printed."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------
# The parser and the entry point


def build_parser() -> argparse.ArgumentParser:
    """The ``svsim`` argument parser, with its three subcommands."""
    parser = _Parser(
        prog="svsim",
        description="svsim: a fast statevector quantum-circuit simulator.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"svsim {svsim.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="run a built-in circuit family or a .qasm file, with a progress bar",
        description=(
            "Run a circuit and print a summary of the outcomes. SPEC is a built-in family "
            f"({', '.join(families.FAMILIES)}) or a .qasm file (needs {QISKIT_EXTRA}). "
            "Ctrl-C cancels the job (exit code 130)."
        ),
    )
    run.add_argument("spec", metavar="SPEC", help="ghz, qft, random, qv, or a .qasm file")
    run.add_argument(
        "-n",
        "--qubits",
        type=_int_at_least(1),
        metavar="N",
        help=f"qubits of a built-in family (default {DEFAULT_QUBITS})",
    )
    run.add_argument(
        "-d",
        "--depth",
        type=_int_at_least(1),
        metavar="D",
        help=f"layers of random (default {families.DEFAULT_DEPTH}) or qv (default: N)",
    )
    run.add_argument(
        "-s",
        "--shots",
        type=_int_at_least(1),
        default=DEFAULT_SHOTS,
        metavar="S",
        help=f"measurement shots (default {DEFAULT_SHOTS})",
    )
    run.add_argument(
        "-p",
        "--precision",
        choices=("single", "double"),
        default="double",
        help="amplitudes as complex64 (single) or complex128 (double, the default)",
    )
    run.add_argument(
        "-t",
        "--threads",
        type=_int_at_least(0),
        default=0,
        metavar="T",
        help="kernel threads (default 0: all cores)",
    )
    run.add_argument(
        "--seed",
        type=_int_at_least(0, SEED_LIMIT),
        metavar="S",
        help="seeds both the random families and the sampling (default: drawn and printed)",
    )
    run.add_argument(
        "--top",
        type=_int_at_least(1),
        default=DEFAULT_TOP,
        metavar="K",
        help=f"outcomes shown in the summary and the plot (default {DEFAULT_TOP})",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the result's to_dict() alone on stdout (messages go to stderr)",
    )
    run.add_argument(
        "--plot", metavar="FILE", help=f"write a PNG histogram of the top outcomes ({CLI_EXTRA})"
    )
    run.add_argument(
        "--statevector", metavar="FILE", help="write the final statevector as a .npy file"
    )
    run.add_argument(
        "--mpi",
        action="store_true",
        help="one state over the ranks of an MPI job: mpiexec -n 4 svsim run ... --mpi "
        "(the mpi extra); rank 0 prints",
    )
    run.set_defaults(handler=_cmd_run)

    info = commands.add_parser(
        "info",
        help="version, build (threads, SIMD) and the largest circuits that fit",
        description="Show svsim's version, build and the qubit counts this machine can hold.",
    )
    info.add_argument("--json", action="store_true", help="print the information as JSON")
    info.set_defaults(handler=_cmd_info)

    bench = commands.add_parser(
        "bench",
        help="run the benchmark suite against the installed peers",
        description=(
            "Run the benchmark suite: prints a table of medians and ratios, writes JSON "
            "and a PNG plot to --out."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="a short run (well under a minute)")
    bench.add_argument(
        "--peers",
        nargs="+",
        metavar="NAME",
        help="peers to compare with (names, space- or comma-separated; default: all installed)",
    )
    bench.add_argument(
        "--out",
        default="bench-results",
        metavar="DIR",
        help="folder for the JSON and the plot (default: bench-results)",
    )
    bench.set_defaults(handler=_cmd_bench)
    return parser


def _one_line_warning(message: Warning | str, *_: object, **__: object) -> None:
    _say(f"svsim: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``svsim`` command line with ``argv`` (default ``sys.argv[1:]``); the exit code."""
    parser = build_parser()
    if sys.stdout is None:  # started with stdout closed (`svsim run ... >&-`)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning  # a warning is one line, as errors are
            args = parser.parse_args(argv)
            if getattr(args, "handler", None) is None:
                parser.print_help()
                return EXIT_OK
            code = int(args.handler(args))
            sys.stdout.flush()  # a write that fails (a full disk) fails here, not at exit
            return code
    except UsageError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("svsim: interrupted")
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except OSError as exc:
        if not isinstance(exc, BrokenPipeError) and exc.errno not in _OUTPUT_ERRNOS:
            raise
        # Point stdout at /dev/null so the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        if isinstance(exc, BrokenPipeError):  # e.g. `svsim info | head -1`: a reader that left
            return EXIT_OK
        _say(f"svsim: cannot write the output: {exc.strerror}")  # e.g. `> /dev/full`
        return EXIT_FAILED
