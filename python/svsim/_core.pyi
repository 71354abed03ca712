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
    def count(self, done: int, total: int) -> None: ...

class Random:
    def __init__(self, seed: int) -> None: ...
    def uniform(self) -> float: ...
    def sorted_exponentials(self, shots: int) -> tuple[npt.NDArray[np.float64], float]: ...
    def shuffle(self, samples: npt.NDArray[np.uint64]) -> None: ...

class Chunk:
    def __init__(
        self,
        local_qubits: int,
        precision: str,
        threads: int,
        parallel_threshold: int,
        holds_zero: bool,
    ) -> None: ...
    def array(self) -> npt.NDArray[np.complexfloating]: ...
    def apply(
        self,
        ops: npt.NDArray[np.int64],
        qubits: npt.NDArray[np.int32],
        values: npt.NDArray[np.complex128],
        fusion: bool,
        fusion_min_qubits: int,
        max_fused_qubits: int,
        control: RunControl,
    ) -> None: ...
    def pack(
        self,
        bit: int,
        value: int,
        first: int,
        count: int,
        buffer: npt.NDArray[np.complexfloating],
        unpack: bool = False,
    ) -> None: ...
    def norm_squared(self) -> float: ...
    def probability_of_one(self, qubit: int) -> float: ...
    def collapse(self, qubit: int, outcome: int, probability: float) -> None: ...
    def scale(self, factor: float) -> None: ...
    def probabilities(self, qubits: list[int]) -> npt.NDArray[np.float64]: ...
    def expectation(self, qubits: list[int], codes: list[int]) -> float: ...
    def block_sums(self, block: int) -> npt.NDArray[np.float64]: ...
    def last_with_weight(self, at: int) -> int: ...
    def first_with_weight(self, after: int) -> int: ...
    def sweep(
        self,
        before_block: npt.NDArray[np.float64],
        block: int,
        first_block: int,
        u: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.int64]: ...

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
