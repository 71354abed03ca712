"""What a job will run, found before it is made: each circuit's method, and
whether the job fits in the memory limit.

:meth:`svsim.BasicSimulator.run` calls :func:`job_methods` once per job, so
that bad input and a job too big for memory are refused before anything is
allocated (docs/internals.md, "Memory").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from svsim import engine, stabilizer
from svsim.circuit import Circuit
from svsim.exceptions import CircuitError, MissingExtraError, SimulatorError


def job_methods(
    circuits: Sequence[Circuit],
    method: str,
    use_clifford: bool,
    precision: str,
    shots: int,
    limit_mb: float,
    memory: bool = False,
    initial: np.ndarray | None = None,
    remote: bool = False,
) -> list[str]:
    """The method that runs each circuit (:func:`method_of`), and refuse a job whose
    memory does not fit, before anything is allocated; one pass, each figure
    found once per circuit.

    Each circuit must fit on its own (:func:`svsim.engine.check_memory`, or
    :func:`svsim.stabilizer.check_memory` for the stabilizer method).  Then the
    job as a whole: its result keeps each experiment's final and saved
    statevectors, so the experiments add up, and so do their shots' classical
    data (8 bytes per 64 clbits per shot, 8 more per shot for
    ``memory=True``'s strings); on top comes the most that one experiment
    needs for a while (drawing its shots and counting them: about 24 bytes per
    shot, 16 more with ``memory=True``) and the initial statevector.  A job on
    a remote executor gets its result back serialised, which holds a second
    copy of each state while it is read, so there its statevectors count twice.
    """
    initial_bytes = 0 if initial is None else int(initial.nbytes)
    limit = int(limit_mb * (1 << 20))
    copies = 2 if remote else 1
    methods = []
    kept = 0
    transient = 0
    for circuit in circuits:
        num_clbits = circuit.num_clbits
        data_bytes = engine.state_data_bytes(circuit, precision)
        # engine.memory_needed from its parts: data_bytes is also what the result keeps
        needed = data_bytes + engine.shot_bytes(num_clbits, shots) + initial_bytes
        circuit_method = method_of(circuit, method, use_clifford, initial, needed, limit)
        if circuit_method == "stabilizer":
            stabilizer.check_memory(circuit, shots, limit_mb)
        else:
            if needed > limit:  # engine.check_memory says what the bytes are for
                engine.check_memory(circuit, precision, limit_mb, shots, initial_bytes)
            kept += copies * data_bytes
        if num_clbits:
            words = (num_clbits + 63) // 64
            kept += shots * (8 * words + (8 if memory else 0))
            transient = max(transient, shots * (24 + 8 * words + (16 if memory else 0)))
        methods.append(circuit_method)
    total = kept + transient + initial_bytes
    if total > limit:
        what = (
            "the job's circuit needs"
            if len(circuits) == 1
            else f"the job's {len(circuits)} circuits need"
        )
        twice = " (twice: the result comes back serialised)" if remote else ""
        raise SimulatorError(
            f"{what} {total:,} bytes together (a result keeps each one's "
            f"statevectors{twice} and {shots:,} shots of classical data), but the limit is "
            f"{limit:,} bytes (max_memory_mb={limit_mb:g}); split the job, use fewer shots or "
            f"precision='single', or raise max_memory_mb to at least "
            f"{-(-total // (1 << 20))} if the machine has the memory"
        )
    return methods


def method_of(
    circuit: Circuit,
    method: str,
    use_clifford: bool,
    initial: np.ndarray | None,
    needed: int,
    limit: int,
) -> str:
    """The method that runs ``circuit``: ``"stabilizer"`` when asked for, or
    (``"automatic"``) for a Clifford circuit from |0...0> when ``use_clifford``
    is set or its statevector run, ``needed`` bytes, does not fit in ``limit``;
    else ``"statevector"``.  Without Stim, a circuit that fits as a statevector
    runs as one."""
    if method == "statevector":
        return method
    fits = needed <= limit
    if method == "automatic" and (initial is not None or (fits and not use_clifford)):
        return "statevector"  # decided without reading the whole circuit
    not_clifford = stabilizer.why_not_clifford(circuit)
    if method == "stabilizer":
        if not_clifford is not None:
            raise CircuitError(
                f"circuit {circuit.name!r} cannot run with the stabilizer method, which takes "
                f"{stabilizer.CLIFFORD_DESCRIPTION}: {not_clifford}; use "
                "method='statevector' or 'automatic'"
            )
        if initial is not None:
            raise CircuitError(
                "the stabilizer method starts from |0...0>; drop initial_statevector or "
                "use method='statevector'"
            )
    elif not_clifford is not None:
        return "statevector"
    if not stabilizer.available():
        if method == "automatic" and fits:
            return "statevector"
        raise MissingExtraError(
            f"circuit {circuit.name!r} is a Clifford circuit"
            + ("" if fits else f" whose statevector needs {needed:,} bytes")
            + ", which runs with the stabilizer method; that needs Stim: "
            'pip install "svsim[stabilizer]"'
        )
    return "stabilizer"
