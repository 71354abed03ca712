"""
svsim's compiled statevector kernel
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import svsim.exceptions
import typing
__all__: list[str] = ['Cancelled', 'Chunk', 'Random', 'RunControl', 'build_info', 'encode', 'run']
class Cancelled(svsim.exceptions.SvsimError):
    pass
class RunControl:
    def __init__(self) -> None:
        ...
    def cancel(self) -> None:
        """
        Ask the run to stop before its next operation.
        """
    def count(self, done: typing.SupportsInt | typing.SupportsIndex, total: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Set the progress of a run driven from Python (the MPI engine).
        """
    def progress(self) -> float:
        """
        Fraction of the run's operations done.
        """
    @property
    def cancel_requested(self) -> bool:
        ...
class Random:
    def __init__(self, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def shuffle(self, samples: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64]) -> None:
        """
        Sampling's final shuffle, in place.
        """
    def sorted_exponentials(self, shots: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], float]:
        """
        Sampling's sorted uniforms before scaling, and their divisor.
        """
    def uniform(self) -> float:
        """
        Uniform in [0, 1), as the kernel draws it.
        """
class Chunk:
    def __init__(self, local_qubits: typing.SupportsInt | typing.SupportsIndex, precision: str, threads: typing.SupportsInt | typing.SupportsIndex, parallel_threshold: typing.SupportsInt | typing.SupportsIndex, holds_zero: bool) -> None:
        ...
    def apply(self, ops: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], qubits: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], values: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128], fusion: bool, fusion_min_qubits: typing.SupportsInt | typing.SupportsIndex, max_fused_qubits: typing.SupportsInt | typing.SupportsIndex, control: RunControl) -> None:
        ...
    def array(self) -> numpy.ndarray:
        """
        The chunk's amplitudes as numpy (no copy).
        """
    def block_sums(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
        ...
    def collapse(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.SupportsInt | typing.SupportsIndex, arg2: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def expectation(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> float:
        ...
    def first_with_weight(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def last_with_weight(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def norm_squared(self) -> float:
        ...
    def pack(self, bit: typing.SupportsInt | typing.SupportsIndex, value: typing.SupportsInt | typing.SupportsIndex, first: typing.SupportsInt | typing.SupportsIndex, count: typing.SupportsInt | typing.SupportsIndex, buffer: numpy.ndarray, unpack: bool = False) -> None:
        ...
    def probabilities(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> numpy.typing.NDArray[numpy.float64]:
        ...
    def probability_of_one(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> float:
        ...
    def scale(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def sweep(self, arg0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], arg1: typing.SupportsInt | typing.SupportsIndex, arg2: typing.SupportsInt | typing.SupportsIndex, arg3: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.int64]:
        ...
def build_info() -> dict[str, typing.Any]:
    ...
def encode(data: list[typing.Any], phase: complex | typing.SupportsComplex | typing.SupportsFloat | typing.SupportsIndex | None, gate_codes: dict[str, typing.Any], save_slots: dict[str, typing.Any], pauli_codes: dict[str, typing.Any], unknown_error: typing.Any) -> tuple[numpy.typing.NDArray[numpy.int64], numpy.typing.NDArray[numpy.int32], numpy.typing.NDArray[numpy.complex128]]:
    """
    A circuit's instructions (svsim.program.Instruction) as the arrays (ops, qubits,
    values) of svsim._ops; see svsim.encoding.encode.
    """
def run(ops: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], qubits: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], values: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128], num_qubits: typing.SupportsInt | typing.SupportsIndex, num_clbits: typing.SupportsInt | typing.SupportsIndex, shots: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, precision: str, threads: typing.SupportsInt | typing.SupportsIndex, parallel_threshold: typing.SupportsInt | typing.SupportsIndex, fusion: bool, fusion_min_qubits: typing.SupportsInt | typing.SupportsIndex, max_fused_qubits: typing.SupportsInt | typing.SupportsIndex, allow_prefix_copy: bool, control: RunControl, initial_state: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128] | None = None, shot_branching: bool = False, max_branch_states: typing.SupportsInt | typing.SupportsIndex = 64) -> dict[str, typing.Any]:
    """
    Run one encoded circuit; the GIL is released while the kernel works.  With
    shot_branching, mid-circuit measurements split the state (at most
    max_branch_states states at once) instead of running a trajectory per shot.
    """
