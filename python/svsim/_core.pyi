"""Type stubs of the compiled kernel (cpp/bindings/module.cpp)."""

from typing import Any

import numpy as np
import numpy.typing as npt

from svsim.exceptions import SvsimError

class Cancelled(SvsimError): ...

class RunControl:
    def __init__(self) -> None: ...
    def cancel(self) -> None: ...
    @property
    def cancel_requested(self) -> bool: ...
    def progress(self) -> float: ...

def run(
    ops: npt.NDArray[np.int64],
    qubits: npt.NDArray[np.int32],
    values: npt.NDArray[np.complex128],
    num_qubits: int,
    num_clbits: int,
    shots: int,
    seed: int,
    precision: str,
    threads: int,
    parallel_threshold: int,
    fusion: bool,
    fusion_min_qubits: int,
    max_fused_qubits: int,
    allow_prefix_copy: bool,
    control: RunControl,
    initial_state: npt.NDArray[np.complex128] | None = None,
) -> dict[str, Any]: ...
def build_info() -> dict[str, Any]: ...
