"""
svsim's compiled statevector kernel
"""
from __future__ import annotations
import numpy
import numpy.typing
import svsim.exceptions
import typing
__all__: list[str] = ['Cancelled', 'RunControl', 'build_info', 'run']
class Cancelled(svsim.exceptions.SvsimError):
    pass
class RunControl:
    def __init__(self) -> None:
        ...
    def cancel(self) -> None:
        """
        Ask the run to stop before its next operation.
        """
    def progress(self) -> float:
        """
        Fraction of the run's operations done.
        """
    @property
    def cancel_requested(self) -> bool:
        ...
def build_info() -> dict[str, typing.Any]:
    ...
def run(ops: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], qubits: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], values: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128], num_qubits: typing.SupportsInt | typing.SupportsIndex, num_clbits: typing.SupportsInt | typing.SupportsIndex, shots: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, precision: str, threads: typing.SupportsInt | typing.SupportsIndex, parallel_threshold: typing.SupportsInt | typing.SupportsIndex, fusion: bool, fusion_min_qubits: typing.SupportsInt | typing.SupportsIndex, max_fused_qubits: typing.SupportsInt | typing.SupportsIndex, allow_prefix_copy: bool, control: RunControl, initial_state: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128] | None = None) -> dict[str, typing.Any]:
    """
    Run one encoded circuit; the GIL is released while the kernel works.
    """
