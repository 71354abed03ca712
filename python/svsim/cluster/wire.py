"""What travels between the caller and the Dask workers, and what both sides share.

No pickled object of svsim's or the caller's classes travels:

* caller -> worker: a task payload of plain data (:func:`task_payload`'s
  keys): the format version, the caller's svsim version (a worker with
  another refuses), each circuit in its wire form (:func:`circuit_to_wire`:
  tuples of ints, floats, strings and numpy matrices) with its seed, shots
  and method, the settings, the name of the job's Dask ``Event`` (cancel),
  and svsim's event topic with the job's tag (start, progress, end);
* worker -> caller: per circuit a dict of numpy arrays and numbers (packed
  classical memory, saved values, run statistics), one pickled frame per
  task that the caller reads with :func:`outputs_from_wire`, which allows
  builtins and numpy arrays only.  The final statevector does not travel:
  a circuit that wants a state back saves it (``save_statevector``), as
  Aer asks.
"""

from __future__ import annotations

import dataclasses
import io
import operator
import pickle
from typing import Any

import numpy as np

from svsim import engine
from svsim.circuit import Circuit, Instruction
from svsim.exceptions import MissingExtraError, SimulatorError

__all__ = [
    "WIRE_FORMAT",
    "check_payload",
    "pack_payload",
    "unpack_payload",
    "circuit_from_wire",
    "circuit_to_wire",
    "import_distributed",
    "output_from_wire",
    "output_to_wire",
    "outputs_from_wire",
    "svsim_version",
]

WIRE_FORMAT = 3
"""The version of the task payload, of the circuits' wire form and of a task's
outputs; a worker refuses a payload of another format (or svsim version).
2: shots per circuit (shot parts), no final statevector in the outputs.
3: the settings carry ``shot_branching``."""


def import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - a client implies Dask is there
        raise MissingExtraError(
            'running jobs on a Dask cluster needs distributed: pip install "svsim[dask]"'
        ) from exc
    return distributed


def svsim_version() -> str:
    import svsim

    return svsim.__version__


def check_payload(payload: dict[str, Any]) -> None:
    """SimulatorError unless ``payload`` comes from this svsim version and format."""
    if payload.get("format") != WIRE_FORMAT or payload.get("svsim") != svsim_version():
        raise SimulatorError(
            f"this worker has svsim {svsim_version()} (task format {WIRE_FORMAT}); the client "
            f"sent svsim {payload.get('svsim')!r} (format {payload.get('format')!r}); install "
            "the same svsim version on the client and every worker"
        )


def pack_payload(body: dict[str, Any]) -> dict[str, Any]:
    """A task's argument: the format, the svsim version and ``body`` pickled as one
    bytes object.  Dask walks a task's arguments looking for keys and futures; as
    nested tuples, 500 circuits of 100 gates cost it seconds before the task
    started, as one bytes object nothing."""
    return {
        "format": WIRE_FORMAT,
        "svsim": svsim_version(),
        "body": pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL),
    }


def unpack_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The body of :func:`pack_payload`'s argument, after :func:`check_payload`;
    read allowing builtins and numpy arrays only, like a task's outputs."""
    check_payload(payload)
    body: dict[str, Any] = _PlainUnpickler(io.BytesIO(payload["body"])).load()
    return body


# ---------------------------------------------------------------- circuits

# An instruction travels as the tuple of its fields in this order: read with one
# attrgetter call (a quarter faster than a tuple of its __dict__'s values), written
# to a new instance's __dict__ directly (twice as fast as the frozen dataclass's
# __init__; 1,000 circuits of 100 gates: about 1 s less).
_FIELDS = ("name", "qubits", "clbits", "params", "condition", "matrix", "label")
if tuple(f.name for f in dataclasses.fields(Instruction)) != _FIELDS:  # pragma: no cover
    raise ImportError("svsim.circuit.Instruction changed; update svsim.cluster's WIRE_FORMAT")
_ROW = operator.attrgetter(*_FIELDS)


def circuit_to_wire(circuit: Circuit) -> tuple[Any, ...]:
    """``circuit`` as plain data: ``(WIRE_FORMAT, num_qubits, name, global_phase,
    registers, save_labels, instructions)``, each instruction a tuple of builtins
    (a ``unitary`` keeps its complex128 matrix as a numpy array)."""
    registers = tuple((name, r.start, r.stop) for name, r in circuit._registers.items())
    saves = tuple(circuit._save_labels.items())
    data = tuple(map(_ROW, circuit._data))
    return (
        WIRE_FORMAT,
        circuit.num_qubits,
        circuit.name,
        circuit.global_phase,
        registers,
        saves,
        data,
    )


def circuit_from_wire(wire: tuple[Any, ...]) -> Circuit:
    """The circuit of :func:`circuit_to_wire`'s data (the caller checked it when it
    was built, so it is not checked again here)."""
    if not isinstance(wire, tuple) or not wire or wire[0] != WIRE_FORMAT:
        found = wire[0] if isinstance(wire, tuple) and wire else type(wire).__name__
        raise SimulatorError(
            f"circuit wire format {found!r} is not this worker's {WIRE_FORMAT}; install the "
            "same svsim version on the client and the workers"
        )
    _, num_qubits, name, phase, registers, saves, data = wire
    circuit = Circuit(num_qubits, name=name)
    circuit._registers = {n: range(start, stop) for n, start, stop in registers}
    circuit._num_clbits = max((stop for _, _, stop in registers), default=0)
    circuit._save_labels = dict(saves)
    circuit._global_phase = float(phase)
    new = object.__new__
    instructions = []
    for row in data:
        instruction = new(Instruction)
        instruction.__dict__.update(zip(_FIELDS, row, strict=True))
        instructions.append(instruction)
    circuit._data = instructions
    return circuit


# ---------------------------------------------------------------- outputs


def output_to_wire(out: engine.ExperimentOutput) -> dict[str, Any]:
    """A kernel output as numpy arrays and numbers, without its final statevector."""
    return {
        "memory": np.ascontiguousarray(out.memory),
        "method": out.method,
        "saves": {
            k: (np.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in out.saves.items()
        },
        "seed": int(out.seed),
        "shots": int(out.shots),
        "threads": int(out.threads),
        "precision": out.precision,
        "time_taken": float(out.time_taken),
        "fusion": bool(out.fusion),
        "ops_encoded": int(out.ops_encoded),
        "ops_run": int(out.ops_run),
    }


def output_from_wire(data: dict[str, Any]) -> engine.ExperimentOutput:
    """The output of :func:`output_to_wire`'s data; its ``statevector`` is None."""
    return engine.ExperimentOutput(statevector=None, **data)  # type: ignore[arg-type]


def outputs_from_wire(blob: bytes) -> list[dict[str, Any]]:
    """A task's outputs; only plain data is accepted (no class of svsim's or other)."""
    outputs: list[dict[str, Any]] = _PlainUnpickler(io.BytesIO(blob)).load()
    return outputs


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles builtins and numpy arrays only: what a task gets and sends back."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("builtins", "complex"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a task's data holds {module}.{name}, not plain data")
