"""A backend's options: their defaults and the one check each gets.

The options are Qiskit ``BasicSimulator``'s run options (``shots``,
``memory``, ``initial_statevector``, ``seed_simulator``,
``use_clifford_optimization``, with Qiskit's defaults) and svsim's own
settings (``method``, ``precision``, ``max_parallel_threads``, ``fusion``,
``max_memory_mb``, ``max_job_size``, ``max_shot_size``, ``shot_branching``).  The
constructor, ``set_options`` and ``run()`` all check a value with
:func:`check_option`, so a bad value is refused the same way wherever it is
given, before any job exists.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import random
import warnings
from collections.abc import Callable
from typing import Any, TypeGuard

import numpy as np

from svsim import engine
from svsim.exceptions import CircuitError, SimulatorError

__all__ = [
    "DEFAULTS",
    "METHODS",
    "SEED_LIMIT",
    "available_cores",
    "check_option",
    "is_int",
    "new_job_id",
    "random_seed",
]

SEED_LIMIT = 1 << 63
METHODS = ("automatic", "statevector", "stabilizer")

# Drawn seeds come from one generator seeded from the OS (and seeded again in a
# forked child): a draw costs a fraction of a microsecond, where secrets reads
# os.urandom each time.  Job ids are a random uuid4 (drawn once per process, and
# again in a forked child) whose last 48 bits count up: unique in the process, and
# across processes by the other 74 random bits; a fresh uuid4 per job was 1.5 us of
# a tiny job's own cost, this is 0.5 (issue 20).  Neither is a secret.
_draws = random.Random()
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_ID_COUNT_BITS = 48  # the uuid's last group: 12 hex digits


def _start_job_ids() -> None:
    """Draw this process's first job id: the fixed part and where the count starts."""
    global _job_id_prefix, _job_id_count
    h = ((_draws.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET).to_bytes(16, "big").hex()
    _job_id_prefix = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-"
    _job_id_count = itertools.count(int(h[20:], 16))


def _reseed_after_fork() -> None:
    _draws.seed()
    _start_job_ids()


_job_id_prefix = ""
_job_id_count = itertools.count()
_start_job_ids()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)


def new_job_id() -> str:
    """A job id in the form of ``str(uuid.uuid4())``, distinct from every other
    id this process gives (for 2**48 ids) and, but for a chance of about 2**-74
    per pair of processes, from any other process's."""
    count = next(_job_id_count) & ((1 << _ID_COUNT_BITS) - 1)  # next() is atomic
    return f"{_job_id_prefix}{count:012x}"


def random_seed() -> int:
    """A seed for a run given none: 63 random bits."""
    return _draws.getrandbits(63)


DEFAULTS: dict[str, Any] = {
    "shots": 1024,
    "memory": True,
    "initial_statevector": None,
    "seed_simulator": None,
    "use_clifford_optimization": False,
    "method": "automatic",
    "precision": "double",
    "max_parallel_threads": 0,
    "fusion": True,
    "max_memory_mb": None,
    "max_job_size": None,
    "max_shot_size": None,
    "shot_branching": True,
}
"""Every option and its default; ``memory=True`` and the first five are Qiskit's."""


def is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    if type(value) is int:  # most values: one test (bool is a subclass, not int itself)
        return True
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


MAX_SHOTS = (1 << 63) - 1
"""The most shots a run takes: the kernel counts them in 64-bit integers."""


def _shots(value: object) -> int:
    if type(value) is int and 1 <= value <= MAX_SHOTS:  # most values: no call to is_int
        return value
    if not is_int(value) or not 1 <= int(value) <= MAX_SHOTS:
        raise CircuitError(f"shots must be an int from 1 to 2**63 - 1, got {value!r}")
    return int(value)


def _flag(name: str, error: type[Exception]) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not _is_bool(value):
            raise error(f"{name} must be True or False, got {value!r}")
        return bool(value)

    return check


def _seed(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is int and 0 <= value < SEED_LIMIT:  # most values: no call to is_int
        return value
    if is_int(value) and 0 <= int(value) < SEED_LIMIT:
        return int(value)
    raise CircuitError(f"seed_simulator must be an int in [0, 2**63) or None, got {value!r}")


def _initial_statevector(value: object) -> np.ndarray | None:
    """A complex128 vector of norm 1 whose length is a power of two; run() then
    checks that length against each circuit's qubits."""
    if value is None:
        return None
    size = int(np.size(value))  # type: ignore[arg-type]
    num_qubits = max(size - 1, 0).bit_length()
    if size != 1 << num_qubits:
        raise CircuitError(
            f"initial_statevector has {size} entries; a statevector has 2**num_qubits"
        )
    return engine.check_initial_statevector(value, num_qubits)


def _method(value: object) -> str:
    if value not in METHODS:
        choices = ", ".join(map(repr, METHODS))
        raise SimulatorError(f"method must be one of {choices}, not {value!r}")
    return str(value)


def _precision(value: object) -> str:
    if not isinstance(value, str):
        raise SimulatorError(f"precision must be 'single' or 'double', not {value!r}")
    return engine.check_precision(value)


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threads(value: object) -> int:
    if not is_int(value) or int(value) < 0:
        raise SimulatorError(
            f"max_parallel_threads must be an int >= 0 (0: all cores), got {value!r}"
        )
    threads = int(value)
    cores = available_cores()
    if threads > cores:
        # More threads than cores only make them wait for each other.
        warnings.warn(
            f"max_parallel_threads={threads} is more than the {cores} cores this process may "
            f"use; using {cores}",
            UserWarning,
            stacklevel=4,
        )
        threads = cores
    return threads


def _max_memory(value: object) -> float | None:
    if value is None:
        return None
    if (
        _is_bool(value)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or float(value) <= 0
    ):
        raise SimulatorError(f"max_memory_mb must be a positive number or None, got {value!r}")
    return float(value)


def _per_task(name: str, what: str) -> Callable[[object], int | None]:
    """The check of a Dask splitting option: an int >= 1 or None."""

    def check(value: object) -> int | None:
        if value is None:
            return None
        if not is_int(value) or int(value) < 1:
            raise SimulatorError(f"{name} must be an int >= 1 ({what}) or None, got {value!r}")
        return int(value)

    return check


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "shots": _shots,
    "memory": _flag("memory", CircuitError),
    "initial_statevector": _initial_statevector,
    "seed_simulator": _seed,
    "use_clifford_optimization": _flag("use_clifford_optimization", SimulatorError),
    "method": _method,
    "precision": _precision,
    "max_parallel_threads": _threads,
    "fusion": _flag("fusion", SimulatorError),
    "max_memory_mb": _max_memory,
    "max_job_size": _per_task(
        "max_job_size", "circuits per Dask task; None: chosen from the workers and the circuits"
    ),
    "max_shot_size": _per_task(
        "max_shot_size", "shots of one circuit per Dask task; None: a circuit's shots are not split"
    ),
    "shot_branching": _flag("shot_branching", SimulatorError),
}


def check_option(name: str, value: Any) -> Any:
    """``value`` checked (and normalised: numpy ints to int, ...) for option ``name``.

    Raises:
        CircuitError: a run's input is bad (``shots``, ``memory``,
            ``seed_simulator``, ``initial_statevector``).
        SimulatorError: a setting is bad.
    """
    return _CHECKS[name](value)
